"""``ChatHooks`` and ``ResponseOptions`` through a real server, read by the real ``ai`` 7
client (``DefaultChatTransport`` and ``WebSocketChatTransport``): message metadata at
start, finish and per part, the message id factory, response headers, the turn-start
hook; with the server-kept conversation and with resumable streams."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from tests.support.chat_options import (
    USER,
    OptionsApp,
    after_each_text_end,
    chunks_of,
    finished_at,
    send,
    started_at,
    text_of,
)
from tests.support.js import http_chat, run_node_script
from tests.support.servers import serve
from uiwire.protocol import ChatRequestError, FieldError
from uiwire.resume import MemoryStreamStore
from uiwire.server import (
    DEFAULT_KEEP_ALIVE,
    ChatEndpoint,
    ChatHooks,
    ResponseOptions,
)
from uiwire.stream import ChatTurn, StreamContext

METADATA = ResponseOptions(
    start_metadata=started_at, finish_metadata=finished_at, part_metadata=after_each_text_end
)
ALL_METADATA = {
    "createdAt": 1700000000000,
    "model": "test-model",
    "chat": "chat-1",
    "lastTextEnded": "t2",
    "finishedAt": 1700000000500,
}


async def test_metadata_at_start_finish_and_per_part_reaches_the_client_and_the_saved_chat() -> (
    None
):
    app = OptionsApp(response=METADATA)
    async with serve(app.app) as base:
        got = await send(base)
        saved = await app.saved_answer()
    answer = got["messages"][-1]
    assert text_of(answer) == "Hello, world."
    assert answer["metadata"] == ALL_METADATA
    assert saved["metadata"] == ALL_METADATA
    assert saved["id"] == answer["id"]
    chunks = chunks_of(got["responses"][0]["body"])
    start, finish = chunks[0], chunks[-1]
    assert start["type"] == "start"
    assert start["messageMetadata"] == started_at(app.turns[0])  # on start, as in JS
    assert finish == {"type": "finish", "messageMetadata": {"finishedAt": 1700000000500}}
    ends = [i for i, c in enumerate(chunks) if c["type"] == "text-end"]
    for i in ends:  # right after the part it describes
        assert chunks[i + 1] == {
            "type": "message-metadata",
            "messageMetadata": {"lastTextEnded": chunks[i]["id"]},
        }


async def test_finish_metadata_is_not_sent_when_the_answer_fails() -> None:
    class Failing(OptionsApp):
        async def respond(self, turn: ChatTurn, ctx: StreamContext[Any]) -> None:
            await ctx.write_text("Hello")
            raise RuntimeError("the model went away")

    app = Failing(response=METADATA)
    async with serve(app.app) as base:
        got = await http_chat(f"{base}/api/chat", chat="chat-1", headers={"x-user": USER})
        saved = await app.saved_answer()
    assert got["errors"]  # the masked error
    assert got["messages"][-1]["metadata"] == {
        "createdAt": 1700000000000,
        "model": "test-model",
        "chat": "chat-1",
        "lastTextEnded": "t1",  # the part the error closed: before the error chunk
    }
    assert saved["metadata"] == got["messages"][-1]["metadata"]


async def test_a_failing_part_metadata_hook_leaves_the_answer_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(chunk: Mapping[str, Any]) -> dict[str, Any] | None:
        if chunk["type"] == "text-delta":
            raise KeyError("oops")
        return {"seen": chunk["type"]}

    app = OptionsApp(response=ResponseOptions(part_metadata=broken))
    async with serve(app.app) as base:
        got = await send(base)
    answer = got["messages"][-1]
    assert text_of(answer) == "Hello, world."
    assert answer["metadata"] == {"seen": "text-start"}  # up to the failure, then none
    assert "part_metadata failed on a text-delta chunk" in caplog.text


async def test_the_message_id_factory_names_each_new_answer() -> None:
    ids = (f"answer-{n}" for n in itertools.count(1))
    app = OptionsApp(response=ResponseOptions(message_id=lambda: next(ids)))
    async with serve(app.app) as base:
        first = await send(base)
        app.finished.clear()
        second = await http_chat(
            f"{base}/api/chat", chat="chat-2", headers={"x-user": USER}, text="again"
        )
        saved = await app.saved_answer("chat-2")
    assert first["messages"][-1]["id"] == "answer-1"
    assert app.turns[0].message_id == "answer-1"
    assert second["messages"][-1]["id"] == "answer-2"
    assert saved["id"] == "answer-2"


async def test_a_factory_that_makes_no_id_fails_the_request_saying_so(
    capfd: pytest.CaptureFixture[str],
) -> None:
    app = OptionsApp(response=ResponseOptions(message_id=lambda: ""))
    async with serve(app.app) as base:
        got = await http_chat(f"{base}/api/chat", chat="chat-1", headers={"x-user": USER})
    assert got["responses"][0]["status"] == 500
    assert app.turns == []
    assert "message_id=...) must return a non-empty string" in capfd.readouterr().err


async def test_extra_headers_are_sent_beside_the_streams_own() -> None:
    app = OptionsApp(response=ResponseOptions(headers={"X-Served-By": "eu-1", "x-trace": "abc"}))
    async with serve(app.app) as base:
        got = await send(base)
    headers = got["responses"][0]["headers"]
    assert headers["x-served-by"] == "eu-1"
    assert headers["x-trace"] == "abc"
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["x-vercel-ai-ui-message-stream"] == "v1"


@pytest.mark.parametrize(
    "name", ["content-type", "Content-Type", "x-vercel-ai-ui-message-stream", "content-length"]
)
def test_the_streams_own_headers_cannot_be_set(name: str) -> None:
    with pytest.raises(ValueError, match=f"cannot set '{name}'"):
        ResponseOptions(headers={name: "text/plain"})


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"x-a": "one\r\nx-b: two"}, "without line breaks"),
        ({"bad name": "v"}, "is not a header name"),
        ({"x-a": 3}, "must be a string"),
        (["x-a"], "must be a mapping"),
        ({"X-A": "1", "x-a": "2"}, "twice"),
    ],
)
def test_bad_headers_are_refused_naming_the_option(headers: Any, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message) as raised:
        ResponseOptions(headers=headers)
    assert "ResponseOptions(headers=...)" in str(raised.value)


@pytest.mark.parametrize(
    "name", ["start_metadata", "finish_metadata", "part_metadata", "message_id", "tee"]
)
def test_options_that_must_be_callable_say_so(name: str) -> None:
    with pytest.raises(TypeError, match=rf"ResponseOptions\({name}=\.\.\.\) must be callable"):
        ResponseOptions(**{name: "nope"})  # pyright: ignore[reportArgumentType]


def test_hooks_must_be_callable_and_name_the_hook() -> None:
    with pytest.raises(TypeError, match=r"ChatHooks\(on_start=\.\.\.\) must be callable"):
        ChatHooks(on_start="nope")  # pyright: ignore[reportArgumentType]
    with pytest.raises(TypeError, match="hooks must be ChatHooks"):
        ChatEndpoint(OptionsApp().respond, hooks={"on_finish": print})  # pyright: ignore[reportArgumentType]
    with pytest.raises(TypeError, match="response must be ResponseOptions"):
        ChatEndpoint(OptionsApp().respond, response={})  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("on_finish", "hooks=ChatHooks(on_finish=...)"),
        ("on_error", "hooks=ChatHooks(on_error=...)"),
        ("authorize", "hooks=ChatHooks(authorize=...)"),
        ("target", "response=ResponseOptions(target=...)"),
        ("keep_alive", "response=ResponseOptions(keep_alive=...)"),
        ("timeout", "response=ResponseOptions(timeout=...)"),
        ("on_disconnect", "response=ResponseOptions(on_disconnect=...)"),
        ("url_schemes", "limits=RequestLimits(url_schemes=...)"),
    ],
)
def test_the_moved_keywords_say_where_they_went(name: str, where: str) -> None:
    with pytest.raises(TypeError) as raised:
        ChatEndpoint(OptionsApp().respond, **{name: None})  # pyright: ignore[reportArgumentType]
    assert str(raised.value) == f"ChatEndpoint({name}=...) has moved: pass {where}"


def test_an_unknown_keyword_is_refused_as_python_would() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'on_finnish'"):
        ChatEndpoint(OptionsApp().respond, on_finnish=print)  # pyright: ignore[reportArgumentType]


def test_authorize_must_be_callable_and_return_a_bool() -> None:
    with pytest.raises(TypeError, match=r"ChatHooks\(authorize=\.\.\.\) must be callable"):
        ChatHooks(authorize=True)  # pyright: ignore[reportArgumentType]


async def test_an_authorize_that_returns_no_bool_is_an_error_naming_it() -> None:
    app = OptionsApp(hooks=ChatHooks(authorize=lambda request, owner: "yes"))  # pyright: ignore[reportArgumentType]
    transport = httpx.ASGITransport(app.app)  # the app's exception, raised here
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        with pytest.raises(TypeError, match=r"ChatHooks\(authorize=\.\.\.\) must return a bool"):
            await client.post("/api/chat", json={}, headers={"x-user": USER})
    assert app.turns == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"target": "v8"}, "protocol target must be one of 'v5', 'v6', 'v7'; got 'v8'"),
        ({"keep_alive": 0}, "must be positive seconds or None; got 0"),
        ({"keep_alive": "15"}, "must be positive seconds or None; got '15'"),
        ({"timeout": 0}, "must be a positive number of seconds or None; got 0"),
        ({"timeout": True}, "must be a positive number of seconds or None; got True"),
        ({"on_disconnect": "stop"}, "must be 'cancel', 'continue' or None; got 'stop'"),
    ],
)
def test_the_answers_life_options_are_checked_naming_the_option(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        ResponseOptions(**options)
    assert str(raised.value).startswith(f"ResponseOptions({next(iter(options))}=...)")


def test_the_answers_life_options_keep_their_defaults() -> None:
    options = ResponseOptions()
    assert (options.target, options.keep_alive, options.timeout, options.on_disconnect) == (
        "v6",
        DEFAULT_KEEP_ALIVE,
        None,
        None,  # the endpoint decides: "continue" with a stream store, "cancel" without
    )
    assert ResponseOptions(target="v7", timeout=1.5, keep_alive=None).target == "v7"


async def test_on_start_sees_each_turn_before_the_agent() -> None:
    seen: list[tuple[str, str, int]] = []
    app: OptionsApp

    async def on_start(turn: ChatTurn) -> None:
        seen.append((turn.chat_id, turn.message_id, len(app.turns)))

    app = OptionsApp(hooks=ChatHooks(on_start=on_start))
    async with serve(app.app) as base:
        got = await send(base)
    assert seen == [("chat-1", got["messages"][-1]["id"], 0)]  # before the agent began


async def test_on_start_may_refuse_the_turn_and_nothing_is_saved() -> None:
    def over_quota(turn: ChatTurn) -> None:  # a plain function: run in a thread
        raise ChatRequestError(
            [FieldError("messages", "over today's quota", "quota")], status_code=429
        )

    app = OptionsApp(hooks=ChatHooks(on_start=over_quota))
    async with serve(app.app) as base:
        got = await http_chat(f"{base}/api/chat", chat="chat-1", headers={"x-user": USER})
    (response,) = got["responses"]
    assert response["status"] == 429
    assert "over today's quota" in response["body"]
    assert got["errors"]  # useChat's onError gets it
    assert app.turns == []
    assert await app.store.get(USER, "chat-1") is None
    assert app.finished == []


async def test_resume_replays_the_same_metadata_and_headers() -> None:
    app = OptionsApp(
        response=ResponseOptions(
            start_metadata=started_at,
            finish_metadata=finished_at,
            part_metadata=after_each_text_end,
            headers={"x-served-by": "eu-1"},
        ),
        streams=MemoryStreamStore(),
    )
    app.saving.clear()  # the chat's answer stays active (resumable) until on_finish returns
    async with serve(app.app) as base:
        sent = await send(base)
        resumed = await http_chat(
            f"{base}/api/chat", "resume", chat="chat-1", headers={"x-user": USER}
        )
        app.saving.set()
    assert resumed["message"] is not None, resumed["responses"]
    assert resumed["message"]["metadata"] == ALL_METADATA
    assert resumed["message"] == sent["messages"][-1]
    post, replay = sent["responses"][0], resumed["responses"][0]
    assert replay["body"] == post["body"]  # byte for byte, metadata chunks included
    assert replay["headers"]["x-served-by"] == post["headers"]["x-served-by"] == "eu-1"


async def test_metadata_and_ids_work_over_the_websocket_transport() -> None:
    ids = iter(["ws-answer-1"])
    app = OptionsApp(
        response=ResponseOptions(
            start_metadata=started_at,
            finish_metadata=finished_at,
            part_metadata=after_each_text_end,
            message_id=lambda: next(ids),
            headers={"x-served-by": "eu-1"},  # an HTTP matter: no frame carries it
        ),
        streams=MemoryStreamStore(),
    )
    async with serve(app.app) as base:
        url = base.replace("http://", "ws://") + f"/api/chat/ws?user={USER}"
        got = await run_node_script(
            "websocket_chat.mjs", {"url": url, "run": "send", "chat": "chat-1"}
        )
        saved = await app.saved_answer()
    answer = got["messages"][-1]
    assert got["errors"] == []
    assert answer["id"] == "ws-answer-1"
    assert answer["metadata"] == ALL_METADATA
    assert saved["metadata"] == ALL_METADATA
