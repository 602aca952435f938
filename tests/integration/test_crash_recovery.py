"""A worker killed with -9, cut off from PostgreSQL or stopped mid-outage loses and doubles nothing."""

from __future__ import annotations

import random
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import psycopg

from tests.integration.datagen import write_contacts, write_seed
from tests.integration.harness import (
    FAST_FAILOVER,
    Stack,
    WorkerProcess,
    free_port,
    import_exactly,
    org_state,
    wait_for,
    wait_processed,
)
from tests.integration.kafka_tools import read_topic
from tests.integration.ops_cli import scrape

ROWS = 50_000
SEED = 500
BATCH = 2000
KILLS = 3
DEADLINE = 900.0  # generous: a loaded 2-core machine, three restarts


def _worker(stack: Stack) -> tuple[WorkerProcess, int]:
    port = free_port()
    return stack.start_worker(extra_env=FAST_FAILOVER, batch_size=BATCH, metrics_port=port), port


def _redelivered(port: int) -> int:
    """Records a restarted worker found already in the ledger: committed, offsets not yet."""
    return int(scrape(port)[("leadstream_redelivered_total", ())])


def _outbox_drained(stack: Stack) -> bool:
    return stack.scalar("SELECT count(*) FROM outbox") == 0


def _processed(stack: Stack, org: str) -> int:
    return int(stack.scalar("SELECT coalesce(sum(processed), 0) FROM imports WHERE org_id = %s", (org,)))


def test_kill_9_during_a_50k_import_ends_as_a_clean_run(stack: Stack, tmp_path: Path) -> None:
    seed_file, main_file = tmp_path / "seed.csv", tmp_path / "contacts.csv"
    seed_counts = write_seed(seed_file, SEED)
    counts = write_contacts(main_file, ROWS, seed=SEED)
    worker, port = _worker(stack)

    # The reference: the same files into another org, one worker, nothing killed.
    import_exactly(stack, seed_file, "clean", seed_counts)
    import_exactly(stack, main_file, "clean", counts, DEADLINE)
    import_exactly(stack, seed_file, "crashed", seed_counts)

    # Random row counts, so each kill lands at a random point of a batch or between two.
    marks = [round(random.uniform(0.05 + 0.25 * k, 0.25 + 0.25 * k) * ROWS) for k in range(KILLS)]
    redelivered: list[int] = []
    with ThreadPoolExecutor(1) as pool:
        publishing = pool.submit(stack.publish_file, main_file, "crashed", default_region="US")
        for k, mark in enumerate(marks):
            wait_processed(stack, "crashed", SEED + mark)
            assert _processed(stack, "crashed") < SEED + ROWS, "the import finished before the kill"
            if k:
                redelivered.append(_redelivered(port))
            worker.proc.send_signal(signal.SIGKILL)
            assert worker.proc.wait(10) == -signal.SIGKILL
            worker, port = _worker(stack)
        report = publishing.result()

    summary = stack.wait_import(report.import_id, DEADLINE)
    redelivered.append(_redelivered(port))
    print(f"killed at rows {marks}; redelivered after each restart: {redelivered}")
    assert (summary.status, summary.counts) == ("completed", counts), f"kill marks {marks}"
    assert (
        stack.scalar("SELECT count(*) FROM import_row_results WHERE import_id = %s", (report.import_id,))
        == ROWS
    )
    assert org_state(stack, "crashed") == org_state(stack, "clean")

    # Lead events: at least once on the topic, exactly once after deduplication on event_id.
    wait_for(lambda: _outbox_drained(stack), 120, what="the outbox relay")
    per_org: dict[str, set[str]] = {"clean": set(), "crashed": set()}
    for msg in read_topic(stack.settings, stack.settings.topic_lead_events):
        event = orjson.loads(msg.value() or b"{}")
        per_org[event["org_id"]].add(event["event_id"])
    assert (
        len(per_org["crashed"])
        == len(per_org["clean"])
        == (SEED + counts["created"] + counts["updated"] + counts["conflicts"] + 2)
    )


def _database_reachable(stack: Stack, reachable: bool) -> None:
    """Open or close the test database to new connections; closing also cuts the open ones."""
    with psycopg.connect(stack.servers.database_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{stack.name}" WITH ALLOW_CONNECTIONS {str(reachable).lower()}')
        if not reachable:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (stack.name,)
            )


def test_a_database_outage_holds_the_batch_until_postgresql_is_back(stack: Stack, tmp_path: Path) -> None:
    """While PostgreSQL refuses connections the worker retries its batch in place and acks
    nothing, even when asked to stop; once the database is back it commits and stops, and a new
    worker finishes the import exactly."""
    seed, path = tmp_path / "seed.csv", tmp_path / "contacts.csv"
    seed_counts, counts = write_seed(seed, 10), write_contacts(path, 3000)
    worker = stack.start_worker(extra_env=FAST_FAILOVER, batch_size=500, retry_max_s=2.0)
    import_exactly(stack, seed, "outage", seed_counts)  # the worker is up and owns its partitions
    _database_reachable(stack, False)
    try:
        report = stack.publish_file(path, "outage", default_region="US")
        wait_for(lambda: _retries(worker) >= 2, 120, what="the worker to retry its batch")
        worker.proc.send_signal(signal.SIGTERM)
        retried = _retries(worker)
        wait_for(lambda: _retries(worker) >= retried + 2, 120, what="retries after the stop request")
        assert worker.proc.poll() is None, "the worker gave up its batch while the database was away"
    finally:
        _database_reachable(stack, True)
    assert worker.proc.wait(120) in (0, -signal.SIGTERM)
    stack.start_worker(extra_env=FAST_FAILOVER, batch_size=500)
    summary = stack.wait_import(report.import_id, 300)
    assert (summary.status, summary.counts) == ("completed", counts)


def _retries(worker: WorkerProcess) -> int:
    """Retries of the consumed batch: its control events apply first, then its rows."""
    log = worker.log()
    return log.count('"batch of ') + log.count('"import control events')


def test_connections_cut_mid_import_are_retried_without_loss(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    counts = write_contacts(path, 10_000)
    worker = stack.start_worker(extra_env=FAST_FAILOVER, batch_size=500)
    report = stack.publish_file(path, "cut", default_region="US")
    cuts = 0
    for mark in (2000, 5000, 8000):
        wait_processed(stack, "cut", mark)
        cuts += stack.scalar(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name LIKE 'leadstream-%%') t"
        )
    summary = stack.wait_import(report.import_id, 300)
    assert cuts >= 3 and _retries(worker) >= 1  # a batch met a dead connection and was retried
    assert (summary.status, summary.counts) == ("completed", counts)
