"""The importer alone and the whole pipeline (importer → Kafka → workers → PostgreSQL), timed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.measure import PeakRss, cpu_snapshot, cpu_spent, mib
from bench.stack import ROOT, BenchStack, wait_for

ORG = "bench"


@dataclass
class Profiler:
    """py-spy sampling one process (and its children) into a collapsed-stack file."""

    proc: subprocess.Popen[bytes]
    path: Path

    @classmethod
    def attach(cls, pid: int, path: Path) -> Profiler:
        cmd = [_py_spy(), "record", "--pid", str(pid), "--subprocesses", "--format", "raw"]
        proc = subprocess.Popen([*cmd, "--rate", "50", "--output", str(path)], stdout=subprocess.DEVNULL)
        return cls(proc, path)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(60)


def _py_spy() -> str:
    return str(Path(sys.executable).parent / "py-spy")


def spawn_importer(
    stack: BenchStack, path: Path, import_id: str, profile: Path | None
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "bench.publish", str(path), ORG, import_id]
    if profile is not None:
        cmd = [
            _py_spy(),
            "record",
            "--subprocesses",
            "--format",
            "raw",
            "--rate",
            "50",
            "-o",
            str(profile),
            "--",
            *cmd,
        ]
    return subprocess.Popen(cmd, cwd=ROOT, env=stack.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish_importer(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"importer exited with {proc.returncode}: {err.decode(errors='replace')[-3000:]}")
    # The last JSON line: py-spy, when it wraps the importer, prints its own lines too.
    line = [x for x in out.decode().splitlines() if x.startswith("{")][-1]
    return dict(orjson.loads(line))


def importer_alone(stack: BenchStack, path: Path, rss: PeakRss, profile: Path | None) -> dict[str, Any]:
    """Publish the whole file with nothing consuming: the importer's own ceiling."""
    started = time.perf_counter()
    proc = spawn_importer(stack, path, str(uuid.uuid4()), profile)
    rss.watch(proc.pid)
    report = finish_importer(proc)
    wall = time.perf_counter() - started
    peak = max(rss.peak(proc.pid), (report["maxrss_kib"] + report["children_maxrss_kib"]) * 1024)
    return {
        "rows": report["rows"],
        "seconds": round(wall, 2),
        "rows_per_s": round(report["rows"] / wall),
        "publish_seconds": round(report["seconds"], 2),
        "cpu_seconds": round(report["cpu_seconds"], 1),
        "peak_rss_mib": mib(peak),
        "rejected_by_importer": report["rejected"],
    }


def end_to_end(
    stack: BenchStack,
    path: Path,
    rows: int,
    workers: int,
    rss: PeakRss,
    profile_dir: Path | None,
    timeout: float,
) -> dict[str, Any]:
    """From spawning the importer to the import ``completed`` with every row's result committed."""
    for _ in range(workers):
        stack.start_worker()
    stack.wait_workers_ready()
    for w in stack.workers:
        rss.watch(w.proc.pid)
    before = [w.metrics() for w in stack.workers]
    profilers = (
        [Profiler.attach(w.proc.pid, profile_dir / f"worker-{i}.txt") for i, w in enumerate(stack.workers)]
        if profile_dir is not None
        else []
    )
    import_id = str(uuid.uuid4())
    worker_pids = {w.proc.pid for w in stack.workers}
    cpu_before = cpu_snapshot(worker_pids, stack.name)
    poll = stack.connect()
    started = time.perf_counter()
    proc = spawn_importer(stack, path, import_id, profile_dir / "importer-e2e.txt" if profile_dir else None)
    rss.watch(proc.pid)
    published_at: list[float] = []

    def completed() -> tuple[Any, ...] | None:
        stack.assert_workers_alive()
        if proc.poll() is not None and not published_at:
            published_at.append(time.perf_counter())
        row = poll.execute(
            "SELECT status, total_rows, processed, created, updated, unchanged, rejected, conflicts,"
            " extract(epoch FROM completed_at - started_at) FROM imports WHERE import_id = %s",
            (import_id,),
        ).fetchone()
        return row if row is not None and row[0] in ("completed", "failed", "cancelled") else None

    state = wait_for(completed, timeout, f"import {import_id} to complete", interval=0.1)
    wall = time.perf_counter() - started
    cpu = cpu_spent(cpu_before, cpu_snapshot(worker_pids, stack.name))
    poll.close()
    importer = finish_importer(proc)
    cpu["importer"] = round(importer["cpu_seconds"], 1)
    for p in profilers:
        p.stop()
    after = [w.metrics() for w in stack.workers]
    batches = sum(
        a.get("leadstream_batch_size_count", 0) - b.get("leadstream_batch_size_count", 0)
        for a, b in zip(after, before, strict=True)
    )
    busy = sum(
        a.get("leadstream_batch_seconds_sum", 0) - b.get("leadstream_batch_seconds_sum", 0)
        for a, b in zip(after, before, strict=True)
    )
    with stack.connect() as conn:
        outbox = conn.execute("SELECT coalesce(sum(records), 0) FROM outbox").fetchone()
        ledger = conn.execute("SELECT count(*) FROM import_row_results").fetchone()
    status, total, processed, created, updated, unchanged, rejected, conflicts, db_seconds = state
    if status != "completed" or processed != rows:
        raise RuntimeError(f"import ended {status} with {processed}/{total} rows processed")
    return {
        "rows": rows,
        "workers": workers,
        "seconds": round(wall, 2),
        "rows_per_s": round(rows / wall),
        "db_seconds": round(float(db_seconds), 2),
        "importer_seconds": round(importer["seconds"], 2),
        "importer_rows_per_s_under_load": round(rows / importer["seconds"]),
        "batches": int(batches),
        "batches_per_s": round(batches / wall, 1),
        "rows_per_batch": round(rows / batches) if batches else None,
        "worker_busy_seconds": round(busy, 1),
        "worker_peak_rss_mib": max(mib(rss.peak(w.proc.pid)) for w in stack.workers),
        "importer_peak_rss_mib": mib(rss.peak(proc.pid)),
        "outcomes": {
            "created": created,
            "updated": updated,
            "unchanged": unchanged,
            "rejected": rejected,
            "conflicts": conflicts,
        },
        "ledger_rows": ledger[0] if ledger else None,
        "outbox_backlog_at_completion": outbox[0] if outbox else None,
        "cpu_seconds": cpu,
        "cpu_available_seconds": round(wall * (os.cpu_count() or 1), 1),
    }
