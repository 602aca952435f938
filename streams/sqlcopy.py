"""Binary COPY of Python rows into a table: the fastest way PostgreSQL takes rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import psycopg
from psycopg.types.json import set_json_dumps

# jsonb values are serialised with orjson everywhere psycopg meets them.
set_json_dumps(orjson.dumps)


def copy_rows(
    cur: psycopg.Cursor,
    table: str,
    columns: Sequence[str],
    types: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)
