"""Claim a batch's new channel identities, settling in place the ones another worker took first."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg import errors as pg_errors

from processors.errors import ConcurrentWriteError
from processors.model import BatchPlan, IdentityKey, identity_key
from streams import sqlcopy

_COLUMNS = ("org_id", "channel", "channel_identifier", "lead_id", "opted_out")
_TYPES = ("text", "text", "text", "int8", "bool")

Redecide = Callable[[dict[IdentityKey, int]], BatchPlan]


def claim_identities(
    conn: psycopg.Connection, cur: psycopg.Cursor, plan: BatchPlan, redecide: Redecide
) -> BatchPlan:
    """Insert ``plan.new_identities`` (after the plan's new leads: the foreign key) and return
    the plan to carry on with.

    Rows sharing a primary identity meet in one partition, but a secondary identity (a family's
    phone) can be claimed by two workers at once. The fast path copies the identities straight
    into the table under a savepoint. If another worker got there first, PostgreSQL waits for its
    commit and fails the copy; then the identities go in with ``ON CONFLICT DO NOTHING``, the lost
    ones are read with their real owners, and the core decides the batch again (``redecide``):
    they become identity conflicts, exactly as if their owners had been read before deciding.
    Only when that would change the leads already written (a lost *primary* identity, e.g. during
    a rebalance: ``redecide`` raises then) does the batch fail with ConcurrentWriteError, to be
    retried as a whole.
    """
    if not plan.new_identities:
        return plan
    # Sorted: two workers claiming overlapping identities wait on each other in one order
    # instead of deadlocking.
    rows = sorted(
        (n.org_id, n.identity.channel, n.identity.identifier, n.lead_id, n.opted_out)
        for n in plan.new_identities
    )
    try:
        with conn.transaction():
            sqlcopy.copy_rows(cur, "channel_identities", _COLUMNS, _TYPES, rows)
        return plan
    except pg_errors.UniqueViolation:
        pass
    sqlcopy.copy_rows(cur, "stage_identities", _COLUMNS, _TYPES, rows)
    cur.execute(
        f"INSERT INTO channel_identities ({', '.join(_COLUMNS)})"
        f" SELECT {', '.join(_COLUMNS)} FROM stage_identities ORDER BY 1, 2, 3"
        " ON CONFLICT (org_id, channel, channel_identifier) DO NOTHING"
    )
    cur.execute(
        "SELECT s.org_id, s.channel, s.channel_identifier, c.lead_id FROM stage_identities s"
        " JOIN channel_identities c USING (org_id, channel, channel_identifier)"
        " WHERE c.lead_id <> s.lead_id"
    )
    lost: dict[IdentityKey, int] = {(r[0], r[1], r[2]): r[3] for r in cur}
    again = redecide(lost)
    claimed = {identity_key(n.org_id, n.identity) for n in plan.new_identities} - lost.keys()
    if (
        again.created != plan.created
        or {identity_key(n.org_id, n.identity) for n in again.new_identities} != claimed
    ):
        raise ConcurrentWriteError(f"{len(lost)} identities were claimed concurrently")
    return again
