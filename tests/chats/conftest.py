"""Chat stores on real databases: a SQLite file, and a fresh database per test in the
session's PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.support.postgres import PostgresServer
from uiwire.chats import SQLChatStore


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """The URL of an empty database: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('chats')}/chats.db"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"chats_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(server.dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield server.url(name)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SQLChatStore]:
    store = SQLChatStore(database_url)
    try:
        yield store
    finally:
        await store.close()
