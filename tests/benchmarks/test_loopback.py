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
    assert result["params"]["workers"] == [1, 2]
    runs = {run["app"]: run for run in result["figures"]["runs"]}
    assert {"uiwire", "handwritten"} <= set(runs)
    for run in runs.values():
        assert run["workers"] == 1
        assert run["completed"] == run["streams"]
        assert run["chunks_received"] == run["chunks_expected"] > 0
        assert 0 <= run["delay_p50_ms"] <= run["delay_p99_ms"]
        assert run["cpu_ms_per_1000_chunks"] > 0
        assert run["requests_per_worker"] == [run["streams"]]
        assert run["loadgen_cpu_ms_per_1000_chunks"] > 0
    capacity = result["figures"]["capacity"]
    assert {"uiwire", "handwritten"} <= set(capacity)
    for per_workers in capacity.values():
        assert set(per_workers) == {"1", "2"}
        for found in per_workers.values():
            assert found["probes"]
            assert found["streams"] in {0, *(p["streams"] for p in found["probes"] if p["met"])}
        # the two workers' search starts where one worker's ended
        assert per_workers["2"]["probes"][0]["streams"] >= per_workers["1"]["streams"]
    table = (tmp_path / "loopback.table.md").read_text()
    assert "| uiwire ChatEndpoint | 2 |" in table


@pytest.mark.slow  # two uvicorn workers and the load generator, a tiny run
def test_two_workers_are_measured_together(tmp_path: Path) -> None:
    # enough streams that the kernel hands each worker some: the figures are the sum of
    # both processes' (CPU, RSS, requests), not those of whichever answered
    one = loopback.measure("handwritten", 24, 5, 20.0, 0.3, workers=1)
    two = loopback.measure("handwritten", 24, 5, 20.0, 0.3, workers=2)

    assert one["requests_per_worker"] == [24]
    assert len(two["requests_per_worker"]) == 2
    assert sum(two["requests_per_worker"]) == 24
    assert two["chunks_received"] == two["chunks_expected"] == 24 * 5
    # two idle processes take about twice the memory of one
    assert two["rss_idle_mib"] > 1.5 * one["rss_idle_mib"]
    assert two["cpu_ms_per_1000_chunks"] > 0
    assert one["supervisor_cpu_seconds"] == 0  # no supervisor with one worker


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
