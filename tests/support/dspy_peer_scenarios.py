"""DSPy's own predict-module (ReAct, ReActV2, ChainOfThought) and adapter scenarios,
rebuilt.

Shared by ``tests/adapters/dspy/test_peer_predict.py``, ``test_peer_adapters.py`` and
the JS conformance corpus.
Each entry names the upstream test (DSPy's ``tests/predict/``) it rebuilds: the same
program, signature, tools, model turns and inputs, answered by the scripted model
server (``FakeLLM``) instead of ``DummyLM`` (which does not stream) or a direct
``adapter.parse`` call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dspy
from dspy.utils.exceptions import AdapterParseError
from pydantic import BaseModel

from tests.support.dspy_scenarios import Scenario
from tests.support.fake_llm import Reply, ToolCallReply, chat

Entry = tuple[Any, ...]
"""One thing the user sees: ``("reasoning" | "text", text)`` or
``("tool", name, input, state, output)``."""


def shown(message: dict[str, Any]) -> list[Entry]:
    """The assembled message as the same entries (an error's text is masked: not kept)."""
    entries: list[Entry] = []
    for part in message["parts"]:
        kind = part["type"]
        if kind in ("reasoning", "text"):
            entries.append((kind, part["text"]))
        elif kind.startswith("tool-"):
            output = part.get("output") if part["state"] == "output-available" else None
            entries.append(
                ("tool", kind.removeprefix("tool-"), part["input"], part["state"], output)
            )
    return entries


def text_outputs(result: Any, fields: tuple[str, ...]) -> list[Entry]:
    """The Prediction's text outputs, in signature order; a ``None`` shows nothing."""
    return [("text", value) for f in fields if (value := getattr(result, f)) is not None]


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


class CalendarEvent(BaseModel):
    name: str
    date: str
    participants: dict[str, str]


def write_invitation_letter(participant_name: str, event_info: CalendarEvent) -> str | None:
    """Write an invitation letter (upstream ``test_tool_calling_with_pydantic_args``)."""
    if participant_name not in event_info.participants:
        return None
    return f"It's my honor to invite {participant_name} to event {event_info.name} on {event_info.date}"


class InvitationSignature(dspy.Signature):
    participant_name: str = dspy.InputField(desc="The name of the participant to invite")
    event_info: CalendarEvent = dspy.InputField(desc="The information about the event")
    invitation_letter: str = dspy.OutputField(desc="The invitation letter to be sent")


SCIENCE_FAIR = {
    "name": "Science Fair",
    "date": "Friday",
    "participants": {"Alice": "female", "Bob": "male"},
}
NATIVE = {"adapter": dspy.ChatAdapter(use_native_function_calling=True)}


class FiveInParallel(dspy.Module):
    """Two predictors over five ``dspy.Parallel`` jobs; returns the list of Predictions
    (upstream ``test_parallel_module``'s ``MyModule``)."""

    def __init__(self) -> None:
        super().__init__()
        self.predictor = dspy.Predict("input -> output")
        self.predictor2 = dspy.Predict("input -> output")
        self.parallel = dspy.Parallel(num_threads=2, disable_progress_bar=True)

    def forward(self, input: str) -> Any:
        job = {"input": input}
        return self.parallel(
            [
                (self.predictor, job),
                (self.predictor2, job),
                (self.predictor, job),
                (self.predictor2, job),
                (self.predictor, job),
            ]
        )


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
    fails_with: type[Exception] | None = None
    """What DSPy itself raises when this program is streamed."""


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
    "react-pydantic-args": PeerScenario(
        "tests/predict/test_react.py::test_tool_calling_with_pydantic_args",
        Scenario(
            lambda: dspy.ReAct(InvitationSignature, tools=[write_invitation_letter]),
            [
                react_turn(
                    "I need to write an invitation letter for Alice to the Science Fair event.",
                    "write_invitation_letter",
                    participant_name="Alice",
                    event_info=SCIENCE_FAIR,
                ),
                react_turn(
                    "I have successfully written the invitation letter for Alice to the Science"
                    " Fair. Now I can finish the task.",
                    "finish",
                ),
                Reply(
                    chat(
                        reasoning="This is a very rigorous reasoning process, trust me bro!",
                        invitation_letter="It's my honor to invite Alice to the Science Fair"
                        " event on Friday.",
                    )
                ),
            ],
            {"participant_name": "Alice", "event_info": CalendarEvent(**SCIENCE_FAIR)},
        ),
        text_fields=("invitation_letter",),
    ),
    "react-v2-forced-submit": PeerScenario(
        "tests/predict/test_react_v2.py::test_react_v2_forced_submit_on_empty_tool_calls",
        Scenario(
            lambda: dspy.ReActV2("question -> answer", tools=[]),
            [
                v2_turn("No action.", {"tool_calls": []}),
                v2_turn("Forced final.", calls(("submit", {"answer": "forced"}))),
            ],
            {"question": "cats"},
        ),
    ),
    "react-v2-serialized-history": PeerScenario(
        "tests/predict/test_react_v2.py::test_react_v2_accepts_serialized_history_input",
        Scenario(
            lambda: dspy.ReActV2("question -> answer", tools=[]),
            [v2_turn("I can answer.", calls(("submit", {"answer": "done"})))],
            {"history": {"messages": [{"question": "old"}]}},
        ),
    ),
    "react-v2-native-tool-loop": PeerScenario(
        "tests/predict/test_react_v2.py::test_react_v2_native_tool_loop_replays_tool_result_with_provider_id",
        Scenario(
            lambda: dspy.ReActV2("question -> answer", tools=[lookup]),
            [
                Reply(
                    "",
                    tool_calls=[ToolCallReply("lookup", '{"query":"cats"}', id="call_provider_1")],
                ),
                Reply(
                    "",
                    tool_calls=[
                        ToolCallReply("submit", '{"answer":"found cats"}', id="call_submit")
                    ],
                ),
            ],
            {"question": "cats"},
            settings=NATIVE,
        ),
    ),
    "react-v2-native-parallel-calls": PeerScenario(
        "tests/predict/test_react_v2.py::test_react_v2_native_parallel_tool_calls_are_requested_and_replayed",
        Scenario(
            lambda: dspy.ReActV2("question -> answer", tools=[lookup]),
            [
                Reply(
                    "",
                    tool_calls=[
                        ToolCallReply("lookup", '{"query":"cats"}', id="call_provider_1"),
                        ToolCallReply("lookup", '{"query":"dogs"}', id="call_provider_2"),
                    ],
                ),
                Reply(
                    "",
                    tool_calls=[
                        ToolCallReply(
                            "submit", '{"answer":"found cats and found dogs"}', id="call_submit"
                        )
                    ],
                ),
            ],
            {"question": "cats"},
            settings=NATIVE,
        ),
    ),
    "parallel-module": PeerScenario(
        "tests/predict/test_parallel.py::test_parallel_module",
        Scenario(
            FiveInParallel,
            # one reply for every job: the threads' order is not fixed
            lambda _payload: Reply(chat(output="test output")),
            {"input": "test input"},
        ),
        text_fields=("output",),
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


class OptionalOutputs(dspy.Signature):
    """Upstream ``OptionalOutputSignature`` without its ``tags: list[str]`` (a
    structured output, issue 22 item 3): a default and a nullable field."""

    question: str = dspy.InputField()
    answer: str = dspy.OutputField()
    note: str | None = dspy.OutputField(default="No note")
    maybe: str | None = dspy.OutputField()


class AnswerAndExplanation(dspy.Signature):
    question: str = dspy.InputField()
    answer: str = dspy.OutputField()
    explanation: str = dspy.OutputField()


def search(query: str) -> str:
    """Search the web."""
    return f"Results for {query}"


class AnswerWithToolCalls(dspy.Signature):
    question: str = dspy.InputField()
    tools: list[dspy.Tool] = dspy.InputField()
    answer: str = dspy.OutputField()
    tool_calls: dspy.ToolCalls = dspy.OutputField()


class CodeOnly(dspy.Signature):
    code: str = dspy.OutputField()


OPTIONAL_FIELDS = ("answer", "note", "maybe")
CHAT = {"adapter": dspy.ChatAdapter()}
XML_SETTINGS = {"adapter": dspy.XMLAdapter()}

ADAPTER_PEER_SCENARIOS: dict[str, PeerScenario] = {
    "chat-fallback-to-json": PeerScenario(
        "tests/adapters/test_chat_adapter.py::test_chat_adapter_fallback_to_json_adapter_on_exception",
        Scenario(
            lambda: dspy.Predict("question -> answer"),
            # not ChatAdapter's format; unstreamed, DSPy asks again through the
            # JSONAdapter, but never once a chunk went to the stream: it raises
            [Reply("{'answer': 'Paris'}"), Reply('{"answer": "Paris"}')],
            {"question": "What is the capital of France?"},
            settings=CHAT,
        ),
        fails_with=AdapterParseError,
    ),
    "chat-missing-optional-fields": PeerScenario(
        "tests/adapters/test_chat_adapter.py::test_missing_optional_output_fields_fall_back_to_defaults",
        Scenario(
            lambda: dspy.Predict(OptionalOutputs),
            [Reply(chat(answer="42"))],
            {"question": "anything"},
            settings=CHAT,
        ),
        text_fields=OPTIONAL_FIELDS,
    ),
    "chat-default-overridden": PeerScenario(
        "tests/adapters/test_chat_adapter.py::test_output_field_default_is_overridden_by_lm_response",
        Scenario(
            lambda: dspy.Predict(OptionalOutputs),
            [Reply(chat(answer="42", note="hello", maybe="yes"))],
            {"question": "anything"},
            settings=CHAT,
        ),
        text_fields=OPTIONAL_FIELDS,
    ),
    "chat-tool-call-with-answer": PeerScenario(
        "tests/adapters/test_chat_adapter.py::test_tool_call_with_structured_content_preserves_other_outputs",
        Scenario(
            lambda: dspy.Predict(AnswerWithToolCalls),
            [
                Reply(
                    chat(answer="I should use a tool."),
                    tool_calls=[ToolCallReply("search", '{"query": "test"}', id="call_1")],
                )
            ],
            {"question": "What is the test?", "tools": [dspy.Tool(search)]},
            settings=NATIVE,
        ),
    ),
    "json-single-quoted": PeerScenario(
        "tests/adapters/test_json_adapter.py::test_json_adapter_json_mode_no_structured_outputs",
        Scenario(
            lambda: dspy.Predict("question -> answer"),
            # a Python dict, not JSON: DSPy repairs it
            [Reply("{'answer': 'Test output'}")],
            {"question": "Dummy question!"},
            settings={"adapter": dspy.JSONAdapter()},
        ),
    ),
    "json-missing-optional-fields": PeerScenario(
        "tests/adapters/test_json_adapter.py::test_missing_optional_output_fields_fall_back_to_defaults",
        Scenario(
            lambda: dspy.Predict(OptionalOutputs),
            [Reply('{"answer": "42"}')],
            {"question": "anything"},
            settings={"adapter": dspy.JSONAdapter()},
        ),
        text_fields=OPTIONAL_FIELDS,
    ),
    "xml-multiple-fields": PeerScenario(
        "tests/adapters/test_xml_adapter.py::test_xml_adapter_parse_multiple_fields",
        Scenario(
            lambda: dspy.Predict(AnswerAndExplanation),
            [
                Reply(
                    "<answer>Paris</answer>\n"
                    "<explanation>The capital of France is Paris.</explanation>",
                    piece=4,
                )
            ],
            {"question": "What is the capital of France?"},
            settings=XML_SETTINGS,
        ),
        text_fields=("answer", "explanation"),
    ),
    "xml-escaped-closing-tag": PeerScenario(
        "tests/adapters/test_xml_adapter.py::test_xml_adapter_escapes_closing_tags_and_rejects_malformed_xml",
        Scenario(
            lambda: dspy.Predict(CodeOnly),
            [Reply("<code>\nprint('&lt;/code> &amp; done')\n</code>", piece=3)],
            {},
            settings=XML_SETTINGS,
        ),
        text_fields=("code",),
    ),
    "xml-missing-optional-fields": PeerScenario(
        "tests/adapters/test_xml_adapter.py::test_xml_adapter_missing_optional_output_fields_fall_back_to_defaults",
        Scenario(
            lambda: dspy.Predict(OptionalOutputs),
            [Reply("<answer>Paris</answer>")],
            {"question": "anything"},
            settings=XML_SETTINGS,
        ),
        text_fields=OPTIONAL_FIELDS,
    ),
}
