"""Replays: move the worker group's offsets back in time, or republish the rows of one import."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from confluent_kafka import Message
from confluent_kafka.admin import AdminClient, OffsetSpec

from processors.errors import ConfigurationError
from streams.kafka import EventProducer
from streams.offsets import (
    TP,
    Group,
    committed_offsets,
    list_offsets,
    log_bounds,
    partitions_of,
    worker_topics,
)
from streams.scan import read_ranges
from streams.settings import Settings

REPLAYED_FROM = "leadstream.replayed_from"
# Rows are produced after the import's started_at by the importer's clock; this margin covers a
# clock that differs from the broker's.
_CLOCK_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class PartitionReset:
    """One partition of a replay plan; ``new_offset`` None leaves the group's offset as it is."""

    topic: str
    partition: int
    start: int
    end: int
    committed: int | None
    target: int
    new_offset: int | None

    @property
    def records(self) -> int:
        """Records the group will read again."""
        if self.new_offset is None or self.committed is None:
            return 0
        return self.committed - self.new_offset


def plan_resets(
    bounds: Mapping[TP, tuple[int, int]],
    committed: Mapping[TP, int],
    targets: Mapping[TP, int],
) -> list[PartitionReset]:
    """Where to move the group's offset on each partition so it reads from ``targets`` again.

    A target of -1 (no record at or after a time) means the log end. A replay only moves
    offsets back: a target past the committed offset would skip records never processed, and a
    partition the group never committed is read from its start anyway (auto.offset.reset).
    """
    plan = []
    for tp in sorted(bounds):
        start, end = bounds[tp]
        raw = targets.get(tp, -1)
        target = min(max(end if raw < 0 else raw, start), end)
        now = committed.get(tp)
        new = target if now is not None and target < now else None
        plan.append(PartitionReset(tp[0], tp[1], start, end, now, target, new))
    return plan


def refusal(group: Group) -> str | None:
    """Why offsets of ``group`` cannot be reset now, with how to fix it; None when they can."""
    if not group.members:
        return None
    who = ", ".join(sorted({f"{m.client_id}@{m.host}" for m in group.members}))
    return (
        f"consumer group {group.group_id} has {len(group.members)} active members ({who}); "
        "offsets can only be reset while it has none. Stop every `leadstream worker` of this group "
        "(SIGTERM or Ctrl-C: a worker leaves the group as it stops; a killed one is dropped after "
        "the session timeout), check with `leadstream doctor`, then run the replay again."
    )


def plan_offset_replay(
    client: AdminClient,
    settings: Settings,
    group_id: str,
    *,
    since: datetime | None,
    topics: Iterable[str] | None = None,
) -> list[PartitionReset]:
    """The plan to replay ``topics`` from their beginning (``since`` None) or from a time."""
    tps = partitions_of(client, topics or worker_topics(settings))
    bounds = log_bounds(client, tps)
    if since is None:
        targets = {tp: start for tp, (start, _) in bounds.items()}
    else:
        ms = int(since.timestamp() * 1000)
        targets = list_offsets(client, {tp: OffsetSpec.for_timestamp(ms) for tp in tps})
    return plan_resets(bounds, committed_offsets(client, group_id), targets)


@dataclass(frozen=True)
class ImportRows:
    """Where one import's rows are in the rows topic."""

    import_id: str
    ranges: dict[TP, tuple[int, int]]  # first and past-the-last offset holding its rows
    counts: dict[TP, int]

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def _row_of(msg: Message, needle: bytes, import_id: str) -> dict[str, object] | None:
    """The decoded row when ``msg`` is a row of the import (a cheap byte test first)."""
    value = msg.value()
    if not value or needle not in value:
        return None
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) and doc.get("import_id") == import_id else None


def _rows_of(
    settings: Settings, ranges: Mapping[TP, tuple[int, int]], import_id: str
) -> Iterator[tuple[Message, dict[str, object]]]:
    needle = orjson.dumps(import_id)
    for msg in read_ranges(settings, ranges):
        doc = _row_of(msg, needle, import_id)
        if doc is not None:
            yield msg, doc


def find_import_rows(
    client: AdminClient, settings: Settings, import_id: str, started_at: datetime | None
) -> ImportRows:
    """Scan the rows topic (from shortly before the import started) for the import's rows."""
    tps = partitions_of(client, [settings.topic_rows])
    bounds = log_bounds(client, tps)
    if started_at is not None:
        ms = int((started_at - _CLOCK_MARGIN).timestamp() * 1000)
        firsts = list_offsets(client, {tp: OffsetSpec.for_timestamp(ms) for tp in tps})
        bounds = {
            tp: (end if firsts[tp] < 0 else max(start, firsts[tp]), end)
            for tp, (start, end) in bounds.items()
        }
    ranges: dict[TP, tuple[int, int]] = {}
    counts: dict[TP, int] = {}
    seen: set[object] = set()
    for msg, doc in _rows_of(settings, bounds, import_id):
        tp, offset = (msg.topic() or "", msg.partition() or 0), msg.offset() or 0
        first, _ = ranges.get(tp, (offset, offset))
        ranges[tp] = (first, offset + 1)
        if doc.get("row_number") not in seen:  # a row the importer sent twice counts once
            seen.add(doc.get("row_number"))
            counts[tp] = counts.get(tp, 0) + 1
    return ImportRows(import_id, ranges, counts)


def republish_import(settings: Settings, found: ImportRows, producer: EventProducer) -> int:
    """Produce the import's rows again, same key and value, in their partition order.

    Each row is produced once even if the topic holds it twice (an importer retry); the
    worker's ledger makes a row it already applied a no-op.
    """
    if not found.ranges:
        raise ConfigurationError(f"no row of import {found.import_id} is left in {settings.topic_rows}")
    seen: set[object] = set()
    n = 0
    for msg, doc in _rows_of(settings, found.ranges, found.import_id):
        if doc.get("row_number") in seen:
            continue
        seen.add(doc.get("row_number"))
        ref = f"{msg.topic()}:{msg.partition()}:{msg.offset()}".encode()
        producer.produce(settings.topic_rows, msg.value() or b"", msg.key(), headers=[(REPLAYED_FROM, ref)])
        n += 1
        if n % 10_000 == 0:
            producer.poll()
    producer.flush()
    return n
