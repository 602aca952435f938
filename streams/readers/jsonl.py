"""JSON Lines: one object per line; the header is the keys of the first objects, in order."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from processors.errors import InputFileError
from processors.model import RejectReason
from streams.readers.source import Source
from streams.readers.table import SourceRow, TableReader, check_header, render_cell
from streams.readers.text import open_text

HEADER_SCAN_LINES = 1000  # keys first seen after these lines make a row too wide (too_many_fields)
INVALID_JSON = "invalid_json"
NOT_AN_OBJECT = "not_an_object"
_RAW_LIMIT = 2000


def _parse(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str, Any]]:
    for number, line in lines:
        text = line.strip()
        if not text:
            continue  # blank lines are not rows
        try:
            yield number, text, orjson.loads(text)
        except orjson.JSONDecodeError:
            yield number, text, orjson.JSONDecodeError


def _row(number: int, text: str, obj: Any, header: list[str], index: dict[str, int]) -> SourceRow:
    if obj is orjson.JSONDecodeError:
        return SourceRow(number, [], INVALID_JSON, {"raw_line": text[:_RAW_LIMIT]})
    if not isinstance(obj, dict):
        return SourceRow(number, [], NOT_AN_OBJECT, {"raw_line": text[:_RAW_LIMIT]})
    cells = [""] * len(header)
    unknown = False
    for key, value in obj.items():
        i = index.get(key)
        if i is None:
            unknown = True
        else:
            cells[i] = render_cell(value)
    if unknown:
        raw = {str(k): render_cell(v) for k, v in obj.items()}
        return SourceRow(number, cells, RejectReason.TOO_MANY_FIELDS.value, raw)
    return SourceRow(number, cells)


def open_jsonl(source: Source, *, encoding: str | None = None) -> TableReader:
    """A JSON Lines file; a first line that is not an object means the file is not a table."""
    text = open_text(source, encoding)
    records = _parse(enumerate(text.stream, start=1))
    head = list(itertools.islice(records, HEADER_SCAN_LINES))
    if not head or not isinstance(head[0][2], dict):
        what = "an array: a JSON document" if text.sample.lstrip().startswith("[") else "not JSON Lines"
        raise InputFileError(f"{source.name} is {what}, not a table of one JSON object per line")
    keys: dict[str, None] = {}
    for _, _, obj in head:
        if isinstance(obj, dict):
            keys.update(dict.fromkeys(obj))
    header = check_header(list(keys), source.name)
    index = {k: i for i, k in enumerate(keys)}  # the keys as written: check_header trims them

    def rows() -> Iterator[SourceRow]:
        for number, line, obj in itertools.chain(head, records):
            yield _row(number, line, obj, header, index)

    return TableReader(
        name=source.name,
        header=header,
        rows=rows(),
        size=source.size,
        position=source.position,
        format="jsonl.gz" if source.compressed else "jsonl",
        details={"encoding": text.encoding},
        _closers=[source.close],
    )
