"""The load client of the soak test: many concurrent useChat POSTs, some cut on purpose.

    python -m tests.support.soak_client --port P [--streams 1000] [--seconds 60]

Runs in a process of its own, against ``tests.support.soak_app`` on loopback. Raw
HTTP/1.1 over asyncio protocols (as ``benchmarks/loopback/loadgen.py``): an HTTP client
library would cost more per chunk than the server does. Phases, in one run:

1. **warm-up**: ``--streams`` streams for ``--warmup`` seconds, so every pool and cache
   of the server reaches the size the soak needs; then every client leaves at once, and
   the client waits until the server has settled;
2. **baseline**: ``/stats?settle=1`` (full collection, ``malloc_trim``);
3. **soak**: ``--streams`` streams open at once for ``--seconds``, closed loop (when one
   ends, the next starts in its slot); ``--cut`` of them are cut on purpose at a random
   point: after a random number of events, after a random time, right after the
   request was sent, or while sending it, half with ``close()`` and half with
   ``abort()``; the rest are read to the end. ``/stats`` is sampled during the load; at
   the end, the streams still open are read to their end;
4. **after**: wait until the server settles again (no request in flight, no stream
   context alive, ``on_finish`` run for every stream), then ``/stats?settle=1``.

Every completed body must pass ``assert_valid_body`` and carry the whole script (every
text delta, in order, then ``finish``); every cut body must be a valid prefix (see
``check_prefix``). Anything else (an invalid body, a status other than 200, a
connection that failed or ended early without being cut by us, a stream that stalls) is
a protocol error. Prints one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tests.support.processes import raise_open_files_limit
from tests.support.servers import raw_chat_post
from tests.support.soak_app import DEFAULT_PACE_MS, text_pieces, writes_in_script
from tests.support.stream_rules import assert_valid_body
from uiwire.protocol import DONE_FRAME, check_stream

HOST = "127.0.0.1"
CutKind = Literal["none", "events", "time", "early", "upload"]

# --- validating what arrived ---------------------------------------------------------------

_TERMINAL = {"finish", "abort", "error"}
_PART_CREATING = {
    *("text-start", "reasoning-start", "tool-input-start", "source-url", "source-document"),
    *("file", "custom", "reasoning-file", "steering-message"),
}


def check_complete(body: bytes, seed: int, text_deltas: int) -> tuple[str | None, int]:
    """A body read to its end: (what is wrong or None, chunks in it).

    It must pass the client-faithful validator and uiwire's lifecycle rules, end with
    ``finish``, and carry the script's text whole and in order."""
    try:
        chunks = assert_valid_body(body)
    except AssertionError as exc:
        return f"invalid stream: {exc}", 0
    if chunks[-1]["type"] != "finish":
        return f"ended with {chunks[-1]['type']}, not finish", len(chunks)
    text = "".join(c["delta"] for c in chunks if c["type"] == "text-delta")
    expected = "".join(text_pieces(seed, text_deltas))
    if text != expected:
        return f"text {text[:60]!r}... is not the script's {expected[:60]!r}...", len(chunks)
    return None, len(chunks)


def check_prefix(body: bytes) -> tuple[str | None, int]:
    """A body cut short (by us): (what is wrong or None, complete chunks in it).

    Its complete events (up to the last blank line; the client drops a partial one) must
    pass the client-faithful validator as if the stream ended there, and keep uiwire's
    lifecycle rules so far: ``start`` first and once, nothing after a terminal chunk,
    steps not nested, parts created inside a step, no text or reasoning left open by a
    ``finish-step``."""
    end = body.rfind(b"\n\n")
    complete = body[: end + 2] if end >= 0 else b""
    report = check_stream(complete + DONE_FRAME)  # a [DONE] already there is repeated harmlessly
    if report.violation is not None:
        return f"invalid prefix: {report.violation}", len(report.chunks)
    chunks = report.chunks
    in_step = False
    open_parts: set[str] = set()
    for index, chunk in enumerate(chunks):
        kind = chunk["type"]
        where = f"chunk {index} ({kind})"
        if (index == 0) != (kind == "start"):
            return f"{where}: start must come first, and once", len(chunks)
        if index > 0 and chunks[index - 1]["type"] in _TERMINAL:
            return f"{where}: follows a terminal chunk", len(chunks)
        if kind == "start-step":
            if in_step:
                return f"{where}: nested step", len(chunks)
            in_step = True
        elif kind == "finish-step":
            if not in_step or open_parts:
                return f"{where}: outside a step, or with {sorted(open_parts)} open", len(chunks)
            in_step = False
        elif kind in _PART_CREATING and not in_step:
            return f"{where}: a part created outside a step", len(chunks)
        if kind in ("text-start", "reasoning-start"):
            open_parts.add(f"{kind.split('-')[0]} {chunk['id']}")
        elif kind in ("text-end", "reasoning-end"):
            open_parts.discard(f"{kind.split('-')[0]} {chunk['id']}")
    return None, len(chunks)


# --- one stream ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cut:
    """Where a stream is cut: once ``events`` complete events have arrived, ``after``
    seconds past the response head, ``early`` (as soon as the request is sent), or
    ``upload``: while sending the request, after its head and ``share`` of its body."""

    kind: CutKind = "none"
    events: int = 0
    after: float = 0.0
    share: float = 0.0
    abort: bool = False  # RST-like abort() instead of close()


class Dechunker:
    """Incremental HTTP/1.1 chunked transfer decoding."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._size: int | None = None
        self.done = False

    def feed(self, data: bytes, out: bytearray) -> None:
        buffer = self._buffer
        buffer += data
        while not self.done:
            if self._size is None:
                line_end = buffer.find(b"\r\n")
                if line_end < 0:
                    return
                size = int(bytes(buffer[:line_end]).split(b";", 1)[0], 16)
                del buffer[: line_end + 2]
                self._size = size
            if self._size == 0:
                if buffer.find(b"\r\n") < 0:  # the (empty) trailer section
                    return
                self.done = True
                return
            if len(buffer) < self._size + 2:
                return
            out += buffer[: self._size]
            if not buffer.startswith(b"\r\n", self._size):
                raise ValueError("a chunk does not end with CRLF")
            del buffer[: self._size + 2]
            self._size = None


class SoakStream(asyncio.Protocol):
    """One POST and its response: keeps the body; cuts the connection when ``cut`` says."""

    def __init__(self, request: bytes, cut: Cut, finished: asyncio.Future[str]) -> None:
        self._request = request
        self._cut = cut
        self._finished = finished
        self._head = bytearray()
        self._headers_done = False
        self._dechunker: Dechunker | None = None
        self._events_seen = 0
        self._timer: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None
        self.body = bytearray()
        self.status = 0
        self.cut_done = False
        self.cut_kind = "none"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        request, cut = self._request, self._cut
        if cut.kind == "upload":
            head = request.index(b"\r\n\r\n") + 4
            request = request[: head + int(cut.share * (len(request) - head))]
        transport.write(request)
        if cut.kind in ("early", "upload"):
            asyncio.get_running_loop().call_soon(self.cut_now, cut.kind)

    def data_received(self, data: bytes) -> None:
        if self.cut_done or self._finished.done():
            return
        try:
            self._receive(data)
        except ValueError as exc:
            self._fail(f"unreadable response: {exc}")

    def _receive(self, data: bytes) -> None:
        if not self._headers_done:
            self._head += data
            head_end = self._head.find(b"\r\n\r\n")
            if head_end < 0:
                return
            data = bytes(self._head[head_end + 4 :])
            self._read_head(bytes(self._head[:head_end]))
            if self._finished.done():
                return
        before = len(self.body)
        if self._dechunker is not None:
            if self._dechunker.done:
                self._fail("data after the last chunk")
                return
            # after the last chunk, the server closes the connection (connection: close)
            self._dechunker.feed(data, self.body)
        else:
            self.body += data
        cut = self._cut
        if cut.kind == "events" and len(self.body) > before:
            self._events_seen += self.body.count(b"\n\n", max(0, before - 1))
            if self._events_seen >= cut.events:
                self.cut_now("events")

    def _read_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if self.status != 200:
            self._fail(f"status {lines[0].decode(errors='replace')}")
            return
        if headers.get(b"x-vercel-ai-ui-message-stream") != b"v1":
            self._fail("no x-vercel-ai-ui-message-stream: v1 header")
            return
        if not headers.get(b"content-type", b"").startswith(b"text/event-stream"):
            self._fail(f"content-type {headers.get(b'content-type')!r}")
            return
        self._headers_done = True
        if headers.get(b"transfer-encoding") == b"chunked":
            self._dechunker = Dechunker()
        if self._cut.kind == "time":
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._cut.after, self.cut_now, "time")

    def cut_now(self, kind: str | None = None) -> None:
        """Leave, as a browser tab that is closed or a stop button pressed."""
        if self.cut_done or self._finished.done() or self.transport is None:
            return
        if self._dechunker is not None and self._dechunker.done:
            return  # too late: the whole body is here
        self.cut_done = True
        self.cut_kind = kind or self._cut.kind
        if self._cut.abort:
            self.transport.abort()
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._finished.done():
            return
        if self.cut_done:
            self._finished.set_result("cut")
        elif self._dechunker is not None and self._dechunker.done:
            self._finished.set_result("complete")
        elif self._headers_done and self._dechunker is None and exc is None:
            self._finished.set_result("complete")  # a body delimited by the connection's end
        else:
            self._finished.set_result(f"connection ended early: {exc!r}")

    def _fail(self, why: str) -> None:
        if not self._finished.done():
            self._finished.set_result(why)
        if self.transport is not None:
            self.transport.abort()


def chat_request(port: int, seed: int, text_deltas: int, pace_ms: float) -> bytes:
    return raw_chat_post(port, seed, seed=seed, text_deltas=text_deltas, pace_ms=pace_ms)


# --- the load --------------------------------------------------------------------------------


@dataclass
class Config:
    port: int
    streams: int = 1000
    seconds: float = 60.0
    warmup: float = 7.0  # the ramp, then every slot well into its first stream
    cut: float = 0.25
    pace_ms: float = DEFAULT_PACE_MS
    text_deltas: tuple[int, int] = (6, 20)  # with 12 other writes: 3.6-6.4 s at 200 ms
    ramp: float = 3.0
    stall: float = 30.0  # a stream that takes this long is a failure
    settle_timeout: float = 20.0
    sample_every: float = 5.0
    seed: int = 0


@dataclass
class Load:
    """What one closed-loop load did, as the client saw it."""

    seconds: float = 0.0
    started: int = 0
    completed: int = 0
    cut: Counter[str] = field(default_factory=Counter[str])
    cut_before_head: int = 0  # the server may never have seen these requests
    chunks: int = 0
    errors: Counter[str] = field(default_factory=Counter[str])
    error_examples: list[str] = field(default_factory=list[str])
    open_now: int = 0
    open_max: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])

    @property
    def protocol_errors(self) -> int:
        return sum(self.errors.values())

    def error(self, category: str, example: str) -> None:
        self.errors[category] += 1
        if len(self.error_examples) < 10:
            self.error_examples.append(f"{category}: {example[:500]}")

    def to_json(self) -> dict[str, Any]:
        out = {**vars(self), "cut": dict(self.cut), "errors": dict(self.errors)}
        out["cut_total"] = sum(self.cut.values())
        out["protocol_errors"] = self.protocol_errors
        return out


def pick_cut(rng: random.Random, cfg: Config, writes: int) -> Cut:
    if rng.random() >= cfg.cut:
        return Cut()
    abort = rng.random() < 0.5
    roll = rng.random()
    if roll < 0.1:
        return Cut("early", abort=abort)
    if roll < 0.15:
        return Cut("upload", share=rng.random(), abort=abort)
    if roll < 0.575:  # after a random number of events
        return Cut("events", events=rng.randint(0, writes + 4), abort=abort)
    return Cut("time", after=rng.uniform(0, writes * cfg.pace_ms / 1000), abort=abort)


async def one_stream(
    cfg: Config, load: Load, seed: int, rng: random.Random, open_streams: set[SoakStream]
) -> None:
    loop = asyncio.get_running_loop()
    text_deltas = rng.randint(*cfg.text_deltas)
    cut = pick_cut(rng, cfg, writes_in_script(text_deltas))
    finished: asyncio.Future[str] = loop.create_future()
    request = chat_request(cfg.port, seed, text_deltas, cfg.pace_ms)
    protocol = SoakStream(request, cut, finished)
    load.started += 1
    load.open_now += 1
    load.open_max = max(load.open_max, load.open_now)
    open_streams.add(protocol)
    try:
        try:
            await loop.create_connection(lambda: protocol, HOST, cfg.port)
        except OSError as exc:
            load.error("connect", repr(exc))
            return
        try:
            outcome = await asyncio.wait_for(asyncio.shield(finished), cfg.stall)
        except asyncio.TimeoutError:
            if protocol.transport is not None:
                protocol.transport.abort()
            load.error("stalled", f"seed {seed}: no end after {cfg.stall:g} s")
            return
    finally:
        load.open_now -= 1
        open_streams.discard(protocol)
    body = bytes(protocol.body)
    if outcome == "complete":
        problem, chunks = check_complete(body, seed, text_deltas)
        load.chunks += chunks
        if problem is None:
            load.completed += 1
        else:
            load.error("invalid body", f"seed {seed}: {problem}")
    elif outcome == "cut":
        problem, chunks = check_prefix(body)
        load.chunks += chunks
        if problem is None:
            load.cut[protocol.cut_kind] += 1
            load.cut_before_head += protocol.status == 0
        else:
            load.error("invalid prefix", f"seed {seed} cut {cut}: {problem}")
    elif outcome.startswith("status"):
        load.error("status", f"seed {seed}: {outcome}")
    else:
        load.error("connection", f"seed {seed}: {outcome}")


async def closed_loop(cfg: Config, seconds: float, first_seed: int, *, leave: bool) -> Load:
    """``cfg.streams`` slots, each running one stream after another until ``seconds``
    have passed. Then the streams still open are read to their end, or with ``leave``
    all cut at once (every client leaving together)."""
    load = Load()
    open_streams: set[SoakStream] = set()
    seeds = iter(range(first_seed, 2**62))
    started = time.monotonic()
    deadline = started + seconds

    async def slot(index: int) -> None:
        rng = random.Random(cfg.seed * 1_000_003 + first_seed + index)
        await asyncio.sleep(cfg.ramp * index / cfg.streams)
        while time.monotonic() < deadline:
            await one_stream(cfg, load, next(seeds), rng, open_streams)

    async def everyone_leaves() -> None:
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))
        for stream in list(open_streams):
            stream.cut_now("all at once")

    async def sample() -> None:
        while True:
            await asyncio.sleep(cfg.sample_every)
            try:
                stats = await get_stats(cfg.port)
            except (OSError, ValueError) as exc:
                load.error("stats", repr(exc))
                continue
            stats["client_open"] = load.open_now
            stats["at_seconds"] = round(time.monotonic() - started, 1)
            load.samples.append(stats)

    sampler = asyncio.create_task(sample())
    leaving = asyncio.create_task(everyone_leaves()) if leave else None
    try:
        await asyncio.gather(*(slot(i) for i in range(cfg.streams)))
    finally:
        for task in (sampler, leaving):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    load.seconds = time.monotonic() - started
    return load


async def get_stats(port: int, *, settle: bool = False, reset: bool = False) -> dict[str, Any]:
    query = "&".join(name for name, on in (("settle=1", settle), ("reset=1", reset)) if on)
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(
            f"GET /stats?{query} HTTP/1.1\r\nhost: {HOST}\r\nconnection: close\r\n\r\n".encode()
        )
        raw = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise ValueError(f"/stats answered {head[:100]!r}")
    if b"transfer-encoding: chunked" in head.lower():
        decoded = bytearray()
        Dechunker().feed(body, decoded)
        body = bytes(decoded)
    stats: dict[str, Any] = json.loads(body)
    return stats


def settled(stats: dict[str, Any]) -> bool:
    """No request in flight, no stream alive, ``on_finish`` run for every 200."""
    return (
        stats["in_flight"] == 0
        and stats.get("live_contexts", 1) == 0
        and sum(stats["finished"].values()) == stats["statuses"].get("200", 0)
    )


async def wait_settled(cfg: Config) -> tuple[dict[str, Any], float]:
    """The server's settled ``/stats`` and how long it took to settle (the last
    ``/stats`` if it never did)."""
    started = time.monotonic()
    while True:
        stats = await get_stats(cfg.port, settle=True)
        if settled(stats) or time.monotonic() - started > cfg.settle_timeout:
            return stats, time.monotonic() - started
        await asyncio.sleep(0.25)


async def run(cfg: Config) -> dict[str, Any]:
    """The four phases (warm-up, baseline, soak, after); every figure as JSON."""
    warmup = Load()
    if cfg.warmup > 0:
        warmup = await closed_loop(cfg, cfg.warmup, first_seed=1, leave=True)
    warm_stats, warm_settle = await wait_settled(cfg)
    baseline = await get_stats(cfg.port, settle=True, reset=True)
    soak = await closed_loop(cfg, cfg.seconds, first_seed=10_000_000, leave=False)
    loaded = await get_stats(cfg.port)  # lag and peak over the soak, before settling
    after, settle_seconds = await wait_settled(cfg)
    if settled(after):
        after = await get_stats(cfg.port, settle=True, reset=True)  # as the baseline was
    return {
        "config": asdict(cfg),
        "warmup": warmup.to_json(),
        "warmup_settled": settled(warm_stats),
        "warmup_settle_seconds": warm_settle,
        "baseline": baseline,
        "soak": soak.to_json(),
        "loaded": loaded,
        "after": after,
        "settled": settled(after),
        "settle_seconds": settle_seconds,
        "client_cpu_seconds": time.process_time(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--streams", type=int, default=Config.streams)
    parser.add_argument("--seconds", type=float, default=Config.seconds)
    parser.add_argument("--warmup", type=float, default=Config.warmup)
    parser.add_argument("--cut", type=float, default=Config.cut, help="share of streams cut")
    parser.add_argument("--pace-ms", type=float, default=Config.pace_ms)
    parser.add_argument("--seed", type=int, default=Config.seed)
    args = parser.parse_args(argv)
    cfg = Config(
        port=args.port,
        streams=args.streams,
        seconds=args.seconds,
        warmup=args.warmup,
        cut=args.cut,
        pace_ms=args.pace_ms,
        seed=args.seed,
    )
    raise_open_files_limit(cfg.streams + 100)
    gc.collect()
    gc.freeze()  # the imports' objects leave the collector's view: shorter pauses
    result = asyncio.run(run(cfg))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
