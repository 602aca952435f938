"""The root typer app, shared console and error handling of the CLI."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console

from processors.errors import LeadstreamError
from streams.settings import Settings, get_settings

app = typer.Typer(
    name="leadstream",
    help="Bulk lead ingestion on Kafka and PostgreSQL.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def settings() -> Settings:
    return get_settings()


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def main() -> None:
    try:
        app()
    except LeadstreamError as e:
        err_console.print(f"[bold red]error:[/] {e}")
        sys.exit(1)
