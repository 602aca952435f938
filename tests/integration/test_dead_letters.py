"""Records the worker cannot decode or store go to ``<topic>.dlq`` with their origin in headers,
and every other row of the import, in the same batches, is processed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import KafkaError, Message, Producer

from streams.kafka import producer_config
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
