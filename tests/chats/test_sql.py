"""``SQLChatStore`` on a real SQLite file and a real PostgreSQL server
(``tests/chats/conftest.py``): what only SQL stores do (the schema and its migrations,
jsonb, the kept secret across workers, deadlines, failures). The ``ChatStore`` contract
every store keeps is ``test_store.py``."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.chat_stores import OWNER, STRANGER, answer, ids, new_chat, user
from tests.support.postgres import PostgresServer
from uiwire.chats import ChatStoreError, SQLChatStore, _schema

# --- list_chats ---------------------------------------------------------------------------


async def test_pages_follow_the_cursor_across_equal_times(store: SQLChatStore) -> None:
    chat_ids = [f"c{n:02}" for n in range(11)]
    for chat_id in chat_ids:
        await new_chat(store, chat_id)
    await new_chat(store, "theirs", STRANGER)
    async with store.engine.begin() as conn:  # several chats updated in the same microsecond
        await conn.execute(
            _schema.chats.update().where(_schema.chats.c.id < "c06").values(updated_at=1000)
        )
        await conn.execute(
            _schema.chats.update().where(_schema.chats.c.id >= "c06").values(updated_at=2000)
        )
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await store.list_chats(OWNER, limit=4, before=cursor)
        pages += 1
        seen += [chat.id for chat in page.chats]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3
    assert seen == sorted(chat_ids[6:], reverse=True) + sorted(chat_ids[:6], reverse=True)
    exactly = await store.list_chats(OWNER, limit=11)
    assert len(exactly.chats) == 11
    assert exactly.next_cursor is None


# --- delete -------------------------------------------------------------------------------


async def test_delete_removes_the_chat_and_its_messages(store: SQLChatStore) -> None:
    ticket = await new_chat(store)
    await new_chat(store, "other")
    assert await store.delete(OWNER, "chat1")
    assert await store.get(OWNER, "chat1") is None
    assert [chat.id for chat in (await store.list_chats(OWNER)).chats] == ["other"]
    assert not await store.delete(OWNER, "chat1")
    assert not await store.finish_turn(ticket, answer("a1", "late"), "finish")
    async with store.engine.connect() as conn:
        left = await conn.execute(
            sa.select(sa.func.count()).where(_schema.messages.c.chat_id == "chat1")
        )
        assert left.scalar() == 0
    await new_chat(store)  # the id is free again
    assert await ids(store) == ["u1", "a1"]


# --- the messages' JSON -------------------------------------------------------------------


async def test_postgres_keeps_the_body_as_jsonb(database_url: str, store: SQLChatStore) -> None:
    await new_chat(store)
    async with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            kind = await conn.execute(
                sa.text("SELECT jsonb_typeof(body), body->>'role' FROM uiwire_messages LIMIT 1")
            )
            assert tuple(kind.one()) == ("object", "user")
        else:
            assert database_url.startswith("sqlite")
            kind = await conn.execute(
                sa.text("SELECT json_extract(body, '$.role') FROM uiwire_messages LIMIT 1")
            )
            assert kind.scalar() == "user"


# --- kept_secret --------------------------------------------------------------------------


async def test_the_kept_secret_is_made_once_for_every_worker(database_url: str) -> None:
    stores = [SQLChatStore(database_url) for _ in range(4)]
    try:
        # first calls at once, on a database without tables yet
        secrets = await asyncio.gather(*(s.kept_secret() for s in stores for _ in range(3)))
        assert len(secrets[0]) == 32
        assert set(secrets) == {secrets[0]}
        later = SQLChatStore(database_url)
        try:
            assert await later.kept_secret() == secrets[0]
        finally:
            await later.close()
    finally:
        for s in stores:
            await s.close()


# --- schema -------------------------------------------------------------------------------


async def test_the_schema_is_made_on_first_use_by_racing_workers(database_url: str) -> None:
    stores = [SQLChatStore(database_url) for _ in range(5)]
    try:
        await asyncio.gather(*(s.create() for s in stores))
        await asyncio.gather(*(s.get(OWNER, "none") for s in stores))
        async with stores[0].engine.connect() as conn:
            stored = await _schema.read_meta(conn, "schema_version")
        assert stored == str(_schema.SCHEMA_VERSION)
    finally:
        for s in stores:
            await s.close()


async def test_racing_workers_leave_a_sqlite_file_in_write_ahead_log_mode(
    tmp_path: Any,
) -> None:
    for round_ in range(5):  # the switch races the schema; refused at once when it loses
        path = tmp_path / f"chats{round_}.db"
        stores = [SQLChatStore(f"sqlite+aiosqlite:///{path}") for _ in range(6)]
        try:
            await asyncio.gather(*(s.get(OWNER, "none") for s in stores for _ in range(3)))
        finally:
            for s in stores:
                await s.close()
        with contextlib.closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_a_newer_schema_is_refused(store: SQLChatStore, database_url: str) -> None:
    await store.create()
    async with store.engine.begin() as conn:
        await conn.execute(
            _schema.meta.update().where(_schema.meta.c.key == "schema_version").values(value="99")
        )
    newer = SQLChatStore(database_url)
    try:
        with pytest.raises(ChatStoreError, match="schema version 99, newer than this uiwire"):
            await newer.get(OWNER, "chat1")
    finally:
        await newer.close()


async def test_migrations_upgrade_an_older_schema_in_order(store: SQLChatStore) -> None:
    await new_chat(store)
    applied: list[int] = []

    async def add_column(conn: Any) -> None:
        applied.append(2)
        await conn.execute(sa.text("ALTER TABLE uiwire_chats ADD COLUMN pinned INTEGER"))

    async def fill_column(conn: Any) -> None:
        applied.append(3)
        await conn.execute(sa.text("UPDATE uiwire_chats SET pinned = 0"))

    async with store.engine.begin() as conn:
        await _schema.ensure_schema(conn, [add_column, fill_column])
    async with store.engine.begin() as conn:  # already at 3: nothing to do
        await _schema.ensure_schema(conn, [add_column, fill_column])
        assert await _schema.read_meta(conn, "schema_version") == "3"
        pinned = await conn.execute(sa.text("SELECT pinned FROM uiwire_chats"))
        assert pinned.scalars().all() == [0]
    assert applied == [2, 3]
    assert await ids(store) == ["u1", "a1"]


# --- engines, deadlines, failures ---------------------------------------------------------


async def test_a_shared_engine_is_left_open(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        store = SQLChatStore(engine)
        assert store.engine is engine
        await new_chat(store)
        await store.close()
        async with engine.connect() as conn:  # still usable
            count = await conn.execute(sa.select(sa.func.count()).select_from(_schema.chats))
            assert count.scalar() == 1
    finally:
        await engine.dispose()


def test_a_bad_url_or_timeout_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="asyncio driver"):
        SQLChatStore("sqlite:///chats.db")
    with pytest.raises(ValueError, match="not a database URL"):
        SQLChatStore("no url at all")
    with pytest.raises(ValueError, match="timeout"):
        SQLChatStore("sqlite+aiosqlite://", timeout=0)
    with pytest.raises(TypeError, match="url_or_engine"):
        SQLChatStore(42)  # type: ignore[arg-type]


async def test_an_in_memory_sqlite_database_is_one_database() -> None:
    store = SQLChatStore("sqlite+aiosqlite://")
    try:
        await new_chat(store)
        assert await ids(store) == ["u1", "a1"]
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def chat_locked(store: SQLChatStore, database_url: str) -> AsyncIterator[None]:
    """Another client holds a write lock until the block ends: on the chat's row
    (PostgreSQL), on the whole database (SQLite)."""
    if store.engine.dialect.name == "postgresql":
        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            async with conn.transaction():
                await conn.execute("SELECT * FROM uiwire_chats WHERE id = 'chat1' FOR UPDATE")
                yield
        finally:
            await conn.close()
        return
    other = sqlite3.connect(database_url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_a_call_past_its_deadline_is_a_store_error_and_the_store_recovers(
    store: SQLChatStore, database_url: str
) -> None:
    ticket = await new_chat(store)
    hasty = SQLChatStore(database_url, timeout=0.5)
    try:
        await hasty.create()
        async with chat_locked(store, database_url):
            with pytest.raises(ChatStoreError, match=r"did not answer within 0\.5 s"):
                await hasty.start_turn(
                    OWNER, "chat1", version=1, keep=2, add=[user("x", "u2")], answer=answer("a2"),
                    title="",
                )  # fmt: skip
            with pytest.raises(ChatStoreError, match=r"did not answer within 0\.5 s"):
                await hasty.finish_turn(ticket, answer("a1", "x"), "finish")
        # the lock is gone: the same store works, and the failed calls wrote nothing
        assert await hasty.kept_secret() == await store.kept_secret()
        assert await ids(hasty) == ["u1", "a1"]
        assert await hasty.finish_turn(ticket, answer("a1", "x"), "finish")
        assert await hasty.delete(OWNER, "chat1")
    finally:
        await hasty.close()


async def test_a_write_waits_for_another_workers_lock_and_then_goes_through(
    store: SQLChatStore, database_url: str
) -> None:
    ticket = await new_chat(store)
    async with chat_locked(store, database_url):
        finish = asyncio.ensure_future(store.finish_turn(ticket, answer("a1", "done"), "finish"))
        await asyncio.sleep(0.3)  # longer than SQLite's own wait (SQLITE_LOCK_WAIT)
        assert not finish.done()
    assert await asyncio.wait_for(finish, 5)
    chat = await store.get(OWNER, "chat1")
    assert chat is not None
    assert chat.messages[-1] == answer("a1", "done")


async def test_a_stopped_postgres_is_a_store_error() -> None:
    server = PostgresServer()
    try:
        server.start()
        store = SQLChatStore(server.url(), timeout=3)
        try:
            await new_chat(store)
            server.stop()
            with pytest.raises(ChatStoreError, match="the chat store failed"):
                await store.get(OWNER, "chat1")
            with pytest.raises(ChatStoreError):
                await new_chat(store, "chat2")
            server.start()  # back (same data): the store reconnects
            assert await ids(store) == ["u1", "a1"]
        finally:
            await store.close()
    finally:
        server.remove()
