"""Prometheus metrics of the worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

if TYPE_CHECKING:
    from streams.repository import BatchReport

ROWS = Counter("leadstream_rows_total", "Rows and deliveries applied, by outcome", ["outcome"])
CONFLICTS = Counter("leadstream_identity_conflicts_total", "Identity conflicts recorded")
DUPLICATES = Counter("leadstream_redelivered_total", "Records already in the ledger (replays)")
DEAD_LETTERS = Counter("leadstream_dead_letters_total", "Records sent to a dead-letter topic")
BATCH_SIZE = Histogram(
    "leadstream_batch_size", "Records per batch", buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000)
)
BATCH_SECONDS = Histogram(
    "leadstream_batch_seconds",
    "Time to decode and commit one batch",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
CONSUMER_LAG = Gauge("leadstream_consumer_lag", "Records behind the log end", ["topic", "partition"])
IMPORTS_IN_PROGRESS = Gauge("leadstream_imports_in_progress", "Imports publishing or processing")
OUTBOX_RELAYED = Counter("leadstream_outbox_relayed_total", "Lead events relayed to Kafka")


def observe_batch(report: BatchReport, seconds: float) -> None:
    BATCH_SIZE.observe(report.items)
    BATCH_SECONDS.observe(seconds)
    for outcome, n in report.outcomes.items():
        ROWS.labels(outcome).inc(n)
    if report.conflicts:
        CONFLICTS.inc(report.conflicts)
    if report.duplicates:
        DUPLICATES.inc(report.duplicates)
