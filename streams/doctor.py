"""Health checks of a deployment: broker, topics, co-partitioning, migrations, worker group, lag."""

from __future__ import annotations

from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from processors.errors import LeadstreamError
from streams.db import connect
from streams.dlq import dlq_topics
from streams.kafka import topic_specs
from streams.migrate import pending
from streams.offsets import (
    PartitionLag,
    admin_client,
    describe_group,
    group_lag,
    log_bounds,
    partitions_of,
    worker_topics,
)
from streams.settings import Settings


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    summary: str  # one line: what was found, or why the check failed
    details: list[str] = field(default_factory=list)


def check_broker(client: AdminClient, settings: Settings, timeout: float) -> tuple[Check, dict[str, int]]:
    try:
        md = client.list_topics(timeout=timeout)
    except KafkaException as e:
        detail = e.args[0].str() if e.args and isinstance(e.args[0], KafkaError) else str(e)
        return Check("broker", False, f"unreachable at {settings.kafka_bootstrap_servers}: {detail}"), {}
    counts = {name: len(t.partitions) for name, t in md.topics.items() if t.error is None}
    return Check("broker", True, f"{settings.kafka_bootstrap_servers} ({len(md.brokers)} brokers)"), counts


def check_topics(settings: Settings, counts: dict[str, int]) -> list[Check]:
    specs = topic_specs(settings)
    missing = [s.name for s in specs if s.name not in counts]
    details = [f"{s.name}: {counts[s.name]} partitions" for s in specs if s.name in counts]
    checks = [
        Check(
            "topics",
            not missing,
            f"missing {', '.join(missing)}: run `leadstream topics create`"
            if missing
            else f"{len(specs)} present",
            details,
        )
    ]
    rows, deliveries = counts.get(settings.topic_rows), counts.get(settings.topic_deliveries)
    if rows is not None and deliveries is not None:
        same = rows == deliveries
        checks.append(
            Check(
                "co-partitioning",
                same,
                f"{settings.topic_rows} and {settings.topic_deliveries} have {rows} partitions each"
                if same
                else f"{settings.topic_rows} has {rows} partitions but {settings.topic_deliveries} has "
                f"{deliveries}: give both the same count",
            )
        )
    return checks


def check_migrations(settings: Settings) -> Check:
    try:
        with connect(settings.database_url.get_secret_value()) as conn:
            todo = pending(conn)
    except LeadstreamError as e:
        return Check("migrations", False, f"database unreachable: {e}")
    if todo:
        names = ", ".join(m.path.name for m in todo)
        return Check("migrations", False, f"{len(todo)} pending ({names}): run `leadstream migrate`")
    return Check("migrations", True, "all applied")


def _lag_line(p: PartitionLag, owners: dict[tuple[str, int], str]) -> str:
    committed = "none" if p.committed is None else str(p.committed)
    owner = owners.get((p.topic, p.partition), "unassigned")
    return f"{p.topic}[{p.partition}]: lag {p.lag} (committed {committed}, end {p.end}) {owner}"


def check_group(
    client: AdminClient, settings: Settings, counts: dict[str, int], timeout: float, max_lag: int | None
) -> list[Check]:
    group_id = settings.worker_group
    topics = [t for t in worker_topics(settings) if t in counts]  # a missing one is reported above
    try:
        group = describe_group(client, group_id, timeout)
        lags = group_lag(client, group_id, topics, timeout)
    except LeadstreamError as e:
        return [Check("worker group", False, f"{group_id}: {e}")]
    owners = {tp: f"{m.client_id}@{m.host}" for m in group.members for tp in m.partitions}
    members = Check(
        "worker group",
        bool(group.members),
        f"{group_id}: {len(group.members)} members ({group.state})"
        if group.members
        else f"{group_id} has no active member ({group.state}): start `leadstream worker`",
        [f"{m.client_id}@{m.host}: {len(m.partitions)} partitions" for m in group.members],
    )
    total = sum(p.lag for p in lags)
    over = max_lag is not None and total > max_lag
    lag = Check(
        "lag",
        not over,
        f"{total} records behind, over --max-lag {max_lag}" if over else f"{total} records behind",
        [_lag_line(p, owners) for p in lags],
    )
    return [members, lag]


def check_dead_letters(
    client: AdminClient, settings: Settings, counts: dict[str, int], timeout: float
) -> Check:
    """Informational: how many dead letters are retained (``leadstream dlq list`` shows them)."""
    topics = [t for t in dlq_topics(settings) if t in counts]
    try:
        bounds = log_bounds(client, partitions_of(client, topics, timeout), timeout)
    except LeadstreamError as e:
        return Check("dead letters", False, str(e))
    per_topic: dict[str, int] = {}
    for (topic, _), (start, end) in bounds.items():
        per_topic[topic] = per_topic.get(topic, 0) + end - start
    found = {t: n for t, n in per_topic.items() if n}
    summary = ", ".join(f"{n} in {t}" for t, n in found.items()) if found else "none"
    return Check("dead letters", True, summary + (" (`leadstream dlq list`)" if found else ""))


def run_checks(settings: Settings, *, timeout: float = 5.0, max_lag: int | None = None) -> list[Check]:
    """Every check; the Kafka ones after the broker's are skipped when it is unreachable."""
    client = admin_client(settings, timeout)
    broker, counts = check_broker(client, settings, timeout)
    checks = [broker]
    if broker.ok:
        checks += check_topics(settings, counts)
    checks.append(check_migrations(settings))
    if broker.ok:
        checks += check_group(client, settings, counts, timeout, max_lag)
        checks.append(check_dead_letters(client, settings, counts, timeout))
    return checks
