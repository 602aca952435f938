"""Two workers claiming one secondary identity at once: the loser settles it in place, no retry."""

from __future__ import annotations

import pytest

from schemas.events import IdentityRef, LeadImportRow
from streams.work import import_row_item
from tests.integration.harness import Stack, racing_batches


def _row(n: int, email: str, phone: str) -> LeadImportRow:
    return LeadImportRow(
        event_id=f"imp:{n}",
        org_id="fam",
        import_id="imp",
        row_number=n,
        identities=[
            IdentityRef(channel="email", identifier=email),
            IdentityRef(channel="phone", identifier=phone),
        ],
        profile={"email": email, "phone": phone},
    )


@pytest.mark.parametrize("contested", [False, True], ids=["copy-first", "insert-first"])
def test_a_shared_phone_claimed_by_two_batches_at_once_becomes_a_conflict_in_place(
    stack: Stack, contested: bool
) -> None:
    """The loser's identity write (a COPY, or straight ``INSERT … ON CONFLICT`` when its last
    batch was contested) waits for the winner's commit, then the phone is settled as an identity
    conflict against the winner's lead within the same transaction (no ConcurrentWriteError, no
    second attempt), and every other write of the loser's batch stands."""
    mum = import_row_item(_row(2, "mum@example.com", "+12025550150"))
    kid = import_row_item(_row(3, "kid@example.com", "+12025550150"))
    other = import_row_item(_row(4, "dad@example.com", "+12025550199"))
    with racing_batches(
        stack, [mum], [kid, other], "the loser to wait on the winner's phone", loser_contested=contested
    ) as (loser, outcome):
        assert "error" not in outcome, outcome
        assert loser._contested  # the next batch skips the doomed COPY
    report = outcome["report"]
    assert report.outcomes == {"created": 2}
    assert report.conflicts == 1
    mum_lead = stack.scalar(
        "SELECT lead_id FROM channel_identities WHERE channel_identifier = 'mum@example.com'"
    )
    kid_lead = stack.scalar(
        "SELECT lead_id FROM channel_identities WHERE channel_identifier = 'kid@example.com'"
    )
    assert stack.query(
        "SELECT channel_identifier, lead_id FROM channel_identities WHERE channel = 'phone' ORDER BY 1"
    ) == [
        ("+12025550150", mum_lead),
        (
            "+12025550199",
            stack.scalar(
                "SELECT lead_id FROM channel_identities WHERE channel_identifier = 'dad@example.com'"
            ),
        ),
    ]
    assert stack.query("SELECT row_number, channel, owner_lead_id, row_lead_id FROM identity_conflicts") == [
        (3, "phone", mum_lead, kid_lead)
    ]
    assert stack.query("SELECT row_number, outcome, conflicts FROM import_row_results ORDER BY 1") == [
        (2, "created", 0),
        (3, "created", 1),
        (4, "created", 0),
    ]
    assert stack.scalar("SELECT count(*) FROM leads WHERE phone = '+12025550150'") == 2
