"""``message_chunks``: the replay prefix rebuilds, from nothing, the message it was given.

The properties, over the streams of the JS corpus (hand-written scenarios and seeded
random intent sequences on every target, each cut after every chunk, so that open text,
streaming tool input and pending approvals appear too) and over continuations:

* round trip: the client's assembly of ``message_chunks(M)`` from a fresh state is M, and
  the chunks are a valid stream for the target's client;
* cross-version: a v6 replay read by an ai7 client gives what ai7 made of the original;
* continuation: ``message_chunks(continued) + continuation`` read from nothing ends where
  the continuation read on top of ``continued`` ends; on v6 the one difference is the
  approval answer only the client sets, asserted field by field;
* recipes: settled calls are not rebuilt with ``tool-input-available`` (the browser would
  run ``onToolCall`` again), and what cannot be rebuilt raises ``UnreplayableMessage``
  naming it; what is not a ``UIMessage`` at all is the parser's to refuse.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from pydantic import ValidationError

from tests.js.build_corpus import (
    SCENARIOS,
    _record,
    continuation_inputs,
    random_continuation,
    replay_expectation,
)
from tests.support.intent_driver import drive
from uiwire.protocol import (
    DONE_FRAME,
    ChatRequestError,
    StreamMachine,
    UIMessageAssembler,
    UnreplayableMessage,
    as_ui_message,
    encode_chunks,
    parse_chat_request,
)
from uiwire.protocol.machine import Chunk
from uiwire.protocol.replay import message_chunks
from uiwire.protocol.targets import TARGETS, Target
from uiwire.protocol.validate import check_stream

RANDOM_STREAMS = 100
RANDOM_CONTINUATIONS = 200

_ABSENT = "<absent>"


def _assemble(
    chunks: Sequence[Chunk], target: Target, message: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    assembler = UIMessageAssembler(target=target, message=message)
    for chunk in chunks:
        assembler.apply(chunk)
    return assembler.message


def _body(chunks: Sequence[Chunk]) -> bytes:
    return encode_chunks(chunks) + DONE_FRAME


def _differences(a: Any, b: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Every leaf where two JSON values differ: ``(path, a's value, b's value)``."""
    if isinstance(a, dict) and isinstance(b, dict):
        found: list[tuple[str, Any, Any]] = []
        for key in [*a, *(k for k in b if k not in a)]:
            where = f"{path}.{key}" if path else key
            found += _differences(a.get(key, _ABSENT), b.get(key, _ABSENT), where)
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in _differences(x, y, f"{path}[{i}]")]
    same = a == b and type(a) is type(b) if isinstance(a, bool) or isinstance(b, bool) else a == b
    return [] if same else [(path, a, b)]


# --- the streams ---------------------------------------------------------------------


def _streams() -> Iterator[tuple[str, Target, list[Chunk]]]:
    for name, (scenario, targets) in SCENARIOS.items():
        for target in targets:
            chunks: list[Chunk] = []
            _record(StreamMachine(message_id=f"msg-{name}", target=target), chunks, scenario)
            yield f"scenario/{name}", target, chunks
    for seed in range(RANDOM_STREAMS):
        for target in TARGETS:
            rng = random.Random(f"{seed}-{target}")
            machine = StreamMachine(message_id=f"msg-rnd-{seed}", target=target)
            yield f"random/{seed}", target, drive(machine, rng.choice, rng.randint(1, 40)).chunks


STREAMS = list(_streams())


def _snapshots(chunks: list[Chunk], target: Target) -> Iterator[tuple[int, dict[str, Any]]]:
    """The message after each chunk: what a client holds when the stream is cut there."""
    assembler = UIMessageAssembler(target=target)
    for index, chunk in enumerate(chunks):
        assembler.apply(chunk)
        yield index, assembler.message


@pytest.mark.parametrize(
    ("target", "chunks"),
    [pytest.param(t, c, id=f"{n}-{t}") for n, t, c in STREAMS],
)
def test_round_trip(target: Target, chunks: list[Chunk]) -> None:
    for cut, message in _snapshots(chunks, target):
        if not _is_a_message(message):
            continue
        rebuilt = message_chunks(message, target=target)
        assert rebuilt[0] == {"type": "start", "messageId": message["id"], **_metadata(message)}
        assert not {"finish", "abort", "error"} & {c["type"] for c in rebuilt}, cut
        report = check_stream(_body(rebuilt), target=target)
        assert report.violation is None, (cut, report.violation)
        assert report.message == message, (cut, _differences(message, report.message))
        assert report.error_texts == []
        assert report.finish_reason is None


def _is_a_message(message: dict[str, Any]) -> bool:
    """Whether the message a client holds is a ``UIMessage``, which a server takes back.

    One kind is not: a call denied straight from ``approval-requested`` leaves an
    ``output-denied`` part whose approval has no ``approved``, which the SDK's own
    ``validateUIMessages`` refuses. The parser refuses it too (422), so it is never
    continued, and ``message_chunks`` refuses it the same way.
    """
    try:
        as_ui_message(message)
    except ValidationError:
        body = {"id": "chat", "trigger": "submit-message", "messages": [message]}
        with pytest.raises(ChatRequestError, match=r"approval\.approved: Field required"):
            parse_chat_request(body)
        with pytest.raises(ValidationError):
            message_chunks(message)
        return False
    return True


def _metadata(message: Mapping[str, Any]) -> dict[str, Any]:
    return {"messageMetadata": message["metadata"]} if "metadata" in message else {}


def test_the_streams_reach_every_part_and_state() -> None:
    """The round trip is only as good as the messages it sees: they cover every part type
    and every tool state each target has (approval-responded: v7's server answer)."""
    seen: dict[Target, set[str]] = {t: set() for t in TARGETS}
    for _, target, chunks in STREAMS:
        for _, message in _snapshots(chunks, target):
            for part in message["parts"]:
                kind = "tool" if part["type"].startswith("tool-") else part["type"]
                kind = "data" if kind.startswith("data-") else kind
                seen[target].add(f"{kind}:{part.get('state', '')}")
                if part.get("preliminary"):
                    seen[target].add(f"{kind}:preliminary")
                if "rawInput" in part and part["state"] == "output-error":
                    seen[target].add(f"{kind}:input-error")
    common = {"step-start:", "text:streaming", "text:done", "reasoning:streaming", "reasoning:done"}
    common |= {"source-url:", "source-document:", "file:", "data:"}
    for kind in ("tool", "dynamic-tool"):
        common |= {f"{kind}:{s}" for s in ("input-streaming", "input-available", "output-error")}
        common |= {f"{kind}:output-available", f"{kind}:preliminary"}
    approvals = {f"tool:{s}" for s in ("approval-requested", "output-denied")}
    assert common | {"tool:input-error"} <= seen["v5"]
    assert common | approvals | {"tool:input-error"} <= seen["v6"]
    v7_only = {"custom:", "reasoning-file:", "steering-message:", "tool:approval-responded"}
    assert common | approvals | v7_only <= seen["v7"]


@pytest.mark.parametrize("chunks", [pytest.param(c, id=n) for n, t, c in STREAMS if t == "v6"])
def test_a_v6_replay_read_by_ai7_gives_what_ai7_made_of_the_original(chunks: list[Chunk]) -> None:
    v6, v7 = UIMessageAssembler(target="v6"), UIMessageAssembler(target="v7")
    for chunk in chunks:
        v6.apply(chunk)
        v7.apply(chunk)
        if not _is_a_message(v6.message):
            continue
        rebuilt = _assemble(message_chunks(v6.message, target="v6"), "v7")
        assert rebuilt == v7.message, _differences(v7.message, rebuilt)


# --- continuations -------------------------------------------------------------------


def _continuations() -> Iterator[Any]:
    for name, target, message, chunks in continuation_inputs():
        yield pytest.param(target, message, chunks, id=f"{name}-{target}")
    for seed in range(RANDOM_CONTINUATIONS):
        for target in TARGETS:
            message, chunks = random_continuation(seed, target)
            yield pytest.param(target, message, chunks, id=f"random/{seed}-{target}")


def _v6_gap(continued: Mapping[str, Any], seeded: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """What a v6 replay must lose, and nothing else: each approval's ``approved`` and
    ``reason`` (only ``addToolApprovalResponse`` sets them), and ``approval-responded``
    where the continuation did not move the call on."""
    gap: list[tuple[str, Any, Any]] = []
    for index, part in enumerate(continued["parts"]):
        approval = part.get("approval")
        if not isinstance(approval, dict):
            continue
        if seeded["parts"][index]["state"] == "approval-responded":
            gap.append((f"parts[{index}].state", "approval-responded", "approval-requested"))
        gap += [
            (f"parts[{index}].approval.{key}", approval[key], _ABSENT)
            for key in ("approved", "reason")
            if key in approval
        ]
    return gap


@pytest.mark.parametrize(("target", "continued", "chunks"), list(_continuations()))
def test_a_replayed_continuation_ends_where_the_continuation_does(
    target: Target, continued: dict[str, Any], chunks: list[Chunk]
) -> None:
    stop = next((i for i, c in enumerate(chunks) if c["type"] == "error"), len(chunks))
    seeded = _assemble(chunks, target, message=continued)
    prefix = message_chunks(continued, target=target)
    replayed = _assemble(prefix + chunks, target)
    expected_gap = _v6_gap(continued, seeded) if target == "v6" else []
    assert sorted(_differences(seeded, replayed), key=str) == sorted(expected_gap, key=str)
    assert replayed == replay_expectation(seeded, target)
    # and as bytes: the prefix, then the continuation's own body, read from nothing
    report = check_stream(encode_chunks(prefix) + _body(chunks), target=target)
    assert report.violation is None
    assert report.message == replayed
    assert len(report.error_texts) == (stop < len(chunks))


def test_the_v6_gap_is_real_and_v7_has_none() -> None:
    """The approvals continuation: v6 loses the answers, v7 rebuilds them exactly."""
    cases = {t: (m, c) for name, t, m, c in continuation_inputs() if name == "approvals"}
    for target, (continued, chunks) in cases.items():
        seeded = _assemble(chunks, target, message=continued)
        replayed = _assemble(message_chunks(continued, target=target) + chunks, target)
        approvals = [p["approval"] for p in replayed["parts"] if "approval" in p]
        if target == "v7":
            assert replayed == seeded
            assert [a["approved"] for a in approvals] == [True, False]
        else:
            assert [sorted(a) for a in approvals] == [["id", "signature"], ["id"]]
            assert _differences(seeded, replayed) == [
                ("parts[2].approval.approved", True, _ABSENT),
                ("parts[3].approval.approved", False, _ABSENT),
                ("parts[3].approval.reason", "Not today", _ABSENT),
            ]
        assert [p["state"] for p in replayed["parts"][2:4]] == ["output-available", "output-denied"]


@pytest.mark.parametrize("target", ["v6", "v7"])
def test_without_the_prefix_the_continuation_cannot_be_replayed(target: Target) -> None:
    (continued, chunks) = next(
        (m, c) for name, t, m, c in continuation_inputs() if name == "approvals" and t == target
    )
    report = check_stream(_body(chunks), target=target)
    assert report.violation is not None
    assert report.violation.chunk_type == "tool-invocation"
    assert 'No tool invocation found for tool call ID "call_pay"' in str(report.violation)
    with_prefix = check_stream(
        encode_chunks(message_chunks(continued, target=target)) + _body(chunks), target=target
    )
    assert with_prefix.violation is None


# --- recipes ---------------------------------------------------------------------------


def _message(*parts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": "a1", "role": "assistant", "parts": [{"type": "step-start"}, *parts], **extra}


def _types(chunks: list[Chunk]) -> list[str]:
    return [c["type"] for c in chunks]


def _rebuilds(message: dict[str, Any], target: Target) -> list[Chunk]:
    chunks = message_chunks(message, target=target)
    assert _assemble(chunks, target) == replay_expectation(message, target)
    return chunks


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("kind", ["tool-getLocation", "dynamic-tool"])
def test_an_answered_client_tool_does_not_run_on_tool_call_again(target: Target, kind: str) -> None:
    base: dict[str, Any] = {"type": kind, "toolCallId": "c1", "input": {"precise": True}}
    dynamic: dict[str, Any] = {}
    if kind == "dynamic-tool":
        base["toolName"] = "getLocation"
        dynamic["dynamic"] = True
    answered = {**base, "state": "output-available", "output": {"city": "Berlin"}}
    failed = {**base, "state": "output-error", "errorText": "Permission denied."}
    for part in (answered, failed):
        assert "tool-input-available" not in _types(_rebuilds(_message(part), target))
    assert message_chunks(_message(answered), target=target)[2:5] == [
        {"type": "tool-input-start", "toolCallId": "c1", "toolName": "getLocation", **dynamic},
        {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": '{"precise":true}'},
        {
            "type": "tool-output-available",
            "toolCallId": "c1",
            "output": {"city": "Berlin"},
            **dynamic,
        },
    ]
    chunks = message_chunks(_message(failed), target=target)
    if kind == "dynamic-tool" or target == "v7":  # tool-input-error keeps the input
        assert _types(chunks)[2:] == ["tool-input-error", "finish-step"]
    else:  # a null output clears the rawInput the delta left, the error clears the output
        assert _types(chunks)[2:] == [
            "tool-input-start",
            "tool-input-delta",
            "tool-output-available",
            "tool-output-error",
            "finish-step",
        ]
        assert chunks[4]["output"] is None


def test_an_unanswered_client_tool_is_rebuilt_with_tool_input_available() -> None:
    part = {"type": "tool-t", "toolCallId": "c1", "state": "input-available", "input": None}
    chunks = _rebuilds(_message(part, metadata={"model": "m"}), "v6")
    assert chunks == [
        {"type": "start", "messageId": "a1", "messageMetadata": {"model": "m"}},
        {"type": "start-step"},
        {"type": "tool-input-available", "toolCallId": "c1", "toolName": "t", "input": None},
        {"type": "finish-step"},
    ]


def test_approval_responded_is_exact_on_v7_and_approval_requested_on_v6() -> None:
    part = {
        "type": "tool-pay",
        "toolCallId": "c1",
        "state": "approval-responded",
        "input": {"amount": 5},
        "title": "Pay",
        "approval": {"id": "ap1", "signature": "s", "approved": False, "reason": "No."},
    }
    v7 = _rebuilds(_message(part), "v7")
    assert v7[-2] == {
        "type": "tool-approval-response",
        "approvalId": "ap1",
        "approved": False,
        "reason": "No.",
    }
    v6 = message_chunks(_message(part), target="v6")
    assert _types(v6)[2:] == ["tool-input-available", "tool-approval-request", "finish-step"]
    rebuilt = _assemble(v6, "v6")["parts"][1]
    assert rebuilt == {
        **part,
        "state": "approval-requested",
        "approval": {"id": "ap1", "signature": "s"},
    }


def test_open_parts_stay_open_and_keep_what_the_client_derives() -> None:
    message = _message(
        {
            "type": "reasoning",
            "id": "r7",
            "text": "Hm",
            "state": "streaming",
            "providerMetadata": {"a": {"s": 1}},
        },
        {"type": "text", "text": "", "state": "done"},
        {"type": "text", "text": "Half a sen", "state": "streaming"},
        {
            "type": "dynamic-tool",
            "toolName": "note",
            "toolCallId": "c1",
            "state": "input-streaming",
            "inputEncoding": "text",
            "input": "Dear",
            "rawInput": "Dear",
            "title": "Note",
        },
        {
            "type": "tool-search",
            "toolCallId": "c2",
            "state": "input-streaming",
            "input": {"q": "ri"},
            "rawInput": '{"q": "ri',
        },
        {"type": "data-status", "id": "s1", "data": {"step": 2}, "transient": False},
    )
    chunks = _rebuilds(message, "v6")
    assert chunks[2:] == [
        {"type": "reasoning-start", "id": "r7", "providerMetadata": {"a": {"s": 1}}},
        {"type": "reasoning-delta", "id": "r7", "delta": "Hm"},
        {"type": "text-start", "id": "replay-t2"},
        {"type": "text-end", "id": "replay-t2"},
        {"type": "text-start", "id": "replay-t3"},
        {"type": "text-delta", "id": "replay-t3", "delta": "Half a sen"},
        {"type": "tool-input-start", "toolCallId": "c1", "toolName": "note", "inputEncoding": "text", "title": "Note", "dynamic": True},
        {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "Dear"},
        {"type": "tool-input-start", "toolCallId": "c2", "toolName": "search"},
        {"type": "tool-input-delta", "toolCallId": "c2", "inputTextDelta": '{"q": "ri'},
        {"type": "data-status", "id": "s1", "data": {"step": 2}, "transient": False},
        {"type": "finish-step"},
    ]  # fmt: skip


def test_the_same_tool_call_id_in_another_step_is_a_new_part() -> None:
    part = {
        "type": "tool-t",
        "toolCallId": "c1",
        "state": "output-available",
        "input": 1,
        "output": 2,
    }
    message = _message(part, {"type": "step-start"}, {**part, "output": 3})
    assert _types(_rebuilds(message, "v6")).count("start-step") == 2


# --- what cannot be rebuilt -------------------------------------------------------------

_TOOL = {"type": "tool-t", "toolCallId": "c1", "state": "input-available", "input": {}}

ERRORS: list[tuple[str, Any, Target, str]] = [
    # valid UIMessages that no chunk sequence of the target rebuilds
    ("a user message", {"id": "u", "role": "user", "parts": [{"type": "text", "text": "x"}]}, "v6", r"^role must be 'assistant'"),
    ("null metadata", _message(metadata=None), "v6", r"^metadata: null"),
    ("v7 part on v6", _message({"type": "custom", "kind": "a.b"}), "v6", r"^parts\[1\]\.type: a 'custom' part .* needs target v7"),
    ("text without state", _message({"type": "text", "text": "x"}), "v6", r"^parts\[1\]\.state"),
    ("citations on v6", _message({"type": "text", "text": "x", "state": "done", "citations": []}), "v6", r"^parts\[1\]\.citations"),
    ("reasoning without id", _message({"type": "reasoning", "text": "x", "state": "done"}), "v6", r"^parts\[1\]\.id"),
    ("file with filename", _message({"type": "file", "url": "data:,x", "mediaType": "text/plain", "filename": "x"}), "v6", r"^parts\[1\]\.filename: .*has 'x', the chunks give nothing"),
    ("v5 file metadata", _message({"type": "file", "url": "data:,x", "mediaType": "text/plain", "providerMetadata": {"a": {}}}), "v5", r"^parts\[1\]\.providerMetadata"),
    ("transient data", _message({"type": "data-x", "data": 1, "transient": True}), "v6", r"^parts\[1\]\.transient"),
    ("data id twice", _message({"type": "data-x", "id": "d", "data": 1}, {"type": "data-x", "id": "d", "data": 2}), "v6", r"^parts\[2\]\.id 'd' is also the id of parts\[1\]"),
    ("tool id twice in a step", _message(_TOOL, {**_TOOL, "type": "dynamic-tool", "toolName": "t"}), "v6", r"^parts\[2\]\.toolCallId 'c1' is also the id of parts\[1\]"),
    ("approvals on v5", _message({**_TOOL, "state": "approval-requested", "approval": {"id": "a"}}), "v5", r"^parts\[1\]\.state: state 'approval-requested' .* needs target v6"),
    ("denied on v5", _message({**_TOOL, "state": "output-denied", "approval": {"id": "a", "approved": False}}), "v5", r"^parts\[1\]\.state: state 'output-denied'"),
    ("title on v5", _message({**_TOOL, "title": "T"}), "v5", r"^parts\[1\]\.title: title .* needs target v6"),
    ("v7 approval field on v6", _message({**_TOOL, "state": "approval-requested", "approval": {"id": "a", "isAutomatic": True}}), "v6", r"^parts\[1\]\.approval\.isAutomatic"),
    ("output keeping rawInput", _message({**_TOOL, "state": "output-available", "output": 1, "rawInput": "{}"}), "v6", r"^parts\[1\]\.rawInput"),
    ("a partial input that is not the raw text's", _message({**_TOOL, "state": "input-streaming", "input": {"a": 1}, "rawInput": "{"}), "v6", r"^parts\[1\]\.input"),
    ("an extra message field", _message(createdAt="2025-01-01"), "v6", r"^createdAt: "),
]  # fmt: skip


@pytest.mark.parametrize(
    ("message", "target", "match"), [pytest.param(m, t, r, id=n) for n, m, t, r in ERRORS]
)
def test_what_cannot_be_rebuilt_is_named(message: Any, target: Target, match: str) -> None:
    as_ui_message(message)  # a valid message: only its replay fails
    with pytest.raises(UnreplayableMessage, match=match) as info:
        message_chunks(message, target=target)
    assert info.value.field is not None
    assert str(info.value).startswith(info.value.field)


def test_a_target_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match=r"protocol target must be one of"):
        message_chunks(_message(), target="v8")  # type: ignore[arg-type]


NOT_MESSAGES: list[tuple[str, Any, str]] = [
    # not UIMessages: the parser refuses them (422 naming the field), so no continued
    # message is one of them, and message_chunks refuses them the same way
    ("not a mapping", ["parts"], "messages[0]"),
    ("a user message without parts", {"id": "u", "role": "user", "parts": []}, "messages[0].parts"),
    ("no id", {"role": "assistant", "parts": []}, "messages[0].id"),
    ("no parts", {"id": "a", "role": "assistant"}, "messages[0].parts"),
    ("a part not an object", _message("text"), "messages[0].parts[1]"),
    ("unknown part type", _message({"type": "video"}), "messages[0].parts[1].type"),
    ("null source title", _message({"type": "source-url", "sourceId": "s", "url": "u", "title": None}), "messages[0].parts[1].title"),
    ("unknown tool state", _message({**_TOOL, "state": "done"}), "messages[0].parts[1].state"),
    ("no toolCallId", _message({"type": "tool-t", "state": "input-available", "input": 1}), "messages[0].parts[1].toolCallId"),
    ("dynamic without toolName", _message({**_TOOL, "type": "dynamic-tool"}), "messages[0].parts[1].toolName"),
    ("denied without approval", _message({**_TOOL, "state": "output-denied"}), "messages[0].parts[1].approval"),
    ("approval state without approval", _message({**_TOOL, "state": "approval-requested"}), "messages[0].parts[1].approval"),
    ("approval on an input state", _message({**_TOOL, "approval": {"id": "a"}}), "messages[0].parts[1].approval"),
    ("an answer without approved", _message({**_TOOL, "state": "approval-responded", "approval": {"id": "a"}}), "messages[0].parts[1].approval.approved"),
    ("output without output", _message({**_TOOL, "state": "output-available"}), "messages[0].parts[1].output"),
    ("a bool that is a number", _message({**_TOOL, "providerExecuted": 1}), "messages[0].parts[1].providerExecuted"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("message", "field"), [pytest.param(m, f, id=n) for n, m, f in NOT_MESSAGES]
)
def test_what_is_not_a_message_is_refused_by_the_parser(message: Any, field: str) -> None:
    body = {"id": "chat", "trigger": "submit-message", "messages": [message]}
    with pytest.raises(ChatRequestError) as info:
        parse_chat_request(body)
    assert info.value.errors[0].field == field
    with pytest.raises(ValidationError):
        message_chunks(message, target="v6")
