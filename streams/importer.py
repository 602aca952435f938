"""Publish a contact file as an import: announce it, one event per row, then seal it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from processors.contact import Contact, ImportOptions, build_contact, partition_key
from processors.mapping import ColumnMapping
from processors.model import RejectReason
from schemas.codec import dumps, encode
from schemas.events import ImportSealed, ImportStarted
from streams.kafka import EventProducer
from streams.readers import SourceRow, TableReader
from streams.settings import Settings


@dataclass
class PublishReport:
    import_id: str
    org_id: str
    rows: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    @property
    def valid(self) -> int:
        return self.rows - sum(self.rejected.values())


def import_row_payload(
    *,
    org_id: str,
    import_id: str,
    row_number: int,
    contact: Contact,
    options: ImportOptions,
    raw: dict[str, str] | None,
) -> dict[str, Any]:
    """The ``lead_import_row`` event as plain data (validated against the model in tests)."""
    return {
        "schema_version": 1,
        "event_id": f"{import_id}:{row_number}",
        "org_id": org_id,
        "import_id": import_id,
        "row_number": row_number,
        "identities": [{"channel": i.channel, "identifier": i.identifier} for i in contact.identities],
        "profile": contact.profile,
        "attributes": contact.attributes,
        "opted_out": [],
        "mode": options.mode,
        "operation": options.operation,
        "rejection": contact.rejection,
        "raw": raw,
    }


def contact_for(
    row: SourceRow, header: list[str], mapping: ColumnMapping, options: ImportOptions
) -> tuple[Contact, dict[str, str] | None]:
    """Normalise one source row; importer-side rejects keep the original cells for the report."""
    if len(row.cells) > len(header):
        raw = {f"column_{i + 1}" if i >= len(header) else header[i]: c for i, c in enumerate(row.cells)}
        return Contact((), rejection=RejectReason.TOO_MANY_FIELDS.value), raw
    contact = build_contact(row.cells, mapping, options)
    if contact.rejection is not None:
        return contact, {h: c for h, c in zip(header, row.cells, strict=False) if c}
    return contact, None


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
) -> PublishReport:
    """Announce, stream every row, then seal with the row count. Returns once all are acked."""
    import_id = import_id or str(uuid.uuid4())
    report = PublishReport(import_id, org_id)
    control_key = f"{org_id}|{import_id}".encode()
    producer.produce(
        settings.topic_control,
        encode(
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
        ),
        control_key,
    )
    for row, (contact, raw) in _contacts(table, mapping, options):
        report.rows += 1
        if contact.rejection is not None:
            report.rejected[contact.rejection] = report.rejected.get(contact.rejection, 0) + 1
        payload = import_row_payload(
            org_id=org_id,
            import_id=import_id,
            row_number=row.line,
            contact=contact,
            options=options,
            raw=raw,
        )
        key = partition_key(org_id, contact.primary, f"{import_id}:{row.line}")
        producer.produce(settings.topic_rows, dumps(payload), key)
        if report.rows % 10_000 == 0:
            producer.poll()
            if on_progress is not None:
                on_progress(report.rows)
    producer.flush()
    producer.produce(
        settings.topic_control,
        encode(
            ImportSealed(
                event_id=f"{import_id}:sealed",
                import_id=import_id,
                org_id=org_id,
                total_rows=report.rows,
                sealed_at=datetime.now(UTC),
            )
        ),
        control_key,
    )
    producer.flush()
    if on_progress is not None:
        on_progress(report.rows)
    return report


def _contacts(
    table: TableReader, mapping: ColumnMapping, options: ImportOptions
) -> Iterable[tuple[SourceRow, tuple[Contact, dict[str, str] | None]]]:
    for row in table.rows:
        yield row, contact_for(row, table.header, mapping, options)
