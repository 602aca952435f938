"""Encode rows on every core: chunks go to a process pool and come back in file order."""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.context import BaseContext
from typing import Any

from processors.normalize import normalize_email, normalize_phone
from streams.readers.table import SourceRow
from streams.row_encoding import EncodeContext, Encoded, encode_row, encode_rows

CHUNK_ROWS = 250
IN_FLIGHT_PER_JOB = 2  # chunks queued per process: enough to keep it busy, bounded for memory
WORKER_CACHE_ENTRIES = 8192
# Below this many bytes, starting worker processes costs more than they save.
POOL_MIN_BYTES = 16 << 20

_worker_ctx: EncodeContext | None = None


def _init(ctx: EncodeContext) -> None:
    global _worker_ctx
    _worker_ctx = ctx


def _encode(rows: list[tuple[Any, ...]]) -> list[Encoded]:
    assert _worker_ctx is not None, "worker process not initialised"
    encoded = encode_rows(_worker_ctx, [SourceRow(*r) for r in rows])
    # Each process keeps its own normalisation caches; bounded here, a pool of them would hold
    # jobs x 2 x 65k entries (~40 MB a process), nearly all misses on a file of distinct contacts.
    for cached in (normalize_email, normalize_phone):
        if cached.cache_info().currsize > WORKER_CACHE_ENTRIES:
            cached.cache_clear()
    return encoded


def _context() -> BaseContext:
    """fork where there is one: a child shares the parent's imported modules instead of importing
    them again (spawn would also re-run the main script, e.g. the whole CLI, in every child).
    The children never touch the parent's Kafka producer, the one thing fork does not copy well."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def default_jobs(size: int | None) -> int:
    """One process for small files; every core for large ones or for stdin (size unknown)."""
    if size is not None and size < POOL_MIN_BYTES:
        return 1
    return max(1, os.cpu_count() or 1)


def _chunks(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def encoded_rows(
    rows: Iterable[SourceRow], ctx: EncodeContext, *, jobs: int = 1, chunk_rows: int = CHUNK_ROWS
) -> Iterator[Encoded]:
    """Encoded rows in file order. With one job each row is encoded as it is read; with more,
    chunks go to a process pool and at most a few per job are in flight, so memory stays flat
    however large the file (``Pool.imap`` would read ahead without bound)."""
    if jobs <= 1:
        for row in rows:
            yield encode_row(ctx, row)
        return
    # Frozen objects are left alone by the children's garbage collector, so the pages a fork
    # shares with the parent stay shared instead of being copied into every child.
    gc.freeze()
    with ProcessPoolExecutor(jobs, mp_context=_context(), initializer=_init, initargs=(ctx,)) as pool:
        pending: deque[Future[list[Encoded]]] = deque()
        try:
            for chunk in _chunks(rows, chunk_rows):
                # plain tuples: a NamedTuple pickles through Python-level calls, a tuple does not
                pending.append(pool.submit(_encode, [tuple(r) for r in chunk]))
                if gc.get_freeze_count():
                    gc.unfreeze()  # the first submit started every child
                if len(pending) >= IN_FLIGHT_PER_JOB * jobs:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            for fut in pending:
                fut.cancel()
