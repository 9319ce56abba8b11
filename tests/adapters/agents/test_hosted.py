"""Hosted tools, annotations and provider failures from a scripted Responses API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.agents_http import close_clients, http_agent
from tests.support.agents_scenarios import PNG, hosted_tools_run, run_agent
from tests.support.fake_llm import FakeLLM, Reply
from tests.support.stream_rules import assert_valid_body


@pytest.fixture(autouse=True)
async def _close() -> AsyncIterator[None]:
    yield
    await close_clients()


async def test_hosted_tools_are_provider_executed_parts_with_their_results() -> None:
    outcome = await hosted_tools_run()
    chunks = assert_valid_body(outcome.body)
    parts = {p.get("toolCallId"): p for p in outcome.record.message["parts"] if "toolCallId" in p}
    assert {k: (p["type"], p["state"]) for k, p in parts.items()} == {
        "ws_1": ("tool-web_search", "output-available"),
        "fs_1": ("tool-file_search", "output-available"),
        "ci_1": ("tool-code_interpreter", "output-available"),
        "ig_1": ("tool-image_generation", "output-available"),
        "mcp_1": ("dynamic-tool", "output-available"),
        "mcp_2": ("dynamic-tool", "output-error"),
    }
    assert all(p["providerExecuted"] for p in parts.values())
    assert parts["ws_1"]["input"] == {"type": "search", "query": "weather Paris"}
    assert parts["fs_1"]["input"] == {"queries": ["refund policy"]}
    assert parts["fs_1"]["output"]["results"][0]["text"] == "30 days"
    assert parts["ci_1"]["input"] == {"code": "print(6 * 7)", "containerId": "cntr_1"}
    assert parts["ci_1"]["output"]["outputs"] == [{"type": "logs", "logs": "42"}]
    assert (parts["mcp_1"]["toolName"], parts["mcp_1"]["input"]) == ("lookup_order", {"order": 7})
    assert parts["mcp_1"]["output"] == "shipped"
    assert parts["mcp_2"]["errorText"] == "permission denied by the shop"
    (image,) = [p for p in outcome.record.message["parts"] if p["type"] == "file"]
    assert image == {
        "type": "file",
        "mediaType": "image/png",
        "url": f"data:image/png;base64,{PNG}",
    }
    sources = [c for c in chunks if c["type"].startswith("source-")]
    assert [s["type"] for s in sources] == ["source-url", "source-document"]
    assert sources[0]["url"] == "https://weather.example/paris"
    assert (sources[1]["title"], sources[1]["mediaType"]) == ("policy.pdf", "application/pdf")
    assert outcome.record.text == "Sunny. Refunds: 30 days."
    # the listing is bookkeeping, not a tool call
    assert "mcpl_1" not in parts


async def test_a_failed_response_ends_as_a_masked_error_after_what_streamed() -> None:
    with FakeLLM([Reply(text="Partial answer", fail=True)]) as llm:
        outcome = await run_agent(http_agent(llm))
    chunks = assert_valid_body(outcome.body)
    assert outcome.record.text == "Partial answer"
    assert chunks[-1] == {"type": "error", "errorText": "An error occurred."}


async def test_a_truncated_model_stream_ends_as_a_masked_error() -> None:
    with FakeLLM([Reply(text="Cut short by the network", cut_after=6)]) as llm:
        outcome = await run_agent(http_agent(llm))
    chunks = assert_valid_body(outcome.body)
    assert chunks[-1] == {"type": "error", "errorText": "An error occurred."}
    assert type(outcome.record.exception).__name__ == "ModelBehaviorError"


async def test_an_http_error_from_the_provider_ends_as_a_masked_error() -> None:
    with FakeLLM([Reply(status=500)]) as llm:
        outcome = await run_agent(http_agent(llm))
    chunks = assert_valid_body(outcome.body)
    assert [c["type"] for c in chunks][-1] == "error"
    assert b"scripted failure" not in outcome.body
