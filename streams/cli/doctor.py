"""``leadstream doctor``: is the pipeline healthy, and how far behind is it?"""

from __future__ import annotations

import orjson
import typer

from streams.cli.base import app, console, err_console, settings
from streams.doctor import run_checks


@app.command()
def doctor(
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds to wait for the broker"),
    max_lag: int | None = typer.Option(None, "--max-lag", help="Fail when the group is further behind"),
    verbose: bool = typer.Option(True, "--verbose/--quiet", help="Per-topic and per-partition lines"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Check the broker, topics and co-partitioning, migrations, the worker group and its lag.

    Exits non-zero when a check fails, with one line per failed check on stderr.
    """
    checks = run_checks(settings(), timeout=timeout, max_lag=max_lag)
    failed = [c for c in checks if not c.ok]
    if as_json:
        console.print_json(
            orjson.dumps(
                [{"check": c.name, "ok": c.ok, "summary": c.summary, "details": c.details} for c in checks]
            ).decode()
        )
    else:
        for c in checks:
            mark = "[green]ok  [/]" if c.ok else "[bold red]FAIL[/]"
            console.print(f"{mark} {c.name:15} {c.summary}", highlight=False, soft_wrap=True)
            if verbose:
                for line in c.details:
                    console.print(f"       {line}", highlight=False, soft_wrap=True)
    for c in failed:
        err_console.print(f"doctor: {c.name}: {c.summary}", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
