"""``leadstream dlq``: list and show dead letters, and re-drive them to their source topic."""

from __future__ import annotations

from collections import Counter

import orjson
import typer
from rich.table import Table

from streams.cli.base import app, console, fail, settings
from streams.db import connect
from streams.dlq import Letter, dlq_topics, read_letters, redrive, redriven
from streams.kafka import EventProducer
from streams.offsets import worker_topics

dlq_app = typer.Typer(help="Dead letters: inspect and re-drive.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")

TopicOption = typer.Option(None, "--topic", help="Source or dead-letter topic (default: all)")


def _letter_json(x: Letter, redriven_at: object) -> dict[str, object]:
    return {
        "n": x.offset,
        "dlq_topic": x.topic,
        "partition": x.partition,
        "reason": x.reason,
        "detail": x.detail,
        "source_topic": x.source_topic,
        "source_partition": x.source_partition,
        "source_offset": x.source_offset,
        "failed_at": x.failed_at.isoformat() if x.failed_at else None,
        "redriven_at": redriven_at,
    }


@dlq_app.command("list")
def list_cmd(
    topic: str | None = TopicOption,
    where: str | None = typer.Option(None, "--where", help="Only this reason"),
    limit: int = typer.Option(100, "--limit", help="Show the most recent N"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List dead letters with their reasons, source offsets and whether they were re-driven."""
    s = settings()
    letters = [x for x in read_letters(s, dlq_topics(s, topic)) if where is None or x.reason == where]
    with connect(s.database_url.get_secret_value()) as conn:
        done = redriven(conn, letters)
    shown = letters[-limit:] if limit > 0 else letters
    if as_json:
        rows = [_letter_json(x, done[x.key_].isoformat() if x.key_ in done else None) for x in shown]
        console.print_json(orjson.dumps(rows).decode())
        return
    table = Table("N", "dead-letter topic", "reason", "source", "failed at", "redriven", "detail")
    for x in shown:
        at = done.get(x.key_)
        table.add_row(
            str(x.offset) if x.partition == 0 else f"{x.partition}:{x.offset}",
            x.topic,
            x.reason,
            x.source,
            x.failed_at.strftime("%Y-%m-%d %H:%M:%S") if x.failed_at else "",
            at.strftime("%Y-%m-%d %H:%M:%S") if at else "",
            x.detail[:80],
        )
    console.print(table)
    pending = Counter((x.topic, x.reason) for x in letters if x.key_ not in done)
    console.print(
        f"{len(letters)} dead letters, {len(letters) - sum(pending.values())} re-driven"
        + "".join(f"; {n} {reason} in {t} to redrive" for (t, reason), n in sorted(pending.items()))
    )


@dlq_app.command("show")
def show(
    n: int = typer.Argument(..., help="The dead letter's N (its offset in the dead-letter topic)"),
    topic: str | None = TopicOption,
) -> None:
    """Show one dead letter: reason, source offset, headers, key and value."""
    s = settings()
    letters = read_letters(s, dlq_topics(s, topic), offset=n)
    if not letters:
        fail(f"no dead letter {n} in {', '.join(dlq_topics(s, topic))}")
    if len(letters) > 1:
        fail(f"dead letter {n} exists in {', '.join(x.topic for x in letters)}: pass --topic")
    x = letters[0]
    with connect(s.database_url.get_secret_value()) as conn:
        at = redriven(conn, [x]).get(x.key_)
    table = Table(show_header=False, title=f"dead letter {x.ref}")
    for name, value in (
        ("reason", x.reason),
        ("detail", x.detail),
        ("source", x.source),
        ("failed at", x.failed_at.isoformat() if x.failed_at else ""),
        ("redriven at", at.isoformat() if at else "not yet"),
        ("key", (x.key or b"").decode("utf-8", errors="replace")),
        ("value", (x.value or b"").decode("utf-8", errors="replace")),
    ):
        table.add_row(name, value)
    console.print(table)


@dlq_app.command("redrive")
def redrive_cmd(
    topic: str | None = TopicOption,
    where: str | None = typer.Option(None, "--where", help="Only letters with this reason"),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation"),
) -> None:
    """Re-publish dead letters not yet re-driven to their source topic (after the cause is fixed)."""
    s = settings()
    letters = [x for x in read_letters(s, dlq_topics(s, topic)) if where is None or x.reason == where]
    known = set(worker_topics(s))
    foreign = [x for x in letters if x.source_topic not in known]
    for x in foreign:
        console.print(f"skipping {x.ref}: its source topic {x.source_topic} is not a leadstream topic")
    with connect(s.database_url.get_secret_value()) as conn:
        done = redriven(conn, letters)
        todo = [x for x in letters if x.key_ not in done and x.source_topic in known]
        if not todo:
            console.print(f"nothing to redrive ({len(done)} of {len(letters)} matching letters were already)")
            return
        plan = Counter((x.topic, x.source_topic, x.reason) for x in todo)
        console.print(f"will re-publish {len(todo)} dead letters to their source topic:")
        for (dlq, src, reason), n in sorted(plan.items()):
            console.print(f"  {n:>8} {reason:20} {dlq} -> {src}")
        if not yes:
            typer.confirm("Proceed?", abort=True)
        sent = redrive(conn, EventProducer(s), todo)
    console.print(
        f"re-drove {len(sent)} dead letters"
        + (f" ({len(todo) - len(sent)} were taken by another redrive)" if len(sent) < len(todo) else "")
    )
