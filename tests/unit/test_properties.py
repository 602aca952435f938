"""Properties of the pure core: idempotent, fill never overwrites, no merge, consent kept, and
neither row order nor batch size changes the outcome."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from processors.contact import DEFAULT_MATCH_ON, order_identities
from processors.decide import decide_batch
from processors.model import (
    PROFILE_FIELDS,
    BatchPlan,
    Identity,
    IdentityKey,
    LeadState,
    Outcome,
    RowInput,
    identity_key,
)

ORG = "o"
# Small pools, so rows collide with each other and with existing leads all the time.
POOL = (
    *(Identity("ext:crm", f"X{i}") for i in range(3)),
    *(Identity("email", f"e{i}@x.com") for i in range(5)),
    *(Identity(ch, f"+4420790000{i}") for i in range(3) for ch in ("phone", "whatsapp")),
)
FIELDS = PROFILE_FIELDS[:4]
VALUES = ("", "a", "b", "c")
FIRST_NEW_ID = 1000
QUICK = settings(max_examples=100, deadline=None)
THOROUGH = settings(max_examples=200, deadline=None)  # the two properties the issue leads with

value_maps = st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(VALUES), max_size=3)
attribute_maps = st.dictionaries(st.sampled_from(("k1", "k2", "k3")), st.sampled_from(VALUES), max_size=2)


@dataclass
class State:
    """What the repository would hold: owners of identities, leads, opted-out identities."""

    owners: dict[IdentityKey, int] = field(default_factory=dict)
    leads: dict[int, LeadState] = field(default_factory=dict)
    opted_out: frozenset[IdentityKey] = frozenset()


@st.composite
def states(draw: st.DrawFn) -> State:
    owner_of = draw(st.lists(st.sampled_from((None, 1, 2, 3)), min_size=len(POOL), max_size=len(POOL)))
    owners = {identity_key(ORG, i): o for i, o in zip(POOL, owner_of, strict=True) if o is not None}
    leads = {
        lead_id: LeadState(
            lead_id,
            ORG,
            {k: v for k, v in draw(value_maps).items() if v},
            {k: v for k, v in draw(attribute_maps).items() if v},
        )
        for lead_id in sorted(set(owners.values()))
    }
    opted = draw(st.sets(st.sampled_from(sorted(owners)))) if owners else set()
    return State(owners, leads, frozenset(opted))


@st.composite
def rows(draw: st.DrawFn, ref: str = "r", mode: str | None = None) -> RowInput:
    ids = order_identities(draw(st.lists(st.sampled_from(POOL), max_size=3)), DEFAULT_MATCH_ON)
    return RowInput(
        ref=ref,
        org_id=ORG,
        identities=ids,
        profile=draw(value_maps),
        attributes=draw(attribute_maps),
        mode=mode or draw(st.sampled_from(("fill", "overwrite"))),  # type: ignore[arg-type]
        operation=draw(st.sampled_from(("upsert", "upsert", "create", "update"))),
        opted_out=frozenset(draw(st.sets(st.sampled_from(ids)))) if ids else frozenset(),
    )


@st.composite
def batches(draw: st.DrawFn, mode: str | None = None, max_size: int = 8) -> list[RowInput]:
    n = draw(st.integers(1, max_size))
    return [draw(rows(ref=f"r{i}", mode=mode)) for i in range(n)]


def apply(state: State, batch: Sequence[RowInput], new_ids: Iterator[int]) -> tuple[State, BatchPlan]:
    """Decide a batch and write its plan the way the repository does, into a new state."""
    plan = decide_batch(batch, state.owners, state.leads, new_ids, state.opted_out)
    owners = {**state.owners, **{identity_key(n.org_id, n.identity): n.lead_id for n in plan.new_identities}}
    leads = {**state.leads, **plan.created, **plan.updated}
    opted = (
        set(state.opted_out)
        | {identity_key(n.org_id, n.identity) for n in plan.new_identities if n.opted_out}
        | {identity_key(org, i) for org, i in plan.opt_outs}
    )
    return State(owners, leads, frozenset(opted)), plan


def run(state: State, batch: Sequence[RowInput], sizes: Sequence[int] = ()) -> tuple[State, list[BatchPlan]]:
    """Apply ``batch`` cut into consecutive batches of ``sizes`` (the rest in one last batch)."""
    new_ids = itertools.count(FIRST_NEW_ID)
    plans, start = [], 0
    for size in [*sizes, len(batch)]:
        if start < len(batch):
            state, plan = apply(state, batch[start : start + max(size, 1)], new_ids)
            plans.append(plan)
            start += max(size, 1)
    return state, plans


def snapshot(state: State) -> tuple[object, ...]:
    leads = {i: (lead.profile, lead.attributes) for i, lead in state.leads.items()}
    return state.owners, leads, state.opted_out


def canonical(state: State, plans: Sequence[BatchPlan], batch: Sequence[RowInput]) -> tuple[object, ...]:
    """The outcome with each new lead named by the primary identity that created it."""
    primary = {r.ref: r.primary for r in batch}
    names: dict[int | None, object] = {}
    for plan in plans:
        for res in plan.results:
            if res.outcome is Outcome.CREATED:
                names[res.lead_id] = ("new", primary[res.ref])

    def name(lead_id: int | None) -> object:
        return names.get(lead_id, lead_id)

    results = sorted(
        (r.ref, r.outcome, name(r.lead_id), r.reason or "", r.conflicts) for p in plans for r in p.results
    )
    conflicts = sorted(
        (c.ref, c.identity, name(c.owner_lead_id), name(c.row_lead_id)) for p in plans for c in p.conflicts
    )
    owners = {k: name(v) for k, v in state.owners.items()}
    leads = sorted(
        (repr(name(i)), repr(lead.profile), repr(lead.attributes)) for i, lead in state.leads.items()
    )
    return results, conflicts, owners, leads, state.opted_out


# -- properties ------------------------------------------------------------------------------


@QUICK
@given(states(), rows())
def test_a_row_applied_twice_equals_once(state: State, row: RowInput) -> None:
    once, _ = run(state, [row])
    twice, (plan,) = run(once, [replace(row, ref="again")])
    assert snapshot(twice) == snapshot(once)
    assert not (plan.created or plan.updated or plan.new_identities or plan.opt_outs)
    # the same holds for a duplicate inside one batch
    in_one_batch, _ = run(state, [row, replace(row, ref="again")])
    assert snapshot(in_one_batch) == snapshot(once)


@QUICK
@given(states(), batches(mode="fill"))
def test_fill_never_overwrites_a_non_empty_field(state: State, batch: list[RowInput]) -> None:
    after, _ = run(state, batch)
    for lead_id, before in state.leads.items():
        lead = after.leads[lead_id]
        assert lead.profile.items() >= before.profile.items()
        assert lead.attributes.items() >= before.attributes.items()


@QUICK
@given(states(), batches())
def test_a_blank_cell_never_clears_a_value(state: State, batch: list[RowInput]) -> None:
    after, plans = run(state, batch)
    for lead_id, before in state.leads.items():
        lead = after.leads[lead_id]
        assert all(lead.profile.get(k) for k in before.profile)
        assert all(lead.attributes.get(k) for k in before.attributes)
    for plan in plans:
        for lead in plan.created.values():
            assert all(lead.profile.values()) and all(lead.attributes.values())


@THOROUGH
@given(states(), batches())
def test_no_decision_merges_two_existing_leads(state: State, batch: list[RowInput]) -> None:
    after, (plan,) = run(state, batch)
    # no identity changes hands, no existing lead disappears
    assert {k: after.owners[k] for k in state.owners} == state.owners
    assert state.leads.keys() <= after.leads.keys()
    claimed = [identity_key(n.org_id, n.identity) for n in plan.new_identities]
    assert len(claimed) == len(set(claimed)) and not set(claimed) & state.owners.keys()
    for row, res in zip(batch, plan.results, strict=True):
        assert res.ref == row.ref
        if res.outcome is Outcome.CREATED:
            assert res.lead_id not in state.leads
        elif res.lead_id is not None:  # matched: by its primary identity, never by a secondary
            assert row.primary is not None and after.owners[identity_key(ORG, row.primary)] == res.lead_id
    for c in plan.conflicts:
        assert c.owner_lead_id != c.row_lead_id
        assert after.owners[identity_key(c.org_id, c.identity)] == c.owner_lead_id
    # and every identity a row could not take is reported as a conflict, not dropped silently
    reported = {(c.ref, c.identity) for c in plan.conflicts}
    for row, res in zip(batch, plan.results, strict=True):
        if res.outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED):
            for i in row.identities:
                owner = after.owners[identity_key(ORG, i)]
                assert owner == res.lead_id or (row.ref, i) in reported
    # only leads matched by a primary identity are written
    matched = {r.lead_id for r in plan.results if r.outcome is not Outcome.CREATED}
    assert plan.updated.keys() <= matched


@QUICK
@given(states(), batches())
def test_an_import_never_turns_an_opted_out_identity_back_on(state: State, batch: list[RowInput]) -> None:
    after, (plan,) = run(state, batch)
    assert state.opted_out <= after.opted_out
    # and an opt-out the row asks for holds on every identity its lead owns
    for row, res in zip(batch, plan.results, strict=True):
        if res.outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED):
            for identity in row.opted_out:
                key = identity_key(ORG, identity)
                if after.owners.get(key) == res.lead_id:
                    assert key in after.opted_out


@QUICK
@given(states(), batches(max_size=10), st.lists(st.integers(1, 4), max_size=6))
def test_batch_boundaries_do_not_change_the_outcome(
    state: State, batch: list[RowInput], sizes: list[int]
) -> None:
    one = run(state, batch)
    cut = run(state, batch, sizes)
    assert canonical(cut[0], cut[1], batch) == canonical(one[0], one[1], batch)


def _independent(state: State, batch: Sequence[RowInput]) -> bool:
    """Rows a partitioned topic may deliver in any relative order: grouped by primary identity,
    no identity without an owner is shared by two groups, and no two groups match one lead."""
    group_of: dict[IdentityKey, Identity | None] = {}
    matched: dict[int, Identity] = {}
    for r in batch:
        p = r.primary
        if p is None:
            continue
        owner = state.owners.get(identity_key(ORG, p))
        if owner is not None and matched.setdefault(owner, p) != p:
            return False
        for i in r.identities:
            key = identity_key(ORG, i)
            if key not in state.owners and group_of.setdefault(key, p) != p:
                return False
    return True


@st.composite
def interleavings(draw: st.DrawFn, batch: Sequence[RowInput]) -> list[RowInput]:
    """A random order that keeps rows with the same primary identity in file order."""
    order = draw(st.permutations(range(len(batch))))
    groups: dict[object, list[RowInput]] = {}
    for r in batch:
        groups.setdefault(r.primary or r.ref, []).append(r)
    cursors = {g: iter(rs) for g, rs in groups.items()}
    return [next(cursors[batch[i].primary or batch[i].ref]) for i in order]


@THOROUGH
@given(states(), batches(max_size=10), st.data())
def test_rows_with_distinct_primaries_give_the_same_outcome_in_any_order_and_batch_size(
    state: State, batch: list[RowInput], data: st.DataObject
) -> None:
    assume(_independent(state, batch))
    shuffled = data.draw(interleavings(batch))
    sizes = data.draw(st.lists(st.integers(1, 4), max_size=6))
    one = run(state, batch)
    other = run(state, shuffled, sizes)
    assert canonical(other[0], other[1], batch) == canonical(one[0], one[1], batch)
