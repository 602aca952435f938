"""The identity rules: only the primary identity matches, no lead is ever merged into another."""

from __future__ import annotations

import itertools

from processors.decide import decide_batch, merge_values
from processors.model import Identity, LeadState, Outcome, RowInput

E = "email"
P = "phone"


def row(ref: str, *ids: tuple[str, str], org: str = "o", **kw: object) -> RowInput:
    return RowInput(
        ref=ref,
        org_id=org,
        identities=tuple(Identity(c, v) for c, v in ids),
        profile=kw.pop("profile", {}),
        attributes=kw.pop("attributes", {}),
        **kw,
    )  # type: ignore[arg-type]


def ids(start: int = 100) -> itertools.count[int]:
    return itertools.count(start)


def test_new_primary_creates_and_secondary_attaches() -> None:
    plan = decide_batch([row("r1", (E, "a@x.com"), (P, "+1"))], {}, {}, ids())
    assert [r.outcome for r in plan.results] == [Outcome.CREATED]
    assert [(n.identity.channel, n.lead_id) for n in plan.new_identities] == [(E, 100), (P, 100)]


def test_shared_secondary_phone_is_a_conflict_not_a_merge() -> None:
    rows = [row("r1", (E, "mum@x.com"), (P, "+1")), row("r2", (E, "kid@x.com"), (P, "+1"))]
    plan = decide_batch(rows, {}, {}, ids())
    assert [r.outcome for r in plan.results] == [Outcome.CREATED, Outcome.CREATED]
    assert len(plan.created) == 2
    assert [(c.identity.identifier, c.owner_lead_id, c.row_lead_id) for c in plan.conflicts] == [
        ("+1", 100, 101)
    ]


def test_secondary_match_never_decides() -> None:
    owners = {("o", P, "+1"): 7}
    leads = {7: LeadState(7, "o", {"first_name": "Mum"}, {})}
    plan = decide_batch([row("r1", (E, "kid@x.com"), (P, "+1"))], owners, leads, ids())
    assert plan.results[0].outcome is Outcome.CREATED
    assert plan.results[0].lead_id == 100
    assert plan.conflicts[0].owner_lead_id == 7


def test_identities_are_scoped_by_org() -> None:
    owners = {("a", E, "x@x.com"): 1}
    leads = {1: LeadState(1, "a", {}, {})}
    plan = decide_batch([row("r", (E, "x@x.com"), org="b")], owners, leads, ids())
    assert plan.results[0].outcome is Outcome.CREATED


def test_fill_only_sets_empty_fields_and_overwrite_wins() -> None:
    current = {"city": "Paris", "company": ""}
    assert merge_values(current, {"city": "Oslo", "company": "ACME"}, "fill")
    assert current == {"city": "Paris", "company": "ACME"}
    assert merge_values(current, {"city": "Oslo", "company": ""}, "overwrite")
    assert current == {"city": "Oslo", "company": "ACME"}  # a blank cell never clears


def test_operations_create_and_update() -> None:
    owners = {("o", E, "a@x.com"): 1}
    leads = {1: LeadState(1, "o", {}, {})}
    create = decide_batch([row("r", (E, "a@x.com"), operation="create")], owners, leads, ids())
    assert create.results[0].outcome is Outcome.SKIPPED_EXISTING
    update = decide_batch([row("r", (E, "new@x.com"), operation="update")], owners, leads, ids())
    assert (update.results[0].outcome, update.results[0].reason) == (Outcome.REJECTED, "not_found")


def test_no_identity_is_rejected_with_reason() -> None:
    plan = decide_batch([row("r")], {}, {}, ids())
    assert (plan.results[0].outcome, plan.results[0].reason) == (Outcome.REJECTED, "no_valid_identity")


def test_caller_data_is_not_mutated() -> None:
    owners = {("o", E, "a@x.com"): 1}
    leads = {1: LeadState(1, "o", {}, {})}
    decide_batch([row("r", (E, "a@x.com"), profile={"city": "Rome"})], owners, leads, ids())
    assert leads[1].profile == {}
    assert owners == {("o", E, "a@x.com"): 1}
