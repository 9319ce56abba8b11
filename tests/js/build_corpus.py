"""Build the JS conformance corpus: streams produced by uiwire, with Python's verdicts.

Usage: ``python -m tests.js.build_corpus OUT.jsonl [--random N]``

Each case carries the SSE body and, per SDK that must accept it, what the Python port
of the client (``uiwire.protocol.validate``) concluded: the assembled message, or the
first violation. The JS suite (``conformance.test.mjs``) runs the real ``ai`` package
over the same bodies and must agree exactly. The families:

* scenarios: hand-written intent sequences covering every chunk type and rule, per target;
* continuations: a second response continuing the first's assistant message (approvals,
  client-side tool results, and seeded random ones), checked with that message passed
  to the client;
* replay: what a resumable store keeps for each continuation (the machine's, the random
  ones and the Agents SDK round trips): ``message_chunks`` of the continued message, then
  the continuation's bytes, checked with no message (a resumed client starts from
  nothing); Python asserts it ends where the continuation does;
* random: seeded random legal intent sequences (``tests.support.intent_driver``);
* context: the push-API scenarios, bodies exactly as ``StreamContext`` streamed them;
* dspy: real DSPy programs through ``DSPyAdapter`` (a scripted model on loopback), one
  of each kind: Predict, ChainOfThought, ReAct, failing tools, native reasoning and tool
  calls, cache hits, model errors, ``dspy.Parallel``; and DSPy's own ReAct, ReActV2,
  ChainOfThought and adapter-parsing scenarios (``dspy/peer/*``), and its
  ``tests/streaming`` scenarios (``dspy/peer-streaming/*``);
* agents: real Agents SDK runs through ``AgentsAdapter`` (the SDK's scripted model, and
  a scripted Responses API on loopback for hosted tools): text, reasoning, tools and
  their failures (a tool's own failure function, a crashing MCP server, a cancelled
  tool), an MCP tool with a title, handoffs (to agents and through ``handoff()``
  objects), agents as tools, tool progress, refusals, run errors, answers
  recovered by ``error_handlers``, a model without ``response.created``, a final response
  that differs from the stream, an output guardrail tripping after
  ``stop_on_first_tool``, a hosted MCP call approved and resumed, approvals inside an agent used as a tool,
  and an
  approval paused then resumed (approved and denied) into the same message, and a
  client-side tool answered by the browser, resumed the same way;
* agents-peer: the Agents SDK's own streaming test scenarios rebuilt for the peer suite
  (``tests/support/agents_peer_*.py``), for AI SDK 6 and 7 streams;
* invalid: hand-made bodies that break one client rule each, where Python and JS must
  name the same first offending event;
* partial-json: structured outputs (``StructuredOutput``) streamed from the JSON texts of
  the structured-output scenarios and a few hard ones; each case also lists every
  prefix of its text with what uiwire's partial-JSON port makes of it per client
  (``partialJson``), which the JS suite compares with that client's own
  ``parsePartialJson``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tests.support.agents_peer_features import PEERS as AGENTS_FEATURE_PEERS
from tests.support.agents_peer_runs import PEERS as AGENTS_RUN_PEERS
from tests.support.agents_peers import run_peer
from tests.support.agents_scenarios import SCENARIOS as AGENTS_SCENARIOS
from tests.support.agents_scenarios import (
    WEATHER_REPORT_JSON,
    approval_round_trip,
    approved_mcp_call,
    client_tool_round_trip,
    hosted_mcp_round_trip,
    hosted_tools_run,
    nested_approval_rounds,
    pieces,
)
from tests.support.agents_scenarios import run_scenario as run_agents_scenario
from tests.support.context_scenarios import SCENARIOS as CONTEXT_SCENARIOS
from tests.support.context_scenarios import capture
from tests.support.dspy_peer_scenarios import ADAPTER_PEER_SCENARIOS, PEER_SCENARIOS
from tests.support.dspy_peer_streaming import CASES as STREAMING_PEER_CASES
from tests.support.dspy_peer_streaming import scenario_of
from tests.support.dspy_scenarios import SCENARIOS as DSPY_SCENARIOS
from tests.support.dspy_scenarios import run_scenario
from tests.support.intent_driver import PAYLOADS, IntentDriver, drive
from tests.support.stream_rules import check_lifecycle
from uiwire.protocol._partial_json import parse_partial_json
from uiwire.protocol.encode import DONE_FRAME, encode_chunks
from uiwire.protocol.machine import Chunk, StreamMachine
from uiwire.protocol.replay import message_chunks
from uiwire.protocol.targets import TARGETS, Target
from uiwire.protocol.ui_message import as_ui_message
from uiwire.protocol.validate import check_stream
from uiwire.stream import MessageBuilder, StructuredOutput

# Which client majors must accept a stream written for each target. A v6 stream is also
# checked on ai7: users upgrade their frontend before their backend.
SDKS_FOR_TARGET: dict[Target, list[tuple[str, Target]]] = {
    "v5": [("ai5", "v5")],
    "v6": [("ai6", "v6"), ("ai7", "v7")],
    "v7": [("ai7", "v7")],
}

Scenario = Callable[[StreamMachine], None]


def _body(chunks: list[Chunk]) -> str:
    return (encode_chunks(chunks) + DONE_FRAME).decode()


def _expect(body: str, target: Target, message: dict[str, Any] | None) -> dict[str, Any]:
    report = check_stream(body, target=target, message=message)
    if report.violation is None:
        return {
            "valid": True,
            "message": report.message,
            "finishReason": report.finish_reason,
            "errorTexts": report.error_texts,
        }
    v = report.violation
    return {
        "valid": False,
        "violation": {
            "index": v.index,
            "kind": v.kind,
            "chunkType": v.chunk_type,
            "chunkId": v.chunk_id,
        },
    }


def valid_case(
    name: str, target: Target, chunks: list[Chunk], message: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A stream uiwire produced: Python must find it valid for every SDK that checks it."""
    check_lifecycle(chunks)
    return valid_body_case(name, target, _body(chunks), message)


def valid_body_case(
    name: str, target: Target, body: str, message: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Like ``valid_case``, for a body exactly as a server sent it (comments and all)."""
    checks = []
    for sdk, sdk_target in SDKS_FOR_TARGET[target]:
        expect = _expect(body, sdk_target, message)
        if not expect["valid"]:
            raise AssertionError(
                f"{name}: uiwire emitted a stream Python rejects for {sdk}: {expect}"
            )
        checks.append({"sdk": sdk, "message": message, "expect": expect})
    return {"name": f"{name} [{target}]", "sse": body, "checks": checks}


# --- scenarios -------------------------------------------------------------------------


def s_text(m: StreamMachine) -> None:
    m.text_delta("Hello")
    m.text_delta(", world")
    m.finish("stop")


def s_reasoning_then_text(m: StreamMachine) -> None:
    m.reasoning_delta("Let me think", provider_metadata={"anthropic": {"signature": "abc"}})
    m.reasoning_delta(" about it.")
    m.text_delta("The answer is 42.")
    m.finish("stop", metadata={"usage": {"inputTokens": 10, "outputTokens": 5}})


def s_tool_round_trip(m: StreamMachine) -> None:
    m.text_delta("Checking the weather.")
    m.tool_input_start("call_1", "weather")
    for piece in ['{"ci', 'ty": "Pa', 'ris"}']:
        m.tool_input_delta("call_1", piece)
    m.tool_input_available("call_1", {"city": "Paris"})
    m.tool_output_available("call_1", {"temperature": 21, "unit": "C"})
    m.finish_step()
    m.text_delta("It is 21°C in Paris.")
    m.finish("stop")


def s_tool_without_deltas(m: StreamMachine) -> None:
    m.tool_input_available(
        "call_1",
        {"q": "uiwire"},
        tool_name="search",
        provider_metadata={"openai": {"itemId": "fc_1"}},
    )
    m.tool_output_available("call_1", [{"title": "uiwire", "url": "https://example.com"}])
    m.finish("tool-calls")


def s_tool_errors(m: StreamMachine) -> None:
    m.tool_input_start("call_1", "calculator")
    m.tool_input_delta("call_1", '{"expr": ')
    m.tool_input_error("call_1", '{"expr": ', "Invalid JSON in tool arguments.")
    m.tool_input_available("call_2", {"expr": "1/0"}, tool_name="calculator")
    m.tool_output_error("call_2", "Division by zero.")
    m.finish("stop")


def s_preliminary_output(m: StreamMachine) -> None:
    m.tool_input_available("call_1", {"topic": "rivers"}, tool_name="research", dynamic=True)
    m.tool_output_available("call_1", {"status": "searching"}, preliminary=True, dynamic=True)
    m.tool_output_available(
        "call_1", {"status": "reading", "found": 3}, preliminary=True, dynamic=True
    )
    m.tool_output_available("call_1", {"summary": "Rivers flow."}, dynamic=True)
    m.finish("stop")


def s_provider_executed(m: StreamMachine) -> None:
    m.tool_input_start("ws_1", "web_search", provider_executed=True)
    m.tool_input_available("ws_1", {"query": "uiwire"}, provider_executed=True)
    m.tool_output_available("ws_1", {"results": 3}, provider_executed=True)
    m.source_url("src_1", "https://example.com/a", title="Result A")
    m.text_delta("Found it.")
    m.finish("stop")


def s_sources_files(m: StreamMachine) -> None:
    m.text_delta("See the attachments.")
    m.source_url(
        "s1",
        "https://example.com/page",
        title="A page",
        provider_metadata={"perplexity": {"rank": 1}},
    )
    m.source_document("s2", "application/pdf", "Annual report", filename="report.pdf")
    m.file("data:image/png;base64,iVBORw0KGgo=", "image/png")
    m.text_delta("Done.")
    m.finish("stop")


def s_data_parts(m: StreamMachine) -> None:
    m.data("status", {"phase": "searching"}, transient=True)
    m.data("progress", {"pct": 10}, id="p1")
    m.text_delta("Working")
    m.data("progress", {"pct": 60}, id="p1")
    m.text_delta(" on it")
    m.data("progress", {"pct": 100}, id="p1")
    m.data("table", [[1, 2], [3, 4]])
    m.data("table", None)
    m.finish("stop")


def s_metadata(m: StreamMachine) -> None:
    m.start(metadata={"model": "gpt-test", "createdAt": 1})
    m.text_delta("Hi")
    m.message_metadata({"usage": {"inputTokens": 3}})
    m.message_metadata({"usage": {"outputTokens": 2}})
    m.finish("stop", metadata={"finishedAt": 2})


def s_abort(m: StreamMachine) -> None:
    m.reasoning_delta("Thinking")
    m.text_delta("Partial ans")
    m.tool_input_start("call_1", "search")
    m.tool_input_delta("call_1", '{"q":')
    m.abort("The client asked to stop." if m.target != "v5" else None)


def s_error_mid_stream(m: StreamMachine) -> None:
    m.text_delta("Starting")
    m.tool_input_start("call_1", "search")
    m.error("An error occurred.")


def s_error_first(m: StreamMachine) -> None:
    m.error("An error occurred.")


def s_finish_only(m: StreamMachine) -> None:
    m.finish()


def s_interleaved_keys(m: StreamMachine) -> None:
    # DSPy-style: two fields of one predictor stream at once, each its own part
    m.reasoning_delta("step 1", key=("predict", "reasoning"))
    m.text_delta("Ans", key=("predict", "answer"))
    m.reasoning_delta(", step 2", key=("predict", "reasoning"))
    m.text_delta("wer", key=("predict", "answer"))
    m.reasoning_end(key=("predict", "reasoning"))
    m.text_delta("!", key=("predict", "answer"))
    m.finish_step()
    m.text_delta("Second step text")
    m.finish("stop")


def s_many_steps(m: StreamMachine) -> None:
    for step in range(4):
        m.reasoning_delta(f"plan {step}")
        m.tool_input_available(f"call_{step}", {"n": step}, tool_name="counter")
        m.tool_output_available(f"call_{step}", step * 2)
        m.finish_step()
    m.text_delta("Counted.")
    m.finish("stop")


def s_raw_send(m: StreamMachine) -> None:
    from uiwire.protocol.chunks import TextDeltaChunk, TextEndChunk, TextStartChunk

    m.send(TextStartChunk(id="custom-text"))
    m.send(TextDeltaChunk(id="custom-text", delta="raw path"))
    m.send({"type": "text-end", "id": "custom-text"})
    m.send({"type": "tool-input-available", "toolCallId": "c1", "toolName": "t", "input": {}})
    m.send({"type": "tool-output-available", "toolCallId": "c1", "output": None})
    m.send({"type": "data-note", "id": "n1", "data": {"x": 1}})
    m.send(TextStartChunk(id="t1"))
    m.send(TextEndChunk(id="t1"))
    m.send({"type": "finish-step"})
    m.send({"type": "finish", "finishReason": "stop"})


def s_approval_request(m: StreamMachine) -> None:
    m.text_delta("I need your permission.")
    m.tool_input_available("call_pay", {"amount": 5}, tool_name="pay")
    m.tool_approval_request("call_pay", "appr_1", signature="sig-1")
    m.tool_input_available("call_del", {"path": "/tmp"}, tool_name="delete")
    m.tool_approval_request("call_del", "appr_2")
    m.finish("tool-calls")


def s_v7_extras(m: StreamMachine) -> None:
    m.reasoning_delta("thinking")
    m.reasoning_file("data:image/png;base64,AA==", "image/png")
    m.custom("openai.compaction", provider_metadata={"openai": {"id": "c1"}})
    m.text_delta("Rivers are long.")
    m.text_end(
        citations=[
            {
                "source": {
                    "type": "source",
                    "sourceType": "url",
                    "id": "s1",
                    "url": "https://example.com",
                },
                "startIndex": 0,
                "endIndex": 6,
                "citedText": "Rivers",
            }
        ]
    )
    m.finish_step()
    m.steering_message("steer_1", [{"type": "text", "text": "Also mention lakes."}])
    m.tool_input_available("call_1", {"amount": 1}, tool_name="pay")
    m.tool_approval_request("call_1", "a1", reason="Spends money", is_automatic=True)
    m.tool_approval_response("a1", False, reason="Over budget")
    m.tool_output_denied("call_1")
    m.tool_input_available("call_2", {"amount": 0}, tool_name="pay")
    m.tool_approval_request("call_2", "a2", is_automatic=True)
    m.tool_approval_response("a2", True)
    m.tool_output_available("call_2", {"paid": 0})
    m.finish("interrupted")


def s_v7_reset_step(m: StreamMachine) -> None:
    m.text_delta("A draft that will be discarded")
    m.tool_input_start("call_1", "search")
    m.reset_step()
    m.text_delta("The real answer.")
    m.finish("stop")


SCENARIOS: dict[str, tuple[Scenario, tuple[Target, ...]]] = {
    "text": (s_text, ("v5", "v6", "v7")),
    "reasoning-then-text": (s_reasoning_then_text, ("v5", "v6", "v7")),
    "tool-round-trip": (s_tool_round_trip, ("v5", "v6", "v7")),
    "tool-without-deltas": (s_tool_without_deltas, ("v5", "v6", "v7")),
    "tool-errors": (s_tool_errors, ("v5", "v6", "v7")),
    "preliminary-output": (s_preliminary_output, ("v5", "v6", "v7")),
    "provider-executed": (s_provider_executed, ("v5", "v6", "v7")),
    "sources-files": (s_sources_files, ("v5", "v6", "v7")),
    "data-parts": (s_data_parts, ("v5", "v6", "v7")),
    "metadata": (s_metadata, ("v5", "v6", "v7")),
    "abort": (s_abort, ("v5", "v6", "v7")),
    "error-mid-stream": (s_error_mid_stream, ("v5", "v6", "v7")),
    "error-first": (s_error_first, ("v5", "v6", "v7")),
    "finish-only": (s_finish_only, ("v5", "v6", "v7")),
    "interleaved-keys": (s_interleaved_keys, ("v5", "v6", "v7")),
    "many-steps": (s_many_steps, ("v5", "v6", "v7")),
    "raw-send": (s_raw_send, ("v5", "v6", "v7")),
    "approval-request": (s_approval_request, ("v6", "v7")),
    "v7-extras": (s_v7_extras, ("v7",)),
    "v7-reset-step": (s_v7_reset_step, ("v7",)),
}


def scenario_cases() -> Iterator[dict[str, Any]]:
    for name, (scenario, targets) in SCENARIOS.items():
        for target in targets:
            machine = StreamMachine(message_id=f"msg-{name}", target=target)
            chunks: list[Chunk] = []
            _record(machine, chunks, scenario)
            yield valid_case(f"scenario/{name}", target, chunks)


def _record(machine: StreamMachine, sink: list[Chunk], scenario: Scenario) -> None:
    """Run ``scenario`` with every intent's chunks collected into ``sink``."""

    class Recorder:
        def __getattr__(self, name: str) -> Any:
            attr = getattr(machine, name)
            if not callable(attr):
                return attr

            def call(*args: Any, **kwargs: Any) -> Any:
                result = attr(*args, **kwargs)
                if isinstance(result, list):
                    sink.extend(result)  # pyright: ignore[reportUnknownArgumentType]
                return result

            return call

    scenario(Recorder())  # type: ignore[arg-type]


# --- continuations -------------------------------------------------------------------


def _first_response(target: Target, scenario: Scenario, message_id: str) -> dict[str, Any]:
    machine = StreamMachine(message_id=message_id, target=target)
    chunks: list[Chunk] = []
    _record(machine, chunks, scenario)
    return check_stream(_body(chunks), target=target).message


def continuation_inputs() -> Iterator[tuple[str, Target, dict[str, Any], list[Chunk]]]:
    """``(name, target, continued message, continuation chunks)`` of each continuation."""
    for target in ("v6", "v7"):
        # the user answered both approvals: one approved, one denied (as useChat sends it)
        message = _first_response(target, s_approval_request, "msg-approval")
        for part in message["parts"]:
            if part.get("state") == "approval-requested":
                approved = part["toolCallId"] == "call_pay"
                part["state"] = "approval-responded"
                part["approval"] = {**part["approval"], "approved": approved}
                if not approved:
                    part["approval"]["reason"] = "Not today"
        machine = StreamMachine(target=target, continued_message=message)
        chunks: list[Chunk] = []
        chunks += machine.tool_output_available("call_pay", {"paid": 5})
        chunks += machine.tool_output_denied("call_del")
        chunks += machine.text_delta("Paid 5; I did not delete anything.")
        chunks += machine.finish("stop")
        yield "approvals", target, message, chunks

    for target in TARGETS:
        # a client-side tool: the browser ran it and sent the output back
        def ask_location(m: StreamMachine) -> None:
            m.text_delta("Where are you?")
            m.tool_input_available("call_loc", {}, tool_name="getLocation")
            m.finish("tool-calls")

        message = _first_response(target, ask_location, "msg-client-tool")
        for part in message["parts"]:
            if part.get("toolCallId") == "call_loc":
                part["state"] = "output-available"
                part["output"] = {"city": "Berlin"}
        machine = StreamMachine(target=target, continued_message=message)
        chunks = machine.text_delta("You are in Berlin.") + machine.finish("stop")
        yield "client-tool", target, message, chunks


def continuation_cases(random_count: int) -> Iterator[dict[str, Any]]:
    for name, target, message, chunks in continuation_inputs():
        yield valid_case(f"continuation/{name}", target, chunks, message)
    for seed in range(random_count):
        for target in TARGETS:
            message, chunks = random_continuation(seed, target)
            yield valid_case(f"continuation/random/{seed}", target, chunks, message)


def random_continuation(seed: int, target: Target) -> tuple[dict[str, Any], list[Chunk]]:
    """A seeded random first response, answered by the client, and its continuation.

    The first response may be cut short (the client kept what it got); the client then
    edits the message as ``useChat`` does: ``addToolApprovalResponse`` on approval
    requests, ``addToolOutput`` (output or error) on client-side calls. The continuation
    is random legal intents on a machine continuing that message, its calls included.

    The message must be one a server takes (``UIMessage``, as the SDK's
    ``validateUIMessages``): a first response that leaves the client holding anything
    else (a call denied without an answered approval) is drawn again.
    """
    rng = random.Random(f"continuation-{seed}-{target}")
    while True:
        first, message = _answered_first_response(rng, seed, target)
        try:
            as_ui_message(message)
        except ValidationError:
            continue
        break
    machine = StreamMachine(target=target, continued_message=message)
    driver = IntentDriver(machine, rng.choice)
    driver._counter = first._counter  # new ids must not reuse the continued message's
    for part in message["parts"]:
        if "toolCallId" in part:
            driver._tool_ids.append(part["toolCallId"])
            approval = part.get("approval")
            if part.get("state") == "approval-requested":
                driver._approvals[approval["id"]] = part["toolCallId"]
    for _ in range(rng.randint(0, 12)):
        driver.step()
    driver.end()
    return message, driver.chunks


def _answered_first_response(
    rng: random.Random, seed: int, target: Target
) -> tuple[IntentDriver, dict[str, Any]]:
    first = drive(
        StreamMachine(message_id=f"msg-cont-{seed}", target=target),
        rng.choice,
        steps=rng.randint(1, 30),
    )
    chunks = first.chunks
    if rng.random() < 0.3:
        chunks = chunks[: rng.randint(1, len(chunks))]
    message = check_stream(_body(chunks), target=target).message
    for index, part in enumerate(message["parts"]):
        state = part.get("state")
        if state == "approval-requested" and rng.random() < 0.8:
            approval = {**part["approval"], "approved": rng.choice([True, False])}
            if rng.random() < 0.5:
                approval["reason"] = "Because."
            message["parts"][index] = {**part, "state": "approval-responded", "approval": approval}
        elif state == "input-available" and not part.get("providerExecuted") and rng.random() < 0.8:
            answered = {k: v for k, v in part.items() if k not in ("output", "errorText")}
            if rng.random() < 0.7:
                answered.update(state="output-available", output=rng.choice(PAYLOADS))
            else:
                answered.update(state="output-error", errorText="The browser could not do it.")
            message["parts"][index] = answered
    return first, message


# --- replay: a continuation's stored replay, read from nothing ----------------------


def replay_expectation(message: dict[str, Any], target: Target) -> dict[str, Any]:
    """``message`` as a replay for ``target`` rebuilds it: exact, except on v6, where no
    chunk says what ``addToolApprovalResponse`` set: approvals keep no ``approved`` or
    ``reason``, and an unanswered ``approval-responded`` part is ``approval-requested``."""
    if target != "v6":
        return message
    parts = []
    for part in message["parts"]:
        if isinstance(part.get("approval"), dict):
            approval = {
                k: v for k, v in part["approval"].items() if k not in ("approved", "reason")
            }
            part = {**part, "approval": approval}
            if part["state"] == "approval-responded":
                part["state"] = "approval-requested"
        parts.append(part)
    return {**message, "parts": parts}


def replay_case(
    name: str, target: Target, continued: dict[str, Any], continuation_body: str
) -> dict[str, Any]:
    """The replay a resumable store keeps for a continuation: ``message_chunks`` of the
    continued message, then the continuation's own bytes; checked with no message, as a
    resumed client reads it. Python must find that it ends where the continuation, read
    with the continued message, ends (``replay_expectation``). A v6 stream is also read
    by ai7, whose view of the continued message is not the v6 one (a static tool's input
    error keeps the input as ``input``, not ``rawInput``): there the continuation is read
    on top of what ai7 made of the replay's prefix."""
    chunks = message_chunks(continued, target=target)
    prefix = encode_chunks(chunks).decode()
    case = valid_body_case(f"replay/{name}", target, prefix + continuation_body)
    for check in case["checks"]:
        sdk_target = _SDK_TARGET[check["sdk"]]
        held = continued
        if sdk_target != target:
            held = check_stream(_body(chunks), target=sdk_target).message
        seeded = _expect(continuation_body, sdk_target, held)
        wanted = {**seeded, "message": replay_expectation(seeded["message"], target)}
        if check["expect"] != wanted:
            raise AssertionError(
                f"{case['name']}: for {check['sdk']} the replay gives {check['expect']}, "
                f"the continuation gives {wanted}"
            )
    return case


def replay_cases(random_count: int) -> Iterator[dict[str, Any]]:
    for name, target, message, chunks in continuation_inputs():
        yield replay_case(name, target, message, _body(chunks))
    for seed in range(random_count):
        for target in TARGETS:
            message, chunks = random_continuation(seed, target)
            yield replay_case(f"random/{seed}", target, message, _body(chunks))


# --- random --------------------------------------------------------------------------


def random_cases(count: int) -> Iterator[dict[str, Any]]:
    for seed in range(count):
        for target in ("v5", "v6", "v7"):
            rng = random.Random(f"{seed}-{target}")
            machine = StreamMachine(message_id=f"msg-rnd-{seed}", target=target)
            driver = drive(machine, rng.choice, steps=rng.randint(1, 40))
            yield valid_case(f"random/{seed}", target, driver.chunks)


# --- invalid bodies ------------------------------------------------------------------

_START = '{"type":"start","messageId":"m"}'
_STEP = '{"type":"start-step"}'


def _raw(*events: str) -> str:
    return "".join(f"data: {e}\n\n" for e in events) + "data: [DONE]\n\n"


INVALID: list[tuple[str, str, list[str]]] = [
    # (name, body, SDKs whose client must reject it at the same place)
    ("unknown-type", _raw(_START, '{"type":"text-chunk","id":"t","delta":"x"}'), ["ai5", "ai6", "ai7"]),
    ("missing-output", _raw(_START, _STEP, '{"type":"tool-input-available","toolCallId":"c","toolName":"t","input":null}', '{"type":"tool-output-available","toolCallId":"c"}'), ["ai5", "ai6", "ai7"]),
    ("null-optional", _raw(_START, '{"type":"text-start","id":"t","providerMetadata":null}'), ["ai5", "ai6", "ai7"]),
    ("null-message-id", _raw('{"type":"start","messageId":null}'), ["ai5", "ai6", "ai7"]),
    ("proto-key", _raw(_START, '{"type":"data-x","data":{"__proto__":{"a":1}}}'), ["ai5", "ai6", "ai7"]),
    ("constructor-prototype", _raw(_START, '{"type":"data-x","data":{"constructor":{"prototype":{}}}}'), ["ai5", "ai6", "ai7"]),
    ("bad-json", _raw(_START, '{"type":"text-start",'), ["ai5", "ai6", "ai7"]),
    ("delta-before-start", _raw(_START, _STEP, '{"type":"text-delta","id":"t1","delta":"x"}'), ["ai5", "ai6", "ai7"]),
    ("end-unknown-id", _raw(_START, _STEP, '{"type":"text-start","id":"t1"}', '{"type":"text-end","id":"t2"}'), ["ai6", "ai7"]),
    ("reasoning-delta-unknown", _raw(_START, _STEP, '{"type":"reasoning-delta","id":"r","delta":"x"}'), ["ai5", "ai6", "ai7"]),
    ("tool-delta-without-start", _raw(_START, _STEP, '{"type":"tool-input-delta","toolCallId":"c","inputTextDelta":"{"}'), ["ai6", "ai7"]),
    ("output-unknown-call", _raw(_START, _STEP, '{"type":"tool-output-available","toolCallId":"nope","output":1}'), ["ai6", "ai7"]),
    ("output-error-unknown-call", _raw(_START, '{"type":"tool-output-error","toolCallId":"nope","errorText":"x"}'), ["ai6", "ai7"]),
    ("approval-unknown-call", _raw(_START, '{"type":"tool-approval-request","approvalId":"a","toolCallId":"nope"}'), ["ai6", "ai7"]),
    ("denied-unknown-call", _raw(_START, '{"type":"tool-output-denied","toolCallId":"nope"}'), ["ai6", "ai7"]),
    ("approval-on-v5", _raw(_START, _STEP, '{"type":"tool-input-available","toolCallId":"c","toolName":"t","input":1}', '{"type":"tool-approval-request","approvalId":"a","toolCallId":"c"}'), ["ai5"]),
    ("interrupted-on-v6", _raw(_START, '{"type":"finish","finishReason":"interrupted"}'), ["ai5", "ai6"]),
    ("unknown-reason-on-v6", _raw(_START, '{"type":"finish","finishReason":"unknown"}'), ["ai6", "ai7"]),
    ("custom-on-v6", _raw(_START, '{"type":"custom","kind":"a.b"}'), ["ai5", "ai6"]),
    ("delta-after-finish-step-v6", _raw(_START, _STEP, '{"type":"text-start","id":"t"}', '{"type":"finish-step"}', '{"type":"text-delta","id":"t","delta":"x"}'), ["ai5", "ai6"]),
    ("wrong-type-bool", _raw(_START, _STEP, '{"type":"tool-input-start","toolCallId":"c","toolName":"t","dynamic":"yes"}'), ["ai5", "ai6", "ai7"]),
    ("array-event", _raw(_START, "[1,2]"), ["ai5", "ai6", "ai7"]),
    ("approval-response-unknown-v7", _raw(_START, '{"type":"tool-approval-response","approvalId":"nope","approved":true}'), ["ai7"]),
]  # fmt: skip

_SDK_TARGET: dict[str, Target] = {"ai5": "v5", "ai6": "v6", "ai7": "v7"}


def invalid_cases() -> Iterator[dict[str, Any]]:
    for name, body, sdks in INVALID:
        checks = []
        for sdk in sdks:
            expect = _expect(body, _SDK_TARGET[sdk], None)
            if expect["valid"]:
                raise AssertionError(f"invalid/{name}: the Python validator accepts it for {sdk}")
            checks.append({"sdk": sdk, "message": None, "expect": expect})
        yield {"name": f"invalid/{name}", "sse": body, "checks": checks}


# --- push API: bodies exactly as StreamContext streams them ------------------------------


def context_cases() -> Iterator[dict[str, Any]]:
    """Every push-API scenario of the pytest suite, per target, as the consumer got it."""
    logging.getLogger("uiwire").setLevel(logging.CRITICAL)  # the masked errors are expected
    for name, (work, options) in CONTEXT_SCENARIOS.items():
        for target in TARGETS:
            if target == "v5" and name == "approval":
                continue  # approvals need AI SDK 6
            body = asyncio.run(capture(work, target=target, **options))
            yield valid_body_case(f"context/{name}", target, body.decode())


def dspy_cases() -> Iterator[dict[str, Any]]:
    """Every DSPy scenario of the pytest suite, per target, exactly as streamed."""
    logging.getLogger("uiwire").setLevel(logging.CRITICAL)
    for name, scenario in DSPY_SCENARIOS.items():
        for target in TARGETS:
            outcome = asyncio.run(run_scenario(scenario, target=target))
            yield valid_body_case(f"dspy/{name}", target, outcome.body.decode())
    for name, peer in {**PEER_SCENARIOS, **ADAPTER_PEER_SCENARIOS}.items():
        for target in TARGETS:
            outcome = asyncio.run(run_scenario(peer.scenario, target=target))
            yield valid_body_case(f"dspy/peer/{name}", target, outcome.body.decode())
    for name, case in STREAMING_PEER_CASES.items():
        for target in TARGETS:
            outcome = asyncio.run(run_scenario(scenario_of(case), target=target))
            yield valid_body_case(f"dspy/peer-streaming/{name}", target, outcome.body.decode())


def agents_cases() -> Iterator[dict[str, Any]]:
    """Every Agents SDK scenario of the pytest suite, per target, exactly as streamed."""
    logging.getLogger("uiwire").setLevel(logging.CRITICAL)
    for target in TARGETS:
        for name in AGENTS_SCENARIOS:
            if target == "v5" and name == "approval":
                continue  # approvals need AI SDK 6
            outcome = asyncio.run(run_agents_scenario(name, target))
            yield valid_body_case(f"agents/{name}", target, outcome.body.decode())
        outcome = asyncio.run(hosted_tools_run(target))
        yield valid_body_case("agents/hosted-tools", target, outcome.body.decode())
        first, second = asyncio.run(client_tool_round_trip(target))
        yield valid_body_case("agents/client-tool-paused", target, first.body.decode())
        yield valid_body_case(
            "agents/client-tool-resumed", target, second.body.decode(), first.record.message
        )
        yield replay_case(
            "agents/client-tool-resumed", target, first.record.message, second.body.decode()
        )
        if target == "v5":
            continue
        for approved in (True, False):
            first, second = asyncio.run(approval_round_trip(approved, target))
            name = f"agents/approval-{'approved' if approved else 'denied'}"
            yield valid_body_case(name, target, second.body.decode(), first.record.message)
            yield replay_case(name, target, first.record.message, second.body.decode())
        first, second = asyncio.run(
            hosted_mcp_round_trip(approved_mcp_call(output="cancelled"), target)
        )
        for outer_gated in (False, True):
            rounds = asyncio.run(nested_approval_rounds(outer_gated, target))
            for index, (outcome, continued) in enumerate(rounds):
                name = f"agents/nested-approval-{'both' if outer_gated else 'inner'}-{index}"
                yield valid_body_case(name, target, outcome.body.decode(), continued)
        yield valid_body_case("agents/hosted-mcp-paused", target, first.body.decode())
        name = "agents/hosted-mcp-approved"
        yield valid_body_case(name, target, second.body.decode(), first.record.message)
        yield replay_case(name, target, first.record.message, second.body.decode())


def agents_peer_cases() -> Iterator[dict[str, Any]]:
    """Every Agents SDK peer scenario, for the targets the peer suite checks."""
    for quiet in ("uiwire", "openai.agents"):  # the scenarios' errors are expected
        logging.getLogger(quiet).setLevel(logging.CRITICAL)
    for target in ("v6", "v7"):
        for name, peer in {**AGENTS_RUN_PEERS, **AGENTS_FEATURE_PEERS}.items():
            outcome = asyncio.run(run_peer(peer, target))
            body = outcome.body.decode()
            yield valid_body_case(f"agents-peer/{name}", target, body, outcome.continued)


PARTIAL_JSON_TEXTS: dict[str, str] = {
    "weather-report": WEATHER_REPORT_JSON,
    "wrapped-list": '{"response": ["umbrella", "boots", "coat"]}',
    "packing": '{"items": ["umbrella", "boots"], "rain_expected": true}',
    "nested-arrays": "[[1, 2], [3, [4.5e-1, -0.5]], [], [[]]]",
    "escapes": '{"s": "a\\"b\\\\c\\u00e9\\ud83d\\ude00 \U0001f600", "n": null, "f": false}',
    "literals": "[true, false, null, 12, -3.5E+2]",
}
"""Texts whose every prefix the JS suite parses with each client's ``parsePartialJson``."""

PARTIAL_JSON_SDKS: tuple[tuple[str, Target], ...] = (("ai5", "v5"), ("ai6", "v6"), ("ai7", "v7"))


async def _streamed_output(label: str, text: str) -> list[Chunk]:
    """The chunks of ``text`` streamed as one structured output, in ``pieces``."""
    chunks: list[Chunk] = []
    builder = MessageBuilder(on_chunk=chunks.append)
    output = StructuredOutput(builder, label, part_id=f"output_{label}")
    for piece in pieces(text):
        await output.write(piece)
    await output.finish()
    await builder.finish()
    return chunks


def partial_json_cases() -> Iterator[dict[str, Any]]:
    """A structured output streamed from each text; its ``partialJson``: every prefix with
    uiwire's parse of it per client (``undefined`` as null), for the JS suite."""
    for label, text in PARTIAL_JSON_TEXTS.items():
        chunks = asyncio.run(_streamed_output(label, text))
        case = valid_case(f"partial-json/{label}", "v6", chunks)
        case["partialJson"] = {
            sdk: [
                {"text": text[:end], "value": value, "state": state}
                for end in range(len(text) + 1)
                for value, state in [parse_partial_json(text[:end], target=target)]
            ]
            for sdk, target in PARTIAL_JSON_SDKS
        }
        yield case


def build(random_count: int) -> list[dict[str, Any]]:
    return [
        *scenario_cases(),
        *continuation_cases(max(random_count // 5, 1)),
        *replay_cases(max(random_count // 5, 1)),
        *random_cases(random_count),
        *invalid_cases(),
        *context_cases(),
        *dspy_cases(),
        *agents_cases(),
        *agents_peer_cases(),
        *partial_json_cases(),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--random", type=int, default=150, help="random streams per target")
    args = parser.parse_args(argv)
    cases = build(args.random)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for case in cases:
            fh.write(json.dumps(case) + "\n")  # escaped: bodies may hold lone surrogates
    checks = sum(len(c["checks"]) for c in cases)
    print(f"wrote {len(cases)} cases ({checks} checks) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
