"""Rewinding the worker group to the start of every topic and reprocessing it all changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from schemas.codec import encode
from schemas.events import CampaignDelivered, DeliveryContact
from streams.emit import emit_deliveries
from streams.offsets import admin_client, group_lag, log_bounds, partitions_of, worker_topics
from tests.integration.datagen import write_contacts, write_seed
from tests.integration.harness import Stack, free_port, org_state, table_checksums, wait_for
from tests.integration.kafka_tools import rewind_group
from tests.integration.ops_cli import caught_up, scrape

SEED, ROWS, DELIVERIES = 100, 6000, 400


def _deliveries(n: int) -> list[bytes]:
    """Half reach leads of the import (kind-0 contacts), half unknown people: created lazily."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        encode(
            CampaignDelivered(
                event_id=f"delivery-{j}",
                org_id="replay",
                campaign_id="spring",
                channel="email",
                channel_identifier=f"c{20 * (j % (ROWS // 20))}@example.com"
                if j % 2
                else f"Lazy{j}@Example.com",
                contact=DeliveryContact(first_name=f"L{j}"),
                delivered_at=at,
            )
        )
        for j in range(n)
    ]


def _state(stack: Stack) -> dict[str, object]:
    client = admin_client(stack.settings)
    events = partitions_of(client, [stack.settings.topic_lead_events])
    return {
        **table_checksums(stack),
        **org_state(stack, "replay"),
        "deliveries": stack.query(
            "SELECT count(*), md5(string_agg((event_id, lead_id, outcome)::text, ',' ORDER BY event_id))"
            " FROM processed_deliveries"
        ),
        # no replayed record may write an outbox row, let alone publish a second lead event
        "outbox_rows_ever": stack.scalar("SELECT last_value FROM outbox_id_seq"),
        "lead_events": sum(end for _, end in log_bounds(client, events).values()),
    }


def test_replaying_every_topic_from_the_start_changes_nothing(stack: Stack, tmp_path: Path) -> None:
    seed, main = tmp_path / "seed.csv", tmp_path / "contacts.csv"
    seed_counts, counts = write_seed(seed, SEED), write_contacts(main, ROWS, seed=SEED)
    worker = stack.start_worker()
    for path, expected in ((seed, seed_counts), (main, counts)):
        report = stack.publish_file(path, "replay", default_region="US")
        summary = stack.wait_import(report.import_id, 300)
        assert (summary.status, summary.counts) == ("completed", expected)
    published = emit_deliveries(_deliveries(DELIVERIES), stack.producer(), stack.settings.topic_deliveries)
    assert published.published == DELIVERIES
    wait_for(lambda: caught_up(stack), 300, what="the first run to be committed and relayed")
    before = _state(stack)
    assert stack.scalar("SELECT sum(delivery_count) FROM leads") == DELIVERIES

    # All workers stopped, the group is rewound to the earliest offsets, as ops would do it.
    worker.stop()
    assert worker.proc.returncode in (0, -15)
    topics = worker_topics(stack.settings)
    wait_for(lambda: rewind_group(stack.settings, topics), 60, what="the group to be empty")
    lag = group_lag(admin_client(stack.settings), stack.settings.worker_group, topics)
    assert all(p.committed == p.start for p in lag)
    rows_topic = sum(p.lag for p in lag if p.topic == stack.settings.topic_rows)
    assert rows_topic == SEED + ROWS

    port = free_port()
    stack.start_worker(metrics_port=port)
    wait_for(lambda: caught_up(stack), 300, what="the replay to be committed")
    # every row and delivery went through the worker again, and each was found in the ledger
    assert scrape(port)[("leadstream_redelivered_total", ())] == SEED + ROWS + DELIVERIES
    assert _state(stack) == before
