"""A dead letter is read back from the headers the worker wrote when it failed."""

from __future__ import annotations

from datetime import UTC, datetime

from streams.dlq import parse_letter
from streams.processor import DeadLetter


class _Record:
    topic = "lead_import_row"
    partition = 2
    offset = 41
    key = b"acme|email|a@example.com"
    value = b'{"schema_version": 9}'


def test_the_worker_headers_round_trip() -> None:
    letter = DeadLetter(_Record(), "schema_invalid", "schema_version: Input should be 1")
    x = parse_letter(
        "lead_import_row.dlq", 0, 7, 1_700_000_000_000, _Record.key, _Record.value, letter.headers()
    )
    assert (x.reason, x.detail) == ("schema_invalid", "schema_version: Input should be 1")
    assert (x.source_topic, x.source_partition, x.source_offset) == ("lead_import_row", 2, 41)
    assert x.source == "lead_import_row[2]@41"
    assert x.failed_at is not None and x.failed_at.tzinfo is UTC
    assert abs((datetime.now(UTC) - x.failed_at).total_seconds()) < 3600
    assert (x.key, x.value) == (_Record.key, _Record.value)
    assert x.key_ == ("lead_import_row.dlq", 0, 7, 1_700_000_000_000)
    assert x.ref == "lead_import_row.dlq:0:7"


def test_a_letter_without_headers_points_back_at_its_topic() -> None:
    x = parse_letter("campaign_delivered.dlq", 0, 0, 1, None, b"x", None)
    assert (x.reason, x.source_topic, x.source_partition, x.source_offset, x.failed_at) == (
        "unknown",
        "campaign_delivered",
        None,
        None,
        None,
    )
    assert x.source == "campaign_delivered"


def test_garbled_numbers_are_unknown_not_errors() -> None:
    headers = [("dlq.reason", b"too_large"), ("dlq.source.offset", b"12x"), ("dlq.failed_at", None)]
    x = parse_letter("t.dlq", 0, 0, 1, None, None, headers)
    assert (x.reason, x.source_offset, x.failed_at) == ("too_large", None, None)
