"""Adapter overhead: what uiwire's adapters add to a framework run, in CPU.

    python -m benchmarks.adapters [--runs R] [--tokens T] [--quick] [--out DIR] [--no-plot]

The issue's target: the DSPy adapter against iterating ``dspy.streamify`` raw, the
Agents adapter against iterating ``stream_events()`` raw, same scripted model, at most
1.2x CPU. For each framework and scenario this measures the CPU seconds of one run

* **raw**: the framework run, its stream iterated, each item only appended to a list
  (read after the clock stops, for the checks below);
* **adapter**: the same run through ``DSPyAdapter(program).stream(...)`` /
  ``AgentsAdapter(agent).stream(...)``, the SSE bytes drained from ``ctx.stream()``
  into a list the same way,

and reports the ratio adapter / raw of the medians (the target's figure), of the best
runs, and, in the JSON, the median of the per-pair ratios (``ratio_paired_median``).

Scenarios: ``long text`` (one answer of ``--tokens`` streamed deltas) and ``tool call``
(DSPy ``ReAct`` with a sync tool: the tool turn, the ``finish`` turn and the extract
step's answer; an Agents SDK agent with a ``function_tool``: the call, then the
answer).

**The model** is ``tests.support.fake_llm.FakeLLM`` run in a child process
(``benchmarks._scripted_llm``), on loopback HTTP: chat completions for DSPy, the
Responses API for the Agents SDK. Both sides of a ratio talk to the same server with
the same script, so the provider client's work (HTTP, SSE parsing, event models) is in
both; the server's CPU is in neither. CPU is ``time.process_time()`` of this process,
which counts every thread (DSPy runs sync programs in a worker thread).

**A fair raw DSPy loop.** The adapter streams through ``StreamListener``s of its own
(one per field its plan streams, ``allow_reuse=True``) and with ``is_async_program``
chosen by its plan. The raw loop gets plain ``dspy.streaming.StreamListener``s for
exactly those (predictor, field) pairs and the same ``is_async_program``, so DSPy does
the same listening work on both sides; streamify's default status messages stay on in
the raw loop (the adapter sends the same ones through its own callback). What the
adapter adds on top (its listener subclass, its callback, ``track_usage``, the pump
task, the translation, encoding and the stream buffer) is the overhead measured.

**Method.** Warm-up runs first (imports, connection pools, first-call costs). Then
``--runs`` pairs per case, in A B B A order (the order flips every pair, so drift and
order effects hit both sides alike), with a ``gc.collect()`` before each run, outside
the clock. Every run is checked after its clock stops: the raw loop must have received
the answer's deltas and the adapter must have sent as many ``text-delta`` frames, and a
tool run must show the tool's result on both sides; a run that did not stream fails
the benchmark. Per-delta figures divide by the deltas the framework streamed (DSPy:
``StreamResponse`` chunks; Agents SDK: text and argument delta events).
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no fetch at import
os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")  # no trace export

import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dspy
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from dspy.streaming import StreamListener, StreamResponse
from openai import AsyncOpenAI

from benchmarks._results import Result, Table, Target, fmt, save
from benchmarks._results import parser as cli_parser
from benchmarks._scripted_llm import LONG_MARKER, TOOL_CITY, TOOL_MARKER, TOOL_NAME
from uiwire.adapters.agents import AgentsAdapter
from uiwire.adapters.dspy import DSPyAdapter
from uiwire.adapters.dspy._plan import build_plan
from uiwire.stream import StreamContext

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.2
DEFAULT_RUNS = 30
DEFAULT_TOKENS = 2000
QUICK_RUNS = 2
QUICK_TOKENS = 60
LONG_QUESTION = f"{LONG_MARKER} Write a long answer."
TOOL_QUESTION = f"{TOOL_MARKER} What is the weather in {TOOL_CITY}?"


# --- what one run streamed -------------------------------------------------------------


class DidNotStream(Exception):
    """A run did not stream what the script says: its CPU figures would mean nothing."""


@dataclass(frozen=True)
class Counts:
    """What one run delivered, counted after its clock stopped."""

    text_deltas: int
    """The answer's text: ``StreamResponse`` chunks of the answer field (DSPy raw),
    ``response.output_text.delta`` events (Agents raw), ``text-delta`` frames (adapter)."""
    tool_results: int
    """Tool results the run delivered (none for the long text)."""
    deltas: int
    """Every delta the framework streamed (raw side); every frame (adapter side)."""
    text_chars: int = 0
    """The answer text's characters in ``text-delta`` frames (adapter side; a reader
    that lags gets queued deltas of one part merged into one frame)."""


@dataclass
class Side:
    """One way to run a case: ``run`` returns what it received, ``count`` reads it."""

    run: Callable[[], Awaitable[list[Any]]]
    count: Callable[[list[Any]], Counts]


@dataclass(frozen=True)
class Expected:
    """What the script makes every run stream, on both sides."""

    min_text_deltas: int
    """The answer's deltas, at least (DSPy's listener may merge or split a few)."""
    tool_results: int


@dataclass
class Case:
    framework: str  # "DSPy", "Agents SDK"
    scenario: str  # "long text", "tool call"
    raw: Side
    adapter: Side
    expected: Expected


@dataclass
class Measured:
    """Per-run CPU seconds of both sides of one case, and what the runs streamed."""

    case: Case
    raw_cpu: list[float] = field(default_factory=list[float])
    adapter_cpu: list[float] = field(default_factory=list[float])
    raw_counts: Counts | None = None
    adapter_counts: Counts | None = None

    def figures(self) -> dict[str, Any]:
        assert self.raw_counts is not None
        assert self.adapter_counts is not None
        raw_median = statistics.median(self.raw_cpu)
        adapter_median = statistics.median(self.adapter_cpu)
        raw_best = min(self.raw_cpu)
        adapter_best = min(self.adapter_cpu)
        deltas = self.raw_counts.deltas
        return {
            "framework": self.case.framework,
            "scenario": self.case.scenario,
            "runs": len(self.raw_cpu),
            "raw_cpu_s": self.raw_cpu,
            "adapter_cpu_s": self.adapter_cpu,
            "raw_median_ms": raw_median * 1e3,
            "adapter_median_ms": adapter_median * 1e3,
            "raw_best_ms": raw_best * 1e3,
            "adapter_best_ms": adapter_best * 1e3,
            "ratio_median": adapter_median / raw_median,
            "ratio_best": adapter_best / raw_best,
            "ratio_paired_median": statistics.median(
                adapter / raw for raw, adapter in zip(self.raw_cpu, self.adapter_cpu, strict=True)
            ),
            "deltas_per_run": deltas,
            "raw_text_deltas": self.raw_counts.text_deltas,
            "adapter_text_deltas": self.adapter_counts.text_deltas,
            "adapter_text_chars": self.adapter_counts.text_chars,
            "raw_tool_results": self.raw_counts.tool_results,
            "adapter_tool_results": self.adapter_counts.tool_results,
            "adapter_frames_per_run": self.adapter_counts.deltas,
            "raw_us_per_delta": raw_median / deltas * 1e6,
            "adapter_us_per_delta": adapter_median / deltas * 1e6,
            "added_us_per_delta": (adapter_median - raw_median) / deltas * 1e6,
        }


def sse_counts(body: list[bytes]) -> Counts:
    """Count the adapter's SSE frames by chunk type."""
    types: dict[str, int] = {}
    text_chars = 0
    for frame in b"".join(body).split(b"\n\n"):
        if not frame.startswith(b"data: ") or frame == b"data: [DONE]":
            continue
        chunk = json.loads(frame[6:])
        kind = str(chunk["type"])
        types[kind] = types.get(kind, 0) + 1
        if kind == "text-delta":
            text_chars += len(chunk["delta"])
    if "error" in types:
        raise DidNotStream(f"the adapter streamed an error: {b''.join(body)[-500:]!r}")
    return Counts(
        text_deltas=types.get("text-delta", 0),
        tool_results=types.get("tool-output-available", 0),
        deltas=sum(types.values()),
        text_chars=text_chars,
    )


async def drain(ctx: StreamContext[Any]) -> list[bytes]:
    body = [data async for data in ctx.stream()]
    await ctx.wait_closed()
    return body


# --- DSPy -------------------------------------------------------------------------------


def weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny in {city}"


def dspy_case(scenario: str, program: Any, question: str, expected: Expected) -> Case:
    """``program`` (one ``question`` input, an ``answer`` output) raw and adapted."""
    adapter = DSPyAdapter(program)
    inputs = {"question": question}
    routes = list(build_plan(program, None, None).routes.values())  # what the adapter listens to
    answer_field = "answer"

    def raw_listeners() -> list[StreamListener]:
        return [
            StreamListener(
                route.field,
                predict=route.predictor,
                predict_name=route.predict_name,
                allow_reuse=True,
            )
            for route in routes
        ]

    async def run_raw() -> list[Any]:
        streamed = dspy.streamify(
            program, stream_listeners=raw_listeners(), is_async_program=adapter.async_program
        )
        return [item async for item in streamed(**inputs)]

    def count_raw(items: list[Any]) -> Counts:
        chunks = [item for item in items if isinstance(item, StreamResponse)]
        prediction = items[-1]
        if not isinstance(prediction, dspy.Prediction):
            raise DidNotStream(f"streamify ended with {type(prediction).__name__}")
        trajectory: dict[str, Any] = getattr(prediction, "trajectory", None) or {}
        results = [
            value
            for key, value in trajectory.items()
            if key.startswith("observation_") and value == weather(TOOL_CITY)
        ]
        return Counts(
            text_deltas=sum(
                1 for c in chunks if c.signature_field_name == answer_field and c.chunk
            ),
            tool_results=len(results),
            deltas=len(chunks),
        )

    async def run_adapter() -> list[bytes]:
        return await drain(adapter.stream(**inputs))

    return Case("DSPy", scenario, Side(run_raw, count_raw), Side(run_adapter, sse_counts), expected)


# --- the Agents SDK ------------------------------------------------------------------------


@function_tool(name_override=TOOL_NAME)
def weather_tool(city: str) -> str:
    """Get the current weather in a city."""
    return weather(city)


def agents_case(scenario: str, agent: Agent[Any], question: str, expected: Expected) -> Case:
    """``agent`` on ``question``, raw and adapted."""
    adapter = AgentsAdapter(agent)

    async def run_raw() -> list[Any]:
        result = Runner.run_streamed(agent, question)
        return [event async for event in result.stream_events()]

    def count_raw(events: list[Any]) -> Counts:
        kinds = [
            event.data.type if event.type == "raw_response_event" else getattr(event, "name", "")
            for event in events
        ]
        text = kinds.count("response.output_text.delta")
        return Counts(
            text_deltas=text,
            tool_results=kinds.count("tool_output"),
            deltas=text + kinds.count("response.function_call_arguments.delta"),
        )

    async def run_adapter() -> list[bytes]:
        return await drain(adapter.stream(question))

    raw, adapted = Side(run_raw, count_raw), Side(run_adapter, sse_counts)
    return Case("Agents SDK", scenario, raw, adapted, expected)


# --- the scripted model, in its own process --------------------------------------------------


@contextmanager
def scripted_llm(tokens: int, answer_tokens: int) -> Iterator[str]:
    """Start ``benchmarks._scripted_llm`` in a child process; yield its base URL."""
    python_path = [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks._scripted_llm",
            "--tokens",
            str(tokens),
            "--answer-tokens",
            str(answer_tokens),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, python_path))},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the scripted model did not start (exit code {process.poll()})")
        yield url
    finally:
        if process.stdin is not None:
            process.stdin.close()  # it exits when its stdin closes
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.terminate()  # our own child, by its PID
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


# --- measuring ---------------------------------------------------------------------------------


async def timed(side: Side) -> tuple[float, Counts]:
    """One run's CPU seconds (this process, every thread), and what it streamed."""
    gc.collect()
    start = time.process_time()
    received = await side.run()
    cpu = time.process_time() - start
    return cpu, side.count(received)


def check(case: Case, raw: Counts, adapter: Counts) -> None:
    """Fail loudly unless both sides really streamed the script."""
    where = f"{case.framework} / {case.scenario}"
    expected = case.expected
    if raw.text_deltas < expected.min_text_deltas:
        raise DidNotStream(
            f"{where}: the raw loop got {raw.text_deltas} answer deltas, "
            f"expected at least {expected.min_text_deltas}: it did not stream"
        )
    # one frame per delta, or fewer when queued deltas of a part were merged; the
    # text is all there either way (every script token is at least one character)
    if not 1 <= adapter.text_deltas <= raw.text_deltas or (
        adapter.text_chars < expected.min_text_deltas
    ):
        raise DidNotStream(
            f"{where}: the adapter sent {adapter.text_deltas} text-delta frames "
            f"({adapter.text_chars} characters) for {raw.text_deltas} answer deltas"
        )
    if {raw.tool_results, adapter.tool_results} != {expected.tool_results}:
        raise DidNotStream(
            f"{where}: tool results raw {raw.tool_results}, adapter "
            f"{adapter.tool_results}, expected {expected.tool_results}"
        )


async def measure(case: Case, runs: int, warmup: int) -> Measured:
    """Warm up, then ``runs`` pairs in A B B A order, every run checked."""
    for _ in range(warmup):
        _, raw = await timed(case.raw)
        _, adapter = await timed(case.adapter)
        check(case, raw, adapter)
    measured = Measured(case)
    for pair in range(runs):
        order = (case.raw, case.adapter) if pair % 2 == 0 else (case.adapter, case.raw)
        outcome: dict[int, tuple[float, Counts]] = {}
        for side in order:
            outcome[id(side)] = await timed(side)
        raw_cpu, raw = outcome[id(case.raw)]
        adapter_cpu, adapter = outcome[id(case.adapter)]
        check(case, raw, adapter)
        measured.raw_cpu.append(raw_cpu)
        measured.adapter_cpu.append(adapter_cpu)
        measured.raw_counts, measured.adapter_counts = raw, adapter
    raw_ms = statistics.median(measured.raw_cpu) * 1e3
    adapter_ms = statistics.median(measured.adapter_cpu) * 1e3
    print(
        f"  {case.framework} / {case.scenario}: raw {raw_ms:.1f} ms, "
        f"adapter {adapter_ms:.1f} ms CPU per run (median)",
        file=sys.stderr,
    )
    return measured


async def measure_all(
    url: str, runs: int, warmup: int, tokens: int, answer_tokens: int
) -> list[Measured]:
    set_tracing_disabled(True)
    lm = dspy.LM(
        "openai/gpt-4o-mini", api_base=url, api_key="bench-key", cache=False, num_retries=0
    )
    client = AsyncOpenAI(base_url=url, api_key="bench-key", max_retries=0)
    model = OpenAIResponsesModel(model="gpt-4.1", openai_client=client)
    long_text = Expected(min_text_deltas=tokens - 2, tool_results=0)
    tool_call = Expected(min_text_deltas=answer_tokens - 2, tool_results=1)
    react = dspy.ReAct("question -> answer", tools=[weather], max_iters=4)
    cases = [
        dspy_case("long text", dspy.Predict("question -> answer"), LONG_QUESTION, long_text),
        dspy_case("tool call", react, TOOL_QUESTION, tool_call),
        agents_case("long text", Agent(name="Assistant", model=model), LONG_QUESTION, long_text),
        agents_case(
            "tool call",
            Agent(name="Assistant", tools=[weather_tool], model=model),
            TOOL_QUESTION,
            tool_call,
        ),
    ]
    try:
        with dspy.context(lm=lm):
            return [await measure(case, runs, warmup) for case in cases]
    finally:
        await client.close()


# --- reporting ---------------------------------------------------------------------------------


def build_result(measured: list[Measured], params: dict[str, Any]) -> Result:
    cases = [m.figures() for m in measured]
    rows = [
        [
            f"{c['framework']}, {c['scenario']}",
            fmt(c["raw_median_ms"], 1),
            fmt(c["adapter_median_ms"], 1),
            f"{c['ratio_median']:.2f}x",
            f"{c['ratio_best']:.2f}x",
            fmt(c["deltas_per_run"], 0),
            fmt(c["adapter_us_per_delta"], 1),
            fmt(c["added_us_per_delta"], 1),
        ]
        for c in cases
    ]
    table = Table(
        f"Adapter overhead: CPU per run, median of {params['runs']} runs "
        f"({params['tokens']:,}-token long text)",
        [
            "framework, scenario",
            "raw CPU ms/run",
            "adapter CPU ms/run",
            "ratio (median)",
            "ratio (best)",
            "deltas/run",
            "adapter µs CPU/delta",
            "added µs CPU/delta",
        ],
        rows,
    )
    targets = [
        Target(
            name=f"adapter CPU vs raw, {c['framework']}, {c['scenario']}",
            limit=f"<= {TARGET_RATIO}x CPU",
            measured=f"{c['ratio_median']:.2f}x",
            met=c["ratio_median"] <= TARGET_RATIO,
        )
        for c in cases
    ]
    return Result(
        name="adapters",
        title="Adapter overhead (CPU): uiwire adapters vs iterating the framework's stream raw",
        params=params,
        figures={"target_ratio": TARGET_RATIO, "cases": cases},
        tables=[table],
        targets=targets,
    )


def plot(figures: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases: list[dict[str, Any]] = figures["cases"]
    frameworks = list(dict.fromkeys(c["framework"] for c in cases))
    fig, axes = plt.subplots(1, len(frameworks), figsize=(8, 4), dpi=110, squeeze=False)
    width = 0.38
    for ax, framework in zip(axes[0], frameworks, strict=True):
        mine = [c for c in cases if c["framework"] == framework]
        xs = list(range(len(mine)))
        raw = [c["raw_median_ms"] for c in mine]
        adapter = [c["adapter_median_ms"] for c in mine]
        ax.bar([x - width / 2 for x in xs], raw, width, label="raw stream", color="#9aa5b1")
        ax.bar([x + width / 2 for x in xs], adapter, width, label="uiwire adapter", color="#2b6cb0")
        for x, c in zip(xs, mine, strict=True):
            limit = c["raw_median_ms"] * figures["target_ratio"]
            ax.hlines(
                limit, x - width, x + width, colors="#c53030", linestyles="dashed", linewidth=1.2
            )
            met = c["ratio_median"] <= figures["target_ratio"]
            ax.annotate(
                f"{c['ratio_median']:.2f}x",
                (x + width / 2, max(c["adapter_median_ms"], limit)),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                fontsize=9,
                fontweight="bold",
                color="#22543d" if met else "#c53030",
            )
        ax.set_xticks(xs, [f"{c['scenario']}\n{c['deltas_per_run']:,} deltas" for c in mine])
        ax.set_title(framework, fontsize=11)
        ax.set_ylabel("CPU ms per run (median)")
        ax.set_ylim(0, max(max(adapter), max(raw) * figures["target_ratio"]) * 1.18)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles.append(plt.Line2D([], [], color="#c53030", linestyle="dashed"))
    labels.append(f"{figures['target_ratio']}x raw (target)")
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.suptitle("Adapter overhead: CPU per run, adapter vs raw stream", fontsize=12)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = cli_parser(__doc__)
    parser.add_argument(
        "--runs", type=int, default=None, help=f"pairs per case (default {DEFAULT_RUNS})"
    )
    parser.add_argument(
        "--tokens",
        type=int,
        default=None,
        help=f"deltas of the long text (default {DEFAULT_TOKENS})",
    )
    args = parser.parse_args(argv)
    runs = args.runs if args.runs is not None else QUICK_RUNS if args.quick else DEFAULT_RUNS
    tokens = (
        args.tokens if args.tokens is not None else QUICK_TOKENS if args.quick else DEFAULT_TOKENS
    )
    answer_tokens = max(20, tokens // 20)
    warmup = 1 if args.quick else 2
    if runs < 1 or tokens < 20:
        parser.error("--runs must be >= 1 and --tokens >= 20")
    params = {
        "runs": runs,
        "warmup": warmup,
        "tokens": tokens,
        "answer_tokens_after_tool": answer_tokens,
        "quick": args.quick,
        "model": "tests.support.fake_llm.FakeLLM in a child process, loopback HTTP",
        "cpu_clock": "time.process_time() of the benchmark process (all threads)",
    }
    try:
        with scripted_llm(tokens, answer_tokens) as url:
            measured = asyncio.run(measure_all(url, runs, warmup, tokens, answer_tokens))
    except DidNotStream as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    result = build_result(measured, params)
    save(result, args.out)
    if not args.no_plot:
        plot(result.figures, args.out / "adapters.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
