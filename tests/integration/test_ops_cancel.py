"""Cancelling an import: rows not yet processed are skipped and counted, and the counts add up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from processors.contact import ImportOptions
from processors.mapping import map_headers
from streams.importer import publish_import
from streams.imports_repo import ImportSummary
from streams.readers import SourceRow, open_table
from tests.integration.harness import Stack, wait_for
from tests.integration.ops_cli import contacts_csv, run_cli

ROWS = 300
CUT = 100  # rows published before ops cancel


def outcome_sum(s: ImportSummary) -> int:
    c = s.counts
    return (
        c["created"] + c["updated"] + c["unchanged"] + c["rejected"] + c["skipped_existing"] + c["cancelled"]
    )


def all_rows_seen(stack: Stack, import_id: str) -> ImportSummary | None:
    s = stack.import_summary(import_id)
    stack.assert_workers_alive()
    return s if s is not None and s.total_rows is not None and s.processed >= s.total_rows else None


def test_cancel_mid_import_skips_the_rest_and_counts_add_up(stack: Stack, tmp_path: Path) -> None:
    """The importer is paused after CUT rows (a slow, large file), ops cancel, it goes on.

    Waiting for the worker to apply the cancel before the rest is published makes the split
    deterministic: the first CUT rows are applied, every later one is cancelled.
    """
    import_id = "cancel-mid"
    stack.start_worker()
    producer = stack.producer()
    table = open_table(contacts_csv(tmp_path / "wrong.csv", ROWS))
    rows = table.rows

    def paused_rows() -> Iterator[SourceRow]:
        for n, row in enumerate(rows, start=1):
            if n == CUT + 1:
                producer.flush()
                wait_for(
                    lambda: (s := stack.import_summary(import_id)) is not None and s.processed == CUT,
                    what=f"the first {CUT} rows to be applied",
                )
                done = run_cli(stack, "imports", "cancel", import_id, "--wait")
                assert done.returncode == 0, done.stderr
                assert "is cancelled" in done.stdout
            yield row

    table.rows = paused_rows()
    try:
        publish_import(
            table,
            map_headers(table.header),
            org_id="org-c",
            options=ImportOptions(),
            settings=stack.settings,
            producer=producer,
            import_id=import_id,
            jobs=1,  # rows are produced as they are read, so the pause falls right after row CUT
        )
    finally:
        table.close()

    s = wait_for(lambda: all_rows_seen(stack, import_id), what="every row to be seen")
    assert s.status == "cancelled"
    assert s.total_rows == s.processed == ROWS
    assert outcome_sum(s) == ROWS
    assert s.counts["cancelled"] == ROWS - CUT
    assert (s.counts["created"], s.counts["rejected"]) == (CUT - CUT // 10, CUT // 10)
    # rows past the cut left no lead, and each has a `cancelled` result (header is line 1)
    assert stack.scalar("SELECT count(*) FROM leads") == s.counts["created"]
    assert stack.query(
        "SELECT min(row_number), max(row_number), count(*) FROM import_row_results"
        " WHERE outcome = 'cancelled'"
    ) == [(CUT + 2, ROWS + 1, ROWS - CUT)]

    listed = run_cli(stack, "imports", "list", "--org", "org-c", "--status", "cancelled", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["import_id"] for r in json.loads(listed.stdout)] == [import_id]
    again = run_cli(stack, "imports", "cancel", import_id)
    assert again.returncode == 0 and "already cancelled" in again.stdout


def test_cancel_before_any_worker_then_refuse_a_completed_import(stack: Stack, tmp_path: Path) -> None:
    """All rows are queued with no worker; the cancel races the rows when the worker starts,
    so which rows are applied varies, but every row is seen once and the counts add up."""
    report = stack.publish_file(contacts_csv(tmp_path / "queued.csv", ROWS), "org-q")
    unknown = run_cli(stack, "imports", "cancel", report.import_id)
    assert unknown.returncode == 1 and "pass --org" in unknown.stderr
    ok = run_cli(stack, "imports", "cancel", report.import_id, "--org", "org-q")
    assert ok.returncode == 0, ok.stderr

    stack.start_worker()
    s = wait_for(lambda: all_rows_seen(stack, report.import_id), what="every row to be seen")
    assert s.status == "cancelled"
    assert outcome_sum(s) == s.processed == ROWS
    assert stack.scalar("SELECT count(*) FROM import_row_results") == ROWS
    assert s.counts["cancelled"] == stack.scalar(
        "SELECT count(*) FROM import_row_results WHERE outcome = 'cancelled'"
    )

    small = stack.publish_file(contacts_csv(tmp_path / "small.csv", 3), "org-q")
    assert stack.wait_import(small.import_id).status == "completed"
    late = run_cli(stack, "imports", "cancel", small.import_id)
    assert late.returncode == 1
    assert "already ended completed" in late.stderr
