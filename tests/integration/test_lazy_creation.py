"""campaign_delivered creates leads lazily: deliveries and an import of the same contacts, in any
order and on two workers, end as one lead per identity with both sources' data."""

from __future__ import annotations

import csv
import random
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from processors.errors import ConcurrentWriteError
from schemas.codec import decode, encode
from schemas.events import (
    CampaignDelivered,
    DeliveryContact,
    IdentityRef,
    ImportCancelled,
    LeadEvent,
    LeadImportRow,
)
from streams.emit import emit_deliveries
from streams.kafka import admin
from streams.work import delivery_item, import_row_item
from tests.integration.datagen import email_delivery
from tests.integration.harness import Stack, racing_batches, table_checksums, wait_for
from tests.integration.servers import ROOT

ORG = "lazy"
CONTACTS = 5000
BASE_TIME = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


# -- the data: what the import has, what the deliveries carry, what the lead must end as --------


def identity(i: int) -> str:
    return f"c{i}.lazy@example.com"


def phone(i: int) -> str:
    return f"+447911{i:06d}"


@dataclass(frozen=True)
class Contact:
    """Contact ``i``'s two views. Where both carry a value it is the same value, so the final
    profile does not depend on which arrives first; each side also has fields the other lacks."""

    i: int

    # the import's row
    @property
    def row(self) -> dict[str, str]:
        i = self.i
        return {
            "Email": f"C{i}.Lazy@Example.com" if i % 5 == 0 else identity(i),
            "First Name": "" if i % 6 == 1 else f"F{i}",
            "Last Name": f"L{i}",
            "City": "" if i % 3 == 0 else f"City{i % 50}",
            "Phone": f"07911 {i:06d}" if i % 4 == 0 else "",  # national: the import's region is GB
            "Plan": f"p{i % 3}",
        }

    @property
    def deliveries(self) -> int:
        return 1 + self.i % 3

    def delivery(self, j: int) -> dict[str, Any]:
        i = self.i
        contact: dict[str, Any] = {"attributes": {"segment": f"s{i % 10}"} if i % 2 else {}}
        if i % 2 == 0 or i % 6 == 1:
            contact["first_name"] = f"F{i}"
        if i % 2 == 0:
            contact["email"] = identity(i).upper()
        if i % 4 != 0 and i % 7 == 0:
            contact["phone"] = phone(i)  # profile data only, never an identity
        spelled = (identity(i), identity(i).upper(), f"  {self.row['Email']} ")[j]
        return {
            "event_id": f"dlv-{i}-{j}",
            "org_id": ORG,
            "campaign_id": f"camp-{j}",
            "channel": "email",
            "channel_identifier": spelled,
            "contact": contact,
            "delivered_at": (BASE_TIME + timedelta(seconds=i, minutes=10 * j)).isoformat(),
        }

    @property
    def expected(self) -> dict[str, Any]:
        i, row = self.i, self.row
        has_phone = i % 4 == 0 or i % 7 == 0
        return {
            "first_name": f"F{i}",
            "last_name": row["Last Name"],
            "email": identity(i),
            "city": row["City"] or None,
            "phone": phone(i) if has_phone else None,
            "attributes": {"plan": row["Plan"], **({"segment": f"s{i % 10}"} if i % 2 else {})},
            "delivery_count": self.deliveries,
            "last_delivered_at": BASE_TIME + timedelta(seconds=i, minutes=10 * (self.deliveries - 1)),
        }


def write_import(path: Path, contacts: Iterable[Contact]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(Contact(0).row))
        writer.writeheader()
        writer.writerows(c.row for c in contacts)
    return path


def jsonl(events: Iterable[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(e) for e in events]


# -- helpers --------------------------------------------------------------------------------


def emit(stack: Stack, lines: list[bytes]) -> None:
    invalid: list[tuple[int, str]] = []
    report = emit_deliveries(
        lines, stack.producer(), stack.settings.topic_deliveries, lambda *a: invalid.append(a)
    )
    assert invalid == [] and report.published == len(lines)


def consumed_everything(stack: Stack, topics: Iterable[str]) -> bool:
    """Whether the worker group has committed offsets up to the end of every partition."""
    consumer = Consumer(
        {"bootstrap.servers": stack.settings.kafka_bootstrap_servers, "group.id": stack.settings.worker_group}
    )
    try:
        for topic in topics:
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
            for tp in committed:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
                if tp.offset < high:
                    return False
        return True
    finally:
        consumer.close()


def lead_events(
    stack: Stack, done: Callable[[list[LeadEvent]], bool], timeout: float = 60.0
) -> list[LeadEvent]:
    """Read ``lead_events`` from the start until ``done`` holds for what was read."""
    consumer = Consumer(
        {
            "bootstrap.servers": stack.settings.kafka_bootstrap_servers,
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([stack.settings.topic_lead_events])
    events: list[LeadEvent] = []
    try:

        def read() -> list[LeadEvent] | None:
            for msg in consumer.consume(10_000, timeout=0.5):
                if msg.error() is None:
                    events.append(decode(LeadEvent, msg.value()))
            return events if done(events) else None

        return wait_for(read, timeout, interval=0, what="lead events")
    finally:
        consumer.close()


def assignments(stack: Stack) -> list[tuple[set[int], set[int]]]:
    """Each worker's (import row partitions, delivery partitions), from the broker's view."""
    group = stack.settings.worker_group
    client = admin(stack.settings)  # must outlive the future, or the future never completes
    described = client.describe_consumer_groups([group], request_timeout=10)[group].result()
    topics = (stack.settings.topic_rows, stack.settings.topic_deliveries)
    return [
        (
            {tp.partition for tp in m.assignment.topic_partitions if tp.topic == topics[0]},
            {tp.partition for tp in m.assignment.topic_partitions if tp.topic == topics[1]},
        )
        for m in described.members
    ]


def workers_owning_partitions(stack: Stack, n: int) -> list[tuple[set[int], set[int]]] | None:
    """The assignments once exactly ``n`` workers each own import row partitions, else None."""
    owned = assignments(stack)
    return owned if len(owned) == n and all(rows for rows, _ in owned) else None


STATE_QUERIES = {
    # table_checksums ignores timestamps; a replay must not move these either
    "lead_timestamps": "SELECT md5(string_agg(concat_ws('|', org_id, lead_id, delivery_count,"
    " last_delivered_at, updated_at), ',' ORDER BY org_id, lead_id)) FROM leads",
    "processed_deliveries": "SELECT md5(string_agg(concat_ws('|', org_id, event_id, campaign_id, lead_id,"
    " outcome, delivered_at, processed_at), ',' ORDER BY org_id, event_id)) FROM processed_deliveries",
}


def full_state(stack: Stack) -> dict[str, str]:
    return {**table_checksums(stack), **{k: str(stack.scalar(q)) for k, q in STATE_QUERIES.items()}}


# -- the tests ------------------------------------------------------------------------------


def test_deliveries_before_during_and_after_an_import_make_one_lead_per_identity(
    stack: Stack, tmp_path: Path
) -> None:
    contacts = [Contact(i) for i in range(CONTACTS)]
    deliveries = jsonl(c.delivery(j) for c in contacts for j in range(c.deliveries))
    rng = random.Random(20240501)
    rng.shuffle(deliveries)
    third = len(deliveries) // 3
    before, during, after = deliveries[:third], deliveries[third : 2 * third], deliveries[2 * third :]
    path = write_import(tmp_path / "contacts.csv", contacts)
    stack.start_worker()
    wait_for(lambda: workers_owning_partitions(stack, 1), 60, what="the first worker to own partitions")

    emit(stack, before)
    stack.start_worker()  # may join while the first deliveries are applied: a rebalance mid-stream
    wait_for(
        lambda: stack.scalar("SELECT count(*) FROM processed_deliveries") == len(before),
        120,
        what="the first deliveries to create leads",
    )
    # the import and the rest of the deliveries meet two workers, each with its own partitions
    wait_for(lambda: workers_owning_partitions(stack, 2), 60, what="both workers to own partitions")
    first_seen = {decode(CampaignDelivered, line).event_id.split("-")[1] for line in before}
    with ThreadPoolExecutor(1) as pool:
        publishing = pool.submit(stack.publish_file, path, ORG, default_region="GB")
        emit(stack, during)
        report = publishing.result()
    emit(stack, after)
    summary = stack.wait_import(report.import_id, timeout=180)
    wait_for(
        lambda: stack.scalar("SELECT count(*) FROM processed_deliveries") == len(deliveries),
        120,
        what="every delivery to be processed",
    )
    stack.assert_workers_alive()

    # each worker owns the same partitions of both topics: co-partitioned
    owned = wait_for(lambda: workers_owning_partitions(stack, 2), 60, what="both workers to own partitions")
    assert all(rows == delivered for rows, delivered in owned), owned

    # exactly one lead per identity, and every lead has its one email identity
    assert stack.scalar("SELECT count(*) FROM leads") == CONTACTS
    assert stack.query(
        "SELECT count(*), count(DISTINCT lead_id) FROM channel_identities WHERE channel = 'email'"
    ) == [(CONTACTS, CONTACTS)]
    rows = stack.query(
        "SELECT c.channel_identifier, l.first_name, l.last_name, l.email, l.city, l.phone, l.attributes,"
        " l.delivery_count, l.last_delivered_at, l.source FROM leads l JOIN channel_identities c"
        " USING (org_id, lead_id) WHERE c.channel = 'email'"
    )
    by_identity = {r[0]: r for r in rows}
    fields = ("first_name", "last_name", "email", "city", "phone", "attributes")
    mismatches = []
    for c in contacts:
        r = by_identity[identity(c.i)]
        got = {
            **dict(zip(fields, r[1:7], strict=True)),
            "delivery_count": r[7],
            "last_delivered_at": r[8],
        }
        if got != c.expected:
            mismatches.append((c.i, got, c.expected))
    assert mismatches == [], f"{len(mismatches)} leads differ, e.g. {mismatches[:3]}"
    # the import's phones became secondary identities of the same leads
    assert stack.scalar("SELECT count(*) FROM channel_identities WHERE channel = 'phone'") == sum(
        1 for c in contacts if c.i % 4 == 0
    )

    # who created what: every lead exactly once, and the import counts only its own
    sources = dict(stack.query("SELECT source, count(*) FROM leads GROUP BY source"))
    assert all(by_identity[identity(int(i))][9] == "campaign_delivered" for i in first_seen)
    assert sources["import"] > 0 and sources["campaign_delivered"] >= len(first_seen)
    counts = summary.counts
    assert summary.status == "completed" and summary.total_rows == CONTACTS
    assert counts["created"] + counts["updated"] + counts["unchanged"] == CONTACTS
    assert counts["created"] == sources["import"]
    # the import always brings a last name a delivery never has: each lead a delivery created is updated
    assert (counts["updated"], counts["unchanged"]) == (sources["campaign_delivered"], 0)
    assert (counts["rejected"], counts["conflicts"], counts["skipped_existing"]) == (0, 0, 0)
    assert (
        stack.scalar(
            "SELECT count(*) FROM import_row_results r JOIN leads l USING (org_id, lead_id)"
            " WHERE r.outcome = 'created' AND l.source = 'import'"
        )
        == counts["created"]
    )
    outcomes = dict(stack.query("SELECT outcome, count(*) FROM processed_deliveries GROUP BY outcome"))
    assert outcomes["created"] == sources["campaign_delivered"]
    assert set(outcomes) <= {"created", "updated", "unchanged"}
    assert sum(outcomes.values()) == len(deliveries)

    # a lead_created event per lead reaches lead_events, from the source that created it
    def all_created(events: list[LeadEvent]) -> bool:
        return len({e.event_id for e in events if e.event_type == "lead_created"}) == CONTACTS

    created = {e.lead_id: e for e in lead_events(stack, all_created) if e.event_type == "lead_created"}
    assert created.keys() == {lead_id for (lead_id,) in stack.query("SELECT lead_id FROM leads")}
    assert (
        sum(e.data["source"] == "campaign_delivered" for e in created.values())
        == sources["campaign_delivered"]
    )

    # sending every delivery again changes nothing
    state = full_state(stack)
    rng.shuffle(deliveries)
    emit(stack, deliveries)
    wait_for(
        lambda: consumed_everything(stack, [stack.settings.topic_deliveries]),
        120,
        what="the replayed deliveries to be consumed",
    )
    stack.assert_workers_alive()
    assert full_state(stack) == state


def _row(org: str, email: str, **profile: str) -> LeadImportRow:
    return LeadImportRow(
        event_id=f"imp:{email}",
        org_id=org,
        import_id="imp",
        row_number=2,
        identities=[IdentityRef(channel="email", identifier=email)],
        profile={"email": email, **profile},
    )


def _delivery(org: str, event_id: str, raw: str) -> CampaignDelivered:
    contact = DeliveryContact(first_name="Ann", attributes={"segment": "vip"})
    return email_delivery(org, event_id, raw, contact=contact, at=BASE_TIME)


@pytest.mark.parametrize("winner", ["import_row", "delivery"])
def test_the_loser_of_a_race_for_a_new_identity_is_retried_into_the_same_lead(
    stack: Stack, winner: str
) -> None:
    """Two workers (during a rebalance) apply an import row and a delivery for the same new identity
    at once: the second identity INSERT waits, finds the identity taken, and the batch is retried
    on the same connection into the winner's lead — never a second lead."""
    row = import_row_item(_row("race", "ann@example.com", last_name="Lee"))
    dlv = delivery_item(_delivery("race", "dlv-1", " ANN@example.com"))
    first, second = (row, dlv) if winner == "import_row" else (dlv, row)
    with racing_batches(stack, [first], [second], "the loser to wait on the winner's identity") as (
        repo_b,
        outcome,
    ):
        assert isinstance(outcome.get("error"), ConcurrentWriteError), outcome

        # the retry (as the worker does it, same connection) finds the lead; a new identity in the
        # same batch needs the staging tables the rolled-back first transaction had created
        other = delivery_item(_delivery("race", "dlv-2", "bob@example.com"))
        report = repo_b.apply_batch([second, other])

    assert report.outcomes == {"updated": 1, "created": 1}
    assert stack.query(
        "SELECT c.channel_identifier, l.source, l.first_name, l.last_name, l.attributes, l.delivery_count"
        " FROM leads l JOIN channel_identities c USING (org_id, lead_id) ORDER BY 1"
    ) == [
        (
            "ann@example.com",
            "import" if winner == "import_row" else "campaign_delivered",
            "Ann",
            "Lee",
            {"segment": "vip"},
            1,
        ),
        ("bob@example.com", "campaign_delivered", "Ann", None, {"segment": "vip"}, 1),
    ]
    assert stack.query("SELECT created, updated FROM imports") == [
        (1, 0) if winner == "import_row" else (0, 1)
    ]


def test_emit_and_imports_wait_from_the_command_line(stack: Stack, tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "streams.cli", *args],
            cwd=ROOT,
            env=stack.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        done.stderr = " ".join(done.stderr.split())  # the console wraps long messages
        return done

    stack.start_worker()
    events = [Contact(i).delivery(0) for i in range(3)]
    path = tmp_path / "deliveries.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                orjson.dumps(events[0]),
                b'{"event_id": "broken",',
                orjson.dumps(events[1]),
                orjson.dumps({**events[2], "event_id": "dlv-bad", "channel_identifier": "c2@"}),
                orjson.dumps(events[2]),
            ]
        )
        + b"\n"
    )
    emitted = cli("emit", "campaign-delivered", str(path))
    assert emitted.returncode == 1, emitted
    assert "published 3" in emitted.stdout
    assert "line 2: undecodable" in emitted.stderr and "line 4: invalid_identifier" in emitted.stderr
    assert "c2@" not in emitted.stderr  # identifiers are masked
    wait_for(
        lambda: stack.scalar("SELECT count(*) FROM leads WHERE source = 'campaign_delivered'") == 3,
        60,
        what="the deliveries to create three leads",
    )

    # an import of the same three contacts and one more; `imports wait` exits 0 once it completes
    report = stack.publish_file(write_import(tmp_path / "c.csv", [Contact(i) for i in range(4)]), ORG)
    waited = cli("imports", "wait", report.import_id, "--timeout", "120", "--json")
    assert waited.returncode == 0, waited
    assert orjson.loads(waited.stdout)["status"] == "completed"
    assert dict(stack.query("SELECT source, count(*) FROM leads GROUP BY source")) == {
        "campaign_delivered": 3,
        "import": 1,
    }
    assert stack.query("SELECT created, updated FROM imports WHERE import_id = %s", (report.import_id,)) == [
        (1, 3)
    ]
    seen = lead_events(
        stack,
        lambda evs: (
            any(e.event_type == "lead_import_completed" for e in evs)
            and sum(e.event_type == "lead_created" for e in evs) == 4
        ),
    )
    done = next(e for e in seen if e.event_type == "lead_import_completed")
    assert (done.import_id, done.data["created"], done.data["updated"]) == (report.import_id, 1, 3)

    # a cancelled import, a failed one and one nobody knows: non-zero, with the reason
    stack.producer().publish_all(
        [
            (
                stack.settings.topic_control,
                f"{ORG}|gone".encode(),
                encode(
                    ImportCancelled(event_id="gone:c", import_id="gone", org_id=ORG, cancelled_at=BASE_TIME)
                ),
            )
        ]
    )
    cancelled = cli("imports", "wait", "gone", "--timeout", "60")
    assert cancelled.returncode == 1 and "ended cancelled" in cancelled.stderr, cancelled
    stack.query(
        "INSERT INTO imports (org_id, import_id, status, error) VALUES (%s, 'broken', 'failed',"
        " 'contacts.csv is not a table') RETURNING 1",
        (ORG,),
    )
    failed = cli("imports", "wait", "broken", "--timeout", "60")
    assert failed.returncode == 1 and "ended failed: contacts.csv is not a table" in failed.stderr, failed
    unknown = cli("imports", "wait", "no-such-import", "--timeout", "0.5")
    assert unknown.returncode == 2 and "still unknown to the worker" in unknown.stderr, unknown
