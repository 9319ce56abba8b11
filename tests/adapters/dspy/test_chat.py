"""A DSPy program behind ``ChatEndpoint`` on a real uvicorn server, its model a scripted
chat completions server on loopback: the conversation reaches the prompt as history."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import dspy
import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from tests.support.dspy_scenarios import lm
from tests.support.fake_llm import FakeLLM, Reply, chat
from tests.support.servers import serve
from tests.support.stream_rules import assert_valid_message
from uiwire.adapters.dspy import DSPyAdapter
from uiwire.server import ChatEndpoint, ChatResult


def user(text: str, message_id: str) -> dict[str, Any]:
    return {"id": message_id, "role": "user", "parts": [{"type": "text", "text": text}]}


class Served:
    def __init__(self, url: str, llm: FakeLLM, saved: list[ChatResult]) -> None:
        self.url, self.llm, self.saved = url, llm, saved

    async def post(self, *messages: dict[str, Any]) -> httpx.Response:
        payload = {"id": "c1", "messages": list(messages), "trigger": "submit-message"}
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(self.url, json=payload)


def numbered(payload: dict[str, Any]) -> Reply:
    return Reply(chat(answer=f"answer {len(payload['messages'])}"))


@pytest.fixture
async def served(request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    with FakeLLM(numbered) as llm:
        program = dspy.Predict(request.param)
        program.set_lm(lm(llm.base_url))
        saved: list[ChatResult] = []
        chat_endpoint = ChatEndpoint(DSPyAdapter(program), on_finish=saved.append)
        app = Starlette(routes=[Route("/api/chat", chat_endpoint, methods=["POST"])])
        async with serve(app) as base:
            yield Served(f"{base}/api/chat", llm, saved)


@pytest.mark.parametrize("served", ["history: dspy.History, question -> answer"], indirect=True)
async def test_earlier_turns_reach_the_prompt_as_history(served: Served) -> None:
    first = assert_valid_message((await served.post(user("What is 2+2?", "u1"))).content)
    assert first["parts"][-1]["text"] == "answer 2"  # system + question
    for _ in range(100):
        if served.saved:
            break
        await asyncio.sleep(0.01)
    history = [*served.saved[-1].messages, user("And times 3?", "u2")]
    second = assert_valid_message((await served.post(*history)).content)
    prompt = served.llm.requests[-1]["messages"]
    assert [m["role"] for m in prompt] == ["system", "user", "assistant", "user"]
    assert "What is 2+2?" in prompt[1]["content"]
    assert "answer 2" in prompt[2]["content"]
    assert "And times 3?" in prompt[3]["content"]
    assert second["parts"][-1]["text"] == "answer 4"


@pytest.mark.parametrize("served", ["question -> answer"], indirect=True)
async def test_a_program_without_history_gets_the_question(served: Served) -> None:
    history = [user("first", "u1"), {"id": "a1", "role": "assistant", "parts": []}]
    message = assert_valid_message((await served.post(*history, user("second", "u2"))).content)
    assert message["parts"][-1]["text"] == "answer 2"
    prompt = served.llm.requests[-1]["messages"]
    assert "second" in prompt[-1]["content"]
    assert "first" not in str(prompt)


@pytest.mark.parametrize("served", ["question -> answer"], indirect=True)
async def test_a_continuation_is_a_422(served: Served) -> None:
    assistant = {
        "id": "msg_1",
        "role": "assistant",
        "parts": [{"type": "text", "text": "hi"}],
    }
    response = await served.post(user("q", "u1"), assistant)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "messages[1]"
    assert served.llm.requests == []


# --- URL schemes: the endpoint's choice, applied once by the parser ----------------------

HTTP_IMAGE = "http://images.example/cat.png"


@pytest.mark.parametrize("url_schemes", [("data", "https", "http"), ("data", "https")])
async def test_an_http_image_is_answered_when_the_endpoint_allows_http(
    url_schemes: tuple[str, ...],
) -> None:
    """Allowed: a streamed answer, the image in the model's prompt as it is. Not allowed:
    a 422 naming the field, and the model is never called."""
    with FakeLLM(numbered) as llm:
        program = dspy.Predict(
            "history: dspy.History, question: str, images: list[dspy.Image] -> answer"
        )
        program.set_lm(lm(llm.base_url))
        chat_endpoint = ChatEndpoint(DSPyAdapter(program), url_schemes=url_schemes)
        app = Starlette(routes=[Route("/api/chat", chat_endpoint, methods=["POST"])])
        question = {
            "id": "u1",
            "role": "user",
            "parts": [
                {"type": "text", "text": "What is this?"},
                {"type": "file", "mediaType": "image/png", "url": HTTP_IMAGE},
            ],
        }
        async with serve(app) as base:
            response = await Served(f"{base}/api/chat", llm, []).post(question)
        requests = llm.requests
    if "http" not in url_schemes:
        assert response.status_code == 422
        assert response.json()["error"]["fields"] == [
            {
                "field": "messages[0].parts[1].url",
                "message": "URL scheme 'http' is not allowed (allowed: data, https)",
                "type": "url_scheme",
            }
        ]
        assert requests == []
        return
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    answer = assert_valid_message(response.content)
    assert answer["parts"][-1]["text"] == "answer 2"
    (request,) = requests
    images = [
        part["image_url"]["url"]
        for message in request["messages"]
        if isinstance(message["content"], list)
        for part in message["content"]
        if part.get("type") == "image_url"
    ]
    assert images == [HTTP_IMAGE]
