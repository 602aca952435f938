"""An isolated leadstream stack per test: its own database, topics, consumer group and workers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from processors.contact import ImportOptions
from processors.mapping import map_headers, parse_overrides
from streams.importer import PublishReport, publish_import
from streams.imports_repo import ImportSummary, get_import
from streams.kafka import EventProducer, admin, ensure_topics
from streams.migrate import migrate
from streams.readers import open_table
from streams.repository import LeadRepository
from streams.settings import Settings
from streams.work import WorkItem
from tests.integration.servers import ROOT, Servers

T = TypeVar("T")


def wait_for(
    check: Callable[[], T | None], timeout: float = 60.0, interval: float = 0.2, what: str = "condition"
) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WorkerProcess:
    proc: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Stack:
    servers: Servers
    name: str
    settings: Settings
    database_url: str
    tmp: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    # -- database ------------------------------------------------------------------------
    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.database_url, autocommit=True)

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Any = None) -> Any:
        return self.query(sql, params)[0][0]

    def import_summary(self, import_id: str) -> ImportSummary | None:
        with psycopg.connect(self.database_url) as conn:
            return get_import(conn, import_id)

    def wait_import(self, import_id: str, timeout: float = 120.0) -> ImportSummary:
        def done() -> ImportSummary | None:
            s = self.import_summary(import_id)
            self.assert_workers_alive()
            return s if s is not None and s.status in ("completed", "failed", "cancelled") else None

        return wait_for(done, timeout, what=f"import {import_id} to complete")

    # -- kafka ---------------------------------------------------------------------------
    def producer(self) -> EventProducer:
        return EventProducer(self.settings)

    def publish_file(
        self, path: Path, org_id: str = "org-1", *, mapping: list[str] | None = None, **options: Any
    ) -> PublishReport:
        table = open_table(path)
        try:
            return publish_import(
                table,
                map_headers(table.header, parse_overrides(mapping or [])),
                org_id=org_id,
                options=ImportOptions(**options),
                settings=self.settings,
                producer=self.producer(),
            )
        finally:
            table.close()

    # -- workers -------------------------------------------------------------------------
    def env(self, **overrides: Any) -> dict[str, str]:
        s = self.settings.model_copy(
            update={
                "worker_web_port": free_port(),
                "metrics_port": free_port(),
                **overrides,
            }
        )
        return {**os.environ, **s.to_env(), "PYTHONUNBUFFERED": "1"}

    def start_worker(self, extra_env: dict[str, str] | None = None, **overrides: Any) -> WorkerProcess:
        n = len(self.workers)
        log_path = self.tmp / f"worker-{n}.log"
        env = {**self.env(worker_datadir=str(self.tmp / f"faust-{n}"), **overrides), **(extra_env or {})}
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker", "--loglevel", "warning"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(proc, log_path)
        self.workers.append(worker)
        return worker

    def assert_workers_alive(self) -> None:
        for w in self.workers:
            code = w.proc.poll()
            if code is not None and code not in (0, -signal.SIGKILL, -signal.SIGTERM):
                raise AssertionError(f"worker exited {code}:\n{w.log()[-4000:]}")

    def stop_workers(self) -> None:
        for w in self.workers:
            w.stop()


def table_checksums(stack: Stack) -> dict[str, str]:
    """Content checksums of the lead tables, ignoring timestamps: equal means the same state."""
    queries = {
        "leads": "SELECT md5(string_agg(concat_ws('|', org_id, lead_id, first_name, last_name,"
        " full_name, email, phone, company, city, country, attributes::text, source,"
        " delivery_count), ',' ORDER BY org_id, lead_id)) FROM leads",
        "channel_identities": "SELECT md5(string_agg(concat_ws('|', org_id, channel,"
        " channel_identifier, lead_id, opted_out), ',' ORDER BY org_id, channel,"
        " channel_identifier)) FROM channel_identities",
        "import_row_results": "SELECT md5(string_agg(concat_ws('|', org_id, import_id, row_number,"
        " outcome, lead_id, reason, conflicts), ',' ORDER BY org_id, import_id, row_number))"
        " FROM import_row_results",
        "identity_conflicts": "SELECT md5(string_agg(concat_ws('|', org_id, event_id, channel,"
        " channel_identifier, owner_lead_id, row_lead_id), ',' ORDER BY org_id, event_id,"
        " channel, channel_identifier)) FROM identity_conflicts",
        "imports": "SELECT md5(string_agg(concat_ws('|', org_id, import_id, status, total_rows,"
        " processed, created, updated, unchanged, rejected, skipped_existing, cancelled,"
        " conflicts), ',' ORDER BY org_id, import_id)) FROM imports",
    }
    return {name: str(stack.scalar(sql)) for name, sql in queries.items()}


@contextmanager
def racing_batches(
    stack: Stack,
    first: Sequence[WorkItem],
    second: Sequence[WorkItem],
    what: str,
    *,
    loser_contested: bool = False,
) -> Iterator[tuple[LeadRepository, dict[str, Any]]]:
    """Two workers' transactions at once: ``first`` is applied and held uncommitted until the
    second batch's transaction waits on its locks, then committed. Yields the second batch's
    repository (for retries on the same connection) and its outcome: ``report`` or ``error``.
    ``loser_contested``: the loser's previous batch met a contested identity."""
    with psycopg.connect(stack.database_url) as a, psycopg.connect(stack.database_url) as b:
        winner, loser = LeadRepository(a), LeadRepository(b)
        loser._contested = loser_contested
        outcome: dict[str, Any] = {}

        def apply_second() -> None:
            try:
                outcome["report"] = loser.apply_batch(second)
            except Exception as e:
                outcome["error"] = e

        with a.transaction():  # the winner's batch, not yet committed
            winner.apply_batch(first)
            thread = threading.Thread(target=apply_second)
            thread.start()
            wait_for(
                lambda: stack.scalar(
                    "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                    (b.info.backend_pid,),
                ),
                30,
                interval=0.05,
                what=what,
            )
        thread.join(30)
        yield loser, outcome


def delete_topics_of(settings: Settings, name: str) -> None:
    """Delete the stack's topics, Faust's internal ones included, and wait for the broker."""
    client = admin(settings)
    mine = [t for t in client.list_topics(timeout=10).topics if t.startswith((f"{name}.", f"{name}-"))]
    for future in client.delete_topics(mine, operation_timeout=30).values() if mine else ():
        with contextlib.suppress(Exception):  # a topic already gone is fine at teardown
            future.result()


@contextmanager
def make_stack(servers: Servers, tmp: Path, partitions: int = 4) -> Iterator[Stack]:
    name = f"t{uuid.uuid4().hex[:10]}"
    base = conninfo_to_dict(servers.database_url)
    with psycopg.connect(servers.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = make_conninfo(**{**base, "dbname": name})
    settings = Settings(
        kafka_bootstrap_servers=servers.bootstrap,
        database_url=db_url,
        topic_rows=f"{name}.lead_import_row",
        topic_deliveries=f"{name}.campaign_delivered",
        topic_control=f"{name}.lead_import_control",
        topic_lead_events=f"{name}.lead_events",
        worker_group=f"{name}-worker",
        partitions=partitions,
        batch_size=1000,
        batch_within_s=0.2,
    )
    with psycopg.connect(db_url) as conn:
        migrate(conn)
    ensure_topics(settings)
    stack = Stack(servers, name, settings, db_url, tmp)
    try:
        yield stack
    finally:
        stack.stop_workers()
        for w in stack.workers:
            w.kill()
        delete_topics_of(settings, name)
        with psycopg.connect(servers.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Faust reads these from the environment: a worker killed with -9 is replaced within seconds,
# not after the default 60 s session timeout.
FAST_FAILOVER = {"BROKER_SESSION_TIMEOUT": "8", "BROKER_HEARTBEAT_INTERVAL": "1"}

_ORG_STATE = {
    # a lead is named by its identities, so two runs compare equal whatever ids the sequence gave
    "leads": "SELECT count(*), md5(string_agg((w.who, l.first_name, l.last_name, l.full_name,"
    " l.email, l.phone, l.company, l.city, l.country, l.attributes, l.source, l.delivery_count)::text,"
    " E'\\n' ORDER BY w.who)) FROM leads l LEFT JOIN who w USING (lead_id) WHERE l.org_id = %(org)s",
    "row_results": "SELECT count(*), md5(string_agg((i.source_name, r.row_number, r.outcome, r.reason,"
    " r.conflicts, w.who)::text, E'\\n' ORDER BY i.source_name, r.row_number))"
    " FROM import_row_results r JOIN imports i USING (org_id, import_id)"
    " LEFT JOIN who w USING (lead_id) WHERE r.org_id = %(org)s",
    "conflicts": "SELECT count(*), md5(string_agg((i.source_name, c.row_number, c.channel,"
    " c.channel_identifier, o.who, w.who)::text, E'\\n' ORDER BY i.source_name, c.row_number,"
    " c.channel)) FROM identity_conflicts c JOIN imports i USING (org_id, import_id)"
    " LEFT JOIN who o ON o.lead_id = c.owner_lead_id LEFT JOIN who w ON w.lead_id = c.row_lead_id"
    " WHERE c.org_id = %(org)s",
    "imports": "SELECT count(*), string_agg((source_name, status, total_rows, processed, created,"
    " updated, unchanged, rejected, skipped_existing, cancelled, conflicts)::text, ' '"
    " ORDER BY source_name) FROM imports WHERE org_id = %(org)s",
}
_WHO = (
    "WITH who AS (SELECT lead_id, string_agg(channel || ':' || channel_identifier"
    " || CASE WHEN opted_out THEN '!' ELSE '' END, ' ' ORDER BY channel, channel_identifier) AS who"
    " FROM channel_identities WHERE org_id = %(org)s GROUP BY lead_id) "
)


def org_state(stack: Stack, org_id: str) -> dict[str, str]:
    """One org's leads, identities (with consent), row results, conflicts and import counts, as
    ``count:checksum`` with every lead id replaced by the lead's identities and every import id
    by its file name: equal for two runs of the same files into two orgs, or one org twice."""
    return {
        name: ":".join(str(v) for v in stack.query(_WHO + sql, {"org": org_id})[0])
        for name, sql in _ORG_STATE.items()
    }


def import_exactly(
    stack: Stack, path: Path, org_id: str, counts: dict[str, int], timeout: float = 300
) -> str:
    """Import ``path`` (US numbers) into ``org_id``; it must complete with exactly ``counts``."""
    report = stack.publish_file(path, org_id, default_region="US")
    summary = stack.wait_import(report.import_id, timeout)
    assert (summary.status, summary.counts) == ("completed", counts), f"import of {path.name}"
    return report.import_id


def wait_processed(stack: Stack, org_id: str, rows: int, timeout: float = 300) -> None:
    """Wait until ``rows`` rows of ``org_id``'s imports have a result; the workers must live."""

    def processed() -> bool:
        stack.assert_workers_alive()
        done = stack.scalar("SELECT coalesce(sum(processed), 0) FROM imports WHERE org_id = %s", (org_id,))
        return int(done) >= rows

    wait_for(processed, timeout, what=f"{rows} processed rows of {org_id}")
