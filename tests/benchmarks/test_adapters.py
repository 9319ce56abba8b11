"""Smoke test of the adapter overhead benchmark: a tiny run, and a run that must fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import adapters


def _cases(result: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(case["framework"], case["scenario"]): case for case in result["figures"]["cases"]}


@pytest.mark.slow  # a real benchmark run, if a tiny one
def test_quick_run_measures_both_frameworks_streaming(tmp_path: Path) -> None:
    assert adapters.main(["--quick", "--out", str(tmp_path), "--no-plot"]) == 0

    result = json.loads((tmp_path / "adapters.json").read_text())
    assert (tmp_path / "adapters.table.md").is_file()
    assert not (tmp_path / "adapters.png").exists()
    assert result["name"] == "adapters"
    tokens = result["params"]["tokens"]
    answer_tokens = result["params"]["answer_tokens_after_tool"]
    runs = result["params"]["runs"]
    cases = _cases(result)
    assert set(cases) == {
        (framework, scenario)
        for framework in ("DSPy", "Agents SDK")
        for scenario in ("long text", "tool call")
    }
    for case in cases.values():
        assert len(case["raw_cpu_s"]) == len(case["adapter_cpu_s"]) == runs
        assert all(cpu > 0 for cpu in case["raw_cpu_s"] + case["adapter_cpu_s"])
        assert case["raw_median_ms"] > 0
        assert case["adapter_median_ms"] > 0
        assert case["ratio_median"] > 0
        # a text-delta frame for every answer delta the raw loop got, or fewer when the
        # reader lagged and queued deltas of the answer were merged; all the text came
        assert 1 <= case["adapter_text_deltas"] <= case["raw_text_deltas"]
        assert case["adapter_text_chars"] >= case["raw_text_deltas"]

    # the Responses API streams the script's deltas exactly; DSPy's listener may shift
    # a word between chunks at the field's edges
    assert cases["Agents SDK", "long text"]["raw_text_deltas"] == tokens
    assert cases["Agents SDK", "tool call"]["raw_text_deltas"] == answer_tokens
    assert cases["DSPy", "long text"]["raw_text_deltas"] >= tokens - 2
    assert cases["DSPy", "tool call"]["raw_text_deltas"] >= answer_tokens - 2
    for framework in ("DSPy", "Agents SDK"):
        assert cases[framework, "long text"]["raw_tool_results"] == 0
        assert cases[framework, "tool call"]["raw_tool_results"] == 1
        assert cases[framework, "tool call"]["adapter_tool_results"] == 1

    assert {target["limit"] for target in result["targets"]} == {"<= 1.2x CPU"}
    assert len(result["targets"]) == len(cases)


@pytest.mark.slow  # a real benchmark run, if a tiny one
def test_a_run_that_did_not_stream_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_sse_counts = adapters.sse_counts

    def no_text(body: list[bytes]) -> adapters.Counts:  # as if no text-delta frame came
        counts = real_sse_counts(body)
        return adapters.Counts(0, counts.tool_results, counts.deltas)

    monkeypatch.setattr(adapters, "sse_counts", no_text)
    assert adapters.main(["--quick", "--out", str(tmp_path), "--no-plot"]) == 1

    assert (
        "FAILED: DSPy / long text: the adapter sent 0 text-delta frames" in capsys.readouterr().err
    )
    assert not (tmp_path / "adapters.json").exists()
