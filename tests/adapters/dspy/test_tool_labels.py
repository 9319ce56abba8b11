"""DSPy tool parts carry what the program knows of their tools (issue 22): the
``dspy.Tool``'s description as ``title`` (its summary line) and ``toolMetadata``, for
AI SDK 6 and 7 clients; a v5 client gets neither, and every body passes that client's
validator."""

from __future__ import annotations

from typing import Any

import dspy
import pytest

from tests.support.dspy_scenarios import SCENARIOS, Scenario, run_scenario, weather
from tests.support.fake_llm import Reply, chat
from tests.support.stream_rules import assert_valid_body, assert_valid_message
from uiwire.protocol.targets import Target

WEATHER = "Get the current weather in a city."


def labels(message: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [
        (p["type"], p.get("title"), p.get("toolMetadata"))
        for p in message["parts"]
        if p["type"].startswith("tool-") or p["type"] == "dynamic-tool"
    ]


REACT_V2_TEXT = Scenario(
    lambda: dspy.ReActV2("question -> answer", tools=[weather], max_iters=4),
    [
        Reply(
            chat(
                next_thought="Look it up.",
                tool_calls={"tool_calls": [{"name": "weather", "args": {"city": "Paris"}}]},
            )
        ),
        Reply(
            chat(
                next_thought="Submit.",
                tool_calls={"tool_calls": [{"name": "submit", "args": {"answer": "Sunny."}}]},
            )
        ),
    ],
    {"question": "Weather in Paris?"},
)
"""DSPy's tests/predict/test_react_v2.py text mode: one call to a known tool, then submit."""


@pytest.mark.parametrize("target", ["v6", "v7"])
@pytest.mark.parametrize("scenario", ["react", "react-v2"])
async def test_an_agents_tool_part_is_labelled_from_its_dspy_tool(
    scenario: str, target: Target
) -> None:
    """tests/predict/test_react.py (ReAct, text fields) and ReActV2: the tool's
    docstring, as ``dspy.Tool`` reads it, is the description the part carries."""
    chosen = SCENARIOS["react-sync-tool"] if scenario == "react" else REACT_V2_TEXT
    outcome = await run_scenario(chosen, target=target)
    message = assert_valid_message(outcome.body, target)
    expected = [("tool-weather", WEATHER, {"origin": "function", "description": WEATHER})]
    assert labels(message) == expected
    assert labels(outcome.record.message) == expected


async def test_a_v5_client_gets_no_title_or_tool_metadata() -> None:
    outcome = await run_scenario(SCENARIOS["react-sync-tool"], target="v5")
    chunks = assert_valid_body(outcome.body, "v5")
    assert not [c for c in chunks if "title" in c or "toolMetadata" in c]
    assert labels(outcome.record.message) == [("tool-weather", None, None)]
