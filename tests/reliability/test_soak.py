"""Soak (issue 9): 1,000 concurrent streams for 60 s with random disconnects, on loopback.

A uvicorn process serves ``tests.support.soak_app`` (``ChatEndpoint`` over a paced agent
that writes reasoning, a streamed tool call and its output, a data part, a source and
text); the client (``tests.support.soak_client``, a process of its own) keeps
``UIWIRE_SOAK_STREAMS`` streams open for ``UIWIRE_SOAK_SECONDS`` seconds, cutting about a
quarter of them at a random point. Short runs for development::

    UIWIRE_SOAK_SECONDS=10 UIWIRE_SOAK_STREAMS=200 pytest tests/reliability/test_soak.py

Asserted (correctness): no protocol error (every completed body valid and whole, every
cut body a valid prefix, every status 200, no connection failing unless we cut it), no
error logged by the server, ``on_finish`` once per stream with ``finish`` or
``disconnect``, and afterwards nothing left: no stream context or other uiwire object,
no task, thread or file descriptor more than at the baseline, small objects and RSS back
within tolerance of it. Reported, never asserted: every figure (streams, chunks, RSS
baseline, peak and after, loop lag, collector pauses, CPU).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from benchmarks._results import Result, Table, fmt

from tests.support.figures import report
from tests.support.processes import free_port, raise_open_files_limit, server_process
from tests.support.soak_app import play_script, uiwire_objects
from tests.support.soak_client import Dechunker, chat_request, check_complete, check_prefix
from uiwire.stream import StreamContext

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("UIWIRE_SOAK_SECONDS", "60"))
STREAMS = int(os.environ.get("UIWIRE_SOAK_STREAMS", "1000"))
WARMUP = float(os.environ.get("UIWIRE_SOAK_WARMUP", "7"))
CUT = 0.25

MIB = 1024 * 1024
BLOCKS_TOLERANCE_FLOOR = 2_000
BLOCKS_TOLERANCE_PER_STREAM = 0.25
"""Small objects (``sys.getallocatedblocks()``, after a full collection) may exceed the
baseline by 2,000 (caches that fill once) plus one per four streams: a leak of a single
small object per stream fails, whatever the allocator does with its arenas."""
RSS_TOLERANCE_FLOOR = 10 * MIB
RSS_TOLERANCE_SHARE = 0.10
"""RSS after the soak may exceed the baseline by max(10 MiB, 10%). The baseline is taken
after a warm-up at full concurrency, so pools and arenas already have their working size;
what remains above it afterwards is allocator fragmentation (arenas still holding a few
live objects), bounded by the peak, not by the number of streams served. A leak of 1 KiB
per stream over the soak's ~12,000 streams would exceed it; smaller leaks are caught by
the exact checks: uiwire objects, small objects, tasks, threads, descriptors."""


# --- the validators must be able to fail ---------------------------------------------------


async def _script_body(seed: int, text_deltas: int) -> bytes:
    ctx: StreamContext[Any] = StreamContext()
    ctx.run(lambda c: play_script(c, seed, text_deltas, 0.0))
    return b"".join([frame async for frame in ctx.stream()])


async def test_the_client_flags_broken_streams_and_accepts_valid_ones() -> None:
    body = await _script_body(seed=7, text_deltas=5)
    problem, chunks = check_complete(body, 7, 5)
    assert problem is None
    assert chunks == body.count(b"\n\ndata: ")  # every chunk counted, [DONE] not

    frames = body.split(b"\n\n")[:-1]
    broken = {
        "no [DONE]": body.replace(b"data: [DONE]\n\n", b""),
        "no finish": body.replace(b'data: {"type":"finish"}\n\n', b""),
        "bad JSON": body.replace(b'"delta":"s7w2 "}', b'"delta":"s7w2 "'),
        "a delta of no part": body.replace(b'"id":"t2","delta":"s7w3 "', b'"id":"t9","delta":"x"'),
        "a word lost": body.replace(
            b'data: {"type":"text-delta","id":"t2","delta":"s7w1 "}\n\n', b""
        ),
        "a second start": frames[0] + b"\n\n" + body,
        "an unterminated last event": body[:-1],
        "another answer's words": body.replace(b"s7w", b"s8w"),
    }
    for what, bad in broken.items():
        assert bad != body, what
        assert check_complete(bad, 7, 5)[0] is not None, f"{what} went unnoticed"

    # every cut of the valid body is a valid prefix, mid-event cuts included
    for cut in range(0, len(body), 7):
        assert check_prefix(body[:cut]) == (None, body[:cut].count(b"\n\n")), cut
    bad_prefixes = {
        "bad JSON": b'data: {"type":"start"}\n\ndata: {"type":\n\n',
        "a delta before its start": b'data: {"type":"start"}\n\ndata: {"type":"start-step"}\n\n'
        b'data: {"type":"text-delta","id":"t1","delta":"x"}\n\n',
        "no start": b'data: {"type":"start-step"}\n\n',
        "two starts": b'data: {"type":"start"}\n\ndata: {"type":"start"}\n\n',
        "a part outside a step": b'data: {"type":"start"}\n\ndata: {"type":"text-start","id":"a"}\n\n',
        "after finish": b'data: {"type":"start"}\n\ndata: {"type":"finish"}\n\n'
        b'data: {"type":"start-step"}\n\n',
    }
    for what, bad in bad_prefixes.items():
        assert check_prefix(bad)[0] is not None, f"{what} went unnoticed"


def test_the_client_decodes_chunked_bodies_split_anywhere() -> None:
    payload = b'data: {"type":"start"}\n\n' * 3
    wire = b"".join(
        b"%x\r\n%s\r\n" % (len(payload[i : i + 10]), payload[i : i + 10])
        for i in range(0, len(payload), 10)
    )
    wire += b"0\r\n\r\n"
    for step in (1, 2, 3, 7, len(wire)):
        decoder, out = Dechunker(), bytearray()
        for i in range(0, len(wire), step):
            decoder.feed(wire[i : i + step], out)
        assert bytes(out) == payload
        assert decoder.done
    decoder, out = Dechunker(), bytearray()
    decoder.feed(wire[:-5], out)
    assert not decoder.done  # no last chunk: not complete
    with pytest.raises(ValueError, match="CRLF"):
        Dechunker().feed(b"3\r\nabcX\r\n", bytearray())


async def test_the_server_counts_live_stream_contexts() -> None:
    """The leak check counts contexts by walking the collector's objects: it sees one."""
    before = uiwire_objects().get("uiwire.stream.context.StreamContext", 0)
    ctx: StreamContext[Any] = StreamContext()
    assert uiwire_objects()["uiwire.stream.context.StreamContext"] == before + 1
    await ctx.write_text("hi")
    ctx.disconnect()
    await asyncio.sleep(0)


def _server_command(port: int) -> list[str]:
    command = [sys.executable, "-m", "uvicorn", "--factory", "tests.support.soak_app:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--backlog", "4096"]
    return [
        *command,
        "--no-access-log",
        "--log-level",
        "warning",
        "--timeout-graceful-shutdown",
        "5",
    ]


def _server_errors(stats: dict[str, Any]) -> dict[str, int]:
    return {status: n for status, n in stats["statuses"].items() if status.startswith("5")}


def test_a_client_leaving_mid_upload_is_no_server_error() -> None:
    """The soak's ``upload`` cuts, on purpose and at once: a client that leaves while its
    request body is on the way gets no 500 and the server logs no error."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with server_process(_server_command(port), ready_url=f"{url}/stats", cwd=ROOT):
        request = chat_request(port, seed=1, text_deltas=5, pace_ms=200)
        head = request.index(b"\r\n\r\n") + 4
        for sent in (head, head + (len(request) - head) // 2):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(request[:sent])
                time.sleep(0.05)  # the server is waiting for the rest of the body
        stats: dict[str, Any] = {}
        for _ in range(100):
            stats = httpx.get(f"{url}/stats").json()
            if stats["requests"] == 2 and stats["in_flight"] == 0:
                break
            time.sleep(0.05)
    assert stats["requests"] == 2
    assert stats["in_flight"] == 0
    assert not stats["errors_logged"], stats["error_examples"]
    assert not _server_errors(stats), stats["statuses"]  # nobody reads it; no 5xx either


# --- the soak --------------------------------------------------------------------------


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores; Linux)."""
    with open("/proc/stat") as stat:
        fields = [int(f) for f in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _run_soak() -> tuple[dict[str, Any], float, float]:
    # the client and the server each hold one socket per stream, plus their own files
    try:
        raise_open_files_limit(STREAMS + 200)
    except RuntimeError as exc:  # a failure, not a skip: a soak that did not run must not pass
        pytest.fail(str(exc))
    port = free_port()
    server = _server_command(port)
    client = [sys.executable, "-m", "tests.support.soak_client", "--port", str(port)]
    client += ["--streams", str(STREAMS), "--seconds", str(SECONDS), "--warmup", str(WARMUP)]
    client += ["--cut", str(CUT)]
    started, busy = time.monotonic(), _busy_seconds()
    with server_process(server, ready_url=f"http://127.0.0.1:{port}/stats", cwd=ROOT):
        run = subprocess.run(
            client,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=SECONDS + WARMUP + 150,
            check=False,
        )
    wall, busy = time.monotonic() - started, _busy_seconds() - busy
    assert run.returncode == 0, f"the soak client failed:\n{run.stderr[-5000:]}"
    return json.loads(run.stdout), wall, busy


def _mib(n: float) -> str:
    return fmt(n / MIB, 1)


def _figures(result: dict[str, Any], wall: float, busy: float) -> Result:
    """The table for the reliability page (reported, never asserted)."""
    warmup, soak = result["warmup"], result["soak"]
    base, loaded, after = result["baseline"], result["loaded"], result["after"]
    full = [s for s in soak["samples"] if s["client_open"] >= 0.9 * STREAMS]
    per_stream = statistics.median(
        [(s["rss_bytes"] - base["rss_bytes"]) / s["client_open"] for s in full] or [0.0]
    )
    server_cpu = (loaded["cpu_seconds"] - base["cpu_seconds"]) / soak["seconds"]
    ours = after["cpu_seconds"] + result["client_cpu_seconds"]
    pauses = loaded["gc_pauses"]
    collector_cpu = sum(pauses["total_cpu_ms"]) / 1000 / soak["seconds"]
    delta = after["rss_bytes"] - base["rss_bytes"]
    cut = soak["cut"]
    cut_kinds = ", ".join(f"{cut.get(k, 0):,} {k}" for k in ("events", "time", "early", "upload"))
    rows = [
        ["wall time of the test (s)", fmt(wall, 1)],
        ["soak: seconds, streams open at most", f"{soak['seconds']:.1f}, {soak['open_max']:,}"],
        ["streams started", f"{soak['started']:,}"],
        ["read to the end (valid and whole)", f"{soak['completed']:,}"],
        ["cut by the client (valid prefixes)", f"{soak['cut_total']:,}: {cut_kinds}"],
        ["chunks received", f"{soak['chunks']:,}"],
        [
            "protocol errors (warm-up, soak)",
            f"{warmup['protocol_errors']}, {soak['protocol_errors']}",
        ],
        [
            "on_finish statuses (whole run, warm-up included)",
            ", ".join(f"{n:,} {status}" for status, n in sorted(after["finished"].items())),
        ],
        ["errors logged by the server", str(sum(after["errors_logged"].values()))],
        [
            "RSS baseline / peak / after (MiB)",
            f"{_mib(base['rss_bytes'])} / {_mib(loaded['peak_rss_bytes'])} / "
            f"{_mib(after['rss_bytes'])}",
        ],
        [
            "RSS after minus baseline (MiB)",
            f"{delta / MIB:+.2f} ({delta / base['rss_bytes']:+.1%})",
        ],
        ["RSS per open stream (KiB)", fmt(per_stream / 1024, 1)],
        [
            "small objects after minus baseline",
            f"{after['allocated_blocks'] - base['allocated_blocks']:+,}",
        ],
        [
            "tasks / threads / descriptors, baseline -> after",
            " -> ".join(f"{s['tasks']} / {s['threads']} / {s['open_fds']}" for s in (base, after)),
        ],
        [
            "loop lag p50 / p99 / max (ms)",
            " / ".join(fmt(loaded[f"lag_{q}_ms"]) for q in ("p50", "p99", "max")),
        ],
        [
            "collector pauses, gen 0 / 1 / 2: count, longest wall, longest CPU (ms)",
            " / ".join(
                f"{n:,}, {fmt(wall_ms, 1)}, {fmt(cpu_ms, 1)}"
                for n, wall_ms, cpu_ms in zip(
                    pauses["count"], pauses["max_ms"], pauses["max_cpu_ms"], strict=True
                )
            ),
        ],
        [
            "server CPU (share of one core), of which the collector",
            f"{server_cpu:.0%}, {collector_cpu:.0%}",
        ],
        [
            f"cores busy: server + client, other processes (of {os.cpu_count()})",
            f"{ours / wall:.2f}, {max(0.0, busy - ours) / wall:.2f}",
        ],
        ["seconds to settle after the soak", fmt(result["settle_seconds"], 2)],
    ]
    cfg = result["config"]
    table = Table(
        f"{STREAMS:,} concurrent streams for {SECONDS:g} s, one write every {cfg['pace_ms']:g} ms"
        f" per stream, {CUT:.0%} cut at random",
        ["figure", "value"],
        rows,
    )
    figures = {k: v for k, v in result.items() if k != "config"}
    figures |= {"wall_seconds": wall, "machine_busy_cpu_seconds": busy}
    return Result(
        name="soak",
        title="Soak: concurrent streams with random disconnects, on loopback",
        params={"warmup_seconds": WARMUP, **cfg},
        figures=figures,
        tables=[table],
    )


@pytest.mark.slow  # a minute and a quarter of load, by design
@pytest.mark.timeout(SECONDS + WARMUP + 240)
def test_concurrent_streams_with_random_disconnects_leave_nothing_behind() -> None:
    result, wall, busy = _run_soak()
    report(_figures(result, wall, busy))
    warmup, soak = result["warmup"], result["soak"]
    base, after = result["baseline"], result["after"]

    # the protocol held: every body valid, every failure one we caused
    for phase, load in (("warm-up", warmup), ("soak", soak)):
        assert load["protocol_errors"] == 0, (phase, load["errors"], load["error_examples"])
        assert load["started"] == load["completed"] + load["cut_total"], phase
    assert soak["completed"] > 0
    assert soak["cut_total"] > 0
    assert soak["open_max"] == STREAMS
    assert not after["errors_logged"], after["error_examples"]

    # nothing left behind
    assert after["live_contexts"] == 0
    leftover = {
        kind: n
        for kind, n in after["uiwire_objects"].items()
        if n > base["uiwire_objects"].get(kind, 0)
    }
    assert not leftover, leftover
    assert after["in_flight"] == 0
    assert after["tasks"] <= base["tasks"]
    assert after["threads"] <= base["threads"]
    assert after["open_fds"] <= base["open_fds"]
    blocks = after["allocated_blocks"] - base["allocated_blocks"]
    assert blocks <= BLOCKS_TOLERANCE_FLOOR + soak["started"] * BLOCKS_TOLERANCE_PER_STREAM, (
        f"{blocks:,} more small objects than at the baseline after {soak['started']:,} streams"
    )

    # every stream was answered 200 and finished once, as it ended (a request whose client
    # left before the response head may have got something else, but never a 5xx)
    assert result["settled"], ("the server did not settle", after)
    assert not _server_errors(after), after["statuses"]
    answered = after["statuses"].get("200", 0)
    assert sum(after["finished"].values()) == answered
    assert set(after["finished"]) <= {"finish", "disconnect"}, after["finished"]
    started = warmup["started"] + soak["started"]
    before_head = warmup["cut_before_head"] + soak["cut_before_head"]
    assert after["requests"] <= started
    assert after["requests"] - answered <= before_head
    assert started - before_head <= answered

    # memory back to its baseline
    tolerance = max(RSS_TOLERANCE_FLOOR, RSS_TOLERANCE_SHARE * base["rss_bytes"])
    assert after["rss_bytes"] <= base["rss_bytes"] + tolerance, (
        f"RSS {after['rss_bytes'] / MIB:.1f} MiB after, {base['rss_bytes'] / MIB:.1f} MiB at "
        f"the baseline: over the {tolerance / MIB:.1f} MiB tolerance"
    )
