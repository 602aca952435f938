"""Records the worker cannot decode or store go to ``<topic>.dlq`` with their origin in headers,
and every other row of the import, in the same batches, is processed."""

from __future__ import annotations

import asyncio
import random
import string
from pathlib import Path
from typing import Any

import orjson
import psycopg
from confluent_kafka import KafkaError, Message, Producer

from streams.app import KafkaDeadLetters
from streams.consumer import ConsumedRecord
from streams.kafka import producer_config
from streams.processor import BatchProcessor, ControlProcessor
from streams.repository import BatchReport
from tests.integration.datagen import write_contacts
from tests.integration.harness import Stack
from tests.integration.kafka_tools import read_topic


def _valid_row(**changes: Any) -> bytes:
    row = {
        "schema_version": 1,
        "event_id": "poison:2",
        "org_id": "dlq",
        "import_id": "poison",
        "row_number": 2,
        "identities": [{"channel": "email", "identifier": "poison@example.com"}],
    }
    return orjson.dumps({**row, **changes})


POISON: dict[str, tuple[bytes, str]] = {
    "garbage bytes": (b"\x00\xff\xfe garbage \x81", "undecodable"),
    "JSON of the wrong shape": (orjson.dumps({"hello": ["not", "a", "row"]}), "schema_invalid"),
    "a 2 MB value": (_valid_row(profile={"city": "x" * 2_000_000}), "too_large"),
    # valid for the model, but PostgreSQL cannot store it: the batch would fail forever
    "a NUL character": (_valid_row(profile={"city": "Lis\u0000bon"}), "schema_invalid"),
    "a row number past bigint": (_valid_row(row_number=2**63), "schema_invalid"),
}


def _produce(stack: Stack, records: list[tuple[str, bytes]]) -> list[Message]:
    """Produce raw values (not through the importer) and return their delivery reports."""
    delivered: list[Message] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        assert err is None, err
        delivered.append(msg)

    producer = Producer({**producer_config(stack.settings), "compression.type": "none"})
    for topic, value in records:
        producer.produce(topic, value, key=b"dlq|poison", on_delivery=on_delivery)
    assert producer.flush(30) == 0
    return delivered


def _headers(msg: Message) -> dict[str, str]:
    headers: list[tuple[str, bytes]] = msg.headers() or []  # type: ignore[assignment]
    return {k: v.decode() for k, v in headers}


def test_poison_records_go_to_the_dlq_and_the_import_completes(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    counts = write_contacts(path, 400)
    rows, control = stack.settings.topic_rows, stack.settings.topic_control
    sent = _produce(stack, [(rows, value) for value, _ in POISON.values()] + [(control, b"{not json")])
    report = stack.publish_file(path, "dlq", default_region="US")
    # Started after everything is on the topics, the worker takes poison and good rows together.
    stack.start_worker(batch_size=1000)

    summary = stack.wait_import(report.import_id, 180)
    assert (summary.status, summary.counts) == ("completed", counts)

    dead = read_topic(stack.settings, stack.settings.dlq_topic(rows))
    assert len(dead) == len(POISON)
    by_offset = {(m.topic(), m.partition(), m.offset()): m for m in sent}
    for msg, (name, (value, reason)) in zip(dead, POISON.items(), strict=True):
        headers = _headers(msg)
        assert headers["dlq.reason"] == reason, name
        origin = by_offset[
            (
                headers["dlq.source.topic"],
                int(headers["dlq.source.partition"]),
                int(headers["dlq.source.offset"]),
            )
        ]
        assert (origin.topic(), origin.value()) == (rows, value), name
        assert msg.value() == value, name
        assert headers["dlq.detail"]

    (control_dead,) = read_topic(stack.settings, stack.settings.dlq_topic(control))
    assert _headers(control_dead)["dlq.reason"] == "undecodable"
    assert control_dead.value() == b"{not json"
    # nothing of the poison reached the database
    assert stack.scalar("SELECT count(*) FROM import_row_results WHERE import_id = 'poison'") == 0


def test_records_postgresql_refuses_are_found_and_set_aside_the_rest_commits(stack: Stack) -> None:
    """A record that validates but that PostgreSQL refuses (here an identity key past the btree
    limit) fails its batch deterministically: the batch is split until the record is found. An
    import row is rejected with its reason, a delivery goes to the dead-letter topic, and every
    other record of the batch commits, in order."""
    huge = "ext:" + "".join(random.Random(7).choices(string.ascii_lowercase + string.digits, k=9000))
    s = stack.settings

    def row(n: int, channel: str, identifier: str) -> bytes:
        return _valid_row(
            event_id=f"refused:{n}",
            import_id="refused",
            row_number=n,
            identities=[{"channel": channel, "identifier": identifier}],
            profile={"city": f"city {n}"},
        )

    delivery = orjson.dumps(
        {
            "schema_version": 1,
            "event_id": "d-1",
            "org_id": "dlq",
            "campaign_id": "c",
            "channel": huge,
            "channel_identifier": "crm-1",
            "delivered_at": "2026-01-01T00:00:00Z",
        }
    )
    values = [(s.topic_rows, row(n, "email", f"r{n}@example.com")) for n in range(2, 40)]
    values.insert(17, (s.topic_rows, row(99, huge, "crm-99")))
    values.insert(30, (s.topic_deliveries, delivery))
    records = [ConsumedRecord(topic, 0, offset, b"k", value) for offset, (topic, value) in enumerate(values)]
    processor = BatchProcessor(
        s, lambda: psycopg.connect(stack.database_url), KafkaDeadLetters(stack.producer())
    )

    async def apply() -> BatchReport | None:
        return await processor.apply(processor.prepare(records))

    report = asyncio.run(apply())

    assert report is not None and report.outcomes == {"created": 38, "rejected": 1}
    assert stack.query(
        "SELECT outcome, reason, row_data->>'city' FROM import_row_results WHERE row_number = 99"
    ) == [("rejected", "refused_by_database", "city 99")]
    assert stack.scalar("SELECT count(*) FROM leads") == 38
    assert stack.scalar("SELECT count(*) FROM channel_identities WHERE channel LIKE 'ext:%%'") == 0
    (dead,) = read_topic(s, s.dlq_topic(s.topic_deliveries))
    headers = _headers(dead)
    assert (headers["dlq.reason"], headers["dlq.source.offset"]) == ("refused_by_database", "30")
    assert "btree" in headers["dlq.detail"] or "index row" in headers["dlq.detail"], headers


def test_a_control_event_postgresql_refuses_is_a_dead_letter_and_the_others_apply(stack: Stack) -> None:
    rng = random.Random(11)
    huge = "".join(chr(rng.randrange(0x20000, 0x2A6D6)) for _ in range(512))  # 4 bytes each in UTF-8
    s = stack.settings

    def started(org: str, import_id: str) -> bytes:
        return orjson.dumps(
            {
                "event_type": "import_started",
                "event_id": f"started:{len(import_id)}",
                "import_id": import_id,
                "org_id": org,
                "source_name": "x.csv",
                "started_at": "2026-01-01T00:00:00Z",
            }
        )

    values = [started("dlq", "before"), started(huge, huge), started("dlq", "after")]
    records = [ConsumedRecord(s.topic_control, 0, offset, b"k", value) for offset, value in enumerate(values)]
    processor = ControlProcessor(
        s, lambda: psycopg.connect(stack.database_url), KafkaDeadLetters(stack.producer())
    )
    asyncio.run(processor.apply(processor.prepare(records)))

    assert stack.query("SELECT import_id FROM imports ORDER BY 1") == [("after",), ("before",)]
    (dead,) = read_topic(s, s.dlq_topic(s.topic_control))
    assert (_headers(dead)["dlq.reason"], dead.value()) == ("refused_by_database", values[1])
