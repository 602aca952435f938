"""Dead letters: read them with their reasons and source offsets, re-drive them once to their source."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from confluent_kafka import Message

from processors.errors import ConfigurationError
from streams.db import translated
from streams.kafka import EventProducer
from streams.offsets import admin_client, log_bounds, partitions_of, worker_topics
from streams.scan import read_ranges
from streams.settings import Settings

LetterKey = tuple[str, int, int, int]  # dlq topic, partition, offset, timestamp
REDRIVEN_FROM = "dlq.redriven_from"


@dataclass(frozen=True)
class Letter:
    """A dead letter: the original key and value, and why and where it failed (from headers)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    reason: str
    detail: str
    source_topic: str
    source_partition: int | None
    source_offset: int | None
    failed_at: datetime | None

    @property
    def key_(self) -> LetterKey:
        return (self.topic, self.partition, self.offset, self.timestamp)

    @property
    def ref(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    @property
    def source(self) -> str:
        where = f"[{self.source_partition}]" if self.source_partition is not None else ""
        at = f"@{self.source_offset}" if self.source_offset is not None else ""
        return f"{self.source_topic}{where}{at}"


def _text(value: str | bytes | None) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_letter(
    topic: str,
    partition: int,
    offset: int,
    timestamp: int,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None] | None,
) -> Letter:
    """A dead letter from its record; headers the worker did not write read as unknown."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    h = {name: _text(v) for name, v in pairs}
    failed_ms = _int(h.get("dlq.failed_at"))
    source = h.get("dlq.source.topic") or topic.removesuffix(".dlq")
    return Letter(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=timestamp,
        key=key,
        value=value,
        reason=h.get("dlq.reason") or "unknown",
        detail=h.get("dlq.detail") or "",
        source_topic=source,
        source_partition=_int(h.get("dlq.source.partition")),
        source_offset=_int(h.get("dlq.source.offset")),
        failed_at=datetime.fromtimestamp(failed_ms / 1000, UTC) if failed_ms is not None else None,
    )


def _from_message(msg: Message) -> Letter:
    _, ts = msg.timestamp()
    return parse_letter(
        msg.topic() or "",
        msg.partition() or 0,
        msg.offset() or 0,
        ts,
        msg.key(),
        msg.value(),
        msg.headers(),
    )


def dlq_topics(settings: Settings, topic: str | None = None) -> list[str]:
    """The dead-letter topics, or the one ``topic`` names (by its own or its source's name)."""
    all_ = [settings.dlq_topic(t) for t in worker_topics(settings)]
    if topic is None:
        return all_
    for name in (topic, settings.dlq_topic(topic)):
        if name in all_:
            return [name]
    raise ConfigurationError(f"no dead-letter topic for {topic!r}: one of {', '.join(all_)}")


def read_letters(
    settings: Settings, topics: Iterable[str], offset: int | None = None, timeout: float = 10.0
) -> list[Letter]:
    """Every dead letter of ``topics`` still in the log (or only those at ``offset``)."""
    client = admin_client(settings, timeout)
    bounds = log_bounds(client, partitions_of(client, topics, timeout), timeout)
    if offset is not None:
        bounds = {tp: (offset, offset + 1) for tp, (start, end) in bounds.items() if start <= offset < end}
    return [_from_message(m) for m in read_ranges(settings, bounds)]


def redriven(conn: psycopg.Connection, letters: Sequence[Letter]) -> dict[LetterKey, datetime]:
    """When each of ``letters`` was re-driven, for those that were."""
    if not letters:
        return {}
    with translated(), conn.cursor() as cur:
        cur.execute(
            "SELECT r.dlq_topic, r.dlq_partition, r.dlq_offset, r.letter_ts, r.redriven_at"
            " FROM dlq_redrives r JOIN unnest(%s::text[], %s::int[], %s::bigint[], %s::bigint[])"
            " AS b(dlq_topic, dlq_partition, dlq_offset, letter_ts)"
            " USING (dlq_topic, dlq_partition, dlq_offset, letter_ts)",
            _columns(letters),
        )
        found = {(r[0], r[1], r[2], r[3]): r[4] for r in cur}
    conn.rollback()
    return found


def redrive(conn: psycopg.Connection, producer: EventProducer, letters: Sequence[Letter]) -> list[Letter]:
    """Re-publish ``letters`` to their source topics with their original key and value.

    The letters are claimed in ``dlq_redrives`` and the claim commits only once the broker has
    acknowledged every record: a letter another redrive claimed first is skipped, and a crash
    before the commit leaves the letters to redrive again, which the worker's ledger makes
    harmless for a row it already applied.
    """
    if not letters:
        return []
    by_key = {letter.key_: letter for letter in letters}
    with translated(), conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "INSERT INTO dlq_redrives (dlq_topic, dlq_partition, dlq_offset, letter_ts, source_topic, reason)"
            " SELECT * FROM unnest(%s::text[], %s::int[], %s::bigint[], %s::bigint[], %s::text[], %s::text[])"
            " ON CONFLICT DO NOTHING RETURNING dlq_topic, dlq_partition, dlq_offset, letter_ts",
            (*_columns(letters), [x.source_topic for x in letters], [x.reason for x in letters]),
        )
        claimed = sorted((by_key[(r[0], r[1], r[2], r[3])] for r in cur), key=lambda x: x.key_)
        for x in claimed:
            producer.produce(x.source_topic, x.value or b"", x.key, headers=[(REDRIVEN_FROM, x.ref.encode())])
        producer.flush()
    return claimed


def _columns(letters: Sequence[Letter]) -> tuple[list[str], list[int], list[int], list[int]]:
    return (
        [x.topic for x in letters],
        [x.partition for x in letters],
        [x.offset for x in letters],
        [x.timestamp for x in letters],
    )
