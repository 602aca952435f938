"""Keep Faust from acknowledging a batch that did not commit to PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

EX_SOFTWARE = 70  # sysexits.h: an internal error no retry can fix


@contextmanager
def acked_only_when_committed(events: Sequence[Any]) -> Iterator[None]:
    """Wrap the body of ``async for events in stream.take_events(...)``.

    take_events acknowledges its batch in a ``finally``, even when the body raised or was
    cancelled, and an acknowledged offset gets committed: the batch would be lost. So a
    cancelled body (the worker is stopping) marks its messages acknowledged without recording
    their offsets, which turns that closing ack into a no-op; any other error ends the process
    before the ``finally`` runs. Either way Kafka redelivers the batch from the last committed
    offset and the ledger skips whatever part of it did commit.
    """
    try:
        yield
    except asyncio.CancelledError:
        for event in events:
            event.message.acked = True
        raise
    except Exception:
        log.critical("a batch failed for a reason no retry fixes; exiting without acking it", exc_info=True)
        logging.shutdown()
        os._exit(EX_SOFTWARE)
