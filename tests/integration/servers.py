"""Find the Kafka broker and PostgreSQL server the integration tests talk to.

Order: what the environment names (KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL), then testcontainers
where a Docker engine answers, then the project's own local servers (scripts/servers.sh up).
Never a skip: a missing broker or database is a test failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from streams.settings import LOCAL_DATABASE, LOCAL_KAFKA

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Servers:
    bootstrap: str
    database_url: str  # the maintenance database; tests create their own


def _docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def start_servers(stack: ExitStack) -> Servers:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    database = os.environ.get("DATABASE_URL")
    if bootstrap and database:
        return Servers(bootstrap, database)
    if _docker_engine():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        if not bootstrap:
            kafka = stack.enter_context(KafkaContainer().with_kraft())
            bootstrap = kafka.get_bootstrap_server()
        if not database:
            pg = stack.enter_context(PostgresContainer("postgres:15", driver=None))
            database = pg.get_connection_url()
        return Servers(bootstrap, database)
    env = dict(os.environ)
    subprocess.run(["bash", str(ROOT / "scripts" / "servers.sh"), "up"], check=True, env=env, cwd=ROOT)
    return Servers(bootstrap or LOCAL_KAFKA, database or LOCAL_DATABASE)
