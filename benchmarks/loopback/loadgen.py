"""The load generator: N concurrent useChat-style POSTs, read as fast as they arrive.

    python -m benchmarks.loopback.loadgen --port P --stats-dir D --streams N --chunks K

Runs in its own process (the server's CPU is not ours) on uvloop, with raw HTTP/1.1 over
asyncio protocols: an HTTP client library would cost more per chunk than the servers do,
and its lag would be measured as theirs. For every ``text-delta`` it computes receive
time minus the token's due time (see ``apps.py``); a delta that carries several
tokens (merged while the client or the server's loop was behind) counts each. Streams
start spread over ``--ramp`` seconds so their ticks do not all fall on the same
millisecond. Prints one JSON object: delays, chunks, streams completed and failed, every
server process's stats (one per uvicorn worker, from its socket in ``--stats-dir``, see
``apps.py``) before the load, with every stream open, and after; and the generator's own
CPU, which on a machine with as many cores as workers is taken from the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.servers import raw_chat_post

from benchmarks._results import percentiles

STAMP = re.compile(rb'"type":"text-delta","id":"[^"]*","delta":"((?:\d+ )+)"')
"""A text delta's stamps: one per token, several when queued tokens were merged."""
DONE = b"data: [DONE]\n\n"


class ChatStream(asyncio.Protocol):
    """One POST and its SSE answer; records the delay of every token as it arrives."""

    def __init__(self, request: bytes, delays: list[int], finished: asyncio.Future[str]) -> None:
        self._request = request
        self._delays = delays
        self._finished = finished
        self._buffer = b""
        self._headers_done = False
        self._done = False
        self.chunks = 0
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        transport.write(self._request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        buffer = self._buffer + data
        if not self._headers_done:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                self._buffer = buffer
                return
            status = buffer[: buffer.find(b"\r\n")]
            if b" 200 " not in status:
                self._fail(f"status {status.decode(errors='replace')}")
                return
            self._headers_done = True
            buffer = buffer[head_end + 4 :]
        end = buffer.rfind(b"\n\n")
        if end < 0:
            self._buffer = buffer
            return
        complete, self._buffer = buffer[: end + 2], buffer[end + 2 :]
        delays = self._delays
        for match in STAMP.finditer(complete):
            for stamp in match.group(1).split():
                delays.append(now - int(stamp))
                self.chunks += 1
        if DONE in complete:
            self._done = True

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._finished.done():
            self._finished.set_result("ok" if self._done else f"ended early: {exc!r}")

    def _fail(self, why: str) -> None:
        if not self._finished.done():
            self._finished.set_result(why)
        if self.transport is not None:
            self.transport.close()


async def _process_stats(socket_path: Path, reset: bool) -> dict[str, Any]:
    reader, writer = await asyncio.open_unix_connection(socket_path)
    writer.write(b"reset\n" if reset else b"get\n")
    raw = await reader.read()
    writer.close()
    return json.loads(raw)


async def server_stats(stats_dir: Path, reset: bool = False) -> list[dict[str, Any]]:
    """Every server process's stats (one per worker), read at the same moment."""
    sockets = sorted(stats_dir.glob("*.sock"))
    if not sockets:
        raise RuntimeError(f"no server process answers in {stats_dir}")
    return list(await asyncio.gather(*(_process_stats(path, reset) for path in sockets)))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(
    port: int, stats_dir: Path, streams: int, chunks: int, interval_ms: float, ramp: float
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    delays: list[int] = []
    before = await server_stats(stats_dir, reset=True)
    cpu_started = _cpu_seconds()
    started = time.monotonic()
    finished: list[asyncio.Future[str]] = []
    protocols: list[ChatStream] = []
    for index in range(streams):
        due = started + ramp * index / streams
        if (wait := due - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        future: asyncio.Future[str] = loop.create_future()
        request = raw_chat_post(port, index, chunks=chunks, interval_ms=interval_ms)
        try:
            _, protocol = await loop.create_connection(
                lambda r=request, f=future: ChatStream(r, delays, f), "127.0.0.1", port
            )
            protocols.append(protocol)
        except OSError as exc:
            future.set_result(f"connect failed: {exc!r}")
        finished.append(future)
    all_open = time.monotonic()
    # The load is steady once every stream is open: measure the server there.
    await asyncio.sleep(min(1.0, chunks * interval_ms / 1000 / 4))
    loaded = await server_stats(stats_dir, reset=True)
    cpu_steady, steady_started = _cpu_seconds(), time.monotonic()
    delays_at_steady = len(delays)
    outcomes = await asyncio.gather(*finished)
    after = await server_stats(stats_dir)
    cpu_ended, ended = _cpu_seconds(), time.monotonic()
    failures = [o for o in outcomes if o != "ok"]
    steady = delays[delays_at_steady:] or delays
    return {
        "streams": streams,
        "chunks_per_stream": chunks,
        "interval_ms": interval_ms,
        "completed": len(outcomes) - len(failures),
        "failures": failures[:5],
        "failure_count": len(failures),
        "chunks_received": len(delays),
        "chunks_expected": streams * chunks,
        "delay_ms": percentiles(delays, scale=1e-6),
        "steady_delay_ms": percentiles(steady, scale=1e-6),
        "ramp_seconds": all_open - started,
        "wall_seconds": ended - started,
        "stats_before": before,
        "stats_loaded": loaded,
        "stats_after": after,
        "loadgen_cpu_seconds": cpu_ended - cpu_started,
        # the cores the generator took while the delays were measured
        "loadgen_cores_steady": (cpu_ended - cpu_steady) / max(ended - steady_started, 1e-9),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stats-dir", type=Path, required=True, help="the servers' sockets")
    parser.add_argument("--streams", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=250)
    parser.add_argument("--interval-ms", type=float, default=20.0)
    parser.add_argument("--ramp", type=float, default=1.0)
    args = parser.parse_args(argv)
    try:
        import uvloop  # pyright: ignore[reportMissingImports]
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run  # pyright: ignore[reportUnknownMemberType]
    result = runner(
        run(args.port, args.stats_dir, args.streams, args.chunks, args.interval_ms, args.ramp)
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
