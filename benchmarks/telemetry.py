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
* **in process**: what one turn's span and metrics cost (start, describe, end, with the
  same SDK set-up) and what one delivered batch costs (``TurnProbe.delivered``), timed
  in a loop; with the served CPU per chunk they give the overhead without the noise of a
  shared machine.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
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


def result(args: Any, runs: list[dict[str, Any]], costs: dict[str, float]) -> Result:
    cpu = {app: [r["cpu_ms_per_1000_chunks"] for r in runs if r["app"] == app] for app in APPS}
    median = {app: statistics.median(values) for app, values in cpu.items()}
    ratio = median["uiwire-otel"] / median["uiwire"]
    served = Table(
        f"{args.streams:,} concurrent streams of {args.chunks} tokens, one every "
        f"{args.interval_ms:g} ms; one worker; {args.rounds} alternating round(s)",
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
    )
    # what the in-process costs add to one chunk: a turn's share, plus one batch each
    # (the most batches a chunk can make: at 20 ms per token, one frame per batch)
    chunk_us = median["uiwire"]  # ms per 1,000 chunks = us per chunk
    added_us = costs["turn_us"] / args.chunks + costs["batch_ns"] / 1000
    estimate = added_us / chunk_us if chunk_us else 0.0
    costs_table = Table(
        "In process, with the same SDK set-up",
        ["cost", "measured"],
        [
            ["one turn's span and metrics (start to end)", f"{costs['turn_us']:.1f} us"],
            ["one delivered batch (TurnProbe.delivered)", f"{costs['batch_ns']:.0f} ns"],
            [
                f"per chunk, at {args.chunks} chunks per turn",
                f"{added_us:.3f} us = {estimate:.2%} of the served CPU per chunk",
            ],
        ],
    )
    targets = [
        Target(
            f"worker CPU per chunk with Telemetry at {args.streams:,} streams",
            f"<= {CPU_TARGET:g}x without",
            f"{ratio:.3f}x (in process: +{estimate:.2%})",
            ratio <= CPU_TARGET,
        ),
        every_stream_complete(runs),
    ]
    return Result(
        name="telemetry",
        title="Telemetry: the served load without and with OpenTelemetry",
        params={
            "streams": args.streams,
            "chunks_per_stream": args.chunks,
            "interval_ms": args.interval_ms,
            "ramp_seconds": args.ramp,
            "rounds": args.rounds,
            "apps": list(APPS),
        },
        figures={"runs": runs, "in_process": costs, "cpu_ratio": ratio, "estimate": estimate},
        tables=[served, costs_table],
        targets=targets,
    )


def main(argv: list[str] | None = None) -> int:
    parser = cli_parser(__doc__)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--chunks", type=int, default=250, help="tokens per stream")
    parser.add_argument("--interval-ms", type=float, default=20.0)
    parser.add_argument("--ramp", type=float, default=2.0, help="seconds to open all streams")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each app")
    args = parser.parse_args(argv)
    turns, batches = 20_000, 1_000_000
    if args.quick:
        args.streams, args.chunks, args.ramp, args.rounds = 4, 10, 0.1, 1
        turns, batches = 200, 10_000
    runs: list[dict[str, Any]] = []
    for round_ in range(args.rounds):
        order = APPS if round_ % 2 == 0 else APPS[::-1]  # neither always runs first
        for app in order:
            print(f"{LABELS[app]}: {args.streams} streams ...", file=sys.stderr, flush=True)
            run = measure(app, args.streams, args.chunks, args.interval_ms, args.ramp)
            print(f"  {run['cpu_ms_per_1000_chunks']:.1f} ms CPU per 1,000 chunks", file=sys.stderr)
            runs.append(run)
    outcome = result(args, runs, in_process(turns, batches))
    save(outcome, Path(args.out))
    complete = outcome.targets[-1].met
    if not complete:
        print("FAILED: streams were lost or cut short", file=sys.stderr)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
