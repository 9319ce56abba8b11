"""A DSPy output field typed other than ``str`` streams as a ``data-output`` part
(issue 22 item 3): the partial value as the client parses partial JSON, then the
Prediction's validated value; ``str`` fields stay text; the next turn's history holds
the value.

The structured cases of DSPy's ``tests/streaming/test_streaming.py`` (the seven
``*_pydantic_*`` / ``*_generic_type_*`` / ``*_mixed_fields_*`` / ``*_bracket_balance_*``
/ ``*_multiple_fields_*`` tests, left out of ``test_peer_streaming.py`` until now) are
rebuilt here with the same signatures, adapters and model replies (their token splits
become fixed-size pieces), plus the scenarios of ``tests.support.dspy_scenarios``.
"""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any

import dspy
import pydantic
import pytest
from pydantic_core import to_jsonable_python

from tests.support.dspy_scenarios import PACKING, SCENARIOS, Outcome, Scenario, run_scenario
from tests.support.fake_llm import Reply
from tests.support.stream_rules import assert_valid_body
from uiwire.adapters.dspy import history_fields, to_dspy_inputs
from uiwire.protocol._partial_json import parse_partial_json


@pytest.fixture(autouse=True)
def _quiet_expected_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="uiwire")


class SimpleResponse(pydantic.BaseModel):
    message: str
    status: str


class NestedResponse(pydantic.BaseModel):
    title: str
    content: dict[str, Any]
    metadata: SimpleResponse


class ComplexResponse(pydantic.BaseModel):
    items: list[str]
    settings: dict[str, str]
    active: bool


def _signature(**outputs: Any) -> Any:
    fields: dict[str, Any] = {"question": (str, dspy.InputField())}
    fields.update({name: (kind, dspy.OutputField()) for name, kind in outputs.items()})
    return dspy.Signature(fields, "Answer the question.")


CHAT = {"adapter": dspy.ChatAdapter()}
JSON = {"adapter": dspy.JSONAdapter()}

UPSTREAM: dict[str, Scenario] = {
    "test_chat_adapter_simple_pydantic_streaming": Scenario(
        lambda: dspy.Predict(_signature(response=SimpleResponse)),
        [
            Reply(
                '[[ ## response ## ]]\n\n{"message": "Hello world!", "status": "success"}'
                "\n\n[[ ## completed ## ]]",
                piece=8,
            )
        ],
        {"question": "Say hello"},
        settings=CHAT,
    ),
    "test_chat_adapter_with_generic_type_annotation": Scenario(
        lambda: dspy.Predict(_signature(response=list[str] | int)),
        [Reply("[[ ## response ## ]]\n\n1\n\n[[ ## completed ## ]]", piece=5)],
        {"question": "Say hello"},
        settings=CHAT,
    ),
    "test_chat_adapter_nested_pydantic_streaming": Scenario(
        lambda: dspy.Predict(_signature(response=NestedResponse)),
        [
            Reply(
                '[[ ## response ## ]]\n\n{"title": "Test", "content": {"key": "value"}, '
                '"metadata": {"message": "nested", "status": "ok"}}\n\n[[ ## completed ## ]]',
                piece=12,
            )
        ],
        {"question": "Generate nested response"},
        settings=CHAT,
    ),
    "test_chat_adapter_mixed_fields_streaming": Scenario(
        lambda: dspy.Predict(_signature(summary=str, details=SimpleResponse)),
        [
            Reply(
                "[[ ## summary ## ]]\n\nThis is a summary of the response\n\n[[ ## details ## ]]"
                '\n\n{"message": "Detailed info", "status": "complete"}\n\n[[ ## completed ## ]]',
                piece=10,
            )
        ],
        {"question": "Generate mixed response"},
        settings=CHAT,
    ),
    "test_json_adapter_simple_pydantic_streaming": Scenario(
        lambda: dspy.Predict(_signature(response=SimpleResponse)),
        [Reply('{"response":{"message": "Hello JSON!", "status": "ok"}}', piece=7)],
        {"question": "Say hello in JSON"},
        settings=JSON,
    ),
    "test_json_adapter_bracket_balance_detection": Scenario(
        lambda: dspy.Predict(_signature(response=ComplexResponse)),
        [
            Reply(
                '{"response": {"items": ["a", "b"], "settings": {"key": "value"}, "active": true}}',
                piece=9,
            )
        ],
        {"question": "Generate complex JSON"},
        settings=JSON,
    ),
    "test_json_adapter_multiple_fields_detection": Scenario(
        lambda: dspy.Predict(_signature(first=SimpleResponse, second=SimpleResponse)),
        [
            Reply(
                '{"first": {"message": "first response", "status": "ok"}, "second": '
                '{"message": "second response", "status": "done"}}',
                piece=11,
            )
        ],
        {"question": "Generate two responses"},
        settings=JSON,
    ),
}


def structured_fields(outcome: Outcome) -> dict[str, Any]:
    """The Prediction's fields the adapter shows as structured outputs."""
    return {
        name: value
        for name, value in outcome.result.items()
        if not isinstance(value, str) and name != "reasoning"
    }


def prefixes_parsed(text: str) -> list[Any]:
    """Every value the client's partial-JSON parse gives some prefix of ``text``."""
    values: list[Any] = [None]
    for end in range(1, len(text) + 1):
        value, state = parse_partial_json(text[:end])
        if state != "failed-parse":
            values.append(value)
    return values


def assert_shows_the_prediction(outcome: Outcome) -> None:
    """Each structured field is one ``data-output`` part: its streaming values are the
    client's parses of growing prefixes of the model's JSON, in order, each change once;
    its last value is the Prediction's (JSON form, by alias), ``done``. Every ``str``
    field is text, exactly as the Prediction holds it."""
    chunks = assert_valid_body(outcome.body)
    prediction = outcome.result
    structured = structured_fields(outcome)
    assert structured, "the scenario has a structured field"
    by_name: dict[str, list[dict[str, Any]]] = {}
    for chunk in chunks:
        if chunk["type"] == "data-output":
            by_name.setdefault(chunk["data"]["name"], []).append(chunk)
    assert set(by_name) == set(structured)
    for name, field_chunks in by_name.items():
        assert len({c["id"] for c in field_chunks}) == 1, name
        states = [c["data"]["state"] for c in field_chunks]
        assert states == ["streaming"] * (len(states) - 1) + ["done"], name
        final = to_jsonable_python(prediction[name], by_alias=True)
        assert field_chunks[-1]["data"]["value"] == final
        streamed = [c["data"]["value"] for c in field_chunks[:-1]]
        assert all(a != b for a, b in itertools.pairwise(streamed)), "a chunk per change"
        parses = prefixes_parsed(json.dumps(final))
        positions = [parses.index(v) for v in streamed]  # each is a prefix's parse...
        assert positions == sorted(positions)  # ...of a growing prefix
    parts = outcome.record.message["parts"]
    texts = [p["text"] for p in parts if p["type"] == "text"]
    assert texts == [v for k, v in prediction.items() if isinstance(v, str) and k != "reasoning"]


@pytest.mark.parametrize("name", sorted(UPSTREAM))
async def test_dspy_streaming_structured_cases(name: str) -> None:
    outcome = await run_scenario(UPSTREAM[name])
    assert_shows_the_prediction(outcome)


@pytest.mark.parametrize(
    "name", ["structured-list", "structured-fields", "structured-json-adapter"]
)
async def test_structured_scenarios(name: str) -> None:
    outcome = await run_scenario(SCENARIOS[name])
    assert_shows_the_prediction(outcome)


async def test_a_list_answer_goes_back_into_the_next_turns_history() -> None:
    outcome = await run_scenario(SCENARIOS["structured-list"])
    answer = outcome.result.answer
    program = dspy.Predict("history: dspy.History, question -> answer: list[str]")
    fields = history_fields(program)
    assert fields == {
        "question": "question",
        "answer": "answer",
        "history": "history",
        "files": None,
    }
    user = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Pack?"}]}
    again = {"id": "u2", "role": "user", "parts": [{"type": "text", "text": "And for Rome?"}]}
    inputs = to_dspy_inputs([user, outcome.record.message, again], **fields)
    assert inputs["history"].messages == [{"question": "Pack?", "answer": answer}]
    assert inputs["question"] == "And for Rome?"


async def test_every_structured_field_goes_back_under_its_name() -> None:
    outcome = await run_scenario(SCENARIOS["structured-fields"])
    user = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Pack?"}]}
    again = {"id": "u2", "role": "user", "parts": [{"type": "text", "text": "Rome?"}]}
    inputs = to_dspy_inputs([user, outcome.record.message, again])
    assert inputs["history"].messages == [
        {"question": "Pack?", "answer": "Pack for rain.", "packing": PACKING, "confidence": 0.9}
    ]
