"""The Agents SDK's own streaming scenarios (openai-agents 0.24.0, ``tests/``), rebuilt for
uiwire's peer suite (issue 22): what a ``Peer`` is, how it runs through ``AgentsAdapter``
and how the client's message is compared with what the SDK produced.

Shared by the peer test modules (``tests/adapters/agents/test_peer*.py``) and the JS
conformance corpus; the scenarios themselves live in ``agents_peer_*`` modules, keyed
``"<upstream module>::<upstream test>"``. The inventory (which upstream tests are rebuilt,
which are left out and why) is ``tests/adapters/agents/PEERS.md``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agents import (
    Agent,
    AgentOutputSchema,
    AgentsException,
    HandoffCallItem,
    HandoffOutputItem,
    ItemHelpers,
    MessageOutputItem,
    ReasoningItem,
    RunContextWrapper,
    ToolCallItem,
    ToolCallOutputItem,
)
from pydantic_core import to_jsonable_python

from tests.support.agents_scenarios import Outcome, answer_approvals, run_agent
from tests.support.context_scenarios import consume
from tests.support.stream_rules import assert_valid_body
from uiwire.adapters.agents import AgentsAdapter
from uiwire.protocol.targets import Target
from uiwire.stream import StreamContext

MASKED = "An error occurred."


@dataclass(frozen=True)
class Peer:
    """One upstream streamed scenario: its agent, input and run options, and what the
    comparison must know about it."""

    build: Callable[[], Agent[Any]]
    input: Any = "user_message"
    run: Callable[[], dict[str, Any]] = dict
    """Options for ``Runner.run_streamed`` (made per run: some hold state)."""
    failed: Mapping[str, str] = field(default_factory=dict[str, str])
    """Call ids whose SDK output is a failure text, with the ``errorText`` shown for it."""
    shown_only: Mapping[str, str] = field(default_factory=dict[str, str])
    """Calls the client shows that the SDK's items lack, with their final state (a
    streamed call the final response superseded; a handoff whose input filter dropped
    its items)."""
    raises: type[BaseException] | None = None
    """The run ends with this exception (the client sees one masked ``error``)."""
    approvals: tuple[bool, ...] = ()
    """The run pauses for approval this many times, each answered (approve or reject)
    and resumed into the same message; the last outcome is compared."""


@dataclass
class PeerOutcome(Outcome):
    target: Target = "v6"
    continued: dict[str, Any] | None = None
    """The message the last round continued (after approval answers), if any."""


async def run_peer(peer: Peer, target: Target = "v6") -> PeerOutcome:
    """Stream the peer's run, then answer and resume each of its approval pauses; a
    ``run_config`` is the adapter's (``AgentsAdapter`` owns it), the other options go to
    ``Runner.run_streamed``."""
    run = peer.run()
    adapter_options = {"run_config": run.pop("run_config")} if "run_config" in run else {}
    adapter = AgentsAdapter(peer.build(), **adapter_options)
    first = await run_agent(adapter, peer.input, target=target, run_options=run)
    outcome = PeerOutcome(first.body, first.record, first.result, first.ctx, target)
    for approved in peer.approvals:
        message = outcome.record.message
        assert_valid_body(outcome.body, target, message=outcome.continued)
        assert any(p.get("state") == "approval-requested" for p in message["parts"])
        answer_approvals(message, approved)
        continued = copy.deepcopy(message)
        resumed = await _resume(adapter, message, target)
        outcome = PeerOutcome(
            resumed.body, resumed.record, resumed.result, resumed.ctx, target, continued
        )
    return outcome


async def _resume(adapter: AgentsAdapter, message: dict[str, Any], target: Target) -> Outcome:
    """``resume_agent`` that keeps the resumed run's result."""
    resumption = await adapter.take_approvals(message)
    ctx: StreamContext[Any] = StreamContext(
        continued_message=resumption.message, collect=True, target=target
    )
    results: list[Any] = []

    async def work(ctx: StreamContext[Any]) -> None:
        results.append(await adapter.stream_into(ctx, resumption))

    ctx.run(work)
    body = await consume(ctx)
    await ctx.wait_closed()
    assert ctx.record is not None
    return Outcome(body, ctx.record, results[0] if results else None, ctx)


@dataclass
class _NothingKept:
    """The run data of an exception the SDK attaches none to (a guardrail's own error)."""

    new_items: list[Any] = field(default_factory=list[Any])
    context_wrapper: Any = field(default_factory=lambda: RunContextWrapper(context=None))


def sdk_run(outcome: Outcome) -> Any:
    """What the SDK produced: the run's result, or the run data of its exception."""
    if outcome.result is not None:
        return outcome.result
    exception = outcome.record.exception
    if isinstance(exception, AgentsException) and exception.run_data is not None:
        return exception.run_data
    return _NothingKept()


def _message_text(item: MessageOutputItem) -> str:
    refusal = "".join(getattr(c, "refusal", "") for c in item.raw_item.content)
    return ItemHelpers.text_message_output(item) or refusal


def _shown_message(item: MessageOutputItem) -> tuple[str, Any]:
    """What the client shows for a message item: its text, or, from an agent with a
    structured ``output_type``, the JSON it wrote as a ``data-output`` value (null when
    it wrote no JSON)."""
    output_type = item.agent.output_type
    if output_type is None or output_type is str:
        return ("text", _message_text(item))
    try:
        value = json.loads(ItemHelpers.text_message_output(item))
    except json.JSONDecodeError:  # not JSON: the part's value is null (its text kept)
        return ("data", None)
    schema = AgentOutputSchema(output_type)
    return ("data", value["response"] if schema._is_wrapped else value)  # pyright: ignore[reportPrivateUsage]


def _reasoning_texts(item: ReasoningItem) -> list[str]:
    raw = item.raw_item
    summaries = [s.text for s in raw.summary]
    return summaries or [c.text for c in raw.content or []]


def tool_parts(parts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        p["toolCallId"]: p
        for p in parts
        if p["type"].startswith("tool-") or p["type"] == "dynamic-tool"
    }


def assert_matches_run(outcome: PeerOutcome, peer: Peer) -> None:
    """The client's message shows what the run produced, nothing more, in order.

    Text parts are the run's message items in order, reasoning parts its reasoning
    items' summaries; every tool call and handoff of ``new_items`` is a part with its
    input, ended with the SDK's output (or the error ``peer.failed`` names), in the order
    the SDK made them; no part is left open; the usage in the message metadata is the
    run's; a string ``final_output`` is the last text or a tool's output. A failed run
    ends with one masked error and its exception; what the SDK kept of it
    (``run_data.new_items``) is shown first, the failing turn's streamed output after.
    """
    assert_valid_body(outcome.body, outcome.target, message=outcome.continued)
    record = outcome.record
    if peer.raises is None:
        assert record.exception is None, record.exception
        assert record.error_text is None
    else:
        assert isinstance(record.exception, peer.raises), record.exception
        assert record.error_text == MASKED
        assert str(record.exception) not in outcome.body.decode()
    run = sdk_run(outcome)
    parts: list[dict[str, Any]] = record.message["parts"]
    items = run.new_items
    texts = [p["text"] for p in parts if p["type"] == "text"]
    outputs = [p["data"] for p in parts if p["type"] == "data-output"]
    messages = [
        ("text", p["text"]) if p["type"] == "text" else ("data", p["data"]["value"])
        for p in parts
        if p["type"] in ("text", "data-output")
    ]
    sdk_messages = [_shown_message(i) for i in items if isinstance(i, MessageOutputItem)]
    final_output = getattr(run, "final_output", None)
    carried = not items or isinstance(items[-1], MessageOutputItem)
    carried = carried or any(
        isinstance(i, ToolCallOutputItem) and i.output == final_output for i in items
    )
    if isinstance(final_output, str) and final_output and not carried and peer.raises is None:
        sdk_messages.append(("text", final_output))  # a final output no item carries
    reasoning = [p["text"] for p in parts if p["type"] == "reasoning"]
    sdk_reasoning = [t for i in items if isinstance(i, ReasoningItem) for t in _reasoning_texts(i)]
    tools = tool_parts(parts)
    calls: list[str] = []
    for item in items:
        if isinstance(item, (ToolCallItem, HandoffCallItem)):
            raw = item.raw_item
            call_id = str(getattr(raw, "call_id", None) or getattr(raw, "id", None))
            part = tools[call_id]
            assert part["type"] == f"tool-{raw.name}"
            assert part["input"] == (json.loads(raw.arguments) if raw.arguments else {})
            calls.append(call_id)
        elif isinstance(item, (ToolCallOutputItem, HandoffOutputItem)):
            raw = item.raw_item
            call_id = str(raw["call_id"] if isinstance(raw, dict) else raw.call_id)
            part = tools[call_id]
            if call_id in peer.failed:
                assert (part["state"], part.get("errorText")) == (
                    "output-error",
                    peer.failed[call_id],
                ), part
            else:
                assert part["state"] == "output-available", part
                if isinstance(item, ToolCallOutputItem):
                    assert part["output"] == item.output
    shown_only = [i for i in tools if i not in calls]
    for call_id in shown_only:
        assert call_id in peer.shown_only or peer.raises is not None, tools[call_id]
    for call_id, state in peer.shown_only.items():
        assert tools[call_id]["state"] == state, tools[call_id]
    if peer.raises is None:
        assert (messages, reasoning) == (sdk_messages, sdk_reasoning)
        assert all(o["state"] == "done" for o in outputs)
        assert [i for i in tools if i not in peer.shown_only] == calls  # in order
        for part in tools.values():
            assert part["state"] not in ("input-streaming", "input-available"), part
    else:  # the SDK's items first; the failing turn's streamed output may follow
        assert messages[: len(sdk_messages)] == sdk_messages
        assert reasoning[: len(sdk_reasoning)] == sdk_reasoning
        assert list(tools)[: len(calls)] == calls
    usage = run.context_wrapper.usage
    shown_usage = record.message.get("metadata", {}).get("usage")
    if usage.total_tokens:
        assert shown_usage is not None
        assert (shown_usage["inputTokens"], shown_usage["outputTokens"]) == (
            usage.input_tokens,
            usage.output_tokens,
        )
    final = getattr(run, "final_output", None)
    if isinstance(final, str):
        shown = [*texts[-1:], *(p.get("output") for p in tools.values())]
        assert final in shown
    elif final is not None and outputs and peer.raises is None:
        assert outputs[-1]["value"] == to_jsonable_python(final, by_alias=True)
