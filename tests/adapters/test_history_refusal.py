"""Both adapters refuse a conversation they cannot take the same way: a 422 naming the
field, before any stream, never a 500.

Most such conversations are refused by the request parser, whose rules both adapters
share (a ``data:`` URL with no data, an ``https:`` URL with no host, a tool part naming
no tool or no call); what only a history converter can see (the DSPy adapter needs the
user's question last) becomes the same kind of 422 through
``uiwire.adapters._history_refusal``. The bodies go over HTTP to a ``ChatEndpoint`` per
adapter, the contract a user meets; no model is called (a refused turn runs nothing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import dspy
import httpx
import pytest
from agents import Agent
from starlette.applications import Starlette

from tests.support.messages import user
from tests.support.servers import serve
from uiwire.adapters._history_refusal import history_refused
from uiwire.adapters.agents import AgentsAdapter
from uiwire.adapters.dspy import DSPyAdapter
from uiwire.server import ChatEndpoint

TEXT = {"type": "text", "text": "What is in this picture?"}


def image(url: str) -> dict[str, Any]:
    return {"type": "file", "mediaType": "image/png", "url": url}


def tool_part(kind: str, call_id: str) -> dict[str, Any]:
    return {
        "type": kind,
        "toolCallId": call_id,
        "state": "output-available",
        "input": {},
        "output": "done",
    }


def earlier_tool_call(part: dict[str, Any]) -> list[dict[str, Any]]:
    assistant = {"id": "a1", "role": "assistant", "parts": [part]}
    return [user(TEXT), assistant, user(TEXT, id="u2")]


BOTH = ("dspy", "agents")

CASES: list[tuple[str, list[dict[str, Any]], tuple[str, ...], str]] = [
    # (name, messages, the adapters that refuse them, the field they name)
    (
        "a data: URL with no data",
        [user(TEXT, image("data:image/png;base64"))],
        BOTH,
        "messages[0].parts[1].url",
    ),
    (
        "an https: URL with no host",
        [user(TEXT, image("https:picture.png"))],
        BOTH,
        "messages[0].parts[1].url",
    ),
    (
        "a tool part naming no tool",
        earlier_tool_call(tool_part("tool-", "call_1")),
        BOTH,
        "messages[1].parts[0].type",
    ),
    (
        "a tool call with an empty id",
        earlier_tool_call(tool_part("tool-lookup", "")),
        BOTH,
        "messages[1].parts[0].toolCallId",
    ),
    (
        "a system message last",
        [user(TEXT), {"id": "s1", "role": "system", "parts": [TEXT]}],
        ("dspy",),
        "messages[1]",
    ),
]


@pytest.fixture
async def endpoints() -> AsyncIterator[dict[str, str]]:
    program = dspy.Predict("history: dspy.History, question, images: list[dspy.Image] -> answer")
    # the client keeps the conversation here, so that its whole history reaches the
    # converters (a server-kept one only ever holds messages that passed them)
    client_kept: dict[str, Any] = {"conversations": False, "identity": False}
    agents = {
        "dspy": ChatEndpoint(DSPyAdapter(program), **client_kept),
        "agents": ChatEndpoint(AgentsAdapter(Agent(name="assistant")), **client_kept),
    }
    app = Starlette(
        routes=[route for name, chat in agents.items() for route in chat.routes(f"/{name}")]
    )
    async with serve(app) as base:
        yield {name: f"{base}/{name}" for name in agents}


@pytest.mark.parametrize(
    ("messages", "refused_by", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
async def test_a_conversation_a_converter_cannot_take_is_a_422_naming_the_field(
    endpoints: dict[str, str],
    messages: list[dict[str, Any]],
    refused_by: tuple[str, ...],
    field: str,
) -> None:
    payload = {"id": "chat-1", "messages": messages, "trigger": "submit-message"}
    bodies: list[Any] = []
    async with httpx.AsyncClient(timeout=30) as client:
        for name in refused_by:
            response = await client.post(endpoints[name], json=payload)
            assert response.status_code == 422, (name, response.text)
            assert response.json()["error"]["fields"][0]["field"] == field, name
            bodies.append(response.json())
    assert all(body == bodies[0] for body in bodies)  # the same refusal, word for word


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (
            "messages[2].parts[0].url must be a data: or https: URL",
            "messages[2].parts[0].url",
            "must be a data: or https: URL",
        ),
        (
            "messages[3] must be the user's question (the last message)",
            "messages[3]",
            "must be the user's question (the last message)",
        ),
        ("messages is empty: send one", "messages", "is empty: send one"),
        ("something with no path", "messages", "something with no path"),
    ],
)
def test_the_field_is_the_path_the_message_opens_with(text: str, field: str, message: str) -> None:
    refusal = history_refused(ValueError(text))
    assert refusal.status_code == 422
    assert [(e.field, e.message, e.type) for e in refusal.errors] == [(field, message, "history")]
