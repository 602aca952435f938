"""Publish campaign_delivered events from JSONL, validated and keyed like the import rows they meet."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from processors.contact import partition_key
from processors.errors import InvalidEventError
from processors.model import PHONE_CHANNELS, Identity
from processors.normalize import mask, normalize_identifier
from schemas.codec import decode, encode
from schemas.events import CampaignDelivered
from streams.processor import MAX_VALUE_BYTES

OnInvalid = Callable[[int, str], None]
_POLL_EVERY = 10_000


class Producer(Protocol):
    """What emitting needs of :class:`streams.kafka.EventProducer`."""

    def produce(self, topic: str, value: bytes, key: bytes | None = None) -> None: ...
    def poll(self) -> None: ...
    def flush(self) -> None: ...


@dataclass
class EmitReport:
    published: int = 0
    invalid: int = 0
    blank: int = 0

    def as_json(self) -> dict[str, int]:
        return {"published": self.published, "invalid": self.invalid, "blank": self.blank}


def delivery_key(event: CampaignDelivered) -> bytes:
    """The Kafka key of a delivery: the key an import row for the same identity gets.

    Raises :class:`InvalidEventError` when the identifier does not normalise: the worker would
    dead-letter the event anyway, and an unnormalised key would land on the wrong partition.
    """
    identifier = normalize_identifier(event.channel, event.channel_identifier, event.default_region)
    if identifier is None:
        hint = ""
        if event.channel in PHONE_CHANNELS:
            hint = (
                f" with default_region {event.default_region}"
                if event.default_region
                else " (a national number needs default_region)"
            )
        raise InvalidEventError(
            "invalid_identifier",
            f"channel_identifier {mask(event.channel_identifier)!r} is not a valid {event.channel}"
            f" identifier{hint}",
        )
    return partition_key(event.org_id, Identity(event.channel, identifier), event.event_id)


def parse_line(line: bytes) -> tuple[bytes, bytes]:
    """Validate one JSONL line; return ``(key, value)`` to publish."""
    if len(line) > MAX_VALUE_BYTES:
        raise InvalidEventError("too_large", f"{len(line)} bytes > {MAX_VALUE_BYTES}")
    event = decode(CampaignDelivered, line)
    return delivery_key(event), encode(event)


def emit_deliveries(
    lines: Iterable[bytes],
    producer: Producer,
    topic: str,
    on_invalid: OnInvalid | None = None,
) -> EmitReport:
    """Publish each valid line (numbered from 1) and report each invalid one; returns once every
    published event is acknowledged. Memory does not grow with the input."""
    report = EmitReport()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            report.blank += 1
            continue
        try:
            key, value = parse_line(line)
        except InvalidEventError as e:
            report.invalid += 1
            if on_invalid is not None:
                on_invalid(number, str(e))
            continue
        producer.produce(topic, value, key)
        report.published += 1
        if report.published % _POLL_EVERY == 0:
            producer.poll()
    producer.flush()
    return report
