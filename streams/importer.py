"""Publish a contact file as an import: announce it, one event per row, then seal it."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from processors.contact import ImportOptions
from processors.errors import LeadstreamError
from processors.mapping import ColumnMapping
from schemas.codec import encode
from schemas.events import ImportCancelled, ImportSealed, ImportStarted
from streams.kafka import EventProducer
from streams.normalize_pool import default_jobs, encoded_rows
from streams.readers import TableReader
from streams.row_encoding import EncodeContext, contact_for, import_row_payload
from streams.settings import Settings

__all__ = [
    "PRODUCER_OVERRIDES",
    "PublishReport",
    "RowCounts",
    "contact_for",
    "import_row_payload",
    "importer_producer",
    "publish_import",
]

log = logging.getLogger(__name__)

# librdkafka may buffer 512 MB by default; the importer's memory must not grow with the file, and
# 16 MB of queued records (10k-40k rows) keeps the broker busy while linger and lz4 batch them.
PRODUCER_OVERRIDES: dict[str, object] = {
    "queue.buffering.max.kbytes": 16 * 1024,
    "queue.buffering.max.messages": 50_000,
}


POLL_EVERY = 2000


def importer_producer(settings: Settings) -> EventProducer:
    """The idempotent producer with a queue bounded for constant-memory imports."""
    return EventProducer(settings, **PRODUCER_OVERRIDES)


@dataclass
class RowCounts:
    """Rows seen and rows the importer rejected, by reason."""

    rows: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def valid(self) -> int:
        return self.rows - sum(self.rejected.values())

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass
class PublishReport(RowCounts):
    import_id: str = ""
    org_id: str = ""


def _started(
    table: TableReader, mapping: ColumnMapping, org_id: str, import_id: str, options: ImportOptions
) -> bytes:
    return encode(
        ImportStarted(
            event_id=f"{import_id}:started",
            import_id=import_id,
            org_id=org_id,
            source_name=table.name,
            options={
                "mode": options.mode,
                "operation": options.operation,
                "default_region": options.default_region,
                "match_on": list(options.match_on),
                "phone_channels": list(options.phone_channels),
                "mapping": [f"{c}={t}" for c, t in mapping.as_dict().items()],
            },
            started_at=datetime.now(UTC),
        )
    )


def control_key(org_id: str, import_id: str) -> bytes:
    """Every lifecycle event of one import shares a key, so started → sealed → cancelled stay ordered."""
    return f"{org_id}|{import_id}".encode()


def publish_cancel(producer: EventProducer, topic: str, org_id: str, import_id: str) -> None:
    """Publish ``import_cancelled`` on the control topic and wait for the broker's ack."""
    event = ImportCancelled(
        event_id=f"{import_id}:cancelled", import_id=import_id, org_id=org_id, cancelled_at=datetime.now(UTC)
    )
    producer.produce(topic, encode(event), control_key(org_id, import_id))
    producer.flush(10.0)


def _cancel(producer: EventProducer, settings: Settings, org_id: str, import_id: str) -> None:
    """An import that cannot finish is cancelled, so it does not wait for rows that never come."""
    try:
        publish_cancel(producer, settings.topic_control, org_id, import_id)
    except LeadstreamError as e:
        log.error("could not cancel import %s: %s", import_id, e)


def publish_import(
    table: TableReader,
    mapping: ColumnMapping,
    *,
    org_id: str,
    options: ImportOptions,
    settings: Settings,
    producer: EventProducer,
    import_id: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    jobs: int | None = None,
) -> PublishReport:
    """Announce, stream every row, then seal with the row count. Returns once all are acked.

    Rows are produced in file order (chunks come back from the pool in order), so rows that share
    a primary identity, hence a key and a partition, reach the worker in file order. A failure
    after the announcement cancels the import before the error propagates.
    """
    import_id = import_id or str(uuid.uuid4())
    report = PublishReport(import_id=import_id, org_id=org_id)
    started = time.monotonic()
    key = control_key(org_id, import_id)
    producer.produce(settings.topic_control, _started(table, mapping, org_id, import_id, options), key)
    ctx = EncodeContext(org_id, import_id, tuple(table.header), mapping, options)
    topic, produce, counts = settings.topic_rows, producer.produce, report.rejected
    try:
        for _, key, value, rejection in encoded_rows(
            table.rows, ctx, jobs=default_jobs(table.size) if jobs is None else jobs
        ):
            produce(topic, value, key)
            report.rows += 1
            if rejection is not None:
                counts[rejection] = counts.get(rejection, 0) + 1
            if report.rows % POLL_EVERY == 0:
                producer.poll()  # serve delivery reports
                if on_progress is not None:
                    on_progress(report.rows)
        producer.flush()
    except BaseException:
        _cancel(producer, settings, org_id, import_id)
        raise
    sealed = ImportSealed(
        event_id=f"{import_id}:sealed",
        import_id=import_id,
        org_id=org_id,
        total_rows=report.rows,
        sealed_at=datetime.now(UTC),
    )
    producer.produce(settings.topic_control, encode(sealed), key)
    producer.flush()
    report.seconds = time.monotonic() - started
    if on_progress is not None:
        on_progress(report.rows)
    return report
