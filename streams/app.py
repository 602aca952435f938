"""The Faust worker: the consuming lane, the outbox relay and the gauges, wired from Settings."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Sequence
from typing import Any

import faust
import psycopg
from faust.app.base import BootStrategy

from processors.errors import ConfigurationError
from streams import metrics
from streams.consumer import BatchConsumer
from streams.db import connect
from streams.gauges import WorkerGauges
from streams.kafka import EventProducer, admin, ensure_topics, partition_counts
from streams.lane import ConsumingLane
from streams.logs import logging_config
from streams.offsets import worker_topics
from streams.outbox import relay_once
from streams.processor import BatchProcessor, ControlProcessor, DeadLetter
from streams.retry import retry_forever
from streams.settings import Settings

log = logging.getLogger(__name__)


class KafkaDeadLetters:
    """Publishes dead letters to ``<source topic>.dlq`` and waits for the broker's ack."""

    def __init__(self, producer: EventProducer) -> None:
        self.producer = producer

    def publish_dead(self, letters: Sequence[DeadLetter]) -> None:
        for d in letters:
            self.producer.produce(
                f"{d.record.topic}.dlq", d.record.value or b"", d.record.key, headers=d.headers()
            )
        self.producer.flush()


def check_topology(settings: Settings) -> None:
    """Refuse to run when rows and deliveries are not co-partitioned: one identity's events
    would then be processed by two consumers at once, in no defined order."""
    counts = partition_counts(admin(settings))
    rows, deliveries = counts.get(settings.topic_rows), counts.get(settings.topic_deliveries)
    if rows is None or deliveries is None:
        raise ConfigurationError(
            f"topics missing: {settings.topic_rows}={rows}, {settings.topic_deliveries}={deliveries};"
            " run `leadstream topics create`"
        )
    if rows != deliveries:
        raise ConfigurationError(
            f"{settings.topic_rows} has {rows} partitions but {settings.topic_deliveries} has "
            f"{deliveries}: they must be co-partitioned. Give both the same partition count "
            f"(kafka-topics --alter --partitions {max(rows, deliveries)}) before starting workers."
        )


def check_migrations(url: str) -> None:
    from streams.migrate import pending

    with connect(url) as conn:
        todo = pending(conn)
    if todo:
        raise ConfigurationError(
            f"{len(todo)} migrations pending ({todo[0].path.name}…): run `leadstream migrate`"
        )


class _WorkerBoot(BootStrategy):
    """Faust's own Kafka clients stay off: the lane consumes and ``EventProducer`` produces."""

    enable_kafka = False


class WorkerApp(faust.App):
    BootStrategy = _WorkerBoot


def create_app(settings: Settings) -> faust.App:
    """The worker: Faust runs the service tree (the consuming lane, the outbox relay and gauge
    timers, the web server) and its lifecycle; the lane reads Kafka in batches itself."""
    url = settings.database_url.get_secret_value()
    app = WorkerApp(
        f"{settings.worker_group}-app",  # names the app; Faust joins no consumer group
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        store="memory://",
        topic_allow_declare=False,
        web_enabled=True,
        web_port=settings.worker_web_port,
        web_bind="127.0.0.1",
        datadir=settings.worker_datadir,
        producer_acks=-1,
    )

    def connect_db() -> psycopg.Connection:
        return connect(url, application_name="leadstream-worker")

    producer = EventProducer(settings)
    dead = KafkaDeadLetters(producer)
    batches = BatchProcessor(settings, connect_db, dead)
    control = ControlProcessor(settings, connect_db, dead)

    # Import rows and deliveries go to one stage: co-partitioned, one partition's events about
    # one identity are applied by one consumer, in order, in one transaction per batch. Control
    # events of a batch apply first: the importer announces an import (or cancels it) before
    # the rows that follow.
    lane = ConsumingLane(
        lambda: BatchConsumer(settings, worker_topics(settings)),
        [
            ((settings.topic_control,), control),
            ((settings.topic_rows, settings.topic_deliveries), batches),
        ],
        batch_size=settings.batch_size,
        within=settings.batch_within_s,
    )
    app.add_dependency(lane)

    relay_state: dict[str, Any] = {"conn": None}

    def relay_sync() -> int:
        conn = relay_state["conn"]
        if conn is None or conn.closed or conn.broken:
            conn = relay_state["conn"] = connect(url, application_name="leadstream-relay")
        total = 0
        while (n := relay_once(conn, producer.publish_all, settings.outbox_batch)) > 0:
            total += n
        return total

    @app.timer(interval=0.5)
    async def relay_outbox() -> None:
        n = await retry_forever(lambda: asyncio.to_thread(relay_sync), what="outbox relay")
        if n:
            metrics.OUTBOX_RELAYED.inc(n)

    gauges = WorkerGauges(settings)

    @app.timer(interval=settings.metrics_interval_s)
    async def refresh_gauges() -> None:
        await gauges.refresh(lane.assignment)

    return app


def tune_gc() -> None:
    """Keep the cyclic GC off the batch path: a batch allocates ~10 objects per record, so the
    default threshold (700) runs a collection every few dozen records, each rescanning the
    modules and the batch in flight. Frozen startup objects and a larger young generation cut
    decode time by about a quarter; records hold no cycles, reference counting frees them."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    """Check the topology and the schema, then run the Faust worker until stopped."""
    ensure_topics(settings)
    check_topology(settings)
    check_migrations(settings.database_url.get_secret_value())
    from prometheus_client import start_http_server

    start_http_server(settings.metrics_port, addr="127.0.0.1")
    app = create_app(settings)
    tune_gc()
    worker = faust.Worker(app, loglevel=loglevel, logging_config=logging_config(loglevel))
    worker.execute_from_commandline()
