"""The worker's write path alone: decode + decide + one transaction per batch, without Kafka.

``python -m bench.writepath --rows N [--batch-size B] [--profile]`` prepares the events the
importer would publish (untimed), then feeds them, partition by partition in batches, to the
worker's own ``BatchProcessor`` against a fresh database. It isolates the part the issue asks to
make fast, so changes to it can be measured in seconds and profiled without noise from the broker.
"""

from __future__ import annotations

import argparse
import itertools
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from processors.contact import ImportOptions
from processors.mapping import map_headers
from streams.app import tune_gc
from streams.db import connect
from streams.processor import BatchProcessor, DeadLetter
from streams.readers import open_table
from streams.row_encoding import EncodeContext, encode_row
from streams.settings import Settings

ORG = "bench"


@dataclass(slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class _NoDeadLetters:
    def publish_dead(self, letters: Sequence[DeadLetter]) -> None:
        raise AssertionError(f"unexpected dead letters: {letters[:3]}")


def records(path: Path, rows: int, topic: str, partitions: int) -> list[list[Record]]:
    """The file's rows as the importer publishes them, split into partitions by key."""
    options = ImportOptions(default_region="US")
    parts: list[list[Record]] = [[] for _ in range(partitions)]
    table = open_table(path)
    try:
        ctx = EncodeContext(ORG, "wp", tuple(table.header), map_headers(table.header), options)
        for row in itertools.islice(table.rows, rows):
            _line, key, value, _rejection = encode_row(ctx, row)
            p = zlib.crc32(key) % partitions
            parts[p].append(Record(topic, p, len(parts[p]), key, value))
    finally:
        table.close()
    return parts


def batches(parts: list[list[Record]], size: int) -> Iterator[list[Record]]:
    """Round-robin over partitions, ``size`` records at a time, as a consumer would take them."""
    cursors = [0] * len(parts)
    while any(c < len(p) for c, p in zip(cursors, parts, strict=True)):
        for i, p in enumerate(parts):
            if cursors[i] < len(p):
                yield p[cursors[i] : cursors[i] + size]
                cursors[i] += size


def run(database_url: str, parts: list[list[Record]], settings: Settings) -> dict[str, Any]:
    processor = BatchProcessor(
        settings, lambda: connect(database_url, application_name="bench-writepath"), _NoDeadLetters()
    )
    decode = apply = 0.0
    n = nb = 0
    cpu_started = time.process_time()
    backend = psutil.Process(processor._repository().conn.info.backend_pid)
    backend_started = sum(backend.cpu_times()[:2])
    for batch in batches(parts, settings.batch_size):
        t0 = time.perf_counter()
        items = processor.prepare(batch).items
        t1 = time.perf_counter()
        processor.apply_sync(items)
        t2 = time.perf_counter()
        decode += t1 - t0
        apply += t2 - t1
        n += len(batch)
        nb += 1
    total = decode + apply
    cpu = time.process_time() - cpu_started
    pg_cpu = sum(backend.cpu_times()[:2]) - backend_started
    return {
        "rows": n,
        "batches": nb,
        "seconds": round(total, 2),
        "rows_per_s": round(n / total),
        "decode_seconds": round(decode, 2),
        "apply_seconds": round(apply, 2),
        # CPU per row barely depends on what else the machine runs: the figure to compare.
        "worker_cpu_us_per_row": round(cpu / n * 1e6),
        "postgres_cpu_us_per_row": round(pg_cpu / n * 1e6),
    }


def main() -> None:
    from bench.run import dataset
    from bench.stack import create_database, drop_database

    p = argparse.ArgumentParser(prog="python -m bench.writepath")
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--batch-size", type=int, default=Settings().batch_size)
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--passes", type=int, default=1, help="apply the same events again (replays)")
    p.add_argument("--profile", type=Path, default=None, help="write a pyinstrument HTML/text profile here")
    a = p.parse_args()
    settings = Settings().model_copy(update={"batch_size": a.batch_size})
    path = dataset(a.rows)[0]
    started = time.perf_counter()
    parts = records(path, a.rows, settings.topic_rows, a.partitions)
    print(f"prepared {a.rows} events in {time.perf_counter() - started:.1f}s", flush=True)
    tune_gc()  # as the worker does
    maintenance = settings.database_url.get_secret_value()
    name = f"bench_writepath_{int(time.time())}"
    url = create_database(maintenance, name)
    try:
        profiler = None
        if a.profile is not None:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.002)
            profiler.start()
        for i in range(a.passes):
            print(f"pass {i + 1}: {run(url, parts, settings)}", flush=True)
        if profiler is not None:
            profiler.stop()
            a.profile.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
            print(profiler.output_text(unicode=True, color=False)[:6000])
    finally:
        drop_database(maintenance, name)


if __name__ == "__main__":
    main()
