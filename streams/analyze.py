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
    """ANALYZE after every doubling of what this worker wrote (50k, 100k, 200k … rows), and in the
    very transaction that marks an import completed.

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

    def record(self, written: int) -> bool:
        """Count rows a committed batch wrote; True when an ANALYZE is due."""
        self.since += written
        return self.since >= max(self.min_rows, self.analysed_at)

    def done(self) -> None:
        self.analysed_at += self.since
        self.since = 0

    def before_commit(self, conn: psycopg.Connection, completed: Sequence[str]) -> None:
        """Inside the batch transaction that completes imports: whoever sees an import completed
        then also sees statistics that count its rows. Analysed after the commit instead, a query
        planned in between (a test's checksum of a 50k-row org) ran for over 20 minutes on the
        statistics of an earlier, smaller import."""
        if completed and self._analyze(conn, wait=True):
            self.done()

    def after_commit(self, conn: psycopg.Connection, written: int) -> None:
        if self.record(written) and self._analyze(conn, wait=False):
            self.done()

    def _analyze(self, conn: psycopg.Connection, *, wait: bool) -> bool:
        # Its own transaction after a commit, a savepoint inside the batch's: a failure here only
        # loses the statistics, never the batch.
        lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        try:
            with translated(), conn.transaction():
                row = conn.execute(f"SELECT {lock}(%s)::text", (_LOCK_KEY,)).fetchone()
                if row is None or row[0] == "false":
                    return False  # another worker is analysing these tables right now
                conn.execute(f"ANALYZE {TABLES}")
                self.runs += 1
                return True
        except InfrastructureError as e:
            log.warning("ANALYZE of the lead tables failed: %s", e)
            return False
