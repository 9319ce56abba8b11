"""Smoke test of the end-to-end loopback benchmark: real uvicorn processes and the load
generator on 127.0.0.1, a handful of streams (the figures mean nothing at this size)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from benchmarks.loopback import __main__ as loopback
from benchmarks.loopback.loadgen import ChatStream


@pytest.mark.slow  # uvicorn processes and the load generator, a tiny run
def test_quick_run_serves_every_stream_of_every_app(tmp_path: Path) -> None:
    assert loopback.main(["--quick", "--out", str(tmp_path), "--no-plot"]) == 0

    result = json.loads((tmp_path / "loopback.json").read_text())
    runs = {run["app"]: run for run in result["figures"]["runs"]}
    assert {"uiwire", "handwritten"} <= set(runs)
    for run in runs.values():
        assert run["completed"] == run["streams"]
        assert run["chunks_received"] == run["chunks_expected"] > 0
        assert 0 <= run["delay_p50_ms"] <= run["delay_p99_ms"]
        assert run["cpu_ms_per_1000_chunks"] > 0
    capacity = result["figures"]["capacity"]
    assert {"uiwire", "handwritten"} <= set(capacity)
    for found in capacity.values():
        assert found["probes"]
        assert found["streams"] in {0, *(p["streams"] for p in found["probes"] if p["met"])}


async def test_the_load_generator_reads_delays_and_notices_a_cut_stream() -> None:
    finished: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    delays: list[int] = []
    stream = ChatStream(b"", delays, finished)
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n"
    frame = b'data: {"type":"text-delta","id":"t1","delta":"1000 "}\n\n'
    stream.data_received(head + frame[:20])  # a frame split across reads counts once
    stream.data_received(frame[20:] + frame)
    stream.connection_lost(None)  # no [DONE]

    assert stream.chunks == 2
    assert len(delays) == 2
    assert (await finished).startswith("ended early")


async def test_the_load_generator_counts_every_token_of_a_merged_delta() -> None:
    finished: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    delays: list[int] = []
    stream = ChatStream(b"", delays, finished)
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n"
    merged = b'data: {"type":"text-delta","id":"t1","delta":"1000 2000 3000 "}\n\n'
    stream.data_received(head + merged + b"data: [DONE]\n\n")
    stream.connection_lost(None)

    assert stream.chunks == 3
    assert delays[0] - delays[1] == 1000  # each token's own due time
    assert await finished == "ok"


async def test_the_load_generator_refuses_an_error_status() -> None:
    finished: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    stream = ChatStream(b"", [], finished)
    stream.data_received(b"HTTP/1.1 422 Unprocessable Entity\r\n\r\n{}")
    assert (await finished).startswith("status HTTP/1.1 422")
