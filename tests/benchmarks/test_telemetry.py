"""Smoke test of the telemetry benchmark: real uvicorn processes and the load generator on
127.0.0.1, a handful of streams with Telemetry off and on (the figures mean nothing at
this size)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import telemetry


@pytest.mark.slow  # uvicorn processes and the load generator, a tiny run
def test_quick_run_streams_with_telemetry_off_and_on(tmp_path: Path) -> None:
    assert telemetry.main(["--quick", "--out", str(tmp_path)]) == 0

    result = json.loads((tmp_path / "telemetry.json").read_text())
    runs = {run["app"]: run for run in result["figures"]["runs"]}
    assert set(runs) == set(telemetry.APPS)
    for run in runs.values():
        assert run["completed"] == run["streams"] == 4
        assert run["chunks_received"] == run["chunks_expected"] == 40
    assert result["figures"]["in_process"]["turn_us"] > 0
    assert result["figures"]["in_process"]["batch_ns"] > 0
    table = (tmp_path / "telemetry.table.md").read_text()
    assert "| Telemetry on, no-op exporter |" in table
