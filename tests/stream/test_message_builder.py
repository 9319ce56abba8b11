"""``MessageBuilder``: a message assembled in memory, readable at any time."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from uiwire.protocol import ProtocolError
from uiwire.stream import DEFAULT_ERROR_TEXT, MessageBuilder, Usage


async def test_the_message_so_far_and_the_record_once_ended() -> None:
    builder = MessageBuilder(message_id="msg_1")
    assert builder.message == {"id": "msg_1", "role": "assistant", "parts": []}
    await builder.write_text("Hel")
    await builder.write_text("lo")
    so_far = builder.message
    assert [p.get("text") for p in so_far["parts"] if p["type"] == "text"] == ["Hello"]
    assert builder.record is None
    assert not builder.is_finished
    so_far["parts"].clear()  # a copy: the builder's message is untouched
    assert builder.message["parts"]
    builder.add_usage(Usage(input_tokens=2))
    await builder.finish()
    assert builder.is_finished
    assert builder.record is not None
    assert builder.record.text == "Hello"
    assert builder.record.usage == Usage(input_tokens=2)
    assert builder.record.message == builder.message


async def test_a_write_after_the_end_is_refused() -> None:
    builder = MessageBuilder()
    await builder.finish()
    with pytest.raises(ProtocolError):
        await builder.write_text("late")
    with pytest.raises(ProtocolError):
        builder.sync.write_data("late", 1)


async def test_on_chunk_sees_every_chunk_in_order() -> None:
    seen: list[dict[str, Any]] = []
    builder = MessageBuilder(message_id="msg_1", on_chunk=seen.append)
    await builder.write_text("Hi")
    call = await builder.begin_tool_call("search", {"q": 1}, tool_call_id="call_1")
    await builder.complete_tool_call(call, "found")
    await builder.finish()
    assert [c["type"] for c in seen] == [
        "start",
        "start-step",
        "text-start",
        "text-delta",
        "text-end",
        "tool-input-available",
        "tool-output-available",
        "finish-step",
        "finish",
    ]
    assert seen[0]["messageId"] == "msg_1"


@pytest.mark.parametrize(
    ("on_error", "shown"),
    [
        (None, DEFAULT_ERROR_TEXT),
        (lambda exc: f"Sorry: {exc}", "Sorry: quota"),
        (lambda exc: 1 / 0, DEFAULT_ERROR_TEXT),  # a failing hook falls back
    ],
)
async def test_an_exception_is_logged_and_masked_as_on_error_says(
    on_error: Any, shown: str, caplog: pytest.LogCaptureFixture
) -> None:
    builder = MessageBuilder(on_error=on_error)
    call = await builder.begin_tool_call("tool", {}, tool_call_id="call_1")
    with caplog.at_level(logging.ERROR, logger="uiwire"):
        await builder.fail_tool_call(call, RuntimeError("quota"))
        await builder.error(RuntimeError("quota"))
    record = builder.record
    assert record is not None
    assert record.tool_calls[0].error_text == shown
    assert record.error_text == shown
    assert isinstance(record.exception, RuntimeError)
    assert caplog.text.count("RuntimeError: quota") == 2  # each exception is logged


async def test_the_target_gates_the_writes() -> None:
    builder = MessageBuilder(target="v5")
    call = await builder.begin_tool_call("delete", {"id": 1})
    with pytest.raises(ProtocolError, match="approval"):
        await builder.request_tool_approval(call)


@pytest.mark.parametrize(
    ("options", "error", "field"),
    [
        ({"on_error": "mask"}, TypeError, "on_error"),
        ({"on_chunk": 3}, TypeError, "on_chunk"),
        ({"target": "v8"}, ValueError, "target"),
        ({"message_id": ""}, ValueError, "message_id"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], error: type, field: str) -> None:
    with pytest.raises(error, match=field):
        MessageBuilder(**options)


def test_add_usage_takes_a_usage() -> None:
    with pytest.raises(TypeError, match=r"usage must be a uiwire\.Usage"):
        MessageBuilder().add_usage({"input_tokens": 1})  # type: ignore[arg-type]
