"""An agent's structured ``output_type`` streams as a ``data-output`` part, not JSON text
(issue 22 item 3): the partial object as the client parses partial JSON, then the SDK's
``final_output``; the next turn's history gives the model the JSON it wrote."""

from __future__ import annotations

import json
from typing import Any

from agents import AgentOutputSchema

from tests.support.agents_scenarios import (
    WEATHER_REPORT_JSON,
    Outcome,
    pieces,
    run_scenario,
)
from tests.support.stream_rules import assert_valid_body
from uiwire.adapters.agents import to_agent_input
from uiwire.protocol._partial_json import parse_partial_json


def output_chunks(outcome: Outcome) -> list[dict[str, Any]]:
    chunks = assert_valid_body(outcome.body)
    return [c for c in chunks if c["type"] == "data-output"]


def partial_values(text: str, *, wrapper: str | None = None) -> list[Any]:
    """What the part shows after each piece: the client's parse of the text so far
    (null before anything parses), each change once."""
    values: list[Any] = []
    so_far = ""
    for piece in pieces(text):
        so_far += piece
        value, state = parse_partial_json(so_far)
        if wrapper is not None:
            parsed = isinstance(value, dict) and wrapper in value
            value, state = (value[wrapper], state) if parsed else (None, "failed-parse")  # pyright: ignore[reportUnknownVariableType]
        if not values or (state != "failed-parse" and value != values[-1]):
            values.append(value)
    return values


async def test_a_pydantic_output_type_streams_as_one_data_part_ending_with_final_output() -> None:
    outcome = await run_scenario("structured-output")
    final = outcome.result.final_output
    chunks = output_chunks(outcome)
    assert len({c["id"] for c in chunks}) == 1  # one part, replaced in place
    assert [c["data"]["state"] for c in chunks] == ["streaming"] * (len(chunks) - 1) + ["done"]
    assert [c["data"]["value"] for c in chunks[:-1]] == partial_values(WEATHER_REPORT_JSON)
    assert chunks[-1]["data"] == {
        "name": "WeatherReport",
        "state": "done",
        "value": final.model_dump(mode="json", by_alias=True),
    }
    parts = outcome.record.message["parts"]
    assert [p["type"] for p in parts] == ["data-agent", "step-start", "data-output"]
    assert parts[-1]["data"]["value"] == final.model_dump(mode="json")


async def test_the_next_turn_gives_the_model_the_json_it_wrote() -> None:
    outcome = await run_scenario("structured-output")
    user = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Weather?"}]}
    history = to_agent_input([user, outcome.record.message])
    assert history[0] == {"role": "user", "content": "Weather?"}
    assert history[1]["role"] == "assistant"  # pyright: ignore[reportGeneralTypeIssues, reportTypedDictNotRequiredAccess]
    content: Any = history[1]["content"]  # pyright: ignore[reportGeneralTypeIssues, reportTypedDictNotRequiredAccess]
    assert json.loads(content) == json.loads(WEATHER_REPORT_JSON)
    assert type(outcome.result.final_output).model_validate_json(content) == (
        outcome.result.final_output
    )


async def test_a_list_output_type_streams_unwrapped_and_goes_back_wrapped() -> None:
    """The SDK wraps ``list[str]`` in ``{"response": ...}``: the part shows the list,
    the history gives the model the wrapped JSON, which the SDK's own schema takes."""
    outcome = await run_scenario("structured-list-after-handoff")
    final = outcome.result.final_output
    assert final == ["umbrella", "boots", "coat"]
    parts = outcome.record.message["parts"]
    texts = [p["text"] for p in parts if p["type"] == "text"]
    assert texts == ["Let me hand you to the packing list."]  # the triage agent: text
    chunks = output_chunks(outcome)
    text = '{"response": ["umbrella", "boots", "coat"]}'
    assert [c["data"]["value"] for c in chunks[:-1]] == partial_values(text, wrapper="response")
    assert chunks[-1]["data"] == {
        "name": "list[str]",
        "state": "done",
        "value": final,
        "wrapper": "response",
    }
    history = to_agent_input([outcome.record.message])
    written: Any = history[-1]
    assert written == {"role": "assistant", "content": '{"response":["umbrella","boots","coat"]}'}
    assert AgentOutputSchema(list[str]).validate_json(written["content"]) == final
