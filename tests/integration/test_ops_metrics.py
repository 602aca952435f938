"""The worker's Prometheus endpoint, scraped, agrees with the database; its logs are JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from schemas.codec import encode
from schemas.events import ImportStarted
from tests.integration.harness import Stack, free_port, wait_for
from tests.integration.ops_cli import caught_up, scrape, total_lag

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "contacts.csv"


def test_metrics_report_the_counts_the_database_holds(stack: Stack) -> None:
    s = stack.settings
    port = free_port()
    worker = stack.start_worker(metrics_port=port, metrics_interval_s=0.5)
    report = stack.publish_file(SAMPLE, "acme", default_region="US")
    producer = stack.producer()
    producer.produce(s.topic_rows, b"\xff not json", b"acme|email|garbage")
    # an import whose importer is still publishing: announced, not sealed
    started = ImportStarted(
        event_id="slow:started",
        import_id="slow",
        org_id="acme",
        source_name="big.csv",
        started_at=datetime.now(UTC),
    )
    producer.produce(s.topic_control, encode(started), b"acme|slow")
    producer.flush()
    stack.wait_import(report.import_id)
    wait_for(lambda: caught_up(stack), what="the worker to catch up")

    def agrees() -> dict | None:
        m = scrape(port)
        outcomes = dict(stack.query("SELECT outcome, count(*) FROM import_row_results GROUP BY outcome"))
        rows = {dict(k[1])["outcome"]: v for k, v in m.items() if k[0] == "leadstream_rows_total"}
        lag = {k[1]: v for k, v in m.items() if k[0] == "leadstream_consumer_lag"}  # per partition
        expected = {
            "rows": outcomes,
            "batch_rows": sum(outcomes.values()),
            "dead_letters": 1,
            "in_progress": stack.scalar(
                "SELECT count(*) FROM imports WHERE status IN ('publishing', 'processing')"
            ),
            "lag": (12, total_lag(stack)),
        }
        found = {
            "rows": {k: int(v) for k, v in rows.items()},
            "batch_rows": int(m.get(("leadstream_batch_size_sum", ()), -1)),
            "dead_letters": int(m.get(("leadstream_dead_letters_total", ()), -1)),
            "in_progress": int(m.get(("leadstream_imports_in_progress", ()), -1)),
            "lag": (len(lag), int(sum(lag.values()))),
        }
        return found if found == expected else None

    found = wait_for(agrees, what="the scraped metrics to match the database")
    assert found["rows"] == {"created": 230, "updated": 20, "unchanged": 20, "rejected": 20}
    assert found["in_progress"] == 1

    records = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    assert any(
        r["level"] == "warning" and r["logger"] == "streams.processor" and "undecodable" in r["message"]
        for r in records
    )
