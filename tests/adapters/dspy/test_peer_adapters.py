"""DSPy's own adapter scenarios (ChatAdapter, JSONAdapter, XMLAdapter parsing), through
``DSPyAdapter`` (issue 22 item 2).

The scenarios live in ``tests/support/dspy_peer_scenarios.py`` (the JS corpus streams
them too): upstream's completion, parsed by ``adapter.parse`` or returned by a
``DummyLM``, becomes the scripted model's streamed reply to a ``Predict`` of the same
signature. Each body must be valid for v6 and v7 and the client's message must show the
Prediction's text outputs in signature order, unescaped, a ``None`` as nothing and a
default DSPy filled in as DSPy filled it.

Upstream inventory (DSPy 3.3.1's tests, the newest in the stored repository): nearly all
of ``test_chat_adapter.py`` (69), ``test_json_adapter.py`` (38) and
``test_xml_adapter.py`` (27) check the prompt an adapter formats (``format_*``,
``*_formats_*``, system messages, history and tool replay, lm kwargs): nothing of that
streams, so they are left out. The parsing scenarios that decide what a stream shows:

* rebuilt (9): ``test_chat_adapter_fallback_to_json_adapter_on_exception`` (streamed,
  DSPy 3.4.1 does not fall back once a chunk went to the stream, by design: it raises,
  and the client sees a masked error and no text),
  ``test_missing_optional_output_fields_fall_back_to_defaults`` (chat, json, xml),
  ``test_output_field_default_is_overridden_by_lm_response``,
  ``test_xml_adapter_parse_multiple_fields``,
  ``test_xml_adapter_escapes_closing_tags_and_rejects_malformed_xml`` (its escaped
  value; the malformed half is a parse error, as the fallback case),
  ``test_tool_call_with_structured_content_preserves_other_outputs`` (a native call
  beside a text answer), ``test_json_adapter_json_mode_no_structured_outputs`` (a
  Python-dict reply DSPy repairs; the response-format choice is not the stream's);
* left out, structured outputs (their casting and parsing; how a structured field streams, as a
  ``data-output`` part, is ``test_structured_output.py``'s): ``*_casts_types``,
  ``*_typed_dict_*``, ``*_nested_model``, ``*_list_of_models``, ``*_nullable_and_structured_union_*``,
  ``*_with_pydantic_models``, ``*_on_pydantic_model*``, ``*_parses_float_*``, ``tags``
  of ``OptionalOutputSignature``;
* left out, covered elsewhere: native tool calls and ``None`` answers
  (``test_fidelity.py``), native reasoning (``test_adapter.py``), citations
  (``test_fidelity.py``);
* left out, not rebuilt yet: the fallback-flag variants (``*_preserves_native_function_calling_flag``,
  ``*_respects_use_json_adapter_fallback_flag``, async twins), ``*_toolcalls_vague_match``,
  ``*_with_responses_api``, the async twin of the JSON-mode case, the
  missing-required-field errors, ``test_tool_call_with_unstructured_content_does_not_raise``.
"""

from __future__ import annotations

import logging

import dspy
import pytest

from tests.support.dspy_peer_scenarios import ADAPTER_PEER_SCENARIOS, shown, text_outputs
from tests.support.dspy_scenarios import run_scenario
from tests.support.stream_rules import assert_valid_body


@pytest.fixture(autouse=True)
def _quiet_expected_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="uiwire")


@pytest.mark.parametrize("name", list(ADAPTER_PEER_SCENARIOS))
async def test_dspy_adapter_scenario_shows_what_dspy_produced(name: str) -> None:
    case = ADAPTER_PEER_SCENARIOS[name]
    outcome = await run_scenario(case.scenario)
    for target in ("v6", "v7"):
        chunks = assert_valid_body(outcome.body, target)
    assert b"[[ ##" not in outcome.body
    if case.fails_with is not None:
        assert isinstance(outcome.record.exception, case.fails_with), case.upstream
        assert shown(outcome.record.message) == []
        assert [c["type"] for c in chunks if c["type"] == "error"] == ["error"]
        assert len(outcome.requests) == 1  # DSPy asked once: no fallback call
        return
    assert outcome.record.exception is None, repr(outcome.record.exception)
    expected = text_outputs(outcome.result, case.text_fields)
    if isinstance(calls := getattr(outcome.result, "tool_calls", None), dspy.ToolCalls):
        # native calls the program did not run: shown waiting for their output
        expected += [
            ("tool", call.name, call.args, "input-available", None) for call in calls.tool_calls
        ]
    assert shown(outcome.record.message) == expected, case.upstream
