"""Consumer-group state as Kafka reports it: members, committed offsets, log bounds and lag."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from processors.errors import InfrastructureError
from streams.settings import Settings

T = TypeVar("T")
TP = tuple[str, int]

# librdkafka reports every failed connection attempt; the commands that use this module say
# once, in their own words, that the broker is unreachable.
_quiet = logging.getLogger("leadstream.rdkafka")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


def worker_topics(settings: Settings) -> list[str]:
    """The topics the worker group consumes: lead rows, deliveries and import control."""
    return [settings.topic_rows, settings.topic_deliveries, settings.topic_control]


def admin_client(settings: Settings, timeout: float = 10.0) -> AdminClient:
    """An admin client whose requests give up after ``timeout`` seconds."""
    ms = int(timeout * 1000)
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "socket.timeout.ms": ms,
        "logger": _quiet,
    }
    return AdminClient(config)


def _result(fut: Future[T], what: str) -> T:
    try:
        return fut.result()
    except KafkaException as e:
        raise InfrastructureError(f"{what}: {e.args[0].str() if e.args else e}") from e


@dataclass(frozen=True)
class Member:
    client_id: str
    host: str
    partitions: tuple[TP, ...]


@dataclass(frozen=True)
class Group:
    group_id: str
    state: str
    members: tuple[Member, ...]


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    start: int  # first offset still in the log
    end: int  # the log end offset (next offset to be written)
    committed: int | None  # the group's committed offset; None when it never committed one

    @property
    def lag(self) -> int:
        """Records the group has still to process (from the log start when it never committed)."""
        position = self.start if self.committed is None else max(self.committed, self.start)
        return max(0, self.end - position)


def describe_group(client: AdminClient, group_id: str, timeout: float = 10.0) -> Group:
    fut = client.describe_consumer_groups([group_id], request_timeout=timeout)[group_id]
    d: Any = _result(fut, f"describe consumer group {group_id}")
    members = tuple(
        Member(
            m.client_id,
            m.host.lstrip("/"),  # the broker reports the address as "/127.0.0.1"
            tuple((tp.topic, tp.partition) for tp in (m.assignment.topic_partitions or [])),
        )
        for m in d.members or []
    )
    return Group(group_id, str(d.state.name).lower(), members)


def partitions_of(client: AdminClient, topics: Iterable[str], timeout: float = 10.0) -> list[TP]:
    """Every partition of ``topics``; a missing topic is an error naming it."""
    try:
        md = client.list_topics(timeout=timeout)
    except KafkaException as e:
        raise InfrastructureError(f"Kafka unreachable: {e}") from e
    out: list[TP] = []
    for topic in topics:
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            raise InfrastructureError(f"topic {topic} does not exist: run `leadstream topics create`")
        out += [(topic, p) for p in sorted(t.partitions)]
    return out


def list_offsets(client: AdminClient, specs: Mapping[TP, OffsetSpec], timeout: float = 10.0) -> dict[TP, int]:
    """Resolve offset specs (earliest, latest, for a timestamp); -1 where no record qualifies."""
    if not specs:
        return {}
    futures = client.list_offsets(
        {TopicPartition(t, p): spec for (t, p), spec in specs.items()}, request_timeout=timeout
    )
    return {(tp.topic, tp.partition): _result(f, "list offsets").offset for tp, f in futures.items()}


def log_bounds(client: AdminClient, tps: Iterable[TP], timeout: float = 10.0) -> dict[TP, tuple[int, int]]:
    """``(start, end)`` of each partition's log."""
    tps = list(tps)
    starts = list_offsets(client, dict.fromkeys(tps, OffsetSpec.earliest()), timeout)
    ends = list_offsets(client, dict.fromkeys(tps, OffsetSpec.latest()), timeout)
    return {tp: (starts[tp], ends[tp]) for tp in tps}


def committed_offsets(client: AdminClient, group_id: str, timeout: float = 10.0) -> dict[TP, int]:
    """The group's committed offsets; partitions it never committed are absent."""
    fut = client.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group_id)], request_timeout=timeout
    )[group_id]
    res: Any = _result(fut, f"committed offsets of {group_id}")
    return {(tp.topic, tp.partition): tp.offset for tp in res.topic_partitions or [] if tp.offset >= 0}


def group_lag(
    client: AdminClient, group_id: str, topics: Iterable[str], timeout: float = 10.0
) -> list[PartitionLag]:
    """Per-partition lag of ``group_id`` on ``topics``, as ``kafka-consumer-groups --describe``."""
    tps = partitions_of(client, topics, timeout)
    bounds = log_bounds(client, tps, timeout)
    committed = committed_offsets(client, group_id, timeout)
    return [PartitionLag(t, p, *bounds[(t, p)], committed.get((t, p))) for t, p in tps]


def alter_offsets(
    client: AdminClient, group_id: str, offsets: Mapping[TP, int], timeout: float = 30.0
) -> None:
    """Commit ``offsets`` for an empty group (the broker refuses while it has members)."""
    request = ConsumerGroupTopicPartitions(
        group_id, [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())]
    )
    fut = client.alter_consumer_group_offsets([request], request_timeout=timeout)[group_id]
    res: Any = _result(fut, f"reset offsets of {group_id}")
    failed = [tp for tp in res.topic_partitions or [] if tp.error is not None]
    if failed:
        raise InfrastructureError(
            f"reset offsets of {group_id} failed for "
            + ", ".join(f"{tp.topic}[{tp.partition}]: {tp.error.str()}" for tp in failed)
        )
