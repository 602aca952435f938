"""Import progress: a rich bar on a terminal, a plain line every few seconds otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

PLAIN_EVERY_S = 5.0


def _eta(elapsed: float, position: int, size: int | None) -> float | None:
    """Seconds left, from how far into the file the reader is (rows per byte is unknown ahead)."""
    if not size or position <= 0 or elapsed <= 0:
        return None
    return elapsed * max(size - position, 0) / position


class ImportProgress:
    """Call it with the rows done so far; it reads the file position itself (a context manager)."""

    def __init__(
        self,
        console: Console,
        label: str,
        position: Callable[[], int],
        size: int | None,
        *,
        every_s: float = PLAIN_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
        enabled: bool = True,
    ) -> None:
        self.console, self.label, self.position, self.size = console, label, position, size
        self.every_s, self.clock, self.enabled = every_s, clock, enabled
        self.started = self.last = clock()
        self.rich: Progress | None = None
        self.task = None
        if enabled and console.is_terminal:
            self.rich = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rows]:>12,} rows"),
                TextColumn("{task.fields[rate]:>9,.0f} rows/s"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self.task = self.rich.add_task(label, total=size, rows=0, rate=0.0)

    def __enter__(self) -> ImportProgress:
        if self.rich is not None:
            self.rich.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.rich is not None:
            self.rich.stop()

    def __call__(self, rows: int) -> None:
        if not self.enabled:
            return
        now = self.clock()
        elapsed = now - self.started
        rate = rows / elapsed if elapsed > 0 else 0.0
        position = self.position()
        if self.rich is not None and self.task is not None:
            self.rich.update(self.task, completed=position, rows=rows, rate=rate)
            return
        if now - self.last < self.every_s:
            return
        self.last = now
        self.console.print(self.line(rows, rate, elapsed, position), highlight=False, soft_wrap=True)

    def line(self, rows: int, rate: float, elapsed: float, position: int) -> str:
        text = f"{self.label}: {rows:,} rows, {rate:,.0f} rows/s"
        if self.size:
            text += f", {min(position / self.size, 1):.0%} of the file"
        eta = _eta(elapsed, position, self.size)
        if eta is not None:
            text += f", ETA {timedelta(seconds=round(eta))}"
        return text
