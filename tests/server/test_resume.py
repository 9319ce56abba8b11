"""Resumable answers in one process (``MemoryStreamStore``), behind a real uvicorn server,
called the way ``useChat({ resume: true })`` and a stop button call them: replay plus
live follow, 204s, stop, disconnects, ``authorize``, chat id checks, a store that fails,
and a continuation's replay rebuilding the whole message."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request

from tests.support.messages import user
from tests.support.resume_app import Events, chat_app
from tests.support.servers import ServedChat, read_events, serve
from tests.support.stream_rules import assert_valid_message
from uiwire.protocol import check_stream
from uiwire.protocol.encode import DONE_FRAME
from uiwire.resume import MemoryStreamStore, StreamStore, StreamStoreError
from uiwire.server import ChatEndpoint, ChatHooks, ResponseOptions
from uiwire.stream import StopMode


def body(*messages: dict[str, Any], chat: str = "chat-1", **fields: Any) -> dict[str, Any]:
    return {
        "id": chat,
        "messages": list(messages or [user("hi")]),
        "trigger": "submit-message",
        **fields,
    }


class Served(ServedChat[dict[str, Any]]):
    """The chat app, with its events (what ``on_finish`` saved is ``events.finished``)."""

    def __init__(self, base: str, events: Events) -> None:
        super().__init__(base, events.finished)
        self.events = events


async def start(app: Starlette, events: Events) -> AsyncIterator[Served]:
    async with serve(app) as base, Served(base, events) as served:
        yield served


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    app, events = chat_app(MemoryStreamStore())
    async for one in start(app, events):
        yield one


async def test_a_resume_replays_the_answer_from_its_first_byte_then_follows_it(
    served: Served,
) -> None:
    async with served.client.stream("POST", served.chat, json=body(words=40)) as posted:
        raw = posted.aiter_raw()
        assert posted.status_code == 200
        first = await read_events(raw, 6)
        resumed = await served.client.get(served.stream_url())  # a second tab, mid-answer
        rest = b"".join([data async for data in raw])
    assert resumed.status_code == 200
    assert resumed.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert resumed.content == first + rest  # byte for byte the uninterrupted answer
    message = assert_valid_message(resumed.content)
    assert [p["text"] for p in message["parts"] if p["type"] == "text"] == [
        "".join(f"w{i} " for i in range(40))
    ]


async def test_the_answer_outlives_its_connection_and_a_resume_gets_all_of_it(
    served: Served,
) -> None:
    async with served.client.stream("POST", served.chat, json=body(words=40)) as posted:
        raw = posted.aiter_raw()
        received = await read_events(raw, 5)
    # the client is gone (reload, flaky network); the generation goes on
    resumed = await served.client.get(served.stream_url())
    assert resumed.status_code == 200
    assert resumed.content.startswith(received)
    assert resumed.content.endswith(DONE_FRAME)
    assert_valid_message(resumed.content)
    [result] = await served.until_saved()
    assert result["status"] == "finish"
    assert result["text"] == "".join(f"w{i} " for i in range(40))
    assert served.events.cancelled == []


async def test_a_finished_chat_answers_204_and_an_unknown_one_404(served: Served) -> None:
    posted = await served.client.post(served.chat, json=body(words=2))
    assert posted.status_code == 200
    await served.until_saved()
    resumed = await served.client.get(served.stream_url("chat-1"))
    assert (resumed.status_code, resumed.content) == (204, b"")
    # a chat this owner does not have (never made, or someone else's): mount such a chat
    # with useChat({ resume: false })
    unknown = await served.client.get(served.stream_url("never-used"))
    assert unknown.status_code == 404


async def test_stop_cancels_the_generation_and_ends_every_reader_with_abort(
    served: Served,
) -> None:
    async with served.client.stream("POST", served.chat, json=body(words=500)) as posted:
        raw = posted.aiter_raw()
        await read_events(raw, 5)
        follower = asyncio.create_task(served.client.get(served.stream_url()))
        await asyncio.sleep(0.1)
        stopped = await served.client.post(served.stop_url(), json={})
        assert stopped.status_code == 202
        rest = b"".join([data async for data in raw])
    resumed = await asyncio.wait_for(follower, 10)
    for received in (rest, resumed.content):
        assert b'{"type":"abort"}' in received
        assert received.endswith(DONE_FRAME)
    assert_valid_message(resumed.content)
    [result] = await served.until_saved()
    assert result["status"] == "abort"
    assert served.events.cancelled == ["chat-1"]
    assert (await served.client.post(served.stop_url(), json={})).status_code == 204  # nothing left


async def test_on_disconnect_cancel_ties_the_generation_to_the_post() -> None:
    app, events = chat_app(MemoryStreamStore(), response=ResponseOptions(on_disconnect="cancel"))
    async for served in start(app, events):
        async with served.client.stream("POST", served.chat, json=body(words=500)) as posted:
            raw = posted.aiter_raw()
            await read_events(raw, 5)
        [result] = await served.until_saved()
        assert result["status"] == "abort"
        assert events.cancelled == ["chat-1"]


async def test_authorize_decides_who_may_post_resume_and_stop_before_any_body_is_read() -> None:
    asked: list[tuple[str, str | None, str | None]] = []

    async def authorize(request: Request, owner: str | None) -> bool:
        asked.append((request.method, owner, request.path_params.get("id")))
        return request.headers.get("x-user") == "ada"

    app, events = chat_app(MemoryStreamStore(), hooks=ChatHooks(authorize=authorize))
    async for served in start(app, events):
        ada = {"x-user": "ada"}
        for method, url, payload in (
            ("POST", served.chat, body()),
            ("GET", served.stream_url(), None),
            ("POST", served.stop_url(), {}),
        ):
            refused = await served.client.request(method, url, json=payload)
            assert refused.status_code == 403, (method, url)
            assert refused.json()["error"]["fields"][0]["field"] == "authorize"
            allowed = await served.client.request(method, url, json=payload, headers=ada)
            assert allowed.status_code in (200, 204)
        # a refused caller's body is never parsed: garbage gets the 403, not a 422
        garbage = await served.client.post(
            served.chat, content=b"{not json", headers={"content-type": "application/json"}
        )
        assert garbage.status_code == 403
        owners = {owner for _, owner, _ in asked}
        assert len(owners) == 1  # the anonymous owner minted by the first request, kept
        (owner,) = owners
        assert str(owner).startswith("anon_")
        expected = [("POST", owner, None)] * 2 + [("GET", owner, "chat-1")] * 2
        assert asked == [*expected, *[("POST", owner, "chat-1")] * 2, ("POST", owner, None)]


@pytest.mark.parametrize("chat", ["a%20b", "..", "%2E", "x" * 129, "caf%C3%A9"])
async def test_chat_ids_that_could_play_path_games_are_refused(served: Served, chat: str) -> None:
    for method, url in (("GET", served.stream_url(chat)), ("POST", served.stop_url(chat))):
        refused = await served.client.request(method, url, json={} if method == "POST" else None)
        assert refused.status_code in (404, 422), (method, url, refused.status_code)
        if refused.status_code == 422:
            assert refused.json()["error"]["fields"][0]["field"] == "id"


async def test_a_posted_chat_id_must_be_resumable_when_streams_are_on(served: Served) -> None:
    refused = await served.client.post(served.chat, json=body(chat="a/b"))
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["field"] == "id"


async def test_without_a_store_resume_and_stop_have_nothing_to_do(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, events = chat_app(None)
    async for served in start(app, events):
        async with served.client.stream("POST", served.chat, json=body(words=50)) as posted:
            raw = posted.aiter_raw()
            await read_events(raw, 3)
            with caplog.at_level(logging.WARNING, logger="uiwire"):
                assert (await served.client.get(served.stream_url())).status_code == 204
                # stopped all the same: the answer runs in this process
                assert (await served.client.post(served.stop_url(), json={})).status_code == 202
                rest = b"".join([chunk async for chunk in raw])
            assert b'"type":"abort"' in rest
            assert rest.endswith(b"data: [DONE]\n\n")
    told = [r.getMessage() for r in caplog.records if "no stream store" in r.getMessage()]
    assert told == [  # once, naming the fix
        f"GET {httpx.URL(served.stream_url()).path} answered 204: this ChatEndpoint has no "
        "stream store, so no answer can be resumed, or stopped from another worker. Pass "
        "streams=MemoryStreamStore() (one process) or streams=RedisStreamStore(url) (several "
        "workers) to make them so. Logged once."
    ]


class BrokenStore(MemoryStreamStore):
    """A store that cannot be reached."""

    async def open(self, chat_id: str, stream_id: str, frames: Sequence[bytes] = ()) -> None:
        raise StreamStoreError("connection refused")

    async def active_stream(self, chat_id: str) -> str | None:
        raise StreamStoreError("connection refused")


async def test_a_store_that_fails_degrades_to_a_plain_stream(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, events = chat_app(BrokenStore())
    async for served in start(app, events):
        posted = await served.client.post(served.chat, json=body(words=5))
        assert posted.status_code == 200
        assert_valid_message(posted.content)
        for method, url in (("GET", served.stream_url()), ("POST", served.stop_url())):
            unavailable = await served.client.request(
                method, url, json={} if method == "POST" else None
            )
            assert unavailable.status_code == 503
            assert unavailable.headers["retry-after"] == "2"
    assert "streamed without resumption" in caplog.text


class StopStore(MemoryStreamStore):
    """A store that names an active stream another worker generates, and answers a
    stop for it as it is told: recorded, gone meanwhile, or not recordable."""

    def __init__(self, answer: bool | None) -> None:
        super().__init__()
        self.answer = answer
        self.modes: list[StopMode] = []

    async def active_stream(self, chat_id: str) -> str | None:
        return "strm_elsewhere"

    async def request_stop(self, stream_id: str, mode: StopMode = "immediate") -> bool:
        self.modes.append(mode)
        if self.answer is None:
            raise StreamStoreError("the stop could not be recorded")
        return self.answer


@pytest.mark.parametrize(("answer", "status"), [(True, 202), (False, 204), (None, 503)])
async def test_a_stop_says_whether_it_is_on_its_way(answer: bool | None, status: int) -> None:
    store = StopStore(answer)
    app, events = chat_app(store)
    async for served in start(app, events):
        stop = await served.client.post(served.stop_url(), json={})
        assert stop.status_code == status, stop.text
        graceful = await served.client.post(served.stop_url(), json={"mode": "after_turn"})
        assert graceful.status_code == status, graceful.text
        bad = await served.client.post(served.stop_url(), json={"mode": "later"})
        assert bad.status_code == 422
        assert bad.json()["error"]["fields"][0]["field"] == "mode"
    assert store.modes == ["immediate", "after_turn"]  # the mode reached the store


async def test_a_continuation_replay_rebuilds_the_whole_message(served: Served) -> None:
    paused = await served.client.post(served.chat, json=body(user("approve")))
    asked = assert_valid_message(paused.content)
    [call] = [p for p in asked["parts"] if p["type"] == "tool-transfer"]
    assert call["state"] == "approval-requested"
    call["state"] = "approval-responded"
    call["approval"] = {"id": "aprv_1", "approved": True}
    await served.until_saved()

    payload = body(user("approve"), asked, words=40)
    async with served.client.stream("POST", served.chat, json=payload) as posted:
        raw = posted.aiter_raw()
        first = await read_events(raw, 4)
        resumed = await served.client.get(served.stream_url())  # the page was reloaded
        rest = b"".join([data async for data in raw])
    live = check_stream(first + rest, message=asked)  # the tab that stayed
    assert live.violation is None
    assert live.message is not None
    replay = check_stream(resumed.content)  # a fresh client: the replay alone
    assert replay.violation is None, replay.violation
    # No chunk carries an approval's answer (the client sets it locally), so a replay
    # rebuilds the call as it was asked; the continuation's output then completes it.
    [live_call] = [p for p in live.message["parts"] if p["type"] == "tool-transfer"]
    [replayed_call] = [p for p in replay.message["parts"] if p["type"] == "tool-transfer"]
    assert live_call["approval"] == {"id": "aprv_1", "approved": True}
    assert replayed_call["approval"] == {"id": "aprv_1"}
    replayed_call["approval"] = live_call["approval"]
    assert replay.message == live.message
    assert replayed_call["state"] == "output-available"
    assert resumed.content.endswith(first + rest)  # the prefix, then the same bytes


def test_routes_and_options_are_checked() -> None:
    async def agent(turn: Any, ctx: Any) -> None:
        return None

    chat = ChatEndpoint(agent, streams=MemoryStreamStore())
    assert [(r.path, sorted(getattr(r, "methods", None) or ())) for r in chat.routes("/chat")] == [
        ("/chat", ["POST"]),
        ("/chat/{id}/stream", ["GET", "HEAD"]),
        ("/chat/{id}/stop", ["POST"]),
        ("/chat/{id}/steer", ["POST"]),
        ("/chat/ws", []),  # the WebSocket
        ("/chats", ["GET", "HEAD"]),
        ("/chats/{id}", ["DELETE", "GET", "HEAD"]),
    ]
    with pytest.raises(ValueError, match="path"):
        chat.routes("chat/")
    with pytest.raises(TypeError, match="streams"):
        ChatEndpoint(agent, streams="redis://")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="conversations"):
        ChatEndpoint(agent, conversations="sqlite://")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="identity=False needs conversations=False"):
        ChatEndpoint(agent, identity=False)
    assert isinstance(MemoryStreamStore(), StreamStore)


async def test_an_idle_resume_gets_keep_alive_comments_and_stays_valid() -> None:
    app, events = chat_app(MemoryStreamStore(), response=ResponseOptions(keep_alive=0.05))
    async for served in start(app, events):
        payload = body(words=4, delay=0.25)
        async with served.client.stream("POST", served.chat, json=payload) as posted:
            raw = posted.aiter_raw()
            await read_events(raw, 3)
            resumed = await served.client.get(served.stream_url())
            rest = b"".join([data async for data in raw])
        assert b": keep-alive\n\n" in resumed.content
        assert b": keep-alive\n\n" in rest
        assert_valid_message(resumed.content)


async def test_head_says_whether_there_is_an_answer_to_resume(served: Served) -> None:
    async with served.client.stream("POST", served.chat, json=body(words=100)) as posted:
        await read_events(posted.aiter_raw(), 3)
        head = await served.client.head(served.stream_url())
        assert (head.status_code, head.headers["x-vercel-ai-ui-message-stream"]) == (200, "v1")
    await served.client.post(served.stop_url(), json={})
    await served.until_saved()
    assert (await served.client.head(served.stream_url())).status_code == 204


async def test_a_new_answer_stops_the_one_still_running_in_the_chat(served: Served) -> None:
    async with served.client.stream("POST", served.chat, json=body(words=500)) as first:
        raw = first.aiter_raw()
        await read_events(raw, 3)
        second = await served.client.post(
            served.chat, json=body(user("hi"), user("again", id="u2"), words=3)
        )
        rest = b"".join([data async for data in raw])
    assert rest.endswith(b'data: {"type":"abort"}\n\ndata: [DONE]\n\n')
    assert_valid_message(second.content)
    finished = await served.until_saved(2)
    assert sorted(f["status"] for f in finished) == ["abort", "finish"]
    assert served.events.cancelled == ["chat-1"]
