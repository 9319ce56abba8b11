"""``SQLChatStore``: the ``ChatStore`` contract on a real SQLite file and a real
PostgreSQL server (``tests/chats/conftest.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support import messages as wire
from tests.support.postgres import PostgresServer
from uiwire.chats import ChatConflict, ChatStoreError, SQLChatStore, TurnTicket, _schema
from uiwire.chats._json_text import ESCAPE
from uiwire.protocol.ui_message import UIMessage, as_ui_message

OWNER = "alice"
STRANGER = "mallory"


def user(text: str, id: str) -> UIMessage:
    return as_ui_message(wire.user(text, id=id))


def answer(id: str, *parts: str) -> UIMessage:
    """An assistant message: empty (as ``start_turn`` gets it) or with its text."""
    return as_ui_message(wire.assistant(*parts, id=id))


async def new_chat(
    store: SQLChatStore, chat_id: str = "chat1", owner: str = OWNER, *, title: str = "Hello"
) -> TurnTicket:
    """A chat with one question (u1) and its answer (a1, running)."""
    return await store.start_turn(
        owner, chat_id, version=None, keep=0, add=[user("hi", "u1")], answer=answer("a1"),
        title=title,
    )  # fmt: skip


async def ids(store: SQLChatStore, chat_id: str = "chat1") -> list[str]:
    chat = await store.get(OWNER, chat_id)
    assert chat is not None
    return [message.id for message in chat.messages]


async def version(store: SQLChatStore, chat_id: str = "chat1") -> int:
    chat = await store.get(OWNER, chat_id)
    assert chat is not None
    return chat.info.version


# --- start_turn, get, finish_turn ---------------------------------------------------------


async def test_a_new_chat_holds_the_question_and_a_running_answer(store: SQLChatStore) -> None:
    before = datetime.datetime.now(datetime.timezone.utc)
    ticket = await new_chat(store)
    assert ticket == TurnTicket(owner=OWNER, chat_id="chat1", message_id="a1", turn=1)
    chat = await store.get(OWNER, "chat1")
    assert chat is not None
    assert chat.id == "chat1"
    assert (chat.info.owner, chat.info.title, chat.info.version) == (OWNER, "Hello", 1)
    assert chat.info.created_at.tzinfo is not None
    assert before - datetime.timedelta(seconds=5) <= chat.info.created_at <= chat.info.updated_at
    assert [m.to_json() for m in chat.messages] == [
        user("hi", "u1").to_json(),
        answer("a1").to_json(),
    ]
    assert chat.answers == {"a1": "running"}
    assert chat.active_turn == 1


async def test_finish_turn_writes_the_answer_and_ends_the_turn(store: SQLChatStore) -> None:
    ticket = await new_chat(store)
    started = await store.get(OWNER, "chat1")
    assert await store.finish_turn(ticket, answer("a1", "Hello!"), "finish")
    chat = await store.get(OWNER, "chat1")
    assert chat is not None
    assert started is not None
    assert chat.messages[1].to_json() == answer("a1", "Hello!").to_json()
    assert chat.answers == {"a1": "finish"}
    assert chat.active_turn is None
    assert chat.info.version == 2
    assert chat.info.updated_at >= started.info.updated_at


@pytest.mark.parametrize("state", ["error", "abort", "disconnect"])
async def test_every_end_state_is_kept(store: SQLChatStore, state: Any) -> None:
    ticket = await new_chat(store)
    assert await store.finish_turn(ticket, answer("a1", "part"), state)
    chat = await store.get(OWNER, "chat1")
    assert chat is not None
    assert chat.answers == {"a1": state}


async def test_finish_turn_refuses_another_message_or_a_bad_state(store: SQLChatStore) -> None:
    ticket = await new_chat(store)
    with pytest.raises(ValueError, match="ticket's answer"):
        await store.finish_turn(ticket, answer("a2", "x"), "finish")
    with pytest.raises(ValueError, match="state"):
        await store.finish_turn(ticket, answer("a1", "x"), "done")  # type: ignore[arg-type]


async def test_a_turn_on_top_keeps_adds_and_answers(store: SQLChatStore) -> None:
    first = await new_chat(store)
    await store.finish_turn(first, answer("a1", "one"), "finish")
    second = await store.start_turn(
        OWNER, "chat1", version=2, keep=2, add=[user("more", "u2")], answer=answer("a2"), title="x"
    )
    assert second.turn == 3
    chat = await store.get(OWNER, "chat1")
    assert chat is not None
    assert [m.id for m in chat.messages] == ["u1", "a1", "u2", "a2"]
    assert chat.answers == {"a1": "finish", "a2": "running"}
    assert chat.info.title == "Hello"  # a title is given to a new chat only
    assert (chat.info.version, chat.active_turn) == (3, 3)


async def test_regenerate_and_edit_drop_what_follows(store: SQLChatStore) -> None:
    first = await new_chat(store)
    await store.finish_turn(first, answer("a1", "one"), "finish")
    await store.start_turn(
        OWNER, "chat1", version=2, keep=2, add=[user("more", "u2")], answer=answer("a2"), title=""
    )
    # regenerate a2: keep u1 a1 u2, a new answer
    await store.start_turn(OWNER, "chat1", version=3, keep=3, add=[], answer=answer("a3"), title="")
    assert await ids(store) == ["u1", "a1", "u2", "a3"]
    # edit u1: keep nothing, the edited question, a new answer
    await store.start_turn(
        OWNER, "chat1", version=4, keep=0, add=[user("hi again", "u1")], answer=answer("a4"),
        title="",
    )  # fmt: skip
    chat = await store.get(OWNER, "chat1")
    assert chat is not None
    assert [m.id for m in chat.messages] == ["u1", "a4"]
    assert chat.messages[0].to_json() == user("hi again", "u1").to_json()
    assert chat.answers == {"a4": "running"}


async def test_a_continuation_retakes_the_answer_and_the_older_finish_is_dropped(
    store: SQLChatStore,
) -> None:
    first = await new_chat(store)
    # the answer is continued (an approval): keep u1, the same message as the answer
    second = await store.start_turn(
        OWNER, "chat1", version=1, keep=1, add=[], answer=answer("a1", "so far"), title=""
    )
    assert not await store.finish_turn(first, answer("a1", "stale"), "abort")
    chat = await store.get(OWNER, "chat1")
    assert chat is not None
    assert chat.messages[1].to_json() == answer("a1", "so far").to_json()
    assert chat.answers == {"a1": "running"}
    assert chat.active_turn == second.turn
    assert await store.finish_turn(second, answer("a1", "done"), "finish")
    chat = await store.get(OWNER, "chat1")
    assert chat is not None
    assert chat.answers == {"a1": "finish"}


async def test_a_finish_for_a_dropped_answer_changes_nothing(store: SQLChatStore) -> None:
    first = await new_chat(store)
    await store.start_turn(OWNER, "chat1", version=1, keep=1, add=[], answer=answer("a2"), title="")
    before = await store.get(OWNER, "chat1")
    assert not await store.finish_turn(first, answer("a1", "late"), "finish")
    assert await store.get(OWNER, "chat1") == before


async def test_split_brain_a_late_finish_of_an_older_turn_keeps_the_order(
    store: SQLChatStore,
) -> None:
    # worker 1 starts turn 1; cut off, the user asks again on worker 2 (on top of the
    # running answer); worker 1's finish lands last
    turn1 = await new_chat(store)
    turn2 = await store.start_turn(
        OWNER, "chat1", version=1, keep=2, add=[user("again?", "u2")], answer=answer("a2"),
        title="",
    )  # fmt: skip
    assert await store.finish_turn(turn1, answer("a1", "first"), "abort")
    chat = await store.get(OWNER, "chat1")
    assert chat is not None
    assert [m.id for m in chat.messages] == ["u1", "a1", "u2", "a2"]
    assert chat.messages[1].to_json() == answer("a1", "first").to_json()
    assert chat.messages[3].to_json() == answer("a2").to_json()  # untouched
    assert chat.answers == {"a1": "abort", "a2": "running"}
    assert chat.active_turn == turn2.turn  # turn 1 ending does not end turn 2
    assert await store.finish_turn(turn2, answer("a2", "second"), "finish")
    chat = await store.get(OWNER, "chat1")
    assert chat is not None
    assert chat.active_turn is None
    assert [m.id for m in chat.messages] == ["u1", "a1", "u2", "a2"]


async def test_a_stale_version_is_a_conflict_and_writes_nothing(store: SQLChatStore) -> None:
    first = await new_chat(store)
    await store.finish_turn(first, answer("a1", "one"), "finish")  # version 2 now
    before = await store.get(OWNER, "chat1")
    with pytest.raises(ChatConflict):
        await store.start_turn(
            OWNER, "chat1", version=1, keep=2, add=[user("x", "u2")], answer=answer("a2"), title=""
        )
    assert await store.get(OWNER, "chat1") == before


async def test_a_missing_chat_with_a_version_is_a_conflict(store: SQLChatStore) -> None:
    with pytest.raises(ChatConflict):
        await store.start_turn(
            OWNER, "nope", version=1, keep=0, add=[user("x", "u1")], answer=answer("a1"), title=""
        )
    assert await store.get(OWNER, "nope") is None


async def test_an_existing_id_for_a_new_chat_is_a_conflict(store: SQLChatStore) -> None:
    await new_chat(store)
    with pytest.raises(ChatConflict):
        await new_chat(store)
    assert await ids(store) == ["u1", "a1"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"version": None, "keep": 1}, "keep must be 0 for a new chat"),
        ({"keep": -1}, "keep must be"),
        ({"keep": 5}, "keep is 5 but the chat has 2"),
        ({"add": [user("x", "u9"), user("y", "u9")]}, "unique"),
        ({"add": [user("x", "a2")]}, "unique"),
        ({"add": [user("x", "u1")]}, r"unique in the chat; \['u1'\] are kept"),
        ({"add": [answer("b1", "forged")]}, "add\\[0\\] is an assistant message"),
        ({"answer": user("not an answer", "a2")}, "answer must be an assistant message"),
    ],
)
async def test_a_bad_turn_is_a_value_error_and_writes_nothing(
    store: SQLChatStore, kwargs: dict[str, Any], match: str
) -> None:
    await new_chat(store)
    before = await store.get(OWNER, "chat1")
    turn: dict[str, Any] = {
        "version": 1, "keep": 2, "add": [user("x", "u2")], "answer": answer("a2"), "title": "",
    }  # fmt: skip
    with pytest.raises(ValueError, match=match):
        await store.start_turn(OWNER, "chat1", **{**turn, **kwargs})
    assert await store.get(OWNER, "chat1") == before


# --- owners -------------------------------------------------------------------------------


async def test_another_owners_chat_is_as_good_as_missing(store: SQLChatStore) -> None:
    ticket = await new_chat(store)
    before = await store.get(OWNER, "chat1")
    assert await store.get(STRANGER, "chat1") is None
    assert (await store.list_chats(STRANGER)).chats == ()
    assert not await store.delete(STRANGER, "chat1")
    with pytest.raises(ChatConflict):  # as for a missing chat
        await store.start_turn(
            STRANGER, "chat1", version=1, keep=2, add=[user("x", "u2")], answer=answer("a2"),
            title="",
        )  # fmt: skip
    forged = TurnTicket(owner=STRANGER, chat_id="chat1", message_id="a1", turn=ticket.turn)
    assert not await store.finish_turn(forged, answer("a1", "forged"), "finish")
    assert await store.get(OWNER, "chat1") == before
    # the same id is free for the stranger: a chat of their own, which tells them nothing
    theirs = await new_chat(store, owner=STRANGER)
    assert await store.finish_turn(theirs, answer("a1", "theirs"), "finish")
    assert await store.get(OWNER, "chat1") == before
    mine = await store.get(STRANGER, "chat1")
    assert mine is not None
    assert mine.messages[-1].to_json() == answer("a1", "theirs").to_json()
    assert await store.delete(STRANGER, "chat1")
    assert await store.get(OWNER, "chat1") == before


# --- list_chats ---------------------------------------------------------------------------


async def test_chats_are_listed_newest_first(store: SQLChatStore) -> None:
    for chat_id in ("c1", "c2", "c3"):
        await new_chat(store, chat_id, title=f"title {chat_id}")
    await new_chat(store, "theirs", STRANGER)
    c1 = await store.get(OWNER, "c1")
    assert c1 is not None
    await store.start_turn(
        OWNER, "c1", version=1, keep=2, add=[user("x", "u2")], answer=answer("a2"), title=""
    )
    page = await store.list_chats(OWNER)
    assert [chat.id for chat in page.chats] == ["c1", "c3", "c2"]
    assert [chat.title for chat in page.chats] == ["title c1", "title c3", "title c2"]
    assert page.chats[0].version == 2
    assert page.chats[0].owner == OWNER
    assert page.next_cursor is None


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


async def test_a_cursor_the_store_did_not_make_is_a_value_error(store: SQLChatStore) -> None:
    for chat_id in ("c1", "c2", "c3"):
        await new_chat(store, chat_id)
    cursor = (await store.list_chats(OWNER, limit=1)).next_cursor
    assert cursor is not None
    payload, _, tag = cursor.partition(".")
    for bad in ("", "nonsense", cursor + "x", f"{payload}.{tag[::-1]}", f"{tag}.{payload}"):
        with pytest.raises(ValueError, match="not a cursor this chat store made"):
            await store.list_chats(OWNER, before=bad)
    with pytest.raises(ValueError, match="not a cursor"):  # another owner's cursor
        await store.list_chats(STRANGER, before=cursor)
    for limit in (0, 101, True):
        with pytest.raises(ValueError, match="limit"):
            await store.list_chats(OWNER, limit=limit)


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

NASTY = [
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff end",
    "pair \ud83d\ude00 and half \ud83d",
    ESCAPE,
    f"{ESCAPE}0000",
    f"{ESCAPE}fdd0",
    "\\u0000 literally",
    "emoji 😀, RTL \u202e, BOM \ufeff, \uffff",
    "",
]


async def test_nasty_text_round_trips_exactly(store: SQLChatStore) -> None:
    question = as_ui_message(
        wire.user(*NASTY, id=f"u\x00{ESCAPE}", metadata={text: text for text in NASTY if text})
    )
    title = "".join(NASTY)
    ticket = await store.start_turn(
        OWNER, "chat1", version=None, keep=0, add=[question], answer=answer("a1"), title=title
    )
    final = as_ui_message(wire.assistant(*NASTY, id="a1", metadata={"list": NASTY}))
    assert await store.finish_turn(ticket, final, "finish")
    chat = await store.get(OWNER, "chat1")
    assert chat is not None
    assert [m.to_json() for m in chat.messages] == [question.to_json(), final.to_json()]
    assert chat.info.title == title
    assert chat.answers == {"a1": "finish"}
    assert [info.title for info in (await store.list_chats(OWNER)).chats] == [title]


async def test_a_big_answer_round_trips(store: SQLChatStore) -> None:
    """Over the size that is parsed off the event loop."""
    ticket = await new_chat(store)
    big = answer("a1", *[f"part {n} " + "x" * 1000 for n in range(300)])
    assert await store.finish_turn(ticket, big, "finish")
    chat = await store.get(OWNER, "chat1")
    assert chat is not None
    assert chat.messages[1].to_json() == big.to_json()


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


async def test_twenty_concurrent_turns_from_one_version_make_one_winner(
    store: SQLChatStore,
) -> None:
    await new_chat(store)

    async def ask(n: int) -> TurnTicket:
        return await store.start_turn(
            OWNER, "chat1", version=1, keep=2, add=[user(f"q{n}", f"u-{n}")],
            answer=answer(f"a-{n}"), title="",
        )  # fmt: skip

    results = await asyncio.gather(*(ask(n) for n in range(20)), return_exceptions=True)
    winners = [result for result in results if isinstance(result, TurnTicket)]
    others = [result for result in results if not isinstance(result, TurnTicket)]
    assert len(winners) == 1, results
    assert all(isinstance(result, ChatConflict) for result in others), others
    winner = winners[0].message_id.removeprefix("a-")
    assert await ids(store) == ["u1", "a1", f"u-{winner}", f"a-{winner}"]
    assert await version(store) == 2


async def test_twenty_concurrent_new_chats_on_one_id_make_one_chat_per_owner(
    store: SQLChatStore,
) -> None:
    async def create(n: int) -> TurnTicket:
        return await store.start_turn(
            f"owner-{n % 2}", "chat1", version=None, keep=0, add=[user(f"q{n}", f"u-{n}")],
            answer=answer(f"a-{n}"), title=f"t{n}",
        )  # fmt: skip

    results = await asyncio.gather(*(create(n) for n in range(20)), return_exceptions=True)
    winners = [result for result in results if isinstance(result, TurnTicket)]
    assert sorted(w.owner for w in winners) == ["owner-0", "owner-1"], results
    assert all(isinstance(r, ChatConflict) for r in results if r not in winners), results
    for winner in winners:
        n = winner.message_id.removeprefix("a-")
        assert int(n) % 2 == int(winner.owner[-1])
        chat = await store.get(winner.owner, "chat1")
        assert chat is not None
        assert [m.id for m in chat.messages] == [f"u-{n}", f"a-{n}"]
        assert chat.info.title == f"t{n}"


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


async def test_an_owner_and_ids_with_any_text_work(store: SQLChatStore) -> None:
    owner = "user\x00\ud800" + ESCAPE
    for chat_id in ("c1", "c2"):
        ticket = await store.start_turn(
            owner, chat_id, version=None, keep=0, add=[user("hi", "u\x00")],
            answer=answer(f"a{ESCAPE}"), title="t",
        )  # fmt: skip
        assert await store.finish_turn(ticket, answer(f"a{ESCAPE}", "ok"), "finish")
    page = await store.list_chats(owner, limit=1)
    assert page.next_cursor is not None
    rest = await store.list_chats(owner, limit=1, before=page.next_cursor)
    assert [info.id for info in page.chats + rest.chats] == ["c2", "c1"]
    assert {info.owner for info in page.chats} == {owner}
    chat = await store.get(owner, "c1")
    assert chat is not None
    assert [m.id for m in chat.messages] == ["u\x00", f"a{ESCAPE}"]
    assert chat.answers == {f"a{ESCAPE}": "finish"}
    assert await store.get("user", "c1") is None  # the escaped form is not another owner
    assert await store.delete(owner, "c1")
