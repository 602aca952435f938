"""Retry infrastructure failures in place with capped exponential backoff."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from processors.errors import InfrastructureError

T = TypeVar("T")
log = logging.getLogger(__name__)


async def retry_forever(
    action: Callable[[], Awaitable[T]],
    *,
    what: str,
    initial: float = 0.2,
    maximum: float = 10.0,
    on_failure: Callable[[InfrastructureError], None] | None = None,
) -> T:
    """Run ``action`` until it succeeds. Only infrastructure errors are retried: a batch that did
    not commit must never be acknowledged, so the caller does not move on until it has."""
    delay = initial
    attempt = 0
    while True:
        try:
            return await action()
        except InfrastructureError as e:
            attempt += 1
            if on_failure is not None:
                on_failure(e)
            level = logging.INFO if attempt == 1 and "concurrent" in str(e) else logging.WARNING
            log.log(level, "%s failed (attempt %d), retrying in %.1fs: %s", what, attempt, delay, e)
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
            delay = min(maximum, delay * 2)
