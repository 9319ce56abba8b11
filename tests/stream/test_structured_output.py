"""``StructuredOutput``: the JSON of a typed result as one ``data-output`` part."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel, Field

from uiwire.protocol._partial_json import parse_partial_json
from uiwire.stream import OUTPUT_PART, MessageBuilder, StructuredOutput

REPORT = '{"city": "Paris", "days": [1, -2.5e1, true, null], "note": "sunny \\u00e9"}'


def _builder() -> tuple[MessageBuilder, list[dict[str, Any]]]:
    """A builder, and every chunk applied to it."""
    seen: list[dict[str, Any]] = []
    return MessageBuilder(on_chunk=seen.append), seen


async def test_each_change_of_the_partial_value_is_one_chunk_then_the_validated_value() -> None:
    builder, seen = _builder()
    output = StructuredOutput(builder, "Report")
    expected: list[Any] = []
    for i in range(1, len(REPORT) + 1):  # one character a delta, the worst case
        await output.write(REPORT[i - 1])
        value, state = parse_partial_json(REPORT[:i])
        if not expected or (state != "failed-parse" and expected[-1] != value):
            expected.append(value)  # the first write sends the part, null if need be
    await output.finish({"city": "Paris", "days": [1, -25, True, None], "note": "sunny é"})
    data = [c for c in seen if c["type"] == f"data-{OUTPUT_PART}"]
    assert {c["id"] for c in data} == {output.id}
    assert [c["data"]["value"] for c in data[:-1]] == expected
    assert all(c["data"]["state"] == "streaming" for c in data[:-1])
    assert len(data) < len(REPORT) / 2  # not a chunk per character
    assert data[-1]["data"] == {
        "name": "Report",
        "state": "done",
        "value": {"city": "Paris", "days": [1, -25, True, None], "note": "sunny é"},
    }
    parts = [p for p in builder.message["parts"] if p["type"] == "data-output"]
    assert parts == [{"type": "data-output", "id": output.id, "data": data[-1]["data"]}]
    assert [c["type"] for c in seen][:2] == ["start", "start-step"]  # in the model's step


class Forecast(BaseModel):
    city: str
    degrees: float = Field(alias="temperatureC")


@dataclasses.dataclass
class Point:
    x: int
    y: int


async def test_the_done_value_is_the_json_form_of_the_validated_object() -> None:
    builder = MessageBuilder()
    model = StructuredOutput(builder, "Forecast")
    await model.write('{"city": "Oslo", "temperatureC": 3')
    await model.finish(Forecast(city="Oslo", temperatureC=3.0))
    point = StructuredOutput(builder, "Point")
    await point.finish(Point(1, 2))
    parts = [p["data"] for p in builder.message["parts"] if p["type"] == "data-output"]
    assert parts == [
        {"name": "Forecast", "state": "done", "value": {"city": "Oslo", "temperatureC": 3.0}},
        {"name": "Point", "state": "done", "value": {"x": 1, "y": 2}},
    ]


async def test_a_wrapped_value_streams_unwrapped_and_says_its_wrapper() -> None:
    builder, seen = _builder()
    output = StructuredOutput(builder, "list[str]", wrapper="response")
    for piece in ['{"resp', 'onse": ["a', '", "b"', "]}"]:
        await output.write(piece)
    await output.finish()  # no validated value: the whole text, parsed
    values = [c["data"]["value"] for c in seen if c["type"] == "data-output"]
    assert values == [None, ["a"], ["a", "b"], ["a", "b"]]
    assert all(c["data"]["wrapper"] == "response" for c in seen if c["type"] == "data-output")


async def test_text_that_is_not_json_ends_done_with_null_and_the_text() -> None:
    builder = MessageBuilder()
    output = StructuredOutput(builder, "Report")
    for piece in ["not ", "json at all"]:
        await output.write(piece)
    await output.finish()
    parts = [p["data"] for p in builder.message["parts"] if p["type"] == "data-output"]
    assert parts == [{"name": "Report", "state": "done", "value": None, "text": "not json at all"}]
