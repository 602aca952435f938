"""The ceiling: binary COPY of the pipeline's final leads and identities into empty, migrated tables.

The rows are already normalised and deduplicated (they are what the pipeline committed), the
tables have the same indexes, primary keys and foreign key, so this is what PostgreSQL on this
machine can physically take for the same end state — without the ledger, conflicts and outbox
the pipeline also writes.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from bench.stack import create_database, drop_database

TABLES = ("leads", "channel_identities")


def copy_out(database_url: str, table: str, parts: int) -> list[list[bytes]]:
    """The table's rows as ``parts`` binary COPY streams, split by lead id."""
    out: list[list[bytes]] = []
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        for k in range(parts):
            chunks: list[bytes] = []
            query = f"COPY (SELECT * FROM {table} WHERE lead_id % {parts} = {k}) TO STDOUT (FORMAT BINARY)"
            with cur.copy(query) as copy:
                chunks.extend(bytes(block) for block in copy)
            out.append(chunks)
    return out


def copy_in(database_url: str, table: str, chunks: list[bytes]) -> None:
    with (
        psycopg.connect(database_url, autocommit=True) as conn,
        conn.cursor() as cur,
        cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy,
    ):
        for block in chunks:
            copy.write(block)


def measure_ceiling(
    source_url: str, maintenance_url: str, name: str, rows: int, connections: int
) -> dict[str, Any]:
    """Load the final rows with ``connections`` parallel COPYs per table (leads first: the FK)."""
    streams = {t: copy_out(source_url, t, connections) for t in TABLES}
    target = create_database(maintenance_url, name)
    seconds: dict[str, float] = {}
    try:
        with ThreadPoolExecutor(connections) as pool:
            for table in TABLES:
                started = time.perf_counter()
                list(pool.map(lambda chunks, t=table: copy_in(target, t, chunks), streams[table]))
                seconds[table] = time.perf_counter() - started
        with psycopg.connect(target) as conn:
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]
    finally:
        drop_database(maintenance_url, name)
    total = sum(seconds.values())
    return {
        "connections": connections,
        "seconds": round(total, 2),
        "rows_per_s": round(rows / total),
        "tables": {
            t: {
                "rows": counts[t],
                "seconds": round(seconds[t], 2),
                "rows_per_s": round(counts[t] / seconds[t]),
            }
            for t in TABLES
        },
    }
