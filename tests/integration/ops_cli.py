"""Run ``leadstream`` commands as ops would, against a test's stack, and read Kafka state."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from streams.offsets import admin_client, describe_group, group_lag, worker_topics
from tests.integration.harness import Stack
from tests.integration.servers import ROOT


def run_cli(
    stack: Stack, *args: str, input: str | None = None, **overrides: Any
) -> subprocess.CompletedProcess[str]:
    """``leadstream ARGS`` in a subprocess with the stack's settings (plus ``overrides``)."""
    env = {**stack.env(**overrides), "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        cwd=ROOT,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=180,
    )


def group_members(stack: Stack) -> int:
    return len(describe_group(admin_client(stack.settings), stack.settings.worker_group).members)


def total_lag(stack: Stack) -> int:
    lags = group_lag(admin_client(stack.settings), stack.settings.worker_group, worker_topics(stack.settings))
    return sum(p.lag for p in lags)


def caught_up(stack: Stack) -> bool:
    """The worker group has committed every record of its topics (and the outbox is relayed)."""
    stack.assert_workers_alive()
    return total_lag(stack) == 0 and stack.scalar("SELECT count(*) FROM outbox") == 0


def contacts_csv(path: Path, rows: int) -> Path:
    """A CSV of distinct contacts; every tenth row has no valid identity (rejected)."""
    lines = ["email,first name"]
    for i in range(1, rows + 1):
        lines.append(f"{'not-an-email' if i % 10 == 0 else f'user{i}@example.com'},User {i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The worker's Prometheus samples: ``{(name, sorted labels): value}``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
