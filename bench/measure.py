"""Peak memory of process trees, sampled in the background, and machine facts for the record."""

from __future__ import annotations

import contextlib
import os
import platform
import threading
from types import TracebackType

import psutil


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (0 once it has exited)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


class PeakRss:
    """Samples the summed RSS of each watched process tree every ``interval`` seconds.

    ``peak(pid)`` is the highest sum seen for that tree: a process pool's workers count with
    their parent, as they would against a container's memory limit.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._pids: list[int] = []
        self._peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

    def watch(self, pid: int) -> None:
        with self._lock:
            self._pids.append(pid)
            self._peaks.setdefault(pid, 0)

    def peak(self, pid: int) -> int:
        with self._lock:
            return self._peaks.get(pid, 0)

    def _sample(self) -> None:
        with self._lock:
            pids = list(self._pids)
        for pid in pids:
            rss = tree_rss(pid)
            with self._lock:
                if rss > self._peaks[pid]:
                    self._peaks[pid] = rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def machine() -> dict[str, object]:
    """What a reader needs to judge the figures: cores, memory and the load when they were taken."""
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "loadavg_1_5_15": [round(x, 2) for x in load],
    }


def mib(n: int) -> float:
    return round(n / 2**20, 1)


def _group(p: psutil.Process, workers: set[int], database: str) -> str | None:
    """Which part of the stack a process is; PostgreSQL backends of other databases (other people's
    tests on a shared server) are left out."""
    try:
        if p.pid in workers:
            return "workers"
        name = p.name()
        if name.startswith("postgres"):
            title = " ".join(p.cmdline())
            if f" {database} " in title:
                return "postgres (this run's backends)"
            # Backends show "postgres: <user> <database> <client>"; the rest are server processes.
            return (
                None
                if " 127.0.0.1(" in title or "[local]" in title
                else "postgres (server: wal, checkpoints)"
            )
        if name == "java" and any("kafka.Kafka" in a for a in p.cmdline()):
            return "kafka"
    except psutil.Error:
        return None
    return None


def cpu_snapshot(workers: set[int], database: str) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of the broker, the database and the worker processes, by pid."""
    out: dict[int, tuple[str, float]] = {}
    for p in psutil.process_iter():
        group = _group(p, workers, database)
        if group is None:
            continue
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        out[p.pid] = (group, t.user + t.system)
    return out


def cpu_spent(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds each group spent between two snapshots (processes born in between count whole)."""
    spent: dict[str, float] = {}
    for pid, (group, t) in after.items():
        spent[group] = spent.get(group, 0.0) + t - before.get(pid, (group, 0.0))[1]
    return {g: round(s, 1) for g, s in sorted(spent.items())}
