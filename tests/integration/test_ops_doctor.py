"""``leadstream doctor``: healthy with a worker; one clear line per failed check otherwise."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import SecretStr

from streams.kafka import TopicSpec, ensure_topics
from streams.migrate import discover
from streams.offsets import admin_client
from tests.integration.harness import Stack, wait_for
from tests.integration.ops_cli import caught_up, contacts_csv, group_members, run_cli


def failures(stderr: str) -> dict[str, str]:
    """``{check: reason}`` from doctor's ``doctor: CHECK: REASON`` lines."""
    out = {}
    for line in stderr.splitlines():
        if line.startswith("doctor: "):
            check, _, reason = line.removeprefix("doctor: ").partition(": ")
            out[check] = reason
    return out


def test_doctor_fails_with_a_clear_line_when_the_broker_is_down(stack: Stack) -> None:
    # Nothing listens on port 1: the broker is "down" for this command only.
    r = run_cli(stack, "doctor", "--timeout", "2", kafka_bootstrap_servers="127.0.0.1:1")
    assert r.returncode == 1
    assert list(failures(r.stderr)) == ["broker"]
    assert failures(r.stderr)["broker"].startswith("unreachable at 127.0.0.1:1")
    assert len(r.stderr.strip().splitlines()) == 1
    assert "migrations      all applied" in r.stdout  # the database checks still ran


def test_doctor_passes_with_a_worker_and_shows_members_and_lag(stack: Stack, tmp_path: Path) -> None:
    stack.start_worker()
    report = stack.publish_file(contacts_csv(tmp_path / "c.csv", 50), "org-h")
    stack.wait_import(report.import_id)
    wait_for(lambda: caught_up(stack) and group_members(stack) == 1, what="a settled worker")

    r = run_cli(stack, "doctor", "--max-lag", "0")
    assert r.returncode == 0, r.stdout + r.stderr
    s = stack.settings
    assert f"{s.topic_rows}: 4 partitions" in r.stdout
    assert "worker group    " + f"{s.worker_group}: 1 members" in r.stdout
    assert "lag             0 records behind" in r.stdout
    assert f"{s.topic_rows}[0]: lag 0 (committed " in r.stdout


def test_doctor_reports_broken_copartitioning_pending_migrations_and_no_worker(stack: Stack) -> None:
    s = stack.settings
    odd = f"{s.topic_deliveries}.odd"
    ensure_topics(s, [TopicSpec(odd, 2, s.rows_retention_ms), TopicSpec(f"{odd}.dlq", 1, s.dlq_retention_ms)])
    empty = f"{stack.name}_empty"
    with psycopg.connect(stack.servers.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{empty}"')
    try:
        url = make_conninfo(**{**conninfo_to_dict(stack.database_url), "dbname": empty})
        r = run_cli(stack, "doctor", topic_deliveries=odd, database_url=SecretStr(url))
    finally:
        admin_client(s).delete_topics([odd, f"{odd}.dlq"])
        with psycopg.connect(stack.servers.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{empty}" WITH (FORCE)')
    assert r.returncode == 1
    found = failures(r.stderr)
    assert sorted(found) == ["co-partitioning", "migrations", "worker group"]
    assert found["co-partitioning"] == (
        f"{s.topic_rows} has 4 partitions but {odd} has 2: give both the same count"
    )
    every = discover()
    names = ", ".join(m.path.name for m in every)
    assert found["migrations"] == f"{len(every)} pending ({names}): run `leadstream migrate`"
    assert "no active member" in found["worker group"]
