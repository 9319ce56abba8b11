"""``ChatEndpoint`` behind a real uvicorn server, called the way ``useChat`` calls it:
body checks (415, 413, 422 with paths), server message ids, continuations, regenerate,
error masking, disconnects, and the persistence hook's message list."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Route

from tests.support.messages import user
from tests.support.servers import read_until, serve
from tests.support.stream_rules import assert_valid_message
from uiwire.protocol import validate_stream
from uiwire.server import ChatEndpoint, ChatHooks, ChatResult, RequestLimits
from uiwire.stream import ChatTurn, StreamContext


def body(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": "chat-1", "messages": list(messages), "trigger": "submit-message", **fields}


class Recorder:
    """The endpoint's agent and persistence hook, recording what they were given."""

    def __init__(self) -> None:
        self.turns: list[ChatTurn] = []
        self.results: list[ChatResult] = []
        self.finished = asyncio.Event()

    async def respond(self, turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        self.turns.append(turn)
        text = "".join(getattr(p, "text", "") for p in turn.messages[-1].parts if p.type == "text")
        if text == "fail":
            await ctx.write_text("partial ")
            raise RuntimeError("database password is hunter2")
        if text == "slow":
            for index in range(200):
                await ctx.write_text(f"word{index} ")
                await asyncio.sleep(0.01)
            return
        await ctx.write_text(f"echo: {text}")

    def save(self, result: ChatResult) -> None:
        self.results.append(result)
        self.finished.set()


@pytest.fixture
async def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def url(recorder: Recorder) -> AsyncIterator[str]:
    # the client keeps the conversation here: these tests are of that mode's HTTP rules
    # (tests/server/test_conversations.py has the server-kept conversation)
    chat = ChatEndpoint(
        recorder.respond,
        hooks=ChatHooks(on_finish=recorder.save),
        limits=RequestLimits(max_body_bytes=64 * 1024),
        conversations=False,
        identity=False,
    )
    app = Starlette(routes=[Route("/api/chat", chat, methods=["POST"])])
    async with serve(app) as base:
        yield f"{base}/api/chat"


async def post(url: str, payload: Any, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(url, json=payload, **kwargs)


async def wait_saved(recorder: Recorder) -> ChatResult:
    await asyncio.wait_for(recorder.finished.wait(), 10)
    recorder.finished.clear()
    return recorder.results[-1]


# --- new turns -----------------------------------------------------------------------------


async def test_a_new_turn_gets_a_server_id_and_the_hook_gets_the_whole_conversation(
    url: str, recorder: Recorder
) -> None:
    response = await post(url, body(user("hello")))
    assert response.status_code == 200
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    message = assert_valid_message(response.content, "v6")
    assert message["id"].startswith("msg_")
    assert len(message["id"]) > 20
    assert message["parts"][-1]["text"] == "echo: hello"
    saved = await wait_saved(recorder)
    assert saved.status == "finish"
    assert saved.chat_id == "chat-1"
    assert saved.messages == [user("hello"), message]
    assert recorder.turns[0].continued is None
    assert recorder.turns[0].message_id == message["id"]


async def test_two_turns_get_different_ids(url: str, recorder: Recorder) -> None:
    first = validate_stream((await post(url, body(user("a")))).content).message
    second = validate_stream((await post(url, body(user("a")))).content).message
    assert first["id"] != second["id"]


async def test_the_saved_list_round_trips_as_the_next_requests_history(
    url: str, recorder: Recorder
) -> None:
    await post(url, body(user("one")))
    saved = await wait_saved(recorder)
    follow_up = body(*saved.messages, user("two", id="u2"))
    response = await post(url, follow_up)
    assert response.status_code == 200
    second = await wait_saved(recorder)
    assert second.messages[:2] == saved.messages
    assert [m["role"] for m in second.messages] == ["user", "assistant", "user", "assistant"]


async def test_regenerate_answers_with_a_new_message(url: str, recorder: Recorder) -> None:
    first = validate_stream((await post(url, body(user("again")))).content).message
    await wait_saved(recorder)
    again = body(user("again"), trigger="regenerate-message")
    regenerated = validate_stream((await post(url, again)).content).message
    assert regenerated["id"] != first["id"]
    saved = await wait_saved(recorder)
    assert [m["id"] for m in saved.messages] == ["u1", regenerated["id"]]
    assert recorder.turns[-1].trigger == "regenerate-message"


async def test_extra_body_fields_reach_the_agent(url: str, recorder: Recorder) -> None:
    await post(url, body(user("x"), model="small", temperature=0.2))
    assert recorder.turns[0].body == {"model": "small", "temperature": 0.2}


# --- continuations -------------------------------------------------------------------------


async def test_a_continuation_reuses_the_assistant_id_and_replaces_it_in_the_list(
    url: str, recorder: Recorder
) -> None:
    assistant = {
        "id": "msg_abc",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {
                "type": "tool-get_location",
                "toolCallId": "call_1",
                "state": "output-available",
                "input": {},
                "output": {"city": "Berlin"},
            },
        ],
    }
    response = await post(url, body(user("where am i"), assistant, messageId="msg_abc"))
    assert response.status_code == 200
    message = assert_valid_message(response.content, "v6", message=assistant)
    assert message["id"] == "msg_abc"
    assert message["parts"][1]["output"] == {"city": "Berlin"}  # kept, then continued
    assert message["parts"][-1]["type"] == "text"
    saved = await wait_saved(recorder)
    assert [m["id"] for m in saved.messages] == ["u1", "msg_abc"]
    assert saved.messages[-1] == message
    assert recorder.turns[0].continued is not None
    assert recorder.turns[0].continued.id == "msg_abc"


async def test_a_continuation_naming_another_message_is_a_422(url: str, recorder: Recorder) -> None:
    assistant = {"id": "msg_abc", "role": "assistant", "parts": [{"type": "step-start"}]}
    response = await post(url, body(user("x"), assistant, messageId="msg_other"))
    assert response.status_code == 422
    fields = [f["field"] for f in response.json()["error"]["fields"]]
    assert fields == ["messageId"]
    assert recorder.turns == []


# --- refused bodies ------------------------------------------------------------------------


async def test_a_non_json_content_type_is_a_415(url: str, recorder: Recorder) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            url, content=json.dumps(body(user("x"))), headers={"content-type": "text/plain"}
        )
    assert response.status_code == 415
    assert response.json()["error"]["fields"][0]["field"] == "content-type"
    assert recorder.turns == []


async def test_an_oversized_body_is_a_413_declared_or_not(url: str, recorder: Recorder) -> None:
    big = body(user("x" * 70_000))
    declared = await post(url, big)
    assert declared.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no content-length: chunked
        data = json.dumps(big).encode()
        for start in range(0, len(data), 8192):
            yield data[start : start + 8192]

    async with httpx.AsyncClient() as client:
        chunked = await client.post(
            url, content=chunks(), headers={"content-type": "application/json"}
        )
    assert chunked.status_code == 413
    assert chunked.json()["error"]["fields"][0]["field"] == "body"
    assert recorder.turns == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"id": "c", "messages": [], "trigger": "submit-message"}, "messages"),
        ({"id": "c", "messages": [user("x")], "trigger": "send"}, "trigger"),
        (
            body(
                user("x"),
                {"id": "u2", "role": "user", "parts": [{"type": "text"}]},
            ),
            "messages[1].parts[0].text",
        ),
        (
            body(
                {
                    "id": "u1",
                    "role": "user",
                    "parts": [
                        {"type": "file", "mediaType": "text/plain", "url": "file:///etc/passwd"}
                    ],
                }
            ),
            "messages[0].parts[0].url",
        ),
    ],
)
async def test_an_invalid_body_is_a_422_naming_the_field(
    url: str, recorder: Recorder, payload: Any, field: str
) -> None:
    response = await post(url, payload)
    assert response.status_code == 422, response.text
    assert field in [f["field"] for f in response.json()["error"]["fields"]]
    assert recorder.turns == []


async def test_malformed_json_is_a_422(url: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            url, content=b'{"id": "c", "messages": [', headers={"content-type": "application/json"}
        )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "body"


# --- errors and disconnects ----------------------------------------------------------------


async def test_errors_are_masked_and_the_partial_message_is_saved(
    url: str, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="uiwire")
    response = await post(url, body(user("fail")))
    assert b"hunter2" not in response.content
    report = validate_stream(response.content)
    assert report.error_texts == ["An error occurred."]
    saved = await wait_saved(recorder)
    assert saved.status == "error"
    assert isinstance(saved.record.exception, RuntimeError)
    assert saved.messages[-1]["parts"][-1]["text"] == "partial "


async def test_a_client_that_leaves_still_gets_its_partial_message_saved(
    url: str, recorder: Recorder
) -> None:
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("POST", url, json=body(user("slow"))) as response,
    ):
        await read_until(response, "word3 ")
    saved = await wait_saved(recorder)
    assert saved.status == "disconnect"
    text = saved.messages[-1]["parts"][-1]["text"]
    assert text.startswith("word0 word1 word2 word3 ")
    assert "word199" not in text


# --- mounting ------------------------------------------------------------------------------


async def test_it_mounts_in_fastapi_too(recorder: Recorder) -> None:
    app = FastAPI()
    app.add_route("/api/chat", ChatEndpoint(recorder.respond), methods=["POST"])
    async with serve(app) as base:
        ok = await post(f"{base}/api/chat", body(user("hi")))
        async with httpx.AsyncClient() as client:
            wrong_method = await client.get(f"{base}/api/chat")
    assert validate_stream(ok.content).message["parts"][-1]["text"] == "echo: hi"
    assert wrong_method.status_code == 405


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"limits": 8 * 1024 * 1024}, TypeError),
        ({"limits": {"url_schemes": "https"}}, TypeError),
        ({"response": {"keep_alive": -1}}, TypeError),
        ({"on_finish": "save"}, TypeError),
        ({"keep_alive": -1}, TypeError),  # moved to ResponseOptions
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        ChatEndpoint(Recorder().respond, **kwargs)


def test_an_agent_that_is_neither_is_refused() -> None:
    with pytest.raises(TypeError, match="ChatAgent"):
        ChatEndpoint(object())  # type: ignore[arg-type]


# --- mistakes refused at construction, with the fix --------------------------------------


def test_a_dspy_program_not_wrapped_in_its_adapter_is_refused() -> None:
    import dspy

    with pytest.raises(TypeError) as caught:
        ChatEndpoint(dspy.ReAct("question -> answer", tools=[]))  # type: ignore[arg-type]
    assert str(caught.value) == (
        "ChatEndpoint cannot serve this ReAct as it is; wrap the program: "
        "ChatEndpoint(DSPyAdapter(program)) (from uiwire.adapters.dspy import DSPyAdapter)"
    )


def test_an_agents_sdk_agent_not_wrapped_in_its_adapter_is_refused() -> None:
    from agents import Agent

    with pytest.raises(TypeError) as caught:
        ChatEndpoint(Agent(name="assistant"))  # type: ignore[arg-type]
    assert str(caught.value) == (
        "ChatEndpoint cannot serve this Agent as it is; wrap the agent: "
        "ChatEndpoint(AgentsAdapter(agent)) (from uiwire.adapters.agents import AgentsAdapter)"
    )


def test_a_sync_function_agent_is_refused() -> None:
    def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        pass

    with pytest.raises(TypeError) as caught:
        ChatEndpoint(respond)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "agent respond must be an async def respond(turn, ctx): ChatEndpoint awaits it on "
        "the event loop (run blocking code inside it with asyncio.to_thread)"
    )


def test_a_function_agent_of_the_wrong_arity_is_refused() -> None:
    async def respond(turn: ChatTurn) -> None:
        pass

    with pytest.raises(TypeError) as caught:
        ChatEndpoint(respond)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "agent respond must take two arguments, respond(turn, ctx); its signature is "
        "(turn: 'ChatTurn') -> 'None'"
    )


def test_an_agent_with_a_sync_begin_turn_is_refused() -> None:
    class Agent:
        def begin_turn(self, turn: ChatTurn, /) -> Any:
            return None

    with pytest.raises(TypeError) as caught:
        ChatEndpoint(Agent())  # type: ignore[arg-type]
    assert str(caught.value) == (
        "Agent.begin_turn must be an async def: ChatEndpoint awaits it for every request"
    )


async def test_an_object_with_an_async_call_is_a_function_agent() -> None:
    class Respond:
        async def __call__(self, turn: ChatTurn, ctx: StreamContext[Any]) -> None:
            await ctx.write_text("from an object")

    chat = ChatEndpoint(Respond())
    app = Starlette(routes=[Route("/api/chat", chat, methods=["POST"])])
    async with serve(app) as base:
        response = await post(f"{base}/api/chat", body(user("hi")))
    assert validate_stream(response.content).message["parts"][-1]["text"] == "from an object"


def test_an_agent_that_can_never_answer_a_turn_is_refused_by_its_own_check() -> None:
    class Agent:
        async def begin_turn(self, turn: ChatTurn, /) -> Any:
            return None

        def check_chat(self) -> None:
            raise TypeError("this agent cannot chat: give it a question field")

    with pytest.raises(TypeError, match=r"^this agent cannot chat: give it a question field$"):
        ChatEndpoint(Agent())
