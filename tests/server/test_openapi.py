"""``ChatEndpoint.openapi``: the schema never refuses a body the parser takes."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.protocol.test_chat_request import full_conversation, messages
from uiwire.protocol import ChatRequestError
from uiwire.protocol.chat_request import parse_chat_request
from uiwire.resume import MemoryStreamStore
from uiwire.server import ChatEndpoint, RequestLimits
from uiwire.stream import StreamContext


async def respond(turn: Any, ctx: StreamContext[Any]) -> None:
    await ctx.write_text("ok")


def validator(**endpoint: Any) -> Any:
    document = ChatEndpoint(respond, **endpoint).openapi("/api/chat")
    root = {"$ref": "#/components/schemas/ChatRequest", "components": document["components"]}
    return jsonschema_rs.validator_for(root)


STRICT = validator(streams=MemoryStreamStore(), limits=RequestLimits(url_schemes=("https",)))
DEFAULT = validator()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messages(), min_size=1, max_size=3))
def test_every_body_the_parser_takes_passes_the_schema(sent: list[dict[str, Any]]) -> None:
    body = {"id": "chat", "trigger": "submit-message", "messages": sent}
    parse_chat_request(orjson.dumps(body))  # the parser takes it...
    DEFAULT.validate(body)  # ...so the schema must too


def test_a_whole_conversation_passes_the_schema() -> None:
    DEFAULT.validate(full_conversation())


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ({"id": "c", "trigger": "submit-message", "messages": []}, "no messages"),
        (
            {"id": "c", "trigger": "submit-message", "messages": [{"id": "u", "role": "user", "parts": []}]},
            "a user message without parts",
        ),
        (
            {"id": "c", "trigger": "submit-message", "messages": [{"id": "u", "role": "user", "parts": [{"text": "hi"}]}]},
            "a part without its type",
        ),
        (
            {"id": "c", "trigger": "submit-message", "messages": [{"id": "u", "role": "user", "parts": [{"type": "text", "text": "hi", "state": None}]}]},
            "null for an optional key",
        ),
        (
            {"id": "c", "trigger": "submit-message", "messages": [{"id": "u", "role": "user", "parts": [{"type": "file", "mediaType": "image/png", "url": "data:image/png;base64,AA"}]}]},
            "a URL scheme the endpoint does not take",
        ),
        (
            {"id": "../c", "trigger": "submit-message", "messages": [{"id": "u", "role": "user", "parts": [{"type": "text", "text": "hi"}]}]},
            "a chat id a resumable chat cannot have",
        ),
    ],
)  # fmt: skip
def test_rules_checked_in_code_are_in_the_schema_too(body: dict[str, Any], rule: str) -> None:
    with pytest.raises(jsonschema_rs.ValidationError):
        STRICT.validate(body)
    if rule.startswith("a chat id"):
        return  # the endpoint checks chat ids, not the parser
    with pytest.raises(ChatRequestError):  # and the parser refuses it as well
        parse_chat_request(orjson.dumps(body), url_schemes=("https",))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_every_last_message_body_the_parser_takes_passes_the_schema(sent: dict[str, Any]) -> None:
    body = {"id": "chat", "message": sent, "selectedChatModel": "chat-model"}
    assert parse_chat_request(orjson.dumps(body)).form == "message"  # the parser takes it...
    DEFAULT.validate(body)  # ...so the schema must too


@pytest.mark.parametrize(
    "body",
    [
        {"id": "c", "trigger": "submit-message"},
        {"id": "c", "message": {"id": "u", "role": "user", "parts": [{"type": "text", "text": "hi"}]}, "messages": [{"id": "u", "role": "user", "parts": [{"type": "text", "text": "hi"}]}]},
        {"id": "c", "message": {"id": "u", "role": "user", "parts": []}},
    ],
    ids=["neither messages nor message", "both", "a last message without parts"],
)  # fmt: skip
def test_the_schema_refuses_what_the_parser_refuses_in_either_form(body: dict[str, Any]) -> None:
    with pytest.raises(jsonschema_rs.ValidationError):
        DEFAULT.validate(body)
    with pytest.raises(ChatRequestError):
        parse_chat_request(orjson.dumps(body))
