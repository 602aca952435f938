"""Event ids are unique per org and per kind only: the ledger must keep such records apart."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from schemas.events import CampaignDelivered, IdentityRef, LeadImportRow
from streams.repository import LeadRepository
from streams.work import delivery_item, import_row_item
from tests.integration.harness import Stack


def _delivery(org: str, event_id: str, email: str) -> CampaignDelivered:
    return CampaignDelivered(
        event_id=event_id,
        org_id=org,
        campaign_id="c1",
        channel="email",
        channel_identifier=email,
        delivered_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_same_event_id_in_two_orgs_and_two_kinds_in_one_batch_are_all_applied(stack: Stack) -> None:
    row = LeadImportRow(
        event_id="imp:2",
        org_id="a",
        import_id="imp",
        row_number=2,
        identities=[IdentityRef(channel="email", identifier="row@x.com")],
    )
    items = [
        delivery_item(_delivery("a", "d-1", "one@x.com")),
        delivery_item(_delivery("b", "d-1", "two@x.com")),  # same id, other org
        delivery_item(_delivery("a", "imp:2", "three@x.com")),  # same id as the import row
        import_row_item(row),
    ]
    with psycopg.connect(stack.database_url) as conn:
        repo = LeadRepository(conn)
        first = repo.apply_batch(items)
        again = repo.apply_batch(items)

    assert first.outcomes == {"created": 4}
    assert again.duplicates == 4 and again.outcomes == {}
    assert stack.scalar("SELECT count(*) FROM leads") == 4
    assert stack.query("SELECT org_id, event_id FROM processed_deliveries ORDER BY 1, 2") == [
        ("a", "d-1"),
        ("a", "imp:2"),
        ("b", "d-1"),
    ]
