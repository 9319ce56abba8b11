"""DSPy's own streaming scenarios, through ``DSPyAdapter`` (issue 22 item 2).

Each case rebuilds one test of DSPy's ``tests/streaming/test_streaming.py`` (named in
``UPSTREAM``): the same program, signature, adapter and model reply, answered by the
scripted model server instead of a mocked ``litellm.acompletion`` (upstream's token
splits become fixed-size pieces). The body must be valid, and the message the client
assembles must show what DSPy produced: each listened field's text exactly as the
Prediction (or, for an earlier predictor, the model's reply) holds it, nothing lost,
doubled or reordered, no markup of DSPy's.

Left out of that module, and why:

* ``test_streaming_response_yields_expected_response_chunks``: ``streaming_response``,
  DSPy's legacy SSE helper, which the adapter replaces;
* ``test_sync_streaming``, ``test_sync_status_streaming``: streamify's sync generator;
  the adapter reads the async one;
* ``test_status_message_non_blocking`` (both): timing of DSPy's own status sends, which
  the adapter replaces by its bridge (``test_no_deadlock.py`` covers that);
* ``test_stream_listener_could_form_end_identifier_*`` (three): unit tests of the
  listener's buffer;
* ``test_streaming_allows_custom_chunk_types``: its program has no predictor, which the
  adapter refuses (nothing could stream).

``test_concurrent_status_message_providers`` is its own test below (two adapters
streaming at once, each with its own status provider).

Rebuilt elsewhere: the seven structured-output cases (``*_pydantic_*``,
``*_generic_type_*``, ``*_mixed_fields_*``, ``*_bracket_balance_*``,
``*_multiple_fields_*``), which stream as ``data-output`` parts
(``test_structured_output.py``); the custom streamable type and the citations
(``test_fidelity.py``), the async program's status messages (``test_fidelity.py``),
native reasoning (``test_adapter.py``).
"""

from __future__ import annotations

import asyncio
import logging

import dspy
import pytest

from tests.support.dspy_peer_streaming import (
    CASES,
    UPSTREAM,
    ProviderStatus,
    QuestionFromTool,
    scenario_of,
)
from tests.support.dspy_scenarios import Scenario, run_scenario
from tests.support.fake_llm import Reply, chat
from tests.support.stream_rules import assert_valid_body


@pytest.fixture(autouse=True)
def _quiet_expected_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="uiwire")


@pytest.mark.parametrize("name", list(CASES))
async def test_dspy_streaming_scenario_shows_what_dspy_produced(name: str) -> None:
    case = CASES[name]
    outcome = await run_scenario(scenario_of(case))
    for target in ("v6", "v7"):
        chunks = assert_valid_body(outcome.body, target)
    assert outcome.record.exception is None, repr(outcome.record.exception)
    shown = [
        (part["type"], part["text"])
        for part in outcome.record.message["parts"]
        if part["type"] in ("text", "reasoning")
    ]
    assert shown == case.expected(outcome.result), f"{UPSTREAM}::{case.upstream}"
    assert b"[[ ##" not in outcome.body
    if case.statuses is not None:
        sent = tuple(c["data"]["message"] for c in chunks if c["type"] == "data-status")
        assert sent == case.statuses


async def test_concurrent_status_providers_each_show_their_own() -> None:
    """Upstream ``test_concurrent_status_message_providers``: two programs stream at
    once, each adapter with its own status provider; each body carries its own three
    statuses, in order, and DSPy's global callbacks are left as they were."""
    callbacks_before = list(dspy.settings.callbacks)

    def scenario(name: str, answer: str, thing: str) -> Scenario:
        return Scenario(
            QuestionFromTool,
            [Reply(chat(answer=answer))],
            {"x": thing},
            adapter={"status": ProviderStatus(name)},
        )

    outcomes = await asyncio.gather(
        run_scenario(scenario("Provider1", "red", "sky")),
        run_scenario(scenario("Provider2", "blue", "ocean")),
    )
    for name, answer, outcome in zip(
        ("Provider1", "Provider2"), ("red", "blue"), outcomes, strict=True
    ):
        chunks = assert_valid_body(outcome.body, "v6")
        assert outcome.record.exception is None, repr(outcome.record.exception)
        sent = [c["data"]["message"] for c in chunks if c["type"] == "data-status"]
        assert sent == [
            f"{name}: Tool starting!",
            f"{name}: Tool finished!",
            f"{name}: Predict starting!",
        ], f"{UPSTREAM}::test_concurrent_status_message_providers"
        texts = [p["text"] for p in outcome.record.message["parts"] if p["type"] == "text"]
        assert texts == [outcome.result.answer] == [answer]
    assert dspy.settings.callbacks == callbacks_before
