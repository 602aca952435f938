"""Summarise py-spy's collapsed stacks: where the samples were (self) and under what (total)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^(.*) (\d+)$")
_FRAME = re.compile(r"^(?P<name>.*?) \((?P<path>.*?)(?::\d+)?\)$")

# Leaves where a thread waits rather than computes (py-spy cannot always tell in a VM).
_WAITS = {
    "Connection.wait": "[waiting: PostgreSQL]",
    "EpollSelector.select": "[idle: event loop]",
    "_PollLikeSelector.select": "[idle: event loop]",
    "_worker": "[idle: thread pool]",
    "Condition.wait": "[idle: thread pool]",
    "Event.wait": "[idle: thread pool]",
}
# Frames worth ranking by inclusive time: the project's and the libraries on its hot path.
_PACKAGES = ("streams/", "processors/", "schemas/", "bench/", "faust/", "aiokafka/", "psycopg/")
_WRAPPERS = {"<module>", "main", "run_worker", "worker", "_main"}


def _frame(raw: str) -> tuple[str, str] | None:
    """``func (/x/streams/repository.py:12)`` → (``func (repository.py)``, ``/x/streams/repository.py``)."""
    raw = raw.strip()
    if raw.startswith(("process ", "thread ")):
        return None
    m = _FRAME.match(raw)
    if m is None:
        return raw, ""
    where = m.group("path")
    return f"{m.group('name')} ({where.rsplit('/', 1)[-1]})", where


def summarise(path: Path, top: int = 12) -> dict[str, list[tuple[str, float]]]:
    """Top leaves (waits labelled) and top project or hot-library frames by inclusive samples,
    as percentages of all samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        m = _LINE.match(line)
        if m is None:
            continue
        count = int(m.group(2))
        frames = [f for f in (_frame(x) for x in m.group(1).split(";")) if f]
        if not frames:
            continue
        total += count
        leaf = frames[-1][0]
        own[_WAITS.get(leaf.split(" (")[0], leaf)] += count
        for name in {n for n, where in frames if any(f"/{p}" in f"/{where}" for p in _PACKAGES)}:
            if name.split(" (")[0] not in _WRAPPERS:
                inclusive[name] += count
    if total == 0:
        return {"self": [], "total": [], "samples": []}

    def pct(c: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(100 * n / total, 1)) for f, n in c.most_common(top)]

    return {"self": pct(own), "total": pct(inclusive), "samples": [("samples", float(total))]}


def render(title: str, summary: dict[str, list[tuple[str, float]]]) -> str:
    lines = [f"{title} — top by self time (% of samples) | top by total time"]
    width = 58
    for (s_name, s_pct), (t_name, t_pct) in zip(summary["self"], summary["total"], strict=False):
        lines.append(f"  {s_pct:5.1f}% {s_name[:width]:<{width}} {t_pct:5.1f}% {t_name[:width]}")
    return "\n".join(lines)
