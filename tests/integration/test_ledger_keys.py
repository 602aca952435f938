"""Event ids are unique per org and per kind only: the ledger must keep such records apart."""

from __future__ import annotations

import psycopg

from schemas.events import IdentityRef, LeadImportRow
from streams.repository import LeadRepository
from streams.work import delivery_item, import_row_item
from tests.integration.datagen import email_delivery
from tests.integration.harness import Stack


def test_same_event_id_in_two_orgs_and_two_kinds_in_one_batch_are_all_applied(stack: Stack) -> None:
    row = LeadImportRow(
        event_id="imp:2",
        org_id="a",
        import_id="imp",
        row_number=2,
        identities=[IdentityRef(channel="email", identifier="row@x.com")],
    )
    items = [
        delivery_item(email_delivery("a", "d-1", "one@x.com", campaign_id="c1")),
        delivery_item(email_delivery("b", "d-1", "two@x.com", campaign_id="c1")),  # same id, other org
        # same id as the import row
        delivery_item(email_delivery("a", "imp:2", "three@x.com", campaign_id="c1")),
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
