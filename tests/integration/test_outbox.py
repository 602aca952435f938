"""Lead events reach ``lead_events`` through the outbox with event ids, and consent only tightens."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.events import LeadEvent
from streams.outbox import (
    EventRecord,
    OutboxRow,
    lead_event,
    lead_event_record,
    relay_once,
    write_outbox,
    write_outbox_batch,
)
from tests.integration.datagen import write_contacts, write_seed
from tests.integration.harness import Stack, wait_for
from tests.integration.kafka_tools import read_topic


def _lead_events(stack: Stack) -> list[tuple[bytes | None, LeadEvent]]:
    wait_for(lambda: stack.scalar("SELECT count(*) FROM outbox") == 0, 60, what="the outbox relay")
    return [
        (msg.key(), LeadEvent.model_validate_json(msg.value() or b""))
        for msg in read_topic(stack.settings, stack.settings.topic_lead_events)
    ]


def test_every_change_is_one_lead_event_with_an_event_id(stack: Stack, tmp_path: Path) -> None:
    seed, main = tmp_path / "seed.csv", tmp_path / "contacts.csv"
    seed_counts, counts = write_seed(seed, 20), write_contacts(main, 400, seed=20)
    stack.start_worker()
    import_ids = []
    for path in (seed, main):
        report = stack.publish_file(path, "events", default_region="US")
        assert stack.wait_import(report.import_id).status == "completed"
        import_ids.append(report.import_id)

    events = _lead_events(stack)
    by_id = {e.event_id: e for _, e in events}
    assert len(by_id) == len(events)  # a clean run relays each event once
    kinds = Counter(e.event_type for e in by_id.values())
    assert kinds == {
        "lead_created": seed_counts["created"] + counts["created"],
        "lead_updated": counts["updated"],
        "identity_conflict": counts["conflicts"],
        "lead_import_completed": 2,
    }
    leads = {r[0] for r in stack.query("SELECT lead_id FROM leads WHERE org_id = 'events'")}
    assert {e.lead_id for e in by_id.values() if e.event_type == "lead_created"} == leads
    for key, e in events:
        assert e.org_id == "events"
        assert key == f"events|{e.lead_id if e.lead_id is not None else e.import_id}".encode()
    done = {e.import_id: e.data for e in by_id.values() if e.event_type == "lead_import_completed"}
    assert done.keys() == set(import_ids)
    assert {k: done[import_ids[1]][k] for k in counts} == counts
    conflicts = [e for e in by_id.values() if e.event_type == "identity_conflict"]
    owners = {r[0] for r in stack.query("SELECT owner_lead_id FROM identity_conflicts")}
    assert {e.data["owner_lead_id"] for e in conflicts} == owners


def _consent(stack: Stack) -> dict[tuple[str, str], bool]:
    return {
        (channel, ident): opted
        for channel, ident, opted in stack.query(
            "SELECT channel, channel_identifier, opted_out FROM channel_identities WHERE org_id = 'consent'"
        )
    }


def _write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def test_an_import_never_turns_an_opted_out_identity_back_on(stack: Stack, tmp_path: Path) -> None:
    first = _write(
        tmp_path / "first.csv",
        """
Email,Phone,Opted Out
ann@example.com,+1 202 555 0101,yes
bob@example.com,+1 202 555 0102,no
cat@example.com,,
""",
    )
    # the same people later, from a file that says the opposite; overwrite mode, a new phone for Ann
    second = _write(
        tmp_path / "second.csv",
        """
Email,Phone,Unsubscribed
ann@example.com,+1 202 555 0111,false
bob@example.com,,TRUE
cat@example.com,,
""",
    )
    third = _write(tmp_path / "third.csv", "Email,Email Opt Out\ncat@example.com,x\n")
    stack.start_worker()

    def run(path: Path, **options: object) -> dict[str, int]:
        report = stack.publish_file(path, "consent", default_region="US", **options)  # type: ignore[arg-type]
        return stack.wait_import(report.import_id).counts

    assert run(first)["created"] == 3
    assert _consent(stack) == {
        ("email", "ann@example.com"): True,
        ("phone", "+12025550101"): True,
        ("email", "bob@example.com"): False,
        ("phone", "+12025550102"): False,
        ("email", "cat@example.com"): False,
    }
    second_counts = run(second, mode="overwrite")
    assert (second_counts["updated"], second_counts["unchanged"]) == (2, 1)
    third_counts = run(third, mapping=["Email Opt Out=opted_out"])
    assert third_counts["updated"] == 1
    assert _consent(stack) == {
        ("email", "ann@example.com"): True,  # "false" in a later file does not opt Ann back in
        ("phone", "+12025550101"): True,
        ("phone", "+12025550111"): False,  # Ann's new phone: that row did not opt out
        ("email", "bob@example.com"): True,
        ("phone", "+12025550102"): False,  # Bob's row named only his email this time
        ("email", "cat@example.com"): True,
    }


def test_the_relay_takes_whole_outbox_rows_in_order_up_to_its_limit(stack: Stack) -> None:
    """A batch's events share one outbox row; the relay publishes rows oldest first, never splits
    one, takes at least one however large, and deletes only what it published."""
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def record(n: int) -> EventRecord:
        return lead_event_record(**_fields(n, at))

    with stack.connect() as conn, conn.cursor() as cur:
        write_outbox_batch(cur, "lead_events", [record(n) for n in range(1, 4)])  # 3 events
        write_outbox(cur, [lead_event("lead_events", **_fields(4, at))])  # 1 event of its own
        write_outbox_batch(cur, "lead_events", [record(n) for n in range(5, 10)])  # 5 events
    published: list[list[int]] = []

    def publish(rows: Sequence[OutboxRow]) -> None:
        published.append([LeadEvent.model_validate_json(value).lead_id or 0 for _, _, value in rows])
        assert all(key == f"o|{lead}".encode() for (_, key, _), lead in zip(rows, published[-1], strict=True))

    with stack.connect() as conn:
        assert relay_once(conn, publish, limit=4) == 4  # rows of 3 + 1; the 5 would pass the limit
        assert relay_once(conn, publish, limit=2) == 5  # one row larger than the limit still goes
        assert relay_once(conn, publish, limit=2) == 0
    assert published == [[1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert stack.scalar("SELECT count(*) FROM outbox") == 0


def _fields(n: int, at: datetime) -> dict[str, Any]:
    return {
        "event_id": f"lead_created:o:{n}",
        "kind": "lead_created",
        "org_id": "o",
        "lead_id": n,
        "import_id": "i",
        "at": at,
        "data": {},
    }


def test_one_relay_at_a_time_keeps_every_leads_events_in_order(stack: Stack) -> None:
    """While one worker's relay publishes, another's finds the relay lock taken and publishes
    nothing: relaying side by side could put a lead's update before its creation."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with stack.connect() as conn, conn.cursor() as cur:
        write_outbox_batch(cur, "lead_events", [lead_event_record(**_fields(1, at))])
        write_outbox_batch(cur, "lead_events", [lead_event_record(**_fields(2, at))])
    second_relay: list[int] = []

    with stack.connect() as first, stack.connect() as second:

        def publish(rows: Sequence[OutboxRow]) -> None:
            second_relay.append(relay_once(second, lambda _: None, limit=1))

        assert relay_once(first, publish, limit=1) == 1
        assert second_relay == [0]  # the first relay still held the lock
        assert relay_once(second, lambda _: None, limit=1) == 1  # free again once it committed
    assert stack.scalar("SELECT count(*) FROM outbox") == 0
