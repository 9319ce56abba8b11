"""Parse once: what the request parser accepts, every later reader takes.

``uiwire.adapters._ui_messages`` is where the history converters read the messages;
the property at the end covers every reader of a ``UIMessage`` (the lifecycle machine,
the assembler, the collector, the replay, both converters, the approval reading) for
every configuration of ``url_schemes``, over generated conversations.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from typing import Any, get_args

import dspy
import orjson
import pydantic
import pytest
from agents import Agent
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from uiwire.adapters import _ui_messages as ui
from uiwire.adapters.agents import AgentsAdapter, ApprovalError, approval_responses
from uiwire.adapters.agents.approvals import client_tool_results
from uiwire.adapters.agents.history import to_agent_input
from uiwire.adapters.dspy.history import to_dspy_inputs
from uiwire.protocol import (
    ChatRequestError,
    StreamMachine,
    ToolState,
    UIMessage,
    UIMessageAssembler,
    UnreplayableMessage,
    parse_chat_request,
)
from uiwire.protocol.replay import message_chunks
from uiwire.protocol.targets import TARGETS
from uiwire.stream.record import Collector


def test_imports_without_any_framework() -> None:
    """Both adapters use it, so it must not pull in either framework."""
    code = (
        "import sys\n"
        "for name in ('agents', 'openai', 'dspy', 'litellm'):\n"
        "    sys.modules[name] = None  # importing it now raises ImportError\n"
        "import uiwire.adapters._ui_messages\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


class _Part(pydantic.BaseModel):
    type: str
    text: str | None = None
    tool_call_id: str | None = pydantic.Field(default=None, alias="toolCallId")
    state: str | None = None
    input: Any = None


class _Message(pydantic.BaseModel):
    id: str
    role: str
    parts: list[_Part]


_WIRE: list[dict[str, Any]] = [
    {"id": "s1", "role": "system", "parts": [{"type": "text", "text": "Be brief."}]},
    {
        "id": "a1",
        "role": "assistant",
        "parts": [{"type": "tool-x", "toolCallId": "c1", "state": "input-available", "input": 1}],
    },
]


def test_reads_json_typed_and_pydantic_messages_as_ui_messages() -> None:
    typed = [UIMessage.model_validate(message) for message in _WIRE]
    assert ui.read_messages(_WIRE) == typed
    assert ui.read_messages(typed) == typed
    models = [_Message.model_validate(message) for message in _WIRE]
    assert ui.read_messages(models) == typed  # dumped by alias, unset fields left out


@pytest.mark.parametrize(
    ("messages", "error", "match"),
    [
        ({"role": "user"}, TypeError, r"^messages must be a list of UI messages; got dict"),
        ("hi", TypeError, r"^messages must be a list of UI messages; got str"),
        ([None], ValidationError, r"Input should be a valid dictionary"),
        ([{"id": "u", "role": "user", "parts": [{"type": "text"}]}], ValidationError, r"text"),
        (
            [{"id": "u", "role": "user", "parts": [{"type": "text", "text": None}]}],
            ValidationError,
            r"parts\.0\.text\.text\n  Input should be a valid string",
        ),
    ],
)
def test_a_malformed_conversation_is_refused_before_anything_is_read(
    messages: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        ui.read_messages(messages)


def test_joined_text_leaves_out_empty_parts_and_what_is_not_text() -> None:
    (message,) = ui.read_messages(
        [
            {
                "id": "u",
                "role": "user",
                "parts": [
                    {"type": "text", "text": "a"},
                    {"type": "file", "mediaType": "text/plain", "url": "data:,x"},
                    {"type": "text", "text": ""},
                    {"type": "text", "text": "b"},
                ],
            }
        ]
    )
    assert ui.joined_text(message.parts) == "a\n\nb"


@pytest.mark.parametrize(
    ("url", "is_data"),
    [
        ("data:image/png;base64,AAAA", True),
        ("DATA:text/plain,", True),
        ("https://x/a", False),
        ("http://x/a", False),
        ("ftp://x/a", False),
    ],
)
def test_data_urls_are_told_apart_whatever_their_case(url: str, is_data: bool) -> None:
    assert ui.is_data_url(url) is is_data


# --- the property: every reader takes what the parser takes ----------------------------

_SCHEMES = ("data", "https", "http", "ftp")
_URLS = {
    "data": ["data:image/png;base64,iVBORw0KGgo=", "DATA:text/plain,hi", "data:,x"],
    "https": ["https://cdn.example/a.png", "HTTPS://CDN.EXAMPLE/b.pdf"],
    "http": ["http://intranet/cat.png"],
    "ftp": ["ftp://files.example/a.png"],
    # never accepted: a scheme nobody allows, or a URL no reader can use
    "refused": ["file:///etc/passwd", "data:image/png;base64", "https:///no-host.png", "cat.png"],
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
ids = st.sampled_from(["c1", "c2", "c3"])  # few ids: duplicates across parts happen
texts = st.text(max_size=12)


@st.composite
def urls(draw: st.DrawFn, schemes: frozenset[str]) -> str:
    """Mostly a URL of an allowed scheme; now and then one the parser refuses."""
    allowed = [url for scheme in sorted(schemes) for url in _URLS[scheme]]
    if allowed and draw(st.integers(0, 9)) > 0:
        return draw(st.sampled_from(allowed))
    other = [url for scheme in _SCHEMES if scheme not in schemes for url in _URLS[scheme]]
    return draw(st.sampled_from(other + _URLS["refused"]))


_TOOL_STATES = get_args(ToolState)


def _maybe(draw: st.DrawFn, part: dict[str, Any], key: str, values: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        part[key] = draw(values)


@st.composite
def tool_parts(draw: st.DrawFn) -> dict[str, Any]:
    """A tool part in any state, with the fields that state takes (static or dynamic)."""
    state = draw(st.sampled_from(_TOOL_STATES))
    part: dict[str, Any] = {"toolCallId": draw(ids), "state": state}
    if draw(st.booleans()):
        part["type"] = "tool-" + draw(st.sampled_from(["weather", "search", "get-location"]))
    else:
        part |= {"type": "dynamic-tool", "toolName": draw(st.sampled_from(["mcp", "lookup"]))}
    if state in ("input-streaming", "output-error"):
        _maybe(draw, part, "input", json_values)
    else:
        part["input"] = draw(json_values)
    raw = texts if state == "input-streaming" else json_values
    _maybe(draw, part, "rawInput", raw)
    if state == "output-available":
        part["output"] = draw(json_values)
        _maybe(draw, part, "preliminary", st.booleans())
    if state == "output-error":
        part["errorText"] = draw(texts)
    answers = {
        "approval-requested": st.none(),
        "approval-responded": st.booleans(),
        "output-available": st.just(True),
        "output-error": st.just(True),
        "output-denied": st.just(False),
    }
    needs_approval = state in ("approval-requested", "approval-responded", "output-denied")
    if state in answers and (needs_approval or draw(st.booleans())):
        approval: dict[str, Any] = {"id": draw(st.sampled_from(["a1", "a2"]))}
        approved = draw(answers[state])
        if approved is not None:
            approval["approved"] = approved
            _maybe(draw, approval, "reason", texts)
        _maybe(draw, approval, "isAutomatic", st.booleans())  # v7
        part["approval"] = approval
    _maybe(draw, part, "providerExecuted", st.booleans())
    _maybe(draw, part, "title", texts)
    return part


@st.composite
def file_parts(draw: st.DrawFn, schemes: frozenset[str]) -> dict[str, Any]:
    media_type = draw(st.sampled_from(["image/png", "image/png", "application/pdf", "text/plain"]))
    part = {"type": "file", "mediaType": media_type, "url": draw(urls(schemes))}
    _maybe(draw, part, "filename", st.sampled_from(["a.png", ""]))
    return part


@st.composite
def other_parts(draw: st.DrawFn, schemes: frozenset[str]) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            [
                *("text", "reasoning", "step-start", "source-url", "source-document", "data"),
                *("custom", "reasoning-file", "steering-message"),  # v7
            ]
        )
    )
    if kind in ("text", "reasoning"):
        part: dict[str, Any] = {"type": kind, "text": draw(texts)}
        _maybe(draw, part, "state", st.sampled_from(["streaming", "done"]))
        if kind == "reasoning":
            _maybe(draw, part, "id", st.sampled_from(["r1", "r2"]))
        return part
    if kind == "data":
        part = {
            "type": "data-" + draw(st.sampled_from(["weather", "status"])),
            "data": draw(json_values),
        }
        _maybe(draw, part, "id", st.sampled_from(["d1", "d2"]))
        return part
    return {
        "step-start": {"type": "step-start"},
        "source-url": {"type": "source-url", "sourceId": "s1", "url": "https://w.org"},
        "source-document": {
            "type": "source-document",
            "sourceId": "s2",
            "mediaType": "text/plain",
            "title": "Doc",
        },
        "custom": {"type": "custom", "kind": "acme.card"},
        "reasoning-file": {
            "type": "reasoning-file",
            "mediaType": "image/png",
            "url": draw(urls(schemes)),
        },
        "steering-message": {
            "type": "steering-message",
            "id": "st1",
            "parts": [
                {"type": "text", "text": "and this"},
                {"type": "file", "mediaType": "image/png", "url": draw(urls(schemes))},
            ],
        },
    }[kind]


@st.composite
def messages(draw: st.DrawFn, index: int, schemes: frozenset[str]) -> dict[str, Any]:
    role = draw(st.sampled_from(["assistant", "assistant", "user", "system"]))
    any_part = tool_parts() | other_parts(schemes) | file_parts(schemes)
    if role == "assistant":
        parts = st.lists(tool_parts() | any_part, max_size=6)
    else:
        parts = st.lists(any_part, min_size=1, max_size=4)
    message: dict[str, Any] = {"id": f"m{index}", "role": role, "parts": draw(parts)}
    _maybe(draw, message, "metadata", st.dictionaries(st.text(max_size=4), json_values, max_size=2))
    return message


@st.composite
def conversations(draw: st.DrawFn) -> tuple[list[dict[str, Any]], frozenset[str]]:
    """A conversation and the URL schemes an endpoint allows (any subset of four)."""
    schemes = frozenset(draw(st.sets(st.sampled_from(_SCHEMES))))
    count = draw(st.integers(1, 3))
    return [draw(messages(index, schemes)) for index in range(count)], schemes


def _refuses_only_urls(error: ChatRequestError) -> bool:
    """The generated messages are valid but for their URLs, which the schemes decide."""
    return all(
        e.field.endswith(".url") and e.type in ("url_scheme", "url_form") for e in error.errors
    )


def _read_approvals(adapter: AgentsAdapter, message: UIMessage) -> None:
    """``take_approvals`` reads the message and finds no paused run: an ``ApprovalError``
    about the run (404, or 422 with nothing to resume from), never about the message."""
    approval_responses(message)
    client_tool_results(message)
    with pytest.raises(ApprovalError) as info:
        asyncio.run(adapter.take_approvals(message))
    error = info.value
    assert (error.status_code, error.field) in ((404, "id"), (422, "parts")) or (
        error.status_code == 404 and (error.field or "").endswith(".approval.id")
    ), (error.status_code, error.field, str(error))


_ADAPTER = AgentsAdapter(Agent(name="reader"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations())
def test_every_reader_accepts_what_the_parser_accepts(
    case: tuple[list[dict[str, Any]], frozenset[str]],
) -> None:
    sent, schemes = case
    body = {"id": "chat", "trigger": "submit-message", "messages": sent}
    try:
        request = parse_chat_request(orjson.dumps(body), url_schemes=schemes)
    except ChatRequestError as exc:
        refused = exc
    else:
        assistants = sum(message.role == "assistant" for message in request.messages)
        event(f"accepted, {min(assistants, 2)} assistant message(s)")
        _every_reader_accepts(request.messages)
        return
    event("refused: a URL")
    assert _refuses_only_urls(refused), refused.errors


def _every_reader_accepts(typed: list[UIMessage]) -> None:
    as_json = [message.to_json() for message in typed]

    # the history converters, typed or as JSON alike; DSPy's question is the last message
    assert to_agent_input(typed, system=True) == to_agent_input(as_json, system=True)
    question = {"id": "q", "role": "user", "parts": [{"type": "text", "text": "And?"}]}
    asked = typed if typed[-1].role == "user" else [*typed, UIMessage.model_validate(question)]
    inputs = to_dspy_inputs(asked, files="pictures")
    assert all(isinstance(image, dspy.Image) for image in inputs["pictures"])

    for message, wire in zip(typed, as_json, strict=True):
        if message.role != "assistant":
            continue
        # a continued assistant message: the machine, the assembler, the collector
        for target in TARGETS:
            machine = StreamMachine(continued_message=message, target=target)
            assert machine.message_id == message.id
            StreamMachine(continued_message=wire, target=target)
            assembler = UIMessageAssembler(message=message, target=target)
            assert assembler.message == wire
            Collector(target=target, message_id=message.id, continued_message=message)
            # the replay rebuilds it, or says why the target cannot: one typed error
            with contextlib.suppress(UnreplayableMessage):
                message_chunks(message, target=target)
        _read_approvals(_ADAPTER, message)
