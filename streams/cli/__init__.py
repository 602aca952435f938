"""The ``leadstream`` command line: one typer app, each command group in its own module."""

from __future__ import annotations

from streams.cli import dlq, doctor, emit, imports, imports_ops, ops, replay  # noqa: F401  (registers the commands)
from streams.cli.base import app, main

__all__ = ["app", "main"]
