"""The demo's scripted model, called as the Agents SDK calls it: what it answers for
an input, steering messages (user messages after a step's tool outputs) included."""

from __future__ import annotations

from typing import Any

from agents import ModelResponse, ModelSettings, ModelTracing
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage

from uiwire.demo.model import PROMPTS, demo_model

STEERING_PROMPT = next(text for label, text in PROMPTS if label == "Steering")


async def answer(items: list[Any]) -> ModelResponse:
    return await demo_model(delay=0).get_response(
        None,
        items,
        ModelSettings(),
        [],
        None,
        [],
        ModelTracing.DISABLED,
        previous_response_id=None,
        conversation_id=None,
        prompt=None,
    )


def text_of(response: ModelResponse) -> str:
    return " ".join(
        content.text
        for item in response.output
        if isinstance(item, ResponseOutputMessage)
        for content in item.content
        if content.type == "output_text"
    )


def calls_of(response: ModelResponse) -> list[ResponseFunctionToolCall]:
    return [item for item in response.output if isinstance(item, ResponseFunctionToolCall)]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "input_text", "text": text}]}


def call(name: str, call_id: str) -> dict[str, Any]:
    return {"type": "function_call", "name": name, "call_id": call_id, "arguments": "{}"}


def output(call_id: str, value: str) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": value}


async def test_the_steering_prompt_checks_the_forecast_then_answers_the_steer() -> None:
    first = await answer([user(STEERING_PROMPT)])
    assert [c.name for c in calls_of(first)] == ["get_forecast"]
    assert "you can steer me" in text_of(first)

    done = [user(STEERING_PROMPT), call("get_forecast", "c1"), output("c1", "['sunny']")]
    plain = await answer(done)
    assert "You told me" not in text_of(plain)
    assert "Douro" in text_of(plain)

    steered = await answer([*done, user("I would rather see the sea"), user("no car")])
    assert text_of(steered).startswith(
        "You told me while I was checking: “I would rather see the sea”; “no car”."
    )


async def test_a_steered_answer_keeps_its_question() -> None:
    """A steer after the weather tools' outputs is not taken for a new question."""
    items = [
        user("What's the weather in Lisbon?"),
        call("get_weather", "c1"),
        output("c1", "sunny and 21°C in Lisbon"),
        user("In Fahrenheit, please"),
    ]
    assert text_of(await answer(items)).startswith("It is sunny and 21°C in Lisbon")


async def test_a_question_after_an_answer_or_a_failed_turn_is_the_question() -> None:
    answered = [user("Hello"), {"role": "assistant", "content": "Hi!"}, user(STEERING_PROMPT)]
    assert [c.name for c in calls_of(await answer(answered))] == ["get_forecast"]
    failed = [user("Show me an error"), user(STEERING_PROMPT)]  # the failed turn saved no answer
    assert [c.name for c in calls_of(await answer(failed))] == ["get_forecast"]
