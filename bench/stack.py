"""A throw-away stack per benchmark stage: its own database, topics, consumer group and workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from confluent_kafka import ConsumerGroupState
from prometheus_client.parser import text_string_to_metric_families
from psycopg.conninfo import make_conninfo
from pydantic import SecretStr

from streams.kafka import admin, ensure_topics, partition_counts
from streams.migrate import migrate
from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll ``check`` until it returns something truthy; raise at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_database(maintenance_url: str, name: str) -> str:
    """Create and migrate database ``name``; return its URL."""
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_conninfo(maintenance_url, dbname=name)
    with psycopg.connect(url) as conn:
        migrate(conn)
    return url


def drop_database(maintenance_url: str, name: str) -> None:
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    metrics_port: int
    log_path: Path

    def metrics(self) -> dict[str, float]:
        """The worker's Prometheus samples, summed over labels (batch counts, row outcomes)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                out[sample.name] = out.get(sample.name, 0.0) + sample.value
        return out

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class BenchStack:
    """Database ``name`` and topics ``name.*``, created by ``create`` and dropped by ``close``."""

    @classmethod
    def create(cls, name: str, base: Settings, tmp: Path, *, with_database: bool = True) -> BenchStack:
        maintenance = base.database_url.get_secret_value()
        url = create_database(maintenance, name) if with_database else maintenance
        settings = base.model_copy(
            update={
                "database_url": SecretStr(url),
                "topic_rows": f"{name}.lead_import_row",
                "topic_deliveries": f"{name}.campaign_delivered",
                "topic_control": f"{name}.lead_import_control",
                "topic_lead_events": f"{name}.lead_events",
                "worker_group": f"{name}-worker",
            }
        )
        ensure_topics(settings)
        tmp.mkdir(parents=True, exist_ok=True)
        return cls(name, maintenance, settings, url, tmp, with_database=with_database)

    def __init__(
        self,
        name: str,
        maintenance_url: str,
        settings: Settings,
        database_url: str,
        tmp: Path,
        *,
        with_database: bool = True,
    ) -> None:
        self.name, self.maintenance_url, self.settings = name, maintenance_url, settings
        self.database_url, self.tmp = database_url, tmp
        self.workers: list[Worker] = []
        self._owns_database = with_database

    def env(self, **overrides: Any) -> dict[str, str]:
        s = self.settings.model_copy(update=overrides)
        return {**os.environ, **s.to_env(), "PYTHONUNBUFFERED": "1"}

    def start_worker(self) -> Worker:
        n = len(self.workers)
        port = free_port()
        log_path = self.tmp / f"{self.name}-worker-{n}.log"
        env = self.env(
            worker_web_port=free_port(), metrics_port=port, worker_datadir=str(self.tmp / f"faust-{n}")
        )
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker", "--loglevel", "warning"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(proc, port, log_path)
        self.workers.append(worker)
        return worker

    def assert_workers_alive(self) -> None:
        for w in self.workers:
            if w.proc.poll() is not None:
                tail = w.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"worker exited with {w.proc.returncode}:\n{tail}")

    def wait_workers_ready(self, timeout: float = 120.0) -> None:
        """Wait until the consumer group is stable with every worker holding partitions."""
        client = admin(self.settings)
        group = self.settings.worker_group

        def ready() -> bool:
            self.assert_workers_alive()
            try:
                desc = client.describe_consumer_groups([group])[group].result(timeout=5)
            except Exception:  # the group does not exist until the first worker joins
                return False
            if desc.state != ConsumerGroupState.STABLE or len(desc.members) != len(self.workers):
                return False
            assigned = {
                (tp.topic, tp.partition)
                for m in desc.members
                if m.assignment is not None
                for tp in m.assignment.topic_partitions
            }
            return len({tp for tp in assigned if tp[0] == self.settings.topic_rows}) == (
                self.settings.partitions
            )

        wait_for(ready, timeout, f"{len(self.workers)} workers to join {group}", interval=0.3)

    def stop_workers(self) -> None:
        for w in self.workers:
            w.stop()

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.database_url, autocommit=True)

    def close(self) -> None:
        self.stop_workers()
        try:
            client = admin(self.settings)
            # Ours, and those Faust made for the consumer group (``<group>-__assignor-__leader``).
            mine = [t for t in partition_counts(client) if t.startswith((f"{self.name}.", f"{self.name}_"))]
            mine += [t for t in partition_counts(client) if t.startswith(f"{self.settings.worker_group}-")]
            if mine:
                client.delete_topics(mine)
        finally:
            if self._owns_database:
                drop_database(self.maintenance_url, self.name)
