"""CSV/TSV: the delimiter sniffed from the first rows, quoted delimiters and newlines, any line end."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from typing import Any

from processors.errors import InputFileError
from streams.readers.source import Source
from streams.readers.table import SourceRow, TableReader, check_header
from streams.readers.text import open_text

DELIMITERS = ",;\t|"
_SNIFF_ROWS = 200
# A cell larger than this is a broken file (an unclosed quote swallowing the lines after it).
FIELD_LIMIT = 1 << 20
_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def parse_delimiter(value: str) -> str:
    """``--delimiter``: one character, or tab / comma / semicolon / pipe by name."""
    d = _NAMES.get(value.lower(), value)
    if len(d) != 1 or d in '"\r\n':
        raise InputFileError(f"--delimiter must be one character (or tab), not {value!r}")
    return d


def sniff_delimiter(sample: str) -> str:
    """The delimiter that gives the most rows as wide as the header, then the widest header."""
    best, best_score = ",", (-1, -1)
    for d in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=d)
        try:
            rows = [r for r in itertools.islice(reader, _SNIFF_ROWS) if r]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = (sum(1 for r in rows[1:] if len(r) == width), width)
        if score > best_score:
            best, best_score = d, score
    return best


def _rows(reader: Any, name: str) -> Iterator[SourceRow]:
    start = reader.line_num + 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if "".join(cells).strip():  # blank lines (and ",,,") are not rows
                yield SourceRow(line, cells)
    except csv.Error as e:
        raise InputFileError(f"{name}: line {start} cannot be read: {e}") from e


def open_delimited(
    source: Source, *, encoding: str | None = None, delimiter: str | None = None
) -> TableReader:
    """A delimited text file: encoding and delimiter detected unless given."""
    text = open_text(source, encoding)
    delim = parse_delimiter(delimiter) if delimiter is not None else sniff_delimiter(text.sample)
    csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(text.stream, delimiter=delim)
    try:
        header = next((row for row in reader if "".join(row).strip()), None)
    except csv.Error as e:
        raise InputFileError(f"{source.name}: the header cannot be read: {e}") from e
    if header is None:
        raise InputFileError(f"{source.name} is empty: no header row")
    return TableReader(
        name=source.name,
        header=check_header(header, source.name),
        rows=_rows(reader, source.name),
        size=source.size,
        position=source.position,
        format="csv.gz" if source.compressed else "csv",
        details={"encoding": text.encoding, "delimiter": delim},
        _closers=[source.close],
    )
