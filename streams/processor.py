"""The worker's batch handling: decode, dead-letter the undecodable, apply the rest in one
transaction (retried in place); the lane commits the offsets only after that."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from processors.errors import InfrastructureError, InvalidEventError, RefusedByDatabaseError
from processors.model import RejectReason
from schemas.codec import decode, decode_control
from schemas.events import CampaignDelivered, LeadImportRow
from streams import metrics
from streams.imports_repo import ImportsRepository
from streams.repository import BatchReport, LeadRepository
from streams.retry import retry_forever
from streams.settings import Settings
from streams.work import ImportRowItem, WorkItem, delivery_item, import_row_item

log = logging.getLogger(__name__)
Event = TypeVar("Event", LeadImportRow, CampaignDelivered)
T = TypeVar("T")

MAX_VALUE_BYTES = 1_000_000
_BIGINT_MAX = 2**63 - 1


class Record(Protocol):
    """What the processor needs of a consumed record (a Kafka record, or a test's)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


@dataclass(frozen=True)
class DeadLetter:
    record: Record
    reason: str
    detail: str

    def headers(self) -> list[tuple[str, str | bytes | None]]:
        return [
            ("dlq.reason", self.reason.encode()),
            ("dlq.detail", self.detail.encode()[:2000]),
            ("dlq.source.topic", self.record.topic.encode()),
            ("dlq.source.partition", str(self.record.partition).encode()),
            ("dlq.source.offset", str(self.record.offset).encode()),
            ("dlq.failed_at", str(int(time.time() * 1000)).encode()),
        ]


class DeadLetterSink(Protocol):
    def publish_dead(self, letters: Sequence[DeadLetter]) -> None: ...


def _has_nul(data: object) -> bool:
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in data.items())
    return isinstance(data, list) and any(_has_nul(v) for v in data)


def _storable(event: Event, value: bytes | None) -> Event:
    """Reject what the model accepts but PostgreSQL cannot store: its batch would fail however
    often it is retried, stalling the partition. JSON can only carry NUL as the escape \\u0000."""
    if isinstance(event, LeadImportRow) and event.row_number > _BIGINT_MAX:
        raise InvalidEventError("schema_invalid", f"row_number: {event.row_number} exceeds bigint")
    if value is not None and b"\\u0000" in value and _has_nul(event.model_dump()):
        raise InvalidEventError("schema_invalid", "a text field holds a NUL character (\\u0000)")
    return event


def decode_record(record: Record, settings: Settings) -> WorkItem:
    value = record.value
    if value is not None and len(value) > MAX_VALUE_BYTES:
        raise InvalidEventError("too_large", f"{len(value)} bytes > {MAX_VALUE_BYTES}")
    if record.topic == settings.topic_deliveries:
        item = delivery_item(_storable(decode(CampaignDelivered, value), value))
        if not item.row.identities:
            raise InvalidEventError("invalid_identifier", "channel_identifier does not normalise")
        return item
    return import_row_item(_storable(decode(LeadImportRow, value), value))


@dataclass(frozen=True, slots=True)
class Decoded(Generic[T]):
    """A batch decoded ahead of its transaction: what to apply, and what to dead-letter."""

    items: list[T]
    sources: list[Record]  # the record each item was decoded from
    dead: list[DeadLetter]
    started: float  # time.perf_counter() when decoding began


def decode_all(records: Sequence[Record], decode_one: Callable[[Record], T]) -> Decoded[T]:
    started = time.perf_counter()
    items: list[T] = []
    sources: list[Record] = []
    dead: list[DeadLetter] = []
    for record in records:
        try:
            items.append(decode_one(record))
            sources.append(record)
        except InvalidEventError as e:
            dead.append(DeadLetter(record, e.reason, e.detail))
    return Decoded(items, sources, dead, started)


async def publish_dead(sink: DeadLetterSink, dead: Sequence[DeadLetter], settings: Settings) -> None:
    """Publish dead letters and wait for the broker's ack, before the batch's offsets can move."""
    if not dead:
        return
    await retry_forever(
        lambda: asyncio.to_thread(sink.publish_dead, dead),
        what="dead-letter publish",
        initial=settings.retry_initial_s,
        maximum=settings.retry_max_s,
    )
    metrics.DEAD_LETTERS.inc(len(dead))
    for d in dead:
        log.warning(
            "dead letter %s[%d]@%d: %s", d.record.topic, d.record.partition, d.record.offset, d.reason
        )


class BatchProcessor:
    """Owns the lead repository's connection; one batch at a time."""

    def __init__(
        self,
        settings: Settings,
        connect: Callable[[], Any],
        dead_letters: DeadLetterSink,
    ) -> None:
        self.settings = settings
        self._connect = connect
        self._dead = dead_letters
        self._repo: LeadRepository | None = None

    def _repository(self) -> LeadRepository:
        if self._repo is None or self._repo.conn.closed or self._repo.conn.broken:
            self._repo = LeadRepository(self._connect(), lead_events_topic=self.settings.topic_lead_events)
        return self._repo

    def _reset(self, _e: InfrastructureError) -> None:
        if self._repo is not None and (self._repo.conn.closed or self._repo.conn.broken):
            self._repo = None

    def prepare(self, records: Sequence[Record]) -> Decoded[WorkItem]:
        """Decode a batch (CPU only: runs while the previous batch's transaction does)."""
        return decode_all(records, lambda r: decode_record(r, self.settings))

    def apply_sync(self, items: Sequence[WorkItem]) -> BatchReport:
        return self._repository().apply_batch(items)

    async def apply(self, batch: Decoded[WorkItem]) -> BatchReport | None:
        """Apply one batch; returns only when it is committed (dead letters published first)."""
        await publish_dead(self._dead, batch.dead, self.settings)
        if not batch.items:
            return None
        try:
            report = await self._commit(batch.items)
        except RefusedByDatabaseError as e:
            log.warning("batch of %d refused (%s): splitting it to find the record", len(batch.items), e)
            report = await self._isolate(batch.items, batch.sources, e)
        metrics.observe_batch(report, time.perf_counter() - batch.started)
        return report

    async def _commit(self, items: Sequence[WorkItem]) -> BatchReport:
        """One transaction, retried in place on infrastructure errors."""
        return await retry_forever(
            lambda: asyncio.to_thread(self.apply_sync, items),
            what=f"batch of {len(items)}",
            initial=self.settings.retry_initial_s,
            maximum=self.settings.retry_max_s,
            on_failure=self._reset,
        )

    async def _isolate(
        self, items: Sequence[WorkItem], sources: Sequence[Record], error: RefusedByDatabaseError
    ) -> BatchReport:
        """``items`` were refused together: apply each half in order, splitting again a half that
        is refused, until the refused records stand alone; ~2·log2(n) transactions per record."""
        if len(items) == 1:
            return await self._set_aside(items[0], sources[0], str(error))
        mid = len(items) // 2
        report = BatchReport()
        for part, part_sources in ((items[:mid], sources[:mid]), (items[mid:], sources[mid:])):
            try:
                report.add(await self._commit(part))
            except RefusedByDatabaseError as e:
                report.add(await self._isolate(part, part_sources, e))
        return report

    async def _set_aside(self, item: WorkItem, source: Record, detail: str) -> BatchReport:
        """An import row PostgreSQL refuses is rejected (its import completes, the error report
        shows it); a delivery, or a row whose rejection is refused too, is a dead letter."""
        log.warning(
            "%s[%d]@%d refused by PostgreSQL: %s", source.topic, source.partition, source.offset, detail
        )
        if isinstance(item, ImportRowItem) and item.row.rejection is None:
            rejected = replace(item, row=replace(item.row, rejection=RejectReason.REFUSED_BY_DATABASE.value))
            try:
                return await self._commit([rejected])
            except RefusedByDatabaseError as e:
                detail = str(e)
        await publish_dead(self._dead, [DeadLetter(source, "refused_by_database", detail)], self.settings)
        return BatchReport()


class ControlProcessor:
    """Applies import lifecycle events (started, sealed, cancelled)."""

    def __init__(self, settings: Settings, connect: Callable[[], Any], dead_letters: DeadLetterSink):
        self.settings = settings
        self._connect = connect
        self._dead = dead_letters
        self._repo: ImportsRepository | None = None

    def _repository(self) -> ImportsRepository:
        if self._repo is None or self._repo.conn.closed or self._repo.conn.broken:
            self._repo = ImportsRepository(self._connect(), lead_events_topic=self.settings.topic_lead_events)
        return self._repo

    def apply_sync(
        self, events: Sequence[Any], sources: Sequence[Record]
    ) -> tuple[list[str], list[DeadLetter]]:
        """Each event in its own transaction; one PostgreSQL refuses is set aside as a dead letter."""
        done: list[str] = []
        refused: list[DeadLetter] = []
        for event, source in zip(events, sources, strict=True):
            try:
                done += self._repository().apply_control(event)
            except RefusedByDatabaseError as e:
                refused.append(DeadLetter(source, "refused_by_database", str(e)))
        return done, refused

    def prepare(self, records: Sequence[Record]) -> Decoded[Any]:
        return decode_all(records, lambda r: decode_control(r.value))

    async def apply(self, batch: Decoded[Any]) -> list[str]:
        await publish_dead(self._dead, batch.dead, self.settings)
        if not batch.items:
            return []
        done, refused = await retry_forever(
            lambda: asyncio.to_thread(self.apply_sync, batch.items, batch.sources),
            what="import control events",
            initial=self.settings.retry_initial_s,
            maximum=self.settings.retry_max_s,
        )
        await publish_dead(self._dead, refused, self.settings)
        return done
