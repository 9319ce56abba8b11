"""DSPy's own predict-module scenarios (ReAct, ReActV2, ChainOfThought), rebuilt.

Shared by ``tests/adapters/dspy/test_peer_predict.py`` and the JS conformance corpus.
Each entry names the upstream test (DSPy's ``tests/predict/``) it rebuilds: the same
program, signature, tools, model turns and inputs, answered by the scripted model
server (``FakeLLM``) instead of ``DummyLM`` (which does not stream).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dspy

from tests.support.dspy_scenarios import Scenario
from tests.support.fake_llm import Reply, chat


def add(a: int, b: int) -> int:
    """Add two numbers (upstream ``foo`` without type hints; hints keep pyright strict)."""
    return a + b


def failing_add(a: int, b: int) -> int:
    """Add two numbers; always fails (upstream ``test_error_retry``'s ``foo``)."""
    raise RuntimeError("tool error")


async def afailing_add(a: int, b: int) -> int:
    """Add two numbers; always fails, asynchronously."""
    raise RuntimeError("tool error")


def failing_tool() -> str:
    """Always fails (upstream ``test_tool_error_observation_format``)."""
    raise ValueError("tool blew up")


def lookup(query: str) -> str:
    """Look a query up."""
    return f"found {query}"


def react_turn(thought: str, tool: str, **args: Any) -> Reply:
    return Reply(chat(next_thought=thought, next_tool_name=tool, next_tool_args=args))


def v2_turn(thought: str, calls: Any) -> Reply:
    return Reply(chat(next_thought=thought, tool_calls=calls))


def calls(*pairs: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "args": args} for name, args in pairs]}


ADD_TWICE_FAILING = (
    react_turn("I need to add two numbers.", "foo", a=1, b=2),
    react_turn("I need to add two numbers.", "foo", a=1, b=2),
    # the model would succeed next, but max_iters=2 stops first
    Reply(chat(reasoning="I added the numbers successfully", c=3)),
)
LOOKUP_CATS = (
    v2_turn("I should look this up.", calls(("lookup", {"query": "cats"}))),
    v2_turn("I can answer now.", calls(("submit", {"answer": "found cats"}))),
)


@dataclass(frozen=True)
class PeerScenario:
    upstream: str
    """``module::test`` in DSPy's repository."""
    scenario: Scenario
    text_fields: tuple[str, ...] = ("answer",)
    """The output fields shown as text; a non-``str`` output (``c: int``) is left to the
    structured-output parts (issue 22 item 3) and not compared here."""


PEER_SCENARIOS: dict[str, PeerScenario] = {
    "react-without-typehint": PeerScenario(
        "tests/predict/test_react.py::test_tool_calling_without_typehint",
        Scenario(
            lambda: dspy.ReAct("a, b -> c:int", tools=[dspy.Tool(add, name="foo")]),
            [
                react_turn("I need to add two numbers.", "foo", a=1, b=2),
                react_turn("I have the sum, now I can finish.", "finish"),
                Reply(chat(reasoning="I added the numbers successfully", c=3)),
            ],
            {"a": 1, "b": 2},
        ),
        text_fields=(),
    ),
    "react-error-retry": PeerScenario(
        "tests/predict/test_react.py::test_error_retry",
        Scenario(
            lambda: dspy.ReAct("a, b -> c:int", tools=[dspy.Tool(failing_add, name="foo")]),
            ADD_TWICE_FAILING,
            {"a": 1, "b": 2, "max_iters": 2},
        ),
        text_fields=(),
    ),
    "react-async-error-retry": PeerScenario(
        "tests/predict/test_react.py::test_async_error_retry",
        Scenario(
            lambda: dspy.ReAct("a, b -> c:int", tools=[dspy.Tool(afailing_add, name="foo")]),
            ADD_TWICE_FAILING,
            {"a": 1, "b": 2, "max_iters": 2},
        ),
        text_fields=(),
    ),
    "react-tool-error-observation": PeerScenario(
        "tests/predict/test_react.py::test_tool_error_observation_format",
        Scenario(
            lambda: dspy.ReAct("question -> answer", tools=[failing_tool]),
            [
                react_turn("I will call the tool.", "failing_tool"),
                Reply(chat(reasoning="The tool failed.", answer="n/a")),
            ],
            {"question": "What happens?", "max_iters": 1},
        ),
    ),
    "react-v2-text-loop": PeerScenario(
        "tests/predict/test_react_v2.py::test_react_v2_text_mock_lm_loop_records_inputs_once",
        Scenario(
            lambda: dspy.ReActV2("question -> answer", tools=[lookup]),
            LOOKUP_CATS,
            {"question": "cats"},
        ),
    ),
    "react-v2-top-level-arguments": PeerScenario(
        "tests/predict/test_react_v2.py::test_react_v2_text_mode_accepts_top_level_tool_arguments",
        Scenario(
            lambda: dspy.ReActV2("question -> answer", tools=[lookup]),
            [
                v2_turn(
                    "I should look this up.", {"name": "lookup", "arguments": {"query": "cats"}}
                ),
                LOOKUP_CATS[1],
            ],
            {"question": "cats"},
            settings={"adapter": dspy.ChatAdapter(use_native_function_calling=False)},
        ),
    ),
    "react-v2-wrapped-submit": PeerScenario(
        "tests/predict/test_react_v2.py::test_react_v2_text_mode_accepts_wrapped_submit_arguments",
        Scenario(
            lambda: dspy.ReActV2("question -> answer", tools=[]),
            [
                v2_turn(
                    "I can answer now.",
                    {"tool_calls": [{"name": "submit", "arguments": {"answer": "done"}}]},
                )
            ],
            {"question": "cats"},
            settings={"adapter": dspy.ChatAdapter(use_native_function_calling=False)},
        ),
    ),
    "react-v2-unknown-tool": PeerScenario(
        "tests/predict/test_react_v2.py::test_react_v2_unknown_tool_observation_can_continue",
        Scenario(
            lambda: dspy.ReActV2("question -> answer", tools=[]),
            [
                v2_turn("Try a missing tool.", calls(("missing_tool", {"query": "cats"}))),
                v2_turn("Recover with a final answer.", calls(("submit", {"answer": "done"}))),
            ],
            {"question": "cats"},
        ),
    ),
    "chain-of-thought-async": PeerScenario(
        "tests/predict/test_chain_of_thought.py::test_async_chain_of_thought",
        Scenario(
            lambda: dspy.ChainOfThought("question -> answer"),
            [Reply(chat(reasoning="find the number after 1", answer="2"))],
            {"question": "What is 1+1?"},
            adapter={"async_program": True},
        ),
    ),
}
