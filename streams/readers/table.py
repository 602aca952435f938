"""What every reader returns: a checked header and numbered rows of cells."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from processors.errors import InputFileError


class SourceRow(NamedTuple):
    """One row of a file; a tuple so a chunk of rows pickles cheaply to a worker process."""

    line: int  # where the row starts in the file (the header is line 1; a sheet's row number)
    cells: list[str]
    rejection: str | None = None  # set by a reader that cannot make cells of the row
    raw: dict[str, str] | None = None  # the original values of such a row, for the error report


@dataclass
class TableReader:
    """A header and an iterator of rows; ``position()`` of ``size`` is how far the reader is."""

    name: str
    header: list[str]
    rows: Iterator[SourceRow]
    size: int | None = None
    position: Callable[[], int] = field(default=lambda: 0)
    format: str = "csv"
    details: dict[str, str] = field(default_factory=dict)  # encoding, delimiter, sheet…
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()

    def __enter__(self) -> TableReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def column_label(index: int, *, letters: bool = False) -> str:
    """``column 3``, or ``column C`` for a spreadsheet."""
    if not letters:
        return f"column {index}"
    name = ""
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return f"column {name}"


def check_header(header: list[str], source: str, *, letters: bool = False, first: int = 1) -> list[str]:
    """Header names trimmed; an empty or repeated name fails the import before anything is sent."""
    cleaned = [h.strip() for h in header]
    if cleaned and cleaned[0].startswith("\ufeff"):  # a BOM left by an explicit --encoding
        cleaned[0] = cleaned[0][1:].strip()
    if not cleaned:
        raise InputFileError(f"{source} has no header row")
    seen: dict[str, int] = {}
    for i, h in enumerate(cleaned, start=first):
        if not h:
            raise InputFileError(f"{source}: {column_label(i, letters=letters)} of the header has no name")
        earlier = seen.setdefault(h.casefold(), i)
        if earlier != i:
            raise InputFileError(
                f"{source}: column {h!r} appears twice in the header"
                f" ({column_label(earlier, letters=letters)} and {column_label(i, letters=letters)})"
            )
    return cleaned


def is_blank(cells: list[str]) -> bool:
    """A line with no value at all (``,,,`` included) is not a row."""
    return all(not c or c.isspace() for c in cells)


def render_cell(value: Any) -> str:
    """A value from a spreadsheet or a JSON object as one cell of text."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # whole numbers without ".0": phone numbers and ids are often stored as numbers
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)
