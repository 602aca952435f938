"""Decide, for a batch of rows, which leads to create or update, which identities to attach and
which rows are conflicts or rejects — from plain data, without I/O."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from processors.model import (
    BatchPlan,
    Conflict,
    Identity,
    IdentityKey,
    LeadState,
    Mode,
    NewIdentity,
    Outcome,
    RejectReason,
    RowInput,
    RowResult,
    identity_key,
)


def merge_values(current: dict[str, str], incoming: Mapping[str, str], mode: Mode) -> bool:
    """Merge ``incoming`` into ``current`` in place; return whether anything changed.

    A blank incoming value never clears a field, in either mode.
    """
    changed = False
    for name, value in incoming.items():
        if not value:
            continue
        existing = current.get(name)
        if existing == value:
            continue
        if existing and mode == "fill":
            continue
        current[name] = value
        changed = True
    return changed


class _BatchDecider:
    """Applies rows one after another against a working copy of the owners and leads."""

    def __init__(
        self,
        owners: Mapping[IdentityKey, int],
        leads: Mapping[int, LeadState],
        opted_out: frozenset[IdentityKey],
        new_ids: Iterator[int],
    ) -> None:
        self.owners: dict[IdentityKey, int] = dict(owners)
        self.source_leads = leads
        self.leads: dict[int, LeadState] = {}
        self.opted_out: set[IdentityKey] = set(opted_out)
        self.new_ids = new_ids
        self.plan = BatchPlan()

    def _lead(self, lead_id: int) -> LeadState:
        # Copy on first touch so the caller's data is never mutated.
        lead = self.leads.get(lead_id)
        if lead is None:
            src = self.source_leads[lead_id]
            lead = LeadState(src.lead_id, src.org_id, dict(src.profile), dict(src.attributes))
            self.leads[lead_id] = lead
        return lead

    def apply(self, row: RowInput) -> None:
        if row.rejection is not None:
            self._result(row, Outcome.REJECTED, reason=row.rejection)
            return
        primary = row.primary
        if primary is None:
            self._result(row, Outcome.REJECTED, reason=RejectReason.NO_VALID_IDENTITY.value)
            return
        owner = self.owners.get(identity_key(row.org_id, primary))
        if owner is None:
            if row.operation == "update":
                self._result(row, Outcome.REJECTED, reason=RejectReason.NOT_FOUND.value)
                return
            self._create(row, primary)
            return
        if row.operation == "create":
            self._result(row, Outcome.SKIPPED_EXISTING, lead_id=owner)
            return
        self._update(row, owner)

    def _create(self, row: RowInput, primary: Identity) -> None:
        lead_id = next(self.new_ids)
        profile = {k: v for k, v in row.profile.items() if v}
        attributes = {k: v for k, v in row.attributes.items() if v}
        lead = LeadState(lead_id, row.org_id, profile, attributes)
        self.leads[lead_id] = lead
        self.plan.created[lead_id] = lead
        self._claim(row, primary, lead_id)
        conflicts = self._attach_secondaries(row, lead_id)[1]
        self._result(row, Outcome.CREATED, lead_id=lead_id, conflicts=conflicts)

    def _update(self, row: RowInput, lead_id: int) -> None:
        lead = self._lead(lead_id)
        changed = merge_values(lead.profile, row.profile, row.mode)
        changed |= merge_values(lead.attributes, row.attributes, row.mode)
        if changed and lead_id not in self.plan.created:
            self.plan.updated[lead_id] = lead
        attached, conflicts = self._attach_secondaries(row, lead_id)
        changed |= self._opt_out_owned(row, lead_id) > 0
        outcome = Outcome.UPDATED if changed or attached else Outcome.UNCHANGED
        self._result(row, outcome, lead_id=lead_id, conflicts=conflicts)

    def _claim(self, row: RowInput, identity: Identity, lead_id: int) -> None:
        key = identity_key(row.org_id, identity)
        self.owners[key] = lead_id
        opted_out = identity in row.opted_out
        if opted_out:
            self.opted_out.add(key)
        self.plan.new_identities.append(NewIdentity(row.org_id, identity, lead_id, opted_out))

    def _attach_secondaries(self, row: RowInput, lead_id: int) -> tuple[int, int]:
        attached = conflicts = 0
        for identity in row.identities[1:]:
            owner = self.owners.get(identity_key(row.org_id, identity))
            if owner is None:
                self._claim(row, identity, lead_id)
                attached += 1
            elif owner != lead_id:
                # Never merge two leads: the value stays profile data and is reported.
                self.plan.conflicts.append(
                    Conflict(row.ref, row.org_id, identity, owner_lead_id=owner, row_lead_id=lead_id)
                )
                conflicts += 1
        return attached, conflicts

    def _opt_out_owned(self, row: RowInput, lead_id: int) -> int:
        """Record opt-outs the row asks for on identities its lead already owns (never opt-ins)."""
        count = 0
        for identity in sorted(row.opted_out):
            key = identity_key(row.org_id, identity)
            if self.owners.get(key) == lead_id and key not in self.opted_out:
                self.opted_out.add(key)
                self.plan.opt_outs.append((row.org_id, identity))
                count += 1
        return count

    def _result(
        self,
        row: RowInput,
        outcome: Outcome,
        *,
        lead_id: int | None = None,
        reason: str | None = None,
        conflicts: int = 0,
    ) -> None:
        self.plan.results.append(RowResult(row.ref, outcome, lead_id, reason, conflicts))


def decide_batch(
    rows: Iterable[RowInput],
    owners: Mapping[IdentityKey, int],
    leads: Mapping[int, LeadState],
    new_ids: Iterator[int],
    opted_out: frozenset[IdentityKey] = frozenset(),
) -> BatchPlan:
    """Apply ``rows`` in order and return what to write.

    ``owners`` maps every identity the rows carry that already exists to its lead; ``leads`` holds
    the current state of those leads; ``new_ids`` yields ids for leads this batch creates.
    Only a row's primary identity decides its match; a secondary identity owned by another lead
    becomes a :class:`Conflict`, never a merge.
    """
    decider = _BatchDecider(owners, leads, opted_out, new_ids)
    for row in rows:
        decider.apply(row)
    return decider.plan


def identities_of(rows: Iterable[RowInput]) -> set[IdentityKey]:
    """Every identity key the rows carry: what the repository must look up before deciding."""
    return {identity_key(r.org_id, i) for r in rows for i in r.identities}
