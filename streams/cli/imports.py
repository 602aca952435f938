"""Commands that import files and watch imports."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import orjson
import typer
from rich.table import Table

from processors.contact import DEFAULT_MATCH_ON, ImportOptions
from processors.errors import LeadstreamError
from processors.mapping import (
    MappingError,
    map_headers,
    mapping_from_toml,
    mapping_to_toml,
    parse_overrides,
    unknown_columns,
)
from streams.cli.base import app, console, err_console, fail, settings
from streams.cli.import_views import print_dry_run, print_published, publish_json, source_line
from streams.db import connect
from streams.dry_run import dry_run as run_dry
from streams.error_report import write_error_report
from streams.importer import importer_producer, publish_import
from streams.imports_repo import TERMINAL, ImportSummary, get_import, list_imports
from streams.kafka import ensure_topics
from streams.progress import ImportProgress
from streams.readers import TableReader, open_table

imports_app = typer.Typer(help="Watch and manage imports.", no_args_is_help=True)
app.add_typer(imports_app, name="imports")


def _csv_option(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _overrides(table: TableReader, pairs: list[str], mapping_file: Path | None) -> dict[str, str]:
    """The mapping file's entries, then ``--map`` on top; a ``--map`` column must exist."""
    overrides: dict[str, str] = {}
    if mapping_file is not None and mapping_file.exists():
        overrides = mapping_from_toml(mapping_file.read_text(encoding="utf-8"))
        stale = unknown_columns(table.header, overrides)
        if stale:
            err_console.print(f"note: {mapping_file} maps columns this file lacks: {', '.join(stale)}")
    cli = parse_overrides(pairs)
    missing = unknown_columns(table.header, cli)
    if missing:
        fail(f"--map names columns the file does not have: {', '.join(map(repr, missing))}")
    return {**overrides, **cli}


@app.command("import")
def import_file(
    path: Path = typer.Argument(
        ..., help="Contact file: CSV/TSV, XLSX/XLS/ODS, JSON Lines, .gz of them, - = stdin"
    ),
    org: str = typer.Option(..., "--org", help="Organisation the leads belong to"),
    default_region: str | None = typer.Option(None, "--default-region", help="e.g. US, FR, GB"),
    mapping: list[str] = typer.Option([], "--map", help="Override: 'Column=field'"),
    mapping_file: Path | None = typer.Option(
        None,
        "--mapping",
        help="Mapping file (TOML): reused when it exists, else the mapping used is saved to it",
    ),
    save_mapping: Path | None = typer.Option(
        None, "--save-mapping", help="(Over)write the mapping used (TOML)"
    ),
    mode: str = typer.Option("fill", "--mode", help="fill | overwrite"),
    operation: str = typer.Option("upsert", "--operation", help="upsert | create | update"),
    match_on: str = typer.Option(",".join(DEFAULT_MATCH_ON), "--match-on"),
    phone_channels: str = typer.Option("phone", "--phone-channels", help="e.g. phone,whatsapp,sms"),
    encoding: str | None = typer.Option(
        None, "--encoding", help="e.g. utf-8, cp1252, utf-16 (default: detected)"
    ),
    delimiter: str | None = typer.Option(None, "--delimiter", help="e.g. ';' or tab (default: sniffed)"),
    sheet: str | None = typer.Option(None, "--sheet", help="Spreadsheet sheet: name or 1-based number"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Read the whole file, publish nothing, report"),
    sample: int = typer.Option(5, "--sample", help="Rows and rejects a dry run shows"),
    jobs: int | None = typer.Option(None, "--jobs", help="Processes that normalise rows (default: cores)"),
    quiet: bool = typer.Option(False, "--quiet", help="No progress"),
    wait: bool = typer.Option(False, "--wait", help="Block until the import completes"),
    timeout: float = typer.Option(3600.0, "--timeout", help="Seconds --wait waits"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """Publish a contact file as an import; print its id (and its summary with --wait)."""
    if mode not in ("fill", "overwrite"):
        fail(f"--mode must be fill or overwrite, not {mode!r}")
    if operation not in ("upsert", "create", "update"):
        fail(f"--operation must be upsert, create or update, not {operation!r}")
    options = ImportOptions(
        default_region=default_region.upper() if default_region else None,
        match_on=_csv_option(match_on),
        phone_channels=_csv_option(phone_channels),
        mode=mode,  # type: ignore[arg-type]
        operation=operation,  # type: ignore[arg-type]
    )
    try:
        table = open_table(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
    except LeadstreamError as e:
        fail(str(e))
    with table:
        try:
            column_mapping = map_headers(table.header, _overrides(table, mapping, mapping_file))
        except MappingError as e:
            fail(str(e))
        if mapping_file is not None and not mapping_file.exists():
            save_mapping = save_mapping or mapping_file
        if save_mapping is not None:
            save_mapping.write_text(mapping_to_toml(column_mapping.as_dict()), encoding="utf-8")
            err_console.print(f"mapping saved to {save_mapping}")
        if not (quiet or as_json):
            err_console.print(source_line(table), highlight=False)
        label = "dry run" if dry_run else "import"
        with ImportProgress(err_console, label, table.position, table.size, enabled=not quiet) as progress:
            try:
                if dry_run:
                    checked = run_dry(
                        table, column_mapping, options=options, jobs=jobs, sample=sample, on_progress=progress
                    )
                else:
                    s = settings()
                    ensure_topics(s)
                    report = publish_import(
                        table,
                        column_mapping,
                        org_id=org,
                        options=options,
                        settings=s,
                        producer=importer_producer(s),
                        jobs=jobs,
                        on_progress=progress,
                    )
            except LeadstreamError as e:
                fail(str(e))
    if dry_run:
        print_dry_run(console, checked, as_json)
        return
    if not as_json:
        print_published(err_console if wait else console, report)
    if not wait:
        if as_json:
            console.print_json(orjson.dumps(publish_json(report)).decode())
        return
    summary = _wait(report.import_id, timeout)
    _print_summary(summary, as_json)
    if summary.status != "completed":
        raise typer.Exit(1)


@imports_app.command("errors")
def errors(
    import_id: str,
    output: Path | None = typer.Option(None, "-o", "--output", help="CSV file to write (default: stdout)"),
    org: str | None = typer.Option(None, "--org", help="When the id exists in several orgs"),
) -> None:
    """Write an import's rejected and conflicting rows as CSV: line, reason, leads, original values."""
    with connect(settings().database_url.get_secret_value()) as conn:
        current = get_import(conn, import_id)
        try:
            if output is None:
                summary = write_error_report(conn, import_id, sys.stdout, org_id=org)
            else:
                # utf-8-sig: the BOM makes Excel read the file as UTF-8
                with output.open("w", newline="", encoding="utf-8-sig") as out:
                    summary = write_error_report(conn, import_id, out, org_id=org)
        except LeadstreamError as e:
            fail(str(e))
    where = f" to {output}" if output else ""
    err_console.print(
        f"{summary.rows:,} rows{where}: {summary.rejected:,} rejected,"
        f" {summary.conflicts:,} with an identity conflict",
        highlight=False,
    )
    if current is not None and current.status not in TERMINAL:
        err_console.print(f"note: import {import_id} is still {current.status}; the report may grow")


def _wait(import_id: str, timeout: float) -> ImportSummary:
    deadline = time.monotonic() + timeout
    with connect(settings().database_url.get_secret_value()) as conn:
        while True:
            summary = get_import(conn, import_id)
            if summary is not None and summary.status in TERMINAL:
                return summary
            if time.monotonic() > deadline:
                state = summary.status if summary else "unknown to the worker"
                done = f"{summary.processed}/{summary.total_rows}" if summary else "0"
                fail(f"import {import_id} still {state} after {timeout:.0f}s ({done} rows processed)", 2)
            time.sleep(0.2)


def _print_summary(summary: ImportSummary, as_json: bool) -> None:
    if as_json:
        console.print_json(orjson.dumps(summary.as_json()).decode())
        return
    table = Table(title=f"import {summary.import_id} ({summary.org_id})", show_header=False)
    table.add_row("status", summary.status)
    table.add_row("source", summary.source_name or "")
    table.add_row("rows", str(summary.total_rows if summary.total_rows is not None else "?"))
    table.add_row("processed", str(summary.processed))
    for name, n in summary.counts.items():
        table.add_row(name, str(n))
    if summary.error:
        table.add_row("error", summary.error)
    console.print(table)


@imports_app.command("status")
def status(
    import_id: str,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show an import's status and counts."""
    with connect(settings().database_url.get_secret_value()) as conn:
        summary = get_import(conn, import_id)
    if summary is None:
        fail(f"no import {import_id} (not yet seen by a worker, or wrong id)")
    _print_summary(summary, as_json)


@imports_app.command("wait")
def wait_for(
    import_id: str,
    timeout: float = typer.Option(3600.0, "--timeout"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Wait until an import completes: exit 0 when it does, non-zero when it fails or times out."""
    summary = _wait(import_id, timeout)
    _print_summary(summary, as_json)
    if summary.status != "completed":
        err_console.print(f"import {import_id} ended {summary.status}: {summary.error or ''}")
        raise typer.Exit(1)


@imports_app.command("list")
def list_cmd(
    org: str | None = typer.Option(None, "--org"),
    status_: str | None = typer.Option(None, "--status"),
    limit: int = typer.Option(50, "--limit"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List recent imports."""
    with connect(settings().database_url.get_secret_value()) as conn:
        rows = list_imports(conn, org, status_, limit)
    if as_json:
        console.print_json(orjson.dumps([r.as_json() for r in rows]).decode())
        return
    table = Table(
        "import",
        "org",
        "status",
        "rows",
        "processed",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "skipped",
        "cancelled",
        "conflicts",
    )
    for r in rows:
        table.add_row(
            r.import_id,
            r.org_id,
            r.status,
            str(r.total_rows or ""),
            str(r.processed),
            *(str(n) for n in r.counts.values()),  # COUNT_FIELDS order, as the columns
        )
    console.print(table)
