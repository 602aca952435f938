"""Read given offset ranges of topic partitions, outside any consumer group and without commits."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from processors.errors import InfrastructureError
from streams.offsets import TP
from streams.settings import Settings


def read_ranges(
    settings: Settings, ranges: Mapping[TP, tuple[int, int]], *, batch: int = 5000, timeout: float = 30.0
) -> Iterator[Message]:
    """Yield the records of each ``(topic, partition): (start, end)`` range, end exclusive.

    Records deleted by retention or compaction are skipped; the scan stops when every range is
    read, or fails when no record arrives within ``timeout`` while some range is unfinished.
    """
    todo = {tp: (start, end) for tp, (start, end) in ranges.items() if end > start}
    if not todo:
        return
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            # assign() needs no group, but librdkafka wants an id: a throwaway one, never committed.
            "group.id": f"leadstream-scan-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.assign([TopicPartition(t, p, start) for (t, p), (start, _) in todo.items()])
        idle_since = time.monotonic()
        while todo:
            # consume() waits for a full batch or its timeout: poll briefly, watch for idleness.
            messages = consumer.consume(batch, 0.2)
            if not messages:
                if time.monotonic() - idle_since > timeout:
                    raise InfrastructureError(f"no record within {timeout:.0f}s while reading {sorted(todo)}")
                continue
            idle_since = time.monotonic()
            for msg in messages:
                tp = (msg.topic() or "", msg.partition() or 0)
                err = msg.error()
                if err is not None and err.code() != KafkaError._PARTITION_EOF:
                    raise InfrastructureError(f"reading {tp[0]}[{tp[1]}]: {err.str()}")
                bounds = todo.get(tp)
                if bounds is None:
                    continue
                offset = msg.offset() or 0
                if err is None and offset < bounds[1]:
                    yield msg
                if err is not None or offset + 1 >= bounds[1]:
                    todo.pop(tp)
    except KafkaException as e:
        raise InfrastructureError(f"reading topics: {e}") from e
    finally:
        consumer.close()
