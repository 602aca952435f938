"""The naive path: one transaction per contact, the way a one-at-a-time API would create leads.

Same rules as the pipeline — the importer's normalisation, the event contract and the core's
``decide_batch`` (with a batch of one) — but plain per-row SQL: look up each identity, lock the
matched lead, insert or update it, attach identities, write the row result, conflicts, lead events
and the import's counters, commit.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from processors.contact import ImportOptions
from processors.decide import decide_batch
from processors.mapping import map_headers
from processors.model import PROFILE_FIELDS, BatchPlan, IdentityKey, LeadState, Outcome, identity_key
from schemas.codec import decode
from schemas.events import LeadImportRow
from streams.outbox import lead_event
from streams.readers import open_table
from streams.row_encoding import EncodeContext, encode_row
from streams.work import ImportRowItem, import_row_item

ORG = "bench"
_COLS = ", ".join(PROFILE_FIELDS)
_COUNTERS = ("created", "updated", "unchanged", "rejected", "skipped_existing")


def _items(path: Path, rows: int, import_id: str, options: ImportOptions) -> Iterator[ImportRowItem]:
    """The file's first ``rows`` rows, as the worker would receive them."""
    table = open_table(path)
    try:
        ctx = EncodeContext(ORG, import_id, tuple(table.header), map_headers(table.header), options)
        for row in itertools.islice(table.rows, rows):
            yield import_row_item(decode(LeadImportRow, encode_row(ctx, row)[2]))
    finally:
        table.close()


def _ids(cur: psycopg.Cursor) -> Iterator[int]:
    while True:
        cur.execute("SELECT nextval('leads_lead_id_seq')")
        rec = cur.fetchone()
        assert rec is not None
        yield rec[0]


def apply_one(cur: psycopg.Cursor, item: ImportRowItem, topic: str) -> str:
    """Apply one row in the caller's transaction with per-row statements; return the outcome."""
    row = item.row
    owners: dict[IdentityKey, int] = {}
    opted: set[IdentityKey] = set()
    for ident in row.identities:
        key = identity_key(row.org_id, ident)
        cur.execute(
            "SELECT lead_id, opted_out FROM channel_identities"
            " WHERE org_id = %s AND channel = %s AND channel_identifier = %s",
            key,
        )
        found = cur.fetchone()
        if found is not None:
            owners[key] = found[0]
            if found[1]:
                opted.add(key)
    leads: dict[int, LeadState] = {}
    primary = row.primary
    if primary is not None and (owner := owners.get(identity_key(row.org_id, primary))) is not None:
        cur.execute(
            f"SELECT {_COLS}, attributes FROM leads WHERE org_id = %s AND lead_id = %s FOR UPDATE",
            (row.org_id, owner),
        )
        rec = cur.fetchone()
        assert rec is not None
        n = len(PROFILE_FIELDS)
        profile = {f: v for f, v in zip(PROFILE_FIELDS, rec[:n], strict=True) if v}
        leads[owner] = LeadState(owner, row.org_id, profile, dict(rec[n] or {}))
    plan = decide_batch([row], owners, leads, _ids(cur), frozenset(opted))
    _write(cur, item, plan, topic)
    return plan.results[0].outcome.value


def _write(cur: psycopg.Cursor, item: ImportRowItem, plan: BatchPlan, topic: str) -> None:
    row, result = item.row, plan.results[0]
    for lead in plan.created.values():
        cur.execute(
            f"INSERT INTO leads (org_id, lead_id, {_COLS}, attributes, source)"
            f" VALUES (%s, %s, {', '.join(['%s'] * len(PROFILE_FIELDS))}, %s, 'import')",
            (
                lead.org_id,
                lead.lead_id,
                *(lead.profile.get(f) for f in PROFILE_FIELDS),
                Jsonb(lead.attributes),
            ),
        )
    for lead in plan.updated.values():
        cur.execute(
            f"UPDATE leads SET ({_COLS}, attributes, updated_at) ="
            f" ({', '.join(['%s'] * len(PROFILE_FIELDS))}, %s, now()) WHERE org_id = %s AND lead_id = %s",
            (
                *(lead.profile.get(f) for f in PROFILE_FIELDS),
                Jsonb(lead.attributes),
                lead.org_id,
                lead.lead_id,
            ),
        )
    for new in plan.new_identities:
        cur.execute(
            "INSERT INTO channel_identities (org_id, channel, channel_identifier, lead_id, opted_out)"
            " VALUES (%s, %s, %s, %s, %s)",
            (new.org_id, new.identity.channel, new.identity.identifier, new.lead_id, new.opted_out),
        )
    keep_raw = result.outcome is Outcome.REJECTED or result.conflicts
    cur.execute(
        "INSERT INTO import_row_results"
        " (org_id, import_id, row_number, outcome, lead_id, reason, conflicts, row_data)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            row.org_id,
            item.import_id,
            item.row_number,
            result.outcome.value,
            result.lead_id,
            result.reason,
            result.conflicts,
            Jsonb(item.raw or {**row.profile, **row.attributes}) if keep_raw else None,
        ),
    )
    now = datetime.now(UTC)
    for c in plan.conflicts:
        cur.execute(
            "INSERT INTO identity_conflicts (org_id, event_id, import_id, row_number, channel,"
            " channel_identifier, owner_lead_id, row_lead_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                c.org_id,
                c.ref,
                item.import_id,
                item.row_number,
                c.identity.channel,
                c.identity.identifier,
                c.owner_lead_id,
                c.row_lead_id,
            ),
        )
    if result.outcome in (Outcome.CREATED, Outcome.UPDATED):
        kind = "lead_created" if result.outcome is Outcome.CREATED else "lead_updated"
        event = lead_event(
            topic,
            event_id=f"{kind}:{row.org_id}:{result.lead_id}"
            if kind == "lead_created"
            else f"{kind}:{row.ref}",
            kind=kind,
            org_id=row.org_id,
            lead_id=result.lead_id,
            import_id=item.import_id,
            at=now,
            data={"source": "import", "ref": row.ref},
        )
        cur.execute("INSERT INTO outbox (topic, key, payload) VALUES (%s, %s, %s)", event)
    counter = result.outcome.value
    cur.execute(
        f"UPDATE imports SET processed = processed + 1, {counter} = {counter} + 1,"
        " conflicts = conflicts + %s, updated_at = now() WHERE org_id = %s AND import_id = %s",
        (result.conflicts, row.org_id, item.import_id),
    )


def run_naive(database_url: str, path: Path, rows: int, topic: str = "lead_events") -> dict[str, Any]:
    """Apply the first ``rows`` rows one transaction each, on one connection; time it all."""
    import_id = str(uuid.uuid4())
    outcomes: dict[str, int] = {}
    with psycopg.connect(database_url) as conn:
        with conn.transaction():
            conn.execute(
                "INSERT INTO imports (org_id, import_id, status, source_name)"
                " VALUES (%s, %s, 'processing', %s)",
                (ORG, import_id, path.name),
            )
        started = time.perf_counter()
        n = 0
        for item in _items(path, rows, import_id, ImportOptions(default_region="US")):
            with conn.transaction(), conn.cursor() as cur:
                outcome = apply_one(cur, item, topic)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            n += 1
        seconds = time.perf_counter() - started
    return {
        "rows": n,
        "seconds": round(seconds, 2),
        "rows_per_s": round(n / seconds),
        "transactions": n,
        "outcomes": outcomes,
    }
