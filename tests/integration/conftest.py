"""Fixtures of the integration tests: real Kafka and PostgreSQL, one isolated stack per test."""

from __future__ import annotations

import os
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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI an integration test never skips: a skip there means a missing server, a failure."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and "tests/integration" in str(item.fspath):
        report.outcome = "failed"
        report.longrepr = f"integration test skipped in CI: {report.longrepr}"


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    with ExitStack() as stack:
        yield start_servers(stack)


@pytest.fixture
def stack(servers: Servers, tmp_path: Path) -> Iterator[Stack]:
    with make_stack(servers, tmp_path) as s:
        yield s
