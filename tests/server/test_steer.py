"""``POST {path}/{id}/steer`` and the WebSocket ``steer`` frame, behind a real uvicorn
server, an Agents SDK agent on a scripted model that echoes what it was given: a steer
sent mid-answer is shown before the next step and reaches the next model call; it stays
in the saved conversation and the next turn's model input; every refusal says why."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from starlette.applications import Starlette

from tests.support.agents_http import close_clients
from tests.support.fake_llm import FakeLLM
from tests.support.js import run_node_script
from tests.support.messages import user
from tests.support.servers import read_rest, read_until, serve
from tests.support.steering_app import ANSWER_PREFIX, echo_model, steering_app, user_texts
from tests.support.stream_rules import assert_valid_body
from uiwire.protocol import UIMessageAssembler
from uiwire.resume import MemoryStreamStore
from uiwire.server import ChatEndpoint, ChatHooks, ChatResult, RequestLimits, ResponseOptions
from uiwire.stream import MAX_PENDING_STEERING, ChatTurn, ChatWork, StreamContext

STEER = {"id": "steer_1", "parts": [{"type": "text", "text": "Use Paris, Texas instead."}]}
QUESTION = "Where is Paris?"
V7 = ResponseOptions(target="v7")
"""Steering needs AI SDK 7 clients."""


@pytest.fixture(autouse=True)
async def _clients(caplog: pytest.LogCaptureFixture) -> AsyncIterator[None]:
    caplog.set_level(logging.WARNING, logger="uiwire")
    yield
    await close_clients()


def chat_body(text: str = QUESTION, chat: str = "chat-1", id: str = "u1") -> dict[str, Any]:
    return {"id": chat, "messages": [user(text, id=id)], "trigger": "submit-message"}


def assemble(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    assembler = UIMessageAssembler(target="v7")
    for chunk in chunks:
        assembler.apply(chunk)
    return assembler.message


class Served:
    def __init__(self, base: str, llm: FakeLLM, finished: list[ChatResult]) -> None:
        self.base = base
        self.llm = llm
        self.finished = finished
        self.client = httpx.AsyncClient(timeout=30)

    def url(self, path: str = "", user: str = "u1") -> str:
        return f"{self.base}/api/chat{path}?user={user}"

    def steer_url(self, chat: str = "chat-1", user: str = "u1") -> str:
        return self.url(f"/{chat}/steer", user)


async def serving(
    app: Starlette, llm: FakeLLM, finished: list[ChatResult]
) -> AsyncIterator[Served]:
    async with serve(app) as base:
        served = Served(base, llm, finished)
        try:
            yield served
        finally:
            await served.client.aclose()


@pytest.fixture(params=["no store", "memory store"])
async def served(request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    finished: list[ChatResult] = []
    streams = MemoryStreamStore() if request.param == "memory store" else None
    with FakeLLM(echo_model) as llm:
        app, _ = steering_app(llm.base_url, finished, streams=streams)
        async for one in serving(app, llm, finished):
            yield one


async def steered_answer(served: Served) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """A turn steered while its tool runs: the steer's response and the answer's chunks."""
    async with served.client.stream("POST", served.url(), json=chat_body()) as posted:
        assert posted.status_code == 200
        first = await read_until(posted, '"tool-input-available"')
        steered = await served.client.post(served.steer_url(), json=STEER)
        rest = await read_rest(posted)
    return steered, first + rest


@pytest.mark.timeout(60)
async def test_a_steer_mid_answer_is_shown_before_the_next_step_and_reaches_the_model(
    served: Served,
) -> None:
    steered, chunks = await steered_answer(served)
    assert steered.status_code == 202
    assert steered.json() == {"id": "steer_1"}
    assert_valid_body(
        "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n", target="v7"
    )
    kinds = [c["type"] for c in chunks]
    at = kinds.index("steering-message")
    assert chunks[at] == {"type": "steering-message", **STEER}
    assert kinds[at - 1 : at + 2] == ["finish-step", "steering-message", "start-step"]
    assert kinds.index("tool-output-available") < at  # after the first call's tool
    # the second model call got it, after the first call's items
    first_call, second_call = served.llm.requests
    assert user_texts(first_call) == [QUESTION]
    assert user_texts(second_call) == [QUESTION, "Use Paris, Texas instead."]
    kinds_in = [i.get("type") or i.get("role") for i in second_call["input"]]
    assert kinds_in[-1] == "user"
    assert kinds_in.index("function_call_output") < len(kinds_in) - 1
    message = assemble(chunks)
    parts = [p["type"] for p in message["parts"]]
    assert parts[parts.index("steering-message") + 1] == "step-start"
    assert message["parts"][-1]["text"] == f"{ANSWER_PREFIX}{QUESTION} | Use Paris, Texas instead."


@pytest.mark.timeout(60)
async def test_the_saved_conversation_keeps_it_and_the_next_turn_sees_it_in_place(
    served: Served,
) -> None:
    await steered_answer(served)
    for _ in range(500):
        if served.finished:
            break
        await asyncio.sleep(0.01)
    [result] = served.finished
    assert {"type": "steering-message", **STEER} in result.message["parts"]
    history = await served.client.get(f"{served.base}/api/chats/chat-1?user=u1")
    saved = history.json()["messages"]
    assert {"type": "steering-message", **STEER} in saved[-1]["parts"]
    nxt = await served.client.post(served.url(), json=chat_body("quick, and now?", id="u2"))
    assert nxt.status_code == 200
    third = served.llm.requests[2]
    assert user_texts(third) == [QUESTION, "Use Paris, Texas instead.", "quick, and now?"]
    roles = [i.get("role") or i.get("type") for i in third["input"]]
    steer_at = [
        i
        for i, item in enumerate(third["input"])
        if item.get("content") == STEER["parts"][0]["text"]
    ]
    assert roles[steer_at[0] - 1] == "function_call_output"  # where the model got it
    assert roles[steer_at[0] + 1] == "assistant"


@pytest.mark.timeout(90)
async def test_the_real_ai7_client_shows_it_where_it_expects_and_converts_it_in_place(
    served: Served,
) -> None:
    """``DefaultChatTransport`` validates every chunk, ``readUIMessageStream`` assembles
    the message, ``validateUIMessages`` takes it and ``convertToModelMessages`` reads the
    steering part as the user message the second model call got, at that point."""
    got = await run_node_script(
        "steering_chat.mjs",
        {
            "api": served.url(),
            "steerUrl": served.steer_url(),
            "chatId": "chat-1",
            "text": QUESTION,
            "steer": STEER,
            "after": "tool-input-available",
        },
    )
    assert (got["steerStatus"], got["steerBody"]) == (202, {"id": "steer_1"})
    parts = got["message"]["parts"]
    kinds = [p["type"] for p in parts]
    at = kinds.index("steering-message")
    assert parts[at] == {"type": "steering-message", **STEER}
    assert kinds[at + 1] == "step-start"  # before the step whose model call saw it
    assert kinds[at - 1] == "tool-look_up"
    assert parts[-1]["text"] == f"{ANSWER_PREFIX}{QUESTION} | Use Paris, Texas instead."
    roles = [m["role"] for m in got["modelMessages"]]
    assert roles == ["user", "assistant", "tool", "user", "assistant"]
    assert got["modelMessages"][3]["content"] == [
        {"type": "text", "text": "Use Paris, Texas instead."}
    ]
    assert user_texts(served.llm.requests[1]) == [QUESTION, "Use Paris, Texas instead."]


@pytest.mark.timeout(90)
async def test_the_real_ai7_websocket_transport_takes_the_steer_frames_answer_and_the_chunk(
    served: Served,
) -> None:
    got = await run_node_script(
        "steering_chat.mjs",
        {
            "wsUrl": served.url("/ws").replace("http://", "ws://"),
            "chatId": "chat-1",
            "text": QUESTION,
            "steer": STEER,
            "after": "tool-input-available",
        },
    )
    assert got["steerStatus"] == {"type": "end", "requestId": "steer-1"}
    kinds = [p["type"] for p in got["message"]["parts"]]
    assert kinds[kinds.index("steering-message") + 1] == "step-start"
    assert got["message"]["parts"][-1]["text"].endswith("| Use Paris, Texas instead.")
    assert [m["role"] for m in got["modelMessages"]] == [
        "user",
        "assistant",
        "tool",
        "user",
        "assistant",
    ]


async def test_a_steer_with_no_running_answer_is_refused(served: Served) -> None:
    refused = await served.client.post(served.steer_url(), json=STEER)
    assert refused.status_code in (404, 409)  # no such chat yet, or nothing running
    done = await served.client.post(served.url(), json=chat_body("quick: where is Paris?"))
    assert done.status_code == 200
    refused = await served.client.post(served.steer_url(), json=STEER)
    assert refused.status_code == 409
    field = refused.json()["error"]["fields"][0]
    assert field["type"] == "no_running_answer"
    assert "no answer is running" in field["message"]


async def test_another_owners_chat_is_404_like_stop(served: Served) -> None:
    async with served.client.stream("POST", served.url(), json=chat_body()) as posted:
        await read_until(posted, '"tool-input-available"')
        other = await served.client.post(served.steer_url(user="u2"), json=STEER)
        mine = await served.client.post(served.steer_url(), json=STEER)
        await read_rest(posted)
    assert other.status_code == 404
    assert mine.status_code == 202


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "parts"),
        ({"parts": []}, 422, "parts"),
        ({"parts": [{"type": "image", "url": "x"}]}, 422, "parts[0].type"),
        (
            {"parts": [{"type": "file", "mediaType": "image/png", "url": "file:///etc/passwd"}]},
            422,
            "parts[0].url",
        ),
        ({"id": "", "parts": [{"type": "text", "text": "x"}]}, 422, "id"),
        ([1], 422, "body"),
    ],
)
async def test_a_bad_body_is_refused_naming_the_field(
    served: Served, body: Any, status: int, field: str
) -> None:
    refused = await served.client.post(served.steer_url(), json=body)
    assert refused.status_code == status
    assert refused.json()["error"]["fields"][0]["field"] == field


async def test_a_body_that_is_not_json_is_415(served: Served) -> None:
    refused = await served.client.post(served.steer_url(), content=b"parts=1")
    assert refused.status_code == 415


async def test_a_v6_endpoint_refuses_steering_naming_the_target() -> None:
    with FakeLLM(echo_model) as llm:
        app, _ = steering_app(llm.base_url, response=ResponseOptions(target="v6"))
        async for served in serving(app, llm, []):
            refused = await served.client.post(served.steer_url(), json=STEER)
    assert refused.status_code == 409
    field = refused.json()["error"]["fields"][0]
    assert (field["field"], field["type"]) == ("target", "steering_target")
    assert "steering needs target 'v7': this chat streams to AI SDK v6 clients" in field["message"]


class NoSteering:
    """A ``ChatAgent`` that does not say it takes steering (as ``DSPyAdapter``)."""

    async def begin_turn(self, turn: ChatTurn) -> ChatWork:
        async def work(ctx: StreamContext[Any]) -> None:
            await ctx.write_text("hi")

        return work


async def test_an_agent_without_steering_is_refused_naming_it() -> None:
    endpoint = ChatEndpoint(NoSteering(), response=V7)
    async with serve(Starlette(routes=endpoint.routes())) as base, httpx.AsyncClient() as client:
        refused = await client.post(f"{base}/api/chat/chat-1/steer", json=STEER)
    assert refused.status_code == 409
    field = refused.json()["error"]["fields"][0]
    assert field["type"] == "steering_unsupported"
    assert "(NoSteering) takes no steering messages" in field["message"]


# --- the WebSocket frame -------------------------------------------------------------------


async def frames_until(socket: Any, check: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 30))
        seen.append(frame)
        if check(frame):
            return seen


@pytest.mark.timeout(60)
async def test_the_websocket_steer_frame_is_answered_like_the_other_frames(
    served: Served,
) -> None:
    url = served.url("/ws").replace("http://", "ws://")
    async with websockets.connect(url) as socket:
        await socket.send(
            json.dumps({"type": "steer", "requestId": "s0", "id": "chat-1", "message": STEER})
        )
        [nothing] = await frames_until(socket, lambda f: f["requestId"] == "s0")
        assert nothing in (
            {"type": "no-active", "requestId": "s0"},
            {"type": "error", "requestId": "s0", "errorText": "id: no such chat"},
        )
        send = {"type": "send", "requestId": "r1", **chat_body()}
        await socket.send(json.dumps(send))
        first = await frames_until(
            socket, lambda f: f.get("chunk", {}).get("type") == "tool-input-available"
        )
        await socket.send(
            json.dumps({"type": "steer", "requestId": "s1", "id": "chat-1", "message": STEER})
        )
        await socket.send(
            json.dumps(
                {"type": "steer", "requestId": "s2", "id": "chat-1", "message": {"parts": 3}}
            )
        )
        rest = await frames_until(socket, lambda f: f["type"] == "end" and f["requestId"] == "r1")
    answers = {f["requestId"]: f for f in first + rest if f["requestId"] in ("s1", "s2")}
    assert answers["s1"] == {"type": "end", "requestId": "s1"}
    assert answers["s2"]["type"] == "error"
    assert answers["s2"]["errorText"].startswith("parts: ")
    chunks = [f["chunk"] for f in first + rest if f["type"] == "chunk"]
    assert [f["sequence"] for f in first + rest if f["type"] == "chunk"] == list(range(len(chunks)))
    kinds = [c["type"] for c in chunks]
    at = kinds.index("steering-message")
    assert kinds[at - 1 : at + 2] == ["finish-step", "steering-message", "start-step"]
    assert user_texts(served.llm.requests[1])[-1] == "Use Paris, Texas instead."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"parts": [{"type": "text", "text": "x"}] * 3}, "parts"),
        ({"parts": [{"type": "text", "text": "x", "m": list(range(60))}]}, "body"),
        ({"parts": [{"type": "text", "text": "x" * 3000}]}, "body"),
    ],
)
async def test_a_steering_body_over_the_endpoints_limits_is_413_naming_the_field(
    body: dict[str, Any], field: str
) -> None:
    limits = RequestLimits(max_parts=2, max_json_values=50, max_body_bytes=2000)
    app, _ = steering_app("http://127.0.0.1:9/v1", limits=limits)
    async with serve(app) as base, httpx.AsyncClient() as client:
        refused = await client.post(f"{base}/api/chat/chat-1/steer?user=u1", json=body)
    assert refused.status_code == 413
    assert refused.json()["error"]["fields"][0]["field"] == field


async def test_a_steering_file_url_follows_the_endpoints_url_schemes() -> None:
    """The steer route reads the schemes where the chat route does: ``RequestLimits``."""
    photo = {"type": "file", "mediaType": "image/png", "url": "data:image/png;base64,AAAA"}
    body = {"parts": [{"type": "text", "text": "this one"}, photo]}
    limits = RequestLimits(url_schemes=("https",))
    app, _ = steering_app("http://127.0.0.1:9/v1", limits=limits)
    async with serve(app) as base, httpx.AsyncClient() as client:
        refused = await client.post(f"{base}/api/chat/chat-1/steer?user=u1", json=body)
        default_app, _ = steering_app("http://127.0.0.1:9/v1")
        async with serve(default_app) as default_base:
            taken = await client.post(f"{default_base}/api/chat/chat-1/steer?user=u1", json=body)
    assert refused.status_code == 422
    [field] = refused.json()["error"]["fields"]
    assert (field["field"], field["type"]) == ("parts[1].url", "url_scheme")
    assert taken.status_code == 404  # the body passed: only then is the chat looked up


async def test_a_steer_the_answer_ends_without_is_not_delivered_and_on_finish_says_so() -> None:
    finished: list[ChatResult] = []

    async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        await ctx.write_text("One step only.")
        for _ in range(2000):  # until the steer is queued, then end without taking it
            if ctx.pending_steering:
                break
            await asyncio.sleep(0.01)

    endpoint = ChatEndpoint(respond, hooks=ChatHooks(on_finish=finished.append), response=V7)
    async with serve(Starlette(routes=endpoint.routes())) as base, httpx.AsyncClient() as client:
        async with client.stream("POST", f"{base}/api/chat", json=chat_body()) as posted:
            await read_until(posted, '"text-delta"')
            steered = await client.post(f"{base}/api/chat/chat-1/steer", json=STEER)
            rest = await read_rest(posted)
        for _ in range(500):
            if finished:
                break
            await asyncio.sleep(0.01)
    assert steered.status_code == 202  # accepted for the running answer...
    assert "steering-message" not in [c["type"] for c in rest]  # ...which never took it
    [result] = finished
    assert [m.id for m in result.record.steering_not_delivered] == ["steer_1"]
    assert all(p["type"] != "steering-message" for p in result.message["parts"])


async def test_a_dspy_agent_is_refused_saying_why() -> None:
    import dspy

    from uiwire.adapters.dspy import DSPyAdapter

    endpoint = ChatEndpoint(DSPyAdapter(dspy.Predict("question -> answer")), response=V7)
    async with serve(Starlette(routes=endpoint.routes())) as base, httpx.AsyncClient() as client:
        refused = await client.post(f"{base}/api/chat/chat-1/steer", json=STEER)
    assert refused.status_code == 409
    message = refused.json()["error"]["fields"][0]["message"]
    assert message.startswith("this chat's agent (DSPyAdapter) takes no steering messages")


async def test_steering_past_the_queues_bound_is_429() -> None:
    release = asyncio.Event()

    async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        await ctx.write_text("Working.")
        await asyncio.wait_for(release.wait(), 20)

    endpoint = ChatEndpoint(respond, response=V7)
    app = Starlette(routes=endpoint.routes())
    async with (
        serve(app) as base,
        httpx.AsyncClient() as client,
        client.stream("POST", f"{base}/api/chat", json=chat_body()) as posted,
    ):
        await read_until(posted, '"text-delta"')
        url = f"{base}/api/chat/chat-1/steer"
        answers = [
            (await client.post(url, json=STEER)).status_code
            for _ in range(MAX_PENDING_STEERING + 1)
        ]
        full = await client.post(url, json=STEER)
        release.set()
        await read_rest(posted)
    assert answers == [202] * MAX_PENDING_STEERING + [429]
    assert full.status_code == 429
    assert full.headers["retry-after"] == "1"
    assert full.json()["error"]["fields"][0]["type"] == "steering_queue_full"
