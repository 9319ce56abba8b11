"""Builders for the chat store tests (``tests/chats``): the databases they run on, and
short ways to write a turn."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.support import messages as wire
from tests.support.postgres import PostgresServer
from uiwire.chats import ChatStore, TurnTicket
from uiwire.protocol.ui_message import UIMessage, as_ui_message


@contextlib.asynccontextmanager
async def empty_database(
    kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """The URL of an empty database of ``kind``: a new SQLite file, or a new database in
    the session's PostgreSQL server (dropped after)."""
    if kind == "sqlite":
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


OWNER = "alice"
STRANGER = "mallory"


def user(text: str, id: str) -> UIMessage:
    return as_ui_message(wire.user(text, id=id))


def answer(id: str, *parts: str) -> UIMessage:
    """An assistant message: empty (as ``start_turn`` gets it) or with its text."""
    return as_ui_message(wire.assistant(*parts, id=id))


async def new_chat(
    store: ChatStore, chat_id: str = "chat1", owner: str = OWNER, *, title: str = "Hello"
) -> TurnTicket:
    """A chat with one question (u1) and its answer (a1, running)."""
    return await store.start_turn(
        owner, chat_id, version=None, keep=0, add=[user("hi", "u1")], answer=answer("a1"),
        title=title,
    )  # fmt: skip


async def ids(store: ChatStore, chat_id: str = "chat1") -> list[str]:
    chat = await store.get(OWNER, chat_id)
    assert chat is not None
    return [message.id for message in chat.messages]


async def version(store: ChatStore, chat_id: str = "chat1") -> int:
    chat = await store.get(OWNER, chat_id)
    assert chat is not None
    return chat.info.version
