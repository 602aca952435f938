"""Dead letters: listed with reasons and source offsets, re-driven after a fix, applied once."""

from __future__ import annotations

import json
from pathlib import Path

from streams.dlq import dlq_topics, read_letters
from streams.offsets import admin_client, log_bounds, partitions_of
from tests.integration.harness import Stack, table_checksums, wait_for
from tests.integration.ops_cli import caught_up, contacts_csv, run_cli

ROWS = 40


def dead_letter_count(stack: Stack) -> int:
    client = admin_client(stack.settings)
    bounds = log_bounds(client, partitions_of(client, [stack.settings.dlq_topic(stack.settings.topic_rows)]))
    return sum(end - start for start, end in bounds.values())


def test_fixed_dead_letters_are_redriven_and_applied_exactly_once(stack: Stack, tmp_path: Path) -> None:
    s = stack.settings
    # The bad deploy: a worker with the row and delivery topics swapped reads every import row as
    # a delivery, so each one is schema-invalid and dead-lettered with the worker's own headers.
    bad = stack.start_worker(topic_rows=s.topic_deliveries, topic_deliveries=s.topic_rows)
    report = stack.publish_file(contacts_csv(tmp_path / "c.csv", ROWS), "org-d")
    producer = stack.producer()
    producer.produce(s.topic_rows, b"{not json", b"org-d|email|garbage")
    producer.flush()
    wait_for(lambda: dead_letter_count(stack) == ROWS + 1, what="every row to be dead-lettered")
    # import_started may be applied in the batch after the dead-lettered rows
    summary = wait_for(lambda: stack.import_summary(report.import_id), what="the import to be announced")
    assert summary.processed == 0
    bad.stop()

    listed = run_cli(stack, "dlq", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    letters = json.loads(listed.stdout)
    assert sorted({(x["reason"], x["source_topic"]) for x in letters}) == [
        ("schema_invalid", s.topic_rows),
        ("undecodable", s.topic_rows),
    ]
    assert sum(x["reason"] == "schema_invalid" for x in letters) == ROWS
    assert all(x["source_offset"] is not None and x["redriven_at"] is None for x in letters)
    garbage = next(x for x in letters if x["reason"] == "undecodable")
    shown = run_cli(stack, "dlq", "show", str(garbage["n"]))
    assert shown.returncode == 0, shown.stderr
    assert "{not json" in shown.stdout
    assert f"{s.topic_rows}[{garbage['source_partition']}]@{garbage['source_offset']}" in shown.stdout

    # The fix is deployed; only the letters it fixes are re-driven.
    stack.start_worker()
    fixed = run_cli(stack, "dlq", "redrive", "--topic", s.topic_rows, "--where", "schema_invalid", "--yes")
    assert fixed.returncode == 0, fixed.stderr
    assert f"re-drove {ROWS} dead letters" in fixed.stdout
    summary = stack.wait_import(report.import_id)
    assert summary.status == "completed"
    assert (summary.counts["created"], summary.counts["rejected"], summary.processed) == (
        ROWS - ROWS // 10,
        ROWS // 10,
        ROWS,
    )
    wait_for(lambda: caught_up(stack), what="the worker to catch up")
    before = table_checksums(stack)

    # A second redrive finds nothing left to do...
    again = run_cli(stack, "dlq", "redrive", "--where", "schema_invalid", "--yes")
    assert again.returncode == 0, again.stderr
    assert "nothing to redrive" in again.stdout
    # ...and even re-publishing the same letters (a redrive that crashed before recording
    # them) changes nothing: the ledger knows those rows.
    republish = stack.producer()
    for x in read_letters(s, dlq_topics(s)):
        if x.reason == "schema_invalid":
            republish.produce(x.source_topic, x.value or b"", x.key)
    republish.flush()
    # The still-broken letter goes back to the dead-letter topic, and the worker carries on.
    rest = run_cli(stack, "dlq", "redrive", "--yes")
    assert rest.returncode == 0, rest.stderr
    assert "re-drove 1 dead letters" in rest.stdout
    wait_for(
        lambda: dead_letter_count(stack) == ROWS + 2, what="the garbage record to be dead-lettered again"
    )
    wait_for(lambda: caught_up(stack), what="the worker to catch up")
    assert table_checksums(stack) == before
    assert stack.scalar("SELECT count(*) FROM leads") == ROWS - ROWS // 10
    assert stack.scalar("SELECT count(*) FROM dlq_redrives") == ROWS + 1

    final = json.loads(run_cli(stack, "dlq", "list", "--json").stdout)
    assert sum(x["redriven_at"] is not None for x in final) == ROWS + 1
    assert [x["reason"] for x in final if x["redriven_at"] is None] == ["undecodable"]
