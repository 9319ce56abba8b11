"""What ``Telemetry`` costs: the same served load with it off and on (a no-op exporter).

    python -m benchmarks.telemetry [--streams 500] [--chunks 250] [--rounds 3] [--quick]

Two measurements, both reported:

* **served** (the target's): ``benchmarks.loopback``'s harness, one uvicorn process and
  its load generator, N concurrent useChat streams of ``--chunks`` tokens, one every
  20 ms each, served by ``ChatEndpoint`` without telemetry (``uiwire``) and with it
  (``uiwire-otel``: the OpenTelemetry SDK recording every span and metric, the batch
  span processor and a periodic metric reader exporting to nowhere). The two alternate
  for ``--rounds`` rounds; the figure is the ratio of the medians of the worker's CPU
  per 1,000 chunks. The target (issue 23) is at most 1.02.
* **in process**: the same ``ChatEndpoint`` (chats kept in memory, an anonymous owner
  per request) called as an ASGI app in this process, no socket between, each turn
  streaming ``--chunks`` tokens one loop step apart (a batch per token, the worst case
  for the per-batch cost); off and on alternate for ``--rounds`` rounds and the best
  round of each counts, so the figure is the CPU the telemetry adds, not a shared
  machine's noise. Beside it, what one turn's span and metrics cost and what one
  delivered batch costs (``TurnProbe.delivered``), timed in a loop.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks._results import Result, Table, Target, fmt, save
from benchmarks._results import parser as cli_parser
from benchmarks.loopback.__main__ import every_stream_complete, measure

APPS = ("uiwire", "uiwire-otel")
LABELS = {"uiwire": "Telemetry off", "uiwire-otel": "Telemetry on, no-op exporter"}
CPU_TARGET = 1.02
FRAME = b'data: {"type":"text-delta","id":"t1","delta":"1733590000000000000 "}\n\n'


def noop_telemetry() -> Any:
    """A ``Telemetry`` over the SDK as production sets it up, exporting nothing."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        MetricExporter,
        MetricExportResult,
        MetricsData,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    from uiwire.server import Telemetry

    class NoSpans(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    class NoMetrics(MetricExporter):
        def __init__(self) -> None:
            super().__init__(preferred_temporality={}, preferred_aggregation={})

        def export(
            self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
        ) -> MetricExportResult:
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            return None

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(NoSpans()))
    reader = PeriodicExportingMetricReader(NoMetrics(), export_interval_millis=60_000)
    meter_provider = MeterProvider(metric_readers=[reader])
    return Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)


def in_process(turns: int, batches: int) -> dict[str, float]:
    """Microseconds per turn (span and metrics, start to end) and nanoseconds per
    delivered batch, with ``noop_telemetry``."""
    telemetry = noop_telemetry()
    headers: dict[str, str] = {}
    clock = time.perf_counter
    started = clock()
    for _ in range(turns):
        probe = telemetry.start_turn(headers, agent="respond")
        probe.describe(chat_id="chat-1", message_id="msg_1", trigger="submit-message")
        probe.streaming()
        probe.delivered(FRAME)
        probe.end("finish")
    per_turn_us = (clock() - started) / turns * 1e6
    probe = telemetry.start_turn(headers, agent="respond")
    delivered = probe.delivered
    started = clock()
    for _ in range(batches):
        delivered(FRAME)
    per_batch_ns = (clock() - started) / batches * 1e9
    probe.end("finish")
    return {"turn_us": per_turn_us, "batch_ns": per_batch_ns}


def endpoint(telemetry: Any) -> Any:
    """The loopback app's ``ChatEndpoint``, its model a token per loop step."""
    from uiwire.chats import MemoryChatStore
    from uiwire.server import ChatEndpoint, Conversations
    from uiwire.stream import ChatTurn, StreamContext

    async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        for i in range(int(turn.body["chunks"])):
            await ctx.write_text(f"{i} ")
            await asyncio.sleep(0)  # the next token comes in a later loop step

    conversations = Conversations(store=MemoryChatStore())
    return ChatEndpoint(respond, conversations=conversations, telemetry=telemetry)


async def serve_turns(app: Any, turns: int, chunks: int, first: int) -> int:
    """``turns`` POSTs to ``app`` (an ASGI app), each read to its end; bytes received."""
    received = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal received
        received += len(message.get("body", b""))

    for n in range(first, first + turns):
        body = json.dumps(
            {
                "id": f"chat-{n}",
                "messages": [
                    {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}
                ],
                "trigger": "submit-message",
                "chunks": chunks,
            }
        ).encode()
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/api/chat",
            "headers": [(b"content-type", b"application/json")],
            "query_string": b"",
        }
        await app(scope, _client(body), send)
    return received


def _client(body: bytes) -> Callable[[], Awaitable[dict[str, Any]]]:
    """An ASGI ``receive``: the request's body, then a client that never leaves."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    stay = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await stay.wait()
        return {"type": "http.disconnect"}

    return receive


def served_in_process(turns: int, chunks: int, rounds: int) -> dict[str, float]:
    """CPU microseconds per chunk, off and on: the best of ``rounds`` alternating rounds."""
    apps = {"uiwire": endpoint(None), "uiwire-otel": endpoint(noop_telemetry())}
    best = {app: float("inf") for app in apps}

    async def main() -> None:
        first = 0
        for app in apps.values():  # warm up: imports, caches, the first turn's set-up
            await serve_turns(app, 5, chunks, first)
            first += 5
        for round_ in range(rounds):
            for name in APPS if round_ % 2 == 0 else APPS[::-1]:
                started = time.process_time()
                await serve_turns(apps[name], turns, chunks, first)
                used = time.process_time() - started
                first += turns
                best[name] = min(best[name], used / (turns * chunks) * 1e6)

    asyncio.run(main())
    return {"rounds": rounds, **{f"{name}_us_per_chunk": value for name, value in best.items()}}


def result(args: Any, runs: list[dict[str, Any]], costs: dict[str, float]) -> Result:
    off, on = costs["uiwire_us_per_chunk"], costs["uiwire-otel_us_per_chunk"]
    local_ratio = on / off
    # what the timed costs add to one chunk: a turn's share, plus one batch per chunk
    added_us = costs["turn_us"] / args.chunks + costs["batch_ns"] / 1000
    estimate = added_us / off
    tables = [
        Table(
            f"In process: ChatEndpoint as an ASGI app, {args.in_process_turns} turns of "
            f"{args.chunks} tokens per round, best of {costs['rounds']:.0f} alternating "
            "rounds; the SDK recording everything, exporting nothing",
            ["", "measured"],
            [
                ["CPU per chunk, Telemetry off", f"{off:.2f} us"],
                ["CPU per chunk, Telemetry on", f"{on:.2f} us ({local_ratio:.3f}x)"],
                ["one turn's span and metrics, timed alone", f"{costs['turn_us']:.1f} us"],
                ["one delivered batch, timed alone", f"{costs['batch_ns']:.0f} ns"],
                [
                    f"the two, per chunk at {args.chunks} chunks per turn",
                    f"{added_us:.3f} us = {estimate:.2%} of the CPU per chunk",
                ],
            ],
        )
    ]
    targets = [
        Target(
            "CPU per chunk with Telemetry, in process",
            f"<= {CPU_TARGET:g}x without",
            f"{local_ratio:.3f}x",
            local_ratio <= CPU_TARGET,
        )
    ]
    figures: dict[str, Any] = {
        "in_process": costs,
        "in_process_ratio": local_ratio,
        "estimate": estimate,
        "runs": runs,
    }
    if runs:
        cpu = {app: [r["cpu_ms_per_1000_chunks"] for r in runs if r["app"] == app] for app in APPS}
        median = {app: statistics.median(values) for app, values in cpu.items()}
        ratio = median["uiwire-otel"] / median["uiwire"]
        figures["cpu_ratio"] = ratio
        tables.insert(
            0,
            Table(
                f"Served: {args.streams:,} concurrent streams of {args.chunks} tokens, one "
                f"every {args.interval_ms:g} ms; one worker; {args.rounds} alternating round(s)",
                ["ChatEndpoint", "worker CPU ms per 1,000 chunks (median)", "each round", "x off"],
                [
                    [
                        LABELS[app],
                        fmt(median[app], 1),
                        ", ".join(fmt(v, 1) for v in cpu[app]),
                        f"{median[app] / median['uiwire']:.3f}x",
                    ]
                    for app in APPS
                ],
            ),
        )
        targets += [
            Target(
                f"worker CPU per chunk with Telemetry at {args.streams:,} streams, served",
                f"<= {CPU_TARGET:g}x without",
                f"{ratio:.3f}x (its runs spread over {_spread(cpu['uiwire']):.0%})",
                ratio <= CPU_TARGET,
            ),
            every_stream_complete(runs),
        ]
    return Result(
        name="telemetry",
        title="Telemetry: the same load without and with OpenTelemetry",
        params={
            "streams": args.streams,
            "chunks_per_stream": args.chunks,
            "interval_ms": args.interval_ms,
            "ramp_seconds": args.ramp,
            "rounds": args.rounds,
            "in_process_turns": args.in_process_turns,
            "apps": list(APPS),
        },
        figures=figures,
        tables=tables,
        targets=targets,
    )


def _spread(values: list[float]) -> float:
    """How far the largest of ``values`` is above the smallest, as a fraction of it."""
    return max(values) / min(values) - 1 if values and min(values) > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = cli_parser(__doc__)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--chunks", type=int, default=250, help="tokens per stream")
    parser.add_argument("--interval-ms", type=float, default=20.0)
    parser.add_argument("--ramp", type=float, default=2.0, help="seconds to open all streams")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each app")
    parser.add_argument(
        "--in-process-turns", type=int, default=100, help="turns per in-process round"
    )
    parser.add_argument("--in-process-only", action="store_true", help="skip the served runs")
    args = parser.parse_args(argv)
    turns, batches = 20_000, 1_000_000
    if args.quick:
        args.streams, args.chunks, args.ramp, args.rounds = 4, 10, 0.1, 1
        args.in_process_turns, turns, batches = 5, 200, 10_000
    costs = served_in_process(args.in_process_turns, args.chunks, max(args.rounds, 5))
    print(f"in process: {costs}", file=sys.stderr, flush=True)
    runs: list[dict[str, Any]] = []
    for round_ in range(0 if args.in_process_only else args.rounds):
        order = APPS if round_ % 2 == 0 else APPS[::-1]  # neither always runs first
        for app in order:
            print(f"{LABELS[app]}: {args.streams} streams ...", file=sys.stderr, flush=True)
            run = measure(app, args.streams, args.chunks, args.interval_ms, args.ramp)
            print(f"  {run['cpu_ms_per_1000_chunks']:.1f} ms CPU per 1,000 chunks", file=sys.stderr)
            runs.append(run)
    outcome = result(args, runs, {**costs, **in_process(turns, batches)})
    save(outcome, Path(args.out))
    complete = args.in_process_only or outcome.targets[-1].met
    if not complete:
        print("FAILED: streams were lost or cut short", file=sys.stderr)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
