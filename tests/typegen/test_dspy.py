"""What the generator reads from a DSPy program or adapter (``uiwire.typegen._dspy``)."""

from __future__ import annotations

from typing import Any

import dspy
from pydantic import BaseModel

from tests.typegen.apps import research_agent
from uiwire.adapters.dspy import DSPyAdapter
from uiwire.typegen._dspy import dspy_shape
from uiwire.typegen._shape import STATUS_DATA, USAGE_METADATA
from uiwire.typegen.render import shape_of


def test_an_agents_tools_are_typed_as_dspy_describes_them() -> None:
    shape = dspy_shape(DSPyAdapter(research_agent()))
    assert list(shape.tools) == ["search_papers"]  # ReAct's own finish is left out
    tool = shape.tools["search_papers"]
    assert tool.input is not None
    assert tool.input["required"] == ["topic"]  # `since` has a default
    assert tool.output is not None
    assert tool.output["type"] == "array"


def test_a_tool_without_a_return_annotation_has_an_unknown_output() -> None:
    def lookup(term: str):  # type: ignore[no-untyped-def]
        return term

    def anything(term: str) -> Any:
        return term

    shape = dspy_shape(DSPyAdapter(dspy.ReAct("question -> answer", tools=[lookup, anything])))
    assert shape.tools["lookup"].output is None
    assert shape.tools["anything"].output is None


def test_structured_answer_fields_are_outputs() -> None:
    shape = dspy_shape(DSPyAdapter(research_agent()))
    assert [o.name for o in shape.outputs] == ["papers"]  # `answer` is text
    value = shape.outputs[0].value
    assert value is not None
    assert value["type"] == "array"


def test_a_field_made_an_output_by_the_adapters_fields_option() -> None:
    class Verdict(BaseModel):
        ok: bool

    class Judge(dspy.Signature):
        claim: str = dspy.InputField()
        verdict: Verdict = dspy.OutputField()
        note: str = dspy.OutputField()

    program = dspy.Predict(Judge)
    assert [o.name for o in dspy_shape(DSPyAdapter(program)).outputs] == ["verdict"]
    overridden = DSPyAdapter(program, fields={"note": "output"})
    outputs = dspy_shape(overridden).outputs
    assert sorted(o.name for o in outputs) == ["note", "verdict"]
    assert next(o for o in outputs if o.name == "note").value == {"type": "string"}


def test_status_parts_only_when_the_adapter_sends_them() -> None:
    program = dspy.Predict("question -> answer")
    assert dspy_shape(DSPyAdapter(program)).data == {"status": STATUS_DATA}
    assert dspy_shape(DSPyAdapter(program, status=False)).data == {}
    assert dspy_shape(DSPyAdapter(program)).metadata == [USAGE_METADATA]


def test_a_program_is_read_as_its_default_adapter_would_serve_it() -> None:
    program = research_agent()
    assert shape_of(program) == dspy_shape(DSPyAdapter(program))
