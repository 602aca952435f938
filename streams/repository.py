"""Apply one batch of import rows and deliveries to PostgreSQL in a single transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from processors.decide import decide_batch
from processors.errors import ConcurrentWriteError
from processors.model import (
    PROFILE_FIELDS,
    BatchPlan,
    IdentityKey,
    LeadState,
    Outcome,
    RowInput,
    identity_key,
)
from streams import sqlcopy
from streams.analyze import Analyzer
from streams.claims import claim_identities
from streams.db import translated
from streams.imports_repo import complete_ready_imports
from streams.outbox import EventRecord, lead_event_record, write_outbox_batch
from streams.probe import OWNERS_PROBE, probe_sql
from streams.work import DeliveryItem, ImportRowItem, WorkItem

_ROW_LEDGER_PROBE = probe_sql(
    "import_row_results",
    "'row', t.org_id, t.import_id || ':' || t.row_number",
    (("org_id", "text"), ("import_id", "text"), ("row_number", "bigint")),
)
_DELIVERY_LEDGER_PROBE = probe_sql(
    "processed_deliveries", "'delivery', t.org_id, t.event_id", (("org_id", "text"), ("event_id", "text"))
)
_LOCK_LEADS_PROBE = probe_sql(
    "leads",
    f"t.org_id, t.lead_id, {', '.join('t.' + f for f in PROFILE_FIELDS)}, t.attributes",
    (("org_id", "text"), ("lead_id", "bigint")),
    lock=True,
)
_COUNTED = ("created", "updated", "unchanged", "rejected", "skipped_existing", "cancelled")

_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS stage_lead_updates (
    org_id text, lead_id bigint, first_name text, last_name text, full_name text, email text,
    phone text, company text, city text, country text, attributes jsonb
) ON COMMIT DELETE ROWS;
"""


@dataclass(slots=True)
class BatchReport:
    """What one committed batch did: for metrics, logs and tests."""

    items: int = 0
    duplicates: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0
    completed_imports: list[str] = field(default_factory=list)

    def add(self, other: BatchReport) -> BatchReport:
        """This report with ``other``'s counts added (the parts of a batch that was split)."""
        self.items += other.items
        self.duplicates += other.duplicates
        for outcome, n in other.outcomes.items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + n
        self.conflicts += other.conflicts
        self.completed_imports += other.completed_imports
        return self


class LeadRepository:
    """Owns one connection; every public call is one transaction."""

    def __init__(self, conn: psycopg.Connection, *, lead_events_topic: str = "lead_events") -> None:
        self.conn = conn
        self.lead_events_topic = lead_events_topic
        self._staged = False
        self._analyzer = Analyzer()
        self._contested = False  # the last batch met identities another worker claimed

    def apply_batch(self, items: Sequence[WorkItem]) -> BatchReport:
        """Decide and write a batch; a re-delivered row or delivery is recognised and skipped."""
        with translated(), self.conn.transaction(), self.conn.cursor() as cur:
            if not self._staged:
                cur.execute(_STAGING)
            report = self._apply(cur, items)
            self._analyzer.before_commit(self.conn, report.completed_imports)
        # Only once committed: a rolled-back first batch (e.g. ConcurrentWriteError) drops the
        # temp tables with it, and every retry would then fail on a missing staging table.
        self._staged = True
        self._analyzer.after_commit(self.conn, report.items - report.duplicates)
        return report

    # -- the transaction body -------------------------------------------------------------

    def _apply(self, cur: psycopg.Cursor, items: Sequence[WorkItem]) -> BatchReport:
        report = BatchReport(items=len(items))
        fresh = self._unprocessed(cur, _dedupe(items))
        report.duplicates = len(items) - len(fresh)
        cancelled = self._cancelled_imports(cur, fresh)
        live = [
            it
            for it in fresh
            if not (isinstance(it, ImportRowItem) and (it.row.org_id, it.import_id) in cancelled)
        ]
        rows = [it.row for it in live]
        owners, opted_out = self._owners(cur, rows)
        leads = self._lock_leads(cur, rows, owners)
        ids = self._new_ids(cur, rows, owners)
        plan = decide_batch(rows, owners, leads, iter(ids), opted_out)

        by_ref = {it.row.ref: it for it in live}
        self._insert_leads(cur, plan, by_ref)

        def redecide(lost: dict[IdentityKey, int]) -> BatchPlan:
            # A lost primary identity turns a creation into an update of a lead this batch has
            # neither read nor locked: only a whole retry can decide that row.
            if any(r.primary is not None and identity_key(r.org_id, r.primary) in lost for r in rows):
                raise ConcurrentWriteError(f"{len(lost)} identities were claimed concurrently")
            return decide_batch(rows, {**owners, **lost}, leads, iter(ids), opted_out)

        plan, self._contested = claim_identities(self.conn, cur, plan, redecide, contested=self._contested)
        self._update_leads(cur, plan)
        self._apply_opt_outs(cur, plan)
        results = {r.ref: r for r in plan.results}
        self._write_row_results(cur, fresh, results, cancelled)
        self._write_deliveries(cur, live, results)
        self._write_conflicts(cur, plan, by_ref)
        self._write_lead_events(cur, plan, by_ref)
        report.completed_imports = self._count_imports(cur, fresh, results, cancelled)

        for r in plan.results:
            report.outcomes[r.outcome.value] = report.outcomes.get(r.outcome.value, 0) + 1
        n_cancelled = len(fresh) - len(live)
        if n_cancelled:
            report.outcomes[Outcome.CANCELLED.value] = n_cancelled
        report.conflicts = len(plan.conflicts)
        return report

    def _unprocessed(self, cur: psycopg.Cursor, items: list[WorkItem]) -> list[WorkItem]:
        imports = [it for it in items if isinstance(it, ImportRowItem)]
        deliveries = [it for it in items if isinstance(it, DeliveryItem)]
        done: set[tuple[str, str, str]] = set()
        if imports:
            cur.execute(
                _ROW_LEDGER_PROBE,
                (
                    [it.row.org_id for it in imports],
                    [it.import_id for it in imports],
                    [it.row_number for it in imports],
                ),
            )
            done.update(cur)
        if deliveries:
            cur.execute(
                _DELIVERY_LEDGER_PROBE,
                ([it.row.org_id for it in deliveries], [it.event_id for it in deliveries]),
            )
            done.update(cur)
        return [it for it in items if _ledger_key(it) not in done]

    def _cancelled_imports(self, cur: psycopg.Cursor, items: list[WorkItem]) -> set[tuple[str, str]]:
        keys = {(it.row.org_id, it.import_id) for it in items if isinstance(it, ImportRowItem)}
        if not keys:
            return set()
        orgs, ids = zip(*keys, strict=True)
        cur.execute(
            "SELECT i.org_id, i.import_id FROM imports i"
            " JOIN unnest(%b::text[], %b::text[]) AS b(org_id, import_id) USING (org_id, import_id)"
            " WHERE i.status = 'cancelled'",
            (list(orgs), list(ids)),
        )
        return {(r[0], r[1]) for r in cur}

    def _owners(
        self, cur: psycopg.Cursor, rows: list[RowInput]
    ) -> tuple[dict[IdentityKey, int], frozenset[IdentityKey]]:
        keys = {identity_key(r.org_id, i) for r in rows for i in r.identities}
        if not keys:
            return {}, frozenset()
        orgs, channels, idents = (list(c) for c in zip(*keys, strict=True))
        cur.execute(OWNERS_PROBE, (orgs, channels, idents))
        owners: dict[IdentityKey, int] = {}
        opted: set[IdentityKey] = set()
        for org, channel, ident, lead_id, opted_out in cur:
            owners[(org, channel, ident)] = lead_id
            if opted_out:
                opted.add((org, channel, ident))
        return owners, frozenset(opted)

    def _lock_leads(
        self, cur: psycopg.Cursor, rows: list[RowInput], owners: dict[IdentityKey, int]
    ) -> dict[int, LeadState]:
        """Read and row-lock the leads that rows match by primary identity (no lost updates)."""
        wanted = sorted(
            {
                (r.org_id, owners[k])
                for r in rows
                if r.primary is not None and (k := identity_key(r.org_id, r.primary)) in owners
            }
        )
        if not wanted:
            return {}
        # ``wanted`` is sorted: concurrent workers lock leads in one order (no deadlock).
        cur.execute(_LOCK_LEADS_PROBE, ([w[0] for w in wanted], [w[1] for w in wanted]))
        leads: dict[int, LeadState] = {}
        n = len(PROFILE_FIELDS)
        for rec in cur:
            profile = {f: v for f, v in zip(PROFILE_FIELDS, rec[2 : 2 + n], strict=True) if v}
            leads[rec[1]] = LeadState(rec[1], rec[0], profile, dict(rec[2 + n] or {}))
        return leads

    def _new_ids(
        self, cur: psycopg.Cursor, rows: list[RowInput], owners: dict[IdentityKey, int]
    ) -> list[int]:
        # An upper bound: rows whose primary identity has no owner yet may each create a lead.
        unowned = {
            identity_key(r.org_id, r.primary)
            for r in rows
            if r.primary is not None and identity_key(r.org_id, r.primary) not in owners
        }
        if not unowned:
            return []
        cur.execute("SELECT nextval('leads_lead_id_seq') FROM generate_series(1, %s)", (len(unowned),))
        return [r[0] for r in cur.fetchall()]

    def _insert_leads(self, cur: psycopg.Cursor, plan: BatchPlan, by_ref: dict[str, WorkItem]) -> None:
        if not plan.created:
            return
        sources = {
            r.lead_id: ("campaign_delivered" if isinstance(by_ref[r.ref], DeliveryItem) else "import")
            for r in plan.results
            if r.outcome is Outcome.CREATED
        }
        sqlcopy.copy_rows(
            cur,
            "leads",
            ("org_id", "lead_id", *PROFILE_FIELDS, "attributes", "source"),
            ("text", "int8", *(["text"] * len(PROFILE_FIELDS)), "jsonb", "text"),
            (
                (
                    lead.org_id,
                    lead.lead_id,
                    *(lead.profile.get(f) for f in PROFILE_FIELDS),
                    lead.attributes,
                    sources[lead.lead_id],
                )
                for lead in plan.created.values()
            ),
        )

    def _update_leads(self, cur: psycopg.Cursor, plan: BatchPlan) -> None:
        if not plan.updated:
            return
        sqlcopy.copy_rows(
            cur,
            "stage_lead_updates",
            ("org_id", "lead_id", *PROFILE_FIELDS, "attributes"),
            ("text", "int8", *(["text"] * len(PROFILE_FIELDS)), "jsonb"),
            (
                (lead.org_id, lead.lead_id, *(lead.profile.get(f) for f in PROFILE_FIELDS), lead.attributes)
                for lead in plan.updated.values()
            ),
        )
        sets = ", ".join(f"{f} = s.{f}" for f in (*PROFILE_FIELDS, "attributes"))
        cur.execute(
            f"UPDATE leads l SET {sets}, updated_at = now() FROM stage_lead_updates s"
            " WHERE l.org_id = s.org_id AND l.lead_id = s.lead_id"
        )

    def _apply_opt_outs(self, cur: psycopg.Cursor, plan: BatchPlan) -> None:
        if not plan.opt_outs:
            return
        cur.execute(
            "UPDATE channel_identities c SET opted_out = true"
            " FROM unnest(%b::text[], %b::text[], %b::text[]) AS b(org_id, channel, channel_identifier)"
            " WHERE c.org_id = b.org_id AND c.channel = b.channel"
            " AND c.channel_identifier = b.channel_identifier",
            (
                [o for o, _ in plan.opt_outs],
                [i.channel for _, i in plan.opt_outs],
                [i.identifier for _, i in plan.opt_outs],
            ),
        )

    def _write_row_results(
        self,
        cur: psycopg.Cursor,
        fresh: list[WorkItem],
        results: dict,
        cancelled: set[tuple[str, str]],
    ) -> None:
        rows: list[tuple[object, ...]] = []
        for it in fresh:
            if not isinstance(it, ImportRowItem):
                continue
            res = results.get(it.row.ref)
            if res is None:  # the import was cancelled before this row was processed
                rows.append((it.row.org_id, it.import_id, it.row_number, "cancelled", None, None, 0, None))
                continue
            keep_raw = res.outcome is Outcome.REJECTED or res.conflicts
            raw = (it.raw or {**it.row.profile, **it.row.attributes}) if keep_raw else None
            rows.append(
                (
                    it.row.org_id,
                    it.import_id,
                    it.row_number,
                    res.outcome.value,
                    res.lead_id,
                    res.reason,
                    res.conflicts,
                    raw,
                )
            )
        if rows:
            sqlcopy.copy_rows(
                cur,
                "import_row_results",
                (
                    "org_id",
                    "import_id",
                    "row_number",
                    "outcome",
                    "lead_id",
                    "reason",
                    "conflicts",
                    "row_data",
                ),
                ("text", "text", "int8", "text", "int8", "text", "int4", "jsonb"),
                rows,
            )

    def _write_deliveries(self, cur: psycopg.Cursor, live: list[WorkItem], results: dict) -> None:
        deliveries = [it for it in live if isinstance(it, DeliveryItem)]
        if not deliveries:
            return
        sqlcopy.copy_rows(
            cur,
            "processed_deliveries",
            ("org_id", "event_id", "campaign_id", "lead_id", "outcome", "delivered_at"),
            ("text", "text", "text", "int8", "text", "timestamptz"),
            (
                (
                    d.row.org_id,
                    d.event_id,
                    d.campaign_id,
                    results[d.row.ref].lead_id,
                    results[d.row.ref].outcome.value,
                    d.delivered_at,
                )
                for d in deliveries
            ),
        )
        touched = [
            (d.row.org_id, results[d.row.ref].lead_id, d.delivered_at)
            for d in deliveries
            if results[d.row.ref].lead_id is not None
        ]
        if touched:
            cur.execute(
                "UPDATE leads l SET delivery_count = l.delivery_count + d.n,"
                " last_delivered_at = GREATEST(l.last_delivered_at, d.last_at)"
                " FROM (SELECT org_id, lead_id, count(*) AS n, max(at) AS last_at"
                "       FROM unnest(%b::text[], %b::bigint[], %b::timestamptz[]) AS u(org_id, lead_id, at)"
                "       GROUP BY org_id, lead_id) d"
                " WHERE l.org_id = d.org_id AND l.lead_id = d.lead_id",
                ([t[0] for t in touched], [t[1] for t in touched], [t[2] for t in touched]),
            )

    def _write_conflicts(self, cur: psycopg.Cursor, plan: BatchPlan, by_ref: dict[str, WorkItem]) -> None:
        if not plan.conflicts:
            return

        def origin(ref: str) -> tuple[str | None, int | None]:
            it = by_ref[ref]
            return (it.import_id, it.row_number) if isinstance(it, ImportRowItem) else (None, None)

        sqlcopy.copy_rows(
            cur,
            "identity_conflicts",
            (
                "org_id",
                "event_id",
                "import_id",
                "row_number",
                "channel",
                "channel_identifier",
                "owner_lead_id",
                "row_lead_id",
            ),
            ("text", "text", "text", "int8", "text", "text", "int8", "int8"),
            (
                (
                    c.org_id,
                    by_ref[c.ref].event_id,
                    *origin(c.ref),
                    c.identity.channel,
                    c.identity.identifier,
                    c.owner_lead_id,
                    c.row_lead_id,
                )
                for c in plan.conflicts
            ),
        )

    def _write_lead_events(self, cur: psycopg.Cursor, plan: BatchPlan, by_ref: dict[str, WorkItem]) -> None:
        now = datetime.now(UTC)
        events: list[EventRecord] = []
        for r in plan.results:
            if r.outcome not in (Outcome.CREATED, Outcome.UPDATED):
                continue
            it = by_ref[r.ref]
            import_id = it.import_id if isinstance(it, ImportRowItem) else None
            kind = "lead_created" if r.outcome is Outcome.CREATED else "lead_updated"
            event_id = f"{kind}:{it.row.org_id}:{r.lead_id}" if kind == "lead_created" else f"{kind}:{r.ref}"
            source = "campaign_delivered" if import_id is None else "import"
            events.append(
                lead_event_record(
                    event_id=event_id,
                    kind=kind,
                    org_id=it.row.org_id,
                    lead_id=r.lead_id,
                    import_id=import_id,
                    at=now,
                    data={"source": source, "ref": it.event_id},
                )
            )
        for c in plan.conflicts:
            it = by_ref[c.ref]
            events.append(
                lead_event_record(
                    event_id=f"identity_conflict:{c.ref}:{c.identity.channel}:{c.identity.identifier}",
                    kind="identity_conflict",
                    org_id=c.org_id,
                    lead_id=c.row_lead_id,
                    import_id=it.import_id if isinstance(it, ImportRowItem) else None,
                    at=now,
                    data={
                        "channel": c.identity.channel,
                        "owner_lead_id": c.owner_lead_id,
                        "ref": it.event_id,
                    },
                )
            )
        write_outbox_batch(cur, self.lead_events_topic, events)

    def _count_imports(
        self,
        cur: psycopg.Cursor,
        fresh: list[WorkItem],
        results: dict,
        cancelled: set[tuple[str, str]],
    ) -> list[str]:
        counts: dict[tuple[str, str], dict[str, int]] = {}
        for it in fresh:
            if not isinstance(it, ImportRowItem):
                continue
            key = (it.row.org_id, it.import_id)
            c = counts.get(key)
            if c is None:  # not setdefault: that would build a dict per row
                c = counts[key] = dict.fromkeys((*_COUNTED, "conflicts"), 0)
            res = results.get(it.row.ref)
            c["cancelled" if res is None else res.outcome.value] += 1
            c["conflicts"] += 0 if res is None else res.conflicts
        if not counts:
            return []
        keys = sorted(counts)  # a fixed lock order across concurrent workers
        cols = (*_COUNTED, "conflicts")
        cur.execute(
            f"INSERT INTO imports (org_id, import_id, processed, {', '.join(cols)})"
            f" SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[],"
            f" {', '.join(['%b::bigint[]'] * len(cols))})"
            " ORDER BY 1, 2"
            " ON CONFLICT (org_id, import_id) DO UPDATE SET"
            " processed = imports.processed + EXCLUDED.processed, "
            + ", ".join(f"{c} = imports.{c} + EXCLUDED.{c}" for c in cols)
            + ", updated_at = now()",
            (
                [k[0] for k in keys],
                [k[1] for k in keys],
                [sum(counts[k][c] for c in _COUNTED) for k in keys],
                *([counts[k][c] for k in keys] for c in cols),
            ),
        )
        return complete_ready_imports(cur, keys, self.lead_events_topic)


def _dedupe(items: Iterable[WorkItem]) -> list[WorkItem]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for it in items:
        key = _ledger_key(it)
        if key not in seen:
            seen.add(key)
            out.append(it)
    return out


def _ledger_key(it: WorkItem) -> tuple[str, str, str]:
    """What the ledger knows a record by: an import row by its import and row number (whatever
    event id its producer chose), a delivery by its event id; both within their org."""
    if isinstance(it, ImportRowItem):
        return ("row", it.row.org_id, f"{it.import_id}:{it.row_number}")
    return ("delivery", it.row.org_id, it.event_id)
