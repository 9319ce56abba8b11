"""Keeps each phase's report on the test item, so fixtures can tell a failed test (the
browser tests save a screenshot then)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownVariableType]
    setattr(item, f"report_{report.when}", report)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
