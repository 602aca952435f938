"""Read contact files (CSV/TSV, spreadsheets, JSON Lines, gzipped, or stdin) as numbered rows."""

from __future__ import annotations

import re
from pathlib import Path

from streams.readers.delimited import open_delimited, sniff_delimiter
from streams.readers.jsonl import open_jsonl
from streams.readers.source import open_source
from streams.readers.table import SourceRow, TableReader, column_label
from streams.readers.workbook import open_workbook

__all__ = ["SourceRow", "TableReader", "column_label", "open_table", "sniff_delimiter"]

_JSONL = (".jsonl", ".ndjson", ".json")
# An object, or an array of values (a JSON document, refused with its own message); not a
# bracketed CSV header such as "[Email],[Name]".
_JSON_START = re.compile(rb'(?:\xef\xbb\xbf)?\s*(?:\{|\[\s*[\[{"])')


def open_table(
    path: Path | str,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> TableReader:
    """Open any supported contact file (``-`` is stdin); the format comes from its content."""
    source = open_source(path)
    try:
        if source.is_workbook:
            return open_workbook(source, sheet=sheet)
        if Path(source.inner_name).suffix.lower() in _JSONL or _JSON_START.match(source.sample):
            return open_jsonl(source, encoding=encoding)
        return open_delimited(source, encoding=encoding, delimiter=delimiter)
    except BaseException:
        source.close()
        raise
