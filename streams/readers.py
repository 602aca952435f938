"""Read contact files as a header and numbered rows of cells, in constant memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processors.errors import InputFileError

_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t|"


@dataclass(frozen=True, slots=True)
class SourceRow:
    line: int  # the file line the row starts on (the header is line 1)
    cells: list[str]


@dataclass
class TableReader:
    """A header and an iterator of rows; ``position()`` reports progress in bytes."""

    name: str
    header: list[str]
    rows: Iterator[SourceRow]
    size: int | None = None
    _raw: io.BufferedReader | None = None

    def position(self) -> int | None:
        return self._raw.tell() if self._raw is not None else None

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()


def _check_header(header: list[str]) -> list[str]:
    cleaned = [h.strip() for h in header]
    for i, h in enumerate(cleaned, start=1):
        if not h:
            raise InputFileError(f"column {i} of the header has no name")
    seen: set[str] = set()
    for h in cleaned:
        if h.casefold() in seen:
            raise InputFileError(f"column {h!r} appears twice in the header")
        seen.add(h.casefold())
    return cleaned


def _csv_rows(reader: Any) -> Iterator[SourceRow]:
    start = reader.line_num + 1
    for cells in reader:
        line = start
        start = reader.line_num + 1
        if not cells or all(not c.strip() for c in cells):
            continue  # blank lines are not rows
        yield SourceRow(line, cells)


def open_csv(path: Path, *, encoding: str = "utf-8-sig", delimiter: str | None = None) -> TableReader:
    """Open a delimited text file: the delimiter is sniffed unless given."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by TableReader.close
    try:
        sample = raw.read(_SNIFF_BYTES)
        raw.seek(0)
        try:
            sample.decode(encoding)
        except UnicodeDecodeError:
            if len(sample) < _SNIFF_BYTES:
                raise
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        if delimiter is None:
            delimiter = sniff_delimiter(sample.decode(encoding, errors="ignore"))
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise InputFileError(f"{path.name} is empty: no header row") from None
        header = _check_header(header)
        return TableReader(path.name, header, _csv_rows(reader), size=path.stat().st_size, _raw=raw)
    except UnicodeDecodeError as e:
        raw.close()
        raise InputFileError(f"{path.name} is not {encoding} text: {e.reason} at byte {e.start}") from e
    except csv.Error as e:
        raw.close()
        raise InputFileError(f"{path.name} is not a readable table: {e}") from e
    except InputFileError:
        raw.close()
        raise


def sniff_delimiter(sample: str) -> str:
    first_lines = "\n".join(sample.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(first_lines, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        counts = {d: header.count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def open_table(path: Path, *, encoding: str | None = None, delimiter: str | None = None) -> TableReader:
    """Open any supported contact file."""
    if not path.exists():
        raise InputFileError(f"{path} does not exist")
    return open_csv(path, encoding=encoding or "utf-8-sig", delimiter=delimiter)
