"""Fixtures of the integration tests: real Kafka and PostgreSQL, one isolated stack per test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.integration.harness import Stack, make_stack
from tests.integration.servers import Servers, start_servers


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    with ExitStack() as stack:
        yield start_servers(stack)


@pytest.fixture
def stack(servers: Servers, tmp_path: Path) -> Iterator[Stack]:
    with make_stack(servers, tmp_path) as s:
        yield s
