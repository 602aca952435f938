"""The worker's consuming loop: take a batch, apply it, commit its offsets, one batch at a time."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mode import Service

from streams.consumer import ConsumedRecord
from streams.retry import retry_forever

log = logging.getLogger(__name__)

EX_SOFTWARE = 70  # sysexits.h: an internal error no retry can fix


class BatchSource(Protocol):
    def take(self, n: int, within: float) -> list[ConsumedRecord]: ...
    def commit(self, records: Sequence[ConsumedRecord]) -> None: ...
    def assignment(self) -> list[tuple[str, int]]: ...
    def close(self) -> None: ...


class Stage(Protocol):
    """One route's processing: ``prepare`` decodes (CPU, in a thread), ``apply`` commits."""

    def prepare(self, records: Sequence[Any]) -> Any: ...
    async def apply(self, prepared: Any) -> Any: ...


Route = tuple[tuple[str, ...], Stage]  # the topics whose records one stage takes together


@dataclass(frozen=True, slots=True)
class Taken:
    records: list[ConsumedRecord]
    prepared: list[tuple[Stage, Any]]


class ConsumingLane(Service):
    """Reads the worker group's topics in batches of up to ``batch_size`` records.

    Faust's agents hand records over one at a time (two asyncio tasks and a trip through the
    conductor and the stream buffer per record, ~100 µs each on this machine); this loop takes
    thousands per call from confluent-kafka and gives each batch to its stages whole. The next
    batch is taken and decoded while the current one's transaction runs. Offsets are committed
    only after every stage applied the batch, that is after its transaction committed; a crash
    in between redelivers the batch and the ledger skips it.
    """

    def __init__(
        self,
        open_source: Callable[[], BatchSource],
        routes: Sequence[Route],
        *,
        batch_size: int,
        within: float,
        stop_grace_s: float = 15.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._open_source = open_source
        self._routes = list(routes)
        self._stages = [stage for _, stage in self._routes]
        self._route_of = {topic: i for i, (topics, _) in enumerate(self._routes) for topic in topics}
        self._batch_size = batch_size
        self._within = within
        self._stop_grace_s = stop_grace_s
        self._source: BatchSource | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False

    def assignment(self) -> list[tuple[str, int]]:
        return self._source.assignment() if self._source is not None else []

    async def on_start(self) -> None:
        self._source = await asyncio.to_thread(self._open_source)
        self._loop_task = asyncio.create_task(self.run_until_stopped(self._source))

    async def on_stop(self) -> None:
        self._stopping = True
        task = self._loop_task
        if task is not None and not task.done():
            # Let the batch in hand commit; a batch that cannot (a database outage) is abandoned
            # uncommitted and read again by whoever owns the partition next.
            try:
                await asyncio.wait_for(asyncio.shield(task), self._stop_grace_s)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._source is not None:
            await asyncio.to_thread(self._source.close)

    async def run_until_stopped(self, source: BatchSource) -> None:
        ahead: asyncio.Future[Taken] | None = None
        try:
            ahead = asyncio.ensure_future(self.take(source))
            while True:
                taken = await ahead
                ahead = None
                if self._stopping:
                    return  # what was taken is not committed: the group reads it again
                ahead = asyncio.ensure_future(self.take(source))
                if taken.records:
                    for stage, prepared in taken.prepared:
                        await stage.apply(prepared)
                    commit = functools.partial(asyncio.to_thread, source.commit, taken.records)
                    await retry_forever(commit, what="offset commit")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.critical("a batch failed for a reason no retry fixes; exiting, uncommitted", exc_info=True)
            logging.shutdown()
            os._exit(EX_SOFTWARE)
        finally:
            if ahead is not None:
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ahead

    async def take(self, source: BatchSource) -> Taken:
        """The next batch, each stage's records decoded; stages in the order configured."""
        records = await retry_forever(
            lambda: asyncio.to_thread(source.take, self._batch_size, self._within), what="consume"
        )
        if not records:
            return Taken(records, [])
        return await asyncio.to_thread(self._prepare, records)

    def _prepare(self, records: list[ConsumedRecord]) -> Taken:
        parts: list[list[ConsumedRecord]] = [[] for _ in self._routes]
        for r in records:
            parts[self._route_of[r.topic]].append(r)
        prepared = [
            (stage, stage.prepare(part)) for stage, part in zip(self._stages, parts, strict=True) if part
        ]
        return Taken(records, prepared)
