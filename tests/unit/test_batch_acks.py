"""A batch that did not commit is never acknowledged to Faust, whatever ended its processing."""

from __future__ import annotations

import asyncio
import os
from types import SimpleNamespace

import pytest

from streams.batch_acks import EX_SOFTWARE, acked_only_when_committed


def _events(n: int = 3) -> list[SimpleNamespace]:
    return [SimpleNamespace(message=SimpleNamespace(acked=False)) for _ in range(n)]


def test_a_committed_batch_is_left_for_faust_to_ack() -> None:
    events = _events()
    with acked_only_when_committed(events):
        pass
    assert not any(e.message.acked for e in events)


def test_a_cancelled_batch_turns_the_closing_ack_into_a_no_op() -> None:
    events = _events()
    with pytest.raises(asyncio.CancelledError), acked_only_when_committed(events):
        raise asyncio.CancelledError
    # Faust's Message.ack() does nothing for a message already marked acked: no offset recorded
    assert all(e.message.acked for e in events)


def test_an_unexpected_error_ends_the_process_before_anything_is_acked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def exit_(code: int) -> None:
        raise SystemExit(code)

    monkeypatch.setattr(os, "_exit", exit_)
    events = _events()
    with pytest.raises(SystemExit) as exited, acked_only_when_committed(events):
        raise OverflowError("int too big to convert")
    assert exited.value.code == EX_SOFTWARE
    assert not any(e.message.acked for e in events)
