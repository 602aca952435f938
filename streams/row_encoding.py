"""Source rows to keyed ``lead_import_row`` payloads: the importer's hot path, run in worker processes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from processors.contact import Contact, ImportOptions, build_contact, partition_key
from processors.mapping import ColumnMapping
from processors.model import RejectReason
from schemas.codec import dumps
from streams.readers.table import SourceRow, column_label

# Kafka refuses records over message.max.bytes (4 MB): a row this large is a broken file, not a contact.
MAX_ROW_BYTES = 1_000_000
ROW_TOO_LARGE = "row_too_large"
_RAW_CELL_LIMIT = 200


@dataclass(frozen=True, slots=True)
class EncodeContext:
    """Everything a worker process needs to encode rows of one import."""

    org_id: str
    import_id: str
    header: tuple[str, ...]
    mapping: ColumnMapping
    options: ImportOptions


# (line, key, value, rejection): a plain tuple, the cheapest thing to pickle back from a worker.
# ``rejection`` is None when the row has a primary identity, which ``key`` then names.
Encoded = tuple[int, bytes, bytes, str | None]


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
        "opted_out": [{"channel": i.channel, "identifier": i.identifier} for i in contact.opted_out],
        "mode": options.mode,
        "operation": options.operation,
        "rejection": contact.rejection,
        "raw": raw,
    }


def _cells_by_column(header: Sequence[str], cells: Sequence[str]) -> dict[str, str]:
    """The non-empty cells of a row under their column names (``column 12`` past the header)."""
    width = len(header)
    return {header[i] if i < width else column_label(i + 1): c for i, c in enumerate(cells) if c}


def contact_for(
    row: SourceRow, header: Sequence[str], mapping: ColumnMapping, options: ImportOptions
) -> tuple[Contact, dict[str, str] | None]:
    """Normalise one source row; importer-side rejects keep the original cells for the report."""
    if row.rejection is not None:
        return Contact((), rejection=row.rejection), row.raw or _cells_by_column(header, row.cells)
    if len(row.cells) > len(header):
        return Contact((), rejection=RejectReason.TOO_MANY_FIELDS.value), _cells_by_column(header, row.cells)
    contact = build_contact(row.cells, mapping, options)
    if contact.rejection is not None:
        return contact, _cells_by_column(header, row.cells)
    return contact, None


def _value(ctx: EncodeContext, line: int, contact: Contact, raw: dict[str, str] | None) -> bytes:
    payload = import_row_payload(
        org_id=ctx.org_id,
        import_id=ctx.import_id,
        row_number=line,
        contact=contact,
        options=ctx.options,
        raw=raw,
    )
    return dumps(payload)


def encode_row(ctx: EncodeContext, row: SourceRow) -> Encoded:
    contact, raw = contact_for(row, ctx.header, ctx.mapping, ctx.options)
    value = _value(ctx, row.line, contact, raw)
    if b"\\u0000" in value:
        # PostgreSQL text cannot hold NUL: drop it here, or the worker would dead-letter the row
        # and the import would never reach its total.
        row = SourceRow(row.line, [c.replace("\x00", "") for c in row.cells], row.rejection, row.raw)
        contact, raw = contact_for(row, ctx.header, ctx.mapping, ctx.options)
        value = _value(ctx, row.line, contact, raw)
    if len(value) > MAX_ROW_BYTES:
        contact = Contact((), rejection=ROW_TOO_LARGE)
        cut = {k: v[:_RAW_CELL_LIMIT] for k, v in _cells_by_column(ctx.header, row.cells).items()}
        value = _value(ctx, row.line, contact, cut)
    key = partition_key(ctx.org_id, contact.primary, f"{ctx.import_id}:{row.line}")
    return (row.line, key, value, contact.rejection)


def encode_rows(ctx: EncodeContext, rows: Sequence[SourceRow]) -> list[Encoded]:
    return [encode_row(ctx, row) for row in rows]
