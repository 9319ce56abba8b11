"""Usage arithmetic and validation; records derived from messages."""

from __future__ import annotations

import pytest

from uiwire.stream import StreamRecord, Usage


def test_usage_adds_up() -> None:
    total = Usage(input_tokens=3, output_tokens=4, reasoning_tokens=1) + Usage(
        input_tokens=1, cached_input_tokens=2
    )
    assert total == Usage(
        input_tokens=4, output_tokens=4, reasoning_tokens=1, cached_input_tokens=2
    )
    assert total.total_tokens == 8


@pytest.mark.parametrize("field", ["input_tokens", "output_tokens", "reasoning_tokens"])
@pytest.mark.parametrize("value", [-1, 1.5, "3", True])
def test_usage_rejects_bad_counts_by_name(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"Usage.{field}"):
        Usage(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, -1, 1.5, "3", True])
def test_reported_usage_counts_what_is_not_a_count_as_zero(value: object) -> None:
    usage = Usage.reported(input_tokens=5, output_tokens=value, cached_input_tokens=2)
    assert usage == Usage(input_tokens=5, cached_input_tokens=2)


def test_record_views_of_the_message() -> None:
    message = {
        "id": "m1",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {"type": "text", "text": "a", "state": "done"},
            {
                "type": "tool-search",
                "toolCallId": "c1",
                "state": "input-available",
                "input": {"q": 1},
            },
            {"type": "source-document", "sourceId": "s", "mediaType": "x/y", "title": "T"},
            {"type": "text", "text": "b", "state": "done"},
        ],
    }
    record = StreamRecord(message=message, finish_reason="stop", steps=1, usage=Usage())
    assert record.text == "ab"
    assert record.message_id == "m1"
    assert [(t.tool_call_id, t.tool_name, t.state) for t in record.tool_calls] == [
        ("c1", "search", "input-available")
    ]
    assert record.sources[0]["title"] == "T"
