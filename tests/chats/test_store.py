"""The ``ChatStore`` contract, on every store: ``MemoryChatStore``, and ``SQLChatStore``
on a real SQLite file and a real PostgreSQL server. What only SQL stores do (the schema,
the kept secret across workers, deadlines) is in ``test_sql.py``."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support import messages as wire
from tests.support.chat_stores import (
    OWNER,
    STRANGER,
    answer,
    empty_database,
    ids,
    new_chat,
    user,
    version,
)
from uiwire.chats import ChatConflict, ChatStore, MemoryChatStore, SQLChatStore, TurnTicket
from uiwire.chats._json_text import ESCAPE
from uiwire.protocol.ui_message import as_ui_message


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ChatStore]:
    if request.param == "memory":
        yield MemoryChatStore()
        return
    async with empty_database(request.param, request, tmp_path_factory) as url:
        store = SQLChatStore(url)
        try:
            yield store
        finally:
            await store.close()


# --- start_turn, get, finish_turn ---------------------------------------------------------


async def test_a_new_chat_holds_the_question_and_a_running_answer(store: ChatStore) -> None:
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


async def test_finish_turn_writes_the_answer_and_ends_the_turn(store: ChatStore) -> None:
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
async def test_every_end_state_is_kept(store: ChatStore, state: Any) -> None:
    ticket = await new_chat(store)
    assert await store.finish_turn(ticket, answer("a1", "part"), state)
    chat = await store.get(OWNER, "chat1")
    assert chat is not None
    assert chat.answers == {"a1": state}


async def test_finish_turn_refuses_another_message_or_a_bad_state(store: ChatStore) -> None:
    ticket = await new_chat(store)
    with pytest.raises(ValueError, match="ticket's answer"):
        await store.finish_turn(ticket, answer("a2", "x"), "finish")
    with pytest.raises(ValueError, match="state"):
        await store.finish_turn(ticket, answer("a1", "x"), "done")  # type: ignore[arg-type]


async def test_a_turn_on_top_keeps_adds_and_answers(store: ChatStore) -> None:
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


async def test_regenerate_and_edit_drop_what_follows(store: ChatStore) -> None:
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
    store: ChatStore,
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


async def test_a_finish_for_a_dropped_answer_changes_nothing(store: ChatStore) -> None:
    first = await new_chat(store)
    await store.start_turn(OWNER, "chat1", version=1, keep=1, add=[], answer=answer("a2"), title="")
    before = await store.get(OWNER, "chat1")
    assert not await store.finish_turn(first, answer("a1", "late"), "finish")
    assert await store.get(OWNER, "chat1") == before


async def test_split_brain_a_late_finish_of_an_older_turn_keeps_the_order(
    store: ChatStore,
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


async def test_a_stale_version_is_a_conflict_and_writes_nothing(store: ChatStore) -> None:
    first = await new_chat(store)
    await store.finish_turn(first, answer("a1", "one"), "finish")  # version 2 now
    before = await store.get(OWNER, "chat1")
    with pytest.raises(ChatConflict):
        await store.start_turn(
            OWNER, "chat1", version=1, keep=2, add=[user("x", "u2")], answer=answer("a2"), title=""
        )
    assert await store.get(OWNER, "chat1") == before


async def test_a_missing_chat_with_a_version_is_a_conflict(store: ChatStore) -> None:
    with pytest.raises(ChatConflict):
        await store.start_turn(
            OWNER, "nope", version=1, keep=0, add=[user("x", "u1")], answer=answer("a1"), title=""
        )
    assert await store.get(OWNER, "nope") is None


async def test_an_existing_id_for_a_new_chat_is_a_conflict(store: ChatStore) -> None:
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
    store: ChatStore, kwargs: dict[str, Any], match: str
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


async def test_another_owners_chat_is_as_good_as_missing(store: ChatStore) -> None:
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


async def test_chats_are_listed_newest_first(store: ChatStore) -> None:
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


async def test_a_cursor_the_store_did_not_make_is_a_value_error(store: ChatStore) -> None:
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


async def test_nasty_text_round_trips_exactly(store: ChatStore) -> None:
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


async def test_a_big_answer_round_trips(store: ChatStore) -> None:
    """Over the size that is parsed off the event loop."""
    ticket = await new_chat(store)
    big = answer("a1", *[f"part {n} " + "x" * 1000 for n in range(300)])
    assert await store.finish_turn(ticket, big, "finish")
    chat = await store.get(OWNER, "chat1")
    assert chat is not None
    assert chat.messages[1].to_json() == big.to_json()


# --- kept_secret --------------------------------------------------------------------------


# --- schema -------------------------------------------------------------------------------


# --- engines, deadlines, failures ---------------------------------------------------------


async def test_twenty_concurrent_turns_from_one_version_make_one_winner(
    store: ChatStore,
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
    store: ChatStore,
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


async def test_an_owner_and_ids_with_any_text_work(store: ChatStore) -> None:
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
