"""Replays change nothing that is already right: one import republished, or the group rewound."""

from __future__ import annotations

from pathlib import Path

from streams.offsets import admin_client, committed_offsets, log_bounds, partitions_of
from tests.integration.harness import Stack, table_checksums, wait_for
from tests.integration.ops_cli import caught_up, contacts_csv, group_members, run_cli

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "contacts.csv"


def end_offsets(stack: Stack, topic: str) -> int:
    client = admin_client(stack.settings)
    return sum(end for _, end in log_bounds(client, partitions_of(client, [topic])).values())


def test_replaying_one_import_changes_nothing(stack: Stack) -> None:
    s = stack.settings
    stack.start_worker()
    report = stack.publish_file(SAMPLE, "acme", default_region="US")
    done = stack.wait_import(report.import_id)
    wait_for(lambda: caught_up(stack), what="the worker to catch up")
    before = table_checksums(stack)
    rows_end, events_end = end_offsets(stack, s.topic_rows), end_offsets(stack, s.topic_lead_events)

    declined = run_cli(stack, "replay", "--import", report.import_id, input="n\n")
    assert declined.returncode != 0
    assert f"will republish 290 rows of import {report.import_id}" in declined.stdout
    assert end_offsets(stack, s.topic_rows) == rows_end

    replayed = run_cli(stack, "replay", "--import", report.import_id, "--yes")
    assert replayed.returncode == 0, replayed.stderr
    assert "republished 290 rows" in replayed.stdout
    assert end_offsets(stack, s.topic_rows) == rows_end + 290
    wait_for(lambda: caught_up(stack), what="the replayed rows to be consumed")

    assert table_checksums(stack) == before
    assert stack.import_summary(report.import_id) == done
    # no lead event was emitted again: nothing was created or updated
    assert end_offsets(stack, s.topic_lead_events) == events_end


def test_replay_from_the_beginning_waits_for_the_workers_to_stop(stack: Stack, tmp_path: Path) -> None:
    s = stack.settings
    worker = stack.start_worker()
    report = stack.publish_file(contacts_csv(tmp_path / "c.csv", 100), "org-r")
    stack.wait_import(report.import_id)
    wait_for(lambda: caught_up(stack), what="the worker to catch up")
    before = table_checksums(stack)

    refused = run_cli(stack, "replay", "--group", s.worker_group, "--from-beginning", "--yes")
    assert refused.returncode == 1
    assert "1 active members" in refused.stderr
    assert "Stop every `leadstream worker`" in refused.stderr

    worker.stop()
    wait_for(lambda: group_members(stack) == 0, what="the worker to leave its group")
    future = run_cli(stack, "replay", "--from-time", "2999-01-01T00:00:00Z", "--yes")
    assert future.returncode == 0, future.stderr
    assert "nothing to replay" in future.stdout

    reset = run_cli(stack, "replay", "--group", s.worker_group, "--from-beginning", "--yes")
    assert reset.returncode == 0, reset.stderr
    client = admin_client(s)
    committed = committed_offsets(client, s.worker_group)
    starts = log_bounds(client, partitions_of(client, [s.topic_rows, s.topic_control]))
    assert {tp: committed[tp] for tp in committed if tp in starts} == {
        tp: start for tp, (start, end) in starts.items() if end > start
    }

    stack.start_worker()
    wait_for(lambda: caught_up(stack), what="the replay to be consumed")
    assert table_checksums(stack) == before
