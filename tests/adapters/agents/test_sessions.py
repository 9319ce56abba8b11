"""``AgentsAdapter(sessions=...)`` behind ``ChatEndpoint`` on a real server: each chat's
Agents SDK ``Session`` (``SQLAlchemySession`` on the chat store's own SQLite file) gives
the model its own items back, follows regenerate and edits, holds a continued run's
items once, and belongs to one owner.

What the model should see is not written down here: the same turns are run by the SDK
itself (``Runner.run_streamed`` with a ``SQLiteSession``, the same script on a second
fake server), and the requests must match."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from agents import Agent, Runner, TResponseInputItem, function_tool
from agents.extensions.memory import SQLAlchemySession
from agents.memory import SQLiteSession
from starlette.applications import Starlette

from tests.support.agents_http import close_clients, http_agent
from tests.support.agents_scenarios import TOOLS, answer_approvals
from tests.support.fake_llm import FakeLLM, Reply, ToolCallReply
from tests.support.messages import assistant, user
from tests.support.servers import serve
from tests.support.stream_rules import assert_valid_body
from uiwire.adapters.agents import (
    AgentsAdapter,
    PendingApprovals,
    SessionFactory,
    chat_session_id,
    to_agent_input,
)
from uiwire.adapters.agents.sessions import align_session
from uiwire.chats import SQLChatStore
from uiwire.protocol import UIMessageAssembler, as_ui_message, parse_chat_request
from uiwire.server import ChatEndpoint, Conversations, Identity

ENCRYPTED = "gAAAA-encrypted-reasoning-of-turn-1"


def thinking(item_id: str, encrypted: str) -> dict[str, Any]:
    """A reasoning item as a ``store=False`` reasoning model returns it: no summary, its
    content encrypted; only its id and ``encrypted_content`` take it back."""
    return {"type": "reasoning", "id": item_id, "summary": [], "encrypted_content": encrypted}


@function_tool(needs_approval=True)
async def transfer_money(amount: int, to: str) -> str:
    """Send money to someone."""
    TOOLS.add("transfer_money", amount=amount, to=to)
    return f"Sent {amount} to {to}"


@pytest.fixture(autouse=True)
async def _clean() -> AsyncIterator[None]:
    TOOLS.clear()
    yield
    await close_clients()


def browser(base: str, owner: str = "ada") -> httpx.AsyncClient:
    """A signed-in user's browser (the test's ``identify`` reads ``x-user``)."""
    return httpx.AsyncClient(base_url=base, timeout=30, headers={"x-user": owner})


async def session_items(store: SQLChatStore, owner: str, chat_id: str) -> list[Any]:
    """What the chat's session holds (the adapter's own session id for it)."""
    session = SQLAlchemySession(chat_session_id(owner, chat_id), engine=store.engine)
    return await session.get_items()


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'chats.db'}"


SERVED_ADAPTERS: list[AgentsAdapter] = []
"""The adapters ``served_app`` made, newest last (to look into their approval store)."""


async def served_app(
    llm: FakeLLM,
    database: str,
    tools: Sequence[Any] = (),
    sessions: SessionFactory | None = None,
) -> Any:
    """The endpoint; sessions in the chat store's own database unless ``sessions``."""
    store = SQLChatStore(database)
    adapter = AgentsAdapter(
        http_agent(llm, tools=list(tools)),
        sessions=sessions
        or (
            lambda session_id: SQLAlchemySession(
                session_id, engine=store.engine, create_tables=True
            )
        ),
    )
    endpoint = ChatEndpoint(
        adapter,
        conversations=Conversations(store=store),
        identity=Identity(identify=lambda request: request.headers["x-user"]),
    )
    SERVED_ADAPTERS.append(adapter)
    return store, Starlette(routes=endpoint.routes("/api/chat"))


async def post(
    client: httpx.AsyncClient, body: dict[str, Any], continued: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """POST a turn once the chat's previous answer is saved (the store saves it just
    after its stream ends; until then the server answers 409, nothing having run);
    the answer's chunks, checked by the stream rules (as a continuation of
    ``continued`` when given)."""
    response = await client.post("/api/chat", json=body)
    for _ in range(500):
        if response.status_code != 409 or "still being written" not in response.text:
            break
        await asyncio.sleep(0.02)
        response = await client.post("/api/chat", json=body)
    assert response.status_code == 200, response.text
    return assert_valid_body(response.content, message=continued)


async def ask(
    client: httpx.AsyncClient, chat_id: str, text: str, **body: Any
) -> list[dict[str, Any]]:
    """One turn, the last-message body; the answer's chunks."""
    message = user(text, id=body.pop("message_id", f"u-{text}"))
    return await post(
        client, {"id": chat_id, "message": message, "trigger": "submit-message", **body}
    )


async def sdk_inputs(script: Sequence[Reply], turns: Sequence[str]) -> list[Any]:
    """The model's input on each request when the SDK itself runs ``turns`` with one
    session (nothing of uiwire in between)."""
    session = SQLiteSession("reference")
    with FakeLLM(list(script)) as llm:
        agent = http_agent(llm)
        for text in turns:
            result = Runner.run_streamed(agent, text, session=session)
            async for _ in result.stream_events():
                pass
    session.close()
    return [request["input"] for request in llm.requests]


async def test_the_model_gets_its_own_items_back_as_the_sdk_would_send_them(
    database: str,
) -> None:
    script = [
        Reply(text="Hello there.", items=[thinking("rs_secret_1", ENCRYPTED)]),
        Reply(text="Still here."),
    ]
    with FakeLLM(list(script)) as llm:
        store, app = await served_app(llm, database)
        async with serve(app) as base, browser(base) as client:
            await ask(client, "c", "Hi")
            await ask(client, "c", "Again")
            stored = (await client.get("/api/chats/c")).json()["messages"]
        await store.close()
    expected = await sdk_inputs(script, ["Hi", "Again"])
    assert llm.requests[1]["input"] == expected[1]
    given = json.dumps(llm.requests[1]["input"])
    for own in (ENCRYPTED, "rs_secret_1", "msg_1_1"):  # content, reasoning id, message id
        assert own in given
    # what the UI messages alone would have given the model: none of it
    converted = json.dumps(to_agent_input(stored[:-1]))
    assert ENCRYPTED not in converted
    assert "rs_secret_1" not in converted


def _user_texts(items: list[TResponseInputItem]) -> list[str]:
    return [str(item.get("content")) for item in items if item.get("role") == "user"]


async def test_regenerate_and_edit_cut_the_session_to_the_conversation(database: str) -> None:
    script = [Reply(text=f"answer {n}", items=[thinking(f"rs_{n}", f"enc-{n}")]) for n in range(5)]
    with FakeLLM(list(script)) as llm:
        store, app = await served_app(llm, database)
        async with serve(app) as base, browser(base) as client:
            await ask(client, "c", "one")
            await ask(client, "c", "two")
            await ask(client, "c", "three")
            regenerate = {
                "id": "c",
                "message": user("three", id="u-three"),
                "trigger": "regenerate-message",
            }
            await post(client, regenerate)
            await ask(client, "c", "TWO", message_id="u-two")  # edit the second question
        items = await session_items(store, "ada", "c")
        await store.close()
    # regenerate: the model saw "one", "two" and "three" once, the first answer to
    # "three" (request 2) gone; the SDK itself, on those three questions, sends the same
    reference = await sdk_inputs(script, ["one", "two", "three"])
    regenerated = llm.requests[3]["input"]
    assert _user_texts(regenerated) == ["one", "two", "three"]
    assert "enc-2" not in json.dumps(regenerated)
    assert regenerated == reference[2]
    # the edit: "one" and its answer, then "TWO"; the SDK on "one", "TWO" sends the same
    edited = llm.requests[4]["input"]
    reference = await sdk_inputs(script, ["one", "TWO"])
    assert edited == reference[1]
    # and the session holds exactly that conversation, with the edit's answer
    assert _user_texts(items) == ["one", "TWO"]
    assert "enc-4" in json.dumps(items)
    assert "enc-1" not in json.dumps(items)


def assemble(chunks: list[dict[str, Any]], message: dict[str, Any] | None = None) -> dict[str, Any]:
    assembler = UIMessageAssembler(message=message)
    for chunk in chunks:
        assembler.apply(chunk)
    return assembler.message


async def test_an_approval_continuation_with_a_session_holds_each_item_once(
    database: str,
) -> None:
    call = ToolCallReply("transfer_money", '{"amount": 100, "to": "Alice"}', id="call_t1")
    script = [
        Reply(text="Hello."),
        Reply(text="Let me send it.", tool_calls=[call], items=[thinking("rs_t", "enc-t")]),
        Reply(text="The transfer is done."),
    ]
    with FakeLLM(list(script)) as llm:
        store, app = await served_app(llm, database, tools=[transfer_money])
        async with serve(app) as base, browser(base) as client:
            await ask(client, "c", "Hi")
            question = user("Send 100 to Alice", id="u2")
            chunks = await post(client, {"id": "c", "message": question})
            assert any(c["type"] == "tool-approval-request" for c in chunks)
            paused = assemble(chunks)
            # the paused run was kept without its input: the session holds it
            approvals = SERVED_ADAPTERS[-1].approvals
            key = PendingApprovals.key("ada", "c", paused["id"])
            record = await approvals.pop(key)
            assert record is not None
            pending = PendingApprovals.loads(record)
            await approvals.put(key, record, 60)
            assert pending.input_items == 3  # "Hi", its answer, "Send 100 to Alice"
            assert json.loads(pending.state)["original_input"] == []
            answer_approvals(paused, True)
            await post(client, {"id": "c", "message": paused}, continued=paused)
        items = await session_items(store, "ada", "c")
        await store.close()
    assert TOOLS.calls == [("transfer_money", {"amount": 100, "to": "Alice"})]
    kinds = [item.get("type", item.get("role")) for item in items]
    assert kinds == [
        "user",
        "message",
        "user",
        "reasoning",
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    assert _user_texts(items) == ["Hi", "Send 100 to Alice"]
    # the resumed request: the session's items up to the call, then the call's output
    resumed = llm.requests[2]["input"]
    assert resumed == items[:-1]


async def test_two_owners_with_the_same_chat_id_do_not_share_a_session(database: str) -> None:
    script = [
        Reply(text="Alice's answer.", items=[thinking("rs_a", "enc-alice")]),
        Reply(text="Eve's answer."),
        Reply(text="Alice again."),
    ]
    with FakeLLM(list(script)) as llm:
        store, app = await served_app(llm, database)
        async with (
            serve(app) as base,
            browser(base, "alice") as alice,
            browser(base, "eve") as eve,
        ):
            await ask(alice, "same", "Alice's secret")
            await ask(eve, "same", "Eve here")
            await ask(alice, "same", "More")
        alice_items = await session_items(store, "alice", "same")
        eve_items = await session_items(store, "eve", "same")
        await store.close()
    eve_saw = json.dumps(llm.requests[1]["input"])
    assert "Alice" not in eve_saw
    assert "enc-alice" not in eve_saw
    assert _user_texts(llm.requests[2]["input"]) == ["Alice's secret", "More"]
    assert "enc-alice" in json.dumps(llm.requests[2]["input"])
    assert _user_texts(alice_items) == ["Alice's secret", "More"]
    assert _user_texts(eve_items) == ["Eve here"]


async def test_a_session_out_of_step_is_rebuilt_from_the_conversation() -> None:
    """Sessions turned on for a chat that already has turns: the session has none of
    them, so it gets them as ``to_agent_input`` converts them (nothing better exists)."""
    earlier = parse_chat_request(
        json.dumps(
            {
                "id": "c",
                "messages": [user("one", id="u1"), assistant("answer 1"), user("two", id="u2")],
                "trigger": "submit-message",
            }
        )
    ).messages
    session = SQLiteSession("out-of-step")
    await session.add_items([{"role": "user", "content": "one"}])
    await align_session(session, earlier)
    assert await session.get_items() == to_agent_input(earlier)
    # in step: the second turn's items are dropped (an edit of "two")
    await session.add_items([{"role": "assistant", "content": "answer 2"}])
    await align_session(session, earlier[:2])
    assert await session.get_items() == to_agent_input(earlier[:2])
    # a new chat with a stale session (a deleted chat's id used again): emptied
    await align_session(session, [])
    assert await session.get_items() == []
    session.close()


async def test_forget_chat_empties_that_owners_session_only(tmp_path: Path) -> None:
    path = str(tmp_path / "sessions.db")
    agent = Agent(name="A", model="gpt-4.1")
    adapter = AgentsAdapter(agent, sessions=lambda session_id: SQLiteSession(session_id, path))
    for owner in ("alice", "eve"):
        session = SQLiteSession(chat_session_id(owner, "c"), path)
        await session.add_items([{"role": "user", "content": f"{owner} was here"}])
        session.close()
    await adapter.forget_chat("c", owner="alice")
    alice = SQLiteSession(chat_session_id("alice", "c"), path)
    eve = SQLiteSession(chat_session_id("eve", "c"), path)
    assert await alice.get_items() == []
    assert _user_texts(await eve.get_items()) == ["eve was here"]
    alice.close()
    eve.close()


class ClosedSessions:
    """A factory of ``SQLiteSession`` in one file that records which ones were closed."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.made: list[SQLiteSession] = []
        self.closed: list[SQLiteSession] = []

    def __call__(self, session_id: str) -> SQLiteSession:
        closed = self.closed

        class Recorded(SQLiteSession):
            def close(self) -> None:
                closed.append(self)
                super().close()

        session = Recorded(session_id, self.path)
        self.made.append(session)
        return session


async def test_each_session_the_adapter_makes_is_closed(database: str, tmp_path: Path) -> None:
    """One ``SQLiteSession`` per use (a turn, a continuation's check and its run): each
    one's connections are closed when it is done, failed turns included."""
    call = ToolCallReply("transfer_money", '{"amount": 5, "to": "Bob"}', id="call_b")
    script = [Reply(text="Sending.", tool_calls=[call]), Reply(text="Sent.")]
    sessions = ClosedSessions(str(tmp_path / "sessions.db"))
    with FakeLLM(script) as llm:
        store, app = await served_app(llm, database, [transfer_money], sessions)
        async with serve(app) as base, browser(base) as client:
            chunks = await post(client, {"id": "c", "message": user("Pay Bob", id="u1")})
            paused = assemble(chunks)
            answer_approvals(paused, True)
            await post(client, {"id": "c", "message": paused}, continued=paused)
            failed = await ask(client, "c", "And again")  # the script is over: a failed run
        await store.close()
    assert any(c["type"] == "error" for c in failed)
    assert len(sessions.made) == 4  # the turn, the continuation's check and run, the turn
    assert sessions.closed == sessions.made


async def test_a_stalled_session_fails_the_alignment_at_its_deadline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A session whose storage never answers cannot hold a turn for ever."""
    import uiwire.adapters.agents.sessions as sessions_module

    class Stalled(SQLiteSession):
        async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    monkeypatch.setattr(sessions_module, "ALIGN_DEADLINE", 0.2)
    session = Stalled("s", str(tmp_path / "s.db"))
    try:
        with pytest.raises(TimeoutError, match=r"did not answer within 0\.2 s"):
            await align_session(session, [as_ui_message(user("hi", id="u1"))])
    finally:
        session.close()
