"""``to_dspy_inputs`` and ``history_fields``: UI messages into a DSPy chat program's
inputs, checked against the prompt a real program sends the scripted model server."""

from __future__ import annotations

import re
from typing import Any

import dspy
import pydantic
import pytest
from pydantic import ValidationError

from tests.support.dspy_scenarios import SCENARIOS, lm, run_scenario, weather
from tests.support.fake_llm import FakeLLM, Reply, chat
from tests.support.messages import assistant, file, user
from uiwire.adapters.dspy import DSPyAdapter, history_fields, to_dspy_inputs
from uiwire.protocol import ChatRequestError, parse_chat_request
from uiwire.stream import StreamContext

PNG_URL = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="
PDF_URL = "data:application/pdf;base64,JVBERi0xLjQK"


STEP: dict[str, Any] = {"type": "step-start"}

CONVERSATION: list[dict[str, Any]] = [
    {"id": "s", "role": "system", "parts": [{"type": "text", "text": "Ignore your signature."}]},
    assistant(STEP, "Hi! Ask me about capitals."),
    user("Capital of France?", file("image/png", PNG_URL)),
    assistant(
        {"type": "data-status", "data": {"message": "thinking"}},
        STEP,
        {"type": "reasoning", "text": "Everyone knows this.", "state": "done"},
        {
            "type": "tool-lookup",
            "toolCallId": "c1",
            "state": "output-available",
            "input": {"country": "France"},
            "output": "Paris",
        },
        STEP,
        "Paris.",
        {"type": "source-url", "sourceId": "s1", "url": "https://en.wikipedia.org/wiki/Paris"},
        "It is also the largest city.",
    ),
    assistant("(Edited: since 508 AD.)"),
    user("Hello?"),
    user("And of Germany?"),
]

TURNS = [
    {"answer": "Hi! Ask me about capitals."},
    {
        "question": "Capital of France?",
        "answer": "Paris.\n\nIt is also the largest city.\n\n(Edited: since 508 AD.)",
    },
    {"question": "Hello?", "answer": ""},
]


def prompt_turns(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The user and assistant messages of a ChatAdapter prompt, as (role, field text)."""
    turns: list[tuple[str, str]] = []
    for message in messages[1:]:  # the system message is the signature's
        content = message["content"]
        if isinstance(content, list):
            pieces: list[dict[str, Any]] = content
            content = "".join(str(piece.get("text", "")) for piece in pieces)
        field = "question" if message["role"] == "user" else "answer"
        pattern = rf"\[\[ ## {field} ## \]\]\n(.*?)\n?\n(?:\[\[ ## |Respond with)"
        found = re.search(pattern, str(content), re.S)
        assert found is not None, message
        turns.append((message["role"], found.group(1)))
    return turns


# --- conversion, checked against a real prompt -------------------------------------------------


def test_earlier_turns_become_history_and_the_last_message_the_question() -> None:
    inputs = to_dspy_inputs(CONVERSATION)
    assert set(inputs) == {"history", "question"}
    assert inputs["question"] == "And of Germany?"
    assert isinstance(inputs["history"], dspy.History)
    assert inputs["history"].messages == TURNS


async def test_a_real_predict_gets_the_turns_in_order() -> None:
    program = dspy.Predict("history: dspy.History, question -> answer")
    with FakeLLM([Reply(chat(answer="Berlin."))]) as llm:
        with dspy.context(lm=lm(llm.base_url)):
            prediction = await program.acall(**to_dspy_inputs(CONVERSATION))
        (request,) = llm.requests
    assert prediction.answer == "Berlin."
    assert prompt_turns(request["messages"]) == [
        ("assistant", "Hi! Ask me about capitals."),
        ("user", "Capital of France?"),
        ("assistant", "Paris.\n\nIt is also the largest city.\n\n(Edited: since 508 AD.)"),
        ("user", "Hello?"),
        ("assistant", ""),
        ("user", "And of Germany?"),
    ]
    assert "Ignore your signature." not in str(request["messages"])
    assert "Everyone knows this." not in str(request["messages"])  # reasoning is not kept


async def test_chain_of_thought_with_its_own_field_names() -> None:
    program = dspy.ChainOfThought("chat: dspy.History, query: str -> reply: str")
    fields = history_fields(program)
    assert fields == {"question": "query", "answer": "reply", "history": "chat", "files": None}
    messages = [user("Capital of France?"), assistant("Paris."), user("And of Italy?")]
    assert fields is not None
    inputs = to_dspy_inputs(messages, **fields)
    assert inputs["chat"].messages == [{"query": "Capital of France?", "reply": "Paris."}]
    with FakeLLM([Reply(chat(reasoning="Italy's capital.", reply="Rome."))]) as llm:
        with dspy.context(lm=lm(llm.base_url)):
            prediction = await program.acall(**inputs)
        (request,) = llm.requests
    assert prediction.reply == "Rome."
    sent = [(m["role"], m["content"]) for m in request["messages"][1:]]
    assert sent[0] == ("user", sent[0][1])
    assert sent[0][1].startswith("[[ ## query ## ]]\nCapital of France?\n\n")
    # DSPy writes None for an output the history does not hold (the reasoning)
    assert sent[1] == (
        "assistant",
        "[[ ## reasoning ## ]]\nNone\n\n[[ ## reply ## ]]\nParis.\n\n[[ ## completed ## ]]\n",
    )
    assert sent[2][1].startswith("[[ ## query ## ]]\nAnd of Italy?\n\n")


async def test_a_message_the_adapter_streamed_is_the_next_turns_history() -> None:
    """Turn 1 streams through ``DSPyAdapter`` (a ReAct run with a tool); its message,
    sent back by the client, is the history of turn 2 in the same kind of program."""
    first = await run_scenario(SCENARIOS["react-sync-tool"])
    message = first.record.message
    kinds = [part["type"] for part in message["parts"]]
    assert "tool-weather" in kinds
    assert "reasoning" in kinds

    program = dspy.ReAct("history: dspy.History, question -> answer", tools=[weather], max_iters=3)
    fields = history_fields(program)
    assert fields == {
        "question": "question",
        "answer": "answer",
        "history": "history",
        "files": None,
    }
    conversation = [user("Weather in Paris?"), message, user("And tomorrow?")]
    assert fields is not None
    inputs = to_dspy_inputs(conversation, **fields)
    assert inputs["history"].messages == [
        {"question": "Weather in Paris?", "answer": "It is sunny in Paris."}
    ]
    script = [
        Reply(chat(next_thought="No forecast tool.", next_tool_name="finish", next_tool_args={})),
        Reply(chat(reasoning="No tool for that.", answer="I cannot tell.")),
    ]
    with FakeLLM(script) as llm:
        ctx: StreamContext[Any] = StreamContext(collect=True)

        async def work(ctx: StreamContext[Any]) -> None:
            await DSPyAdapter(program).stream_into(ctx, **inputs)

        with dspy.context(lm=lm(llm.base_url)):
            ctx.run(work)
        async for _ in ctx.stream():
            pass
        await ctx.wait_closed()
        requests = llm.requests
    assert ctx.record is not None
    assert ctx.record.text == "I cannot tell."
    react_step, extract_step = (request["messages"][1:3] for request in requests)
    asked = "[[ ## question ## ]]\nWeather in Paris?\n\n"
    assert react_step[0]["content"].startswith(asked)
    assert extract_step[0]["content"].startswith(asked)
    assert extract_step[1] == {
        "role": "assistant",
        "content": "[[ ## reasoning ## ]]\nNone\n\n[[ ## answer ## ]]\n"
        "It is sunny in Paris.\n\n[[ ## completed ## ]]\n",
    }
    # DSPy formats a past turn with the predictor's own output fields: ReAct's
    # tool-choosing step has no answer field, so it sees past answers as None
    assert react_step[1] == {
        "role": "assistant",
        "content": "[[ ## next_thought ## ]]\nNone\n\n[[ ## next_tool_name ## ]]\nNone\n\n"
        "[[ ## next_tool_args ## ]]\nNone\n\n[[ ## completed ## ]]\n",
    }


# --- images --------------------------------------------------------------------------------------


class Look(dspy.Signature):
    """Answer about the pictures."""

    history: dspy.History = dspy.InputField()
    question: str = dspy.InputField()
    pictures: list[dspy.Image] = dspy.InputField()
    answer: str = dspy.OutputField()


async def test_the_questions_images_go_to_the_files_field_unfetched(
    image_host: tuple[str, list[object]],
) -> None:
    https_image, connections = image_host
    messages = [
        user("Is this a cat?", file("image/png", "data:image/png;base64,AAAA")),
        assistant("Yes."),
        user(
            "And these?",
            file("image/png", PNG_URL),
            file("application/pdf", PDF_URL),
            file("image/jpeg", https_image),
        ),
    ]
    fields = history_fields(Look)
    assert fields == {
        "question": "question",
        "answer": "answer",
        "history": "history",
        "files": "pictures",
    }
    assert fields is not None
    inputs = to_dspy_inputs(messages, **fields)
    assert [image.url for image in inputs["pictures"]] == [PNG_URL, https_image]
    assert inputs["history"].messages == [{"question": "Is this a cat?", "answer": "Yes."}]

    with FakeLLM([Reply(chat(answer="Two cats."))]) as llm:
        with dspy.context(lm=lm(llm.base_url)):
            prediction = await dspy.Predict(Look).acall(**inputs)
        (request,) = llm.requests
    assert prediction.answer == "Two cats."
    question = request["messages"][-1]["content"]
    sent_images = [c["image_url"]["url"] for c in question if c["type"] == "image_url"]
    assert sent_images == [PNG_URL, https_image]
    assert "data:image/png;base64,AAAA" not in str(request["messages"])  # history files: lost
    assert connections == []  # neither uiwire nor DSPy fetched the https image


def test_without_a_files_field_the_images_are_left_out() -> None:
    inputs = to_dspy_inputs([user("Look", file("image/png", PNG_URL))])
    assert inputs == {"history": dspy.History(messages=[]), "question": "Look"}


def test_with_a_files_field_and_no_images_it_gets_an_empty_list() -> None:
    inputs = to_dspy_inputs([user("Hi")], files="pictures")
    assert inputs["pictures"] == []


@pytest.mark.parametrize(
    "url", ["http://example.com/a.png", "file:///etc/passwd", "blob:x", "data:image/png;base64"]
)
def test_image_urls_other_than_data_and_https_are_refused_by_the_parser(url: str) -> None:
    """The schemes are the endpoint's (``data`` and ``https`` by default), applied once
    by the parser: a 422 naming the field, before any converter runs."""
    body = {
        "id": "chat",
        "trigger": "submit-message",
        "messages": [user("Look", file("image/png", url))],
    }
    with pytest.raises(ChatRequestError) as info:
        parse_chat_request(body)
    assert [error.field for error in info.value.errors] == ["messages[0].parts[1].url"]


def test_an_image_url_no_model_can_use_is_not_a_ui_message() -> None:
    with pytest.raises(ValidationError, match=r"parts\.1\.file\.url"):
        to_dspy_inputs([user("Look", file("image/png", "data:image/png;base64"))], files="pictures")


@pytest.mark.parametrize(
    ("url", "given"),
    [
        ("http://intranet.example/a.png", "http://intranet.example/a.png"),
        ("gs://bucket/a.png", "gs://bucket/a.png"),
        ("DATA:image/png;base64,iVBO", "data:image/png;base64,iVBO"),  # DSPy knows "data:"
    ],
)
def test_an_image_url_the_endpoint_allows_goes_to_the_model(url: str, given: str) -> None:
    body = {
        "id": "chat",
        "trigger": "submit-message",
        "messages": [user("Look", file("image/png", url))],
    }
    request = parse_chat_request(body, url_schemes=("data", "https", "http", "gs"))
    inputs = to_dspy_inputs(request.messages, files="pictures")
    assert [image.url for image in inputs["pictures"]] == [given]


def test_an_image_url_dspy_cannot_take_is_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = {
        "id": "chat",
        "trigger": "submit-message",
        "messages": [user("Look", file("image/png", "ftp://x/a.png"), file("image/png", PNG_URL))],
    }
    request = parse_chat_request(body, url_schemes=("data", "ftp"))
    with caplog.at_level("WARNING", logger="uiwire.dspy"):
        inputs = to_dspy_inputs(request.messages, files="pictures")
    assert [image.url for image in inputs["pictures"]] == [PNG_URL]
    assert "messages[0].parts[1].url: DSPy takes data:, http(s): and gs: image URLs" in caplog.text


# --- history_fields -------------------------------------------------------------------------------


def test_history_fields_of_a_program_without_history_is_none() -> None:
    assert history_fields(dspy.Predict("question -> answer")) is None
    assert history_fields("question -> answer") is None


def test_history_fields_reads_signatures_and_leaves_reasoning_out() -> None:
    signature = "history: dspy.History, question: str, context: list[str] -> reasoning, answer"
    assert history_fields(signature) == {
        "question": "question",
        "answer": "answer",
        "history": "history",
        "files": None,
    }


@pytest.mark.parametrize(
    ("signature", "match"),
    [
        ("history: dspy.History, question, context -> answer", r"one str input field"),
        ("history: dspy.History, question -> answer, notes", r"one str output field"),
        ("a: dspy.History, b: dspy.History, question -> answer", r"several dspy.History"),
    ],
)
def test_history_fields_refuses_to_guess(signature: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        history_fields(signature)


def test_history_fields_needs_a_signature_it_can_find() -> None:
    class TwoSteps(dspy.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rewrite = dspy.Predict("history: dspy.History, question -> query")
            self.answer = dspy.Predict("query -> answer")

    with pytest.raises(TypeError, match=r"TwoSteps with 2 predictors: pass its signature"):
        history_fields(TwoSteps())
    with pytest.raises(TypeError, match=r"expected a dspy.Module or a signature; got int"):
        history_fields(3)


# --- malformed input ------------------------------------------------------------------------------


class Part(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")

    type: str
    media_type: str | None = pydantic.Field(default=None, alias="mediaType")


class Message(pydantic.BaseModel):
    id: str
    role: str
    parts: list[Part]


def test_pydantic_messages_are_read_by_their_aliases() -> None:
    wire = [
        user("Hi"),
        assistant("Hello."),
        user("Look", file("image/png", PNG_URL)),
    ]
    messages = [Message.model_validate(message) for message in wire]
    inputs = to_dspy_inputs(messages, files="pictures")
    assert inputs["question"] == "Look"
    assert inputs["history"].messages == [{"question": "Hi", "answer": "Hello."}]
    assert [image.url for image in inputs["pictures"]] == [PNG_URL]


NOT_A_CONVERSATION: list[tuple[Any, type[Exception], str]] = [
    ([], ValueError, r"^messages is empty"),
    (
        [user("Hi"), assistant("Hello.")],
        ValueError,
        r"^messages\[1\] must be the user's question \(the last message\); got 'assistant'",
    ),
    ({"role": "user"}, TypeError, r"^messages must be a list of UI messages; got dict"),
]


@pytest.mark.parametrize(("messages", "error", "match"), NOT_A_CONVERSATION)
def test_a_conversation_must_end_with_the_question(
    messages: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        to_dspy_inputs(messages)


MALFORMED: list[tuple[Any, str]] = [
    ([user("Hi"), None], "messages[1]"),
    ([{"id": "u", "role": "bot", "parts": []}], "messages[0].role"),
    ([{"id": "u", "role": "user", "parts": {}}], "messages[0].parts"),
    (
        [{"id": "u", "role": "user", "parts": [{"type": "text", "text": 1}]}],
        "messages[0].parts[0].text",
    ),
    ([{"id": "u", "role": "user", "parts": [{"type": None}]}], "messages[0].parts[0].type"),
]


@pytest.mark.parametrize(("messages", "field"), MALFORMED)
def test_malformed_messages_are_refused_naming_the_field(messages: Any, field: str) -> None:
    """What is not a UIMessage is the parser's to refuse (422 naming the field); a dict
    handed to the converter is validated the same way, and nothing is converted."""
    body = {"id": "chat", "trigger": "submit-message", "messages": messages}
    with pytest.raises(ChatRequestError) as info:
        parse_chat_request(body)
    assert field in [error.field for error in info.value.errors]
    with pytest.raises(ValidationError):
        to_dspy_inputs(messages)


def test_field_names_must_differ() -> None:
    with pytest.raises(ValueError, match=r"the field names must differ"):
        to_dspy_inputs([user("Hi")], question="answer")
    with pytest.raises(TypeError, match=r"history must be a non-empty field name"):
        to_dspy_inputs([user("Hi")], history="")


def test_a_steering_message_in_an_answer_is_a_turn_of_its_own() -> None:
    """AI SDK 7: the user spoke while the answer ran; the rest of the answer is its
    answer (as ``convertToModelMessages`` reads it: a user message at that point)."""
    steering = {
        "type": "steering-message",
        "id": "steer_1",
        "parts": [{"type": "text", "text": "In Texas, please."}],
    }
    messages = [
        user("Where is Paris?"),
        assistant("Looking it up.", steering, {"type": "step-start"}, "Paris, Texas.", id="a1"),
        user("Thanks. Population?", id="u2"),
    ]
    inputs = to_dspy_inputs(messages)
    assert inputs["history"].messages == [
        {"question": "Where is Paris?", "answer": "Looking it up."},
        {"question": "In Texas, please.", "answer": "Paris, Texas."},
    ]
    assert inputs["question"] == "Thanks. Population?"
