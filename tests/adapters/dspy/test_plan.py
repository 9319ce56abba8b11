"""Which fields stream as what, and the errors for overrides that name nothing."""

from __future__ import annotations

from typing import Any

import dspy
import pytest

from uiwire.adapters.dspy import DSPyAdapter
from uiwire.adapters.dspy._listeners import ToolCallDeltaListener
from uiwire.adapters.dspy._plan import build_plan


def roles(program: Any, **kwargs: Any) -> dict[str, str]:
    plan = build_plan(program, kwargs.get("fields"), None)
    return {f"{name}.{field}": route.role for (name, field), route in plan.routes.items()}


def sync_tool(x: str) -> str:
    """A sync tool."""
    return x


async def async_tool(x: str) -> str:
    """An async tool."""
    return x


class TwoStep(dspy.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rewrite = dspy.ChainOfThought("question -> query")
        self.answer = dspy.Predict("question, query -> answer, confidence: float")

    def forward(self, question: str) -> Any:
        query = self.rewrite(question=question).query
        return self.answer(question=question, query=query)


def test_predict_streams_its_outputs_as_text() -> None:
    assert roles(dspy.Predict("question -> answer")) == {"self.answer": "text"}


def test_chain_of_thought_streams_reasoning_then_text() -> None:
    assert roles(dspy.ChainOfThought("question -> answer")) == {
        "predict.reasoning": "reasoning",
        "predict.answer": "text",
    }


def test_react_streams_thoughts_tool_calls_and_the_extracted_answer() -> None:
    assert roles(dspy.ReAct("question -> answer", tools=[sync_tool])) == {
        "react.next_thought": "reasoning",
        "react.next_tool_name": "tool_name",
        "react.next_tool_args": "tool_args",
        "extract.predict.reasoning": "reasoning",
        "extract.predict.answer": "text",
    }
    plan = build_plan(dspy.ReAct("question -> answer", tools=[sync_tool]), None, None)
    assert plan.agent_tools == {"react": frozenset({"sync_tool"})}  # finish is internal
    assert plan.final_fields == (("answer", "text"),)


def test_react_v2_streams_native_tool_calls() -> None:
    program = dspy.ReActV2("question -> answer", tools=[async_tool])
    assert roles(program) == {"react.next_thought": "reasoning", "react.tool_calls": "tool_calls"}
    plan = build_plan(program, None, None)
    assert plan.internal_tool_names == {"react": frozenset({"submit"})}
    assert plan.final_fields == (("answer", "text"),)  # it answers through submit
    assert any(isinstance(x, ToolCallDeltaListener) for x in plan.listeners())


def test_own_module_streams_the_last_predictor_and_every_reasoning() -> None:
    assert roles(TwoStep()) == {
        "rewrite.predict.reasoning": "reasoning",
        "answer.answer": "text",
        "answer.confidence": "output",  # a float: a structured output
    }


def test_overrides_by_field_and_by_predictor() -> None:
    got = roles(
        TwoStep(),
        fields={"reasoning": "skip", "rewrite.predict.query": "text", "confidence": "text"},
    )
    assert got == {
        "rewrite.predict.query": "text",
        "answer.answer": "text",
        "answer.confidence": "text",
    }
    got = roles(TwoStep(), fields={"answer.confidence": "skip"})
    assert "answer.confidence" not in got
    got = roles(TwoStep(), fields={"rewrite.predict.query": "output"})
    assert got["rewrite.predict.query"] == "output"


@pytest.mark.parametrize(
    ("annotation", "role"),
    [
        ("str", "text"),
        ("Optional[str]", "text"),
        ("Literal['yes', 'no']", "text"),
        ("list[str]", "output"),
        ("dict[str, int]", "output"),
        ("int", "output"),
        ("bool", "output"),
        ("Optional[list[int]]", "output"),
    ],
)
def test_an_answer_typed_other_than_text_is_a_structured_output(annotation: str, role: str) -> None:
    assert roles(dspy.Predict(f"question -> answer: {annotation}")) == {"self.answer": role}


def test_listeners_are_new_every_time() -> None:
    plan = build_plan(dspy.ChainOfThought("question -> answer"), None, None)
    first, second = plan.listeners(), plan.listeners()
    assert len(first) == 2
    assert all(a is not b for a, b in zip(first, second, strict=True))
    assert all(listener.allow_reuse for listener in first)


@pytest.mark.parametrize(
    ("fields", "error", "match"),
    [
        ({"anwser": "text"}, ValueError, r"fields\['anwser'\] names no output field.*answer"),
        ({"nope.answer": "text"}, ValueError, r"fields\['nope.answer'\] names no output field"),
        ({"answer": "bold"}, ValueError, r"fields\['answer'\] must be one of"),
        ({"": "text"}, TypeError, r"fields: keys must be field names"),
        (["answer"], TypeError, r"fields must be a mapping"),
    ],
)
def test_bad_overrides_are_refused_naming_the_key(fields: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        DSPyAdapter(dspy.Predict("question -> answer"), fields=fields)


def test_tool_fields_can_only_be_skipped() -> None:
    program = dspy.ReAct("question -> answer", tools=[sync_tool])
    with pytest.raises(ValueError, match=r"react.next_tool_args streams tool calls"):
        DSPyAdapter(program, fields={"react.next_tool_args": "text"})
    plan = build_plan(program, {"next_tool_args": "skip"}, None)
    assert ("react", "next_tool_args") not in plan.routes


@pytest.mark.parametrize(
    ("program", "status", "async_program", "match"),
    [
        ("not a program", True, None, r"program must be a dspy.Module; got str"),
        (dspy.Module(), True, None, r"program has no dspy.Predict"),
        (dspy.Predict("q -> a"), "yes", None, r"status must be True, False or a dspy"),
        (dspy.Predict("q -> a"), True, "auto", r"async_program must be a bool or None"),
    ],
)
def test_bad_arguments_name_what_is_wrong(
    program: Any, status: Any, async_program: Any, match: str
) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        DSPyAdapter(program, status=status, async_program=async_program)


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        (dspy.Predict("question -> answer"), True),
        (dspy.ReAct("question -> answer", tools=[async_tool]), True),
        (dspy.ReAct("question -> answer", tools=[sync_tool]), False),  # a sync tool: thread
        (dspy.ReAct("question -> answer", tools=[async_tool, sync_tool]), False),
        (TwoStep(), False),  # no aforward
    ],
)
def test_async_is_chosen_only_when_nothing_would_block_the_loop(
    program: Any, expected: bool
) -> None:
    assert DSPyAdapter(program).async_program is expected
    assert DSPyAdapter(program, async_program=not expected).async_program is (not expected)
