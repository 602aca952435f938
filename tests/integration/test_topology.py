"""A worker refuses to start when import rows and deliveries are not co-partitioned."""

from __future__ import annotations

from confluent_kafka.admin import NewTopic

from streams.kafka import admin
from tests.integration.harness import Stack, wait_for


def test_worker_refuses_topics_with_different_partition_counts(stack: Stack) -> None:
    rows = stack.settings.topic_rows  # created by the stack with 4 partitions
    deliveries = f"{stack.name}.campaign_delivered_2p"
    client = admin(stack.settings)
    client.create_topics([NewTopic(deliveries, num_partitions=2, replication_factor=1)])[deliveries].result()
    try:
        worker = stack.start_worker(topic_deliveries=deliveries)
        wait_for(lambda: worker.proc.poll() is not None, 60, what="the worker to exit")
        log = " ".join(worker.log().split())  # the console wraps long lines

        assert worker.proc.returncode not in (0, None)
        # the message names both topics, their counts, and what to do about it
        assert f"{rows} has 4 partitions but {deliveries} has 2" in log, log[-2000:]
        assert "co-partitioned" in log and "same partition count" in log, log[-2000:]
        # nothing was consumed: the group never joined
        assert stack.scalar("SELECT count(*) FROM processed_deliveries") == 0
    finally:
        client.delete_topics([deliveries, stack.settings.dlq_topic(deliveries)])
