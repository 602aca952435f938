"""`leadstream emit`: deliveries are validated line by line and keyed exactly like import rows."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from processors.contact import ImportOptions, build_contact, partition_key
from processors.errors import InvalidEventError
from processors.mapping import map_headers
from schemas.codec import decode
from schemas.events import CampaignDelivered
from streams.emit import delivery_key, emit_deliveries


def import_key(header: list[str], cells: list[str], options: ImportOptions, org: str = "acme") -> bytes:
    contact = build_contact(cells, map_headers(header), options)
    assert contact.primary is not None, contact
    return partition_key(org, contact.primary, "unused")


def delivery(**overrides: object) -> dict[str, object]:
    event: dict[str, object] = {
        "event_id": "dlv-1",
        "org_id": "acme",
        "campaign_id": "spring",
        "channel": "email",
        "channel_identifier": "ann.lee@example.com",
        "contact": {"first_name": "Ann"},
        "delivered_at": "2024-05-01T10:00:00Z",
    }
    event.update(overrides)
    return event


def key_of(**overrides: object) -> bytes:
    return delivery_key(decode(CampaignDelivered, orjson.dumps(delivery(**overrides))))


@pytest.mark.parametrize("raw", ["ann.lee@example.com", "ANN.LEE@EXAMPLE.COM", "  Ann.Lee@Example.com "])
def test_email_in_other_case_gets_the_import_rows_key(raw: str) -> None:
    expected = import_key(["Email", "First Name"], ["  Ann.Lee@Example.COM ", "Ann"], ImportOptions())
    assert expected == b"acme|email|ann.lee@example.com"
    assert key_of(channel_identifier=raw) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [("+33 6 12 34 56 78", None), ("06 12 34 56 78", "FR"), ("+33612345678", "US")],
)
def test_national_and_e164_phone_get_the_import_rows_key(raw: str, region: str | None) -> None:
    # A phone-only row: its phone is the primary identity, normalised with the import's region.
    expected = import_key(
        ["Phone", "First Name"], ["06.12.34.56.78", "Zoe"], ImportOptions(default_region="FR")
    )
    assert expected == b"acme|phone|+33612345678"
    assert key_of(channel="phone", channel_identifier=raw, default_region=region) == expected


def test_whatsapp_and_external_ids_get_the_import_rows_key() -> None:
    options = ImportOptions(default_region="GB", phone_channels=("whatsapp",))
    row = import_key(["Mobile", "Name"], ["07911 123456", "Sam"], options)
    assert key_of(channel="whatsapp", channel_identifier="07911123456", default_region="GB") == row
    ext = import_key(["Record ID", "Email"], [" 12345 ", "a@b.com"], ImportOptions())
    assert ext == b"acme|ext:hubspot|12345"
    assert key_of(channel="ext:hubspot", channel_identifier="12345 ") == ext


def test_same_identity_in_two_orgs_gets_two_keys() -> None:
    assert key_of(org_id="a") != key_of(org_id="b")


def test_identifier_that_does_not_normalise_is_invalid_and_not_echoed_whole() -> None:
    with pytest.raises(InvalidEventError) as e:
        key_of(channel_identifier="ann.lee@")
    assert e.value.reason == "invalid_identifier"
    assert "ann.lee@" not in str(e.value)
    with pytest.raises(InvalidEventError, match="default_region"):
        key_of(channel="phone", channel_identifier="06 12 34 56 78")  # national, no region


class RecordingProducer:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes]] = []
        self.flushed = 0

    def produce(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        self.records.append((topic, key, value))

    def poll(self) -> None:
        pass

    def flush(self) -> None:
        self.flushed = len(self.records)


def test_invalid_lines_are_reported_by_number_and_the_rest_published() -> None:
    lines = [
        orjson.dumps(delivery(event_id="d1", channel_identifier="A@X.com")),
        b"   \n",
        b'{"event_id": "d3", oops',
        orjson.dumps({k: v for k, v in delivery(event_id="d4").items() if k != "delivered_at"}),
        orjson.dumps(delivery(event_id="d5", channel_identifier="12")),
        orjson.dumps(delivery(event_id="d6", channel="fax")),
        orjson.dumps(delivery(event_id="d7", channel="sms", channel_identifier="+1 202 555 0150")) + b"\r\n",
    ]
    invalid: list[tuple[int, str]] = []
    producer = RecordingProducer()

    report = emit_deliveries(lines, producer, "deliveries", lambda n, why: invalid.append((n, why)))

    assert (report.published, report.invalid, report.blank) == (2, 4, 1)
    assert [n for n, _ in invalid] == [3, 4, 5, 6]
    assert invalid[0][1].startswith("undecodable")
    assert "delivered_at" in invalid[1][1]
    assert invalid[2][1].startswith("invalid_identifier")
    assert "channel" in invalid[3][1]
    assert [(t, k) for t, k, _ in producer.records] == [
        ("deliveries", b"acme|email|a@x.com"),
        ("deliveries", b"acme|sms|+12025550150"),
    ]
    assert producer.flushed == 2
    # the published value is the validated event, as the worker decodes it
    published = decode(CampaignDelivered, producer.records[1][2])
    assert (published.event_id, published.channel_identifier) == ("d7", "+1 202 555 0150")


def test_lines_are_streamed_not_read_up_front() -> None:
    producer = RecordingProducer()

    def lines() -> Iterator[bytes]:
        for i in range(1, 2001):
            # every earlier line was already handed to the producer before this one is read
            assert len(producer.records) == i - 1
            yield orjson.dumps(delivery(event_id=f"d{i}", channel_identifier=f"c{i}@example.com"))

    assert emit_deliveries(lines(), producer, "t").published == 2000
