"""Unit tests for ``uiwire.protocol.machine.StreamMachine``: one test per rule.

Every test asserts the exact chunk lists an intent returns. Streams that should be valid
are also fed through ``validate_stream`` (the Python port of the AI SDK client).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from uiwire.protocol import (
    MAX_EVENT_CHARS,
    ChatRequestError,
    EventTooLarge,
    ProtocolError,
    TargetError,
    UIMessage,
    parse_chat_request,
)
from uiwire.protocol.chunks import (
    Citation,
    CitationUrlSource,
    SteeringTextPart,
    TextDeltaChunk,
    TextStartChunk,
)
from uiwire.protocol.encode import DONE_FRAME, encode_chunks
from uiwire.protocol.machine import Chunk, StreamMachine
from uiwire.protocol.validate import StreamReport, validate_stream

MID = "m1"
START: Chunk = {"type": "start", "messageId": MID}
STEP: Chunk = {"type": "start-step"}
END_STEP: Chunk = {"type": "finish-step"}
FINISH: Chunk = {"type": "finish"}
PM = {"openai": {"itemId": "it_1", "nested": [1, {"x": None}]}}
UNFINISHED = "The tool call's input was not completed."


def valid(
    chunks: list[Chunk], target: str = "v6", message: dict[str, Any] | None = None
) -> StreamReport:
    """Assert that the client (Python port) accepts the stream; return what it assembled."""
    body = encode_chunks(chunks) + DONE_FRAME
    return validate_stream(body, target=target, message=message)  # type: ignore[arg-type]


class Recorder:
    """Proxy to a ``StreamMachine`` that records every chunk the intents return."""

    def __init__(self, target: str = "v6", **kwargs: Any) -> None:
        kwargs.setdefault("message_id", None if "continued_message" in kwargs else MID)
        self.machine = StreamMachine(target=target, **kwargs)  # type: ignore[arg-type]
        self.chunks: list[Chunk] = []

    def __getattr__(self, name: str) -> Callable[..., list[Chunk]]:
        method = getattr(self.machine, name)

        def call(*args: Any, **kwargs: Any) -> list[Chunk]:
            out: list[Chunk] = method(*args, **kwargs)
            self.chunks.extend(out)
            return out

        return call

    def valid(self, message: dict[str, Any] | None = None) -> StreamReport:
        return valid(self.chunks, self.machine.target, message)


def snapshot(m: StreamMachine, *tool_ids: str, keys: tuple[Any, ...] = (None,)) -> tuple[Any, ...]:
    """Everything observable about a machine's state."""
    return (
        m.started,
        m.in_step,
        m.ended,
        tuple(m.open_text_id(k) for k in keys),
        tuple(m.open_reasoning_id(k) for k in keys),
        tuple(m.tool_call_state(t) for t in tool_ids),
    )


def refused(
    m: StreamMachine,
    call: Callable[[], object],
    match: str,
    *tool_ids: str,
    error: type[Exception] = ProtocolError,
) -> pytest.ExceptionInfo[Exception]:
    """Assert ``call`` raises ``error`` matching ``match`` and leaves ``m`` unchanged."""
    before = snapshot(m, *tool_ids, keys=(None, "k"))
    with pytest.raises(error, match=match) as info:
        call()
    assert snapshot(m, *tool_ids, keys=(None, "k")) == before
    return info


def tis(call_id: str = "c1", name: str = "search", **extra: Any) -> Chunk:
    return {"type": "tool-input-start", "toolCallId": call_id, "toolName": name, **extra}


def tia(call_id: str = "c1", name: str = "search", input: Any = None, **extra: Any) -> Chunk:
    return {
        "type": "tool-input-available",
        "toolCallId": call_id,
        "toolName": name,
        "input": {} if input is None else input,
        **extra,
    }


def toa(call_id: str = "c1", output: Any = None, **extra: Any) -> Chunk:
    return {"type": "tool-output-available", "toolCallId": call_id, "output": output, **extra}


def ts(id: str) -> Chunk:
    return {"type": "text-start", "id": id}


def td(id: str, delta: str) -> Chunk:
    return {"type": "text-delta", "id": id, "delta": delta}


def te(id: str) -> Chunk:
    return {"type": "text-end", "id": id}


def rs(id: str) -> Chunk:
    return {"type": "reasoning-start", "id": id}


def rd(id: str, delta: str) -> Chunk:
    return {"type": "reasoning-delta", "id": id, "delta": delta}


def re_(id: str) -> Chunk:
    return {"type": "reasoning-end", "id": id}


class Weather(BaseModel):
    city: str
    temp_c: float


# =====================================================================================
# 1. Lifecycle
# =====================================================================================


def test_first_intent_sends_start_with_message_id_once() -> None:
    r = Recorder()
    assert r.text_delta("Hello") == [START, STEP, ts("t1"), td("t1", "Hello")]
    assert r.text_delta(" world") == [td("t1", " world")]
    assert r.message_metadata({"a": 1}) == [
        {"type": "message-metadata", "messageMetadata": {"a": 1}}
    ]
    assert r.finish() == [te("t1"), END_STEP, FINISH]
    assert [c["type"] for c in r.chunks].count("start") == 1
    report = r.valid()
    assert report.message["id"] == MID
    assert report.message["parts"] == [
        {"type": "step-start"},
        {"type": "text", "text": "Hello world", "state": "done"},
    ]


def test_explicit_start_carries_metadata() -> None:
    r = Recorder()
    assert r.start(metadata={"model": "x", "n": [1]}) == [
        {"type": "start", "messageId": MID, "messageMetadata": {"model": "x", "n": [1]}}
    ]
    assert r.text_delta("a") == [STEP, ts("t1"), td("t1", "a")]
    r.finish()
    assert r.valid().message["metadata"] == {"model": "x", "n": [1]}


def test_explicit_start_without_metadata() -> None:
    r = Recorder()
    assert r.start() == [START]
    assert r.machine.started
    assert not r.machine.in_step
    assert r.finish() == [FINISH]
    r.valid()


@pytest.mark.parametrize("first", ["start", "text_delta", "message_metadata", "data"])
def test_explicit_start_is_only_allowed_first(first: str) -> None:
    m = StreamMachine(message_id=MID)
    if first == "start":
        m.start()
    elif first == "text_delta":
        m.text_delta("x")
    elif first == "message_metadata":
        m.message_metadata({})
    else:
        m.data("x", 1)
    refused(m, lambda: m.start(metadata={"a": 1}), "start was already sent; it must be the first")


def test_generated_message_ids_are_unique_and_unguessable() -> None:
    machines = [StreamMachine() for _ in range(200)]
    ids = [m.message_id for m in machines]
    assert len(set(ids)) == len(ids)
    for message_id in ids:
        assert re.fullmatch(r"msg_[0-9a-f]{24}", message_id), message_id  # 96 random bits
    assert machines[0].text_delta("x")[0] == {"type": "start", "messageId": ids[0]}


def test_given_message_id_is_used() -> None:
    m = StreamMachine(message_id="abc")
    assert m.message_id == "abc"
    assert m.finish() == [{"type": "start", "messageId": "abc"}, FINISH]


@pytest.mark.parametrize("bad", ["", 5, b"m1"])
def test_message_id_must_be_a_non_empty_string(bad: Any) -> None:
    with pytest.raises(ValueError, match="message_id must be a non-empty string"):
        StreamMachine(message_id=bad)


@pytest.mark.parametrize("bad", ["v4", "6", None, "V6"])
def test_unknown_target_is_rejected(bad: Any) -> None:
    with pytest.raises(ValueError, match="protocol target must be one of"):
        StreamMachine(target=bad)


def test_default_target_is_v6() -> None:
    assert StreamMachine().target == "v6"


def test_finish_closes_open_parts_then_the_step_then_finishes() -> None:
    r = Recorder()
    r.reasoning_delta("hmm", key="k")
    r.text_delta("Hi")
    assert r.finish("stop") == [
        re_("r1"),
        te("t2"),
        END_STEP,
        {"type": "finish", "finishReason": "stop"},
    ]
    assert r.machine.ended == "finish"
    assert not r.machine.in_step
    assert r.machine.open_text_id() is None
    report = r.valid()
    assert report.finish_reason == "stop"
    assert [p.get("state") for p in report.message["parts"][1:]] == ["done", "done"]


def test_finish_with_metadata() -> None:
    r = Recorder()
    assert r.finish("length", metadata={"usage": {"total": 3}}) == [
        START,
        {"type": "finish", "finishReason": "length", "messageMetadata": {"usage": {"total": 3}}},
    ]
    assert r.valid().message["metadata"] == {"usage": {"total": 3}}


def test_finish_alone_sends_start_and_finish_without_a_step() -> None:
    r = Recorder()
    assert r.finish() == [START, FINISH]
    assert r.valid().message["parts"] == []


def test_finish_after_finish_step_sends_no_second_finish_step() -> None:
    r = Recorder()
    r.text_delta("a")
    assert r.finish_step() == [te("t1"), END_STEP]
    assert r.finish() == [FINISH]
    r.valid()


def test_abort_closes_open_parts_and_sends_no_finish_step_or_finish() -> None:
    r = Recorder()
    r.text_delta("partial")
    r.reasoning_delta("why", key="k")
    r.text_delta("more", key="k2")
    assert r.abort() == [re_("r2"), te("t3"), {"type": "abort"}]
    assert r.machine.ended == "abort"
    assert not r.machine.in_step
    report = r.valid()
    assert report.finish_reason is None
    assert [c["type"] for c in r.chunks].count("finish-step") == 0


def test_error_closes_open_parts_and_sends_no_finish_step_or_finish() -> None:
    r = Recorder()
    r.reasoning_delta("thinking")
    assert r.error("boom") == [re_("r1"), {"type": "error", "errorText": "boom"}]
    assert r.machine.ended == "error"
    assert not r.machine.in_step
    report = r.valid()
    assert report.error_texts == ["boom"]
    assert "finish-step" not in [c["type"] for c in r.chunks]


def test_error_before_anything_sends_start_then_error() -> None:
    r = Recorder()
    assert r.error("An error occurred.") == [
        START,
        {"type": "error", "errorText": "An error occurred."},
    ]
    assert r.valid().error_texts == ["An error occurred."]


def test_abort_before_anything_sends_start_then_abort() -> None:
    r = Recorder()
    assert r.abort() == [START, {"type": "abort"}]
    r.valid()


def _end(m: StreamMachine, how: str) -> None:
    if how == "finish":
        m.finish()
    elif how == "abort":
        m.abort()
    else:
        m.error("boom")


_AFTER_END_INTENTS: dict[str, Callable[[StreamMachine], object]] = {
    "start": lambda m: m.start(),
    "finish": lambda m: m.finish(),
    "abort": lambda m: m.abort(),
    "error": lambda m: m.error("again"),
    "finish_step": lambda m: m.finish_step(),
    "text_delta": lambda m: m.text_delta("x"),
    "text_delta_keyed": lambda m: m.text_delta("x", key="k"),
    "reasoning_delta": lambda m: m.reasoning_delta("x"),
    "text_start": lambda m: m.text_start(),
    "reasoning_start": lambda m: m.reasoning_start(),
    "text_end": lambda m: m.text_end(),
    "reasoning_end": lambda m: m.reasoning_end(),
    "tool_input_start": lambda m: m.tool_input_start("c9", "t"),
    "tool_input_delta": lambda m: m.tool_input_delta("c9", "{"),
    "tool_input_available": lambda m: m.tool_input_available("c9", {}, tool_name="t"),
    "tool_input_error": lambda m: m.tool_input_error("c9", {}, "bad", tool_name="t"),
    "tool_approval_request": lambda m: m.tool_approval_request("c1", "ap9"),
    "tool_approval_response": lambda m: m.tool_approval_response("ap1", True),
    "tool_output_available": lambda m: m.tool_output_available("c1", 1),
    "tool_output_error": lambda m: m.tool_output_error("c1", "bad"),
    "tool_output_denied": lambda m: m.tool_output_denied("c1"),
    "source_url": lambda m: m.source_url("s1", "https://e.com"),
    "source_document": lambda m: m.source_document("s2", "application/pdf", "Doc"),
    "file": lambda m: m.file("https://e.com/a.png", "image/png"),
    "data": lambda m: m.data("x", 1),
    "message_metadata": lambda m: m.message_metadata({"a": 1}),
    "custom": lambda m: m.custom("openai.x"),
    "reasoning_file": lambda m: m.reasoning_file("https://e.com/a.png", "image/png"),
    "steering_message": lambda m: m.steering_message("s1", [{"type": "text", "text": "x"}]),
    "reset_step": lambda m: m.reset_step(),
    "send_start_step": lambda m: m.send({"type": "start-step"}),
    "send_text_start": lambda m: m.send({"type": "text-start", "id": "raw"}),
    "send_data": lambda m: m.send({"type": "data-x", "data": 1}),
    "send_finish": lambda m: m.send({"type": "finish"}),
}


@pytest.mark.parametrize("how", ["finish", "abort", "error"])
@pytest.mark.parametrize("intent", sorted(_AFTER_END_INTENTS))
def test_every_intent_after_the_end_raises_naming_the_ending(how: str, intent: str) -> None:
    m = StreamMachine(message_id=MID, target="v7")
    m.tool_input_available("c1", {}, tool_name="t")
    m.tool_approval_request("c1", "ap1")
    _end(m, how)
    assert m.ended == how
    refused(
        m,
        lambda: _AFTER_END_INTENTS[intent](m),
        f"the stream has already ended with '{how}'; cannot send",
        "c1",
    )


@pytest.mark.parametrize(
    ("how", "tail"),
    [
        ("finish", [END_STEP, FINISH]),
        ("abort", [{"type": "abort"}]),
        ("error", [{"type": "error", "errorText": "boom"}]),
    ],
)
def test_tool_input_still_streaming_at_the_end_gets_tool_input_error(
    how: str, tail: list[Chunk]
) -> None:
    r = Recorder()
    r.tool_input_start("c1", "search")
    r.tool_input_delta("c1", '{"q": "ber')
    r.text_delta("note", key="k")
    endings: dict[str, Callable[[], list[Chunk]]] = {
        "finish": r.finish,
        "abort": r.abort,
        "error": lambda: r.error("boom"),
    }
    assert endings[how]() == [
        te("t1"),
        {
            "type": "tool-input-error",
            "toolCallId": "c1",
            "toolName": "search",
            "input": None,
            "errorText": UNFINISHED,
        },
        *tail,
    ]
    assert r.machine.tool_call_state("c1") == "output-error"
    report = r.valid()
    (tool,) = [p for p in report.message["parts"] if p["type"] == "tool-search"]
    assert tool["state"] == "output-error"
    assert tool["errorText"] == UNFINISHED


def test_dynamic_tool_input_still_streaming_at_the_end_stays_dynamic() -> None:
    r = Recorder()
    r.tool_input_start("c1", "lookup", dynamic=True)
    assert r.finish() == [
        {
            "type": "tool-input-error",
            "toolCallId": "c1",
            "toolName": "lookup",
            "input": None,
            "errorText": UNFINISHED,
            "dynamic": True,
        },
        END_STEP,
        FINISH,
    ]
    (tool,) = r.valid().message["parts"][1:]
    assert tool["type"] == "dynamic-tool"
    assert tool["state"] == "output-error"


def test_completed_tool_calls_get_no_tool_input_error_at_the_end() -> None:
    r = Recorder()
    r.tool_input_start("c1", "search")
    r.tool_input_available("c1", {})
    r.tool_input_error("c2", "x", "bad", tool_name="search")
    assert r.finish() == [END_STEP, FINISH]
    r.valid()


# =====================================================================================
# 2. Steps
# =====================================================================================


def test_content_opens_start_step_lazily() -> None:
    r = Recorder()
    assert r.start() == [START]
    assert r.message_metadata({"a": 1}) == [
        {"type": "message-metadata", "messageMetadata": {"a": 1}}
    ]
    assert r.data("progress", {"pct": 1}) == [{"type": "data-progress", "data": {"pct": 1}}]
    assert not r.machine.in_step
    assert r.text_delta("Hi") == [STEP, ts("t1"), td("t1", "Hi")]
    assert r.machine.in_step
    r.finish()
    r.valid()


_PART_CREATORS: dict[str, tuple[Callable[[StreamMachine], list[Chunk]], list[Chunk]]] = {
    "text_delta": (lambda m: m.text_delta("a"), [ts("t1"), td("t1", "a")]),
    "reasoning_delta": (lambda m: m.reasoning_delta("a"), [rs("r1"), rd("r1", "a")]),
    "text_start": (lambda m: m.text_start(), [ts("t1")]),
    "reasoning_start": (lambda m: m.reasoning_start(), [rs("r1")]),
    "tool_input_start": (lambda m: m.tool_input_start("c1", "search"), [tis()]),
    "tool_input_available": (
        lambda m: m.tool_input_available("c1", {"q": 1}, tool_name="search"),
        [tia(input={"q": 1})],
    ),
    "tool_input_error": (
        lambda m: m.tool_input_error("c1", "{", "bad json", tool_name="search"),
        [
            {
                "type": "tool-input-error",
                "toolCallId": "c1",
                "toolName": "search",
                "input": "{",
                "errorText": "bad json",
            }
        ],
    ),
    "source_url": (
        lambda m: m.source_url("s1", "https://e.com", title="E"),
        [{"type": "source-url", "sourceId": "s1", "url": "https://e.com", "title": "E"}],
    ),
    "source_document": (
        lambda m: m.source_document("s2", "application/pdf", "Doc", filename="d.pdf"),
        [
            {
                "type": "source-document",
                "sourceId": "s2",
                "mediaType": "application/pdf",
                "title": "Doc",
                "filename": "d.pdf",
            }
        ],
    ),
    "file": (
        lambda m: m.file("data:text/plain;base64,aGk=", "text/plain"),
        [{"type": "file", "url": "data:text/plain;base64,aGk=", "mediaType": "text/plain"}],
    ),
    "custom": (
        lambda m: m.custom("openai.web-search"),
        [{"type": "custom", "kind": "openai.web-search"}],
    ),
    "reasoning_file": (
        lambda m: m.reasoning_file("https://e.com/r.png", "image/png"),
        [{"type": "reasoning-file", "url": "https://e.com/r.png", "mediaType": "image/png"}],
    ),
}


@pytest.mark.parametrize("intent", sorted(_PART_CREATORS))
def test_content_that_creates_a_part_opens_a_step(intent: str) -> None:
    make, expected = _PART_CREATORS[intent]
    m = StreamMachine(message_id=MID, target="v7")
    out = make(m)
    assert out == [START, STEP, *expected]
    assert m.in_step
    valid(out + m.finish(), target="v7")


_STEER = {"type": "steering-message", "id": "sm1", "parts": [{"type": "text", "text": "also"}]}


def test_a_steering_message_goes_between_steps_before_the_next_start_step() -> None:
    m = StreamMachine(message_id=MID, target="v7")
    first = m.steering_message("sm0", [{"type": "text", "text": "first"}])
    assert first == [START, {**_STEER, "id": "sm0", "parts": [{"type": "text", "text": "first"}]}]
    assert not m.in_step
    out = first + m.text_delta("a") + m.finish_step()
    steer = m.steering_message("sm1", [{"type": "text", "text": "also"}])
    assert steer == [_STEER]
    out += steer + m.text_delta("b")
    assert out[-4:-1] == [_STEER, STEP, {"type": "text-start", "id": "t2"}]
    message = valid(out + m.finish(), target="v7").message
    kinds = [p["type"] for p in message["parts"]]
    assert kinds == [
        "steering-message",
        "step-start",
        "text",
        "steering-message",
        "step-start",
        "text",
    ]


def test_a_steering_message_inside_a_step_raises_and_changes_nothing() -> None:
    m = StreamMachine(message_id=MID, target="v7")
    m.text_delta("a")
    refused(
        m,
        lambda: m.steering_message("sm1", [{"type": "text", "text": "also"}]),
        r"between steps.*finish_step\(\)",
    )
    assert m.in_step
    assert m.open_text_id() == "t1"


def test_finish_step_closes_open_parts_then_sends_finish_step() -> None:
    r = Recorder()
    r.text_delta("a")
    assert r.reasoning_delta("b", key="k") == [te("t1"), rs("r2"), rd("r2", "b")]
    r.text_delta("c", key="k2")
    assert r.finish_step() == [re_("r2"), te("t3"), END_STEP]
    assert not r.machine.in_step
    assert r.machine.open_text_id() is None
    assert r.machine.open_text_id("k2") is None
    assert r.machine.open_reasoning_id("k") is None
    assert r.text_delta("d") == [STEP, ts("t4"), td("t4", "d")]
    assert r.text_delta("e", key="k2") == [te("t4"), ts("t5"), td("t5", "e")]
    r.finish()
    report = r.valid()
    assert [p["type"] for p in report.message["parts"]] == [
        "step-start",
        "text",
        "reasoning",
        "text",
        "step-start",
        "text",
        "text",
    ]


def test_finish_step_outside_a_step_is_a_no_op() -> None:
    m = StreamMachine(message_id=MID)
    assert m.finish_step() == []
    assert not m.started
    m.text_delta("a")
    m.finish_step()
    assert m.finish_step() == []
    assert not m.in_step


def test_tool_outputs_data_and_metadata_need_no_step() -> None:
    r = Recorder()
    r.tool_input_available("c1", {}, tool_name="search")
    r.finish_step()
    assert r.tool_output_available("c1", {"hits": 2}) == [toa(output={"hits": 2})]
    assert r.data("x", 1, id="d1") == [{"type": "data-x", "id": "d1", "data": 1}]
    assert r.message_metadata({"a": 1}) == [
        {"type": "message-metadata", "messageMetadata": {"a": 1}}
    ]
    assert not r.machine.in_step
    assert r.finish() == [FINISH]
    report = r.valid()
    assert report.message["parts"][1]["state"] == "output-available"


def test_approval_request_and_denial_need_no_step() -> None:
    r = Recorder()
    r.tool_input_available("c1", {}, tool_name="search")
    r.finish_step()
    assert r.tool_approval_request("c1", "ap1") == [
        {"type": "tool-approval-request", "approvalId": "ap1", "toolCallId": "c1"}
    ]
    assert r.tool_output_denied("c1") == [{"type": "tool-output-denied", "toolCallId": "c1"}]
    assert not r.machine.in_step
    r.finish()
    r.valid()


def test_continuation_shape_output_first_then_a_new_step() -> None:
    message = _continued_message()
    r = Recorder(continued_message=message)
    assert r.tool_output_available("c1", {"temp": 20}) == [
        {"type": "start", "messageId": "a1"},
        toa(output={"temp": 20}),
    ]
    assert r.text_delta("It is 20C.") == [STEP, ts("t1"), td("t1", "It is 20C.")]
    assert r.finish() == [te("t1"), END_STEP, FINISH]
    report = r.valid(message=message)
    assert report.message["id"] == "a1"
    assert report.message["parts"][2]["state"] == "output-available"
    assert report.message["parts"][2]["output"] == {"temp": 20}
    assert report.message["parts"][-1] == {"type": "text", "text": "It is 20C.", "state": "done"}


# =====================================================================================
# 3. Parts
# =====================================================================================


def test_default_text_and_reasoning_parts_close_each_other() -> None:
    r = Recorder()
    assert r.reasoning_delta("think") == [START, STEP, rs("r1"), rd("r1", "think")]
    assert r.text_delta("say") == [re_("r1"), ts("t2"), td("t2", "say")]
    assert r.reasoning_delta("more") == [te("t2"), rs("r3"), rd("r3", "more")]
    assert r.text_start() == [re_("r3"), ts("t4")]
    assert r.reasoning_start() == [te("t4"), rs("r5")]
    r.finish()
    report = r.valid()
    assert [p["type"] for p in report.message["parts"]] == [
        "step-start",
        "reasoning",
        "text",
        "reasoning",
        "text",
        "reasoning",
    ]


_CLOSING_CREATORS = {k: v for k, v in _PART_CREATORS.items() if not k.startswith(("text", "reas"))}
_CLOSING_CREATORS["data"] = (
    lambda m: m.data("x", {"a": 1}, id="d1"),
    [{"type": "data-x", "id": "d1", "data": {"a": 1}}],
)
_CLOSING_CREATORS["data_without_id"] = (
    lambda m: m.data("x", 1),
    [{"type": "data-x", "data": 1}],
)


@pytest.mark.parametrize("intent", sorted(_CLOSING_CREATORS))
def test_a_new_part_closes_the_default_text_part_first(intent: str) -> None:
    make, expected = _CLOSING_CREATORS[intent]
    m = StreamMachine(message_id=MID, target="v7")
    chunks = m.text_delta("Hi")
    out = make(m)
    assert out == [te("t1"), *expected]
    assert m.open_text_id() is None
    # a later default delta opens a new part after the new one
    more = m.text_delta("more")
    assert more == [ts("t2"), td("t2", "more")]
    valid(chunks + out + more + m.finish(), target="v7")


@pytest.mark.parametrize("intent", sorted(_CLOSING_CREATORS))
def test_a_new_part_closes_the_default_reasoning_part_first(intent: str) -> None:
    make, expected = _CLOSING_CREATORS[intent]
    m = StreamMachine(message_id=MID, target="v7")
    chunks = m.reasoning_delta("Hm")
    out = make(m)
    assert out == [re_("r1"), *expected]
    assert m.open_reasoning_id() is None
    valid(chunks + out + m.finish(), target="v7")


def test_data_upsert_does_not_close_the_default_part() -> None:
    r = Recorder()
    r.data("progress", {"pct": 0}, id="p1")
    r.text_delta("a")
    assert r.data("progress", {"pct": 50}, id="p1") == [
        {"type": "data-progress", "id": "p1", "data": {"pct": 50}}
    ]
    assert r.text_delta("b") == [td("t1", "b")]
    r.finish()
    parts = r.valid().message["parts"]
    assert parts == [
        {"type": "data-progress", "id": "p1", "data": {"pct": 50}},
        {"type": "step-start"},
        {"type": "text", "text": "ab", "state": "done"},
    ]


def test_data_with_a_new_name_or_id_closes_the_default_part() -> None:
    r = Recorder()
    r.data("progress", 0, id="p1")
    r.text_delta("a")
    assert r.data("progress", 1, id="p2") == [
        te("t1"),
        {"type": "data-progress", "id": "p2", "data": 1},
    ]
    r.text_delta("b")
    assert r.data("other", 2, id="p1") == [te("t2"), {"type": "data-other", "id": "p1", "data": 2}]
    r.finish()
    r.valid()


def test_transient_data_does_not_close_the_default_part() -> None:
    r = Recorder()
    r.text_delta("a")
    assert r.data("status", "busy", transient=True) == [
        {"type": "data-status", "data": "busy", "transient": True}
    ]
    assert r.data("status", "busy", id="s1", transient=True) == [
        {"type": "data-status", "id": "s1", "data": "busy", "transient": True}
    ]
    assert r.text_delta("b") == [td("t1", "b")]
    # a transient part is never stored, so the same id later creates a part
    assert r.data("status", "done", id="s1") == [
        te("t1"),
        {"type": "data-status", "id": "s1", "data": "done"},
    ]
    r.finish()
    parts = r.valid().message["parts"]
    assert [p["type"] for p in parts] == ["step-start", "text", "data-status"]


def test_keyed_parts_stay_open_across_other_parts() -> None:
    r = Recorder()
    assert r.text_delta("A", key="answer") == [START, STEP, ts("t1"), td("t1", "A")]
    assert r.reasoning_delta("R", key="why") == [rs("r2"), rd("r2", "R")]
    assert r.tool_input_available("c1", {}, tool_name="search") == [tia()]
    assert r.source_url("s1", "https://e.com") == [
        {"type": "source-url", "sourceId": "s1", "url": "https://e.com"}
    ]
    assert r.data("x", 1) == [{"type": "data-x", "data": 1}]
    assert r.text_delta("B", key="answer") == [td("t1", "B")]
    assert r.reasoning_delta("S", key="why") == [rd("r2", "S")]
    assert r.machine.open_text_id("answer") == "t1"
    assert r.machine.open_reasoning_id("why") == "r2"
    assert r.finish_step() == [re_("r2"), te("t1"), END_STEP]
    r.finish()
    parts = r.valid().message["parts"]
    assert parts[1] == {"type": "text", "text": "AB", "state": "done"}
    assert parts[2]["text"] == "RS"


def test_keyed_parts_close_the_current_part_but_stay_open_themselves() -> None:
    r = Recorder()
    r.text_delta("a")
    # a keyed part is a new part: the current one ends where it begins
    assert r.text_delta("b", key="k") == [te("t1"), ts("t2"), td("t2", "b")]
    assert r.text_delta("c") == [ts("t3"), td("t3", "c")]
    assert r.reasoning_delta("r") == [te("t3"), rs("r4"), rd("r4", "r")]
    # deltas to an open keyed part append to it wherever it stands
    assert r.text_delta("d", key="k") == [td("t2", "d")]
    assert r.text_end(key="k") == [te("t2")]
    r.finish()
    parts = r.valid().message["parts"]
    assert [p.get("text") for p in parts[1:]] == ["a", "bd", "c", "r"]


def test_keyed_parts_close_at_the_end_of_the_stream() -> None:
    r = Recorder()
    r.text_delta("a", key=("field", 1))
    r.reasoning_delta("b", key="k")
    assert r.abort() == [re_("r2"), te("t1"), {"type": "abort"}]
    r.valid()


def test_empty_deltas_emit_nothing() -> None:
    m = StreamMachine(message_id=MID)
    assert m.text_delta("") == []
    assert m.reasoning_delta("") == []
    assert m.text_delta("", key="k") == []
    assert not m.started
    assert m.text_delta("a") == [START, STEP, ts("t1"), td("t1", "a")]
    assert m.text_delta("") == []
    m.tool_input_start("c1", "search")
    assert m.tool_input_delta("c1", "") == []
    assert m.open_reasoning_id() is None


def test_text_end_of_a_part_that_is_not_open_is_a_no_op() -> None:
    r = Recorder()
    assert r.text_end() == []
    assert r.reasoning_end() == []
    assert not r.machine.started
    r.text_delta("a")
    assert r.text_end() == [te("t1")]
    assert r.text_end() == []
    assert r.text_end(key="never") == []
    assert r.reasoning_end() == []
    assert r.text_delta("b") == [ts("t2"), td("t2", "b")]
    r.finish()
    report = r.valid()
    assert [p.get("text") for p in report.message["parts"][1:]] == ["a", "b"]


def test_text_start_of_an_open_part_raises() -> None:
    m = StreamMachine(message_id=MID)
    m.text_start()
    refused(m, lambda: m.text_start(), "text-start: the text part None is already open")
    m.reasoning_start(key="k")
    refused(m, lambda: m.reasoning_start(key="k"), "reasoning-start: the reasoning part 'k'")


def test_explicit_part_start_carries_provider_metadata() -> None:
    r = Recorder()
    assert r.text_start(provider_metadata=PM) == [
        START,
        STEP,
        {"type": "text-start", "id": "t1", "providerMetadata": PM},
    ]
    assert r.text_delta("a") == [td("t1", "a")]
    assert r.reasoning_start(key="k", provider_metadata=PM) == [
        te("t1"),
        {"type": "reasoning-start", "id": "r2", "providerMetadata": PM},
    ]
    r.finish()
    report = r.valid()
    assert report.message["parts"][1]["providerMetadata"] == PM


def test_provider_metadata_on_deltas_and_ends() -> None:
    r = Recorder()
    assert r.text_delta("a", provider_metadata=PM) == [
        START,
        STEP,
        ts("t1"),
        {"type": "text-delta", "id": "t1", "delta": "a", "providerMetadata": PM},
    ]
    assert r.text_delta("b", provider_metadata={"p": {}}) == [
        {"type": "text-delta", "id": "t1", "delta": "b", "providerMetadata": {"p": {}}}
    ]
    assert r.text_end(provider_metadata=PM) == [
        {"type": "text-end", "id": "t1", "providerMetadata": PM}
    ]
    assert r.reasoning_delta("r", provider_metadata=PM) == [
        rs("r2"),
        {"type": "reasoning-delta", "id": "r2", "delta": "r", "providerMetadata": PM},
    ]
    assert r.reasoning_end(provider_metadata=PM) == [
        {"type": "reasoning-end", "id": "r2", "providerMetadata": PM}
    ]
    r.finish()
    r.valid()


@pytest.mark.parametrize("bad", [{"openai": 1}, {"openai": [1]}, [1], "x"])
def test_provider_metadata_must_map_providers_to_objects(bad: Any) -> None:
    m = StreamMachine(message_id=MID)
    refused(
        m,
        lambda: m.text_delta("a", provider_metadata=bad),
        r"text-delta\.providerMetadata must map provider names to objects",
    )
    refused(
        m,
        lambda: m.source_url("s", "u", provider_metadata=bad),
        r"source-url\.providerMetadata must map provider names to objects",
    )


def test_generated_part_ids_skip_ids_in_use() -> None:
    r = Recorder()
    r.send({"type": "text-start", "id": "t1"})
    assert r.text_delta("a") == [ts("t2"), td("t2", "a")]
    r.finish()
    r.valid()


# =====================================================================================
# 4. Tool calls
# =====================================================================================


def test_streamed_tool_call_lifecycle() -> None:
    r = Recorder()
    assert r.tool_input_start("c1", "search") == [START, STEP, tis()]
    assert r.machine.tool_call_state("c1") == "input-streaming"
    assert r.tool_input_delta("c1", '{"q": ') == [
        {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": '{"q": '}
    ]
    assert r.tool_input_delta("c1", '"x"}') == [
        {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": '"x"}'}
    ]
    assert r.tool_input_available("c1", {"q": "x"}) == [tia(input={"q": "x"})]
    assert r.machine.tool_call_state("c1") == "input-available"
    assert r.tool_output_available("c1", {"hits": 3}) == [toa(output={"hits": 3})]
    assert r.machine.tool_call_state("c1") == "output-available"
    assert r.finish("tool-calls") == [END_STEP, {"type": "finish", "finishReason": "tool-calls"}]
    (tool,) = r.valid().message["parts"][1:]
    assert tool == {
        "type": "tool-search",
        "toolCallId": "c1",
        "state": "output-available",
        "input": {"q": "x"},
        "output": {"hits": 3},
    }


def test_tool_input_start_with_every_option() -> None:
    r = Recorder()
    assert r.tool_input_start(
        "c1",
        "shell",
        dynamic=True,
        provider_executed=True,
        title="Shell",
        provider_metadata=PM,
        tool_metadata={"k": [1]},
        input_encoding="text",
    ) == [
        START,
        STEP,
        tis(
            name="shell",
            inputEncoding="text",
            providerExecuted=True,
            providerMetadata=PM,
            toolMetadata={"k": [1]},
            dynamic=True,
            title="Shell",
        ),
    ]
    r.tool_input_delta("c1", "ls -la")
    assert r.tool_input_available("c1", "ls -la") == [
        tia(name="shell", input="ls -la", dynamic=True)
    ]
    r.finish()
    (tool,) = r.valid().message["parts"][1:]
    assert tool["type"] == "dynamic-tool"
    assert tool["title"] == "Shell"


def test_tool_input_available_creates_the_part_with_every_option() -> None:
    r = Recorder()
    assert r.tool_input_available(
        "c1",
        {"q": 1},
        tool_name="search",
        provider_executed=True,
        title="Search",
        provider_metadata=PM,
        tool_metadata={"k": 1},
    ) == [
        START,
        STEP,
        tia(
            input={"q": 1},
            providerExecuted=True,
            providerMetadata=PM,
            toolMetadata={"k": 1},
            title="Search",
        ),
    ]
    r.finish()
    (tool,) = r.valid().message["parts"][1:]
    assert tool["callProviderMetadata"] == PM


@pytest.mark.parametrize("intent", ["tool_input_available", "tool_input_error"])
def test_final_input_of_an_unstarted_call_needs_a_tool_name(intent: str) -> None:
    m = StreamMachine(message_id=MID)
    kind = intent.replace("_", "-")
    args: tuple[Any, ...] = ("c1", {}) if intent == "tool_input_available" else ("c1", {}, "bad")
    refused(
        m,
        lambda: getattr(m, intent)(*args),
        f"{kind}: tool call 'c1' was not started, so tool_name is required",
        "c1",
    )
    assert not m.started


@pytest.mark.parametrize("intent", ["tool_input_available", "tool_input_error"])
def test_tool_name_mismatch_is_rejected(intent: str) -> None:
    m = StreamMachine(message_id=MID)
    m.tool_input_start("c1", "search")
    kind = intent.replace("_", "-")
    args: tuple[Any, ...] = ("c1", {}) if intent == "tool_input_available" else ("c1", {}, "bad")
    refused(
        m,
        lambda: getattr(m, intent)(*args, tool_name="fetch"),
        f"{kind}: tool call 'c1' was started as 'search', not 'fetch'",
        "c1",
    )
    assert m.tool_input_available("c1", {}, tool_name="search") == [tia()]


def test_tool_input_error_after_streaming_input() -> None:
    r = Recorder()
    r.tool_input_start("c1", "search")
    r.tool_input_delta("c1", "{bad")
    assert r.tool_input_error("c1", "{bad", "Invalid JSON") == [
        {
            "type": "tool-input-error",
            "toolCallId": "c1",
            "toolName": "search",
            "input": "{bad",
            "errorText": "Invalid JSON",
        }
    ]
    assert r.machine.tool_call_state("c1") == "output-error"
    refused(r.machine, lambda: r.machine.tool_output_available("c1", 1), "'output-error'", "c1")
    r.finish()
    (tool,) = r.valid().message["parts"][1:]
    assert tool["state"] == "output-error"


def test_tool_input_error_creates_a_failed_part() -> None:
    r = Recorder()
    assert r.tool_input_error("c1", {"x": 1}, "Invalid input", tool_name="search", title="S") == [
        START,
        STEP,
        {
            "type": "tool-input-error",
            "toolCallId": "c1",
            "toolName": "search",
            "input": {"x": 1},
            "errorText": "Invalid input",
            "title": "S",
        },
    ]
    assert r.machine.tool_call_state("c1") == "output-error"
    r.finish()
    r.valid()


def test_tool_output_error_after_input() -> None:
    r = Recorder()
    r.tool_input_available("c1", {}, tool_name="search")
    assert r.tool_output_error("c1", "Timed out", provider_metadata=PM) == [
        {
            "type": "tool-output-error",
            "toolCallId": "c1",
            "errorText": "Timed out",
            "providerMetadata": PM,
        }
    ]
    assert r.machine.tool_call_state("c1") == "output-error"
    r.finish()
    (tool,) = r.valid().message["parts"][1:]
    assert tool["errorText"] == "Timed out"


def test_tool_output_available_with_every_option() -> None:
    r = Recorder()
    r.tool_input_available("c1", {}, tool_name="search")
    assert r.tool_output_available(
        "c1", [1], provider_executed=True, provider_metadata=PM, tool_metadata={"k": 2}
    ) == [toa(output=[1], providerExecuted=True, providerMetadata=PM, toolMetadata={"k": 2})]
    r.finish()
    r.valid()


def test_tool_output_none_is_sent_as_null() -> None:
    r = Recorder()
    r.tool_input_available("c1", {}, tool_name="search")
    assert r.tool_output_available("c1", None) == [toa(output=None)]
    r.finish()
    r.valid()


def test_approval_requested_then_denied_v6() -> None:
    r = Recorder()
    r.tool_input_available("c1", {"path": "/"}, tool_name="delete")
    assert r.tool_approval_request(
        "c1", "ap1", descriptor={"risk": "high"}, input_schema_input={"p": 1}, signature="sig"
    ) == [
        {
            "type": "tool-approval-request",
            "approvalId": "ap1",
            "toolCallId": "c1",
            "approvalDescriptor": {"risk": "high"},
            "inputSchemaInput": {"p": 1},
            "signature": "sig",
        }
    ]
    assert r.machine.tool_call_state("c1") == "approval-requested"
    assert r.tool_output_denied("c1") == [{"type": "tool-output-denied", "toolCallId": "c1"}]
    assert r.machine.tool_call_state("c1") == "output-denied"
    r.finish()
    (tool,) = r.valid().message["parts"][1:]
    assert tool["state"] == "output-denied"


def test_approval_response_approved_then_output_v7() -> None:
    r = Recorder(target="v7")
    r.tool_input_available("c1", {}, tool_name="delete")
    assert r.tool_approval_request("c1", "ap1", reason="policy", is_automatic=True) == [
        {
            "type": "tool-approval-request",
            "approvalId": "ap1",
            "toolCallId": "c1",
            "reason": "policy",
            "isAutomatic": True,
        }
    ]
    assert r.tool_approval_response("ap1", True, reason="ok", provider_executed=False) == [
        {
            "type": "tool-approval-response",
            "approvalId": "ap1",
            "approved": True,
            "reason": "ok",
            "providerExecuted": False,
        }
    ]
    assert r.machine.tool_call_state("c1") == "approval-responded (approved)"
    assert r.tool_output_available("c1", "deleted") == [toa(output="deleted")]
    r.finish()
    (tool,) = r.valid().message["parts"][1:]
    assert tool["state"] == "output-available"
    assert tool["approval"]["approved"] is True


def test_approval_response_denied_then_output_denied_v7() -> None:
    r = Recorder(target="v7")
    r.tool_input_available("c1", {}, tool_name="delete")
    r.tool_approval_request("c1", "ap1")
    assert r.tool_approval_response("ap1", False, provider_metadata=PM) == [
        {
            "type": "tool-approval-response",
            "approvalId": "ap1",
            "approved": False,
            "providerMetadata": PM,
        }
    ]
    assert r.machine.tool_call_state("c1") == "approval-responded (denied)"
    assert r.tool_output_denied("c1") == [{"type": "tool-output-denied", "toolCallId": "c1"}]
    r.finish()
    (tool,) = r.valid().message["parts"][1:]
    assert tool["state"] == "output-denied"


def test_approved_call_can_fail_v7() -> None:
    r = Recorder(target="v7")
    r.tool_input_available("c1", {}, tool_name="delete")
    r.tool_approval_request("c1", "ap1")
    r.tool_approval_response("ap1", True)
    assert r.tool_output_error("c1", "disk full") == [
        {"type": "tool-output-error", "toolCallId": "c1", "errorText": "disk full"}
    ]
    r.finish()
    r.valid()


def test_preliminary_outputs_then_a_final_output() -> None:
    r = Recorder()
    r.tool_input_available("c1", {}, tool_name="research")
    assert r.tool_output_available("c1", {"p": 1}, preliminary=True) == [
        toa(output={"p": 1}, preliminary=True)
    ]
    assert r.machine.tool_call_state("c1") == "output-available (preliminary)"
    assert r.tool_output_available("c1", {"p": 2}, preliminary=True) == [
        toa(output={"p": 2}, preliminary=True)
    ]
    assert r.tool_output_available("c1", {"p": 3}) == [toa(output={"p": 3})]
    assert r.machine.tool_call_state("c1") == "output-available"
    refused(
        r.machine,
        lambda: r.machine.tool_output_available("c1", {"p": 4}, preliminary=True),
        "it is in state 'output-available'",
        "c1",
    )
    r.finish()
    (tool,) = r.valid().message["parts"][1:]
    assert tool["output"] == {"p": 3}
    assert tool.get("preliminary") in (None, False)


def test_preliminary_output_then_error() -> None:
    r = Recorder()
    r.tool_input_available("c1", {}, tool_name="research")
    r.tool_output_available("c1", 1, preliminary=True)
    assert r.tool_output_error("c1", "failed") == [
        {"type": "tool-output-error", "toolCallId": "c1", "errorText": "failed"}
    ]
    r.finish()
    r.valid()


def test_explicit_non_preliminary_output_is_final() -> None:
    m = StreamMachine(message_id=MID)
    m.tool_input_available("c1", {}, tool_name="t")
    assert m.tool_output_available("c1", 1, preliminary=False) == [toa(output=1, preliminary=False)]
    assert m.tool_call_state("c1") == "output-available"


_OUTPUT_NEEDS = (
    "tool-output-available needs 'approval-responded (approved)' or 'input-available' "
    "or 'output-available (preliminary)'"
)


def test_output_before_input_is_available_is_refused() -> None:
    m = StreamMachine(message_id=MID)
    m.tool_input_start("c1", "search")
    refused(
        m,
        lambda: m.tool_output_available("c1", 1),
        re.escape(
            "cannot send tool-output-available for tool call 'c1': it is in state "
            f"'input-streaming'; {_OUTPUT_NEEDS}"
        ),
        "c1",
    )
    assert m.tool_input_delta("c1", "{}") == [
        {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "{}"}
    ]


def test_input_delta_after_input_is_available_is_refused() -> None:
    m = StreamMachine(message_id=MID)
    m.tool_input_start("c1", "search")
    m.tool_input_available("c1", {})
    refused(
        m,
        lambda: m.tool_input_delta("c1", "x"),
        re.escape(
            "cannot send tool-input-delta for tool call 'c1': it is in state 'input-available'; "
            "tool-input-delta needs 'input-streaming'"
        ),
        "c1",
    )
    assert m.tool_output_available("c1", 1) == [toa(output=1)]


def test_output_for_an_unknown_call_is_refused() -> None:
    m = StreamMachine(message_id=MID)
    refused(
        m,
        lambda: m.tool_output_available("nope", 1),
        re.escape(
            f"cannot send tool-output-available for tool call 'nope': it is unknown to this "
            f"stream; {_OUTPUT_NEEDS}"
        ),
        "nope",
    )
    assert not m.started
    assert m.text_delta("a") == [START, STEP, ts("t1"), td("t1", "a")]


@pytest.mark.parametrize(
    ("intent", "kind"),
    [
        (lambda m: m.tool_output_error("nope", "e"), "tool-output-error"),
        (lambda m: m.tool_output_denied("nope"), "tool-output-denied"),
        (lambda m: m.tool_approval_request("nope", "ap1"), "tool-approval-request"),
        (lambda m: m.tool_input_delta("nope", "x"), "tool-input-delta"),
    ],
)
def test_update_for_an_unknown_call_is_refused(
    intent: Callable[[StreamMachine], object], kind: str
) -> None:
    m = StreamMachine(message_id=MID)
    refused(
        m,
        lambda: intent(m),
        f"cannot send {kind} for tool call 'nope': it is unknown to this stream",
        "nope",
    )
    assert not m.started


def test_denial_without_an_approval_request_is_refused() -> None:
    m = StreamMachine(message_id=MID)
    m.tool_input_available("c1", {}, tool_name="delete")
    refused(
        m,
        lambda: m.tool_output_denied("c1"),
        re.escape(
            "cannot send tool-output-denied for tool call 'c1': it is in state 'input-available'; "
            "tool-output-denied needs 'approval-requested' or 'approval-responded (denied)'"
        ),
        "c1",
    )
    assert m.tool_approval_request("c1", "ap1") == [
        {"type": "tool-approval-request", "approvalId": "ap1", "toolCallId": "c1"}
    ]


def test_approval_request_before_input_is_available_is_refused() -> None:
    m = StreamMachine(message_id=MID)
    m.tool_input_start("c1", "delete")
    refused(
        m,
        lambda: m.tool_approval_request("c1", "ap1"),
        re.escape(
            "cannot send tool-approval-request for tool call 'c1': it is in state "
            "'input-streaming'; tool-approval-request needs 'input-available'"
        ),
        "c1",
    )
    m.tool_input_available("c1", {})
    # the refused request did not use up its approval id
    assert m.tool_approval_request("c1", "ap1") == [
        {"type": "tool-approval-request", "approvalId": "ap1", "toolCallId": "c1"}
    ]


def test_second_final_output_is_refused() -> None:
    m = StreamMachine(message_id=MID)
    m.tool_input_available("c1", {}, tool_name="search")
    m.tool_output_available("c1", 1)
    for again in (
        lambda: m.tool_output_available("c1", 2),
        lambda: m.tool_output_error("c1", "late"),
        lambda: m.tool_approval_request("c1", "ap1"),
    ):
        refused(m, again, "for tool call 'c1': it is in state 'output-available'", "c1")
    assert m.text_delta("done") == [ts("t1"), td("t1", "done")]


def test_reused_approval_id_is_refused() -> None:
    m = StreamMachine(message_id=MID)
    m.tool_input_available("c1", {}, tool_name="delete")
    m.tool_input_available("c2", {}, tool_name="delete")
    m.tool_approval_request("c1", "ap1")
    refused(
        m,
        lambda: m.tool_approval_request("c2", "ap1"),
        "tool-approval-request: approval id 'ap1' was already used",
        "c1",
        "c2",
    )
    assert m.tool_approval_request("c2", "ap2") == [
        {"type": "tool-approval-request", "approvalId": "ap2", "toolCallId": "c2"}
    ]


def test_second_tool_input_start_is_refused() -> None:
    m = StreamMachine(message_id=MID)
    m.tool_input_start("c1", "search")
    refused(
        m,
        lambda: m.tool_input_start("c1", "search"),
        re.escape(
            "cannot send tool-input-start for tool call 'c1': it is in state 'input-streaming'; "
            "tool-input-start needs a new tool call"
        ),
        "c1",
    )


@pytest.mark.parametrize(
    "reuse",
    [
        lambda m: m.tool_input_start("c1", "search"),
        lambda m: m.tool_input_available("c1", {}),
        lambda m: m.tool_input_error("c1", {}, "bad"),
    ],
)
def test_finished_call_id_cannot_start_again(reuse: Callable[[StreamMachine], object]) -> None:
    m = StreamMachine(message_id=MID)
    m.tool_input_available("c1", {}, tool_name="search")
    m.tool_output_available("c1", 1)
    refused(m, lambda: reuse(m), "it is in state 'output-available'", "c1")


def test_input_available_after_output_names_the_allowed_states() -> None:
    m = StreamMachine(message_id=MID)
    m.tool_input_available("c1", {}, tool_name="search")
    m.tool_output_available("c1", 1)
    refused(
        m,
        lambda: m.tool_input_available("c1", {}),
        re.escape("tool-input-available needs 'input-streaming' or a new tool call"),
        "c1",
    )


def test_output_after_input_error_is_refused() -> None:
    m = StreamMachine(message_id=MID)
    m.tool_input_error("c1", {}, "bad", tool_name="search")
    refused(m, lambda: m.tool_output_available("c1", 1), "in state 'output-error'", "c1")


def test_output_after_denial_is_refused_v7() -> None:
    m = StreamMachine(message_id=MID, target="v7")
    m.tool_input_available("c1", {}, tool_name="delete")
    m.tool_approval_request("c1", "ap1")
    m.tool_approval_response("ap1", False)
    refused(
        m,
        lambda: m.tool_output_available("c1", 1),
        "it is in state 'approval-responded \\(denied\\)'",
        "c1",
    )
    refused(
        m,
        lambda: m.tool_approval_response("ap1", True),
        re.escape(
            "it is in state 'approval-responded (denied)'; tool-approval-response needs "
            "'approval-requested'"
        ),
        "c1",
    )
    assert m.tool_output_denied("c1") == [{"type": "tool-output-denied", "toolCallId": "c1"}]


def test_denial_after_approval_is_refused_v7() -> None:
    m = StreamMachine(message_id=MID, target="v7")
    m.tool_input_available("c1", {}, tool_name="delete")
    m.tool_approval_request("c1", "ap1")
    m.tool_approval_response("ap1", True)
    refused(
        m,
        lambda: m.tool_output_denied("c1"),
        "it is in state 'approval-responded \\(approved\\)'",
        "c1",
    )
    assert m.tool_output_available("c1", 1) == [toa(output=1)]


def test_approval_response_for_an_unknown_approval_id_is_refused_v7() -> None:
    m = StreamMachine(message_id=MID, target="v7")
    refused(
        m,
        lambda: m.tool_approval_response("zzz", True),
        "tool-approval-response: unknown approval id 'zzz'",
    )
    assert not m.started


def test_dynamic_flag_is_carried_onto_every_chunk_of_the_call() -> None:
    r = Recorder(target="v5")
    assert r.tool_input_start("c1", "lookup", dynamic=True) == [
        START,
        STEP,
        tis(name="lookup", dynamic=True),
    ]
    assert r.tool_input_available("c1", {}) == [tia(name="lookup", dynamic=True)]
    assert r.tool_output_available("c1", 1, preliminary=True) == [
        toa(output=1, dynamic=True, preliminary=True)
    ]
    assert r.tool_output_error("c1", "e") == [
        {"type": "tool-output-error", "toolCallId": "c1", "errorText": "e", "dynamic": True}
    ]
    r.finish()
    (tool,) = r.valid().message["parts"][1:]
    assert tool["type"] == "dynamic-tool"


def test_dynamic_flag_of_a_call_created_by_its_final_input() -> None:
    r = Recorder()
    r.tool_input_available("c1", {}, tool_name="lookup", dynamic=True)
    assert r.tool_output_available("c1", 1) == [toa(output=1, dynamic=True)]
    r.finish()
    r.valid()


def test_static_call_outputs_carry_no_dynamic_flag() -> None:
    m = StreamMachine(message_id=MID)
    m.tool_input_start("c1", "search", dynamic=False)
    assert m.tool_input_available("c1", {}, dynamic=False) == [tia()]
    assert m.tool_output_available("c1", 1, dynamic=False) == [toa(output=1)]


def test_contradicting_dynamic_flag_is_refused() -> None:
    m = StreamMachine(message_id=MID)
    m.tool_input_start("c1", "lookup", dynamic=True)
    refused(
        m,
        lambda: m.tool_input_available("c1", {}, dynamic=False),
        "tool-input-available: tool call 'c1' is dynamic; got dynamic=False",
        "c1",
    )
    m.tool_input_start("c2", "search")
    refused(
        m,
        lambda: m.tool_input_available("c2", {}, dynamic=True),
        "tool-input-available: tool call 'c2' is not dynamic; got dynamic=True",
        "c2",
    )
    m.tool_input_available("c1", {})
    refused(
        m,
        lambda: m.tool_output_available("c1", 1, dynamic=False),
        "tool-output-available: tool call 'c1' is dynamic; got dynamic=False",
        "c1",
    )
    assert m.tool_output_available("c1", 1, dynamic=True) == [toa(output=1, dynamic=True)]


def test_output_for_a_call_from_an_earlier_step() -> None:
    r = Recorder()
    r.tool_input_available("c1", {}, tool_name="search")
    r.finish_step()
    r.text_delta("while we wait")
    assert r.tool_output_available("c1", 1) == [toa(output=1)]
    r.finish()
    parts = r.valid().message["parts"]
    assert [p.get("state") for p in parts if p.get("toolCallId") == "c1"] == ["output-available"]


def test_tool_input_spanning_a_step_boundary_never_duplicates_the_part() -> None:
    m = StreamMachine(message_id=MID)
    chunks = m.tool_input_start("c1", "search")
    chunks += m.finish_step()
    chunks += m.text_delta("meanwhile")
    with contextlib.suppress(ProtocolError):  # refusing here is a correct fix too
        chunks += m.tool_input_available("c1", {"q": 1})
    chunks += m.finish()
    parts = valid(chunks).message["parts"]
    assert len([p for p in parts if p.get("toolCallId") == "c1"]) == 1


# =====================================================================================
# 5. Continuation
# =====================================================================================


def _continued_message() -> dict[str, Any]:
    return {
        "id": "a1",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {"type": "text", "text": "Let me check.", "state": "done"},
            {
                "type": "tool-weather",
                "toolCallId": "c1",
                "state": "approval-responded",
                "input": {"city": "Berlin"},
                "approval": {"id": "ap1", "approved": True},
            },
            {
                "type": "tool-delete",
                "toolCallId": "c2",
                "state": "approval-responded",
                "input": {"path": "/"},
                "approval": {"id": "ap2", "approved": False, "reason": "no"},
            },
            {
                "type": "dynamic-tool",
                "toolName": "lookup",
                "toolCallId": "c3",
                "state": "input-available",
                "input": {"q": 1},
            },
            {
                "type": "tool-search",
                "toolCallId": "c4",
                "state": "output-available",
                "input": {},
                "output": {"hits": 0},
            },
            {"type": "data-progress", "id": "p1", "data": {"pct": 50}},
        ],
    }


def test_continuation_reuses_the_continued_message_id() -> None:
    m = StreamMachine(continued_message=_continued_message())
    assert m.message_id == "a1"
    assert m.start() == [{"type": "start", "messageId": "a1"}]


def test_continuation_with_the_same_explicit_message_id() -> None:
    m = StreamMachine(message_id="a1", continued_message=_continued_message())
    assert m.message_id == "a1"


def test_continuation_rejects_a_different_message_id() -> None:
    with pytest.raises(ValueError, match="message_id 'other' differs from the continued message"):
        StreamMachine(message_id="other", continued_message=_continued_message())


def test_continuation_allows_outputs_and_denials_for_its_calls() -> None:
    message = _continued_message()
    r = Recorder(continued_message=message)
    assert r.machine.tool_call_state("c1") == "approval-responded (approved)"
    assert r.machine.tool_call_state("c2") == "approval-responded (denied)"
    assert r.machine.tool_call_state("c3") == "input-available"
    assert r.machine.tool_call_state("c4") == "output-available"
    assert r.tool_output_available("c1", {"temp": 20}) == [
        {"type": "start", "messageId": "a1"},
        toa(output={"temp": 20}),
    ]
    assert r.tool_output_denied("c2") == [{"type": "tool-output-denied", "toolCallId": "c2"}]
    assert r.tool_output_available("c3", [1]) == [toa("c3", [1], dynamic=True)]
    assert r.text_delta("Done.") == [STEP, ts("t1"), td("t1", "Done.")]
    assert r.finish() == [te("t1"), END_STEP, FINISH]
    parts = r.valid(message=message).message["parts"]
    states = {p["toolCallId"]: p["state"] for p in parts if "toolCallId" in p}
    assert states == {
        "c1": "output-available",
        "c2": "output-denied",
        "c3": "output-available",
        "c4": "output-available",
    }
    # the continued parts were updated in place, nothing was duplicated
    assert len(parts) == len(message["parts"]) + 2


def test_continuation_refuses_illegal_updates_to_its_calls() -> None:
    m = StreamMachine(continued_message=_continued_message())
    refused(m, lambda: m.tool_output_available("c4", 1), "in state 'output-available'", "c4")
    refused(
        m,
        lambda: m.tool_output_available("c2", 1),
        "in state 'approval-responded \\(denied\\)'",
        "c2",
    )
    refused(
        m,
        lambda: m.tool_output_denied("c1"),
        "in state 'approval-responded \\(approved\\)'",
        "c1",
    )
    refused(
        m,
        lambda: m.tool_output_denied("c3"),
        "in state 'input-available'",
        "c3",
    )
    refused(m, lambda: m.tool_output_available("c9", 1), "unknown to this stream", "c9")
    assert not m.started


def test_continuation_approval_ids_are_already_used() -> None:
    m = StreamMachine(continued_message=_continued_message())
    m.tool_input_available("c5", {}, tool_name="delete")
    refused(
        m,
        lambda: m.tool_approval_request("c5", "ap1"),
        "approval id 'ap1' was already used",
        "c5",
    )


def test_continuation_data_part_ids_are_upserts() -> None:
    message = _continued_message()
    r = Recorder(continued_message=message)
    r.text_delta("x")
    assert r.data("progress", {"pct": 100}, id="p1") == [
        {"type": "data-progress", "id": "p1", "data": {"pct": 100}}
    ]
    r.finish()
    parts = r.valid(message=message).message["parts"]
    assert [p["data"] for p in parts if p["type"] == "data-progress"] == [{"pct": 100}]


def test_continuation_approval_requested_call_can_be_denied() -> None:
    message = {
        "id": "a1",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {
                "type": "tool-delete",
                "toolCallId": "c1",
                "state": "approval-requested",
                "input": {},
                "approval": {"id": "ap1"},
            },
        ],
    }
    r = Recorder(continued_message=message)
    assert r.machine.tool_call_state("c1") == "approval-requested"
    assert r.tool_output_denied("c1") == [
        {"type": "start", "messageId": "a1"},
        {"type": "tool-output-denied", "toolCallId": "c1"},
    ]
    r.finish()
    r.valid(message=message)


def test_continuation_preliminary_output_can_be_finalized() -> None:
    message = {
        "id": "a1",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {
                "type": "tool-research",
                "toolCallId": "c1",
                "state": "output-available",
                "input": {},
                "output": {"p": 1},
                "preliminary": True,
            },
        ],
    }
    r = Recorder(continued_message=message)
    assert r.machine.tool_call_state("c1") == "output-available (preliminary)"
    assert r.tool_output_available("c1", {"p": 2}) == [
        {"type": "start", "messageId": "a1"},
        toa(output={"p": 2}),
    ]
    r.finish()
    r.valid(message=message)


def test_continued_call_interrupted_in_the_last_step_is_closed_right_after_start() -> None:
    # the earlier response ended mid-input; the client still finds the part until a new
    # step starts, so the machine closes it at once and takes no more input for it
    message = {
        "id": "a1",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {"type": "tool-search", "toolCallId": "c1", "state": "input-streaming", "input": None},
        ],
    }
    r = Recorder(continued_message=message)
    assert (
        r.machine.tool_call_state("c1")
        == "interrupted (its input was cut off in an earlier response)"
    )
    refused(r.machine, lambda: r.machine.tool_input_delta("c1", "{"), "tool-input-delta", "c1")
    closing = {
        "type": "tool-input-error",
        "toolCallId": "c1",
        "toolName": "search",
        "input": None,
        "errorText": UNFINISHED,
    }
    assert r.text_delta("ok") == [
        {"type": "start", "messageId": "a1"},
        closing,
        STEP,
        ts("t1"),
        td("t1", "ok"),
    ]
    r.finish()
    parts = r.valid(message=message).message["parts"]
    assert [p["state"] for p in parts if p.get("toolCallId") == "c1"] == ["output-error"]


def test_continued_call_interrupted_in_an_earlier_step_is_left_alone() -> None:
    # outside the last step the client would add a second part instead of updating it
    message = {
        "id": "a1",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {"type": "tool-search", "toolCallId": "c1", "state": "input-streaming", "input": None},
            {"type": "step-start"},
            {"type": "text", "text": "later", "state": "done"},
        ],
    }
    r = Recorder(continued_message=message)
    refused(
        r.machine, lambda: r.machine.tool_input_error("c1", None, "x"), "tool-input-error", "c1"
    )
    assert r.finish() == [{"type": "start", "messageId": "a1"}, FINISH]
    parts = r.valid(message=message).message["parts"]
    assert [p["state"] for p in parts if p.get("toolCallId") == "c1"] == ["input-streaming"]


def test_continued_input_streaming_call_outside_the_last_step_takes_no_deltas() -> None:
    message = {
        "id": "a1",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {"type": "tool-search", "toolCallId": "c1", "state": "input-streaming", "input": None},
            {"type": "step-start"},
            {"type": "text", "text": "later", "state": "done"},
        ],
    }
    m = StreamMachine(continued_message=message)
    try:
        chunks = m.tool_input_delta("c1", '{"q"')
    except ProtocolError:
        return  # refusing is correct
    valid(chunks + m.finish(), message=message)


_BAD_CONTINUED: list[tuple[Any, str]] = [
    # (message, the field the parser names): what is not a UIMessage never reaches the
    # machine from a request, and a dict handed to it is validated the same way
    ("not a message", "messages[0]"),
    ({"role": "assistant", "parts": []}, "messages[0].id"),
    ({"id": "", "role": "assistant", "parts": []}, "messages[0].id"),
    ({"id": 5, "role": "assistant", "parts": []}, "messages[0].id"),
    ({"id": "a1", "role": "user", "parts": []}, "messages[0].parts"),
    ({"id": "a1", "parts": []}, "messages[0].role"),
    ({"id": "a1", "role": "assistant"}, "messages[0].parts"),
    ({"id": "a1", "role": "assistant", "parts": {}}, "messages[0].parts"),
    ({"id": "a1", "role": "assistant", "parts": ["x"]}, "messages[0].parts[0]"),
    (
        {"id": "a1", "role": "assistant", "parts": [{"type": "step-start"}, {"text": "x"}]},
        "messages[0].parts[1].type",
    ),
    (
        {
            "id": "a1",
            "role": "assistant",
            "parts": [{"type": "tool-x", "state": "input-available"}],
        },
        "messages[0].parts[0].toolCallId",
    ),
    (
        {
            "id": "a1",
            "role": "assistant",
            "parts": [{"type": "dynamic-tool", "toolCallId": "c1", "state": "input-available"}],
        },
        "messages[0].parts[0].toolName",
    ),
    (
        {
            "id": "a1",
            "role": "assistant",
            "parts": [{"type": "tool-x", "toolCallId": "c1", "state": "bogus"}],
        },
        "messages[0].parts[0].state",
    ),
    (
        {"id": "a1", "role": "assistant", "parts": [{"type": "tool-x", "toolCallId": "c1"}]},
        "messages[0].parts[0].state",
    ),
    (
        {
            "id": "a1",
            "role": "assistant",
            "parts": [{"type": "tool-x", "toolCallId": "c1", "state": "approval-responded"}],
        },
        "messages[0].parts[0].approval",
    ),
    (
        {
            "id": "a1",
            "role": "assistant",
            "parts": [
                {
                    "type": "tool-x",
                    "toolCallId": "c1",
                    "state": "approval-responded",
                    "input": {},
                    "approval": {"id": "ap1", "approved": "yes"},
                }
            ],
        },
        "messages[0].parts[0].approval.approved",
    ),
]


@pytest.mark.parametrize(("message", "field"), _BAD_CONTINUED)
def test_continued_message_shape_is_validated(message: Any, field: str) -> None:
    body = {"id": "chat", "trigger": "submit-message", "messages": [message]}
    with pytest.raises(ChatRequestError) as info:
        parse_chat_request(body)
    assert field in [error.field for error in info.value.errors]
    with pytest.raises(ValidationError):
        StreamMachine(continued_message=message)


def test_a_continued_message_is_an_assistant_message() -> None:
    message = {"id": "a1", "role": "user", "parts": [{"type": "text", "text": "Hi"}]}
    with pytest.raises(ValueError, match=r"must be an assistant message; got role 'user'"):
        StreamMachine(continued_message=message)


def test_a_typed_continued_message_is_taken_as_it_is() -> None:
    typed = UIMessage.model_validate(_continued_message())
    m = StreamMachine(continued_message=typed)
    assert m.message_id == "a1"
    assert m.tool_call_state("c1") == StreamMachine(
        continued_message=_continued_message()
    ).tool_call_state("c1")


# =====================================================================================
# 6. Target gating
# =====================================================================================


def test_abort_reason_needs_v6() -> None:
    r = Recorder()
    assert r.abort("user stopped") == [START, {"type": "abort", "reason": "user stopped"}]
    r.valid()
    m = StreamMachine(message_id=MID, target="v5")
    info = refused(
        m, lambda: m.abort("user stopped"), "'reason' of chunk 'abort'", error=TargetError
    )
    err = info.value
    assert isinstance(err, TargetError)
    assert (err.target, err.chunk_type, err.field) == ("v5", "abort", "reason")
    chunks = m.abort()
    assert chunks == [START, {"type": "abort"}]
    valid(chunks, target="v5")


@pytest.mark.parametrize(
    ("target", "reason", "accepted"),
    [
        ("v5", "unknown", True),
        ("v6", "unknown", False),
        ("v7", "unknown", False),
        ("v5", "interrupted", False),
        ("v6", "interrupted", False),
        ("v7", "interrupted", True),
        ("v5", "stop", True),
        ("v6", "content-filter", True),
        ("v7", "other", True),
    ],
)
def test_finish_reason_is_gated_by_target(target: str, reason: str, accepted: bool) -> None:
    m = StreamMachine(message_id=MID, target=target)  # type: ignore[arg-type]
    chunks = m.text_delta("a")
    if accepted:
        out = m.finish(reason)
        assert out == [te("t1"), END_STEP, {"type": "finish", "finishReason": reason}]
        assert valid(chunks + out, target=target).finish_reason == reason
    else:
        info = refused(m, lambda: m.finish(reason), f"finishReason '{reason}'", error=TargetError)
        assert isinstance(info.value, TargetError)
        assert info.value.field == "finishReason"
        assert m.open_text_id() == "t1"
        assert m.finish("stop")[-1] == {"type": "finish", "finishReason": "stop"}


_V7_ONLY: dict[str, tuple[Callable[[StreamMachine], object], str, str | None]] = {
    "custom": (lambda m: m.custom("openai.x"), "custom", None),
    "reasoning_file": (
        lambda m: m.reasoning_file("https://e.com/a.png", "image/png"),
        "reasoning-file",
        None,
    ),
    "reset_step": (lambda m: m.reset_step(), "reset-step", None),
    "steering_message": (
        lambda m: m.steering_message("s1", [{"type": "text", "text": "x"}]),
        "steering-message",
        None,
    ),
    "tool_approval_response": (
        lambda m: m.tool_approval_response("ap1", True),
        "tool-approval-response",
        None,
    ),
    "citations": (
        lambda m: m.text_end(citations=[{"source": _URL_SOURCE}]),
        "text-end",
        "citations",
    ),
    "approval_reason": (
        lambda m: m.tool_approval_request("c2", "ap2", reason="why"),
        "tool-approval-request",
        "reason",
    ),
    "approval_is_automatic": (
        lambda m: m.tool_approval_request("c2", "ap2", is_automatic=True),
        "tool-approval-request",
        "isAutomatic",
    ),
    "send_custom": (lambda m: m.send({"type": "custom", "kind": "a.b"}), "custom", None),
}

_URL_SOURCE = {"type": "source", "sourceType": "url", "id": "s1", "url": "https://e.com"}


@pytest.mark.parametrize("intent", sorted(_V7_ONLY))
def test_v7_only_intents_raise_target_error_on_v6(intent: str) -> None:
    call, chunk_type, field = _V7_ONLY[intent]
    m = StreamMachine(message_id=MID, target="v6")
    m.tool_input_available("c1", {}, tool_name="t")
    m.tool_approval_request("c1", "ap1")
    m.tool_input_available("c2", {}, tool_name="t")
    m.text_delta("open")
    info = refused(
        m, lambda: call(m), "not accepted by AI SDK v6 clients", "c1", "c2", error=TargetError
    )
    err = info.value
    assert isinstance(err, TargetError)
    assert (err.target, err.chunk_type, err.field) == ("v6", chunk_type, field)
    if field is None and not intent.startswith("send"):
        assert "needs target v7 or later" in str(err)


_V6_ONLY: dict[str, tuple[Callable[[StreamMachine], object], str, str | None]] = {
    "approval_request": (
        lambda m: m.tool_approval_request("c1", "ap1"),
        "tool-approval-request",
        None,
    ),
    "output_denied": (lambda m: m.tool_output_denied("c1"), "tool-output-denied", None),
    "input_start_title": (
        lambda m: m.tool_input_start("c9", "t", title="T"),
        "tool-input-start",
        "title",
    ),
    "input_start_tool_metadata": (
        lambda m: m.tool_input_start("c9", "t", tool_metadata={"k": 1}),
        "tool-input-start",
        "toolMetadata",
    ),
    "input_start_provider_metadata": (
        lambda m: m.tool_input_start("c9", "t", provider_metadata=PM),
        "tool-input-start",
        "providerMetadata",
    ),
    "input_start_encoding": (
        lambda m: m.tool_input_start("c9", "t", input_encoding="text"),
        "tool-input-start",
        "inputEncoding",
    ),
    "input_available_title": (
        lambda m: m.tool_input_available("c9", {}, tool_name="t", title="T"),
        "tool-input-available",
        "title",
    ),
    "output_provider_metadata": (
        lambda m: m.tool_output_available("c1", 1, provider_metadata=PM),
        "tool-output-available",
        "providerMetadata",
    ),
    "output_tool_metadata": (
        lambda m: m.tool_output_available("c1", 1, tool_metadata={"k": 1}),
        "tool-output-available",
        "toolMetadata",
    ),
    "output_error_provider_metadata": (
        lambda m: m.tool_output_error("c1", "e", provider_metadata=PM),
        "tool-output-error",
        "providerMetadata",
    ),
}


@pytest.mark.parametrize("intent", sorted(_V6_ONLY))
def test_v6_features_raise_target_error_on_v5(intent: str) -> None:
    call, chunk_type, field = _V6_ONLY[intent]
    m = StreamMachine(message_id=MID, target="v5")
    m.tool_input_available("c1", {}, tool_name="t")
    info = refused(
        m, lambda: call(m), "not accepted by AI SDK v5 clients", "c1", "c9", error=TargetError
    )
    err = info.value
    assert isinstance(err, TargetError)
    assert (err.target, err.chunk_type, err.field) == ("v5", chunk_type, field)


def test_v7_intents_emit_their_chunks() -> None:
    r = Recorder(target="v7")
    assert r.custom("openai.web-search", provider_metadata=PM) == [
        START,
        STEP,
        {"type": "custom", "kind": "openai.web-search", "providerMetadata": PM},
    ]
    assert r.reasoning_file("https://e.com/r.png", "image/png", provider_metadata=PM) == [
        {"type": "reasoning-file", "url": "https://e.com/r.png", "mediaType": "image/png",
         "providerMetadata": PM},
    ]  # fmt: skip
    parts = [
        {"type": "text", "text": "also this"},
        {"type": "file", "mediaType": "image/png", "url": "https://e.com/a.png"},
    ]
    r.finish_step()
    assert r.steering_message("sm1", parts) == [
        {"type": "steering-message", "id": "sm1", "parts": parts}
    ]
    r.text_delta("See [1].")
    citation = {"source": _URL_SOURCE, "startIndex": 4, "endIndex": 7, "citedText": "x"}
    assert r.text_end(citations=[citation]) == [
        {"type": "text-end", "id": "t1", "citations": [citation]}
    ]
    r.finish("interrupted")
    report = r.valid()
    types = [p["type"] for p in report.message["parts"]]
    assert types == [
        "step-start", "custom", "reasoning-file", "steering-message", "step-start", "text"
    ]  # fmt: skip
    assert report.message["parts"][-1]["citations"] == [citation]


@pytest.mark.parametrize(
    "citations",
    [
        [{"source": {"type": "source", "sourceType": "url", "id": "s1"}}],
        [{"source": _URL_SOURCE, "startIndex": -1}],
        [{"source": _URL_SOURCE, "startIndex": None}],
        [{"source": _URL_SOURCE, "bogus": 1}],
    ],
)
def test_citations_are_schema_checked(citations: list[dict[str, Any]]) -> None:
    m = StreamMachine(message_id=MID, target="v7")
    m.text_delta("a")
    refused(m, lambda: m.text_end(citations=citations), r"^text-end\.citations\.0")
    assert m.text_end() == [te("t1")]


@pytest.mark.parametrize(
    "parts",
    [
        [{"type": "image", "url": "u"}],
        [{"type": "text"}],
        [{"type": "text", "text": "x", "providerMetadata": None}],
    ],
)
def test_steering_message_parts_are_schema_checked(parts: list[dict[str, Any]]) -> None:
    m = StreamMachine(message_id=MID, target="v7")
    refused(m, lambda: m.steering_message("s1", parts), r"^steering-message\.parts\.0")
    assert not m.started


def test_text_end_accepts_citation_models() -> None:
    m = StreamMachine(message_id=MID, target="v7")
    m.text_delta("a")
    citation = Citation(source=CitationUrlSource(id="s1", url="https://e.com"), end_index=1)
    assert m.text_end(citations=[citation]) == [
        {
            "type": "text-end",
            "id": "t1",
            "citations": [{"source": _URL_SOURCE, "endIndex": 1}],
        }
    ]


def test_steering_message_accepts_part_models() -> None:
    m = StreamMachine(message_id=MID, target="v7")
    assert m.steering_message("s1", [SteeringTextPart(text="hi")]) == [
        START,
        {"type": "steering-message", "id": "s1", "parts": [{"type": "text", "text": "hi"}]},
    ]


def test_reset_step_drops_this_steps_tool_calls_and_open_parts() -> None:
    r = Recorder(target="v7")
    r.tool_input_available("c0", {}, tool_name="search")  # survives: updated, never dropped
    r.finish_step()
    r.text_delta("draft")
    r.reasoning_delta("r", key="k")
    r.tool_input_start("c1", "search")
    r.tool_input_available("c2", {}, tool_name="delete")
    r.tool_approval_request("c2", "ap1")
    r.tool_output_available("c0", "done")
    assert r.reset_step() == [{"type": "reset-step"}]
    m = r.machine
    assert m.in_step
    assert m.open_text_id() is None
    assert m.open_reasoning_id("k") is None
    assert m.tool_call_state("c1") is None
    assert m.tool_call_state("c2") is None
    assert m.tool_call_state("c0") == "output-available"
    # the dropped ids are free again, and no start-step / text-end is sent
    assert r.tool_input_start("c1", "search") == [tis()]
    assert r.tool_input_available("c1", {}) == [tia()]
    assert r.tool_input_available("c2", {}, tool_name="delete") == [tia("c2", "delete")]
    assert r.tool_approval_request("c2", "ap1") == [
        {"type": "tool-approval-request", "approvalId": "ap1", "toolCallId": "c2"}
    ]
    assert r.text_delta("final")[-1] == td("t3", "final")
    r.finish()
    parts = r.valid().message["parts"]
    assert [p["type"] for p in parts] == [
        "step-start",
        "tool-search",
        "step-start",
        "tool-search",
        "tool-delete",
        "text",
    ]
    assert parts[-1]["text"] == "final"
    assert parts[1]["state"] == "output-available"


def test_reset_step_needs_an_open_step() -> None:
    m = StreamMachine(message_id=MID, target="v7")
    refused(m, lambda: m.reset_step(), "reset-step needs an open step")
    m.text_delta("a")
    m.finish_step()
    refused(m, lambda: m.reset_step(), "reset-step needs an open step")


def test_reset_step_forgets_data_parts_of_the_dropped_step() -> None:
    m = StreamMachine(message_id=MID, target="v7")
    m.text_delta("a")
    m.data("x", 1, id="d1")
    m.reset_step()
    m.text_delta("b")
    assert m.data("x", 2, id="d1") == [te("t2"), {"type": "data-x", "id": "d1", "data": 2}]


# =====================================================================================
# 7. Payloads
# =====================================================================================


class _Opaque:
    pass


_PAYLOAD_INTENTS: dict[str, tuple[Callable[[StreamMachine, Any], object], str]] = {
    "output": (lambda m, v: m.tool_output_available("c1", v), "tool-output-available.output"),
    "input": (
        lambda m, v: m.tool_input_available("c2", v, tool_name="t"),
        "tool-input-available.input",
    ),
    "input_error": (
        lambda m, v: m.tool_input_error("c2", v, "bad", tool_name="t"),
        "tool-input-error.input",
    ),
    "data": (lambda m, v: m.data("x", v), "data-x.data"),
    "message_metadata": (lambda m, v: m.message_metadata(v), "message-metadata.messageMetadata"),
    "finish_metadata": (lambda m, v: m.finish(metadata=v), "finish.messageMetadata"),
    "descriptor": (
        lambda m, v: m.tool_approval_request("c1", "ap1", descriptor=v),
        "tool-approval-request.approvalDescriptor",
    ),
    "tool_metadata": (
        lambda m, v: m.tool_output_available("c1", 1, tool_metadata={"k": v}),
        "tool-output-available.toolMetadata",
    ),
    "provider_metadata": (
        lambda m, v: m.text_delta("a", provider_metadata={"p": {"k": v}}),
        "text-delta.providerMetadata",
    ),
}


def _payload_machine() -> StreamMachine:
    m = StreamMachine(message_id=MID)
    m.tool_input_available("c1", {}, tool_name="t")
    return m


@pytest.mark.parametrize("where", sorted(_PAYLOAD_INTENTS))
def test_unserializable_payload_raises_naming_the_field(where: str) -> None:
    call, field = _PAYLOAD_INTENTS[where]
    m = _payload_machine()
    refused(
        m,
        lambda: call(m, {"k": [_Opaque()]}),
        rf"^{re.escape(field)} is not JSON-serializable \(.*_Opaque",
        "c1",
        "c2",
    )


def test_unserializable_start_metadata_raises_naming_the_field() -> None:
    m = StreamMachine(message_id=MID)
    refused(m, lambda: m.start(metadata=_Opaque()), r"^start\.messageMetadata is not JSON")
    assert m.start() == [START]


def test_unserializable_output_leaves_the_call_ready_for_a_good_one() -> None:
    m = _payload_machine()
    refused(
        m, lambda: m.tool_output_available("c1", object()), "tool-output-available.output", "c1"
    )
    assert m.tool_output_available("c1", "ok") == [toa(output="ok")]


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"__proto__": {"polluted": 1}}, "__proto__"),
        ({"a": [{"b": {"__proto__": 1}}]}, "a[0].b.__proto__"),
        ([{"x": {"__proto__": None}}], "[0].x.__proto__"),
        ({"constructor": {"prototype": {"x": 1}}}, "constructor.prototype"),
        ({"a": {"constructor": {"prototype": 1}}}, "a.constructor.prototype"),
    ],
)
@pytest.mark.parametrize("where", sorted(_PAYLOAD_INTENTS))
def test_proto_keys_anywhere_in_a_payload_are_refused(where: str, value: Any, path: str) -> None:
    call, field = _PAYLOAD_INTENTS[where]
    m = _payload_machine()
    info = refused(m, lambda: call(m, value), re.escape(field), "c1", "c2")
    message = str(info.value)
    assert "secure JSON parser rejects" in message
    assert path in message


def test_proto_as_a_value_and_constructor_without_prototype_are_fine() -> None:
    r = Recorder()
    value = {"k": "__proto__", "constructor": {"name": "x"}, "prototype": 1, "l": ["__proto__"]}
    assert r.data("x", value) == [START, {"type": "data-x", "data": value}]
    r.finish()
    r.valid()


def test_payloads_are_copied() -> None:
    m = StreamMachine(message_id=MID)
    data = {"a": [1], "b": {"c": 2}}
    out = m.data("x", data)
    data["a"].append(2)
    data["b"]["c"] = 3
    data["d"] = 4
    assert out[-1] == {"type": "data-x", "data": {"a": [1], "b": {"c": 2}}}

    tool_input = {"q": ["x"]}
    out = m.tool_input_available("c1", tool_input, tool_name="t")
    tool_input["q"].append("y")
    assert out[-1]["input"] == {"q": ["x"]}

    output = [{"hit": 1}]
    out = m.tool_output_available("c1", output)
    output[0]["hit"] = 2
    assert out[-1]["output"] == [{"hit": 1}]

    metadata = {"usage": {"n": 1}}
    out = m.message_metadata(metadata)
    metadata["usage"]["n"] = 2
    assert out[-1]["messageMetadata"] == {"usage": {"n": 1}}

    pm = {"p": {"k": [1]}}
    out = m.text_delta("a", provider_metadata=pm)
    pm["p"]["k"].append(2)
    assert out[-1]["providerMetadata"] == {"p": {"k": [1]}}


def test_pydantic_models_and_sets_in_payloads_become_plain_json() -> None:
    r = Recorder()
    r.tool_input_available("c1", Weather(city="Berlin", temp_c=1), tool_name="weather")
    out = r.tool_output_available(
        "c1", {"now": Weather(city="Berlin", temp_c=20.5), "tags": {"x"}, "pair": (1, 2)}
    )
    assert out == [
        toa(
            output={"now": {"city": "Berlin", "temp_c": 20.5}, "tags": ["x"], "pair": [1, 2]},
        )
    ]
    output = out[0]["output"]
    assert type(output) is dict
    assert type(output["now"]) is dict
    assert r.chunks[2]["input"] == {"city": "Berlin", "temp_c": 1.0}
    assert type(r.chunks[2]["input"]) is dict
    r.finish()
    r.valid()


_BAD_SCALARS: list[tuple[Callable[[StreamMachine], object], str]] = [
    (lambda m: m.tool_input_start("c1", "t", dynamic="yes"), "tool-input-start.dynamic must be a boolean; got 'yes'"),  # type: ignore[arg-type]
    (lambda m: m.tool_input_start("c1", "t", dynamic=1), "tool-input-start.dynamic must be a boolean; got 1"),  # type: ignore[arg-type]
    (lambda m: m.tool_input_start("c1", "t", provider_executed="no"), "tool-input-start.providerExecuted must be a bool"),  # type: ignore[arg-type]
    (lambda m: m.tool_input_start("c1", "t", title=5), "tool-input-start.title must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.tool_input_start("c1", "t", input_encoding="xml"), "tool-input-start.inputEncoding must be 'json' or 'text'; got 'xml'"),  # type: ignore[arg-type]
    (lambda m: m.tool_input_start("c1", "t", tool_metadata=[1]), "tool-input-start.toolMetadata must be a mapping"),  # type: ignore[arg-type]
    (lambda m: m.tool_input_start(5, "t"), "tool-input-start.toolCallId must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.tool_input_start("c1", None), "tool-input-start.toolName must be a string; got None"),  # type: ignore[arg-type]
    (lambda m: m.tool_input_available(5, {}, tool_name="t"), "tool-input-available.toolCallId must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.tool_input_available("c1", {}, tool_name=5), "tool-input-available.toolName must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.tool_input_error("c1", {}, 5, tool_name="t"), "tool-input-error.errorText must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.tool_input_delta(5, "x"), "tool-input-delta.toolCallId must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.tool_input_delta("c1", 5), "tool-input-delta.inputTextDelta must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.tool_output_available(5, 1), "tool-output-available.toolCallId must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.tool_output_error(5, "e"), "tool-output-error.toolCallId must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.tool_output_denied(5), "tool-output-denied.toolCallId must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.tool_approval_request("c1", 5), "tool-approval-request.approvalId must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.tool_approval_request(5, "ap1"), "tool-approval-request.toolCallId must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.text_delta(5), "text-delta.delta must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.text_delta(None), "text-delta.delta must be a string; got None"),  # type: ignore[arg-type]
    (lambda m: m.reasoning_delta(b"x"), "reasoning-delta.delta must be a string; got b'x'"),  # type: ignore[arg-type]
    (lambda m: m.error(5), "error.errorText must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.abort(5), "abort.reason must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.data("", 1), "data part name must be a non-empty string; got ''"),
    (lambda m: m.data(5, 1), "data part name must be a non-empty string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.data("x", 1, id=5), "data-x.id must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.data("x", 1, transient="yes"), "data-x.transient must be a boolean; got 'yes'"),  # type: ignore[arg-type]
    (lambda m: m.source_url(5, "u"), "source-url.sourceId must be a string; got 5"),  # type: ignore[arg-type]
    (lambda m: m.source_url("s", "u", title=1), "source-url.title must be a string; got 1"),  # type: ignore[arg-type]
    (lambda m: m.source_document("s", "m", None), "source-document.title must be a string; got None"),  # type: ignore[arg-type]
    (lambda m: m.file("u", None), "file.mediaType must be a string; got None"),  # type: ignore[arg-type]
]  # fmt: skip


@pytest.mark.parametrize(("call", "match"), _BAD_SCALARS)
def test_bad_scalar_types_raise_naming_the_field(
    call: Callable[[StreamMachine], object], match: str
) -> None:
    m = StreamMachine(message_id=MID)
    refused(m, lambda: call(m), re.escape(match))
    assert not m.started


def test_bad_scalar_types_on_existing_calls_raise_naming_the_field() -> None:
    m = StreamMachine(message_id=MID, target="v7")
    m.tool_input_available("c1", {}, tool_name="t")
    refused(
        m,
        lambda: m.tool_output_available("c1", 1, preliminary="no"),  # type: ignore[arg-type]
        re.escape("tool-output-available.preliminary must be a boolean; got 'no'"),
        "c1",
    )
    refused(
        m,
        lambda: m.tool_output_error("c1", None),  # type: ignore[arg-type]
        re.escape("tool-output-error.errorText must be a string; got None"),
        "c1",
    )
    m.tool_approval_request("c1", "ap1")
    refused(
        m,
        lambda: m.tool_approval_response("ap1", "yes"),  # type: ignore[arg-type]
        re.escape("tool-approval-response.approved must be a boolean; got 'yes'"),
        "c1",
    )
    refused(
        m,
        lambda: m.tool_approval_response("ap1", 1),  # type: ignore[arg-type]
        re.escape("tool-approval-response.approved must be a boolean; got 1"),
        "c1",
    )


def test_unhashable_tool_call_id_raises_protocol_error() -> None:
    m = StreamMachine(message_id=MID)
    with pytest.raises(ProtocolError, match=r"tool-input-delta\.toolCallId must be a string"):
        m.tool_input_delta(["c1"], "x")  # type: ignore[arg-type]


# =====================================================================================
# 8. send(): chunks built by the caller
# =====================================================================================


def test_send_pydantic_and_dict_chunks_with_raw_text_ids() -> None:
    r = Recorder()
    assert r.send(TextStartChunk(id="intro")) == [START, STEP, ts("intro")]
    assert r.send(TextDeltaChunk(id="intro", delta="Hi")) == [td("intro", "Hi")]
    assert r.send({"type": "text-delta", "id": "intro", "delta": "!", "providerMetadata": PM}) == [
        {"type": "text-delta", "id": "intro", "delta": "!", "providerMetadata": PM}
    ]
    assert r.send({"type": "text-end", "id": "intro"}) == [te("intro")]
    assert r.send({"type": "reasoning-start", "id": "why"}) == [rs("why")]
    assert r.send({"type": "reasoning-delta", "id": "why", "delta": "x"}) == [rd("why", "x")]
    assert r.send({"type": "reasoning-end", "id": "why"}) == [re_("why")]
    r.finish()
    parts = r.valid().message["parts"]
    assert parts[1]["text"] == "Hi!"
    assert parts[2]["text"] == "x"


def test_send_raw_text_id_can_be_reused_after_it_closes() -> None:
    r = Recorder()
    r.send({"type": "text-start", "id": "x"})
    r.send({"type": "text-end", "id": "x"})
    assert r.send({"type": "text-start", "id": "x"}) == [ts("x")]
    r.finish()
    r.valid()


def test_send_delta_or_end_for_a_raw_id_that_is_not_open_is_refused() -> None:
    m = StreamMachine(message_id=MID)
    refused(
        m,
        lambda: m.send({"type": "text-delta", "id": "x", "delta": "a"}),
        re.escape(
            "text-delta: no text part with id 'x' was opened through send(); send text-start"
        ),
    )
    refused(
        m,
        lambda: m.send({"type": "reasoning-end", "id": "x"}),
        re.escape(
            "reasoning-end: no reasoning part with id 'x' was opened through send(); "
            "send reasoning-start first"
        ),
    )
    assert not m.started


def test_send_duplicate_raw_start_is_refused() -> None:
    m = StreamMachine(message_id=MID)
    m.send({"type": "text-start", "id": "x"})
    refused(
        m,
        lambda: m.send({"type": "text-start", "id": "x"}),
        "text-start: a text part with id 'x' is already open",
    )


def test_send_raw_start_with_an_id_a_generated_part_uses_is_refused() -> None:
    m = StreamMachine(message_id=MID)
    chunks = m.text_delta("a")
    refused(
        m,
        lambda: m.send({"type": "text-start", "id": "t1"}),
        "text-start: a text part with id 't1' is already open",
    )
    valid(chunks + m.finish())


def test_send_raw_start_with_the_streams_message_id() -> None:
    m = StreamMachine(message_id=MID)
    assert m.send({"type": "start", "messageId": MID, "messageMetadata": {"a": 1}}) == [
        {"type": "start", "messageId": MID, "messageMetadata": {"a": 1}}
    ]
    m2 = StreamMachine(message_id=MID)
    assert m2.send({"type": "start"}) == [START]


def test_send_raw_start_with_another_message_id_is_refused() -> None:
    m = StreamMachine(message_id=MID)
    refused(
        m,
        lambda: m.send({"type": "start", "messageId": "other"}),
        "start.messageId 'other' differs from this stream's message id 'm1'",
    )
    assert m.send({"type": "start"}) == [START]


def test_send_raw_finish_step_closes_open_parts() -> None:
    r = Recorder()
    r.send({"type": "text-start", "id": "x"})
    r.text_delta("d")
    assert r.send({"type": "reasoning-start", "id": "y"}) == [te("t1"), rs("y")]
    assert r.send({"type": "finish-step"}) == [re_("y"), te("x"), END_STEP]
    assert r.send({"type": "finish-step"}) == []
    r.finish()
    r.valid()


def test_send_raw_start_step() -> None:
    m = StreamMachine(message_id=MID)
    assert m.send({"type": "start-step"}) == [START, STEP]
    refused(
        m,
        lambda: m.send({"type": "start-step"}),
        "start-step inside an open step; send finish-step first",
    )
    assert m.text_delta("a") == [ts("t1"), td("t1", "a")]


def test_send_follows_the_tool_rules() -> None:
    m = StreamMachine(message_id=MID)
    refused(
        m,
        lambda: m.send({"type": "tool-output-available", "toolCallId": "c1", "output": 1}),
        "it is unknown to this stream",
        "c1",
    )
    assert m.send({"type": "tool-input-start", "toolCallId": "c1", "toolName": "t"}) == [
        START,
        STEP,
        tis(name="t"),
    ]
    assert m.send({"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "{}"}) == [
        {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "{}"}
    ]


@pytest.mark.parametrize(
    "chunk",
    [
        {"type": "text-delta", "id": "x"},
        {"type": "bogus"},
        {"type": "start", "messageId": None},
        {"type": "finish", "finishReason": "bogus"},
        {"type": "text-start", "id": "x", "extra": 1},
    ],
)
def test_send_validates_the_chunk_schema(chunk: dict[str, Any]) -> None:
    m = StreamMachine(message_id=MID)
    with pytest.raises(ProtocolError, match=re.escape(str(chunk["type"]))):
        m.send(chunk)
    assert not m.started


def test_send_refuses_what_is_not_a_chunk() -> None:
    m = StreamMachine(message_id=MID)
    refused(m, lambda: m.send(5), "send\\(\\) takes a chunk model or a mapping")  # type: ignore[arg-type]
    refused(
        m,
        lambda: m.send({"type": "text-delta", "id": "x", "delta": "a", "provider_metadata": {}}),
        "provider_metadata",
    )


def test_send_gates_the_finish_reason_by_target() -> None:
    m = StreamMachine(message_id=MID, target="v6")
    refused(
        m,
        lambda: m.send({"type": "finish", "finishReason": "interrupted"}),
        "finishReason 'interrupted'",
        error=TargetError,
    )


def test_send_replays_a_machines_own_stream_unchanged() -> None:
    source = Recorder(target="v7")
    source.start(metadata={"m": 1})
    source.reasoning_delta("think")
    source.text_delta("Hello", provider_metadata=PM)
    source.tool_input_start("c1", "search", title="Search")
    source.tool_input_delta("c1", '{"q":1}')
    source.tool_input_available("c1", {"q": 1})
    source.tool_approval_request("c1", "ap1", is_automatic=True)
    source.tool_approval_response("ap1", True)
    source.tool_output_available("c1", {"r": 1}, preliminary=True)
    source.tool_output_available("c1", {"r": 2})
    source.source_url("s1", "https://e.com")
    source.source_document("s2", "application/pdf", "Doc")
    source.file("https://e.com/f.png", "image/png")
    source.custom("openai.x")
    source.reasoning_file("https://e.com/r.png", "image/png")
    source.finish_step()
    source.steering_message("sm1", [{"type": "text", "text": "hey"}])
    source.data("progress", 1, id="p1")
    source.data("progress", 2, id="p1")
    source.data("ping", None, transient=True)
    source.message_metadata({"n": 2})
    source.finish_step()
    source.tool_input_available("c2", {}, tool_name="lookup", dynamic=True)
    source.tool_output_error("c2", "failed")
    source.tool_input_start("c3", "slow")
    source.text_delta("bye", key="k")
    source.text_end(key="k", citations=[{"source": _URL_SOURCE}])
    source.finish("stop", metadata={"done": True})
    source.valid()

    replay = StreamMachine(message_id=MID, target="v7")
    for chunk in source.chunks:
        assert replay.send(chunk) == [chunk], chunk
    assert replay.ended == "finish"


def test_tool_input_error_requires_its_error_text() -> None:
    m = StreamMachine(message_id=MID)
    refused(
        m,
        lambda: m.tool_input_error("c1", {"x": 1}, None, tool_name="t"),  # type: ignore[arg-type]
        re.escape("tool-input-error.errorText must be a string; got None"),
        "c1",
    )


@pytest.mark.parametrize("metadata", [1, "text", [1, 2], True])
def test_message_metadata_must_be_an_object(metadata: Any) -> None:
    # the client deep-merges metadata and throws when it merges an object into a primitive
    m = StreamMachine(message_id=MID)
    refused(m, lambda: m.start(metadata=metadata), "start.messageMetadata must be an object")
    refused(m, lambda: m.message_metadata(metadata), "message-metadata.messageMetadata must be")
    refused(m, lambda: m.finish(metadata=metadata), "finish.messageMetadata must be an object")


def test_no_metadata_merges_into_a_continued_message_with_primitive_metadata() -> None:
    message = {"id": "a1", "role": "assistant", "metadata": "v1", "parts": []}
    m = StreamMachine(continued_message=message)
    refused(m, lambda: m.message_metadata({"a": 1}), "cannot be merged")
    assert m.finish() == [{"type": "start", "messageId": "a1"}, FINISH]


def test_nested_payloads_go_out_in_wire_form() -> None:
    r = Recorder(target="v7")
    r.text_delta("Rivers")
    (end,) = r.text_end(
        citations=[{"source": {"type": "source", "sourceType": "url", "id": "s", "url": "u"}}]
    )
    assert end["citations"] == [
        {"source": {"type": "source", "sourceType": "url", "id": "s", "url": "u"}}
    ]
    # snake_case is not the wire: the client would not know these keys
    refused(
        r.machine,
        lambda: r.machine.steering_message(
            "s", [{"type": "file", "media_type": "image/png", "url": "data:,"}]
        ),
        "steering-message",
    )
    r.finish()
    r.valid()


def test_finish_reason_must_be_a_string() -> None:
    m = StreamMachine(message_id=MID)
    refused(m, lambda: m.finish(["stop"]), "finish.finishReason must be a string")  # type: ignore[arg-type]
    refused(m, lambda: m.text_end(citations=5), "citations must be a list")  # type: ignore[arg-type]


# --- the client's limit on one event ----------------------------------------------------------

_HUGE = "x" * MAX_EVENT_CHARS  # any event holding it is over the limit


def _open_tool(m: StreamMachine) -> list[Chunk]:
    return m.tool_input_start("c1", "lookup") + m.tool_input_delta("c1", '{"q":')


def _called_tool(m: StreamMachine) -> list[Chunk]:
    return m.tool_input_available("c1", {"q": 1}, tool_name="lookup")


_OVERSIZED: list[tuple[str, Callable[[StreamMachine], list[Chunk]], Callable[[StreamMachine], list[Chunk]], str, str]] = [
    # (name, the calls before, the refused call, its chunk type, the field named)
    ("data", lambda m: [], lambda m: m.data("big", {"blob": _HUGE}), "data-big", "data"),
    ("metadata", lambda m: m.text_delta("hi"), lambda m: m.message_metadata({"b": _HUGE}), "message-metadata", "messageMetadata"),
    ("start metadata", lambda m: [], lambda m: m.start(metadata={"b": _HUGE}), "start", "messageMetadata"),
    ("finish metadata", lambda m: m.text_delta("hi"), lambda m: m.finish(metadata={"b": _HUGE}), "finish", "messageMetadata"),
    ("new text part", lambda m: [], lambda m: m.text_delta(_HUGE), "text-delta", "delta"),
    ("open text part", lambda m: m.text_delta("hi"), lambda m: m.text_delta(_HUGE), "text-delta", "delta"),
    ("open reasoning part", lambda m: m.reasoning_delta("hm"), lambda m: m.reasoning_delta(_HUGE), "reasoning-delta", "delta"),
    ("tool input delta", _open_tool, lambda m: m.tool_input_delta("c1", _HUGE), "tool-input-delta", "inputTextDelta"),
    ("tool output", _called_tool, lambda m: m.tool_output_available("c1", {"rows": [_HUGE]}), "tool-output-available", "output"),
    ("inline file", lambda m: [], lambda m: m.file("data:text/plain;base64," + _HUGE, "text/plain"), "file", "url"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("before", "refused", "chunk_type", "field"),
    [case[1:] for case in _OVERSIZED],
    ids=[case[0] for case in _OVERSIZED],
)
def test_an_event_over_the_clients_limit_is_refused_and_changes_nothing(
    before: Callable[[StreamMachine], list[Chunk]],
    refused: Callable[[StreamMachine], list[Chunk]],
    chunk_type: str,
    field: str,
) -> None:
    """The client fails its whole stream on such an event; the machine refuses it with
    an error naming the chunk and field, and the stream goes on exactly as if it had
    never been asked (the same chunks as a machine that was not)."""

    def rest(m: StreamMachine) -> list[Chunk]:
        out = m.text_delta(" more")
        if m.tool_call_state("c1") == "input-streaming":
            out += m.tool_input_delta("c1", "1}")
        if m.tool_call_state("c1") == "input-available":
            out += m.tool_output_available("c1", {"ok": True})
        return out + m.finish()

    asked, control = StreamMachine(message_id=MID), StreamMachine(message_id=MID)
    chunks = before(asked)
    with pytest.raises(EventTooLarge) as refusal:
        refused(asked)
    assert (refusal.value.chunk_type, refusal.value.field) == (chunk_type, field)
    assert refusal.value.size > MAX_EVENT_CHARS
    assert f"{chunk_type}.{field} makes an SSE event of" in str(refusal.value)
    assert isinstance(refusal.value, ProtocolError)
    chunks += rest(asked)
    assert chunks == before(control) + rest(control)
    valid(chunks)
