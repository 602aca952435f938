"""The transactional outbox: lead events written in the batch transaction, relayed to Kafka."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg

from schemas.codec import dumps, loads
from streams import sqlcopy
from streams.db import translated

OutboxRow = tuple[str, bytes, bytes]  # (topic, key, payload)
EventRecord = tuple[str, dict[str, Any]]  # (key, event) of one lead_events record

_RELAY_LOCK_KEY = 0x1EAD7  # advisory lock: one outbox relay at a time (migrate 0x1EAD5, analyze 0x1EAD6)


def lead_event_record(
    *,
    event_id: str,
    kind: str,
    org_id: str,
    lead_id: int | None,
    import_id: str | None,
    at: datetime,
    data: dict[str, Any],
) -> EventRecord:
    """One ``lead_events`` record as (key, event), the event shaped as :class:`schemas.events.LeadEvent`."""
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
    return key, payload


def lead_event(topic: str, **fields: Any) -> OutboxRow:
    """One ``lead_events`` record as an outbox row of its own."""
    key, payload = lead_event_record(**fields)
    return topic, key.encode(), dumps(payload)


def write_outbox(cur: psycopg.Cursor, events: Sequence[OutboxRow]) -> None:
    if events:
        sqlcopy.copy_rows(cur, "outbox", ("topic", "key", "payload"), ("text", "bytea", "bytea"), events)


def write_outbox_batch(cur: psycopg.Cursor, topic: str, records: Sequence[EventRecord]) -> None:
    """A batch's events as ONE outbox row: one tuple to write, lock and delete instead of one
    per event; the relay publishes them one by one, in this order."""
    if records:
        cur.execute(
            "INSERT INTO outbox (topic, payload, records, batched) VALUES (%s, %b, %s, true)",
            (topic, dumps(records), len(records)),
        )


Publish = Callable[[Sequence[OutboxRow]], None]


def relay_once(conn: psycopg.Connection, publish: Publish, limit: int = 5000) -> int:
    """Publish up to about ``limit`` events, oldest outbox rows first, then delete their rows;
    returns the number of events (0 also when another worker's relay is busy). At least once:
    if ``publish`` raises (it must return only when the broker acknowledged every record), the
    transaction rolls back and the rows are sent again later (consumers dedupe on event_id).

    One relay at a time across all workers: two relaying side by side (``SKIP LOCKED``) could
    publish a lead's ``lead_updated`` before its ``lead_created``. A lead's later event always
    has the higher outbox id (its transaction read the earlier one's commit), so relaying in id
    order, alone, keeps every lead's events in order on ``lead_events``.
    """
    with translated(), conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (_RELAY_LOCK_KEY,))
        row = cur.fetchone()
        if not (row and row[0]):
            return 0
        cur.execute("SELECT id, records FROM outbox ORDER BY id LIMIT %s", (limit,))
        ids: list[int] = []
        events = 0
        for row_id, records in cur.fetchall():
            if ids and events + records > limit:
                break
            ids.append(row_id)
            events += records
        if not ids:
            return 0
        cur.execute("SELECT topic, key, payload, batched FROM outbox WHERE id = ANY(%s) ORDER BY id", (ids,))
        out: list[OutboxRow] = []
        for topic, key, payload, batched in cur:
            if batched:
                out.extend((topic, k.encode(), dumps(event)) for k, event in loads(payload))
            else:
                out.append((topic, bytes(key) if key is not None else b"", bytes(payload)))
        publish(out)
        cur.execute("DELETE FROM outbox WHERE id = ANY(%s)", (ids,))
        return len(out)
