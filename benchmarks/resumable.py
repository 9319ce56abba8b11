"""Resumable streams: what recording every answer costs, in memory and on Redis.

    python -m benchmarks.resumable [--streams 500] [--chunks 250] [--quick]
                                   [--out DIR] [--redis-url URL]

One uvicorn process (as ``benchmarks.loopback`` runs it, with its load generator in a
process of its own) serving N concurrent useChat streams of ``--chunks`` tokens, one
every 20 ms each, in turn with three endpoints:

* ``ChatEndpoint`` without a stream store (nothing recorded: the reference);
* ``ChatEndpoint(streams=MemoryStreamStore())``;
* ``ChatEndpoint(streams=RedisStreamStore(url))`` on a real ``redis-server`` (a
  throwaway one started as the tests start it, unless ``--redis-url`` names one).

Reported per endpoint: the worker's CPU per 1,000 chunks delivered (the whole run:
requests, recording, chunks, teardown), Redis's own CPU over the same run (``INFO cpu``),
the most connections Redis saw at once during the run, p99 delay per chunk and loop lag.
The target (issue 21) is the worker's CPU per chunk on Redis at most 1.3x the memory
store's, at 500 streams: a ratio measured in one run, never asserted in the suite.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis

from benchmarks._results import Result, Table, Target, fmt, save
from benchmarks._results import parser as cli_parser
from benchmarks.loopback.__main__ import every_stream_complete, measure

APPS = ("uiwire", "uiwire-memory-store", "uiwire-redis-store")
LABELS = {
    "uiwire": "no stream store",
    "uiwire-memory-store": "MemoryStreamStore",
    "uiwire-redis-store": "RedisStreamStore",
}
CPU_TARGET = 1.3


@contextlib.contextmanager
def redis_url(url: str | None) -> Iterator[str]:
    """``url``, or a throwaway ``redis-server`` on loopback for the run."""
    if url is not None:
        yield url
        return
    from tests.support.redis_server import RedisServer

    server = RedisServer()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


class RedisWatch:
    """Redis's CPU seconds and, sampled every 50 ms in a thread, its connected clients."""

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=5)  # pyright: ignore[reportUnknownMemberType]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.peak_clients = 0
        self.cpu_seconds = 0.0
        self._cpu_before = 0.0

    def _cpu(self) -> float:
        info: dict[str, Any] = self._client.info("cpu")  # pyright: ignore[reportUnknownMemberType]
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def _clients(self) -> int:
        info: dict[str, Any] = self._client.info("clients")  # pyright: ignore[reportUnknownMemberType]
        return int(info["connected_clients"]) - 1  # not this watcher's own

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            with contextlib.suppress(redis.RedisError):
                self.peak_clients = max(self.peak_clients, self._clients())

    def __enter__(self) -> RedisWatch:
        self._cpu_before = self._cpu()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu_seconds = self._cpu() - self._cpu_before
        self._client.close()


def run(
    app: str, url: str, streams: int, chunks: int, interval_ms: float, ramp: float
) -> dict[str, Any]:
    os.environ["BENCH_REDIS_URL"] = url
    with RedisWatch(url) as watch:
        figures = measure(app, streams, chunks, interval_ms, ramp)
    figures["redis_cpu_ms_per_1000_chunks"] = (
        watch.cpu_seconds / max(figures["chunks_received"], 1) * 1e6
    )
    figures["redis_peak_clients"] = watch.peak_clients
    return figures


def result(args: Any, runs: list[dict[str, Any]]) -> Result:
    by = {r["app"]: r for r in runs}
    memory = by["uiwire-memory-store"]["cpu_ms_per_1000_chunks"]
    rows = [
        [
            LABELS[r["app"]],
            fmt(r["cpu_ms_per_1000_chunks"], 1),
            f"{r['cpu_ms_per_1000_chunks'] / memory:.2f}x",
            fmt(r["redis_cpu_ms_per_1000_chunks"], 1),
            str(r["redis_peak_clients"]),
            fmt(r["delay_p99_ms"]),
            fmt(r["loop_lag_p99_ms"]),
            f"{r['chunks_received']:,} / {r['chunks_expected']:,}",
        ]
        for r in runs
    ]
    table = Table(
        f"{args.streams:,} concurrent streams of {args.chunks} tokens, one every "
        f"{args.interval_ms:g} ms; one worker",
        [
            "stream store",
            "worker CPU ms per 1,000 chunks",
            "x memory store",
            "Redis CPU ms per 1,000 chunks",
            "Redis connections (peak)",
            "delay p99 (ms)",
            "loop lag p99 (ms)",
            "chunks received",
        ],
        rows,
    )
    ratio = by["uiwire-redis-store"]["cpu_ms_per_1000_chunks"] / memory
    targets = [
        Target(
            f"worker CPU per chunk on Redis at {args.streams:,} streams",
            f"<= {CPU_TARGET:g}x the memory store",
            f"{ratio:.2f}x",
            ratio <= CPU_TARGET,
        ),
        every_stream_complete(runs),
    ]
    return Result(
        name="resumable",
        title="Resumable streams: recording every answer in memory and on Redis",
        params={
            "streams": args.streams,
            "chunks_per_stream": args.chunks,
            "interval_ms": args.interval_ms,
            "ramp_seconds": args.ramp,
            "apps": list(APPS),
        },
        figures={"runs": runs},
        tables=[table],
        targets=targets,
    )


def main(argv: list[str] | None = None) -> int:
    parser = cli_parser(__doc__)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--chunks", type=int, default=250, help="tokens per stream")
    parser.add_argument("--interval-ms", type=float, default=20.0)
    parser.add_argument("--ramp", type=float, default=2.0, help="seconds to open all streams")
    parser.add_argument("--redis-url", default=None, help="a Redis to use (else one is started)")
    args = parser.parse_args(argv)
    if args.quick:
        args.streams, args.chunks, args.ramp = 4, 10, 0.1
    with redis_url(args.redis_url) as url:
        runs: list[dict[str, Any]] = []
        for app in APPS:
            print(f"{LABELS[app]}: {args.streams} streams ...", file=sys.stderr, flush=True)
            runs.append(run(app, url, args.streams, args.chunks, args.interval_ms, args.ramp))
    outcome = result(args, runs)
    save(outcome, Path(args.out))
    complete = outcome.targets[-1].met
    if not complete:
        print("FAILED: streams were lost or cut short", file=sys.stderr)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
