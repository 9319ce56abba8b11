"""DSPy runs shared by the pytest suite and the JS conformance corpus.

Each scenario is a real DSPy program answered by the scripted OpenAI-compatible server
(``FakeLLM``); ``run_scenario`` streams it through ``DSPyAdapter`` and returns the exact
SSE body, the sealed record and what the fake model saw.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import dspy
import pydantic
from dspy.experimental import Citations

from tests.support.context_scenarios import consume
from tests.support.fake_llm import FakeLLM, Reply, Responder, StreamLog, ToolCallReply, chat
from uiwire.adapters.dspy import DSPyAdapter
from uiwire.stream import StreamContext, StreamRecord

dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=True)


class ToolLog:
    """Which tools ran, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[str] = []

    def add(self, name: str) -> None:
        with self._lock:
            self.calls.append(name)


TOOLS = ToolLog()


def weather(city: str) -> str:
    """Get the current weather in a city."""
    TOOLS.add("weather")
    return f"Sunny in {city}"


async def aweather(city: str) -> str:
    """Get the current weather in a city."""
    await asyncio.sleep(0.001)
    TOOLS.add("aweather")
    return f"Sunny in {city}"


def broken_lookup(term: str) -> str:
    """Look a term up in the encyclopedia."""
    TOOLS.add("broken_lookup")
    raise RuntimeError(f"secret internal detail about {term}")


async def slow_search(query: str) -> str:
    """Search the web."""
    TOOLS.add("slow_search")
    await asyncio.sleep(0.02)
    return f"Results for {query}"


class FanOut(dspy.Module):
    """Two drafts in ``dspy.Parallel`` threads, then one answer (dspy#9154)."""

    def __init__(self) -> None:
        super().__init__()
        self.draft = dspy.ChainOfThought("question -> answer")
        self.combine = dspy.Predict("question, drafts: list[str] -> answer")

    def forward(self, question: str) -> Any:
        drafts = dspy.Parallel(num_threads=2, disable_progress_bar=True)(
            [(self.draft, {"question": question}), (self.draft, {"question": question})]
        )
        return self.combine(question=question, drafts=[d.answer for d in drafts])


class ToolCallSig(dspy.Signature):
    """Pick the tools to call."""

    question: str = dspy.InputField()
    tools: list[dspy.Tool] = dspy.InputField()
    tool_calls: dspy.ToolCalls = dspy.OutputField()


class PlanTools(dspy.Module):
    """A predictor with native function calling; the app runs the calls itself."""

    def __init__(self) -> None:
        super().__init__()
        self.pick = dspy.Predict(ToolCallSig)

    def forward(self, question: str) -> Any:
        return self.pick(question=question, tools=[dspy.Tool(weather)])


class AnswerOrCall(dspy.Signature):
    """Answer, or call a tool first (upstream tests/adapters: native function calling)."""

    question: str = dspy.InputField()
    tools: list[dspy.Tool] = dspy.InputField()
    answer: str = dspy.OutputField()
    tool_calls: dspy.ToolCalls = dspy.OutputField()


class AnswerOrCallChat(AnswerOrCall):
    """The same with the conversation so far."""

    history: dspy.History = dspy.InputField()


class StreamedMessage(dspy.Type):
    """A custom streamable type (upstream tests/streaming:
    test_streaming_allows_custom_streamable_type): each model chunk parses as a value of
    its own, DSPy's end marker included; the whole reply, up to the blank line, is the
    value."""

    message: str

    @classmethod
    def is_streamable(cls) -> bool:
        return True

    @classmethod
    def adapt_to_native_lm_feature(
        cls, signature: Any, field_name: str, lm: Any, lm_kwargs: dict[str, Any]
    ) -> Any:
        return signature.delete(field_name)

    @classmethod
    def parse_stream_chunk(cls, chunk: Any) -> StreamedMessage | None:
        content = chunk.choices[0].delta.content
        return cls(message=content) if content else None

    @classmethod
    def parse_lm_response(cls, response: Any) -> StreamedMessage:
        return cls(message=str(response).split("\n\n")[0])


class CustomTypeSig(dspy.Signature):
    question: str = dspy.InputField()
    answer: StreamedMessage = dspy.OutputField()


class AnswerWithSources(dspy.Signature):
    """Answer questions using provided documents with citations."""

    documents: list[str] = dspy.InputField()
    """Upstream passes ``dspy.experimental.Document``s; those send the call through
    litellm (whose async client stays bound to the first test's event loop), and the
    model's reply, not the prompt, is what this scenario is about."""
    question: str = dspy.InputField()
    answer: str = dspy.OutputField()
    citations: Citations = dspy.OutputField()


PHYSICS = "Physics Facts: Water boils at 100°C at standard pressure."
CITED = {
    "cited_text": "water boils at 100°C",
    "document_index": 0,
    "document_title": "Physics Facts",
    "start_char_index": 0,
    "end_char_index": 19,
}


class AcallOnly(dspy.Module):
    """Overrides ``acall`` only (upstream tests/streaming:
    test_default_status_streaming_in_async_program): a sync tool, then a Predict."""

    def __init__(self) -> None:
        super().__init__()
        self.generate_question = dspy.Tool(ask_about, name="generate_question")
        self.predict = dspy.Predict("question -> answer")

    async def acall(self, x: str) -> Any:  # pyright: ignore[reportIncompatibleMethodOverride]
        question = await self.generate_question.acall(x=x)
        return await self.predict.acall(question=question)


def ask_about(x: str) -> str:
    """Make a question about a thing."""
    return f"What color is the {x}?"


XML = {"adapter": dspy.XMLAdapter()}
XML_ANSWER = (
    "<answer>\nR&amp;D costs &lt; 5% of revenue, &quot;small&quot; &#x26; steady.\n</answer>"
)


class Packing(pydantic.BaseModel):
    """A structured answer (issue 22 item 3)."""

    items: list[str]
    rain_expected: bool


class PackingSig(dspy.Signature):
    """Plan what to pack."""

    question: str = dspy.InputField()
    answer: str = dspy.OutputField()
    packing: Packing = dspy.OutputField()
    confidence: float = dspy.OutputField()


PACKING = {"items": ["umbrella", "boots"], "rain_expected": True}


@dataclass(frozen=True)
class Scenario:
    make_program: Callable[[], Any]
    script: Sequence[Reply] | Responder
    inputs: dict[str, Any]
    adapter: dict[str, Any] = field(default_factory=dict[str, Any])
    model: str = "openai/gpt-4o-mini"
    settings: dict[str, Any] = field(default_factory=dict[str, Any])
    runs: int = 1
    """Run this many times with one LM (a cache hit on the second); the last is kept."""
    cache: bool = False


@dataclass
class Outcome:
    body: bytes
    record: StreamRecord
    requests: list[dict[str, Any]]
    streams: list[StreamLog]
    result: Any


def lm(base_url: str, model: str = "openai/gpt-4o-mini", *, cache: bool = False) -> Any:
    return dspy.LM(model, api_base=base_url, api_key="test-key", cache=cache, num_retries=0)


async def run_scenario(scenario: Scenario, **ctx_options: Any) -> Outcome:
    if scenario.cache:
        dspy.cache.reset_memory_cache()  # the first run must really call the model
    with FakeLLM(scenario.script) as llm:
        model = lm(llm.base_url, scenario.model, cache=scenario.cache)
        adapter = DSPyAdapter(scenario.make_program(), **scenario.adapter)
        body = b""
        ctx: StreamContext[Any] | None = None
        results: list[Any] = []
        for _ in range(scenario.runs):
            ctx = StreamContext(collect=True, **ctx_options)

            async def work(ctx: StreamContext[Any]) -> None:
                results.append(await adapter.stream_into(ctx, **scenario.inputs))

            with dspy.context(lm=model, **scenario.settings):
                ctx.run(work)
            body = await consume(ctx)
            await ctx.wait_closed()
        assert ctx is not None
        assert ctx.record is not None
        return Outcome(
            body, ctx.record, llm.requests, llm.streams, results[-1] if results else None
        )


def weather_turns(
    tool: str, city: str = "Paris", thought: str = "I should look up Paris."
) -> tuple[Reply, ...]:
    """A ReAct run: call ``tool`` for ``city``, finish, answer (the answer says Paris)."""
    return (
        Reply(chat(next_thought=thought, next_tool_name=tool, next_tool_args={"city": city})),
        Reply(chat(next_thought="I have what I need.", next_tool_name="finish", next_tool_args={})),
        Reply(chat(reasoning="The tool said sunny.", answer="It is sunny in Paris.")),
    )


WEATHER_TURNS = weather_turns("weather")

SCENARIOS: dict[str, Scenario] = {
    "predict": Scenario(
        lambda: dspy.Predict("question -> answer"),
        [Reply(chat(answer="Paris is the capital of France."))],
        {"question": "What is the capital of France?"},
    ),
    "chain-of-thought": Scenario(
        lambda: dspy.ChainOfThought("question -> answer"),
        [Reply(chat(reasoning="France's capital is well known.", answer="Paris."))],
        {"question": "What is the capital of France?"},
    ),
    "react-sync-tool": Scenario(
        lambda: dspy.ReAct("question -> answer", tools=[weather], max_iters=4),
        WEATHER_TURNS,
        {"question": "Weather in Paris?"},
    ),
    "react-async-tool": Scenario(
        lambda: dspy.ReAct("question -> answer", tools=[aweather], max_iters=4),
        weather_turns("aweather"),
        {"question": "Weather in Paris?"},
    ),
    "react-failing-tool": Scenario(
        lambda: dspy.ReAct("question -> answer", tools=[broken_lookup], max_iters=4),
        [
            Reply(
                chat(
                    next_thought="Let me look it up.",
                    next_tool_name="broken_lookup",
                    next_tool_args={"term": "uiwire"},
                )
            ),
            Reply(
                chat(next_thought="The lookup failed.", next_tool_name="finish", next_tool_args={})
            ),
            Reply(chat(reasoning="No data.", answer="I could not find it.")),
        ],
        {"question": "What is uiwire?"},
    ),
    "native-reasoning": Scenario(
        lambda: dspy.Predict("question -> reasoning: dspy.Reasoning, answer"),
        [Reply(chat(answer="Paris."), reasoning="The capital of France is Paris, clearly.")],
        {"question": "What is the capital of France?"},
        model="openai/o4-mini",
    ),
    "native-tool-calls": Scenario(
        PlanTools,
        [
            Reply(
                "",
                tool_calls=[
                    ToolCallReply("weather", '{"city": "Paris"}', id="call_a"),
                    ToolCallReply("weather", '{"city": "Rome"}', id="call_b"),
                ],
            )
        ],
        {"question": "Weather in Paris and Rome?"},
        settings={"adapter": dspy.ChatAdapter(use_native_function_calling=True)},
    ),
    "json-adapter": Scenario(
        lambda: dspy.ChainOfThought("question -> answer"),
        [Reply('{"reasoning": "Quotes \\"inside\\" and\\nnewlines.", "answer": "Paris."}')],
        {"question": "What is the capital of France?"},
        settings={"adapter": dspy.JSONAdapter()},
    ),
    "cache-hit": Scenario(
        lambda: dspy.ChainOfThought("question -> answer"),
        [Reply(chat(reasoning="Cached thinking.", answer="A cached answer."))],
        {"question": "Will this be cached?"},
        runs=2,
        cache=True,
    ),
    "lm-error": Scenario(
        lambda: dspy.Predict("question -> answer"),
        [Reply(status=500)],
        {"question": "Will this fail?"},
    ),
    "none-answer": Scenario(
        lambda: dspy.Predict(AnswerOrCall),
        [Reply("", tool_calls=[ToolCallReply("weather", '{"city": "Paris"}', id="call_w")])],
        {"question": "Weather in Paris?", "tools": [dspy.Tool(weather)]},
        settings={"adapter": dspy.ChatAdapter(use_native_function_calling=True)},
    ),
    "xml-adapter": Scenario(
        lambda: dspy.Predict("question -> answer"),
        [Reply(XML_ANSWER, piece=3)],
        {"question": "How much is spent on R&D?"},
        settings=XML,
    ),
    "xml-adapter-one-chunk": Scenario(
        lambda: dspy.ChainOfThought("question -> answer"),
        [Reply("<reasoning>\nR&amp;D &lt; 5%.\n</reasoning>\n" + XML_ANSWER, piece=400)],
        {"question": "How much is spent on R&D?"},
        settings=XML,
    ),
    "custom-streamable-type": Scenario(
        lambda: dspy.Predict(CustomTypeSig),
        [Reply("HelloWorld\n\n[[ ## completed ## ]]", piece=5)],
        {"question": "why did a chicken cross the kitchen?"},
        settings={"adapter": dspy.ChatAdapter(native_response_types=[StreamedMessage])},
    ),
    "citations": Scenario(
        lambda: dspy.Predict(AnswerWithSources),
        [
            Reply(
                chat(answer="According to the references, water boils at 100°C.", citations=[CITED])
            )
        ],
        {"documents": [PHYSICS], "question": "What temperature does water boil?"},
    ),
    "acall-only": Scenario(
        AcallOnly,
        [Reply(chat(answer="Blue."))],
        {"x": "sky"},
    ),
    "react-v2-text-unknown-tool": Scenario(
        lambda: dspy.ReActV2("question -> answer", tools=[weather], max_iters=4),
        [
            Reply(
                chat(
                    next_thought="Look it up.",
                    tool_calls={"tool_calls": [{"name": "forecast", "args": {"city": "Paris"}}]},
                )
            ),
            Reply(
                chat(
                    next_thought="Submit.",
                    tool_calls={"tool_calls": [{"name": "submit", "args": {"answer": "Unknown."}}]},
                )
            ),
        ],
        {"question": "Weather in Paris?"},
    ),
    "structured-list": Scenario(
        lambda: dspy.Predict("question -> answer: list[str]"),
        [Reply(chat(answer=["umbrella", "rain boots", "a warm coat"]), piece=4)],
        {"question": "What should I pack for Paris?"},
    ),
    "structured-fields": Scenario(
        lambda: dspy.ChainOfThought(PackingSig),
        [
            Reply(
                chat(
                    reasoning="Rain is forecast.",
                    answer="Pack for rain.",
                    packing=PACKING,
                    confidence=0.9,
                ),
                piece=6,
            )
        ],
        {"question": "What should I pack for Paris?"},
    ),
    "structured-json-adapter": Scenario(
        lambda: dspy.Predict(PackingSig),
        [
            Reply(
                '{"answer": "Pack for rain.", "packing": {"items": ["umbrella", "boots"], '
                '"rain_expected": true}, "confidence": 0.9}',
                piece=7,
            )
        ],
        {"question": "What should I pack for Paris?"},
        settings={"adapter": dspy.JSONAdapter()},
    ),
    "parallel": Scenario(
        FanOut,
        lambda payload: Reply(
            chat(answer="Paris, from two drafts.")
            if "drafts" in str(payload["messages"][-1]["content"])
            else chat(reasoning="Draft thinking.", answer="Paris.")
        ),
        {"question": "What is the capital of France?"},
    ),
}
