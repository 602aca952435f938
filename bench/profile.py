"""Summarise py-spy's collapsed stacks: where the samples were (self) and under what (total)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^(.*) (\d+)$")
_FRAME_LINE = re.compile(r":\d+\)$")


def _frame(raw: str) -> str | None:
    """``func (path/to/file.py:12)`` → ``func (file.py)``; process and thread frames → None."""
    raw = raw.strip()
    if raw.startswith(("process ", "thread ")):
        return None
    name, _, where = raw.partition(" (")
    where = _FRAME_LINE.sub(")", "(" + where) if where else ""
    short = where.rsplit("/", 1)[-1] if "/" in where else where.lstrip("(")
    return f"{name} ({short}" if short else name


def summarise(path: Path, top: int = 12) -> dict[str, list[tuple[str, float]]]:
    """Top functions by own samples and by inclusive samples, as percentages of all samples."""
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
        own[frames[-1]] += count
        for f in set(frames):
            inclusive[f] += count
    if total == 0:
        return {"self": [], "total": []}

    def pct(c: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(100 * n / total, 1)) for f, n in c.most_common(top)]

    return {"self": pct(own), "total": pct(inclusive), "samples": [("samples", float(total))]}


def render(title: str, summary: dict[str, list[tuple[str, float]]]) -> str:
    lines = [f"{title} — top by self time (% of samples) | top by total time"]
    width = 62
    for (s_name, s_pct), (t_name, t_pct) in zip(summary["self"], summary["total"], strict=False):
        lines.append(f"  {s_pct:5.1f}% {s_name[:width]:<{width}} {t_pct:5.1f}% {t_name[:width]}")
    return "\n".join(lines)
