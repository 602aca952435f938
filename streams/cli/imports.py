"""Commands that import files and watch imports."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import typer
from rich.table import Table

from processors.contact import DEFAULT_MATCH_ON, ImportOptions
from processors.mapping import map_headers, parse_overrides
from streams.cli.base import app, console, err_console, fail, settings
from streams.db import connect
from streams.importer import publish_import
from streams.imports_repo import TERMINAL, ImportSummary, get_import, list_imports
from streams.kafka import EventProducer, ensure_topics
from streams.readers import open_table

imports_app = typer.Typer(help="Watch and manage imports.", no_args_is_help=True)
app.add_typer(imports_app, name="imports")


def _csv_option(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


@app.command("import")
def import_file(
    path: Path = typer.Argument(..., help="Contact file (CSV)"),
    org: str = typer.Option(..., "--org", help="Organisation the leads belong to"),
    default_region: str | None = typer.Option(None, "--default-region", help="e.g. US, FR, GB"),
    mapping: list[str] = typer.Option([], "--map", help="Override: 'Column=field'"),
    mode: str = typer.Option("fill", "--mode", help="fill | overwrite"),
    operation: str = typer.Option("upsert", "--operation", help="upsert | create | update"),
    match_on: str = typer.Option(",".join(DEFAULT_MATCH_ON), "--match-on"),
    phone_channels: str = typer.Option("phone", "--phone-channels", help="e.g. phone,whatsapp,sms"),
    encoding: str | None = typer.Option(None, "--encoding"),
    delimiter: str | None = typer.Option(None, "--delimiter"),
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
    s = settings()
    table = open_table(path, encoding=encoding, delimiter=delimiter)
    try:
        column_mapping = map_headers(table.header, parse_overrides(mapping))
        ensure_topics(s)
        report = publish_import(
            table, column_mapping, org_id=org, options=options, settings=s, producer=EventProducer(s)
        )
    finally:
        table.close()
    if not as_json:
        console.print(f"import [bold]{report.import_id}[/]: published {report.rows} rows")
    if not wait:
        if as_json:
            console.print_json(
                orjson.dumps(
                    {"import_id": report.import_id, "status": "publishing", "rows": report.rows}
                ).decode()
            )
        return
    summary = _wait(report.import_id, timeout)
    _print_summary(summary, as_json)
    if summary.status != "completed":
        raise typer.Exit(1)


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
        "conflicts",
    )
    for r in rows:
        table.add_row(
            r.import_id,
            r.org_id,
            r.status,
            str(r.total_rows or ""),
            str(r.processed),
            *(str(r.counts[k]) for k in ("created", "updated", "unchanged", "rejected", "conflicts")),
        )
    console.print(table)
