"""The consuming lane commits a batch's offsets only after its handlers returned."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from processors.errors import InfrastructureError
from streams.consumer import ConsumedRecord
from streams.lane import ConsumingLane


def _record(topic: str, offset: int, partition: int = 0) -> ConsumedRecord:
    return ConsumedRecord(topic, partition, offset, b"k", b"v")


class FakeSource:
    """Hands out prepared batches, then nothing; records what was committed and when."""

    def __init__(self, batches: list[list[ConsumedRecord]], log: list[str]) -> None:
        self.batches = batches
        self.log = log
        self.closed = False

    def take(self, n: int, within: float) -> list[ConsumedRecord]:
        return self.batches.pop(0)[:n] if self.batches else []

    def commit(self, records: Sequence[ConsumedRecord]) -> None:
        self.log.append(f"commit {[(r.topic, r.offset) for r in records]}")

    def assignment(self) -> list[tuple[str, int]]:
        return [("rows", 0)]

    def close(self) -> None:
        self.closed = True


def _lane(source: FakeSource, log: list[str], fail_first: int = 0) -> ConsumingLane:
    failures = {"left": fail_first}

    async def leads(records: Sequence[ConsumedRecord]) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise InfrastructureError("database down")
        log.append(f"leads {[r.offset for r in records]}")

    async def control(records: Sequence[ConsumedRecord]) -> None:
        log.append(f"control {[r.offset for r in records]}")

    async def retried(records: Sequence[ConsumedRecord]) -> None:
        from streams.retry import retry_forever

        await retry_forever(lambda: leads(records), what="test batch", initial=0.001, maximum=0.001)

    return ConsumingLane(
        lambda: source,
        [(("rows", "deliveries"), retried), (("control",), control)],
        batch_size=100,
        within=0.01,
    )


async def _run(lane: ConsumingLane, source: FakeSource) -> None:
    task = asyncio.create_task(lane.run_until_stopped(source))
    while source.batches:
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_records_are_routed_by_topic_and_committed_after_their_handlers() -> None:
    log: list[str] = []
    batch = [_record("rows", 0), _record("control", 5), _record("deliveries", 1), _record("rows", 2)]
    source = FakeSource([batch], log)
    asyncio.run(_run(_lane(source, log), source))
    assert log == [
        "leads [0, 1, 2]",
        "control [5]",
        "commit [('rows', 0), ('control', 5), ('deliveries', 1), ('rows', 2)]",
    ]


def test_a_batch_that_failed_is_retried_and_committed_only_once_applied() -> None:
    log: list[str] = []
    source = FakeSource([[_record("rows", 7)]], log)
    asyncio.run(_run(_lane(source, log, fail_first=3), source))
    assert log == ["leads [7]", "commit [('rows', 7)]"]


def test_a_batch_cancelled_in_its_handler_is_never_committed() -> None:
    log: list[str] = []
    started = asyncio.Event()

    async def stuck(records: Sequence[ConsumedRecord]) -> None:
        started.set()
        await asyncio.Event().wait()

    async def scenario() -> None:
        source = FakeSource([[_record("rows", 1)]], log)
        lane = ConsumingLane(lambda: source, [(("rows",), stuck)], batch_size=10, within=0.01)
        task = asyncio.create_task(lane.run_until_stopped(source))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert log == []
