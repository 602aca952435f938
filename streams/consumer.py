"""The worker group's Kafka consumer: batches from confluent-kafka, offsets committed by hand."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from processors.errors import InfrastructureError
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConsumedRecord:
    """One record as the processors read it (the ``Record`` protocol)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def consumer_config(settings: Settings) -> dict[str, object]:
    return {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "group.id": settings.worker_group,
        "client.id": f"leadstream-worker-{os.getpid()}",
        # Offsets are committed by the worker after the batch's transaction, never before.
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        # The range assignor gives partition i of every subscribed topic to the same member when
        # the topics have equal partition counts: import rows and deliveries about one identity
        # stay with one consumer (check_topology refuses unequal counts).
        "partition.assignment.strategy": "range",
        "isolation.level": "read_committed",
        # librdkafka prefetches in its own threads; bound what it may hold ahead of the batches.
        "queued.max.messages.kbytes": 32 * 1024,
        "max.poll.interval.ms": 600_000,
    }


class BatchConsumer:
    """A confluent-kafka consumer read in batches from worker threads, one call at a time."""

    def __init__(self, settings: Settings, topics: Sequence[str]) -> None:
        self._consumer = Consumer(consumer_config(settings), logger=log)
        self._lock = threading.Lock()  # consume, commit and close never overlap
        self._closed = False
        self._consumer.subscribe(list(topics))

    def take(self, n: int, within: float) -> list[ConsumedRecord]:
        """Up to ``n`` records, waiting at most ``within`` seconds for them."""
        with self._lock:
            if self._closed:
                return []
            try:
                messages = self._consumer.consume(n, within)
            except KafkaException as e:
                raise InfrastructureError(f"consume failed: {e}") from e
        records = []
        for m in messages:
            err = m.error()
            if err is None:
                # A consumed message always has its partition and offset; the stubs allow None.
                records.append(ConsumedRecord(m.topic(), m.partition(), m.offset(), m.key(), m.value()))  # type: ignore[arg-type]
            elif err.fatal():
                raise InfrastructureError(f"consumer failed: {err}")
            else:
                log.warning("consumer: %s", err)
        return records

    def commit(self, records: Sequence[ConsumedRecord]) -> None:
        """Commit past the last of ``records`` per partition. A commit the group refuses (a
        rebalance moved the partition) is logged and dropped: the next owner reads the batch
        again and the ledger makes it a no-op."""
        ends: dict[tuple[str, int], int] = {}
        for r in records:
            ends[(r.topic, r.partition)] = max(ends.get((r.topic, r.partition), -1), r.offset + 1)
        offsets = [TopicPartition(t, p, o) for (t, p), o in sorted(ends.items())]
        with self._lock:
            if self._closed or not offsets:
                return
            try:
                self._consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as e:
                err = e.args[0] if e.args else None
                if isinstance(err, KafkaError) and not err.fatal():
                    log.info("offset commit not accepted, the batch will be read again: %s", err)
                    return
                raise InfrastructureError(f"offset commit failed: {e}") from e

    def assignment(self) -> list[tuple[str, int]]:
        with self._lock:
            if self._closed:
                return []
            return [(tp.topic, tp.partition) for tp in self._consumer.assignment()]

    def close(self) -> None:
        """Leave the group at once, so its partitions move without waiting for a timeout."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._consumer.close()
