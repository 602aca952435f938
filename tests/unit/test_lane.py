"""The consuming lane commits a batch's offsets only after its handlers returned."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from processors.errors import InfrastructureError
from streams.consumer import ConsumedRecord
from streams.lane import ConsumingLane
from streams.retry import retry_forever


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


class Stage:
    """Records its calls; its first ``fail_first`` applies fail as a database outage would."""

    def __init__(self, name: str, log: list[str], fail_first: int = 0) -> None:
        self.name = name
        self.log = log
        self.fail_first = fail_first

    def prepare(self, records: Sequence[ConsumedRecord]) -> list[int]:
        return [r.offset for r in records]

    async def apply(self, offsets: list[int]) -> None:
        async def once() -> None:
            if self.fail_first:
                self.fail_first -= 1
                raise InfrastructureError("database down")
            self.log.append(f"{self.name} {offsets}")

        await retry_forever(once, what="test batch", initial=0.001, maximum=0.001)


def _lane(source: FakeSource, log: list[str], fail_first: int = 0) -> ConsumingLane:
    return ConsumingLane(
        lambda: source,
        [(("rows", "deliveries"), Stage("leads", log, fail_first)), (("control",), Stage("control", log))],
        batch_size=100,
        within=0.01,
    )


async def _run(lane: ConsumingLane, source: FakeSource, commits: int) -> None:
    """Run the lane until it made ``commits`` commits (or 10 s passed), then stop it."""
    task = asyncio.create_task(lane.run_until_stopped(source))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while sum(line.startswith("commit") for line in source.log) < commits and loop.time() < deadline:
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_records_are_routed_by_topic_and_committed_after_their_handlers() -> None:
    log: list[str] = []
    batch = [_record("rows", 0), _record("control", 5), _record("deliveries", 1), _record("rows", 2)]
    source = FakeSource([batch], log)
    asyncio.run(_run(_lane(source, log), source, 1))
    assert log == [
        "leads [0, 1, 2]",
        "control [5]",
        "commit [('rows', 0), ('control', 5), ('deliveries', 1), ('rows', 2)]",
    ]


def test_the_next_batch_is_taken_while_one_applies_and_commits_stay_in_order() -> None:
    log: list[str] = []
    source = FakeSource([[_record("rows", 0)], [_record("rows", 1)], [_record("control", 2)]], log)
    asyncio.run(_run(_lane(source, log), source, 3))
    assert log == [
        "leads [0]",
        "commit [('rows', 0)]",
        "leads [1]",
        "commit [('rows', 1)]",
        "control [2]",
        "commit [('control', 2)]",
    ]


def test_a_batch_that_failed_is_retried_and_committed_only_once_applied() -> None:
    log: list[str] = []
    source = FakeSource([[_record("rows", 7)]], log)
    asyncio.run(_run(_lane(source, log, fail_first=3), source, 1))
    assert log == ["leads [7]", "commit [('rows', 7)]"]


def test_a_batch_cancelled_in_its_handler_is_never_committed() -> None:
    log: list[str] = []
    started = asyncio.Event()

    class Stuck(Stage):
        async def apply(self, offsets: list[int]) -> None:
            started.set()
            await asyncio.Event().wait()

    async def scenario() -> None:
        source = FakeSource([[_record("rows", 1)]], log)
        lane = ConsumingLane(lambda: source, [(("rows",), Stuck("stuck", log))], batch_size=10, within=0.01)
        task = asyncio.create_task(lane.run_until_stopped(source))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert log == []
