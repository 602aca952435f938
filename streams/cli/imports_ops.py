"""``leadstream imports cancel``: stop an import started with the wrong file."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import typer

from schemas.events import ImportCancelled
from streams.cli.base import console, fail, settings
from streams.cli.imports import imports_app
from streams.db import connect
from streams.importer import publish_cancel
from streams.imports_repo import TERMINAL, ImportsRepository, ImportSummary, get_import
from streams.kafka import EventProducer


@imports_app.command("cancel")
def cancel(
    import_id: str,
    org: str | None = typer.Option(None, "--org", help="Needed when no worker has seen the import yet"),
    wait: bool = typer.Option(False, "--wait", help="Wait until a worker has applied the cancel"),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds --wait waits"),
) -> None:
    """Cancel an import: its rows not yet processed are skipped and counted as cancelled.

    Rows already applied stay applied; the import ends `cancelled`.
    """
    s = settings()
    url = s.database_url.get_secret_value()
    with connect(url) as conn:
        summary = get_import(conn, import_id)
    if summary is None and org is None:
        fail(f"no worker has seen import {import_id} yet: pass --org to cancel it anyway")
    if summary is not None:
        if org is not None and org != summary.org_id:
            fail(f"import {import_id} belongs to org {summary.org_id}, not {org}")
        if summary.status == "cancelled":
            console.print(f"import {import_id} is already cancelled")
            return
        if summary.status in TERMINAL:
            fail(f"import {import_id} already ended {summary.status}: nothing to cancel")
    org_id = summary.org_id if summary is not None else str(org)
    # Applied in the database first, so no worker applies another row of the import from now
    # on, even one that has not consumed the control event yet; then published for the record.
    with connect(url) as conn:
        ImportsRepository(conn, lead_events_topic=s.topic_lead_events).apply_control(
            ImportCancelled(
                event_id=f"{import_id}:cancelled",
                import_id=import_id,
                org_id=org_id,
                cancelled_at=datetime.now(UTC),
            )
        )
    publish_cancel(EventProducer(s), s.topic_control, org_id, import_id)
    console.print(
        f"cancel of import {import_id} published: rows not yet processed will be skipped"
        " and counted as cancelled"
    )
    if wait:
        done = _wait_cancelled(url, import_id, timeout)
        console.print(f"import {import_id} is {done.status}: {done.processed} rows seen so far")


def _wait_cancelled(url: str, import_id: str, timeout: float) -> ImportSummary:
    deadline = time.monotonic() + timeout
    with connect(url) as conn:
        while True:
            summary = get_import(conn, import_id)
            if summary is not None and summary.status in TERMINAL:
                return summary
            if time.monotonic() > deadline:
                fail(f"no worker applied the cancel of {import_id} within {timeout:.0f}s: is one running?", 2)
            time.sleep(0.2)
