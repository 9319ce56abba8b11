"""Smoke test of the per-chunk pipeline benchmark (tiny run; the figures mean nothing here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import pipeline


@pytest.mark.slow  # a real benchmark run, if a tiny one
def test_quick_run_reports_every_uiwire_path_against_the_floor(tmp_path: Path) -> None:
    assert pipeline.main(["--quick", "--out", str(tmp_path), "--no-plot"]) == 0

    result = json.loads((tmp_path / "pipeline.json").read_text())
    micros = result["figures"]["us_per_delta"]
    for path in (pipeline.FLOOR, pipeline.PROTOCOL, pipeline.CONTEXT, "json.dumps frame"):
        assert micros[path] > 0
    targets = {t["name"]: t for t in result["targets"]}
    protocol = targets["uiwire protocol layer vs a bare orjson frame"]
    assert protocol["met"] == (micros[pipeline.PROTOCOL] / micros[pipeline.FLOOR] <= 3)
    assert "| uiwire StreamContext |" in (tmp_path / "pipeline.table.md").read_text()


def test_the_protocol_path_produces_a_frame_per_delta() -> None:
    # the same frame per delta as the floor, plus the fixed opening and ending
    extra_for_100 = pipeline.uiwire_protocol(100) - pipeline.orjson_frame(100)
    extra_for_1000 = pipeline.uiwire_protocol(1000) - pipeline.orjson_frame(1000)
    assert extra_for_100 == extra_for_1000 < 400


def test_the_context_path_delivers_queued_deltas_merged() -> None:
    # the work writes every delta before the reader runs: they arrive as one text-delta,
    # so the body grows by the tokens' text only, not by a frame per delta
    frame_per_delta = pipeline.orjson_frame(1000) - pipeline.orjson_frame(100)
    merged = pipeline.uiwire_context(1000) - pipeline.uiwire_context(100)
    assert 0 < merged < frame_per_delta / 3


def test_a_path_that_produces_nothing_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "cases", lambda: {pipeline.FLOOR: lambda n: 0})
    with pytest.raises(RuntimeError, match="produced 0 bytes"):
        pipeline.measure(10, 1)
