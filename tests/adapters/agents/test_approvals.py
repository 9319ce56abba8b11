"""The approval store and the parsing of approval answers, without a server."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import os
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agents import Agent
from agents.testing import ScriptedModel, assistant_message, function_call

from tests.support.agents_scenarios import (
    TOOLS,
    answer_approvals,
    delete_file,
    resume_agent,
    run_agent,
    s_approval,
)
from tests.support.context_scenarios import consume
from tests.support.messages import assistant, file, user
from tests.support.redis_server import RedisServer
from tests.support.stream_rules import assert_valid_body
from uiwire.adapters.agents import (
    AgentsAdapter,
    ApprovalError,
    ApprovalStore,
    MemoryApprovalStore,
    PausedRunTooLarge,
    PendingApprovals,
    RedisApprovalStore,
    approval_responses,
)
from uiwire.protocol import ChatRequestError, parse_chat_request
from uiwire.stream import ChatTurn, StreamContext, StreamRecord


def responded(**approval: Any) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {
                "type": "tool-delete_file",
                "toolCallId": "call_1",
                "state": "approval-responded",
                "input": {},
                "approval": approval,
            },
        ],
    }


def test_approval_responses_reads_answers_and_skips_other_parts() -> None:
    message = responded(id="aprv_x", approved=False, reason="no")
    message["parts"].append({"type": "text", "text": "hi"})
    (answer,) = approval_responses(message)
    assert (answer.approval_id, answer.tool_call_id, answer.approved, answer.reason) == (
        "aprv_x",
        "call_1",
        False,
        "no",
    )
    assert answer.field == "parts[1]"


@pytest.mark.parametrize(
    ("approval", "field"),
    [
        ({"approved": True}, "parts[1].approval.id"),
        ({"id": "a", "approved": "yes"}, "parts[1].approval.approved"),
        ({"id": "a", "approved": True, "reason": 3}, "parts[1].approval.reason"),
    ],
)
def test_malformed_answers_are_a_422_naming_the_field(approval: Any, field: str) -> None:
    """A dict is validated as a UIMessage first: its errors are the parser's."""
    with pytest.raises(ApprovalError) as caught:
        approval_responses(responded(**approval))
    assert caught.value.status_code == 422
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


async def test_an_empty_approval_id_is_no_approval_we_asked() -> None:
    """A UIMessage may hold any string as an approval id (the SDK's rule); an empty one
    is refused where it is looked up, naming the field, and nothing is taken."""
    adapter = AgentsAdapter(s_approval())
    with pytest.raises(ApprovalError) as caught:
        await adapter.take_approvals(responded(id="", approved=True))
    assert (caught.value.status_code, caught.value.field) == (404, "parts[1].approval.id")


def test_a_message_that_is_not_an_object_is_a_422() -> None:
    with pytest.raises(
        ApprovalError, match="a valid dictionary or instance of UIMessage"
    ) as caught:
        approval_responses(["not", "a", "message"])
    assert caught.value.status_code == 422
    assert caught.value.field is None


async def test_only_an_assistant_message_is_continued() -> None:
    adapter = AgentsAdapter(s_approval())
    user_message = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}
    with pytest.raises(ApprovalError, match="got role 'user'") as caught:
        await adapter.take_approvals(user_message)
    assert (caught.value.status_code, caught.value.field) == (422, "role")


async def test_memory_store_takes_once_and_expires() -> None:
    store = MemoryApprovalStore()
    await store.put("k", "record", 60)
    assert await store.pop("k") == "record"
    assert await store.pop("k") is None
    await store.put("old", "record", 0.01)
    await asyncio.sleep(0.02)
    assert await store.pop("old") is None


async def test_memory_store_drops_the_oldest_beyond_its_size(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryApprovalStore(max_entries=2)
    with caplog.at_level(logging.WARNING, logger="uiwire"):
        for key in ("a", "b", "c"):
            await store.put(key, key, 60)
    assert len(store) == 2
    assert await store.pop("a") is None
    assert await store.pop("c") == "c"
    assert "approval store full" in caplog.text
    with pytest.raises(ValueError, match="max_entries"):
        MemoryApprovalStore(max_entries=0)


def test_an_empty_store_given_to_the_adapter_is_the_one_it_uses() -> None:
    store = MemoryApprovalStore(max_entries=100)
    assert len(store) == 0  # empty, so falsy: an ``or`` default would replace it
    assert AgentsAdapter(s_approval(), approvals=store).approvals is store


async def test_a_message_with_no_answers_is_a_422() -> None:
    adapter = AgentsAdapter(s_approval())
    message = {"id": "m", "role": "assistant", "parts": [{"type": "text", "text": "hi"}]}
    with pytest.raises(ApprovalError, match="no approval-responded") as caught:
        await adapter.take_approvals(message)
    assert caught.value.status_code == 422


async def test_an_expired_pause_is_a_404_and_runs_nothing() -> None:
    TOOLS.clear()
    adapter = AgentsAdapter(s_approval(), approval_ttl=0.01)
    first = await run_agent(adapter)
    message = first.record.message
    answer_approvals(message, True)
    await asyncio.sleep(0.02)
    with pytest.raises(ApprovalError, match="expired") as caught:
        await adapter.take_approvals(message)
    assert caught.value.status_code == 404
    assert "delete_file" not in TOOLS.names()


async def test_resume_continues_the_same_message_and_runs_each_tool_once() -> None:
    TOOLS.clear()
    adapter = AgentsAdapter(s_approval())
    first = await run_agent(adapter)
    message = first.record.message
    answer_approvals(message, True)
    second = await resume_agent(adapter, message)
    assert_valid_body(second.body, message=message)
    assert second.record.message_id == first.record.message_id
    assert TOOLS.names()[-1] == "delete_file"
    # the ungated tool of the same turn ran in the first request, and only then
    assert TOOLS.names().count("get_weather") == 1


# --- paused runs: bound to (owner, chat, message), stored small, within a byte bound ------


def test_the_key_is_a_digest_of_owner_chat_and_message() -> None:
    """Each of the three ids changes the key, no two ids run into each other, and nothing
    of them reaches a store's key names (only hex)."""
    triples = [
        ("alice", "c1", "msg_1"),
        ("bob", "c1", "msg_1"),
        ("alice", "c2", "msg_1"),
        ("alice", "c1", "msg_2"),
        (None, "c1", "msg_1"),
        ("None", "c1", "msg_1"),
        (None, None, "msg_1"),
        ("a:b", "c", "msg_1"),
        ("a", "b:c", "msg_1"),
        ("alice", "c1\nFLUSHALL *", "msg_1"),
    ]
    keys = [PendingApprovals.key(*triple) for triple in triples]
    assert len(set(keys)) == len(triples)
    assert all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys)
    assert PendingApprovals.key("alice", "c1", "msg_1") == keys[0]  # the same ids: found


class RecordingStore:
    """An ``ApprovalStore`` in front of a real one that notes the size of each record."""

    def __init__(self, store: ApprovalStore) -> None:
        self.store = store
        self.sizes: list[int] = []

    async def put(self, key: str, record: str, ttl: float) -> None:
        self.sizes.append(len(record.encode()))
        await self.store.put(key, record, ttl)

    async def pop(self, key: str) -> str | None:
        return await self.store.pop(key)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[RecordingStore]:
    """The in-memory store and ``RedisApprovalStore`` on a real redis-server."""
    if request.param == "memory":
        yield RecordingStore(MemoryApprovalStore())
        return
    redis: RedisServer = request.getfixturevalue("redis_server")
    shared = RedisApprovalStore(redis.url)
    try:
        yield RecordingStore(shared)
    finally:
        await shared.aclose()


@dataclasses.dataclass
class Turn:
    """One ``useChat`` request answered by ``begin_turn``, as the server would run it."""

    body: bytes
    record: StreamRecord
    message: dict[str, Any]


async def turn(
    adapter: AgentsAdapter,
    *messages: dict[str, Any],
    chat_id: str = "c1",
    owner: str | None = "alice",
) -> Turn:
    """POST ``messages`` to chat ``chat_id`` as ``owner``: the last one, if it is an
    assistant message, is continued. Raises the ``ChatRequestError`` of a refused turn."""
    chat = parse_chat_request(
        {"id": chat_id, "messages": list(messages), "trigger": "submit-message"}
    )
    last = chat.messages[-1]
    continued = last if last.role == "assistant" else None
    message_id = last.id if continued is not None else f"msg_{secrets.token_hex(12)}"
    work = await adapter.begin_turn(
        ChatTurn(chat=chat, message_id=message_id, continued=continued, owner=owner)
    )
    ctx: StreamContext[Any] = StreamContext(
        message_id=None if continued else message_id,
        continued_message=continued,
        collect=True,
    )
    ctx.run(work)
    body = await consume(ctx)
    await ctx.wait_closed()
    assert ctx.record is not None
    return Turn(body, ctx.record, ctx.record.message)


def deletes(count: int) -> ScriptedModel:
    """A model that asks to delete ``count`` files, one approval each, then is done."""
    calls = [
        [function_call("delete_file", {"path": f"/tmp/{n}"}, call_id=f"call_d{n}")]
        for n in range(count)
    ]
    return ScriptedModel([*calls, [assistant_message("Done.")]])


def image_url(size: int) -> str:
    return "data:image/png;base64," + base64.b64encode(os.urandom(size * 3 // 4)).decode()


def long_chat(question: str) -> list[dict[str, Any]]:
    """50 messages, two of them with a 1 MiB ``data:`` image."""
    chat: list[dict[str, Any]] = []
    for n in range(49):
        if n % 2:
            chat.append(assistant(f"answer {n}", id=f"a{n}"))
        else:
            files = [file("image/png", image_url(1 << 20))] if n in (0, 10) else []
            chat.append(user(f"question {n}", *files, id=f"u{n}"))
    return [*chat, user(question, id="u49")]


async def test_leaked_ids_continue_nothing_for_another_owner_or_chat(
    store: RecordingStore,
) -> None:
    """A continuation of the right message with the right approval ids, from another
    chat, another owner or no owner, is the 404 of an unknown message; the paused run
    stays, and its owner continues it in its chat afterwards."""
    TOOLS.clear()
    model = deletes(1)
    adapter = AgentsAdapter(Agent(name="Admin", model=model, tools=[delete_file]), approvals=store)
    question = user("delete it")
    paused = (await turn(adapter, question)).message
    answer_approvals(paused, True)
    for chat_id, owner in [("c2", "alice"), ("c1", "bob"), ("c1", None), ("c2", None)]:
        with pytest.raises(ChatRequestError) as caught:
            await turn(adapter, question, paused, chat_id=chat_id, owner=owner)
        assert caught.value.status_code == 404
        assert [e.field for e in caught.value.errors] == ["messages[1].id"]
    assert TOOLS.names() == []
    assert len(model.calls) == 1
    done = await turn(adapter, question, paused)
    assert done.message["parts"][-1]["text"] == "Done."
    assert TOOLS.names() == ["delete_file"]


async def test_a_paused_turn_keeps_the_run_not_the_conversation(store: RecordingStore) -> None:
    """50 messages with two 1 MiB images: the paused run is stored in a few KiB, and the
    resumed model call still gets the whole conversation, images included."""
    model = deletes(1)
    adapter = AgentsAdapter(Agent(name="Admin", model=model, tools=[delete_file]), approvals=store)
    chat = long_chat("delete it")
    paused = (await turn(adapter, *chat)).message
    assert len(json.dumps(chat)) > 2 << 20
    (size,) = store.sizes
    assert size < 16 << 10
    answer_approvals(paused, True)
    done = await turn(adapter, *chat, paused)
    assert done.message["parts"][-1]["text"] == "Done."
    asked, resumed = (list(call.input) for call in model.calls)
    assert resumed[: len(asked)] == asked
    assert resumed[len(asked)]["type"] == "function_call"
    assert str(chat[10]["parts"][1]["url"]) in json.dumps(resumed)


async def test_a_run_that_pauses_again_stays_bound_and_small(store: RecordingStore) -> None:
    TOOLS.clear()
    model = deletes(2)
    adapter = AgentsAdapter(Agent(name="Admin", model=model, tools=[delete_file]), approvals=store)
    chat = [user("look", file("image/png", image_url(256 << 10))), user("delete two", id="u2")]
    paused = (await turn(adapter, *chat)).message
    answer_approvals(paused, True)
    again = (await turn(adapter, *chat, paused)).message
    assert again["parts"][-1]["state"] == "approval-requested"
    assert TOOLS.names() == ["delete_file"]
    assert max(store.sizes) < 32 << 10  # the image is in neither record
    answer_approvals(again, True)
    with pytest.raises(ChatRequestError) as caught:
        await turn(adapter, *chat, again, chat_id="c2")
    assert caught.value.status_code == 404
    done = await turn(adapter, *chat, again)
    assert done.message["parts"][-1]["text"] == "Done."
    assert TOOLS.names() == ["delete_file", "delete_file"]
    first, _, last = (list(call.input) for call in model.calls)
    assert last[: len(first)] == first


async def test_a_paused_run_over_the_byte_bound_is_not_kept(store: RecordingStore) -> None:
    """The run ends with a masked error instead of a pause; nothing is stored and no
    approval is asked."""
    adapter = AgentsAdapter(
        Agent(name="Admin", model=deletes(1), tools=[delete_file]),
        approvals=store,
        approval_max_bytes=1000,
    )
    ended = await turn(adapter, user("delete it"))
    chunks = assert_valid_body(ended.body)
    assert [c["type"] for c in chunks if "approval" in c["type"] or c["type"] == "error"] == [
        "error"
    ]
    assert "approval_max_bytes" not in ended.body.decode()  # masked
    assert isinstance(ended.record.exception, PausedRunTooLarge)
    assert "over approval_max_bytes (1000)" in str(ended.record.exception)
    assert store.sizes == []
    assert await store.pop(PendingApprovals.key("alice", "c1", ended.message["id"])) is None


async def test_the_bound_counts_the_input_a_resumption_cannot_rebuild() -> None:
    """Outside a turn (``adapter.stream``) the run's input stays in the record, so it
    counts: a 64 KiB question over a 32 KiB bound is refused; the same bound holds a
    turn whose conversation has a 1 MiB image."""
    agent = Agent(name="Admin", model=deletes(1), tools=[delete_file])
    bounded = AgentsAdapter(agent, approval_max_bytes=32 << 10)
    outcome = await run_agent(bounded, "delete it " + "x" * (64 << 10))
    assert isinstance(outcome.record.exception, PausedRunTooLarge)
    turned = AgentsAdapter(
        Agent(name="Admin", model=deletes(1), tools=[delete_file]), approval_max_bytes=32 << 10
    )
    paused = await turn(turned, user("delete", file("image/png", image_url(1 << 20))))
    assert paused.record.exception is None
    assert paused.message["parts"][-1]["state"] == "approval-requested"


def test_approval_max_bytes_must_be_a_positive_int() -> None:
    for wrong in (0, -1, 1.5, "1"):
        with pytest.raises(ValueError, match="approval_max_bytes"):
            AgentsAdapter(s_approval(), approval_max_bytes=wrong)  # type: ignore[arg-type]


async def test_a_run_paused_in_a_turn_is_continued_with_the_turn() -> None:
    """``take_approvals`` alone has no conversation to rebuild the run's input from: a
    422, and the record stays for the turn's own continuation."""
    TOOLS.clear()
    adapter = AgentsAdapter(Agent(name="Admin", model=deletes(1), tools=[delete_file]))
    question = user("delete it")
    paused = (await turn(adapter, question)).message
    answer_approvals(paused, True)
    with pytest.raises(ApprovalError, match="without its conversation") as caught:
        await adapter.take_approvals(paused, chat_id="c1", owner="alice")
    assert caught.value.status_code == 422
    assert TOOLS.names() == []
    done = await turn(adapter, question, paused)
    assert done.message["parts"][-1]["text"] == "Done."


async def test_a_run_streamed_for_a_chat_and_owner_is_resumed_by_them_only() -> None:
    """The hand-written path: ``stream``/``stream_into`` bind the pause to the
    ``chat_id`` and ``owner`` given, ``take_approvals``/``resume`` find it with them."""
    TOOLS.clear()
    adapter = AgentsAdapter(s_approval())
    ctx: StreamContext[Any] = StreamContext(collect=True)
    ctx.run(adapter.stream_into(ctx, "delete it", chat_id="c1", owner="alice"))
    await consume(ctx)
    await ctx.wait_closed()
    assert ctx.record is not None
    message = ctx.record.message
    answer_approvals(message, True)
    for binding in ({}, {"chat_id": "c1"}, {"chat_id": "c1", "owner": "bob"}):
        with pytest.raises(ApprovalError) as caught:
            await adapter.take_approvals(message, **binding)
        assert caught.value.status_code == 404
    resumption = await adapter.take_approvals(message, chat_id="c1", owner="alice")
    other: StreamContext[Any] = StreamContext(continued_message=resumption.message)
    with pytest.raises(ValueError, match="stays bound"):
        await adapter.stream_into(other, resumption, chat_id="c2")
    assert TOOLS.names() == ["get_weather"]
    other.run(adapter.stream_into(other, resumption))
    assert_valid_body(await consume(other), message=message)
    assert TOOLS.names() == ["get_weather", "delete_file"]


async def test_a_continuation_without_the_conversation_it_paused_in_is_a_409() -> None:
    """A run stored without its input gets it back from the turn's messages: a turn that
    lost some of them (a server passing the continued message alone, say) would give
    the model another conversation, so it is refused and the run stays."""
    TOOLS.clear()
    adapter = AgentsAdapter(Agent(name="Admin", model=deletes(1), tools=[delete_file]))
    chat = [user("first", id="u1"), assistant("ok", id="a1"), user("delete it", id="u2")]
    paused = (await turn(adapter, *chat)).message
    answer_approvals(paused, True)
    for lost in ([], chat[2:], chat[:1] + chat[2:]):
        with pytest.raises(ChatRequestError) as caught:
            await turn(adapter, *lost, paused)
        assert caught.value.status_code == 409
        assert "3 input items then" in caught.value.errors[0].message
    assert TOOLS.names() == []
    done = await turn(adapter, *chat, paused)
    assert done.message["parts"][-1]["text"] == "Done."
