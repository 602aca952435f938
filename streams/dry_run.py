"""Read a whole file as an import would, publish nothing, and report what the import would do."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from processors.contact import ImportOptions
from processors.mapping import ColumnMapping
from streams.normalize_pool import default_jobs, encoded_rows
from streams.readers import TableReader
from streams.readers.encoding import fallback_bytes
from streams.row_encoding import EncodeContext, Encoded
from streams.seen_keys import SeenKeys

SAMPLE_ROWS = 5
_SEEN_BATCH = 5000
PROGRESS_EVERY = 2000


@dataclass
class DryRunReport:
    source: str
    format: str
    details: dict[str, str]
    mapping: dict[str, str]
    rows: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    repeated_primary: int = 0  # rows whose primary identity an earlier row of the file has
    fallback_bytes: int = 0  # bytes the detected encoding could not decode (read as cp1252)
    seconds: float = 0.0
    sample_rows: list[dict[str, Any]] = field(default_factory=list)
    sample_rejects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def valid(self) -> int:
        return self.rows - sum(self.rejected.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            **self.details,
            "mapping": self.mapping,
            "rows": self.rows,
            "valid": self.valid,
            "rejected": dict(sorted(self.rejected.items())),
            "repeated_primary": self.repeated_primary,
            "undecodable_bytes": self.fallback_bytes,
            "seconds": round(self.seconds, 3),
            "sample_rows": self.sample_rows,
            "sample_rejects": self.sample_rejects,
        }


def _sample(row: Encoded) -> dict[str, Any]:
    line, _, value, rejection = row
    event = orjson.loads(value)
    if rejection is not None:
        return {"line": line, "reason": rejection, "values": event["raw"] or {}}
    out = {"line": line, "identities": [f"{i['channel']}:{i['identifier']}" for i in event["identities"]]}
    return out | {k: event[k] for k in ("profile", "attributes") if event[k]}


def dry_run(
    table: TableReader,
    mapping: ColumnMapping,
    *,
    options: ImportOptions,
    org_id: str = "dry-run",
    jobs: int | None = None,
    sample: int = SAMPLE_ROWS,
    on_progress: Callable[[int], None] | None = None,
) -> DryRunReport:
    """Normalise every row exactly as :func:`streams.importer.publish_import` would."""
    report = DryRunReport(table.name, table.format, dict(table.details), mapping.as_dict())
    started, fallback_before = time.monotonic(), fallback_bytes()
    ctx = EncodeContext(org_id, "dry-run", tuple(table.header), mapping, options)
    seen, keys = SeenKeys(), []
    try:
        for row in encoded_rows(table.rows, ctx, jobs=default_jobs(table.size) if jobs is None else jobs):
            report.rows += 1
            _, key, _, rejection = row
            if rejection is None:
                keys.append(key)
                if len(report.sample_rows) < sample:
                    report.sample_rows.append(_sample(row))
            else:
                report.rejected[rejection] = report.rejected.get(rejection, 0) + 1
                if len(report.sample_rejects) < sample:
                    report.sample_rejects.append(_sample(row))
            if len(keys) >= _SEEN_BATCH:
                report.repeated_primary += seen.add(keys)
                keys.clear()
            if on_progress is not None and report.rows % PROGRESS_EVERY == 0:
                on_progress(report.rows)
        report.repeated_primary += seen.add(keys)
    finally:
        seen.close()
    report.seconds = time.monotonic() - started
    report.fallback_bytes = fallback_bytes() - fallback_before
    if on_progress is not None:
        on_progress(report.rows)
    return report
