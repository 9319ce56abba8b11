"""Disconnect fuzzing through a real server (issue 9).

Per framework, one uvicorn server runs ``ChatEndpoint`` over ``DSPyAdapter`` or
``AgentsAdapter``, and one scripted model (``FakeLLM``) answers every run by the tag in
its prompt, so runs share it concurrently. Each scenario passes through every phase: the
model's reasoning, its text, a tool call whose input streams, the tool running (an
async tool, or a sync one in a sync program's worker thread), more model calls; the
Agents SDK also pauses on a tool that needs approval, and resumes when a second request
carries the answer.

Each scenario first runs once uncut, to learn its events. Then ``CUTS`` clients per
framework, ``BATCH`` at a time, hang up at random points: after ``k`` events (plus 0-30
ms), or after a random time (which lands cuts between events too), always early
enough that the model still has events to send, so that the run cannot have finished
and the outcome is ``disconnect`` every time; a fifth of the cuts wait for a tool to
start, then hang up while it runs. The seed is printed; set
``UIWIRE_FUZZ_SEED`` to draw the same cut points again (the timing still varies), and
``UIWIRE_FUZZ_CUTS`` for fewer cuts.

The cancel moment is when the server saw the disconnect: the first ``http.disconnect``
that the endpoint's ``receive`` returned, or a failed ``send``, timed by a thin ASGI
wrapper. ``ChatEndpoint``'s response calls ``ctx.disconnect()`` in that same loop step,
so it is the earliest moment the server could act, before ``on_finish`` (which runs in
a task spawned from there). Both sides of every comparison are timed in the server's
process, and the work that runs on the loop is timed on the loop too, so their order is
exact: a tool's first line, and a model call being made, after every DSPy callback
passed (an LM-level callback, which DSPy runs after uiwire's bridge had its chance to
refuse), or the Agents SDK's HTTP client sending the request (an ``httpx2`` request
hook). Only a sync program's worker thread races the loop for the GIL: a step of it
within ``THREAD_RACE`` after the cancel moment is counted, not failed.

Per cut: ``on_finish`` ran once, with ``disconnect``; every model stream of the run was
closed, cut by the client unless it was ending on its own anyway; no tool started and no
model call was made after the cancel moment; an async tool running then was cancelled;
what the client got is a valid prefix of a stream. The checks wait ``GRACE`` first
(longer than a tool plus a model call), so a run left behind has time to misbehave. Per
batch: no uiwire or Agents SDK task is left, the loop's tasks are back to what they
were, no thread is left busy in uiwire, DSPy, litellm, the Agents SDK or a tool
(``tests.support.threads``), and the server still answers a whole request. The figures
(latency from the cut, what the cut found running, where cuts landed) go to the
"Reliability" docs page (``tests.support.figures``); they are reported, never asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import dspy
import httpx
import httpx2
import pytest
from agents import Agent, OpenAIResponsesModel, function_tool, set_tracing_disabled
from benchmarks._results import Result, Table, fmt, percentiles
from dspy.utils.callback import BaseCallback
from openai import AsyncOpenAI
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.support.fake_llm import FakeLLM, Reply, StreamLog, ToolCallReply, chat
from tests.support.figures import report as report_figures
from tests.support.messages import user
from tests.support.servers import serve
from tests.support.stream_rules import assert_valid_body
from tests.support.tasks import agents_tasks_left, uiwire_tasks_left
from tests.support.threads import BusyThread, busy_threads, threads_left
from uiwire.adapters.agents import AgentsAdapter
from uiwire.adapters.dspy import DSPyAdapter
from uiwire.protocol import UIMessageAssembler
from uiwire.protocol.validate import check_stream
from uiwire.server import ChatEndpoint, ChatHooks, ChatResult
from uiwire.stream import StreamRecord

set_tracing_disabled(True)

SEED = int(os.environ.get("UIWIRE_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
CUTS = int(os.environ.get("UIWIRE_FUZZ_CUTS") or 200)
"""Cut points per framework."""
BATCH = 10
"""Cuts run concurrently, each with its own tag; leaks are compared per batch."""
DELAY = 0.005
"""Seconds before each model event: a model call streams for 0.1-0.4 s."""
PIECE = 5
TOOL_SLEEP = (0.05, 0.1)
EXTRA_SLEEP = 0.03
"""A cut after ``k`` events waits up to this long first (the server goes on meanwhile)."""
RESERVE = 16
"""Deltas of the last model call a cut leaves unsent (at least RESERVE * DELAY seconds
of streaming, well above EXTRA_SLEEP): the run cannot finish before the cut lands."""
GRACE = 0.6
"""Seconds between the last cut and the checks: more than a tool plus a model call."""
SETTLE = 10.0
"""Liveness bound: everything (on_finish, model streams, tasks, threads) settles within."""
FINISHING = 0.1
"""A model stream still open at the cancel moment may end on its own within this long
(it was sending its last events); later, it must have been cut by the client."""
THREAD_RACE = 4 * sys.getswitchinterval()
"""A worker thread that passed its last cancellation check just before the cancel moment
may wait this long for the GIL before its next line (the tool's first, the model call's
record) runs: a start within it raced the disconnect, and is counted, not failed."""

VERBOSE = bool(os.environ.get("UIWIRE_FUZZ_VERBOSE"))
"""Print every cut: where it landed, the last chunk the client got."""

CUT_HEADER = "x-fuzz-cut"
TAG = re.compile(r"fuzz-\d+")

THOUGHT = "The user asks about the weather; I should call the lookup tool for their city first."
DETAIL = "hourly forecast with wind, humidity and the chance of rain for the afternoon"
REASONING = "The tool answered with the forecast, so I can now write a short, friendly answer."
ANSWER = (
    "It is sunny with a light breeze this afternoon, about twenty-two degrees, and the "
    "chance of rain stays low until the evening, when clouds come in from the west; "
    "take a light jacket if you go out late."
)
FIRST_TEXT = "Let me check the forecast for you with the report tool before I answer that."


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="uiwire")


# --- what the server's process saw, from any thread ------------------------------------


class Log:
    """Timestamped events by tag (tools, model calls made), from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[tuple[str, str, float]] = []

    def add(self, tag: str, what: str) -> None:
        at = time.monotonic()
        with self._lock:
            self._events.append((tag, what, at))

    def of(self, tag: str) -> list[tuple[str, float]]:
        with self._lock:
            return [(what, at) for t, what, at in self._events if t == tag]


TOOLS = Log()
"""``(tag, "start" | "end" | "cancelled")`` from the tools' own code."""
MODEL_CALLS = Log()
"""``(tag, "call")`` when DSPy makes a model call (after every callback that could stop
it), ``(tag, "request")`` when the Agents SDK's HTTP client sends one."""


@dataclass
class Plan:
    """How the scripted model and the tools treat one tag."""

    delay: float = DELAY
    tool_sleep: float = 0.05
    tool: str = "report"
    fast_first: bool = False
    """The first model call streams without delay (the paused run of a continuation cut)."""


PLANS: dict[str, Plan] = {}
_numbers = iter(range(1, 10**9))


def new_tag(plan: Plan) -> str:
    tag = f"fuzz-{next(_numbers):05d}"
    PLANS[tag] = plan
    return tag


def tag_in(text: str) -> str:
    found = TAG.search(text)
    assert found, f"no tag in {text[:200]!r}"
    return found.group(0)


async def _async_tool(tag: str) -> str:
    TOOLS.add(tag, "start")
    try:
        await asyncio.sleep(PLANS[tag].tool_sleep)
    except asyncio.CancelledError:
        TOOLS.add(tag, "cancelled")
        raise
    TOOLS.add(tag, "end")
    return f"Sunny for {tag}"


# --- DSPy ---------------------------------------------------------------------------------


async def lookup(city: str, detail: str) -> str:
    """Get the weather forecast for a city."""
    return await _async_tool(city)


def lookup_sync(city: str, detail: str) -> str:
    """Get the weather forecast for a city."""
    TOOLS.add(city, "start")
    time.sleep(PLANS[city].tool_sleep)  # a sync tool cannot be interrupted
    TOOLS.add(city, "end")
    return f"Sunny for {city}"


class ModelCalls(BaseCallback):
    """An LM-level callback: DSPy runs it after the global ones (uiwire's bridge, which
    refuses a call once the run is cancelled), right before the request goes out."""

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        MODEL_CALLS.add(tag_in(json.dumps(inputs.get("messages"), default=str)), "call")


def dspy_reply(payload: dict[str, Any]) -> Reply:
    system = payload["messages"][0]["content"]
    user = payload["messages"][-1]["content"]
    tag = tag_in(user)
    plan = PLANS[tag]
    if "next_thought" not in system:  # the extract step
        return Reply(chat(reasoning=REASONING, answer=ANSWER), delay=plan.delay, piece=PIECE)
    if "observation_0" in user:
        done = chat(next_thought="I know enough now.", next_tool_name="finish", next_tool_args={})
        return Reply(done, delay=plan.delay, piece=PIECE)
    args = {"city": tag, "detail": DETAIL}
    call = chat(next_thought=THOUGHT, next_tool_name="lookup", next_tool_args=args)
    return Reply(call, delay=plan.delay, piece=PIECE)


# --- the Agents SDK ---------------------------------------------------------------------


@function_tool
async def report(topic: str, detail: str) -> str:
    """Write a weather report on a topic."""
    return await _async_tool(topic)


@function_tool(needs_approval=True)
async def publish(topic: str, detail: str) -> str:
    """Publish a weather report on a topic (needs the user's approval)."""
    return await _async_tool(topic)


def agents_reply(payload: dict[str, Any]) -> Reply:
    items = payload["input"]
    tag = tag_in(json.dumps(items))
    plan = PLANS[tag]
    if any(item.get("type") == "function_call_output" for item in items):
        return Reply(text=ANSWER, delay=plan.delay, piece=PIECE)
    args = json.dumps({"topic": tag, "detail": DETAIL})
    return Reply(
        text=FIRST_TEXT,
        reasoning=REASONING,
        tool_calls=[ToolCallReply(plan.tool, args, id=f"call_{tag}")],
        delay=0.0 if plan.fast_first else plan.delay,
        piece=PIECE,
    )


TOOL_CODES: frozenset[CodeType] = frozenset(
    {_async_tool.__code__, lookup.__code__, lookup_sync.__code__}
)


# --- the server ------------------------------------------------------------------------


@dataclass
class Finish:
    status: str
    at: float
    record: StreamRecord


class WatchedEndpoints:
    """The endpoints of one framework, with what ``on_finish`` got and when the server
    saw each cut client leave."""

    def __init__(self) -> None:
        self.finishes: dict[str, list[Finish]] = {}
        self.seen: dict[str, float] = {}
        self._app: ASGIApp = Starlette()
        self._stream_tags: list[str] = []

    def streams_of(self, llm: FakeLLM, tag: str) -> list[StreamLog]:
        """The model streams of a tag's runs (the fake's log only grows: each stream's
        tag is read once)."""
        streams = llm.streams
        for stream in streams[len(self._stream_tags) :]:
            self._stream_tags.append(tag_in(json.dumps(stream.payload)))
        return [s for s, t in zip(streams, self._stream_tags, strict=True) if t == tag]

    def mount(self, endpoints: dict[str, ChatEndpoint]) -> None:
        routes = [Route(path, endpoint, methods=["POST"]) for path, endpoint in endpoints.items()]
        self._app = Starlette(routes=routes)

    def on_finish(self, result: ChatResult) -> None:
        entry = Finish(result.status, time.monotonic(), result.record)
        self.finishes.setdefault(result.chat_id, []).append(entry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        tag = headers.get(CUT_HEADER.encode())
        if tag is None:
            await self._app(scope, receive, send)
            return
        key = tag.decode()

        async def watched_receive() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.seen.setdefault(key, time.monotonic())
            return message

        async def watched_send(message: Message) -> None:
            try:
                await send(message)
            except OSError:
                self.seen.setdefault(key, time.monotonic())
                raise

        await self._app(scope, watched_receive, watched_send)


def dspy_endpoints(
    on_finish: Callable[[ChatResult], None], base_url: str
) -> dict[str, ChatEndpoint]:
    model = dspy.LM(
        "openai/gpt-4o-mini",
        api_base=base_url,
        api_key="test-key",
        cache=False,
        num_retries=0,
        callbacks=[ModelCalls()],
    )
    signature: Any = "question -> answer"  # DSPy's annotation says a Signature class only
    async_program = dspy.ReAct(signature, tools=[lookup], max_iters=3)
    sync_tool = dspy.Tool(lookup_sync, name="lookup")
    sync_program = dspy.ReAct(signature, tools=[sync_tool], max_iters=3)
    async_program.set_lm(model)
    sync_program.set_lm(model)
    async_adapter = DSPyAdapter(async_program)
    sync_adapter = DSPyAdapter(sync_program, async_program=False)
    assert async_adapter.async_program
    return {
        "/api/dspy/async": ChatEndpoint(async_adapter, hooks=ChatHooks(on_finish=on_finish)),
        "/api/dspy/sync": ChatEndpoint(sync_adapter, hooks=ChatHooks(on_finish=on_finish)),
    }


# --- scenarios and cuts ---------------------------------------------------------------------


@dataclass
class Scenario:
    framework: str
    name: str
    path: str
    ask: str
    """The user's message; ``{tag}`` is replaced by the run's tag."""
    plan: Callable[[random.Random], Plan]
    weight: float
    continuation: bool = False
    """Cut the request that answers an approval (the paused run is made uncut first)."""
    in_thread: bool = False
    """The program runs in a worker thread (a sync DSPy program): its sync tool cannot be
    interrupted, only not started, and the thread can only check between steps."""
    events: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    """The uncut run's chunks (learned)."""
    times: list[float] = field(default_factory=list[float])
    """When each chunk arrived in the uncut run, from the response's start (learned)."""
    max_k: int = 0
    """The last chunk a cut may wait for: RESERVE deltas of the last model call follow."""
    tool_k: int | None = None
    """The chunks up to a tool's start (``tool-input-available``; for a continuation, the
    approved tool runs first thing, after ``start``), if a cut may wait for them."""
    progress_at: list[int] = field(default_factory=list[int])
    """``progress`` after each number of the uncut run's chunks (learned): what a cut
    after ``k`` chunks waits for, whether or not its deltas arrive merged."""


def progress(chunks: Sequence[dict[str, Any]]) -> int:
    """How far a stream has come: one per chunk, but a delta counts its characters, so
    deltas the server merged (queued while it or the client was behind) count the same
    as when they came one by one."""
    total = 0
    for chunk in chunks:
        kind = chunk["type"]
        if kind == "tool-input-delta":
            total += len(chunk["inputTextDelta"])
        elif kind.endswith("-delta"):
            total += len(chunk["delta"])
        else:
            total += 1
    return total


def _plan(**kw: Any) -> Callable[[random.Random], Plan]:
    def make(rng: random.Random) -> Plan:
        return Plan(tool_sleep=rng.uniform(*TOOL_SLEEP), **kw)

    return make


def dspy_scenarios() -> list[Scenario]:
    ask = "What is the weather in {tag}?"
    return [
        Scenario("dspy", "ReAct, async program", "/api/dspy/async", ask, _plan(), 0.6),
        Scenario(
            "dspy", "ReAct, sync program", "/api/dspy/sync", ask, _plan(), 0.4, in_thread=True
        ),
    ]


def agents_scenarios() -> list[Scenario]:
    write = "Write the weather report for {tag}."
    publish = "Publish the weather report for {tag}."
    return [
        Scenario("agents", "tool call", "/api/agents", write, _plan(), 0.5),
        Scenario("agents", "approval request", "/api/agents", publish, _plan(tool="publish"), 0.2),
        Scenario(
            "agents",
            "approval continuation",
            "/api/agents",
            publish,
            _plan(tool="publish", fast_first=True),
            0.3,
            continuation=True,
        ),
    ]


@dataclass
class Cut:
    scenario: Scenario
    tag: str
    k: int
    """Chunks to read at most."""
    after: float | None
    """Time mode: cut this long after the response started (or at ``k`` chunks)."""
    extra: float
    """Event mode: sleep this long after ``k`` chunks."""
    messages: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    continued: dict[str, Any] | None = None
    earlier: int = 0
    """``on_finish`` calls of the tag before the cut request (its paused run's)."""
    sent_at: float = 0.0
    cut_at: float = 0.0
    body: bytes = b""
    ended_early: bool = False
    phase: str = "?"

    def describe(self) -> str:
        how = f"after {self.after * 1000:.0f} ms" if self.after is not None else ""
        how = how or f"after {self.k} chunks + {self.extra * 1000:.0f} ms"
        return f"{self.tag} ({self.scenario.name}, cut {how}, seed {SEED})"


def chunks_of(body: bytes) -> list[dict[str, Any]]:
    return [
        json.loads(line[6:])
        for line in body.decode("utf-8", "replace").splitlines()
        if line.startswith("data: {")
    ]


def prefix_problem(body: bytes, message: dict[str, Any] | None) -> str | None:
    """Why the complete events of ``body`` are not a valid start of a stream, or None."""
    whole = body[: body.rfind(b"\n\n") + 2] if b"\n\n" in body else b""
    checked = check_stream(whole, message=message)
    violation = checked.violation
    if violation is None:
        return None  # the whole stream (cannot happen for a cut, checked elsewhere)
    unfinished = violation.kind == "sse" and "does not end with" in str(violation)
    if unfinished and violation.index == len(checked.chunks):
        first = checked.chunks[0]["type"] if checked.chunks else None
        return None if first in ("start", None) else f"starts with {first}"
    return str(violation)


async def _request(
    base: str,
    scenario: Scenario,
    tag: str,
    messages: list[dict[str, Any]],
    message: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], list[float]]:
    """One uncut request; its chunks (checked whole and valid) and their arrival times."""
    body = {"id": tag, "messages": messages, "trigger": "submit-message"}
    data = b""
    times: list[float] = []
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("POST", base + scenario.path, json=body) as response,
    ):
        assert response.status_code == 200, await response.aread()
        start = time.monotonic()
        async for piece in response.aiter_raw():
            data += piece
            times += [time.monotonic() - start] * (data.count(b"\n\n") - len(times))
    chunks = assert_valid_body(data, message=message)
    assert chunks[-1]["type"] == "finish", chunks[-1]
    return chunks, times[: len(chunks)]


def assemble(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    assembler = UIMessageAssembler()
    for chunk in chunks:
        assembler.apply(chunk)
    return assembler.message


def approve(message: dict[str, Any]) -> dict[str, Any]:
    """What ``addToolApprovalResponse`` does to the client's copy of the message."""
    message = json.loads(json.dumps(message))
    for part in message["parts"]:
        if part.get("state") == "approval-requested":
            part["state"] = "approval-responded"
            part["approval"] = {**part["approval"], "approved": True}
    return message


async def paused_run(base: str, scenario: Scenario, tag: str) -> tuple[list[Any], dict[str, Any]]:
    """The first request of an approval: it pauses; the history and the approved answer."""
    history = [user(scenario.ask.format(tag=tag))]
    chunks, _ = await _request(base, scenario, tag, history)
    assert any(c["type"] == "tool-approval-request" for c in chunks), chunks
    return history, approve(assemble(chunks))


async def whole_run(base: str, scenario: Scenario, plan: Plan) -> tuple[list[Any], list[float]]:
    """The scenario once, uncut (for a continuation: the continuation's chunks)."""
    tag = new_tag(plan)
    if scenario.continuation:
        history, answered = await paused_run(base, scenario, tag)
        return await _request(base, scenario, tag, [*history, answered], answered)
    return await _request(base, scenario, tag, [user(scenario.ask.format(tag=tag))])


async def learn(base: str, scenario: Scenario) -> None:
    """Run the scenario uncut; where may a cut go?"""
    scenario.events, scenario.times = await whole_run(
        base, scenario, scenario.plan(random.Random(0))
    )
    kinds = [c["type"] for c in scenario.events]
    last_step = max(i for i, kind in enumerate(kinds) if kind == "start-step")
    deltas = [i for i, kind in enumerate(kinds) if kind.endswith("-delta") and i > last_step]
    assert len(deltas) > 2 * RESERVE, f"{scenario.name}: too few deltas to cut in: {kinds}"
    scenario.max_k = deltas[-RESERVE]
    tool_k = 1 if scenario.continuation else kinds.index("tool-input-available") + 1
    scenario.tool_k = tool_k if tool_k <= scenario.max_k else None
    scenario.progress_at = [progress(scenario.events[:k]) for k in range(len(kinds) + 1)]


def draw(rng: random.Random, scenarios: Sequence[Scenario]) -> Cut:
    scenario = rng.choices(scenarios, weights=[s.weight for s in scenarios])[0]
    plan = scenario.plan(rng)
    tag = new_tag(plan)
    mode = rng.random()
    if mode < 0.2 and scenario.tool_k is not None:  # tool mode: while a tool runs
        return Cut(scenario, tag, scenario.tool_k, None, rng.uniform(0, plan.tool_sleep))
    if mode < 0.6:  # event mode: uniform over the chunks
        return Cut(scenario, tag, rng.randint(1, scenario.max_k), None, rng.uniform(0, EXTRA_SLEEP))
    # time mode: uniform over the time the uncut run took to get there
    after = rng.uniform(0.0, scenario.times[scenario.max_k - 1])
    return Cut(scenario, tag, scenario.max_k, after, 0.0)


async def make_cut(base: str, served: WatchedEndpoints, cut: Cut) -> None:
    """Send the cut's request and hang up at its point."""
    scenario = cut.scenario
    if scenario.continuation:
        history, cut.continued = await paused_run(base, scenario, cut.tag)
        cut.messages = [*history, cut.continued]
        # on_finish of the paused run comes after its last byte: wait, not to count it
        assert await wait_until(lambda: bool(served.finishes.get(cut.tag))), cut.describe()
        cut.earlier = len(served.finishes[cut.tag])
    else:
        cut.messages = [user(scenario.ask.format(tag=cut.tag))]
    body = {"id": cut.tag, "messages": cut.messages, "trigger": "submit-message"}
    headers = {CUT_HEADER: cut.tag}
    cut.sent_at = time.monotonic()
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("POST", base + scenario.path, json=body, headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()
        start = time.monotonic()
        raw = response.aiter_raw()

        mark = scenario.progress_at[cut.k]

        async def read() -> None:
            async for piece in raw:
                cut.body += piece
                if progress(chunks_of(cut.body[: cut.body.rfind(b"\n\n") + 2])) >= mark:
                    return
            cut.ended_early = True

        if cut.after is None:
            await read()
            await asyncio.sleep(cut.extra)
        else:
            left = start + cut.after - time.monotonic()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(read(), max(left, 0.0))
        cut.cut_at = time.monotonic()
    # leaving both blocks closed the response before its end: the connection is gone


# --- the checks ---------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one framework's cuts measured."""

    to_seen: list[float] = field(default_factory=list[float])
    to_finish: list[float] = field(default_factory=list[float])
    to_stream_end: list[float] = field(default_factory=list[float])
    to_tool_cancelled: list[float] = field(default_factory=list[float])
    phases: Counter[tuple[str, str]] = field(default_factory=Counter[tuple[str, str]])
    streams_cut: int = 0
    streams_finishing: int = 0
    tools_running: int = 0
    tools_cancelled: int = 0
    thread_races: list[float] = field(default_factory=list[float])
    """How late a worker thread's step came after the disconnect, within THREAD_RACE."""
    cuts: int = 0
    batches: int = 0
    seconds: float = 0.0


def open_at(stream: StreamLog, at: float) -> bool:
    return stream.opened_at <= at and (stream.ended_at is None or stream.ended_at > at)


def phase_of(cut: Cut, seen: float, streams: list[StreamLog], record: StreamRecord | None) -> str:
    """Where the run was when the server saw the client leave."""
    starts = [at for what, at in TOOLS.of(cut.tag) if what == "start" and at <= seen]
    stops = [at for what, at in TOOLS.of(cut.tag) if what != "start" and at <= seen]
    if len(starts) > len(stops):
        return "tool execution"
    if not any(open_at(s, seen) for s in streams):
        return "between model calls"
    parts = (record.message.get("parts") or []) if record is not None else []
    parts = [p for p in parts if p.get("type") != "step-start"]
    last = parts[-1] if parts else {}
    kind = str(last.get("type", ""))
    if kind in ("reasoning", "text"):
        return kind
    if kind.startswith("tool-"):
        state = last.get("state")
        if state in ("input-streaming", "output-error"):  # an unfinished input ends as an error
            return "tool input"
        if state == "input-available":
            return "tool input complete, tool not started"
    return "model call, nothing streamed yet"


async def wait_until(condition: Callable[[], bool], timeout: float = SETTLE) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def check_cut(cut: Cut, served: WatchedEndpoints, llm: FakeLLM, figures: Figures) -> list[str]:
    """Everything one cut must satisfy, as problems (empty: all good)."""
    what = cut.describe()
    if cut.ended_early:
        events = cut.body.count(b"\n\n")
        tail = cut.body[-400:].decode(errors="replace")
        return [
            f"{what}: the stream ended before the cut (the fuzzer's margin is too small), "
            f"after {events} events; its end: {tail!r}"
        ]
    problems: list[str] = []
    finishes = served.finishes.get(cut.tag, [])[cut.earlier :]
    statuses = [f.status for f in finishes]
    if statuses != ["disconnect"]:
        problems.append(f"{what}: on_finish got {statuses}, not one disconnect")
    seen = served.seen.get(cut.tag)
    if seen is None:
        return [*problems, f"{what}: the server never saw the client leave"]
    figures.to_seen.append(seen - cut.cut_at)
    if finishes:
        figures.to_finish.append(finishes[0].at - cut.cut_at)
    streams = [s for s in served.streams_of(llm, cut.tag) if s.opened_at >= cut.sent_at]
    for stream in streams:
        if stream.ended_at is None:
            problems.append(f"{what}: a model stream is still open {SETTLE:.0f} s after the cut")
        elif stream.ended_at > seen:  # open when the client left (or asked for just before)
            if stream.cut:
                figures.streams_cut += 1
                figures.to_stream_end.append(stream.ended_at - cut.cut_at)
            elif stream.ended_at - seen <= FINISHING:
                figures.streams_finishing += 1
            else:
                late = (stream.ended_at - seen) * 1000
                opened = (seen - stream.opened_at) * 1000
                problems.append(
                    f"{what}: a model stream went on to its end, {late:.0f} ms after the "
                    f"disconnect, instead of being closed (it opened {opened:.0f} ms before "
                    f"the disconnect; the run's phase then: "
                    f"{phase_of(cut, seen, streams, finishes[0].record if finishes else None)})"
                )
    tools = TOOLS.of(cut.tag)
    late_starts = [
        (f"a model {call} was made", at - seen)
        for call, at in MODEL_CALLS.of(cut.tag)
        if at > seen and at >= cut.sent_at
    ] + [
        ("a tool started", at - seen)
        for event, at in tools
        if event == "start" and at > seen and at >= cut.sent_at
    ]
    for thing, late in late_starts:
        if cut.scenario.in_thread and late <= THREAD_RACE:
            figures.thread_races.append(late)
        else:
            problems.append(f"{what}: {thing} {late * 1000:.1f} ms after the disconnect")
    started = [at for event, at in tools if event == "start" and cut.sent_at <= at <= seen]
    if started and not any(event != "start" and at <= seen for event, at in tools):
        figures.tools_running += 1
        cancelled = [at for event, at in tools if event == "cancelled"]
        ended = [at for event, at in tools if event == "end"]
        if cancelled:
            figures.tools_cancelled += 1
            figures.to_tool_cancelled.append(cancelled[0] - cut.cut_at)
        elif ended and not cut.scenario.in_thread and ended[-1] - seen > FINISHING:
            late = (ended[-1] - seen) * 1000
            problems.append(
                f"{what}: a tool running at the disconnect ran on to its end, {late:.0f} ms "
                "after, instead of being cancelled"
            )
    problem = prefix_problem(cut.body, cut.continued)
    if problem is not None:
        problems.append(f"{what}: the client got an invalid stream prefix: {problem}")
    record = finishes[0].record if finishes else None
    cut.phase = phase_of(cut, seen, streams, record)
    figures.phases[cut.scenario.name, cut.phase] += 1
    if VERBOSE:
        got = chunks_of(cut.body)
        parts = (record.message.get("parts") or []) if record is not None else []
        print(
            f"  {what}: {cut.phase}; last chunk {got[-1]['type'] if got else None}; "
            f"last parts {[(p.get('type'), p.get('state')) for p in parts][-2:]}"
        )
    return problems


def describe_task(task: asyncio.Task[Any]) -> str:
    return f"{task.get_name()}: {task.get_coro()!r}"


async def tasks_left(before: set[asyncio.Task[Any]], timeout: float = SETTLE) -> list[str]:
    """Tasks alive now that were not in ``before``, once they had ``timeout`` to end."""
    current = asyncio.current_task()
    left: list[asyncio.Task[Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        left = [t for t in asyncio.all_tasks() if t not in before and t is not current]
        if not left or time.monotonic() >= deadline:
            return [describe_task(t) for t in left]
        await asyncio.sleep(0.01)


async def run_batch(
    base: str,
    served: WatchedEndpoints,
    llm: FakeLLM,
    cuts: list[Cut],
    serving: list[Scenario],
    figures: Figures,
) -> list[str]:
    """Cut every run of ``cuts`` concurrently; every problem found, per cut and batch."""
    tasks_before = set(asyncio.all_tasks())
    threads_before: dict[int, BusyThread] = busy_threads(code=TOOL_CODES)
    await asyncio.gather(*(make_cut(base, served, cut) for cut in cuts))
    last_cut = max(cut.cut_at for cut in cuts)

    def settled() -> bool:
        for cut in cuts:
            if cut.ended_early:
                continue
            if not served.finishes.get(cut.tag, [])[cut.earlier :]:
                return False
            if any(s.ended_at is None for s in served.streams_of(llm, cut.tag)):
                return False
        return True

    await wait_until(settled)
    # the server keeps serving (a whole run per route, fast) while the cut runs get their
    # GRACE: a run left behind has time to start a tool or call the model
    failures = await asyncio.gather(
        *(still_serves(base, scenario) for scenario in serving),
        asyncio.sleep(max(0.0, last_cut + GRACE - time.monotonic())),
    )
    problems = [failure for failure in failures if failure]
    for cut in cuts:
        problems += check_cut(cut, served, llm, figures)
    tags = ", ".join(cut.tag for cut in cuts)
    left = await uiwire_tasks_left()
    if left:
        problems.append(f"uiwire tasks left after cutting {tags}: {left}")
    left = await agents_tasks_left()
    if left:
        problems.append(f"Agents SDK tasks left after cutting {tags}: {left}")
    left = await tasks_left(tasks_before)
    if left:
        problems.append(f"tasks left after cutting {tags}: {left}")
    threads = await threads_left(threads_before, timeout=SETTLE, code=TOOL_CODES)
    if threads:
        problems.append(f"threads left busy after cutting {tags}: {[str(t) for t in threads]}")
    return problems


async def still_serves(base: str, scenario: Scenario) -> str | None:
    """None if a whole run of ``scenario`` (fast) ends well; else what went wrong."""
    try:
        await whole_run(base, scenario, Plan(delay=0.0, tool_sleep=0.005))
    except (AssertionError, httpx.HTTPError) as exc:
        return f"after the cuts (seed {SEED}), a whole {scenario.name} request failed: {exc!r}"
    return None


# --- the figures ---------------------------------------------------------------------------


FIGURES: dict[str, Figures] = {}


@pytest.fixture(scope="module")
def figures() -> Iterator[dict[str, Figures]]:
    """Per framework; reported once the module's tests ran."""
    yield FIGURES
    if FIGURES:
        report_figures(disconnects_result(FIGURES))


def disconnects_result(by_framework: dict[str, Figures]) -> Result:
    latency_rows: list[list[str]] = []
    raw: dict[str, Any] = {}
    for framework, figs in by_framework.items():
        measures = {
            "cut -> server saw the disconnect": figs.to_seen,
            "cut -> on_finish": figs.to_finish,
            "cut -> model stream closed": figs.to_stream_end,
            "cut -> running tool cancelled": figs.to_tool_cancelled,
        }
        raw[framework] = {
            "cuts": figs.cuts,
            "batches": figs.batches,
            "seconds": round(figs.seconds, 2),
            "latency_ms": {name: percentiles(values, 1000) for name, values in measures.items()},
            "phases": {f"{s}: {p}": n for (s, p), n in sorted(figs.phases.items())},
            "model_streams_open_at_the_cut": {
                "cut_by_the_client": figs.streams_cut,
                "ending_on_their_own": figs.streams_finishing,
            },
            "tools_running_at_the_cut": {
                "running": figs.tools_running,
                "cancelled": figs.tools_cancelled,
            },
            "thread_steps_racing_the_disconnect_ms": [
                round(x * 1000, 2) for x in figs.thread_races
            ],
        }
        for name, values in measures.items():
            if not values:
                continue
            p = percentiles(values, 1000)
            row = [framework, name, str(p["n"]), fmt(p["p50"], 1), fmt(p["p99"], 1)]
            latency_rows.append([*row, fmt(p["max"], 1)])
    found_rows = [
        [
            framework,
            str(figs.cuts),
            str(figs.streams_cut + figs.streams_finishing),
            str(figs.streams_cut),
            str(figs.tools_running),
            str(figs.tools_cancelled),
            str(len(figs.thread_races)),
        ]
        for framework, figs in by_framework.items()
    ]
    phase_rows = [
        [framework, scenario, phase, str(count)]
        for framework, figs in by_framework.items()
        for (scenario, phase), count in sorted(figs.phases.items())
    ]
    return Result(
        name="disconnects",
        title="Disconnect fuzzing",
        params={
            "seed": SEED,
            "cuts_per_framework": CUTS,
            "batch": BATCH,
            "model_event_delay_s": DELAY,
            "tool_sleep_s": list(TOOL_SLEEP),
            "grace_s": GRACE,
        },
        figures=raw,
        tables=[
            Table(
                "Cancellation latency after a client disconnect (ms)",
                ["framework", "from the cut to", "n", "p50", "p99", "max"],
                latency_rows,
            ),
            Table(
                "What each disconnect found running",
                [
                    "framework",
                    "cuts",
                    "model streams open",
                    "closed by the client",
                    "tools running",
                    "cancelled",
                    "thread steps racing the disconnect",
                ],
                found_rows,
            ),
            Table("Where the cuts landed", ["framework", "scenario", "phase", "cuts"], phase_rows),
        ],
    )


# --- the tests -------------------------------------------------------------------------------


async def fuzz(
    framework: str,
    base: str,
    served: WatchedEndpoints,
    llm: FakeLLM,
    scenarios: list[Scenario],
    figures: dict[str, Figures],
) -> None:
    started = time.monotonic()
    print(f"\n{framework}: disconnect fuzzing, seed {SEED} (UIWIRE_FUZZ_SEED draws the same cuts)")
    rng = random.Random(f"{SEED}-{framework}")
    for scenario in scenarios:
        await learn(base, scenario)
        took = scenario.times[-1] * 1000
        print(
            f"  {scenario.name}: {len(scenario.events)} chunks in {took:.0f} ms uncut; "
            f"cuts up to chunk {scenario.max_k}"
        )
    figs = figures.setdefault(framework, Figures())
    serving: list[Scenario] = []  # a whole plain run per route, after each batch
    for scenario in scenarios:
        if not scenario.continuation and scenario.path not in {s.path for s in serving}:
            serving.append(scenario)
    problems: list[str] = []
    remaining = CUTS
    while remaining > 0 and len(problems) < 30:
        cuts = [draw(rng, scenarios) for _ in range(min(BATCH, remaining))]
        remaining -= len(cuts)
        problems += await run_batch(base, served, llm, cuts, serving, figs)
        figs.cuts += len(cuts)
        figs.batches += 1
    figs.seconds = time.monotonic() - started
    assert not problems, f"{len(problems)} problems (seed {SEED}):\n" + "\n".join(problems[:30])


@pytest.mark.slow  # UIWIRE_FUZZ_CUTS (200) real runs, each cut at a random point
@pytest.mark.timeout(240)
async def test_dspy_disconnects_at_random_points(figures: dict[str, Figures]) -> None:
    with FakeLLM(dspy_reply) as llm:
        served = WatchedEndpoints()
        served.mount(dspy_endpoints(served.on_finish, llm.base_url))
        async with serve(served) as base:
            await fuzz("dspy", base, served, llm, dspy_scenarios(), figures)


@pytest.mark.slow  # UIWIRE_FUZZ_CUTS (200) real runs, each cut at a random point
@pytest.mark.timeout(240)
async def test_agents_disconnects_at_random_points(figures: dict[str, Figures]) -> None:
    with FakeLLM(agents_reply) as llm:

        async def sent(request: httpx2.Request) -> None:
            MODEL_CALLS.add(tag_in(request.content.decode()), "request")

        # httpx2 is the OpenAI client's own default; the hook runs as a request is sent
        http = httpx2.AsyncClient(event_hooks={"request": [sent]})
        client = AsyncOpenAI(
            base_url=llm.base_url, api_key="test-key", max_retries=0, http_client=http
        )
        model = OpenAIResponsesModel(model="gpt-4.1", openai_client=client)
        agent: Agent[Any] = Agent(name="Forecaster", tools=[report, publish], model=model)
        served = WatchedEndpoints()
        served.mount(
            {
                # the client keeps the conversation: the fuzz's continuations come from
                # clients that keep no cookies (tests/server: the server-kept one)
                "/api/agents": ChatEndpoint(
                    AgentsAdapter(agent),
                    hooks=ChatHooks(on_finish=served.on_finish),
                    conversations=False,
                    identity=False,
                )
            }
        )
        try:
            async with serve(served) as base:
                await fuzz("agents", base, served, llm, agents_scenarios(), figures)
        finally:
            await client.close()


@pytest.mark.timeout(60)
async def test_the_leak_checks_see_busy_threads_and_tasks_left_behind() -> None:
    """The per-batch checks can fail: threads inside DSPy or a tool, and a task left
    running, are reported until they end; an idle pool worker never is."""
    before = busy_threads(code=TOOL_CODES)
    release = threading.Event()

    def blocked(city: str) -> str:
        """A sync tool that waits."""
        release.wait(10)
        return city

    tool = dspy.Tool(blocked, name="blocked")
    in_dspy = threading.Thread(target=lambda: tool(city="x"), name="left-in-dspy", daemon=True)
    tag = new_tag(Plan(tool_sleep=0.5))
    in_tool = threading.Thread(target=lookup_sync, args=(tag, ""), name="in-a-tool", daemon=True)
    with ThreadPoolExecutor(1, thread_name_prefix="idle-pool") as pool:
        pool.submit(lambda: None).result()
        in_dspy.start()
        in_tool.start()
        left = await threads_left(before, timeout=0.1, code=TOOL_CODES)
        names = sorted(t.name for t in left)
        assert names == ["in-a-tool", "left-in-dspy"], left
        assert any("dspy." in where for where in left[0].where + left[1].where)
        in_tool.join(5)  # a sync tool ends on its own: then it is no longer busy
        assert [t.name for t in await threads_left(before, timeout=0.1, code=TOOL_CODES)] == [
            "left-in-dspy"
        ]
        release.set()
        in_dspy.join(5)
        assert await threads_left(before, timeout=5, code=TOOL_CODES) == []
        assert all(not t.name.startswith("idle-pool") for t in busy_threads().values())
    tasks_before = set(asyncio.all_tasks())
    leaked = asyncio.create_task(asyncio.sleep(10), name="uiwire-leaked")
    assert await uiwire_tasks_left() == ["uiwire-leaked"]
    left_tasks = await tasks_left(tasks_before, timeout=0.1)
    assert [name.split(":")[0] for name in left_tasks] == ["uiwire-leaked"], left_tasks
    leaked.cancel()
    assert await tasks_left(tasks_before, timeout=5) == []
