"""Consumer-group rewinds and whole-topic reads for the effectively-once tests."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from streams.offsets import admin_client, alter_offsets, describe_group, log_bounds, partitions_of
from streams.settings import Settings


def rewind_group(settings: Settings, topics: list[str]) -> bool:
    """Set the worker group's offsets to the start of every partition of ``topics``, as an
    operator does before a replay. Kafka allows it only on a group without members: False then."""
    client = admin_client(settings)
    if describe_group(client, settings.worker_group).members:
        return False
    bounds = log_bounds(client, partitions_of(client, topics))
    alter_offsets(client, settings.worker_group, {tp: start for tp, (start, _) in bounds.items()})
    return True


def read_topic(settings: Settings, topic: str, timeout: float = 60.0) -> list[Message]:
    """Every record of ``topic`` up to its log end as of now, in partition and offset order."""
    client = admin_client(settings)
    ends = {p: end for (_, p), (_, end) in log_bounds(client, partitions_of(client, [topic])).items() if end}
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "fetch.message.max.bytes": 5_000_000,
        }
    )
    out: dict[int, list[Message]] = {p: [] for p in ends}
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        pending = set(ends)
        while pending:
            msg = consumer.poll(timeout)
            if msg is None:
                raise AssertionError(f"no record from {topic} within {timeout}s; missing {pending}")
            if msg.error():
                raise KafkaException(msg.error())
            p, offset = msg.partition(), msg.offset()
            if p in pending:
                out[p].append(msg)
                if offset is not None and offset + 1 >= ends[p]:
                    pending.discard(p)
    finally:
        consumer.close()
    return [m for p in sorted(out) for m in out[p]]
