"""Chat stores on real databases: a SQLite file, and a fresh database per test in the
session's PostgreSQL server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.chat_stores import empty_database
from uiwire.chats import SQLChatStore


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """The URL of an empty database: a new SQLite file, or a new PostgreSQL database."""
    async with empty_database(request.param, request, tmp_path_factory) as url:
        yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SQLChatStore]:
    store = SQLChatStore(database_url)
    try:
        yield store
    finally:
        await store.close()
