"""How the import command shows a dry run and a finished publish, for people and as JSON."""

from __future__ import annotations

from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from streams.dry_run import DryRunReport
from streams.importer import PublishReport
from streams.readers import TableReader


def _reasons(rejected: dict[str, int]) -> str:
    return ", ".join(f"{reason} {n:,}" for reason, n in sorted(rejected.items())) or "none"


def source_line(table: TableReader) -> str:
    details = ", ".join(f"{k} {v!r}" if k == "delimiter" else f"{k} {v}" for k, v in table.details.items())
    return f"{table.name}: {table.format}" + (f" ({details})" if details else "")


def publish_json(report: PublishReport) -> dict[str, Any]:
    return {
        "import_id": report.import_id,
        "org_id": report.org_id,
        "status": "publishing",
        "rows": report.rows,
        "valid": report.valid,
        "rejected": dict(sorted(report.rejected.items())),
        "seconds": round(report.seconds, 3),
        "rows_per_s": round(report.rows_per_s),
    }


def print_published(console: Console, report: PublishReport) -> None:
    console.print(
        f"import [bold]{report.import_id}[/]: published {report.rows:,} rows in {report.seconds:.1f} s"
        f" ({report.rows_per_s:,.0f} rows/s); valid {report.valid:,},"
        f" rejected by the importer: {_reasons(report.rejected)}",
        highlight=False,
    )


def print_dry_run(console: Console, report: DryRunReport, as_json: bool) -> None:
    if as_json:
        console.print_json(orjson.dumps(report.as_json()).decode())
        return
    mapping = Table("column", "field", title="mapping")
    for column, target in report.mapping.items():
        mapping.add_row(column, target)
    console.print(mapping)
    counts = Table(
        show_header=False, title=f"dry run of {report.source} ({report.format}): nothing published"
    )
    counts.add_row("rows", f"{report.rows:,}")
    counts.add_row("valid", f"{report.valid:,}")
    for reason, n in sorted(report.rejected.items()):
        counts.add_row(f"rejected: {reason}", f"{n:,}")
    counts.add_row("primary identity repeated in the file", f"{report.repeated_primary:,}")
    for key, value in report.details.items():
        counts.add_row(key, repr(value) if key == "delimiter" else value)
    if report.fallback_bytes:
        counts.add_row("bytes read as cp1252 (not in the detected encoding)", f"{report.fallback_bytes:,}")
    console.print(counts)
    for title, rows in (("sample rows", report.sample_rows), ("sample rejects", report.sample_rejects)):
        if rows:
            console.print(f"[bold]{title}[/]")
            for row in rows:
                console.print(orjson.dumps(row).decode(), highlight=False, soft_wrap=True)
