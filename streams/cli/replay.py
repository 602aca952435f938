"""``leadstream replay``: re-read the lead topics from a point in time, or republish one import."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from streams.cli.base import app, console, fail, settings
from streams.db import connect
from streams.imports_repo import get_import
from streams.kafka import EventProducer
from streams.offsets import admin_client, alter_offsets, describe_group
from streams.replay import (
    PartitionReset,
    find_import_rows,
    plan_offset_replay,
    refusal,
    republish_import,
)


def _parse_time(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--from-time wants an ISO 8601 time such as 2024-05-01T12:00:00Z, not {text!r}")
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _print_plan(group_id: str, since: datetime | None, plan: list[PartitionReset]) -> None:
    what = "their beginning" if since is None else since.isoformat()
    table = Table(
        "topic",
        "partition",
        "log start",
        "log end",
        "committed",
        "new offset",
        "re-read",
        title=f"replay of consumer group {group_id} from {what}",
    )
    for r in plan:
        committed = "none" if r.committed is None else str(r.committed)
        new = "unchanged" if r.new_offset is None else str(r.new_offset)
        table.add_row(r.topic, str(r.partition), str(r.start), str(r.end), committed, new, str(r.records))
    console.print(table)


@app.command()
def replay(
    group: str | None = typer.Option(
        None, "--group", help="Worker consumer group (default: the configured one)"
    ),
    from_beginning: bool = typer.Option(False, "--from-beginning", help="Replay everything still retained"),
    from_time: str | None = typer.Option(None, "--from-time", help="Replay records since an ISO 8601 time"),
    import_id: str | None = typer.Option(None, "--import", help="Republish the rows of one import"),
    topics: list[str] = typer.Option([], "--topic", help="Only these topics (default: all the group reads)"),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation"),
) -> None:
    """Replay: reset the worker group's offsets, or republish one import's rows.

    The worker's ledger makes a replayed record that was applied before a no-op, so a replay
    changes nothing that is already right and applies what was missed.
    """
    if sum((from_beginning, from_time is not None, import_id is not None)) != 1:
        fail("give exactly one of --from-beginning, --from-time ISO8601, --import ID")
    if import_id is not None:
        _replay_import(import_id, yes)  # the worker group reads the republished rows as new ones
        return
    s = settings()
    group_id = group or s.worker_group
    client = admin_client(s)
    since = _parse_time(from_time) if from_time is not None else None
    reason = refusal(describe_group(client, group_id))
    if reason:
        fail(reason)
    plan = plan_offset_replay(client, s, group_id, since=since, topics=topics or None)
    _print_plan(group_id, since, plan)
    moves = {(r.topic, r.partition): r.new_offset for r in plan if r.new_offset is not None}
    if not moves:
        console.print("nothing to replay: the group has not read past that point on any partition")
        return
    console.print(
        f"will move {len(moves)} offsets of {group_id} back: "
        f"{sum(r.records for r in plan)} records will be read again when the workers start"
    )
    if not yes:
        typer.confirm("Proceed?", abort=True)
    # A worker may have joined while we asked: the broker refuses then, but say why first.
    reason = refusal(describe_group(client, group_id))
    if reason:
        fail(reason)
    alter_offsets(client, group_id, moves)
    console.print(f"offsets of {group_id} reset; start the workers (`leadstream worker`) to replay")


def _replay_import(import_id: str, yes: bool) -> None:
    s = settings()
    with connect(s.database_url.get_secret_value()) as conn:
        summary = get_import(conn, import_id)
    if summary is None:
        fail(f"no import {import_id} (not yet seen by a worker, or wrong id)")
    console.print(f"scanning {s.topic_rows} for the rows of import {import_id} ({summary.org_id})…")
    found = find_import_rows(admin_client(s), s, import_id, summary.started_at)
    if not found.rows:
        fail(f"no row of import {import_id} is left in {s.topic_rows} (retention?)")
    for (topic, partition), (first, last) in sorted(found.ranges.items()):
        n = found.counts.get((topic, partition), 0)
        console.print(f"  {topic}[{partition}] offsets {first}..{last - 1}: {n} rows")
    expected = summary.total_rows
    note = "" if expected in (None, found.rows) else f" (the import has {expected}; the rest are gone)"
    console.print(f"will republish {found.rows} rows of import {import_id} to {s.topic_rows}{note}")
    if not yes:
        typer.confirm("Proceed?", abort=True)
    n = republish_import(s, found, EventProducer(s))
    console.print(f"republished {n} rows; rows already applied are recognised and change nothing")
