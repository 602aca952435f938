"""The imports table: lifecycle events, completion, and the queries ops and the CLI run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from schemas.events import ImportCancelled, ImportSealed, ImportStarted
from streams.analyze import Analyzer
from streams.db import translated
from streams.outbox import lead_event, write_outbox

COUNT_FIELDS = ("created", "updated", "unchanged", "rejected", "skipped_existing", "cancelled", "conflicts")
TERMINAL = frozenset({"completed", "failed", "cancelled"})


def complete_ready_imports(
    cur: psycopg.Cursor, keys: Sequence[tuple[str, str]], lead_events_topic: str
) -> list[str]:
    """Mark sealed imports whose every row has a result ``completed``; publish the event."""
    if not keys:
        return []
    cur.execute(
        "UPDATE imports i SET status = 'completed', completed_at = now(), updated_at = now()"
        " FROM unnest(%s::text[], %s::text[]) AS b(org_id, import_id)"
        " WHERE i.org_id = b.org_id AND i.import_id = b.import_id"
        " AND i.status = 'processing' AND i.total_rows IS NOT NULL AND i.processed >= i.total_rows"
        f" RETURNING i.org_id, i.import_id, i.total_rows, {', '.join('i.' + f for f in COUNT_FIELDS)}",
        ([k[0] for k in keys], [k[1] for k in keys]),
    )
    done = cur.fetchall()
    if not done:
        return []
    now = datetime.now(UTC)
    write_outbox(
        cur,
        [
            lead_event(
                lead_events_topic,
                event_id=f"lead_import_completed:{import_id}",
                kind="lead_import_completed",
                org_id=org_id,
                lead_id=None,
                import_id=import_id,
                at=now,
                data={"rows": total, **dict(zip(COUNT_FIELDS, counts, strict=True))},
            )
            for org_id, import_id, total, *counts in done
        ],
    )
    return [d[1] for d in done]


class ImportsRepository:
    def __init__(self, conn: psycopg.Connection, *, lead_events_topic: str = "lead_events") -> None:
        self.conn = conn
        self.lead_events_topic = lead_events_topic
        self._analyzer = Analyzer()

    def apply_control(self, event: ImportStarted | ImportSealed | ImportCancelled) -> list[str]:
        """Apply one lifecycle event; each is idempotent. Returns imports that completed."""
        with translated(), self.conn.transaction(), self.conn.cursor() as cur:
            key = [(event.org_id, event.import_id)]
            if isinstance(event, ImportStarted):
                cur.execute(
                    "INSERT INTO imports (org_id, import_id, source_name, options, started_at)"
                    " VALUES (%s, %s, %s, %s, %s)"
                    " ON CONFLICT (org_id, import_id) DO UPDATE SET source_name = EXCLUDED.source_name,"
                    " options = EXCLUDED.options, started_at = EXCLUDED.started_at, updated_at = now()",
                    (
                        event.org_id,
                        event.import_id,
                        event.source_name,
                        psycopg.types.json.Jsonb(event.options),
                        event.started_at,
                    ),
                )
                return []
            if isinstance(event, ImportSealed):
                cur.execute(
                    "INSERT INTO imports (org_id, import_id, status, total_rows, sealed_at)"
                    " VALUES (%s, %s, 'processing', %s, %s)"
                    " ON CONFLICT (org_id, import_id) DO UPDATE SET total_rows = EXCLUDED.total_rows,"
                    " sealed_at = EXCLUDED.sealed_at, updated_at = now(),"
                    " status = CASE WHEN imports.status = 'publishing' THEN 'processing'"
                    " ELSE imports.status END",
                    (event.org_id, event.import_id, event.total_rows, event.sealed_at),
                )
                done = complete_ready_imports(cur, key, self.lead_events_topic)
                # The seal can arrive after the last row: this transaction completes the import
                # then, and must leave statistics that count its rows, as a batch would.
                self._analyzer.before_commit(self.conn, done)
                return done
            cur.execute(
                "INSERT INTO imports (org_id, import_id, status, completed_at)"
                " VALUES (%s, %s, 'cancelled', %s)"
                " ON CONFLICT (org_id, import_id) DO UPDATE SET status = 'cancelled',"
                " completed_at = EXCLUDED.completed_at, updated_at = now()"
                " WHERE imports.status IN ('publishing', 'processing')",
                (event.org_id, event.import_id, event.cancelled_at),
            )
            return []

    def fail(self, org_id: str, import_id: str, error: str) -> None:
        with translated(), self.conn.transaction():
            self.conn.execute(
                "UPDATE imports SET status = 'failed', error = %s, updated_at = now()"
                " WHERE org_id = %s AND import_id = %s AND status NOT IN ('completed', 'cancelled')",
                (error, org_id, import_id),
            )


@dataclass(frozen=True)
class ImportSummary:
    org_id: str
    import_id: str
    status: str
    source_name: str | None
    total_rows: int | None
    processed: int
    counts: dict[str, int]
    error: str | None
    started_at: datetime | None
    completed_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "org_id": self.org_id,
            "status": self.status,
            "source": self.source_name,
            "rows": self.total_rows,
            "processed": self.processed,
            **self.counts,
            "error": self.error,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
        }


_SUMMARY_COLS = (
    "org_id, import_id, status, source_name, total_rows, processed, error, started_at, completed_at, "
    + ", ".join(COUNT_FIELDS)
)


def _summary(row: dict[str, Any]) -> ImportSummary:
    return ImportSummary(
        org_id=row["org_id"],
        import_id=row["import_id"],
        status=row["status"],
        source_name=row["source_name"],
        total_rows=row["total_rows"],
        processed=row["processed"],
        counts={f: row[f] for f in COUNT_FIELDS},
        error=row["error"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
    )


def get_import(conn: psycopg.Connection, import_id: str) -> ImportSummary | None:
    with translated(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {_SUMMARY_COLS} FROM imports WHERE import_id = %s", (import_id,))
        row = cur.fetchone()
    conn.rollback()  # never hold a snapshot open while polling
    return _summary(row) if row else None


def list_imports(
    conn: psycopg.Connection, org_id: str | None = None, status: str | None = None, limit: int = 50
) -> list[ImportSummary]:
    with translated(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"SELECT {_SUMMARY_COLS} FROM imports"
            " WHERE (%(org)s::text IS NULL OR org_id = %(org)s)"
            " AND (%(status)s::text IS NULL OR status = %(status)s)"
            " ORDER BY coalesce(started_at, updated_at) DESC LIMIT %(limit)s",
            {"org": org_id, "status": status, "limit": limit},
        )
        rows = cur.fetchall()
    conn.rollback()
    return [_summary(r) for r in rows]
