"""Keep the planner's statistics of the lead tables current while a large import grows them."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import psycopg

from processors.errors import InfrastructureError
from streams.db import translated

log = logging.getLogger(__name__)

# The tables each batch joins against or appends to.
TABLES = "leads, channel_identities, import_row_results, identity_conflicts"
# One worker at a time: a second ANALYZE would only queue behind the first one's lock.
_LOCK_KEY = 0x1EAD6
MIN_ROWS = 50_000


class Analyzer:
    """ANALYZE after every doubling of what this worker wrote (50k, 100k, 200k … rows) and when
    an import completes.

    Autovacuum analyses a table only after it grew by 10% and at most once a minute per table,
    which a 1M-row import outruns; on a machine like this one a stale plan once turned the
    identity join into a 19-minute nested loop. Each ANALYZE samples a fixed 30k rows per table,
    so a doubling schedule costs a handful of sub-second runs per import.
    """

    def __init__(self, min_rows: int = MIN_ROWS) -> None:
        self.min_rows = min_rows
        self.since = 0
        self.analysed_at = 0
        self.runs = 0

    def due(self) -> bool:
        return self.since >= max(self.min_rows, self.analysed_at)

    def after_commit(self, conn: psycopg.Connection, written: int, completed: Sequence[str]) -> None:
        self.since += written
        if not (completed or self.due()):
            return
        try:
            with translated(), conn.transaction():
                locked = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (_LOCK_KEY,)).fetchone()
                if locked is not None and locked[0]:
                    conn.execute(f"ANALYZE {TABLES}")
                    self.runs += 1
        except InfrastructureError as e:
            # Only an optimisation: the batch is committed, the next due point tries again.
            log.warning("ANALYZE of the lead tables failed: %s", e)
            return
        self.analysed_at += self.since
        self.since = 0
