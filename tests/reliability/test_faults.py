"""Fault injection through a real server, for DSPy and the Agents SDK alike.

Every case runs ``ChatEndpoint`` on loopback (uvicorn, in the test's loop) in front of
``DSPyAdapter`` or ``AgentsAdapter``, whose model is the scripted ``FakeLLM``, and
injects one fault:

* the model: HTTP 500 (on the first call, and on the call after a tool ran), a
  malformed SSE event mid-stream, a body cut short, a stream that stalls past the
  client's read timeout (or, without one, past ``ChatEndpoint(timeout=...)``);
* the tools: one that raises (its secret text must not reach the client), one that
  hangs past the Agents SDK's ``function_tool(timeout=...)``, and one that hangs for
  ever under ``ChatEndpoint(timeout=...)`` (it must be cancelled);
* ``on_finish`` raising (and, as documented, a sync one running off the event loop);
* the stream store: ``RedisStreamStore`` whose Redis is down when the turn starts, or
  stopped mid-answer, beside the baselines without a store and with ``MemoryStreamStore``.

For each, the client gets the documented HTTP status and a valid stream ending with the
masked ``error`` (or ``finish`` where the fault is absorbed) and ``[DONE]``; what
``on_finish`` got is what the client assembled; no secret text, no task and no model
stream is left behind; and the same server then answers a normal request. The time from
each fault to ``[DONE]`` is reported as a figure (``tests/support/figures.py``), never
asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import dspy
import httpx
import pytest
from agents import Agent, OpenAIResponsesModel, function_tool, set_tracing_disabled
from benchmarks._results import Result, Table
from openai import AsyncOpenAI
from starlette.applications import Starlette

from tests.support.fake_llm import FakeLLM, Reply, ToolCallReply, chat
from tests.support.figures import report
from tests.support.redis_server import RedisServer
from tests.support.servers import serve
from tests.support.stream_rules import assert_valid_body
from tests.support.tasks import agents_tasks_left, tasks_left
from uiwire.adapters.agents import AgentsAdapter
from uiwire.adapters.dspy import DSPyAdapter
from uiwire.chats import MemoryChatStore
from uiwire.protocol import UIMessageAssembler
from uiwire.protocol.encode import DONE_FRAME
from uiwire.resume import MemoryStreamStore, RedisStreamStore, StreamStore
from uiwire.server import ChatEndpoint, ChatHooks, ChatResult, Conversations, ResponseOptions

set_tracing_disabled(True)  # the exporter would post traces to the provider

pytestmark = pytest.mark.timeout(60)

Framework = Literal["dspy", "agents"]
FRAMEWORKS: list[Framework] = ["dspy", "agents"]

SECRET = "hunter2-internal-detail"
"""In every exception a fault raises: it must never reach a client."""
MASKED = {"type": "error", "errorText": "An error occurred."}
FINISH = {"type": "finish"}
HEALTHY = "healthy check"
"""The question of the request that proves the server still works after a fault."""
HEALTHY_ANSWER = "All good here."
LONG_TEXT = "The answer is long enough to be cut somewhere in the middle of it."


# --- what happens where ---------------------------------------------------------------


class Events:
    """Tool starts and ends, with their times, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: list[tuple[str, float]] = []

    def add(self, name: str) -> None:
        with self._lock:
            self.seen.append((name, time.monotonic()))

    def names(self) -> list[str]:
        with self._lock:
            return [name for name, _ in self.seen]

    def at(self, name: str) -> float:
        with self._lock:
            return next(when for seen, when in self.seen if seen == name)


EVENTS = Events()


async def lookup(city: str) -> str:
    """Get the current weather in a city."""
    EVENTS.add("lookup")
    return f"Sunny in {city}"


async def broken_lookup(term: str) -> str:
    """Look a term up in the encyclopedia."""
    EVENTS.add("broken_lookup:start")
    raise RuntimeError(f"{SECRET} about {term}")


async def hung_search(query: str) -> str:
    """Search the archive (it never answers)."""
    EVENTS.add("hung_search:start")
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        EVENTS.add("hung_search:cancelled")
        raise
    return "never"  # pragma: no cover


class LogRecords(logging.Handler):
    """The ``uiwire`` logger's records, kept here instead of printed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self, level: int = logging.ERROR) -> str:
        """Every message at ``level`` or above, with its exception's text."""
        lines: list[str] = []
        for record in self.records:
            if record.levelno >= level:
                lines.append(record.getMessage())
                if record.exc_info and record.exc_info[1] is not None:
                    lines.append(repr(record.exc_info[1]))
        return "\n".join(lines)


@pytest.fixture(autouse=True)
def logged() -> Iterator[LogRecords]:
    """Quiet the ``uiwire`` logger (faults log errors by design) but keep its records."""
    logger = logging.getLogger("uiwire")
    handler = LogRecords()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    EVENTS.seen.clear()
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


# --- the figures -----------------------------------------------------------------------


@dataclass
class Row:
    fault: str
    framework: str
    http: int
    ending: str
    on_finish: str
    fault_to_done_ms: float | None


@pytest.fixture(scope="module")
def figures() -> Iterator[list[Row]]:
    rows: list[Row] = []
    yield rows
    if not rows:
        return
    table = Table(
        "Fault injection: how each fault ends, through a real server",
        ["fault", "framework", "HTTP", "stream ends with", "on_finish status", "fault → [DONE]"],
        [
            [
                r.fault,
                r.framework,
                str(r.http),
                r.ending,
                r.on_finish,
                "—" if r.fault_to_done_ms is None else f"{r.fault_to_done_ms:,.0f} ms",
            ]
            for r in rows
        ],
    )
    report(
        Result(
            name="faults",
            title="Fault injection",
            params={
                "fault time": "model faults: the faulty request reaching the model server; tool "
                "faults: the tool starting; store faults: Redis stopping (or the request, when "
                "it was down from the start)",
                "lm read timeout s": STALL_TIMEOUT,
                "tool timeout s": TOOL_TIMEOUT,
                "turn timeout s": TURN_TIMEOUT,
            },
            figures={"cases": [r.__dict__ for r in rows]},
            tables=[table],
        )
    )


# --- one server per case ----------------------------------------------------------------


STALL_TIMEOUT = 1.0
TOOL_TIMEOUT = 0.5
TURN_TIMEOUT = 1.0


@dataclass
class Turn:
    """One POST as the client saw it."""

    status: int
    headers: dict[str, str]
    body: bytes
    sent_at: float
    done_at: float | None
    """``time.monotonic()`` when ``[DONE]`` arrived."""


@dataclass
class Rig:
    framework: Framework
    llm: FakeLLM
    base: str
    client: httpx.AsyncClient
    results: list[ChatResult]
    scripted_at: list[float]
    """When each scripted (faulty) model request arrived."""
    unexpected: list[dict[str, Any]]
    """Model requests beyond the script (answered with a 500)."""
    on_finish_hooks: list[Callable[[ChatResult], object]] = field(
        default_factory=list[Callable[[ChatResult], object]]
    )

    @property
    def chat(self) -> str:
        return f"{self.base}/api/chat"

    async def post(
        self,
        text: str,
        *,
        midway: Callable[[], Awaitable[None]] | None = None,
        after_events: int = 4,
    ) -> Turn:
        """POST one user message; ``midway`` runs once ``after_events`` events arrived."""
        payload = {
            "id": "chat-1",
            "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}],
            "trigger": "submit-message",
        }
        sent = time.monotonic()
        body = b""
        done_at: float | None = None
        async with self.client.stream("POST", self.chat, json=payload) as response:
            async for data in response.aiter_raw():
                body += data
                if midway is not None and body.count(b"\n\n") >= after_events:
                    await midway()
                    midway = None
                if done_at is None and body.endswith(DONE_FRAME):
                    done_at = time.monotonic()
        return Turn(response.status_code, dict(response.headers), body, sent, done_at)

    async def result(self, count: int) -> ChatResult:
        """The ``count``-th result ``on_finish`` got (it runs after the last byte)."""
        for _ in range(1000):
            if len(self.results) >= count:
                return self.results[count - 1]
            await asyncio.sleep(0.01)
        raise AssertionError(f"on_finish ran {len(self.results)} times, not {count}")

    async def model_streams_closed(self) -> None:
        for _ in range(500):
            if all(s.ended_at is not None for s in self.llm.streams):
                return
            await asyncio.sleep(0.01)
        open_ = [s.payload.get("model") for s in self.llm.streams if s.ended_at is None]
        raise AssertionError(f"model streams left open: {open_}")


def responder(
    framework: Framework, script: Sequence[Reply], rig: dict[str, list[Any]]
) -> Callable[[dict[str, Any]], Reply]:
    """The scripted replies in order; a healthy answer to the health check."""
    pending = list(script)

    def respond(payload: dict[str, Any]) -> Reply:
        if HEALTHY in json.dumps(payload):
            if framework == "agents":
                return Reply(text=HEALTHY_ANSWER)
            if "next_thought" in str(payload["messages"][0]["content"]):  # ReAct's loop
                return Reply(chat(next_thought="Done.", next_tool_name="finish", next_tool_args={}))
            return Reply(chat(reasoning="Nothing to check.", answer=HEALTHY_ANSWER))
        if not pending:
            rig["unexpected"].append(payload)
            return Reply(status=500)
        rig["scripted_at"].append(time.monotonic())
        return pending.pop(0)

    return respond


class Rigs:
    """Starts servers for a test and stops everything they opened at its end."""

    def __init__(self, stack: contextlib.AsyncExitStack) -> None:
        self._stack = stack

    async def start(
        self,
        framework: Framework,
        script: Sequence[Reply],
        *,
        tools: Sequence[Callable[..., Awaitable[str]]] = (),
        lm_timeout: float | None = None,
        tool_options: dict[str, Any] | None = None,
        raise_in_on_finish: bool = False,
        streams: StreamStore | None = None,
        timeout: float | None = None,
    ) -> Rig:
        shared: dict[str, list[Any]] = {"scripted_at": [], "unexpected": []}
        llm = self._stack.enter_context(FakeLLM(responder(framework, script, shared)))
        if framework == "dspy":
            options: dict[str, Any] = {} if lm_timeout is None else {"timeout": lm_timeout}
            model = dspy.LM(
                "openai/gpt-4o-mini",
                api_base=llm.base_url,
                api_key="test-key",
                cache=False,
                num_retries=0,
                **options,
            )
            program: Any = (
                dspy.ReAct("question -> answer", tools=list(tools), max_iters=3)
                if tools
                else dspy.Predict("question -> answer")
            )
            program.set_lm(model)
            adapter: Any = DSPyAdapter(program)
        else:
            client = AsyncOpenAI(
                base_url=llm.base_url,
                api_key="test-key",
                max_retries=0,
                timeout=lm_timeout if lm_timeout is not None else 30.0,
            )
            self._stack.push_async_callback(client.close)
            agent = Agent(
                name="Assistant",
                model=OpenAIResponsesModel(model="gpt-4.1", openai_client=client),
                tools=[function_tool(t, **(tool_options or {})) for t in tools],
            )
            adapter = AgentsAdapter(agent)
        results: list[ChatResult] = []
        hooks: list[Callable[[ChatResult], object]] = []

        def on_finish(result: ChatResult) -> None:
            for hook in hooks:
                hook(result)
            results.append(result)
            if raise_in_on_finish:
                raise RuntimeError(f"the database is down: {SECRET}")

        # one process: its memory may keep the chats, whatever the stream store
        chats = Conversations(store=MemoryChatStore())
        endpoint = ChatEndpoint(
            adapter,
            hooks=ChatHooks(on_finish=on_finish),
            response=ResponseOptions(timeout=timeout),
            streams=streams,
            conversations=chats,
        )
        base = await self._stack.enter_async_context(serve(Starlette(routes=endpoint.routes())))
        http = await self._stack.enter_async_context(httpx.AsyncClient(timeout=30))
        return Rig(
            framework,
            llm,
            base,
            http,
            results,
            shared["scripted_at"],
            shared["unexpected"],
            on_finish_hooks=hooks,
        )


@pytest.fixture
async def rigs() -> AsyncIterator[Rigs]:
    async with contextlib.AsyncExitStack() as stack:
        yield Rigs(stack)


# --- the checks every case makes -------------------------------------------------------


def assembled(chunks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    assembler = UIMessageAssembler()
    for chunk in chunks:
        assembler.apply(chunk)
    return assembler.message


async def uiwire_work_left() -> list[str]:
    """uiwire's tasks still alive, but for a Redis store's own (they live as long as it)."""
    return await tasks_left(
        lambda t: (
            name
            if (name := t.get_name()).startswith("uiwire-") and not name.startswith("uiwire-redis-")
            else None
        )
    )


async def check_turn(
    rig: Rig,
    turn: Turn,
    *,
    ending: dict[str, Any],
    number: int = 1,
) -> tuple[list[dict[str, Any]], ChatResult]:
    """The checks every fault shares; returns the client's chunks and the saved result."""
    assert turn.status == 200, turn.body
    assert turn.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert SECRET.encode() not in turn.body
    chunks = assert_valid_body(turn.body)
    assert chunks[-1] == ending
    assert turn.body.endswith(DONE_FRAME)
    assert turn.done_at is not None
    result = await rig.result(number)
    assert result.status == ending["type"]
    message = assembled(chunks)
    assert result.record.message == message  # the record is what the client assembled
    if message["parts"]:
        assert result.messages[-1] == message
    else:  # nothing to save of an empty answer: the conversation is the request's
        assert [m["role"] for m in result.messages] == ["user"]
    exception = result.record.exception
    if ending["type"] == "error":
        assert result.record.error_text == MASKED["errorText"]
        assert exception is not None
    if exception is not None and str(exception):  # masked: its text stays on the server
        assert str(exception).encode() not in turn.body
    assert b"scripted failure" not in turn.body  # the provider's error body either
    assert SECRET not in json.dumps(result.messages)
    assert await uiwire_work_left() == []
    assert await agents_tasks_left() == []
    await rig.model_streams_closed()
    return chunks, result


async def check_healthy(rig: Rig, number: int) -> None:
    """The same server answers a normal request correctly after the fault."""
    turn = await rig.post(HEALTHY)
    chunks, result = await check_turn(rig, turn, ending=FINISH, number=number)
    texts = [p["text"] for p in result.record.message["parts"] if p["type"] == "text"]
    assert texts[-1] == HEALTHY_ANSWER
    assert chunks[0]["type"] == "start"
    assert rig.unexpected == []


def since(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start) * 1000


def ending_of(chunks: Sequence[dict[str, Any]]) -> str:
    last = chunks[-1]
    return "masked error" if last == MASKED else last["type"]


# --- 1-4: the model fails --------------------------------------------------------------


def tool_call(framework: Framework, name: str, args: dict[str, Any]) -> Reply:
    """The model asks for ``name(**args)``: a ReAct step for DSPy, a function call else."""
    if framework == "dspy":
        return Reply(
            chat(next_thought=f"I will call {name}.", next_tool_name=name, next_tool_args=args)
        )
    return Reply(tool_calls=[ToolCallReply(name, json.dumps(args), id="call_1")])


def answer(framework: Framework, text: str, **fault: Any) -> Reply:
    if framework == "dspy":
        return Reply(chat(answer=text), **fault)
    return Reply(text=text, **fault)


MODEL_FAULTS = [
    "http-500",
    "http-500-after-tool",
    "malformed-sse",
    "truncated",
    "stalled",
    "stalled-past-turn-timeout",
]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("fault", MODEL_FAULTS)
async def test_a_model_fault_ends_with_a_masked_error(
    rigs: Rigs, figures: list[Row], fault: str, framework: Framework, logged: LogRecords
) -> None:
    """``stalled``: the client's read timeout gives up on the model;
    ``stalled-past-turn-timeout``: no read timeout, ``ChatEndpoint(timeout=...)`` does."""
    tools: list[Callable[..., Awaitable[str]]] = []
    lm_timeout = turn_timeout = None
    if fault == "http-500":
        script = [Reply(status=500)]
    elif fault == "http-500-after-tool":
        tools = [lookup]
        script = [tool_call(framework, "lookup", {"city": "Paris"}), Reply(status=500)]
    elif fault == "malformed-sse":
        script = [answer(framework, LONG_TEXT, malformed_after=6)]
    elif fault == "truncated":
        script = [answer(framework, LONG_TEXT, cut_after=6)]
    elif fault == "stalled":
        lm_timeout = STALL_TIMEOUT
        script = [answer(framework, LONG_TEXT, stall_after=6)]
    else:
        turn_timeout = TURN_TIMEOUT
        script = [answer(framework, LONG_TEXT, stall_after=6)]
    rig = await rigs.start(
        framework, script, tools=tools, lm_timeout=lm_timeout, timeout=turn_timeout
    )

    turn = await rig.post("What is the weather in Paris?")

    chunks, result = await check_turn(rig, turn, ending=MASKED)
    assert len(rig.scripted_at) == len(script)  # every scripted call, and no retry
    assert rig.unexpected == []
    if fault == "http-500-after-tool":
        # the tool's result reached the client before the failing call
        (call,) = result.record.tool_calls
        assert (call.tool_name, call.state, call.output) == (
            "lookup",
            "output-available",
            "Sunny in Paris",
        )
        assert EVENTS.names() == ["lookup"]
    if fault not in ("http-500", "http-500-after-tool"):
        # what streamed before the fault is kept, closed, on both sides
        assert LONG_TEXT.startswith(result.record.text)
        assert result.record.text
    if fault.startswith("stalled"):
        assert rig.llm.streams[0].cut  # we hung up on the stalled stream
    if fault == "stalled-past-turn-timeout":
        assert type(result.record.exception).__name__ == "TurnTimeout"
    assert type(result.record.exception).__name__ in logged.text()  # logged in full
    figures.append(
        Row(
            fault,
            framework,
            turn.status,
            ending_of(chunks),
            result.status,
            since(rig.scripted_at[-1], turn.done_at),
        )
    )
    await check_healthy(rig, 2)


# --- 5: a tool raises -------------------------------------------------------------------


def then_answer(framework: Framework, text: str) -> list[Reply]:
    """The replies after a tool's result: ReAct decides to finish, then extracts."""
    if framework == "dspy":
        return [
            Reply(
                chat(next_thought="That did not work.", next_tool_name="finish", next_tool_args={})
            ),
            Reply(chat(reasoning="The tool failed.", answer=text)),
        ]
    return [Reply(text=text)]


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_tool_that_raises_is_a_masked_tool_error_and_the_answer_goes_on(
    rigs: Rigs, figures: list[Row], framework: Framework, logged: LogRecords
) -> None:
    script = [
        tool_call(framework, "broken_lookup", {"term": "uiwire"}),
        *then_answer(framework, "I could not look it up."),
    ]
    rig = await rigs.start(framework, script, tools=[broken_lookup])

    turn = await rig.post("What is uiwire?")

    chunks, result = await check_turn(rig, turn, ending=FINISH)
    (call,) = result.record.tool_calls
    assert (call.tool_name, call.state, call.error_text) == (
        "broken_lookup",
        "output-error",
        MASKED["errorText"],
    )
    assert result.record.text == "I could not look it up."
    # the model is told the tool failed, in the framework's words: ReAct's observation
    # carries the exception's text, the Agents SDK's default message does not
    told = json.dumps(rig.llm.requests[1])
    if framework == "dspy":
        assert "Execution error in broken_lookup" in told
        assert SECRET in told
    else:
        assert "An error occurred while running the tool." in told
        assert SECRET not in told
    assert SECRET in logged.text()  # the full exception is logged server-side
    assert len(rig.scripted_at) == len(script)
    figures.append(
        Row(
            "tool raises",
            framework,
            turn.status,
            f"{ending_of(chunks)}, tool {call.state}",
            result.status,
            since(EVENTS.at("broken_lookup:start"), turn.done_at),
        )
    )
    await check_healthy(rig, 2)


# --- 6: a tool hangs --------------------------------------------------------------------


def told_timeout() -> str:
    return f"Tool 'hung_search' timed out after {TOOL_TIMEOUT:g} seconds."


@pytest.mark.parametrize("behavior", ["error_as_result", "raise_exception"])
async def test_an_agents_tool_past_its_timeout_is_cancelled(
    rigs: Rigs, figures: list[Row], behavior: str, logged: LogRecords
) -> None:
    """``function_tool(timeout=...)``: the SDK cancels the tool and tells the model
    (``error_as_result``) or fails the run (``raise_exception``)."""
    absorbed = behavior == "error_as_result"
    script = [tool_call("agents", "hung_search", {"query": "uiwire"})]
    if absorbed:
        script.append(Reply(text="The search timed out."))
    rig = await rigs.start(
        "agents",
        script,
        tools=[hung_search],
        tool_options={"timeout": TOOL_TIMEOUT, "timeout_behavior": behavior},
    )

    turn = await rig.post("Search the archive for uiwire.")

    chunks, result = await check_turn(rig, turn, ending=FINISH if absorbed else MASKED)
    assert EVENTS.names() == ["hung_search:start", "hung_search:cancelled"]
    (call,) = result.record.tool_calls
    assert call.tool_name == "hung_search"
    if absorbed:
        assert told_timeout() in json.dumps(rig.llm.requests[1])
        assert result.record.text == "The search timed out."
    else:
        assert type(result.record.exception).__name__ == "ToolTimeoutError"
        assert call.state == "input-available"
    assert len(rig.scripted_at) == len(script)
    figures.append(
        Row(
            f"tool past function_tool(timeout) ({behavior})",
            "agents",
            turn.status,
            f"{ending_of(chunks)}, tool {call.state}",
            result.status,
            since(EVENTS.at("hung_search:start"), turn.done_at),
        )
    )
    await check_healthy(rig, 2)
    if absorbed:
        # a tool that timed out failed, as one that raised did: the client shows the
        # SDK's timeout message as the call's error, not as its output
        assert call.state == "output-error", call
        assert call.error_text == told_timeout()


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_a_hung_tool_is_cancelled_by_the_turn_timeout(
    rigs: Rigs, figures: list[Row], framework: Framework, logged: LogRecords
) -> None:
    script = [tool_call(framework, "hung_search", {"query": "uiwire"})]
    rig = await rigs.start(framework, script, tools=[hung_search], timeout=TURN_TIMEOUT)

    turn = await rig.post("Search the archive for uiwire.")

    chunks, result = await check_turn(rig, turn, ending=MASKED)
    assert EVENTS.names() == ["hung_search:start", "hung_search:cancelled"]
    assert type(result.record.exception).__name__ == "TurnTimeout"
    assert "TurnTimeout" in logged.text()
    (call,) = result.record.tool_calls
    assert (call.tool_name, call.state) == ("hung_search", "input-available")
    assert len(rig.llm.requests) == 1  # nothing ran after the cancelled tool
    figures.append(
        Row(
            "tool hangs past ChatEndpoint(timeout)",
            framework,
            turn.status,
            ending_of(chunks),
            result.status,
            since(EVENTS.at("hung_search:start"), turn.done_at),
        )
    )
    await check_healthy(rig, 2)


# --- 7: on_finish raises ----------------------------------------------------------------


def on_finish_failures(logged: LogRecords) -> list[logging.LogRecord]:
    return [
        r
        for r in logged.records
        if r.levelno >= logging.ERROR and "on_finish" in r.getMessage() and r.exc_info
    ]


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_on_finish_raising_is_logged_and_the_stream_is_untouched(
    rigs: Rigs, figures: list[Row], framework: Framework, logged: LogRecords
) -> None:
    rig = await rigs.start(framework, [answer(framework, "Fine.")], raise_in_on_finish=True)

    turn = await rig.post("How are you?")

    chunks, result = await check_turn(rig, turn, ending=FINISH)
    assert result.record.text == "Fine."
    for _ in range(500):  # it raises after the result was taken
        if on_finish_failures(logged):
            break
        await asyncio.sleep(0.01)
    (failure,) = on_finish_failures(logged)
    assert failure.exc_info is not None
    assert SECRET in str(failure.exc_info[1])
    figures.append(
        Row(
            "on_finish raises",
            framework,
            turn.status,
            ending_of(chunks),
            f"{result.status} (then raised, logged)",
            None,
        )
    )
    await check_healthy(rig, 2)
    for _ in range(500):
        if len(on_finish_failures(logged)) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(on_finish_failures(logged)) == 2


# --- 8: the stream store fails ----------------------------------------------------------


STORE_CASES = ["no store", "memory", "redis down at start", "redis stopped mid-stream"]


def slow_answer(framework: Framework) -> Reply:
    words = " ".join(f"w{i}" for i in range(60))
    if framework == "dspy":
        return Reply(chat(answer=words), delay=0.01)
    return Reply(text=words, delay=0.01)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("case", STORE_CASES)
async def test_a_store_that_fails_degrades_to_a_plain_stream(
    rigs: Rigs,
    figures: list[Row],
    framework: Framework,
    case: str,
    logged: LogRecords,
    request: pytest.FixtureRequest,
) -> None:
    redis: RedisServer | None = None
    store: StreamStore | None = None
    if case == "memory":
        store = MemoryStreamStore()
    elif case.startswith("redis"):
        redis = request.getfixturevalue("redis_server")
        assert redis is not None
        store = RedisStreamStore(redis.url, lease=2.0)
    rig = await rigs.start(framework, [slow_answer(framework)], streams=store)
    fault_at: float | None = None
    resumed_midway: list[httpx.Response] = []

    async def stop_redis() -> None:
        nonlocal fault_at
        assert redis is not None
        await asyncio.to_thread(redis.stop)
        fault_at = time.monotonic()
        resumed_midway.append(await rig.client.get(f"{rig.chat}/chat-1/stream"))

    try:
        if case == "redis down at start":
            assert redis is not None
            await asyncio.to_thread(redis.stop)
        midway = stop_redis if case == "redis stopped mid-stream" else None
        turn = await rig.post("Tell me sixty words.", midway=midway, after_events=6)
        if case == "redis down at start":
            fault_at = turn.sent_at

        chunks, result = await check_turn(rig, turn, ending=FINISH)
        assert result.record.text == slow_answer("agents").text
        resumed = await rig.client.get(f"{rig.chat}/chat-1/stream")
        stopped = await rig.client.post(f"{rig.chat}/chat-1/stop", json={})
        if redis is None:  # nothing to resume once the answer is over
            assert (resumed.status_code, stopped.status_code) == (204, 204)
        else:  # the store is down: a clear 503, to be retried
            for refused in (*resumed_midway, resumed, stopped):
                assert refused.status_code == 503
                assert refused.headers["retry-after"] == "2"
            errors = logged.text()
            if case == "redis down at start":
                assert "streamed without resumption" in errors
            else:
                assert "recording failed" in errors
        figures.append(
            Row(
                f"stream store: {case}",
                framework,
                turn.status,
                ending_of(chunks),
                result.status,
                since(fault_at if fault_at is not None else turn.sent_at, turn.done_at),
            )
        )
        await check_healthy(rig, 2)
    finally:
        if store is not None:
            await store.aclose()
    assert (
        await tasks_left(lambda t: t.get_name() if t.get_name().startswith("uiwire-") else None)
        == []
    )


async def test_a_sync_on_finish_runs_off_the_event_loop(rigs: Rigs) -> None:
    """As ``ChatEndpoint`` documents: a slow (or hung) database call in a plain
    ``on_finish`` must not stall every other stream of the server."""
    rig = await rigs.start("dspy", [answer("dspy", "Fine.")])
    loop_thread = threading.get_ident()
    threads: list[int] = []
    rig.on_finish_hooks.append(lambda _: threads.append(threading.get_ident()))

    turn = await rig.post("How are you?")

    await check_turn(rig, turn, ending=FINISH)
    assert len(threads) == 1
    assert threads[0] != loop_thread, "the sync on_finish ran on the event loop thread"
