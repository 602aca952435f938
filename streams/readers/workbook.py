"""Spreadsheets (xlsx, xls, xlsb, ods) read with python-calamine: first sheet unless one is named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from processors.errors import InputFileError
from streams.readers.source import Source
from streams.readers.table import SourceRow, TableReader, check_header, render_cell

_FORMATS = {".xls": "xls", ".xlsb": "xlsb", ".ods": "ods", ".xlsm": "xlsx"}


def _trimmed(values: list[Any]) -> list[str]:
    # formula cells arrive as the value Excel last computed, error cells (#N/A…) as ''
    cells = [render_cell(v) for v in values]
    while cells and not cells[-1].strip():
        cells.pop()  # a sheet is a rectangle: empty cells past a row's end are not fields
    return cells


def _pick_sheet(book: CalamineWorkbook, name: str, sheet: str | None) -> CalamineSheet:
    names = book.sheet_names
    if not names:
        raise InputFileError(f"{name} has no sheet")
    if sheet is None:
        return book.get_sheet_by_index(0)
    if sheet in names:
        return book.get_sheet_by_name(sheet)
    if sheet.isdigit() and 1 <= int(sheet) <= len(names):
        return book.get_sheet_by_index(int(sheet) - 1)
    raise InputFileError(f"{name} has no sheet {sheet!r}; its sheets: {', '.join(map(repr, names))}")


def open_workbook(source: Source, *, sheet: str | None = None) -> TableReader:
    """The first non-empty row of the sheet is the header; rows keep the sheet's row numbers."""
    try:
        book = CalamineWorkbook.from_path(str(source.workbook_path()))
        ws = _pick_sheet(book, source.name, sheet)
        rows = ws.iter_rows()
    except CalamineError as e:
        raise InputFileError(f"{source.name} is not a readable spreadsheet: {e}") from e
    first_col = ws.start[1] if ws.start else 0
    numbered = enumerate(rows, start=1)  # iter_rows starts at the sheet's first row, blank or not
    header: list[str] = []
    for _, values in numbered:
        header = _trimmed(values)
        if header:
            break
    if not header:
        raise InputFileError(f"{source.name}: sheet {ws.name!r} is empty: no header row")
    where = f"{source.name} (sheet {ws.name!r})"
    header = check_header(header, where, letters=True, first=first_col + 1)
    done = [0]

    def body() -> Iterator[SourceRow]:
        for number, values in numbered:
            done[0] = number
            cells = _trimmed(values)
            if cells and "".join(cells).strip():  # empty rows are not rows
                yield SourceRow(number, cells)

    fmt = _FORMATS.get(Path(source.inner_name).suffix.lower(), "xlsx")
    return TableReader(
        name=source.name,
        header=header,
        rows=body(),
        size=ws.end[0] + 1 if ws.end else 0,
        position=lambda: done[0],
        format=fmt,
        details={"sheet": ws.name},
        _closers=[book.close, source.close],
    )
