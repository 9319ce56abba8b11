"""Tests for ``uiwire.protocol.chat_request`` and ``ui_message``: the body ``useChat`` POSTs.

The accept / reject facts below come from the AI SDK itself, not from ``request.py``:
the zod schemas of ``validateUIMessages`` (``packages/ai/src/ui/validate-ui-messages.ts``
in ``ai`` 6.0.326 and 7.0.173, both in ``tests/js/node_modules``), checked by running
``safeValidateUIMessages`` on the same inputs. Where uiwire is deliberately stricter
(non-empty ids, URL schemes, prototype keys, nesting depth) the test says so.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, cast

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.support.messages import assistant, file, text, user
from uiwire import UIWireError
from uiwire.protocol import ChatRequestError, FieldError
from uiwire.protocol.chat_request import ChatRequest, parse_chat_request, parse_steering_message
from uiwire.protocol.ui_message import (
    CustomUIPart,
    DataUIPart,
    DynamicToolUIPart,
    FileUIPart,
    ReasoningFileUIPart,
    ReasoningUIPart,
    SourceDocumentUIPart,
    SourceUrlUIPart,
    SteeringFileUIPart,
    SteeringMessageUIPart,
    SteeringTextUIPart,
    StepStartUIPart,
    TextUIPart,
    ToolApproval,
    ToolUIPart,
    UIMessage,
    as_ui_message,
)

# --- builders ---------------------------------------------------------------------------

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


ASK = "What's the weather in Berlin?"
"""The user's question in most bodies below."""


def chat(*messages: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"id": "chat_1", "messages": list(messages), "trigger": "submit-message", **top}


def with_assistant_part(part: dict[str, Any]) -> dict[str, Any]:
    """A body whose assistant message (``messages[1]``) has ``part`` at ``parts[1]``."""
    return chat(user(text(ASK)), assistant({"type": "step-start"}, part))


def parse(data: Mapping[str, Any] | bytes | str, **kwargs: Any) -> ChatRequest:
    raw = data if isinstance(data, (bytes, str)) else orjson.dumps(data)
    return parse_chat_request(raw, **kwargs)


def errors_of(data: Mapping[str, Any] | bytes | str, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(ChatRequestError) as info:
        parse(data, **kwargs)
    assert info.value.status_code == 422
    return [(e.field, e.type) for e in info.value.errors]


def tool(state: str, *, name: str = "getWeather", **fields: Any) -> dict[str, Any]:
    return {"type": f"tool-{name}", "toolCallId": "call_1", "state": state, **fields}


def dynamic_tool(state: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "dynamic-tool",
        "toolName": "mcp_search",
        "toolCallId": "call_2",
        "state": state,
        **fields,
    }


# One valid tool part per state, as the client's processUIMessageStream leaves them.
TOOL_STATES: dict[str, dict[str, Any]] = {
    "input-streaming": {"input": {"city": "Ber"}},
    "input-available": {"input": {"city": "Berlin"}, "callProviderMetadata": {"openai": {}}},
    "approval-requested": {"input": {"city": "Berlin"}, "approval": {"id": "appr_1"}},
    "approval-responded": {
        "input": {"city": "Berlin"},
        "approval": {"id": "appr_1", "approved": True, "reason": "fine"},
    },
    "output-available": {"input": {"city": "Berlin"}, "output": {"temp": 21}},
    "output-error": {"input": {"city": "Berlin"}, "errorText": "Error: timeout"},
    "output-denied": {
        "input": {"city": "Berlin"},
        "approval": {"id": "appr_1", "approved": False, "reason": "not now"},
    },
}


# --- realistic bodies as useChat sends them (protocol.md §5.1, §5.3) --------------------


def test_submit_message_first_turn() -> None:
    request = parse(chat(user(text(ASK), id="msg_u1")))

    assert request.id == "chat_1"
    assert request.trigger == "submit-message"
    assert request.message_id is None
    assert request.body == {}
    [message] = request.messages
    assert (message.id, message.role, message.metadata) == ("msg_u1", "user", None)
    assert message.parts == [TextUIPart(text="What's the weather in Berlin?")]


def test_submit_with_upload_and_message_metadata() -> None:
    message = user(
        {"type": "file", "mediaType": "image/png", "filename": "cat.png", "url": PNG},
        text("What is in this picture?"),
        metadata={"createdAt": 1767225600000, "locale": "de-DE"},
    )
    request = parse(chat(message))

    file_part, text_part = request.messages[0].parts
    assert isinstance(file_part, FileUIPart)
    assert (file_part.media_type, file_part.filename, file_part.url) == (
        "image/png",
        "cat.png",
        PNG,
    )
    assert isinstance(text_part, TextUIPart)
    assert request.messages[0].metadata == {"createdAt": 1767225600000, "locale": "de-DE"}
    assert request.messages[0].to_json() == message


def test_regenerate_sends_history_without_the_last_answer() -> None:
    history = [
        user(text("Hi"), id="u1"),
        assistant({"type": "step-start"}, text("Hello! How can I help?"), id="a1"),
        user(text("Tell me a joke"), id="u2"),
    ]
    request = parse({"id": "chat_1", "messages": history, "trigger": "regenerate-message"})

    assert request.trigger == "regenerate-message"
    assert request.message_id is None
    assert [m.id for m in request.messages] == ["u1", "a1", "u2"]


def test_regenerate_a_given_message_and_edit_carry_message_id() -> None:
    regenerate = parse(
        {
            "id": "chat_1",
            "messages": [user(text("Hi"), id="u1")],
            "trigger": "regenerate-message",
            "messageId": "a1",
        }
    )
    edit = parse(chat(user(text("Actually, Paris"), id="u1"), messageId="u1"))

    assert regenerate.message_id == "a1"
    assert edit.message_id == "u1"
    assert edit.body == {}


def test_add_tool_output_continuation_from_the_protocol_notes() -> None:
    body = {
        "id": "chat_1",
        "trigger": "submit-message",
        "messageId": "a1",
        "messages": [
            {"id": "id1", "role": "user", "parts": [text("Where am I?")]},
            {
                "id": "a1",
                "role": "assistant",
                "parts": [
                    {"type": "step-start"},
                    {
                        "type": "tool-getLocation",
                        "toolCallId": "call_1",
                        "state": "output-available",
                        "input": {},
                        "output": {"city": "Berlin"},
                    },
                ],
            },
        ],
    }
    request = parse(body)

    tool_part = request.messages[1].parts[1]
    assert isinstance(tool_part, ToolUIPart)
    assert (tool_part.tool_name, tool_part.tool_call_id, tool_part.state) == (
        "getLocation",
        "call_1",
        "output-available",
    )
    assert (tool_part.input, tool_part.output) == ({}, {"city": "Berlin"})
    assert request.message_id == "a1"
    assert [m.to_json() for m in request.messages] == body["messages"]


def test_approval_continuation() -> None:
    part = tool(
        "approval-responded",
        name="deleteFile",
        input={"path": "/tmp/x"},
        approval={"id": "appr_7", "approved": False, "reason": "keep it"},
    )
    request = parse(
        chat(
            user(text("Clean up")),
            assistant({"type": "step-start"}, part, id="msg_a1"),
            messageId="msg_a1",
        )
    )

    tool_part = request.messages[1].parts[1]
    assert isinstance(tool_part, ToolUIPart)
    assert tool_part.approval == ToolApproval(id="appr_7", approved=False, reason="keep it")
    assert request.message_id == "msg_a1"


def test_extra_body_fields_are_kept_apart_from_the_chat() -> None:
    request = parse(
        chat(user(text(ASK)), model="gpt-5", temperature=0.2, user={"plan": "pro"}, messageId=None)
    )

    assert request.body == {"model": "gpt-5", "temperature": 0.2, "user": {"plan": "pro"}}
    assert request.message_id is None
    request.body["model"] = "changed"  # a copy: the request is not edited through it
    assert request.body["model"] == "gpt-5"


def test_a_decoded_mapping_is_accepted_too() -> None:
    request = parse_chat_request(chat(user(text(ASK)), model="x"))
    assert request.messages[0].parts == [TextUIPart(text="What's the weather in Berlin?")]
    assert request.body == {"model": "x"}


# --- the last-message body (prepareSendMessagesRequest, the Vercel chatbot template) ----


def test_the_default_body_says_it_sent_the_whole_conversation() -> None:
    assert parse(chat(user(text(ASK)))).form == "messages"


def test_the_chatbot_templates_last_message_body() -> None:
    # What the Vercel chatbot template posts: no trigger, no messageId, extra fields.
    sent = user(text(ASK), file("image/png", PNG), id="msg_u2")
    body = {
        "id": "chat_1",
        "message": sent,
        "selectedChatModel": "chat-model",
        "selectedVisibilityType": "private",
    }
    request = parse(body)

    assert request.form == "message"
    assert (request.id, request.trigger, request.message_id) == ("chat_1", "submit-message", None)
    assert [m.to_json() for m in request.messages] == [sent]
    assert request.body == {"selectedChatModel": "chat-model", "selectedVisibilityType": "private"}
    assert "message_id" not in request.model_fields_set  # not sent, as with the default body


def test_a_continuation_sends_the_assistant_message_as_message() -> None:
    answered = assistant(
        {"type": "step-start"},
        tool(
            "approval-responded",
            approval={"id": "appr_1", "approved": True},
            input={"city": "Berlin"},
        ),
        id="msg_a1",
    )
    request = parse(
        {"id": "chat_1", "message": answered, "trigger": "submit-message", "messageId": "msg_a1"}
    )

    assert request.form == "message"
    assert request.message_id == "msg_a1"
    [message] = request.messages
    assert message.role == "assistant"
    assert isinstance(message.parts[1], ToolUIPart)


def test_regenerate_with_the_last_message_body() -> None:
    request = parse(
        {
            "id": "chat_1",
            "message": user(text(ASK)),
            "trigger": "regenerate-message",
            "messageId": "a1",
        }
    )
    assert (request.trigger, request.message_id, request.form) == (
        "regenerate-message",
        "a1",
        "message",
    )


def test_the_form_is_not_a_body_field() -> None:
    request = parse(chat(user(text(ASK)), form="message", _form="message"))
    assert request.form == "messages"
    assert request.body == {"form": "message", "_form": "message"}


def test_last_message_errors_name_the_message_field() -> None:
    bad = user(text("a"), text("b"), file("text/html", "javascript:alert(1)"))
    assert errors_of({"id": "c", "message": bad}) == [("message.parts[2].url", "url_scheme")]
    assert errors_of({"id": "c", "message": {**bad, "role": "robot"}}) == [
        ("message.role", "literal_error"),
        ("message.parts[2].url", "url_scheme"),
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"id": "c", "message": user(text(ASK)), "messages": [user(text(ASK))]},
            [("message", "body_form")],
        ),
        (
            {"id": "c", "message": user(text(ASK)), "messages": None},
            [("message", "body_form")],
        ),
        ({"id": "c", "trigger": "submit-message"}, [("messages", "missing")]),
        ({"id": "c", "message": None}, [("message", "model_type")]),
        ({"id": "c", "message": [user(text(ASK))]}, [("message", "model_type")]),
        ({"message": user(text(ASK))}, [("id", "missing")]),
        ({"id": "c", "message": user(text(ASK)), "trigger": "x"}, [("trigger", "literal_error")]),
        ({"id": "c", "message": user(text(ASK)), "messageId": 1}, [("messageId", "string_type")]),
        ({"id": "c", "message": {"id": "u", "role": "user", "parts": []}}, [("message.parts", "too_short")]),
    ],
)  # fmt: skip
def test_last_message_body_rules(body: Any, expected: list[tuple[str, str]]) -> None:
    assert errors_of(body) == expected


def test_neither_form_names_both_ways_to_send_a_message() -> None:
    with pytest.raises(ChatRequestError) as info:
        parse({"id": "c", "trigger": "submit-message"})
    [error] = info.value.errors
    assert error.field == "messages"
    assert "message (the last message)" in error.message


def test_the_last_message_body_takes_the_same_checks_as_the_default_one() -> None:
    raw = b'{"id": "c", "message": {"id": "u", "role": "user", "parts": [{"type": "text", "text": "hi"}], "metadata": {"__proto__": {"x": 1}}}}'
    assert errors_of(raw) == [("message.metadata.__proto__", "proto_key")]
    https_only = {"id": "c", "message": user(file("image/png", PNG))}
    assert errors_of(https_only, url_schemes=("https",)) == [("message.parts[0].url", "url_scheme")]


# --- every part type, every tool state --------------------------------------------------


def test_every_part_type_is_accepted_as_its_model() -> None:
    citation = {
        "source": {"type": "source", "sourceType": "url", "id": "s1", "url": "https://w.org"},
        "startIndex": 0,
        "endIndex": 4,
        "citedText": "Rain",
    }
    parts: list[tuple[dict[str, Any], type]] = [
        ({"type": "text", "text": "Rain", "state": "done", "citations": [citation]}, TextUIPart),
        ({"type": "reasoning", "id": "r1", "text": "Think", "state": "streaming"}, ReasoningUIPart),
        (tool("input-available", input={"city": "Berlin"}), ToolUIPart),
        (dynamic_tool("input-available", input=None, dynamic=False), DynamicToolUIPart),
        (
            {"type": "source-url", "sourceId": "s1", "url": "https://w.org", "title": "W"},
            SourceUrlUIPart,
        ),
        (
            {
                "type": "source-document",
                "sourceId": "s2",
                "mediaType": "application/pdf",
                "title": "T",
            },
            SourceDocumentUIPart,
        ),
        (
            {
                "type": "file",
                "mediaType": "image/png",
                "url": PNG,
                "providerReference": {"openai": "file_1"},
            },
            FileUIPart,
        ),
        ({"type": "step-start"}, StepStartUIPart),
        ({"type": "data-weather", "id": "d1", "data": {"temp": 21}}, DataUIPart),
        ({"type": "custom", "kind": "openai.compaction"}, CustomUIPart),
        ({"type": "reasoning-file", "mediaType": "image/png", "url": PNG}, ReasoningFileUIPart),
        (
            {
                "type": "steering-message",
                "id": "st1",
                "parts": [
                    text("also Paris"),
                    {"type": "file", "mediaType": "image/png", "url": PNG},
                ],
            },
            SteeringMessageUIPart,
        ),
    ]
    body = chat(user(text(ASK)), assistant(*(p for p, _ in parts)))

    request = parse(body)

    assert [type(p) for p in request.messages[1].parts] == [model for _, model in parts]
    steering = request.messages[1].parts[-1]
    assert isinstance(steering, SteeringMessageUIPart)
    assert [type(p) for p in steering.parts] == [SteeringTextUIPart, SteeringFileUIPart]
    assert request.messages[1].to_json() == body["messages"][1]


def test_tool_and_data_names_come_from_the_type() -> None:
    request = parse(
        with_assistant_part({"type": "data-weather-card", "data": None}),
    )
    data_part = request.messages[1].parts[1]
    assert isinstance(data_part, DataUIPart)
    assert (data_part.data_name, data_part.data) == ("weather-card", None)

    tool_part = (
        parse(with_assistant_part(tool("input-streaming", name="get-weather"))).messages[1].parts[1]
    )
    assert isinstance(tool_part, ToolUIPart)
    assert tool_part.tool_name == "get-weather"
    assert "input" not in tool_part.model_fields_set


@pytest.mark.parametrize("state", list(TOOL_STATES))
@pytest.mark.parametrize("family", ["static", "dynamic"])
def test_every_tool_state_is_accepted_and_round_trips(state: str, family: str) -> None:
    make = tool if family == "static" else dynamic_tool
    part = make(state, **TOOL_STATES[state])
    body = with_assistant_part(part)

    parsed = parse(body).messages[1].parts[1]

    assert isinstance(parsed, ToolUIPart if family == "static" else DynamicToolUIPart)
    assert parsed.state == state
    assert parse(body).messages[1].to_json() == body["messages"][1]


@pytest.mark.parametrize(
    "part",
    [
        tool("input-streaming"),  # no input yet
        tool("input-streaming", input=None, rawInput='{"ci', inputEncoding="json"),
        tool("input-available", input=None),  # null is a value; absence is not
        tool("output-available", input=None, output=None, preliminary=True),
        tool("output-available", input={}, output=1, approval={"id": "a", "approved": True}),
        tool("output-error", errorText="Error: bad input", rawInput={"x": 1}),  # input optional
        tool("output-error", input={}, errorText="e", approval={"id": "a", "approved": True}),
        tool(
            "approval-requested",
            input={},
            approval={"id": "a", "requestReason": "risky", "isAutomatic": False, "signature": "s"},
        ),
        tool(
            "approval-requested",
            input={},
            approval={"id": "a", "descriptor": None, "inputSchemaInput": {"p": 1}},
        ),
        tool(
            "input-available",
            input={},
            title="Weather",
            toolMetadata={"k": None},
            providerExecuted=True,
        ),
        dynamic_tool("output-error", errorText="e", resultProviderMetadata={"mcp": {"ms": 3}}),
    ],
)
def test_tool_parts_the_sdk_accepts(part: dict[str, Any]) -> None:
    body = with_assistant_part(part)
    assert parse(body).messages[1].to_json() == body["messages"][1]


# --- each rule, rejected at its exact path ----------------------------------------------

P = "messages[1].parts[1]"


@pytest.mark.parametrize(
    ("part", "field", "kind"),
    [
        ({"type": "text"}, "text", "missing"),
        ({"type": "text", "text": 1}, "text", "string_type"),
        ({"type": "text", "text": "x", "state": None}, "state", "null_optional"),
        ({"type": "text", "text": "x", "state": "finished"}, "state", "literal_error"),
        (
            {"type": "text", "text": "x", "providerMetadata": None},
            "providerMetadata",
            "null_optional",
        ),
        (
            {"type": "text", "text": "x", "providerMetadata": {"openai": 1}},
            "providerMetadata.openai",
            "dict_type",
        ),
        ({"type": "reasoning", "text": "x", "id": 7}, "id", "string_type"),
        ({"type": "source-url", "sourceId": "s"}, "url", "missing"),
        ({"type": "source-url", "url": "https://x"}, "sourceId", "missing"),
        ({"type": "source-document", "sourceId": "s", "mediaType": "a/b"}, "title", "missing"),
        ({"type": "file", "url": PNG}, "mediaType", "missing"),
        (
            {"type": "file", "mediaType": "image/png", "url": PNG, "filename": None},
            "filename",
            "null_optional",
        ),
        (
            {"type": "file", "mediaType": "a/b", "url": PNG, "providerReference": {"openai": 1}},
            "providerReference.openai",
            "string_type",
        ),
        ({"type": "data-weather"}, "data", "missing"),
        ({"type": "data-weather", "data": 1, "id": None}, "id", "null_optional"),
        ({"type": "custom"}, "kind", "missing"),
        ({"type": "reasoning-file", "url": PNG}, "mediaType", "missing"),
        ({"type": "steering-message", "parts": []}, "id", "missing"),
        (
            {"type": "steering-message", "id": "s", "parts": [{"type": "image"}]},
            "parts[0].type",
            "part_type",
        ),
        (
            {"type": "steering-message", "id": "s", "parts": [{"type": "text"}]},
            "parts[0].text",
            "missing",
        ),
        (
            {
                "type": "text",
                "text": "x",
                "citations": [{"source": {"type": "source", "sourceType": "url", "id": "s"}}],
            },
            "citations[0].source.url",
            "missing",
        ),
        (
            {
                "type": "text",
                "text": "x",
                "citations": [
                    {
                        "source": {"type": "source", "sourceType": "url", "id": "s", "url": "u"},
                        "startIndex": -1,
                    }
                ],
            },
            "citations[0].startIndex",
            "greater_than_equal",
        ),
        (
            {"type": "dynamic-tool", "toolCallId": "c", "state": "input-streaming"},
            "toolName",
            "missing",
        ),
        (dynamic_tool("input-available", input={}, dynamic=True), "dynamic", "literal_error"),
        ({"type": "tool-x", "state": "input-streaming"}, "toolCallId", "missing"),
        (tool("done", input={}), "state", "literal_error"),
        (
            tool("input-available", input={}, providerExecuted="yes"),
            "providerExecuted",
            "bool_type",
        ),
        (tool("input-available", input={}, toolMetadata=None), "toolMetadata", "null_optional"),
        # per-state rules
        (tool("input-available"), "input", "missing"),
        (tool("input-available", input={}, output=None), "output", "tool_state"),
        (tool("input-available", input={}, approval={"id": "a"}), "approval", "tool_state"),
        (tool("input-streaming", errorText="e"), "errorText", "tool_state"),
        (tool("input-streaming", rawInput=5), "rawInput", "string_type"),
        (tool("approval-requested", input={}), "approval", "missing"),
        (tool("approval-requested", input={}, approval={}), "approval.id", "missing"),
        (
            tool("approval-requested", input={}, approval={"id": "a", "approved": True}),
            "approval.approved",
            "tool_state",
        ),
        (
            tool("approval-requested", input={}, approval={"id": "a", "reason": "r"}),
            "approval.reason",
            "tool_state",
        ),
        (
            tool("approval-responded", input={}, approval={"id": "a"}),
            "approval.approved",
            "missing",
        ),
        (
            tool("approval-responded", input={}, approval={"id": "a", "approved": None}),
            "approval.approved",
            "null_optional",
        ),
        (tool("approval-responded", approval={"id": "a", "approved": True}), "input", "missing"),
        (tool("output-available", input={}), "output", "missing"),
        (tool("output-available", input={}, output=1, errorText="e"), "errorText", "tool_state"),
        (
            tool("output-available", input={}, output=1, approval={"id": "a", "approved": False}),
            "approval.approved",
            "tool_state",
        ),
        (tool("output-error", input={}), "errorText", "missing"),
        (tool("output-error", input={}, errorText=None), "errorText", "null_optional"),
        (tool("output-error", errorText="e", output=None), "output", "tool_state"),
        (tool("output-denied", input={}), "approval", "missing"),
        (
            tool("output-denied", input={}, approval={"id": "a", "approved": True}),
            "approval.approved",
            "tool_state",
        ),
        (
            dynamic_tool("output-denied", approval={"id": "a", "approved": False}),
            "input",
            "missing",
        ),
        # beyond the SDK: a call a model could be shown has a name and an id
        (tool("input-available", name="", input={}), "type", "string_pattern_mismatch"),
        (tool("input-available", input={}, toolCallId=""), "toolCallId", "string_too_short"),
        (dynamic_tool("input-available", input={}, toolName=""), "toolName", "string_too_short"),
    ],
)
def test_each_rule_is_rejected_at_its_path(part: dict[str, Any], field: str, kind: str) -> None:
    assert errors_of(with_assistant_part(part)) == [(f"{P}.{field}", kind)]


def test_a_state_rule_reports_every_broken_field_of_the_part() -> None:
    part = tool("input-available", output=1, errorText="e", approval={"id": "a"})
    assert errors_of(with_assistant_part(part)) == [
        (f"{P}.input", "missing"),
        (f"{P}.output", "tool_state"),
        (f"{P}.errorText", "tool_state"),
        (f"{P}.approval", "tool_state"),
    ]


def test_unknown_part_type_names_the_type_and_lists_the_accepted_ones() -> None:
    body = chat(user(text(ASK), text(ASK), {"type": "image", "url": PNG}))
    with pytest.raises(ChatRequestError) as info:
        parse(body)

    [error] = info.value.errors
    assert (error.field, error.type) == ("messages[0].parts[2].type", "part_type")
    assert error.message.startswith("unknown part type; accepted: text, reasoning, tool-<name>,")
    assert "data-<name>" in error.message
    assert "steering-message" in error.message


@pytest.mark.parametrize(
    ("part", "field", "kind"),
    [
        ({"text": "no type"}, "messages[0].parts[0].type", "part_type"),
        ({"type": 5}, "messages[0].parts[0].type", "part_type"),
        ("just text", "messages[0].parts[0]", "model_type"),
        (None, "messages[0].parts[0]", "model_type"),
    ],
)
def test_parts_without_a_usable_type(part: Any, field: str, kind: str) -> None:
    # written out: ``user("just text")`` would make the string a text part
    message = {"id": "msg_u1", "role": "user", "parts": [part]}
    assert errors_of(chat(message)) == [(field, kind)]


def test_a_list_stops_at_its_first_bad_element_like_the_sdk() -> None:
    body = chat(user({"type": "text"}, {"type": "bogus"}), user({"type": "bogus"}, id="u2"))
    assert errors_of(body) == [("messages[0].parts[0].text", "missing")]


@pytest.mark.parametrize(
    ("message", "field", "kind"),
    [
        (user(), "messages[0].parts", "too_short"),
        ({"id": "s1", "role": "system", "parts": []}, "messages[0].parts", "too_short"),
        (user(text(ASK), id=""), "messages[0].id", "string_too_short"),  # stricter than the SDK
        ({"role": "user", "parts": [text(ASK)]}, "messages[0].id", "missing"),
        ({"id": "u1", "role": "tool", "parts": [text(ASK)]}, "messages[0].role", "literal_error"),
        ({"id": "u1", "role": "user"}, "messages[0].parts", "missing"),
        ({"id": "u1", "role": "user", "parts": {"0": text(ASK)}}, "messages[0].parts", "list_type"),
        ("hello", "messages[0]", "model_type"),
    ],
)
def test_message_rules(message: Any, field: str, kind: str) -> None:
    assert errors_of(chat(message)) == [(field, kind)]


def test_an_empty_assistant_message_is_accepted() -> None:
    # A failed answer is saved with no parts; the SDK (6.x fix #17217) loads it.
    body = chat(user(text(ASK)), assistant(id="msg_a1"), user(text("again"), id="u2"))
    assert parse(body).messages[1].to_json() == {"id": "msg_a1", "role": "assistant", "parts": []}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({**chat(user(text(ASK))), "trigger": "submit"}, [("trigger", "literal_error")]),
        ({"id": "c", "messages": [user(text(ASK))]}, [("trigger", "missing")]),
        (chat(), [("messages", "too_short")]),
        ({**chat(user(text(ASK))), "messages": None}, [("messages", "list_type")]),
        ({**chat(user(text(ASK))), "id": ""}, [("id", "string_too_short")]),
        ({**chat(user(text(ASK))), "id": 1}, [("id", "string_type")]),
        ({**chat(user(text(ASK))), "messageId": 1}, [("messageId", "string_type")]),
        (
            {"messages": [], "trigger": "retry"},
            [("id", "missing"), ("messages", "too_short"), ("trigger", "literal_error")],
        ),
        ([chat(user(text(ASK)))], [("body", "model_type")]),
        ("chat", [("body", "model_type")]),
    ],
)
def test_top_level_rules(body: Any, expected: list[tuple[str, str]]) -> None:
    assert errors_of(orjson.dumps(body)) == expected


def test_json_is_read_strictly_like_zod() -> None:
    # zod takes no "1" for a number or "true" for a boolean; pydantic's lax mode would.
    part = tool("input-available", input={}, providerExecuted="true")
    assert errors_of(with_assistant_part(part)) == [(f"{P}.providerExecuted", "bool_type")]
    assert errors_of(chat(user({"type": "text", "text": 42}))) == [
        ("messages[0].parts[0].text", "string_type")
    ]


# --- URL schemes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "javascript:alert(1)",
        "ftp://example.com/a.png",
        "/etc/passwd",
        "cat.png",
        " https://example.com/a.png",  # no guessing past a leading space
        "ht\ttps://example.com/a.png",
        "",
    ],
)
def test_file_urls_outside_the_allowed_schemes_are_refused(url: str) -> None:
    body = chat(user(text(ASK), {"type": "file", "mediaType": "image/png", "url": url}))
    assert errors_of(body) == [("messages[0].parts[1].url", "url_scheme")]


def test_the_refusal_names_the_scheme_and_the_allowed_ones() -> None:
    body = chat(user({"type": "file", "mediaType": "text/plain", "url": "file:///etc/passwd"}))
    with pytest.raises(ChatRequestError) as info:
        parse(body)
    assert info.value.errors == [
        FieldError(
            "messages[0].parts[0].url",
            "URL scheme 'file' is not allowed (allowed: data, https)",
            "url_scheme",
        )
    ]


@pytest.mark.parametrize(
    "url", [PNG, "DATA:text/plain,hi", "https://cdn.example.com/a.png", "HTTPS://X.ORG/a"]
)
def test_data_and_https_urls_are_allowed_by_default(url: str) -> None:
    parsed = parse(chat(user({"type": "file", "mediaType": "image/png", "url": url})))
    part = parsed.messages[0].parts[0]
    assert isinstance(part, FileUIPart)
    assert part.url == url


def test_custom_url_schemes() -> None:
    body = chat(user({"type": "file", "mediaType": "image/png", "url": "http://intranet/a.png"}))
    assert parse(body, url_schemes=["HTTP", "https"]).messages[0].parts[0] == FileUIPart(
        media_type="image/png", url="http://intranet/a.png"
    )
    assert errors_of(
        chat(user({"type": "file", "mediaType": "image/png", "url": PNG})), url_schemes={"https"}
    ) == [("messages[0].parts[0].url", "url_scheme")]


def test_no_url_schemes_means_no_files() -> None:
    body = chat(user({"type": "file", "mediaType": "image/png", "url": PNG}))
    with pytest.raises(ChatRequestError) as info:
        parse(body, url_schemes=())
    assert info.value.errors == [
        FieldError(
            "messages[0].parts[0].url",
            "files are not accepted (no URL scheme is allowed)",
            "url_scheme",
        )
    ]
    assert parse(chat(user(text(ASK))), url_schemes=()).messages[0].parts[0] == TextUIPart(
        text="What's the weather in Berlin?"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("data:image/png;base64", "is not a valid data: URL (no ',' before the data)"),
        ("DATA:text/plain", "is not a valid data: URL (no ',' before the data)"),
        ("https:///no-host.png", "is not a valid https: URL (no host)"),
        ("https:cat.png", "is not a valid https: URL (no host)"),
        ("http:///a.png", "is not a valid http: URL (no host)"),
    ],
)
def test_file_urls_no_reader_can_use_are_refused_whatever_the_schemes(
    url: str, message: str
) -> None:
    """The history converters hand a file URL to their framework as it is: a URL of an
    allowed scheme must also be usable, so the parser is the one to refuse it."""
    body = chat(user(text(ASK), {"type": "file", "mediaType": "image/png", "url": url}))
    with pytest.raises(ChatRequestError) as info:
        parse(body, url_schemes=("data", "https", "http"))
    assert info.value.errors == [FieldError("messages[0].parts[1].url", message, "url_form")]
    with pytest.raises(ValidationError, match=re.escape(message)):
        as_ui_message(body["messages"][0])  # a plain validation, without the parser's schemes


def test_reasoning_and_steering_files_are_checked_too() -> None:
    reasoning_file = {"type": "reasoning-file", "mediaType": "image/png", "url": "file:///x.png"}
    steering = {
        "type": "steering-message",
        "id": "s",
        "parts": [text("look"), {"type": "file", "mediaType": "image/png", "url": "javascript:x"}],
    }
    assert errors_of(with_assistant_part(reasoning_file)) == [(f"{P}.url", "url_scheme")]
    assert errors_of(with_assistant_part(steering)) == [(f"{P}.parts[1].url", "url_scheme")]


def test_source_links_are_not_fetched_so_not_checked() -> None:
    part = {"type": "source-url", "sourceId": "s", "url": "http://example.com/page"}
    assert parse(with_assistant_part(part)).messages[1].to_json()["parts"][1] == part


def test_model_validate_alone_applies_no_scheme_policy() -> None:
    message = UIMessage.model_validate(
        user({"type": "file", "mediaType": "text/plain", "url": "file:///x"})
    )
    assert message.parts == [FileUIPart(media_type="text/plain", url="file:///x")]


@pytest.mark.parametrize(
    ("url_schemes", "error", "words"),
    [
        ("https", TypeError, "collection of scheme names"),
        (b"https", TypeError, "collection of scheme names"),
        (42, TypeError, "not int"),
        ([b"https"], TypeError, "must hold strings"),
        (["https:"], ValueError, "'https:' is not a URL scheme name"),
        ([""], ValueError, "'' is not a URL scheme name"),
        (["1http"], ValueError, "'1http' is not a URL scheme name"),
    ],
)
def test_url_schemes_argument_is_checked(
    url_schemes: Any, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        parse(chat(user(text(ASK))), url_schemes=url_schemes)


def test_data_argument_is_checked() -> None:
    with pytest.raises(TypeError, match="data must be bytes, str or a mapping, not int"):
        parse_chat_request(42)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


# --- prototype keys, depth, bad JSON ----------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (
            b'{"id":"c","trigger":"submit-message","messages":[{"id":"u","role":"user","parts":'
            b'[{"type":"data-x","data":{"a":[{"b":{"__proto__":{"isAdmin":true}}}]}}]}]}',
            "messages[0].parts[0].data.a[0].b.__proto__",
        ),
        (  # the same key, written with a JSON escape
            b'{"id":"c","trigger":"submit-message","messages":[{"id":"u","role":"user","parts":'
            b'[{"type":"text","text":"x","\\u005f_proto__":{}}]}]}',
            "messages[0].parts[0].__proto__",
        ),
        (
            b'{"__proto__":{},"id":"c","trigger":"submit-message","messages":[]}',
            "__proto__",
        ),
        (
            b'{"id":"c","trigger":"submit-message","messages":[{"id":"a","role":"assistant","parts":'
            b'[{"type":"tool-x","toolCallId":"t","state":"input-available",'
            b'"input":{"q":[1,{"constructor":{"prototype":{"x":1}}}]}}]}]}',
            "messages[0].parts[0].input.q[1].constructor.prototype",
        ),
    ],
)
def test_prototype_polluting_keys_are_refused_anywhere(raw: bytes, field: str) -> None:
    assert errors_of(raw) == [(field, "proto_key")]


def test_a_constructor_key_alone_is_fine() -> None:
    body = with_assistant_part(
        {"type": "data-code", "data": {"constructor": "Foo", "prototype": 1}}
    )
    assert parse(body).messages[1].to_json() == body["messages"][1]


def test_nesting_over_128_levels_is_refused_before_it_breaks_anything() -> None:
    def nested(depth: int) -> Any:
        value: Any = "leaf"
        for _ in range(depth):
            value = [value]
        return value

    # body (level 0) > messages > messages[1] > parts > parts[1] > data: data is level 5
    ok = with_assistant_part({"type": "data-deep", "data": nested(120)})
    assert parse(ok).messages[1].to_json() == ok["messages"][1]
    errors = errors_of(with_assistant_part({"type": "data-deep", "data": nested(200)}))
    assert errors == [(f"{P}.data" + "[0]" * (128 - 5), "json_too_deep")]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"{'id': 'c'}",
        b'{"id":"c",}',
        b"\xff\xfe{}",
        b'{"a": NaN}',
        b"[" * 2000 + b"]" * 2000,
    ],
)
def test_invalid_json_is_a_body_error(raw: bytes) -> None:
    with pytest.raises(ChatRequestError) as info:
        parse(raw)
    [error] = info.value.errors
    assert (error.field, error.type) == ("body", "json_invalid")
    assert error.message.startswith("the body is not valid JSON (")


def test_an_escaped_lone_surrogate_is_accepted_like_json_parse() -> None:
    # A text cut inside an emoji: JSON.stringify writes "\ud83d"; JSON.parse takes it back.
    raw = (
        b'{"id":"c","trigger":"submit-message","messages":[{"id":"u","role":"user",'
        b'"parts":[{"type":"text","text":"cut \\ud83d"}]}]}'
    )
    part = parse(raw).messages[0].parts[0]
    assert isinstance(part, TextUIPart)
    assert part.text == "cut \ud83d"


# --- the error object -------------------------------------------------------------------


def test_error_reads_well_and_serializes_as_a_422_body() -> None:
    with pytest.raises(ChatRequestError) as info:
        parse({"id": "", "messages": [], "trigger": "retry"})
    error = info.value

    assert isinstance(error, UIWireError)
    assert error.status_code == 422
    assert str(error) == "id: String should have at least 1 character (and 2 more)"
    assert error.to_json() == {
        "error": {
            "message": "id: String should have at least 1 character (and 2 more)",
            "fields": [
                {
                    "field": "id",
                    "message": "String should have at least 1 character",
                    "type": "string_too_short",
                },
                {
                    "field": "messages",
                    "message": "List should have at least 1 item after validation, not 0",
                    "type": "too_short",
                },
                {
                    "field": "trigger",
                    "message": "Input should be 'submit-message' or 'regenerate-message'",
                    "type": "literal_error",
                },
            ],
        }
    }


def test_a_single_error_has_no_tail_and_custom_status_is_kept() -> None:
    error = ChatRequestError([FieldError("body", "too big", "body_too_large")], status_code=413)
    assert (str(error), error.status_code) == ("body: too big", 413)
    assert str(ChatRequestError([])) == "invalid chat request"


def test_errors_never_echo_the_input() -> None:
    huge = "x" * 100_000
    with pytest.raises(ChatRequestError) as info:
        parse(chat(user({"type": "text", "text": {"big": huge}})))
    encoded = orjson.dumps(info.value.to_json())

    assert info.value.errors == [
        FieldError("messages[0].parts[0].text", "Input should be a valid string", "string_type")
    ]
    assert b"xxxxxxxx" not in encoded
    assert len(encoded) < 300


def test_at_most_50_errors_are_reported() -> None:
    bad_reference = {f"k{i}": i for i in range(5_000)}
    part = {"type": "file", "mediaType": "a/b", "url": PNG, "providerReference": bad_reference}
    with pytest.raises(ChatRequestError) as info:
        parse(chat(user(part)))

    assert len(info.value.errors) == 50
    assert info.value.errors[0] == FieldError(
        "messages[0].parts[0].providerReference.k0", "Input should be a valid string", "string_type"
    )
    assert str(info.value).endswith("(and 49 more)")


# --- round trip -------------------------------------------------------------------------


def full_conversation() -> dict[str, Any]:
    """Every part type, every tool state, nulls, metadata and unknown keys everywhere."""
    return {
        "id": "chat_42",
        "trigger": "submit-message",
        "messageId": "a1",
        "model": "gpt-5",
        "messages": [
            {"id": "sys", "role": "system", "parts": [text("Be brief.")]},
            {
                "id": "u1",
                "role": "user",
                "metadata": {"createdAt": 1767225600000, "tags": ["a", None, 1.5]},
                "x-client": {"draft": True},
                "parts": [
                    {
                        "type": "file",
                        "mediaType": "image/png",
                        "filename": "cat.png",
                        "url": PNG,
                        "x-size": 68,
                    },
                    {"type": "text", "text": 'Hi! 🌍 <b>&</b>\n\t"quoted"', "state": "done"},
                ],
            },
            {
                "id": "a1",
                "role": "assistant",
                "metadata": None,
                "parts": [
                    {"type": "step-start"},
                    {
                        "type": "reasoning",
                        "text": "",
                        "state": "done",
                        "providerMetadata": {"anthropic": {"signature": "sig"}},
                    },
                    tool("input-streaming", name="search"),
                    tool("input-available", name="search", input=None, providerExecuted=False),
                    tool(
                        "approval-requested",
                        name="deleteFile",
                        input={"path": "/tmp/a"},
                        approval={"id": "ap1", "x-ui": 1},
                    ),
                    tool(
                        "approval-responded",
                        name="deleteFile",
                        input={"path": "/tmp/b"},
                        approval={"id": "ap2", "approved": True},
                    ),
                    tool(
                        "output-available",
                        name="lookup",
                        input={},
                        output=None,
                        preliminary=False,
                        title="Lookup",
                    ),
                    tool(
                        "output-error",
                        name="lookup",
                        input={"id": -1},
                        errorText="Error: not found",
                        rawInput='{"id":-1}',
                    ),
                    tool(
                        "output-denied",
                        name="deleteFile",
                        input={"path": "/"},
                        approval={"id": "ap3", "approved": False},
                    ),
                    dynamic_tool(
                        "output-available",
                        input={"q": "x"},
                        output=[1, 2.5, "three", None, {"four": False}],
                    ),
                    {"type": "data-weather", "id": "w1", "data": {"city": "Berlin", "temp": 21.5}},
                    {"type": "data-status", "data": None},
                    {
                        "type": "source-url",
                        "sourceId": "s1",
                        "url": "https://example.com",
                        "providerMetadata": {},
                    },
                    {
                        "type": "source-document",
                        "sourceId": "s2",
                        "mediaType": "application/pdf",
                        "title": "Doc",
                        "filename": "d.pdf",
                    },
                    {
                        "type": "custom",
                        "kind": "openai.compaction",
                        "providerMetadata": {"openai": {"x": [1]}},
                    },
                    {"type": "reasoning-file", "mediaType": "image/png", "url": PNG},
                    {
                        "type": "text",
                        "text": "Sunny.",
                        "citations": [
                            {
                                "source": {
                                    "type": "source",
                                    "sourceType": "document",
                                    "id": "s2",
                                    "mediaType": "application/pdf",
                                    "title": "Doc",
                                },
                                "startIndex": 0,
                                "citedText": "Sunny",
                                "x-score": 0.9,
                            }
                        ],
                        "x-render": "markdown",
                    },
                    {
                        "type": "steering-message",
                        "id": "st1",
                        "parts": [
                            text("faster"),
                            {
                                "type": "file",
                                "mediaType": "text/plain",
                                "url": "data:,hi",
                                "providerReference": {"openai": "f1"},
                            },
                        ],
                    },
                ],
            },
            {"id": "u2", "role": "user", "parts": [text("Thanks")]},
        ],
    }


def test_to_json_gives_back_exactly_what_the_client_sent() -> None:
    body = full_conversation()
    sent = copy.deepcopy(body)
    request = parse(body)

    saved = [m.to_json() for m in request.messages]

    assert saved == sent["messages"]
    assert orjson.dumps(saved, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
        sent["messages"], option=orjson.OPT_SORT_KEYS
    )
    assert request.body == {"model": "gpt-5"}
    # null and absent stay apart
    output_part = saved[2]["parts"][6]
    assert ("output" in output_part, output_part["output"]) == (True, None)
    assert "input" not in saved[2]["parts"][2]
    assert saved[2]["metadata"] is None
    assert "metadata" not in saved[3]
    # and a saved conversation parses again to the same thing
    again = parse({**sent, "messages": saved})
    assert [m.to_json() for m in again.messages] == sent["messages"]


def test_messages_built_in_python_serialize_in_wire_form() -> None:
    message = UIMessage(
        id="a9",
        role="assistant",
        parts=[
            StepStartUIPart(),
            TextUIPart(text="Checking."),
            ToolUIPart(
                type="tool-getWeather",
                tool_call_id="c1",
                state="output-available",
                input={},
                output=None,
            ),
            DataUIPart(type="data-card", data={"a": 1}),
        ],
    )
    assert message.to_json() == {
        "id": "a9",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {"type": "text", "text": "Checking."},
            {
                "type": "tool-getWeather",
                "toolCallId": "c1",
                "state": "output-available",
                "input": {},
                "output": None,
            },
            {"type": "data-card", "data": {"a": 1}},
        ],
    }


def test_a_snake_case_key_from_the_wire_is_an_unknown_key_not_the_field() -> None:
    part = tool("input-available", input={}, tool_call_id="other")
    parsed = parse(with_assistant_part(part)).messages[1].parts[1]
    assert isinstance(parsed, ToolUIPart)
    assert parsed.tool_call_id == "call_1"
    assert parse(with_assistant_part(part)).messages[1].to_json()["parts"][1] == part


# --- properties ---------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
safe_keys = st.text(max_size=10).filter(lambda k: k not in ("__proto__", "constructor"))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(safe_keys, inner, max_size=4),
    max_leaves=12,
)
unknown_keys = st.dictionaries(
    st.text(min_size=1, max_size=8).map(lambda k: f"x-{k}"), json_values, max_size=2
)
ids = st.text(min_size=1, max_size=12)


@st.composite
def tool_parts(draw: st.DrawFn) -> dict[str, Any]:
    state = draw(st.sampled_from(list(TOOL_STATES)))
    rules = {
        "input-streaming": {"input": False},
        "input-available": {"input": True},
        "approval-requested": {"input": True},
        "approval-responded": {"input": True},
        "output-available": {"input": True, "output": True},
        "output-error": {"input": False},
        "output-denied": {"input": True},
    }[state]
    part: dict[str, Any] = {"toolCallId": draw(ids), "state": state}
    if draw(st.booleans()):
        # a tool's name is anything but a line break first ("tool-\n" is no tool part)
        name = draw(st.text(min_size=1, max_size=10).filter(lambda n: n[0] != "\n"))
        part["type"] = "tool-" + name
    else:
        part |= {"type": "dynamic-tool", "toolName": draw(st.text(min_size=1, max_size=10))}
    for field, required in rules.items():
        if required or draw(st.booleans()):
            part[field] = draw(json_values)
    if state == "output-error":
        part["errorText"] = draw(st.text(max_size=20))
    if state == "approval-requested":
        part["approval"] = {"id": draw(ids)}
    elif state in ("approval-responded", "output-denied"):
        approved = draw(st.booleans()) if state == "approval-responded" else False
        part["approval"] = {
            "id": draw(ids),
            "approved": approved,
            "reason": draw(st.text(max_size=10)),
        }
    return part | draw(unknown_keys)


@st.composite
def simple_parts(draw: st.DrawFn) -> dict[str, Any]:
    part = draw(
        st.sampled_from(
            [
                {"type": "text", "text": ""},
                {"type": "reasoning", "text": "", "state": "streaming"},
                {"type": "step-start"},
                {"type": "file", "mediaType": "text/plain", "url": "data:,x"},
                {"type": "source-url", "sourceId": "s", "url": "u"},
            ]
        )
    )
    part = dict(part)
    if "text" in part:
        part["text"] = draw(st.text(max_size=30))
    return part | draw(unknown_keys)


@st.composite
def data_parts(draw: st.DrawFn) -> dict[str, Any]:
    part = {"type": "data-" + draw(st.text(max_size=10)), "data": draw(json_values)}
    return part | draw(unknown_keys)


parts = tool_parts() | simple_parts() | data_parts()


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    role = draw(st.sampled_from(["system", "user", "assistant"]))
    message: dict[str, Any] = {
        "id": draw(ids),
        "role": role,
        "parts": draw(st.lists(parts, min_size=0 if role == "assistant" else 1, max_size=5)),
    }
    if draw(st.booleans()):
        message["metadata"] = draw(json_values)
    return message | draw(unknown_keys)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(messages(), min_size=1, max_size=3),
    st.dictionaries(st.text(max_size=8).map(lambda k: f"x-{k}"), json_values, max_size=2),
)
def test_generated_valid_messages_round_trip(
    sent: list[dict[str, Any]], extra: dict[str, Any]
) -> None:
    body = {"id": "chat", "trigger": "submit-message", "messages": sent} | extra
    request = parse(orjson.dumps(body))
    assert [m.to_json() for m in request.messages] == sent
    assert request.body == extra


def outcome(raw: bytes) -> ChatRequest | ChatRequestError:
    """The parsed request or the ``ChatRequestError``; any other exception fails the test."""
    try:
        return parse_chat_request(raw)
    except ChatRequestError as exc:
        return exc


def _paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every location in a JSON value, root first."""
    found = [path]
    if isinstance(value, dict):
        for key, item in cast("dict[str, Any]", value).items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(cast("list[Any]", value)):
            found += _paths(item, (*path, index))
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_mutation_of_a_valid_body_is_accepted_or_a_chat_request_error(
    data: st.DataObject,
) -> None:
    body = full_conversation()
    path = data.draw(st.sampled_from(_paths(body)[1:]))
    replacement = data.draw(
        json_values
        | st.sampled_from(["tool-x", "data-x", "dynamic-tool", "input-available", "file:///x"])
    )
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = replacement

    result = outcome(orjson.dumps(body))

    if isinstance(result, ChatRequest):
        assert [m.to_json() for m in result.messages] == body["messages"]
    else:
        assert result.errors
        assert all(e.field and e.message and e.type for e in result.errors)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        json_values,
        st.dictionaries(
            st.sampled_from(["id", "messages", "trigger", "messageId", "x"]), json_values
        ),
    )
)
def test_arbitrary_json_is_accepted_or_a_chat_request_error(value: Any) -> None:
    result = outcome(orjson.dumps(value))
    assert isinstance(result, ChatRequest) or result.errors


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_a_chat_request_error(raw: bytes) -> None:
    result = outcome(raw)
    assert isinstance(result, ChatRequest) or result.to_json()["error"]["fields"]


# --- steering messages ------------------------------------------------------------------


def test_a_steering_message_is_read_as_a_user_messages_parts() -> None:
    steering = parse_steering_message(
        b'{"id": "steer_9", "parts": [{"type": "text", "text": "Texas", "state": "done"},'
        b' {"type": "file", "mediaType": "image/png", "url": "data:image/png;base64,AA==",'
        b' "filename": "m.png", "providerReference": {"openai": "file_1"}}]}'
    )
    assert steering.model_dump(mode="json", by_alias=True, exclude_unset=True) == {
        "type": "steering-message",
        "id": "steer_9",
        "parts": [
            {"type": "text", "text": "Texas"},  # a field steering parts lack is dropped
            {
                "type": "file",
                "mediaType": "image/png",
                "url": "data:image/png;base64,AA==",
                "filename": "m.png",
                "providerReference": {"openai": "file_1"},
            },
        ],
    }
    fresh = parse_steering_message({"parts": [{"type": "text", "text": "x"}]})
    assert fresh.id.startswith("steer_")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b"{}", "parts", "Field required"),
        (b'{"parts": []}', "parts", "at least 1 item"),
        (b'{"parts": [{"type": "reasoning", "text": "x"}]}', "parts[0].type", "accepted: text, file"),
        (b'{"parts": [{"type": "text"}]}', "parts[0].text", "Field required"),
        (b'{"id": "", "parts": [{"type": "text", "text": "x"}]}', "id", "at least 1 character"),
        (b'{"parts": [{"type": "file", "mediaType": "a/b", "url": "ftp://h/f"}]}', "parts[0].url", "'ftp' is not allowed"),
        (b'{"parts": [{"type": "text", "text": "x"}], "__proto__": {}}', "__proto__", "pollutes"),
        (b"[1]", "body", "object"),
        (b"{", "body", "not valid JSON"),
    ],
)  # fmt: skip
def test_a_bad_steering_message_names_the_field(body: bytes, field: str, message: str) -> None:
    with pytest.raises(ChatRequestError) as info:
        parse_steering_message(body)
    assert info.value.errors[0].field == field
    assert message in info.value.errors[0].message


def test_steering_file_urls_follow_the_endpoints_schemes() -> None:
    body = {"parts": [{"type": "file", "mediaType": "a/b", "url": "s3://bucket/f"}]}
    assert parse_steering_message(body, url_schemes=("s3",)).parts[0].url == "s3://bucket/f"  # type: ignore[union-attr]
    with pytest.raises(ChatRequestError, match="files are not accepted"):
        parse_steering_message(body, url_schemes=())
