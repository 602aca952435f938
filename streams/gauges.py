"""Refresh the worker's consumer-lag and imports-in-progress gauges from Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

import psycopg

from processors.errors import LeadstreamError
from streams import metrics
from streams.db import connect, translated
from streams.offsets import TP, admin_client, group_lag, worker_topics
from streams.settings import Settings

log = logging.getLogger(__name__)


class WorkerGauges:
    """Sets the gauges nothing else can count: lag as Kafka sees it, and imports under way.

    Each worker reports the lag of the partitions assigned to it, so summing the gauge over
    workers gives the group's lag (what ``kafka-consumer-groups --describe`` shows).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._admin = admin_client(settings)
        self._conn: psycopg.Connection | None = None
        self._reported: set[TP] = set()

    async def refresh(self, assignment: Callable[[], Iterable[TP]]) -> None:
        """One refresh from the worker's event loop; a failure is logged and retried next time."""
        try:
            assigned = set(await asyncio.to_thread(assignment))
        except LeadstreamError as e:
            log.warning("metrics refresh skipped: %s", e)
            return
        try:
            await asyncio.to_thread(self.refresh_sync, assigned)
        except LeadstreamError as e:
            log.warning("metrics refresh failed: %s", e)

    def refresh_sync(self, assigned: Iterable[TP]) -> None:
        self.refresh_lag(assigned)
        metrics.IMPORTS_IN_PROGRESS.set(self.imports_in_progress())

    def refresh_lag(self, assigned: Iterable[TP]) -> None:
        mine = {tp for tp in assigned if tp[0] in worker_topics(self.settings)}
        topics = sorted({t for t, _ in mine})
        lags = group_lag(self._admin, self.settings.worker_group, topics) if topics else []
        for p in lags:
            if (p.topic, p.partition) in mine:
                metrics.CONSUMER_LAG.labels(p.topic, str(p.partition)).set(p.lag)
        for topic, partition in self._reported - mine:
            metrics.CONSUMER_LAG.remove(topic, str(partition))
        self._reported = mine

    def imports_in_progress(self) -> int:
        if self._conn is None or self._conn.closed or self._conn.broken:
            url = self.settings.database_url.get_secret_value()
            self._conn = connect(url, autocommit=True, application_name="leadstream-metrics")
        with translated():
            row = self._conn.execute(
                "SELECT count(*) FROM imports WHERE status IN ('publishing', 'processing')"
            ).fetchone()
        return int(row[0]) if row else 0
