"""check_stream / validate_stream: the client's layers in order, and uiwire's framing rules."""

from __future__ import annotations

import pytest

from uiwire.protocol import StreamViolation, check_stream, validate_stream

START = '{"type":"start","messageId":"m"}'
STEP = '{"type":"start-step"}'
DONE = "data: [DONE]\n\n"


def events(*chunks: str) -> str:
    return "".join(f"data: {c}\n\n" for c in chunks)


def test_a_valid_stream_reports_the_assembled_message() -> None:
    body = events(START, STEP, '{"type":"text-start","id":"t"}', '{"type":"text-delta","id":"t","delta":"hi"}',
                  '{"type":"text-end","id":"t"}', '{"type":"finish-step"}', '{"type":"finish","finishReason":"stop"}') + DONE  # fmt: skip
    report = validate_stream(body.encode())
    assert report.ok
    assert report.finish_reason == "stop"
    assert report.message == {
        "id": "m",
        "role": "assistant",
        "parts": [{"type": "step-start"}, {"type": "text", "text": "hi", "state": "done"}],
    }
    assert [c["type"] for c in report.chunks][:2] == ["start", "start-step"]


@pytest.mark.parametrize(
    ("body", "kind", "index", "needle"),
    [
        (events(START), "sse", 1, "does not end with 'data: [DONE]'"),
        (events(START) + "data: [DONE]", "sse", 1, "does not end with"),  # unterminated: dropped
        (events(START) + DONE + events(STEP), "sse", 1, "follows data: [DONE]"),
        (events(START, "{oops") + DONE, "json", 1, ""),
        (events(START, '{"type":"data-x","data":{"__proto__":1}}') + DONE, "json", 1, ""),
        (events(START, '"text"') + DONE, "schema", 1, "not a chunk object"),
        (events(START, '{"type":"text-start","id":"t","provider_metadata":{}}') + DONE, "schema", 1, "provider_metadata"),
        (events(START, '{"type":"abort","reason":"x"}') + DONE, "schema", 1, "v5"),
        (events(START, STEP, '{"type":"text-delta","id":"t","delta":"x"}') + DONE, "ordering", 2, "text-delta"),
    ],
)  # fmt: skip
def test_the_first_violation_is_located(body: str, kind: str, index: int, needle: str) -> None:
    target = "v5" if '"reason"' in body else "v6"
    report = check_stream(body, target=target)
    assert report.violation is not None
    assert (report.violation.kind, report.violation.index) == (kind, index)
    assert needle in str(report.violation)
    with pytest.raises(StreamViolation):
        validate_stream(body, target=target)


def test_the_message_stops_where_the_client_stops() -> None:
    body = events(START, STEP, '{"type":"text-start","id":"t"}', '{"type":"text-end","id":"nope"}', '{"type":"text-end","id":"t"}') + DONE  # fmt: skip
    report = check_stream(body)
    assert report.violation is not None
    assert report.violation.chunk_type == "text-end"
    assert report.message["parts"][-1] == {"type": "text", "text": "", "state": "streaming"}


def test_a_continuation_needs_the_continued_message() -> None:
    body = events('{"type":"start","messageId":"a1"}', '{"type":"tool-output-available","toolCallId":"c1","output":1}') + DONE  # fmt: skip
    assert not check_stream(body).ok
    message = {
        "id": "a1",
        "role": "assistant",
        "parts": [{"type": "tool-t", "toolCallId": "c1", "state": "input-available", "input": {}}],
    }
    report = validate_stream(body, message=message)
    assert report.message["parts"][0]["state"] == "output-available"
