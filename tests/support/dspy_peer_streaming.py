"""DSPy's own streaming scenarios (``tests/streaming/test_streaming.py``), as data: the
programs, scripted replies, inputs and what the message must show. Checked by
``tests/adapters/dspy/test_peer_streaming.py``; each body also goes into the JS
conformance corpus (``tests/js/build_corpus.py``, ``dspy/peer-streaming/*``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dspy
from dspy.streaming import StatusMessageProvider

from tests.support.dspy_scenarios import Scenario
from tests.support.fake_llm import Reply, chat

UPSTREAM = "tests/streaming/test_streaming.py"


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


def scenario_of(case: Case) -> Scenario:
    """The case as a scenario ``run_scenario`` runs."""
    return Scenario(
        case.make_program, case.script, case.inputs, adapter=case.adapter, settings=case.settings
    )
