"""Statistics of the lead tables are current the moment an import is seen completed."""

from __future__ import annotations

from pathlib import Path

from tests.integration.harness import Stack

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "contacts.csv"


def test_the_batch_that_completes_an_import_analyses_the_lead_tables_before_it_commits(stack: Stack) -> None:
    """A query planned right after completion must not run on statistics that miss the import's
    rows (that is how a checksum of a 50k-row org once ran for 20 minutes)."""
    stack.start_worker()
    report = stack.publish_file(SAMPLE, "acme", default_region="US")
    summary = stack.wait_import(report.import_id)

    assert summary.status == "completed"
    # Read at once, in the same poll that saw the import completed: no autovacuum in between.
    stats = dict(
        stack.query(
            "SELECT relname, reltuples::bigint FROM pg_class"
            " WHERE relname IN ('leads', 'channel_identities', 'import_row_results')"
        )
    )
    assert stats == {
        "leads": stack.scalar("SELECT count(*) FROM leads"),
        "channel_identities": stack.scalar("SELECT count(*) FROM channel_identities"),
        "import_row_results": 290,
    }
