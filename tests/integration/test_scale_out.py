"""Two worker processes in one consumer group give the same leads and counts as one worker."""

from __future__ import annotations

from pathlib import Path

from streams.offsets import admin_client, describe_group
from tests.integration.datagen import write_contacts, write_seed
from tests.integration.harness import (
    FAST_FAILOVER,
    Stack,
    free_port,
    import_exactly,
    org_state,
    wait_for,
    wait_processed,
)
from tests.integration.ops_cli import scrape

SEED, ROWS = 300, 20_000


def _rows_applied(port: int) -> float:
    return sum(v for (name, _), v in scrape(port).items() if name == "leadstream_rows_total")


def _both_own_partitions(stack: Stack) -> bool:
    stack.assert_workers_alive()
    members = describe_group(admin_client(stack.settings), stack.settings.worker_group).members
    rows = stack.settings.topic_rows
    return len(members) == 2 and all(any(t == rows for t, _ in m.partitions) for m in members)


def test_two_workers_give_the_same_leads_and_counts_as_one(stack: Stack, tmp_path: Path) -> None:
    seed, main = tmp_path / "seed.csv", tmp_path / "contacts.csv"
    seed_counts, counts = write_seed(seed, SEED), write_contacts(main, ROWS, seed=SEED)
    ports = [free_port(), free_port()]
    stack.start_worker(FAST_FAILOVER, metrics_port=ports[0])
    import_exactly(stack, seed, "one", seed_counts)
    import_exactly(stack, main, "one", counts)

    stack.start_worker(FAST_FAILOVER, metrics_port=ports[1])
    wait_for(lambda: _both_own_partitions(stack), 120, what="two members sharing the partitions")
    applied_before = [_rows_applied(p) for p in ports]
    import_exactly(stack, seed, "two", seed_counts)
    import_exactly(stack, main, "two", counts)

    assert org_state(stack, "two") == org_state(stack, "one")
    shares = [_rows_applied(p) - before for p, before in zip(ports, applied_before, strict=True)]
    assert sum(shares) == SEED + ROWS  # each row applied once, by one of the two
    assert min(shares) > 0, f"one worker did all the work: {shares}"


def test_workers_leaving_and_joining_mid_import_change_nothing(stack: Stack, tmp_path: Path) -> None:
    """Scale-in and scale-out while rows stream: two rebalances in the middle of an import."""
    seed, main = tmp_path / "seed.csv", tmp_path / "contacts.csv"
    seed_counts, counts = write_seed(seed, SEED), write_contacts(main, ROWS, seed=SEED)
    stack.start_worker(FAST_FAILOVER, batch_size=500)
    import_exactly(stack, seed, "one", seed_counts)
    import_exactly(stack, main, "one", counts)

    leaving = stack.start_worker(FAST_FAILOVER, batch_size=500)
    wait_for(lambda: _both_own_partitions(stack), 120, what="two members sharing the partitions")
    import_exactly(stack, seed, "moving", seed_counts)
    report = stack.publish_file(main, "moving", default_region="US")
    wait_processed(stack, "moving", SEED + ROWS // 3)
    leaving.stop()  # graceful: Faust leaves the group, the other worker takes its partitions
    assert leaving.proc.returncode in (0, -15)
    wait_processed(stack, "moving", SEED + 2 * ROWS // 3)
    stack.start_worker(FAST_FAILOVER, batch_size=500)
    summary = stack.wait_import(report.import_id, 300)

    assert (summary.status, summary.counts) == ("completed", counts)
    assert org_state(stack, "moving") == org_state(stack, "one")
