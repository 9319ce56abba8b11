"""Smoke test of the resumable-streams benchmark: real uvicorn processes, the load
generator and a real redis-server on 127.0.0.1, a handful of streams (the figures mean
nothing at this size)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import resumable


@pytest.mark.slow  # uvicorn processes, the load generator and redis-server, a tiny run
def test_quick_run_streams_through_every_store_and_reports_redis(tmp_path: Path) -> None:
    assert resumable.main(["--quick", "--out", str(tmp_path)]) == 0

    result = json.loads((tmp_path / "resumable.json").read_text())
    runs = {run["app"]: run for run in result["figures"]["runs"]}
    assert set(runs) == set(resumable.APPS)
    for run in runs.values():
        assert run["completed"] == run["streams"] == 4
        assert run["chunks_received"] == run["chunks_expected"] == 40
        assert run["cpu_ms_per_1000_chunks"] > 0
    # only the Redis store's worker talks to Redis (the watcher's own connection aside)
    assert runs["uiwire-redis-store"]["redis_peak_clients"] >= 1
    assert runs["uiwire-memory-store"]["redis_peak_clients"] == 0
    table = (tmp_path / "resumable.table.md").read_text()
    assert "| RedisStreamStore |" in table
    assert "on Redis at 4 streams" in table
