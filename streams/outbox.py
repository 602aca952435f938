"""The transactional outbox: lead events written in the batch transaction, relayed to Kafka."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg

from schemas.codec import dumps
from streams import sqlcopy
from streams.db import translated

OutboxRow = tuple[str, bytes, bytes]  # (topic, key, payload)


def lead_event(
    topic: str,
    *,
    event_id: str,
    kind: str,
    org_id: str,
    lead_id: int | None,
    import_id: str | None,
    at: datetime,
    data: dict[str, Any],
) -> OutboxRow:
    """One ``lead_events`` record, shaped as :class:`schemas.events.LeadEvent`."""
    payload = {
        "schema_version": 1,
        "event_id": event_id,
        "event_type": kind,
        "org_id": org_id,
        "lead_id": lead_id,
        "import_id": import_id,
        "occurred_at": at,
        "data": data,
    }
    key = f"{org_id}|{lead_id}" if lead_id is not None else f"{org_id}|{import_id}"
    return topic, key.encode(), dumps(payload)


def write_outbox(cur: psycopg.Cursor, events: Sequence[OutboxRow]) -> None:
    if events:
        sqlcopy.copy_rows(cur, "outbox", ("topic", "key", "payload"), ("text", "bytea", "bytea"), events)


Publish = Callable[[Sequence[OutboxRow]], None]


def relay_once(conn: psycopg.Connection, publish: Publish, limit: int = 5000) -> int:
    """Publish up to ``limit`` outbox rows, then delete them: at least once, in id order.

    ``publish`` must return only when the broker has acknowledged every record; if it raises,
    the transaction rolls back and the rows are sent again later (consumers dedupe on event_id).
    """
    with translated(), conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "SELECT id, topic, key, payload FROM outbox ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            (limit,),
        )
        rows = cur.fetchall()
        if not rows:
            return 0
        publish([(r[1], bytes(r[2]) if r[2] is not None else b"", bytes(r[3])) for r in rows])
        cur.execute("DELETE FROM outbox WHERE id = ANY(%s)", ([r[0] for r in rows],))
        return len(rows)
