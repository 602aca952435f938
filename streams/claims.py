"""Claim a batch's new channel identities, settling in place the ones another worker took first."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg import errors as pg_errors

from processors.errors import ConcurrentWriteError
from processors.model import BatchPlan, IdentityKey, identity_key
from streams import sqlcopy
from streams.probe import OWNERS_PROBE

_COLUMNS = ("org_id", "channel", "channel_identifier", "lead_id", "opted_out")
_TYPES = ("text", "text", "text", "int8", "bool")

Redecide = Callable[[dict[IdentityKey, int]], BatchPlan]


def claim_identities(
    conn: psycopg.Connection,
    cur: psycopg.Cursor,
    plan: BatchPlan,
    redecide: Redecide,
    *,
    contested: bool = False,
) -> tuple[BatchPlan, bool]:
    """Insert ``plan.new_identities`` (after the plan's new leads: the foreign key); return the
    plan to carry on with, and whether identities were contested (the next batch's hint).

    Rows sharing a primary identity meet in one partition, but a secondary identity (a family's
    phone) can be claimed by two workers at once. The fast path copies the identities straight
    into the table under a savepoint. If another worker got there first, PostgreSQL waits for its
    commit and fails the copy; then the identities go in with ``ON CONFLICT DO NOTHING``, the lost
    ones are read with their real owners, and the core decides the batch again (``redecide``):
    they become identity conflicts, exactly as if their owners had been read before deciding.
    Only when that would change the leads already written (a lost *primary* identity, e.g. during
    a rebalance: ``redecide`` raises then) does the batch fail with ConcurrentWriteError, to be
    retried as a whole. While batches keep meeting contested identities (``contested``: workers
    importing one file side by side), the doomed copy is skipped.
    """
    if not plan.new_identities:
        return plan, contested
    # Sorted: two workers claiming overlapping identities wait on each other in one order
    # instead of deadlocking.
    rows = sorted(
        (n.org_id, n.identity.channel, n.identity.identifier, n.lead_id, n.opted_out)
        for n in plan.new_identities
    )
    if not contested:
        try:
            with conn.transaction():
                sqlcopy.copy_rows(cur, "channel_identities", _COLUMNS, _TYPES, rows)
            return plan, False
        except pg_errors.UniqueViolation:
            pass
    cur.execute(
        f"INSERT INTO channel_identities ({', '.join(_COLUMNS)})"
        " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::int8[], %b::bool[])"
        " ORDER BY 1, 2, 3"
        " ON CONFLICT (org_id, channel, channel_identifier) DO NOTHING"
        " RETURNING org_id, channel, channel_identifier",
        [list(column) for column in zip(*rows, strict=True)],
    )
    inserted = set(cur)
    mine = {(r[0], r[1], r[2]): r[3] for r in rows if (r[0], r[1], r[2]) not in inserted}
    lost: dict[IdentityKey, int] = {}
    if mine:
        orgs, channels, idents = (list(c) for c in zip(*mine, strict=True))
        cur.execute(OWNERS_PROBE, (orgs, channels, idents))
        lost = {(r[0], r[1], r[2]): r[3] for r in cur if r[3] != mine[(r[0], r[1], r[2])]}
    if not lost:
        return plan, bool(mine)
    again = redecide(lost)
    claimed = {identity_key(n.org_id, n.identity) for n in plan.new_identities} - lost.keys()
    if (
        again.created != plan.created
        or {identity_key(n.org_id, n.identity) for n in again.new_identities} != claimed
    ):
        raise ConcurrentWriteError(f"{len(lost)} identities were claimed concurrently")
    return again, True
