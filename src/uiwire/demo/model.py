"""The demo's offline model: the Agents SDK's ``ScriptedModel``, answering from a script
keyed on the conversation, with its output streamed word by word like a real model's.

``ScriptedModel`` sends each text, reasoning summary and tool argument string as one
delta; ``PacedModel`` splits those deltas into words and waits between them, so the
page shows text streaming in and "stop" has something to stop. Everything else (the
Responses events, usage, the SDK's own run loop and tools) is the real SDK.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Sequence
from typing import Any, Final, cast

from agents import (
    AgentOutputSchemaBase,
    Handoff,
    Model,
    ModelResponse,
    ModelSettings,
    ModelTracing,
    Tool,
    TResponseInputItem,
    Usage,
)
from agents.testing import ModelCall, ModelStep, ScriptedModel, function_call
from openai.types.responses import (
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseReasoningItem,
)
from openai.types.responses.response_output_text import AnnotationURLCitation
from openai.types.responses.response_reasoning_item import Summary

from uiwire.adapters.agents._compat import TResponseStreamEvent

__all__ = ["PROMPTS", "PacedModel", "demo_model"]

PROMPTS: Final = (
    ("Weather", "What's the weather in Paris?"),
    ("Approval", "Book me a hotel in Paris"),
    ("Client tool", "What time is it for me?"),
    ("Rich text", "Plan a weekend in Lisbon"),
    ("Long answer", "Tell me a long story"),
    ("Steering", "Suggest a day trip from Porto"),
    ("Error", "Show me an error"),
    ("Failing tool", "Use the broken tool"),
)
"""(label, text): what the demo page offers, and what the script answers."""

_DELTAS: Final = frozenset(
    (
        "response.output_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_text.delta",
    )
)


class PacedModel(Model):
    """A model whose streamed text arrives a word at a time, ``delay`` seconds apart."""

    def __init__(self, model: Model, *, delay: float = 0.03) -> None:
        self._model = model
        self._delay = delay

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return await self._model.get_response(*args, **kwargs)

    async def stream_response(  # pyright: ignore[reportIncompatibleMethodOverride]
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        **kwargs: Any,
    ) -> AsyncIterator[TResponseStreamEvent]:
        events = self._model.stream_response(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            tracing,
            **kwargs,
        )
        async for event in events:
            if event.type not in _DELTAS:
                yield event
                continue
            delta = cast("str", getattr(event, "delta", ""))
            for piece in re.findall(r"\S+\s*|\s+", delta):
                await asyncio.sleep(self._delay)
                yield event.model_copy(update={"delta": piece})


def demo_model(*, delay: float = 0.03) -> PacedModel:
    """The scripted model behind ``uiwire demo`` when no API key is set."""
    scripted = ScriptedModel()

    def respond(call: ModelCall) -> ModelStep:
        scripted.enqueue(ModelStep.respond(respond))  # ready for the next call, forever
        return _answer(call)

    scripted.enqueue(ModelStep.respond(respond))
    return PacedModel(scripted, delay=delay)


# --- the script ----------------------------------------------------------------------------

_USAGE: Final = Usage(requests=1, input_tokens=120, output_tokens=48, total_tokens=168)

_STORY: Final = """\
The robot had kept the lighthouse for eleven years, and in all that time it had never \
missed a ship. Every night it climbed the hundred and four steps, wiped the salt from \
the great lens, and wrote the name of each passing vessel in a notebook with a green \
cover: the *Marguerite*, the *Saint Brendan*, the ferry from the islands that always ran \
late. The ships never answered its light with anything but their own, and the robot did \
not mind. Counting them was its way of saying hello.

One winter night, in a storm that bent the rain sideways, a ship came in with no name \
at all. It had no flag and no lights along its deck, only a single lamp at the bow, \
blinking in a rhythm the robot had never seen: three long, one short, a pause, then \
three long again. The robot checked its notebook, then every notebook on the shelf. \
No ship had ever signalled like that.

It did what it had been built to do. It turned the great lamp toward the stranger and \
answered, one flash for every flash, so that whoever was out there would know where \
the rocks were. For an hour the two lights spoke across the water while the sea threw \
itself at the cliffs. Then the stranger turned, slowly, away from the reef and into \
the shelter of the bay, and dropped anchor where the water was calm.

In the morning the storm was gone and so was the ship. On the jetty below the \
lighthouse the robot found a small tin box, dry inside, and in it a notebook with a \
blue cover. Its pages were full of names written in a careful hand: lighthouses, \
hundreds of them, from harbours the robot had only read about. The last entry was \
fresh. It gave the name of this lighthouse, and next to it, where the other pages \
listed the weather, one word: *friend*.

The robot put the blue notebook on the shelf next to its green ones. That night, and \
every night after, it climbed the hundred and four steps a little faster, wiped the \
lens, and looked out past the reef for a lamp that blinked three long and one short. \
It never came back. But the robot kept counting the ships, one by one, because now it \
knew that somewhere out on the dark water, someone was counting lighthouses.\
"""
"""The long answer: about 12 s at 30 ms a word, long enough to stop or reload mid-way."""

_WEEKEND: Final = """\
## A weekend in Lisbon

Lisbon is **hilly**, *sunny* and best seen on foot: pack ~~heels~~ comfortable shoes.

### The plan

| Day | Morning | Afternoon | Evening |
|---|---|---|---|
| Saturday | Alfama and the castle | Tram 28 to Graça | Fado in a small *tasca* |
| Sunday | Belém: the tower and **pastéis de nata** | LX Factory | Sunset at a *miradouro* |

### Before you go

1. Buy a `Viva Viagem` card for the trams and the metro.
2. Book the fado dinner ahead:
   - the small houses are full by Friday;
   - ask for a table near the singers.
3. Check the forecast (the *Weather* prompt).

Packing list:

- [x] comfortable shoes
- [x] a light jacket for the wind off the river
- [ ] sunscreen

> *Quem não viu Lisboa não viu coisa boa.*
> Whoever has not seen Lisbon has not seen a fine thing.

The trip, as a calendar would import it:

```json
{"trip": "Lisbon", "from": "Friday", "nights": 2}
```

More about the city: [Lisbon on Wikipedia](https://en.wikipedia.org/wiki/Lisbon). \
HTML in a model's answer is shown as typed, never run: <img src=x onerror="alert(1)">
"""
"""The rich-text answer: every GFM construct the page renders, streamed word by word."""


def _answer(call: ModelCall) -> ModelStep:
    items: list[Any] = [] if isinstance(call.input, str) else list(call.input)
    if isinstance(call.input, str):
        items = [{"role": "user", "content": call.input}]
    turn = _current_turn(items)
    question = _user_text(turn[0]) if turn else ""
    asked = question.lower()
    calls = {i["call_id"]: i["name"] for i in turn if i.get("type") == "function_call"}
    outputs = {
        calls.get(i["call_id"], ""): str(i.get("output", ""))
        for i in turn
        if i.get("type") == "function_call_output"
    }
    city = _city(question)
    if "day trip" in asked:
        return _day_trip(question, outputs, _steering_texts(turn))
    if "weather" in asked or "forecast" in asked:
        if "get_weather" not in outputs:
            return _step(
                _reasoning(f"The user asks about {city}. I'll check the weather and forecast."),
                function_call("get_weather", {"city": city}, call_id=_call_id()),
                function_call("get_forecast", {"city": city, "days": 3}, call_id=_call_id()),
            )
        return _step(
            _message(
                f"It is {outputs['get_weather']}, and the next three days stay sunny, "
                "getting a little warmer each day.",
                cite=(f"https://en.wikipedia.org/wiki/{city}", f"{city} - Wikipedia"),
            )
        )
    if "book" in asked or "hotel" in asked:
        if "book_hotel" not in outputs:
            return _step(
                _message(f"I can book the Hotel du Parc in {city} for two nights."),
                function_call("book_hotel", {"city": city, "nights": 2}, call_id=_call_id()),
            )
        result = outputs["book_hotel"]
        if result.startswith("Booked"):
            return _step(_message(f"Done: {result}. Have a good trip!"))
        return _step(_message("All right, I did not book anything."))
    if "time" in asked:
        if "get_local_time" not in outputs:
            return _step(function_call("get_local_time", {}, call_id=_call_id()))
        return _step(_message(f"Your browser says: {outputs['get_local_time']}."))
    if "weekend" in asked or "plan" in asked:
        return _step(
            _reasoning("A weekend plan: a table for the days, lists, a quote and a code block."),
            _message(_WEEKEND),
        )
    if "story" in asked or "long" in asked:
        return _step(_message(_STORY))
    if "error" in asked:
        return ModelStep.raise_error(RuntimeError("the demo model failed on purpose"))
    if "broken" in asked or "fail" in asked:
        if "broken_tool" not in outputs:
            return _step(function_call("broken_tool", {}, call_id=_call_id()))
        return _step(_message("The tool failed; the error above is what you would see."))
    files = _attachments(turn[0]) if turn else []
    if files:
        return _step(_message(f"You sent {', '.join(files)}. I can't look inside files offline."))
    return _step(
        _reasoning(
            "A greeting, with no question in it. I'll say what I am, then list what this "
            "demo can show, one example prompt per feature, so that the user knows what "
            "to try next."
        ),
        _message(
            "Hello! I'm a scripted agent running offline. Try one of the example prompts: "
            "the weather (tools, progress, a forecast card, sources), a hotel booking "
            "(approval), your local time (a tool your browser runs), a weekend plan (rich "
            "text), a long story (stop it), or an error."
        ),
    )


def _day_trip(question: str, outputs: dict[str, str], steering: list[str]) -> ModelStep:
    """The steering prompt: a first step long enough to steer (its text, then the
    forecast, about 3 s), and a second whose text answers what the user steered with."""
    match = re.search(r"\bfrom ([A-Z][a-zA-Z-]+)", question)
    city = match.group(1) if match else "Porto"
    if "get_forecast" not in outputs:
        return _step(
            _message(
                f"A day trip from {city}: the best one depends on the sky, so I'll check "
                "the forecast for the next three days before I choose. While I look, you "
                "can steer me: write in the box below what matters to you, for example "
                "that you would rather see the sea, or that you travel without a car, and "
                "I will take it into account in my next step."
            ),
            function_call("get_forecast", {"city": city, "days": 3}, call_id=_call_id()),
        )
    if not steering:
        return _step(
            _message(
                "The next three days stay sunny: take the morning train up the Douro "
                "valley to Pinhão, walk between the terraced vineyards, have lunch by the "
                "river, and take the slow train back along the water in the late afternoon, "
                "in time for dinner in Porto."
            )
        )
    heard = "; ".join(f"“{text}”" for text in steering)
    return _step(
        _message(
            f"You told me while I was checking: {heard}. With that in mind, and three "
            "sunny days ahead, I would pick Aveiro: an hour by train, canals to walk "
            "along, and the beach at Costa Nova a short bus ride away."
        )
    )


def _current_turn(items: Sequence[Any]) -> list[Any]:
    """The items since the turn's question (that message first).

    The question is the last user message that is not a steering message. Steering
    (AI SDK 7: what the user wrote while the answer ran) reaches a model call as user
    messages at the end of its input, after the previous step's tool outputs, and stays
    there for the run's later calls and in the saved conversation: user messages right
    after a tool's output are steering, and the question is further back.
    """
    end = len(items)
    while True:
        index = next((i for i in range(end - 1, -1, -1) if _is_user(items[i])), -1)
        if index < 0:
            return []
        first = index
        while first > 0 and _is_user(items[first - 1]):
            first -= 1
        if first > 0 and _is_tool_output(items[first - 1]):
            end = first  # steering: the question is before it
            continue
        return list(items[index:])


def _is_user(item: Any) -> bool:
    return isinstance(item, dict) and cast("dict[str, Any]", item).get("role") == "user"


def _is_tool_output(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and cast("dict[str, Any]", item).get("type") == "function_call_output"
    )


def _steering_texts(turn: Sequence[Any]) -> list[str]:
    """What the user wrote while the turn's answer ran (its user messages after the
    question), as the model got it."""
    return [text for item in turn[1:] if _is_user(item) and (text := _user_text(item).strip())]


def _content(item: Any) -> list[dict[str, Any]]:
    content = item.get("content")
    if isinstance(content, str):
        return [{"type": "input_text", "text": content}]
    return [c for c in cast("list[Any]", content or []) if isinstance(c, dict)]


def _user_text(item: Any) -> str:
    return " ".join(str(c.get("text", "")) for c in _content(item) if c["type"] == "input_text")


def _attachments(item: Any) -> list[str]:
    kinds = ("input_image", "input_file")
    return [str(c.get("filename") or "an image") for c in _content(item) if c["type"] in kinds]


def _city(question: str) -> str:
    match = re.search(r"\bin ([A-Z][a-zA-Z-]+)", question)
    return match.group(1) if match else "Paris"


def _call_id() -> str:
    return f"call_{secrets.token_hex(8)}"


def _step(*output: Any) -> ModelStep:
    return ModelStep(output=list(output), usage=_USAGE)


def _reasoning(text: str) -> ResponseReasoningItem:
    return ResponseReasoningItem(
        id=f"rs_{secrets.token_hex(8)}",
        type="reasoning",
        summary=[Summary(type="summary_text", text=text)],
    )


def _message(text: str, *, cite: tuple[str, str] | None = None) -> ResponseOutputMessage:
    annotations: list[Any] = []
    if cite is not None:
        url, title = cite
        annotations.append(
            AnnotationURLCitation(
                type="url_citation", url=url, title=title, start_index=0, end_index=len(text)
            )
        )
    return ResponseOutputMessage(
        id=f"msg_{secrets.token_hex(8)}",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=annotations)],
    )
