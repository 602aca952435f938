"""Commands that run or set up the pipeline: migrate, worker, topics."""

from __future__ import annotations

import typer

from streams.cli.base import app, console, settings
from streams.db import connect
from streams.kafka import ensure_topics, topic_specs
from streams.migrate import migrate as apply_migrations

topics_app = typer.Typer(help="Kafka topics of leadstream.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")


@app.command()
def migrate() -> None:
    """Apply pending database migrations (a second run is a no-op)."""
    with connect(settings().database_url.get_secret_value()) as conn:
        applied = apply_migrations(conn)
    if applied:
        for name in applied:
            console.print(f"applied {name}")
    else:
        console.print("database is up to date")


@app.command()
def worker(loglevel: str = typer.Option("info", help="Faust log level")) -> None:
    """Run a worker: consume import rows, deliveries and control events into PostgreSQL."""
    from streams.app import run_worker

    run_worker(settings(), loglevel=loglevel)


@topics_app.command("create")
def topics_create() -> None:
    """Create the topics (and their .dlq topics) with explicit partitions and retention."""
    s = settings()
    created = ensure_topics(s)
    for spec in topic_specs(s):
        state = "created" if spec.name in created else "exists"
        console.print(
            f"{spec.name:32} partitions={spec.partitions:<3} retention.ms={spec.retention_ms:<12} {state}"
        )
