"""The core never imports the Kafka client, the database driver or Faust."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = {"faust", "confluent_kafka", "aiokafka", "psycopg", "psycopg_pool", "streams", "mode"}
CORE = Path(__file__).resolve().parents[2] / "processors"


def test_processors_import_no_io_library() -> None:
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
