"""Tool calls across one stream: their states, the chunks each state allows, and the
calls a continued message hands to a new stream.

Theory of operation
-------------------
Each ``toolCallId`` moves through the states below. ``TOOL_RULES`` says, per tool chunk,
the states it may be sent from; ``StreamMachine`` checks it (``check_tool_chunk``)
before it emits anything and moves the call on after. A call is ``NEW`` until this
stream creates it, so an output for a call nobody created is refused.

A *continuation* (the POST after approvals or client-side tool results) continues an
assistant message the client holds: ``adopt_continued_message`` reads that typed
``UIMessage`` into the state a stream starts from. Its tool parts become calls in the
state their part shows (``PART_STATE_TO_CALL_STATE``), so the answer can send their
outputs; its part ids are reserved, so a new part never takes one. The message was
validated when it was parsed (or by ``as_ui_message`` here): nothing is checked again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel

from uiwire._errors import ProtocolError
from uiwire.protocol.targets import Target
from uiwire.protocol.ui_message import (
    DataUIPart,
    DynamicToolUIPart,
    StepStartUIPart,
    ToolUIPart,
    UIMessage,
    as_ui_message,
)

__all__ = [
    "INPUT_ENDING_CHUNKS",
    "TOOL_RULES",
    "Continuation",
    "ToolCall",
    "adopt_continued_message",
    "check_tool_chunk",
    "unfinished_input_error",
]

Chunk = dict[str, Any]

# --- the states a call moves through, and the chunks each allows ------------------------

NEW: Final = "new"
INPUT_STREAMING: Final = "input-streaming"
INPUT_AVAILABLE: Final = "input-available"
APPROVAL_REQUESTED: Final = "approval-requested"
APPROVED: Final = "approval-responded (approved)"
DENIED: Final = "approval-responded (denied)"
PRELIMINARY: Final = "output-available (preliminary)"
OUTPUT_AVAILABLE: Final = "output-available"
OUTPUT_ERROR: Final = "output-error"
OUTPUT_DENIED: Final = "output-denied"
INTERRUPTED: Final = "interrupted (its input was cut off in an earlier response)"

TOOL_RULES: Final[dict[str, frozenset[str]]] = {
    # chunk type: the call states it may be sent from
    "tool-input-start": frozenset({NEW}),
    "tool-input-delta": frozenset({INPUT_STREAMING}),
    "tool-input-available": frozenset({NEW, INPUT_STREAMING}),
    "tool-input-error": frozenset({NEW, INPUT_STREAMING}),
    "tool-approval-request": frozenset({INPUT_AVAILABLE}),
    "tool-approval-response": frozenset({APPROVAL_REQUESTED}),
    "tool-output-available": frozenset({INPUT_AVAILABLE, APPROVED, PRELIMINARY}),
    "tool-output-error": frozenset({INPUT_AVAILABLE, APPROVED, PRELIMINARY}),
    "tool-output-denied": frozenset({APPROVAL_REQUESTED, DENIED}),
}

INPUT_ENDING_CHUNKS: Final = frozenset(
    kind for kind, states in TOOL_RULES.items() if INPUT_STREAMING in states
) - {"tool-input-delta"}
"""The chunks that end a call's streaming input, read off ``TOOL_RULES``: a follower of
a stream (``resume.open_parts``) closes the calls none of them ended."""

PART_STATE_TO_CALL_STATE: Final[dict[str, str]] = {
    # a response that ended mid-input left it so; its step is over, and the client would
    # not find the part again once a new step starts
    "input-streaming": INTERRUPTED,
    "input-available": INPUT_AVAILABLE,
    "approval-requested": APPROVAL_REQUESTED,
    "output-available": OUTPUT_AVAILABLE,
    "output-error": OUTPUT_ERROR,
    "output-denied": OUTPUT_DENIED,
}
"""The state of a call a continued message holds, by its part's ``state`` (answered
approvals and preliminary outputs are told apart by their fields)."""


class ToolCall:
    """One call this stream knows: its name, state, and the step that created it."""

    __slots__ = ("approval_id", "dynamic", "name", "state", "step")

    def __init__(self, name: str, state: str, step: int, dynamic: bool) -> None:
        self.name = name
        self.state = state
        self.step = step  # -1: from the continued message, never reset
        self.dynamic = dynamic
        self.approval_id: str | None = None


def check_tool_chunk(kind: str, tool_call_id: str, state: str) -> None:
    """Raise ``ProtocolError`` unless the chunk ``kind`` may be sent for a call in ``state``."""
    allowed = TOOL_RULES[kind]
    if state in allowed:
        return
    needs = " or ".join(repr(s) if s != NEW else "a new tool call" for s in sorted(allowed))
    described = "unknown to this stream" if state == NEW else f"in state {state!r}"
    raise ProtocolError(
        f"cannot send {kind} for tool call {tool_call_id!r}: it is {described}; "
        f"{kind} needs {needs}"
    )


_UNFINISHED_INPUT_TEXT: Final = "The tool call's input was not completed."


def unfinished_input_error(tool_call_id: str, tool_name: str, *, dynamic: bool) -> Chunk:
    """The ``tool-input-error`` that ends a call whose input never completed (the stream
    ended, or a follower lost it, while the input was streaming)."""
    chunk: Chunk = {
        "type": "tool-input-error",
        "toolCallId": tool_call_id,
        "toolName": tool_name,
        "input": None,
        "errorText": _UNFINISHED_INPUT_TEXT,
    }
    if dynamic:
        chunk["dynamic"] = True
    return chunk


# --- a continued message ------------------------------------------------------------------


@dataclasses.dataclass
class Continuation:
    """What a stream starts from when it continues ``message_id``."""

    message_id: str
    tools: dict[str, ToolCall] = dataclasses.field(default_factory=dict[str, ToolCall])
    approvals: dict[str, str] = dataclasses.field(default_factory=dict[str, str])
    """``{approval_id: tool_call_id}``."""
    data_ids: dict[tuple[str, str], int] = dataclasses.field(
        default_factory=dict[tuple[str, str], int]
    )
    """``{(data part type, id): -1}``: a data part with one of these is updated, not added."""
    reserved_part_ids: set[str] = dataclasses.field(default_factory=set[str])
    metadata_mergeable: bool = True
    """False when the message's metadata is not an object: the client would throw
    merging new metadata into it."""
    interrupted_to_close: list[str] = dataclasses.field(default_factory=list[str])
    """Calls cut off mid-input in the message's last step, closed right after ``start``."""


def adopt_continued_message(
    message: UIMessage | Mapping[str, Any] | BaseModel, *, target: Target
) -> Continuation:
    """The state a stream continuing ``message`` starts from.

    ``message`` is a ``UIMessage`` (a dict is validated as one first, raising pydantic's
    ``ValidationError``); a continuation continues an assistant message, so any other
    role raises ``ValueError``.
    """
    message = as_ui_message(message)
    if message.role != "assistant":
        raise ValueError(
            f"continued_message must be an assistant message; got role {message.role!r}"
        )
    metadata = message.metadata
    adopted = Continuation(
        message.id, metadata_mergeable=metadata is None or type(metadata) is dict
    )
    parts = message.parts
    last_step = max((i for i, p in enumerate(parts) if isinstance(p, StepStartUIPart)), default=-1)
    for index, part in enumerate(parts):
        part_id: Any = getattr(part, "id", None)
        if isinstance(part_id, str):
            if isinstance(part, DataUIPart):
                adopted.data_ids[part.type, part_id] = -1
            else:
                adopted.reserved_part_ids.add(part_id)
        if isinstance(part, (ToolUIPart, DynamicToolUIPart)):
            _adopt_tool_part(adopted, part, in_last_step=index > last_step, target=target)
    return adopted


def _adopt_tool_part(
    adopted: Continuation,
    part: ToolUIPart | DynamicToolUIPart,
    *,
    in_last_step: bool,
    target: Target,
) -> None:
    approval = part.approval
    if part.state == "approval-responded":
        state = APPROVED if approval is not None and approval.approved else DENIED
    elif part.state == "output-available" and part.preliminary is True:
        state = PRELIMINARY
    else:
        state = PART_STATE_TO_CALL_STATE[part.state]
    call = ToolCall(part.tool_name, state, -1, isinstance(part, DynamicToolUIPart))
    if state == INTERRUPTED and in_last_step and target != "v5":
        # the client still finds it in its step until a new step starts: close it
        # right after start (v5 clients would add a second part instead)
        adopted.interrupted_to_close.append(part.tool_call_id)
    if approval is not None:
        call.approval_id = approval.id
        adopted.approvals[approval.id] = part.tool_call_id
    adopted.tools[part.tool_call_id] = call
