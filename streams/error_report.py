"""An import's error report: each rejected or conflicting row with its line, its values and the reason."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import psycopg

from processors.errors import LeadstreamError
from processors.mapping import ATTRIBUTE_PREFIX
from streams.db import translated

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
REPORT_COLUMNS = ("line", "reason", "lead_id", "owner_lead_id")
CONFLICT = "identity_conflict"
_FETCH = 2000

_ROWS_SQL = f"""
WITH c AS (
    SELECT row_number,
           string_agg(DISTINCT '{CONFLICT}:' || channel, ';' ORDER BY '{CONFLICT}:' || channel) AS reasons,
           string_agg(DISTINCT owner_lead_id::text, ';' ORDER BY owner_lead_id::text) AS owners
    FROM identity_conflicts
    WHERE org_id = %(org)s AND import_id = %(import)s
    GROUP BY row_number
)
SELECT r.row_number, r.outcome, r.reason, r.lead_id, c.reasons, c.owners, r.row_data
FROM import_row_results r LEFT JOIN c USING (row_number)
WHERE r.org_id = %(org)s AND r.import_id = %(import)s AND (r.outcome = 'rejected' OR r.conflicts > 0)
ORDER BY r.row_number
"""
_KEYS_SQL = """
SELECT DISTINCT k FROM import_row_results r, jsonb_object_keys(r.row_data) AS k
WHERE r.org_id = %(org)s AND r.import_id = %(import)s AND (r.outcome = 'rejected' OR r.conflicts > 0)
  AND jsonb_typeof(r.row_data) = 'object'
"""


class ReportError(LeadstreamError):
    """The report cannot be made (no such import, or an ambiguous id)."""


def escape_cell(value: str) -> str:
    """Make a cell inert in a spreadsheet: a leading ``'`` shows as text, never runs."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


@dataclass
class ReportLayout:
    """The report's columns: the file's own, in file order, then any other keys the rows carry.

    Rejected rows keep the file's cells under their column names; rows with a conflict were
    stored as the lead fields they set, which the import's mapping turns back into columns.
    """

    columns: list[str]
    by_field: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, mapping: Sequence[str], keys: Iterable[str]) -> ReportLayout:
        pairs = [entry.rpartition("=")[::2] for entry in mapping]
        columns = [column for column, _ in pairs]
        by_field: dict[str, str] = {}
        for column, target in pairs:
            name = target[len(ATTRIBUTE_PREFIX) :] if target.startswith(ATTRIBUTE_PREFIX) else target
            by_field.setdefault(name, column)
        known = set(columns)
        extra = sorted({k for k in keys if k not in known and k not in by_field})
        return cls(columns + extra, by_field)

    def __post_init__(self) -> None:
        self._known = set(self.columns)

    def cells(self, values: dict[str, Any]) -> list[str]:
        placed: dict[str, str] = {}
        for key, value in values.items():
            column = key if key in self._known else self.by_field.get(key, key)
            placed.setdefault(column, "" if value is None else str(value))
        return [placed.get(c, "") for c in self.columns]


@dataclass
class ReportSummary:
    org_id: str
    import_id: str
    rejected: int = 0
    conflicts: int = 0

    @property
    def rows(self) -> int:
        return self.rejected + self.conflicts


def _find(conn: psycopg.Connection, import_id: str, org_id: str | None) -> tuple[str, list[str]]:
    found = conn.execute(
        "SELECT org_id, options->'mapping' FROM imports"
        " WHERE import_id = %s AND (%s::text IS NULL OR org_id = %s)",
        (import_id, org_id, org_id),
    ).fetchall()
    if not found:
        raise ReportError(f"no import {import_id}" + (f" in org {org_id}" if org_id else ""))
    if len(found) > 1:
        raise ReportError(f"import id {import_id} exists in several orgs: pass --org")
    org, mapping = found[0]
    return org, [m for m in mapping or [] if isinstance(m, str)]


ResultRow = tuple[int, str, str | None, int | None, str | None, str | None, Any]


def write_rows(
    out: TextIO, layout: ReportLayout, rows: Iterable[ResultRow], summary: ReportSummary
) -> ReportSummary:
    """The CSV itself: ``rows`` are (line, outcome, reason, lead_id, conflict reasons, owners, row_data)."""
    writer = csv.writer(out)
    writer.writerow([escape_cell(c) for c in (*REPORT_COLUMNS, *layout.columns)])
    for line, outcome, reason, lead_id, conflicts, owners, row_data in rows:
        if outcome == "rejected":
            summary.rejected += 1
            why, lead, owner = reason or "rejected", "", ""
        else:
            summary.conflicts += 1
            why, lead, owner = conflicts or CONFLICT, str(lead_id or ""), owners or ""
        values = layout.cells(row_data if isinstance(row_data, dict) else {})
        writer.writerow([escape_cell(c) for c in (str(line), why, lead, owner, *values)])
    return summary


def write_error_report(
    conn: psycopg.Connection, import_id: str, out: TextIO, *, org_id: str | None = None
) -> ReportSummary:
    """Write the report as CSV to ``out``, streaming rows from a server-side cursor."""
    with translated(), conn.transaction():
        org, mapping = _find(conn, import_id, org_id)
        params = {"org": org, "import": import_id}
        keys = [k for (k,) in conn.execute(_KEYS_SQL, params)]
        layout = ReportLayout.of(mapping, keys)
        with conn.cursor(name="error_report") as cur:
            cur.itersize = _FETCH
            cur.execute(_ROWS_SQL, params)
            return write_rows(out, layout, cur, ReportSummary(org, import_id))
