"""DSPy's own streaming scenarios, through ``DSPyAdapter`` (issue 22 item 2, started).

Each case rebuilds one test of DSPy's ``tests/streaming/test_streaming.py`` (named in
``UPSTREAM``): the same program, signature, adapter and model reply, answered by the
scripted model server instead of a mocked ``litellm.acompletion`` (upstream's token
splits become fixed-size pieces). The body must be valid, and the message the client
assembles must show what DSPy produced: each listened field's text exactly as the
Prediction (or, for an earlier predictor, the model's reply) holds it, nothing lost,
doubled or reordered, no markup of DSPy's.

Left out of that module, and why:

* ``test_streaming_response_yields_expected_response_chunks``: ``streaming_response``,
  DSPy's legacy SSE helper, which the adapter replaces;
* ``test_sync_streaming``, ``test_sync_status_streaming``: streamify's sync generator;
  the adapter reads the async one;
* ``test_status_message_non_blocking`` (both): timing of DSPy's own status sends, which
  the adapter replaces by its bridge (``test_no_deadlock.py`` covers that);
* ``test_stream_listener_could_form_end_identifier_*`` (three): unit tests of the
  listener's buffer;
* ``test_streaming_allows_custom_chunk_types``: its program has no predictor, which the
  adapter refuses (nothing could stream).

``test_concurrent_status_message_providers`` is its own test below (two adapters
streaming at once, each with its own status provider).

Rebuilt elsewhere: the seven structured-output cases (``*_pydantic_*``,
``*_generic_type_*``, ``*_mixed_fields_*``, ``*_bracket_balance_*``,
``*_multiple_fields_*``), which stream as ``data-output`` parts
(``test_structured_output.py``); the custom streamable type and the citations
(``test_fidelity.py``), the async program's status messages (``test_fidelity.py``),
native reasoning (``test_adapter.py``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dspy
import pytest
from dspy.streaming import StatusMessageProvider

from tests.support.dspy_scenarios import Scenario, run_scenario
from tests.support.fake_llm import Reply, chat
from tests.support.stream_rules import assert_valid_body

UPSTREAM = "tests/streaming/test_streaming.py"


@pytest.fixture(autouse=True)
def _quiet_expected_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="uiwire")


class QuestionFromTool(dspy.Module):
    """A sync tool makes the question, a Predict answers it (upstream ``MyProgram`` of
    the status tests, which overrides ``__call__``)."""

    def __init__(self) -> None:
        super().__init__()
        self.generate_question = dspy.Tool(color_question, name="generate_question")
        self.predict = dspy.Predict("question->answer")

    def __call__(self, x: str) -> Any:  # pyright: ignore[reportIncompatibleMethodOverride]
        question = self.generate_question(x=x)
        return self.predict(question=question)


def color_question(x: str) -> str:
    """Ask about a thing's color."""
    return f"What color is the {x}?"


class AnswerThenJudge(dspy.Module):
    """Two predictors, both listened to (upstream ``MyProgram`` of the listener tests)."""

    def __init__(self) -> None:
        super().__init__()
        self.predict1 = dspy.Predict("question->answer")
        self.predict2 = dspy.Predict("question, answer->judgement")

    def forward(self, question: str) -> Any:
        answer = self.predict1(question=question).answer
        return self.predict2(question=question, answer=answer)


class AskTwice(dspy.Module):
    """One predictor called twice (upstream ``test_stream_listener_allow_reuse``)."""

    def __init__(self) -> None:
        super().__init__()
        self.predict = dspy.Predict("question->answer")

    def forward(self, question: str) -> Any:
        self.predict(question=question)
        return self.predict(question=question)


class CustomStatus(StatusMessageProvider):
    def tool_start_status_message(self, instance: Any, inputs: Any) -> str:
        return "Tool starting!"

    def tool_end_status_message(self, outputs: Any) -> str:
        return "Tool finished!"

    def module_start_status_message(self, instance: Any, inputs: Any) -> str | None:
        return "Predict starting!" if isinstance(instance, dspy.Predict) else None


class ReasoningThenAnswer(dspy.Signature):
    """A ``dspy.Reasoning`` field on a model without native reasoning: DSPy asks for it as
    an ordinary field (upstream ``test_streaming_reasoning_fallback``)."""

    question: str = dspy.InputField()
    reasoning: dspy.Reasoning = dspy.OutputField()
    answer: str = dspy.OutputField()


class ProviderStatus(StatusMessageProvider):
    """Status texts naming their provider (upstream ``MyStatusMessageProvider1``/``2``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def tool_start_status_message(self, instance: Any, inputs: Any) -> str:
        return f"{self.name}: Tool starting!"

    def tool_end_status_message(self, outputs: Any) -> str:
        return f"{self.name}: Tool finished!"

    def module_start_status_message(self, instance: Any, inputs: Any) -> str | None:
        return f"{self.name}: Predict starting!" if isinstance(instance, dspy.Predict) else None


ANSWER = "To get to the other side!"
JUDGEMENT = "The answer is humorous."
BOTH = {"fields": {"answer": "text"}}  # the first predictor's answer shows too


def json_reply(**fields: str) -> str:
    return json.dumps(fields)


def xml_reply(**fields: str) -> str:
    return "\n".join(f"<{name}>\n{value}\n</{name}>" for name, value in fields.items())


@dataclass(frozen=True)
class Case:
    upstream: str
    make_program: Callable[[], Any]
    script: Sequence[Reply]
    inputs: dict[str, Any]
    expected: Callable[[Any], list[tuple[str, str]]]
    """The (part type, text) the message must show, from the program's result."""
    adapter: dict[str, Any] = field(default_factory=dict[str, Any])
    settings: dict[str, Any] = field(default_factory=dict[str, Any])
    statuses: tuple[str, ...] | None = None


CASES: dict[str, Case] = {
    "predict": Case(
        "test_streamify_yields_expected_response_chunks",
        lambda: dspy.Predict("question->answer"),
        [Reply(chat(answer="How are you doing?"))],
        {"question": "What is the capital of France?"},
        lambda r: [("text", r.answer)],
    ),
    "default-status": Case(
        "test_default_status_streaming",
        QuestionFromTool,
        [Reply(chat(answer="blue"))],
        {"x": "sky"},
        lambda r: [("text", r.answer)],
        statuses=(
            "Calling tool generate_question...",
            "Tool calling finished! Querying the LLM with tool calling results...",
        ),
    ),
    "custom-status": Case(
        "test_custom_status_streaming",
        QuestionFromTool,
        [Reply(chat(answer="blue"))],
        {"x": "sky"},
        lambda r: [("text", r.answer)],
        adapter={"status": CustomStatus()},
        statuses=("Tool starting!", "Tool finished!", "Predict starting!"),
    ),
    "chat-adapter": Case(
        "test_stream_listener_chat_adapter / _returns_correct_chunk_chat_adapter",
        AnswerThenJudge,
        [Reply(chat(answer=ANSWER), piece=4), Reply(chat(judgement=JUDGEMENT), piece=4)],
        {"question": "why did a chicken cross the kitchen?"},
        lambda r: [("text", ANSWER), ("text", r.judgement)],
        adapter=BOTH,
    ),
    "chat-adapter-untokenized": Case(
        "test_stream_listener_returns_correct_chunk_chat_adapter_untokenized_stream",
        AnswerThenJudge,
        [Reply(chat(answer=ANSWER), piece=400), Reply(chat(judgement=JUDGEMENT), piece=400)],
        {"question": "why did a chicken cross the kitchen?"},
        lambda r: [("text", ANSWER), ("text", r.judgement)],
        adapter=BOTH,
    ),
    "chat-adapter-no-completed-marker": Case(
        "test_stream_listener_missing_completion_marker_chat_adapter",
        lambda: dspy.Predict("question->answer"),
        [Reply(f"[[ ## answer ## ]]\n{ANSWER}")],
        {"question": "why did a chicken cross the kitchen?"},
        lambda r: [("text", r.answer)],
    ),
    "chat-adapter-empty-last-chunk": Case(
        "test_stream_listener_empty_last_chunk_chat_adapter",
        lambda: dspy.Predict("question->answer"),
        [Reply(chat(answer=ANSWER) + "\n\n", piece=6)],
        {"question": "why did a chicken cross the kitchen?"},
        lambda r: [("text", r.answer)],
    ),
    "spaces": Case(
        "test_streaming_handles_space_correctly",
        lambda: dspy.Predict("question->answer"),
        [Reply(chat(answer="How are you doing?"), piece=4)],
        {"question": "What is the capital of France?"},
        lambda r: [("text", r.answer)],
    ),
    "json-adapter": Case(
        "test_stream_listener_json_adapter / _returns_correct_chunk_json_adapter",
        AnswerThenJudge,
        [Reply(json_reply(answer=ANSWER), piece=4), Reply(json_reply(judgement=JUDGEMENT))],
        {"question": "why did a chicken cross the kitchen?"},
        lambda r: [("text", ANSWER), ("text", r.judgement)],
        adapter=BOTH,
        settings={"adapter": dspy.JSONAdapter()},
    ),
    "json-adapter-untokenized": Case(
        "test_stream_listener_returns_correct_chunk_json_adapter_untokenized_stream",
        AnswerThenJudge,
        # upstream's few large chunks (a provider that sends words, not tokens)
        [
            Reply(json_reply(answer=ANSWER), piece=16),
            Reply(json_reply(judgement=JUDGEMENT), piece=16),
        ],
        {"question": "why did a chicken cross the kitchen?"},
        lambda r: [("text", ANSWER), ("text", r.judgement)],
        adapter=BOTH,
        settings={"adapter": dspy.JSONAdapter()},
    ),
    "json-adapter-empty-last-chunk": Case(
        "test_stream_listener_empty_last_chunk_json_adapter",
        lambda: dspy.Predict("question->answer"),
        [Reply(json_reply(answer=ANSWER) + "\n", piece=5)],
        {"question": "why did a chicken cross the kitchen?"},
        lambda r: [("text", r.answer)],
        settings={"adapter": dspy.JSONAdapter()},
    ),
    "allow-reuse": Case(
        "test_stream_listener_allow_reuse",
        AskTwice,
        [Reply(chat(answer=ANSWER)), Reply(chat(answer=ANSWER))],
        {"question": "why did a chicken cross the kitchen?"},
        lambda r: [("text", r.answer), ("text", r.answer)],  # the listener works twice
    ),
    "xml-adapter": Case(
        "test_stream_listener_returns_correct_chunk_xml_adapter",
        AnswerThenJudge,
        [Reply(xml_reply(answer=ANSWER), piece=3), Reply(xml_reply(judgement=JUDGEMENT))],
        {"question": "why did a chicken cross the kitchen?"},
        lambda r: [("text", ANSWER), ("text", r.judgement)],
        adapter=BOTH,
        settings={"adapter": dspy.XMLAdapter()},
    ),
    "reasoning-fallback": Case(
        "test_streaming_reasoning_fallback",
        lambda: dspy.Predict(ReasoningThenAnswer),
        [
            Reply(
                chat(reasoning="Let's think step by step about this question.", answer=ANSWER),
                piece=3,
            )
        ],
        {"question": "Why did a chicken cross the kitchen?"},
        lambda r: [("reasoning", str(r.reasoning)), ("text", r.answer)],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_dspy_streaming_scenario_shows_what_dspy_produced(name: str) -> None:
    case = CASES[name]
    outcome = await run_scenario(
        Scenario(
            case.make_program,
            case.script,
            case.inputs,
            adapter=case.adapter,
            settings=case.settings,
        )
    )
    for target in ("v6", "v7"):
        chunks = assert_valid_body(outcome.body, target)
    assert outcome.record.exception is None, repr(outcome.record.exception)
    shown = [
        (part["type"], part["text"])
        for part in outcome.record.message["parts"]
        if part["type"] in ("text", "reasoning")
    ]
    assert shown == case.expected(outcome.result), f"{UPSTREAM}::{case.upstream}"
    assert b"[[ ##" not in outcome.body
    if case.statuses is not None:
        sent = tuple(c["data"]["message"] for c in chunks if c["type"] == "data-status")
        assert sent == case.statuses


async def test_concurrent_status_providers_each_show_their_own() -> None:
    """Upstream ``test_concurrent_status_message_providers``: two programs stream at
    once, each adapter with its own status provider; each body carries its own three
    statuses, in order, and DSPy's global callbacks are left as they were."""
    callbacks_before = list(dspy.settings.callbacks)

    def scenario(name: str, answer: str, thing: str) -> Scenario:
        return Scenario(
            QuestionFromTool,
            [Reply(chat(answer=answer))],
            {"x": thing},
            adapter={"status": ProviderStatus(name)},
        )

    outcomes = await asyncio.gather(
        run_scenario(scenario("Provider1", "red", "sky")),
        run_scenario(scenario("Provider2", "blue", "ocean")),
    )
    for name, answer, outcome in zip(
        ("Provider1", "Provider2"), ("red", "blue"), outcomes, strict=True
    ):
        chunks = assert_valid_body(outcome.body, "v6")
        assert outcome.record.exception is None, repr(outcome.record.exception)
        sent = [c["data"]["message"] for c in chunks if c["type"] == "data-status"]
        assert sent == [
            f"{name}: Tool starting!",
            f"{name}: Tool finished!",
            f"{name}: Predict starting!",
        ], f"{UPSTREAM}::test_concurrent_status_message_providers"
        texts = [p["text"] for p in outcome.record.message["parts"] if p["type"] == "text"]
        assert texts == [outcome.result.answer] == [answer]
    assert dspy.settings.callbacks == callbacks_before
