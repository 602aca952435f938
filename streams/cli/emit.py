"""Commands that publish events for other services and ops: ``leadstream emit …``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import orjson
import typer

from streams.cli.base import app, console, err_console, settings
from streams.emit import emit_deliveries
from streams.kafka import EventProducer, ensure_topics

emit_app = typer.Typer(
    help="Publish events, validated and keyed as the worker expects.", no_args_is_help=True
)
app.add_typer(emit_app, name="emit")


@contextmanager
def _open_lines(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        f = open(path, "rb")  # noqa: SIM115  (closed below; stdin must not be)
    except OSError as e:
        err_console.print(f"[bold red]error:[/] cannot read {path}: {e.strerror}")
        raise typer.Exit(2) from e
    with f:
        yield f


@emit_app.command("campaign-delivered")
def campaign_delivered(
    path: str = typer.Argument(..., metavar="FILE.jsonl", help="One event per line; '-' reads stdin"),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object"),
) -> None:
    """Validate and publish campaign_delivered events, keyed by their normalised identity.

    Each line is validated against the schema; an invalid line is reported with its number and
    not published, the rest go on. Exit code 1 when any line was invalid, 0 otherwise."""
    s = settings()

    def report_invalid(number: int, reason: str) -> None:
        err_console.print(f"line {number}: {reason}", markup=False, highlight=False, soft_wrap=True)

    # Topics created here get the worker's partition count: an auto-created topic might not.
    ensure_topics(s)
    with _open_lines(path) as lines:
        report = emit_deliveries(lines, EventProducer(s), s.topic_deliveries, report_invalid)
    if as_json:
        console.print_json(orjson.dumps(report.as_json()).decode())
    else:
        console.print(
            f"published {report.published} to {s.topic_deliveries}, {report.invalid} invalid"
            + (f", {report.blank} blank lines skipped" if report.blank else "")
        )
    if report.invalid:
        raise typer.Exit(1)
