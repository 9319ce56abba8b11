"""``ChatSocket``: the chat over one WebSocket, checked with the real ``ai`` 7
``WebSocketChatTransport`` (and its ``useChat`` core) in Node, against a real uvicorn
server: send, a dropped socket resumed with nothing lost or repeated, abort, several
requests on one socket, bad frames, and the handshake's origin and owner checks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from starlette.applications import Starlette

from tests.support.js import run_node_script
from tests.support.redis_server import RedisServer
from tests.support.servers import serve
from uiwire.chats import SQLChatStore
from uiwire.resume import MemoryStreamStore, RedisStreamStore
from uiwire.server import ChatEndpoint, ChatHooks, ChatResult, Conversations, Identity
from uiwire.stream import ChatTurn, StreamContext

WORDS = [f"word{i} " for i in range(40)]
PAUSE = 0.02
"""Seconds between words: a drop or an abort lands mid-answer."""


class Served:
    """The app under test and what its ``on_finish`` saw."""

    def __init__(self, **options: Any) -> None:
        self.finishes: list[ChatResult] = []
        self.seen_bodies: list[dict[str, Any]] = []
        self.endpoint = ChatEndpoint(
            self.respond,
            hooks=ChatHooks(on_finish=self.finishes.append),
            identity=Identity(identify=lambda request: request.query_params.get("user")),
            **options,
        )
        self.app = Starlette(routes=self.endpoint.routes("/api/chat"))

    async def respond(self, turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        self.seen_bodies.append(turn.body)
        for word in WORDS:
            await ctx.write_text(word)
            await asyncio.sleep(PAUSE)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Served, str]]:
    app = Served(streams=MemoryStreamStore())
    async with serve(app.app) as base:
        yield app, base.replace("http://", "ws://") + "/api/chat/ws"


async def client(**options: Any) -> Any:
    return await run_node_script("websocket_chat.mjs", options)


def send_frame(request_id: str, chat_id: str) -> str:
    """A ``send`` frame as ``WebSocketChatTransport`` writes it, for a raw socket."""
    message = {"id": f"u-{chat_id}", "role": "user", "parts": [{"type": "text", "text": "hi"}]}
    frame = {"type": "send", "requestId": request_id, "id": chat_id}
    frame |= {"trigger": "submit-message", "messageId": None, "messages": [message]}
    return json.dumps(frame | {"headers": {}, "body": {}, "metadata": None})


def text_of(message: dict[str, Any]) -> str:
    return "".join(p.get("text", "") for p in message["parts"] if p["type"] == "text")


async def test_a_message_sent_over_the_socket_streams_the_whole_answer(
    served: tuple[Served, str],
) -> None:
    app, url = served
    got = await client(url=url + "?user=ann", run="send", chat="chat-1", text="hi")
    assert got["errors"] == []
    assert got["status"] == "ready"
    user, answer = got["messages"]
    assert user["parts"] == [{"type": "text", "text": "hi"}]
    assert text_of(answer) == "".join(WORDS)
    (finish,) = app.finishes
    assert finish.status == "finish"
    assert answer["id"] == finish.message["id"]  # the server's id, as over HTTP


async def test_the_frames_body_reaches_the_agent_as_the_posted_body(
    served: tuple[Served, str],
) -> None:
    app, url = served
    await client(url=url + "?user=ann", run="concurrent", chats=["chat-b"], body={"model": "m1"})
    (body,) = app.seen_bodies
    assert body == {"model": "m1"}  # spread at the top, the frame's envelope gone


async def test_a_dropped_socket_is_resumed_on_a_new_one_with_nothing_lost_or_repeated(
    served: tuple[Served, str],
) -> None:
    app, url = served
    got = await client(url=url + "?user=ann", run="drop", chat="chat-2", after=8)
    assert len(got["before"]["chunks"]) == 8
    assert "closed" in got["before"]["error"]
    replay = got["replay"]
    assert replay.get("error") is None
    # the replay is the whole answer, chunk for chunk as the server recorded it
    assert text_of(got["message"]) == "".join(WORDS)
    assert replay["chunks"][: len(got["before"]["chunks"])] == got["before"]["chunks"]
    (finish,) = app.finishes
    assert finish.status == "finish"  # the answer went on without its socket
    assert got["message"]["id"] == finish.message["id"]


async def test_an_abort_stops_the_answer(served: tuple[Served, str]) -> None:
    app, url = served
    got = await client(url=url + "?user=ann", run="abort", chat="chat-3", after=5, linger=300)
    assert len(got["chunks"]) == 5
    for _ in range(100):
        if app.finishes:
            break
        await asyncio.sleep(0.02)
    (finish,) = app.finishes
    assert finish.status == "abort"
    assert text_of(finish.message) != "".join(WORDS)


async def test_several_requests_share_one_socket(served: tuple[Served, str]) -> None:
    app, url = served
    chats = [f"chat-c{i}" for i in range(4)]
    got = await client(url=url + "?user=ann", run="concurrent", chats=chats)
    assert [r["chat"] for r in got] == chats
    for result in got:
        assert result.get("error") is None
        assert text_of(result["message"]) == "".join(WORDS)
    assert sorted(f.turn.chat_id for f in app.finishes) == chats


async def test_resume_with_nothing_running_says_no_active(served: tuple[Served, str]) -> None:
    _, url = served
    await client(url=url + "?user=ann", run="send", chat="chat-4")
    assert await client(url=url + "?user=ann", run="resume", chat="chat-4") is None


async def test_another_owner_cannot_resume_a_chat(served: tuple[Served, str]) -> None:
    _, url = served
    got = await client(url=url + "?user=ann", run="drop", chat="chat-5", after=3)
    assert got["replay"] is not None
    raw = await client(
        url=url + "?user=bob",
        run="raw",
        frames=[
            json.dumps(
                {"type": "resume", "requestId": "r1", "id": "chat-5", "headers": {}, "body": {}}
            )
        ],
    )
    # bob sees no active answer and no chat (the HTTP route's 404 / 204)
    assert [f["type"] for f in raw["received"]] in (["no-active"], ["error"])
    assert all("word" not in json.dumps(f) for f in raw["received"])


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("not json", "a frame must be a JSON object"),
        (json.dumps({"type": "send"}), "requestId"),
        (
            json.dumps({"type": "dance", "requestId": "r1"}),
            "type: expected send, resume, abort or steer",
        ),
        (json.dumps({"type": "send", "requestId": "r1", "headers": {}}), "id: "),
        (
            json.dumps(
                {
                    "type": "send",
                    "requestId": "r1",
                    "id": "c",
                    "headers": {},
                    "body": {},
                    "trigger": "submit-message",
                    "messages": [{"role": "user", "parts": "x"}],
                }
            ),
            "messages[0]",
        ),
        (
            json.dumps(
                {"type": "resume", "requestId": "r1", "id": "c", "headers": {}, "lastSequence": -1}
            ),
            "lastSequence",
        ),
        (json.dumps({**json.loads(send_frame("r1", "c")), "body": "x"}), "body: "),
        (json.dumps({**json.loads(send_frame("r1", "c")), "headers": {"a": 1}}), "headers: "),
    ],
)
async def test_a_bad_frame_gets_an_error_naming_the_field_and_the_socket_stays_usable(
    served: tuple[Served, str], frame: str, error: str
) -> None:
    _, url = served
    got = await client(
        url=url + "?user=ann", run="raw", frames=[frame, send_frame("ok", "chat-6")], wait=2500
    )
    errors = [f for f in got["received"] if f["type"] == "error"]
    assert len(errors) == 1, got["received"]
    assert error in errors[0]["errorText"]
    assert "Traceback" not in errors[0]["errorText"]
    kinds = [f["type"] for f in got["received"] if f["requestId"] == "ok"]
    assert kinds[0] == "start"
    assert kinds[-1] == "end"
    sequences = [f["sequence"] for f in got["received"] if f["type"] == "chunk"]
    assert sequences == list(range(len(sequences)))
    assert got["open"]


async def test_a_page_of_another_origin_is_refused_at_the_handshake(
    served: tuple[Served, str],
) -> None:
    _, url = served
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url + "?user=ann", origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    host = url.split("/")[2]
    async with websockets.connect(url + "?user=ann", origin=f"http://{host}") as socket:  # type: ignore[arg-type]
        await socket.send(
            json.dumps({"type": "resume", "requestId": "r", "id": "x", "headers": {}})
        )
        assert json.loads(await socket.recv())["type"] in ("no-active", "error")


async def test_an_anonymous_owner_gets_its_cookie_at_the_handshake_and_keeps_it() -> None:
    app = Served.__new__(Served)
    app.finishes = []
    app.seen_bodies = []
    app.endpoint = ChatEndpoint(
        app.respond, hooks=ChatHooks(on_finish=app.finishes.append), streams=MemoryStreamStore()
    )
    app.app = Starlette(routes=app.endpoint.routes("/api/chat"))
    async with serve(app.app) as base:
        url = base.replace("http://", "ws://") + "/api/chat/ws"
        async with websockets.connect(url) as socket:
            cookie = socket.response.headers.get("set-cookie")  # type: ignore[union-attr]
            assert cookie is not None
            assert "HttpOnly" in cookie
            for request_id in ("a", "b"):
                await socket.send(send_frame(request_id, f"chat-{request_id}"))
            ends = 0
            while ends < 2:
                frame = json.loads(await socket.recv())
                ends += frame["type"] == "end"
        owners = {f.turn.owner for f in app.finishes}
        assert len(owners) == 1
        assert None not in owners


async def test_two_workers_on_redis_resume_and_stop_each_others_answers(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """A socket dropped on worker A is resumed on worker B; an answer running on A is
    aborted from a resume on B (the stop reaches A through Redis)."""
    chats = SQLChatStore(f"sqlite+aiosqlite:///{tmp_path}/chats.db")
    streams = RedisStreamStore(redis_server.url), RedisStreamStore(redis_server.url)
    try:
        await _two_workers(streams, Conversations(store=chats))
    finally:
        for store in streams:
            await store.aclose()
        await chats.close()


async def _two_workers(
    streams: tuple[RedisStreamStore, RedisStreamStore], conversations: Conversations
) -> None:
    a = Served(streams=streams[0], conversations=conversations)
    b = Served(streams=streams[1], conversations=conversations)
    async with serve(a.app) as base_a, serve(b.app) as base_b:
        url_a = base_a.replace("http://", "ws://") + "/api/chat/ws?user=ann"
        url_b = base_b.replace("http://", "ws://") + "/api/chat/ws?user=ann"
        got = await client(url=url_a, resumeUrl=url_b, run="drop", chat="chat-r1", after=6)
        assert got["replay"].get("error") is None
        assert text_of(got["message"]) == "".join(WORDS)
        assert got["replay"]["chunks"][:6] == got["before"]["chunks"]

        # an answer left running on A (its socket dropped), aborted from a resume on B
        async with websockets.connect(url_a) as socket:
            await socket.send(send_frame("r3", "chat-r3"))
            while json.loads(await socket.recv())["type"] != "chunk":
                pass
        resumed = await client(url=url_b, run="resume", chat="chat-r3", after=3, linger=300)
        assert resumed is not None
        assert len(resumed["chunks"]) == 3
        for _ in range(100):
            if any(f.turn.chat_id == "chat-r3" for f in a.finishes):
                break
            await asyncio.sleep(0.02)
    finishes = {f.turn.chat_id: f.status for f in a.finishes}
    assert finishes["chat-r1"] == "finish"
    assert finishes["chat-r3"] == "abort"
    assert b.finishes == []  # B generated nothing: it only followed and stopped


async def test_a_frame_over_the_value_limit_is_refused_under_its_id(
    served: tuple[Served, str],
) -> None:
    """A frame of more JSON values than the endpoint's limits allow is refused (counted
    as a POST body's are), under the id the transport writes first, and the socket
    stays usable."""
    _, url = served
    frame = json.loads(send_frame("big", "chat-7"))
    frame["body"] = {"filler": [0] * 200_000}  # over RequestLimits().max_json_values
    async with websockets.connect(url + "?user=ann") as socket:
        await socket.send(json.dumps(frame, separators=(",", ":")))
        refused = json.loads(await socket.recv())
        assert refused["type"] == "error"
        assert refused["requestId"] == "big"
        assert refused["errorText"].startswith("body: ")
        await socket.send(send_frame("ok", "chat-7"))  # the socket is still usable
        kinds = [json.loads(await socket.recv())["type"]]
        while kinds[-1] != "end":
            kinds.append(json.loads(await socket.recv())["type"])
        assert kinds[0] == "start"
