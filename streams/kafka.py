"""confluent-kafka adapters: the idempotent producer, topic admin and consumer-group offsets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from processors.errors import InfrastructureError
from streams.settings import Settings

Headers = list[tuple[str, str | bytes | None]]


def producer_config(settings: Settings) -> dict[str, object]:
    return {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "enable.idempotence": True,
        "acks": "all",
        # murmur2 is what the Java client and Faust's aiokafka use: a key lands on the same
        # partition whoever produces it, which keeps import rows and deliveries co-partitioned.
        "partitioner": "murmur2_random",
        "linger.ms": settings.producer_linger_ms,
        "batch.size": settings.producer_batch_bytes,
        "compression.type": settings.producer_compression,
        "message.max.bytes": 4_000_000,
        "queue.buffering.max.messages": 500_000,
        "queue.buffering.max.kbytes": 512 * 1024,
    }


class DeliveryFailed(InfrastructureError):
    pass


class EventProducer:
    """An idempotent producer that reports the first delivery failure on ``flush``."""

    def __init__(self, settings: Settings, **overrides: object) -> None:
        self._producer = Producer({**producer_config(settings), **overrides})
        self._error: KafkaError | None = None
        self.delivered = 0

    def _on_delivery(self, err: KafkaError | None, _msg: object) -> None:
        if err is not None:
            self._error = self._error or err
        else:
            self.delivered += 1

    def produce(
        self, topic: str, value: bytes, key: bytes | None = None, headers: Headers | None = None
    ) -> None:
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=self._on_delivery
                )
                return
            except BufferError:
                # Local queue full: serve delivery reports until there is room.
                self._producer.poll(0.05)
            except KafkaException as e:
                raise DeliveryFailed(f"produce to {topic} failed: {e}") from e

    def poll(self) -> None:
        self._producer.poll(0)

    def flush(self, timeout: float = 60.0) -> None:
        remaining = self._producer.flush(timeout)
        if self._error is not None:
            err, self._error = self._error, None
            raise DeliveryFailed(f"delivery failed: {err}")
        if remaining:
            raise DeliveryFailed(f"{remaining} messages not delivered within {timeout}s")

    def publish_all(self, records: Sequence[tuple[str, bytes, bytes]]) -> None:
        """Produce ``(topic, key, value)`` records and wait until all are acknowledged."""
        for topic, key, value in records:
            self.produce(topic, value, key)
        self.flush()


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int


def topic_specs(settings: Settings) -> list[TopicSpec]:
    p = settings.partitions
    main = [
        TopicSpec(settings.topic_rows, p, settings.rows_retention_ms),
        TopicSpec(settings.topic_deliveries, p, settings.rows_retention_ms),
        TopicSpec(settings.topic_control, p, settings.rows_retention_ms),
        TopicSpec(settings.topic_lead_events, p, settings.lead_events_retention_ms),
    ]
    dlqs = [
        TopicSpec(settings.dlq_topic(t.name), 1, settings.dlq_retention_ms)
        for t in main
        if t.name != settings.topic_lead_events
    ]
    return main + dlqs


def admin(settings: Settings) -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})


def partition_counts(client: AdminClient, timeout: float = 10.0) -> dict[str, int]:
    try:
        md = client.list_topics(timeout=timeout)
    except KafkaException as e:
        raise InfrastructureError(f"Kafka unreachable: {e}") from e
    return {name: len(t.partitions) for name, t in md.topics.items() if not t.error}


def ensure_topics(settings: Settings, specs: Iterable[TopicSpec] | None = None) -> list[str]:
    """Create missing topics with explicit partitions and retention; return those created."""
    client = admin(settings)
    existing = partition_counts(client)
    missing = [s for s in (specs or topic_specs(settings)) if s.name not in existing]
    if not missing:
        return []
    futures = client.create_topics(
        [
            NewTopic(
                s.name,
                num_partitions=s.partitions,
                replication_factor=1,
                config={"retention.ms": str(s.retention_ms), "max.message.bytes": "4000000"},
            )
            for s in missing
        ]
    )
    created = []
    for name, fut in futures.items():
        try:
            fut.result()
            created.append(name)
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise InfrastructureError(f"cannot create topic {name}: {e}") from e
    return created
