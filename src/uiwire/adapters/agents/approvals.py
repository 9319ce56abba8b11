"""Human in the loop: paused runs kept on the server, bound to where they paused.

A run that stops on tool approvals or on client-side tools is serialized
(``RunState.to_json()``) into an ``ApprovalStore`` under a key derived from (owner, chat
id, assistant message id): a digest, so ids leaked from the stream are useless from
another chat or another owner, and no part of them reaches a store's key names. The
client gets one fresh unguessable approval id per approval, ``aprv_<nonce>_<n>``, and
the client-side calls as ``input-available`` parts. The next request continues that
message: its ``approval-responded`` tool parts carry the answers, its
``output-available`` / ``output-error`` parts the client's tool results. The record is
*taken* from the store (one resume per pause: a replayed or concurrent request finds
nothing), checked against the message, and the run resumes from the stored state: tool
arguments come from there, never from the client. A request that does not match gets
an ``ApprovalError`` with an HTTP status and the path of the field at fault, and the
record goes back unchanged.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from uiwire._errors import ApprovalError
from uiwire.protocol.ui_message import (
    DynamicToolUIPart,
    ToolUIPart,
    UIMessage,
    as_ui_message,
    readable_path,
)
from uiwire.stream.record import Usage

__all__ = [
    "ApprovalResponse",
    "ApprovalStore",
    "ClientToolResult",
    "MemoryApprovalStore",
    "PendingApprovals",
    "approval_responses",
]

logger = logging.getLogger("uiwire.agents")

_APPROVAL_ID = re.compile(r"aprv_[0-9a-f]{32}_[0-9]{1,4}")


@runtime_checkable
class ApprovalStore(Protocol):
    """Where paused runs wait for their approvals. A ``key`` is a hex digest
    (``PendingApprovals.key``). ``pop`` must be atomic: two requests racing for one key
    must not both get the record."""

    async def put(self, key: str, record: str, ttl: float) -> None: ...

    async def pop(self, key: str) -> str | None: ...


class MemoryApprovalStore:
    """The default store: this process's memory, entries expire after their ttl, and the
    oldest go first beyond ``max_entries``. Use a shared store with several workers."""

    def __init__(self, *, max_entries: int = 10_000) -> None:
        if type(max_entries) is not int or max_entries < 1:
            raise ValueError(f"max_entries must be a positive int; got {max_entries!r}")
        self._max = max_entries
        self._entries: collections.OrderedDict[str, tuple[float, str]] = collections.OrderedDict()
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    async def put(self, key: str, record: str, ttl: float) -> None:
        now = time.monotonic()
        async with self._lock:
            while self._entries:
                oldest_key, (expires, _) = next(iter(self._entries.items()))
                if expires > now and len(self._entries) < self._max:
                    break
                del self._entries[oldest_key]
                if expires > now:
                    logger.warning(
                        "approval store full (%d entries): dropped the oldest pending run",
                        self._max,
                    )
            self._entries[key] = (now + ttl, record)

    async def pop(self, key: str) -> str | None:
        async with self._lock:
            entry = self._entries.pop(key, None)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]


@dataclasses.dataclass(frozen=True, slots=True)
class ApprovalResponse:
    """One answered approval in a continued message."""

    approval_id: str
    tool_call_id: str
    approved: bool
    reason: str | None
    field: str
    """Where it is in the message, e.g. ``parts[3]``."""


def as_message(message: Any) -> UIMessage:
    """The continued message as a ``UIMessage`` (a dict is validated as one), or a 422
    naming the first bad field."""
    try:
        return as_ui_message(message)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = readable_path(error["loc"]) if error["loc"] else None
        where = f"{field}: " if field else "the continued message: "
        raise ApprovalError(f"{where}{error['msg']}", status_code=422, field=field) from None


@dataclasses.dataclass(frozen=True, slots=True)
class ClientToolResult:
    """What the browser answered for a client-side tool call (``addToolOutput``)."""

    tool_call_id: str
    output: Any
    error_text: str | None
    """Set when the client reported ``output-error``; ``output`` is then None."""
    field: str


def client_tool_results(message: Any) -> dict[str, ClientToolResult]:
    """The final tool results in an assistant message, by call id (only the ones the
    paused run asked the client for are used)."""
    found: dict[str, ClientToolResult] = {}
    for index, part in enumerate(as_message(message).parts):
        if not isinstance(part, (ToolUIPart, DynamicToolUIPart)) or part.preliminary is True:
            continue
        call_id, where = part.tool_call_id, f"parts[{index}]"
        if part.state == "output-available":
            found[call_id] = ClientToolResult(call_id, part.output, None, where)
        elif part.state == "output-error":
            found[call_id] = ClientToolResult(call_id, None, part.error_text or "error", where)
    return found


def approval_responses(message: Any) -> list[ApprovalResponse]:
    """The approval answers (``approval-responded`` tool parts) in an assistant message.

    ``message`` is a ``UIMessage`` or a dict validated as one (``ApprovalError``, 422,
    naming the field, when it is not one).
    """
    found: list[ApprovalResponse] = []
    for index, part in enumerate(as_message(message).parts):
        if not isinstance(part, (ToolUIPart, DynamicToolUIPart)):
            continue
        approval = part.approval
        # an answered approval has its ``approved``: the UIMessage's rule for this state
        if part.state != "approval-responded" or approval is None or approval.approved is None:
            continue
        found.append(
            ApprovalResponse(
                approval.id,
                part.tool_call_id,
                approval.approved,
                approval.reason,
                f"parts[{index}]",
            )
        )
    return found


@dataclasses.dataclass(frozen=True, slots=True)
class PendingApprovals:
    """A paused run as stored: the serialized ``RunState`` and what was asked."""

    message_id: str
    """The paused assistant message (its key in the store: ``key``)."""
    state: str
    """``RunState.to_json()`` as compact JSON; its ``original_input`` is empty when
    ``input_items`` is set."""
    agent: str | None
    calls: Mapping[str, tuple[str, str]]
    """``{approval_id: (tool_call_id, tool_name)}``: the approvals asked."""
    expires_at: float
    """Wall-clock time (``time.time()``) after which the store may drop it."""
    usage: Usage = dataclasses.field(default_factory=Usage)
    """The tokens the run used before it paused (the resumed run adds to them)."""
    client_calls: Mapping[str, str] = dataclasses.field(default_factory=dict[str, str])
    """``{tool_call_id: tool_name}``: the calls the browser runs (``client_tool``)."""
    answered: Mapping[str, tuple[str, str]] = dataclasses.field(
        default_factory=dict[str, tuple[str, str]]
    )
    """``{approval_id: (tool_call_id, tool_name)}``: approvals answered in an earlier
    round whose calls still run (an agent used as a tool whose nested run paused again).
    Their parts stay ``approval-responded``; the next answers may carry them."""
    input_items: int | None = None
    """None: the state holds the run's input. Else it was stored without it (that many
    input items: the conversation, files and all), and resuming rebuilds it from the
    turn's messages before the continued one."""

    @staticmethod
    def key(owner: str | None, chat_id: str | None, message_id: str) -> str:
        """The store key of the run paused in ``message_id`` of ``chat_id``, asked by
        ``owner``: a hex digest, the same for those three ids only."""
        bound = json.dumps([owner, chat_id, message_id], separators=(",", ":"))
        return hashlib.sha256(bound.encode()).hexdigest()

    @staticmethod
    def approval_ids(count: int) -> list[str]:
        """Fresh unguessable approval ids for one pause."""
        nonce = secrets.token_hex(16)
        return [f"aprv_{nonce}_{index}" for index in range(count)]

    def tool_names(self) -> dict[str, str]:
        """``{tool_call_id: tool_name}`` of every call the pause left open."""
        return {
            **dict(self.answered.values()),
            **dict(self.calls.values()),
            **self.client_calls,
        }

    def dumps(self) -> str:
        return json.dumps(
            {
                "v": 2,
                "message_id": self.message_id,
                "state": self.state,
                "agent": self.agent,
                "calls": {k: list(v) for k, v in self.calls.items()},
                "client_calls": dict(self.client_calls),
                "expires_at": self.expires_at,
                "usage": dataclasses.asdict(self.usage),
                "input_items": self.input_items,
                "answered": dict(self.answered),
            }
        )

    @classmethod
    def loads(cls, record: str) -> PendingApprovals:
        data = json.loads(record)
        return cls(
            message_id=data["message_id"],
            state=data["state"],
            agent=data["agent"],
            calls={k: (v[0], v[1]) for k, v in data["calls"].items()},
            expires_at=float(data["expires_at"]),
            usage=Usage(**data.get("usage", {})),
            client_calls=dict(data.get("client_calls", {})),
            input_items=data.get("input_items"),
            answered={k: (v[0], v[1]) for k, v in data.get("answered", {}).items()},
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Answers:
    """What a continued message answers, checked against its paused run."""

    approvals: Mapping[str, ApprovalResponse]
    """``{tool_call_id: answer}``."""
    client_results: Mapping[str, ClientToolResult]
    """``{tool_call_id: result}`` for the client-side calls."""


async def take_pending(
    store: ApprovalStore,
    message: Any,
    *,
    chat_id: str | None,
    owner: str | None,
    conversation_items: int | None = None,
    prefix: bool = False,
) -> tuple[PendingApprovals, Answers]:
    """Take the paused run that ``message`` continues in ``chat_id`` for ``owner``,
    checked against its answers. A run paused elsewhere is not found (404).
    ``conversation_items``: the number of input items the turn's messages before
    ``message`` make, to rebuild a run stored without its input (None: no turn);
    with ``prefix``, the items of the chat's session, whose first ones are the input.

    On any mismatch the record is put back and ``ApprovalError`` raised.
    """
    typed = as_message(message)
    if typed.role != "assistant":
        raise ApprovalError(
            f"a continuation continues an assistant message; got role {typed.role!r}",
            status_code=422,
            field="role",
        )
    message_id = typed.id
    answers = approval_responses(typed)
    results = client_tool_results(typed)
    if not answers and not results:
        raise ApprovalError(
            "the message has no approval-responded or output tool parts to resume from",
            status_code=422,
            field="parts",
        )
    for answer in answers:
        if _APPROVAL_ID.fullmatch(answer.approval_id) is None:
            raise ApprovalError(
                f"unknown approval id {answer.approval_id!r}",
                status_code=404,
                field=f"{answer.field}.approval.id",
            )
    key = PendingApprovals.key(owner, chat_id, message_id)
    record = await store.pop(key)
    if record is None:
        raise ApprovalError(
            f"message {message_id!r} has no paused run (unknown, expired or already continued)",
            status_code=404,
            field="id",
        )
    pending = PendingApprovals.loads(record)
    try:
        checked = _check(pending, message_id, answers, results)
        _check_conversation(pending, conversation_items, prefix=prefix)
    except ApprovalError:
        remaining = pending.expires_at - time.time()
        if remaining > 0:
            await store.put(key, record, remaining)
        raise
    return pending, checked


def _check(
    pending: PendingApprovals,
    message_id: str,
    answers: Sequence[ApprovalResponse],
    results: Mapping[str, ClientToolResult],
) -> Answers:
    if message_id != pending.message_id:  # a store shared with other keys
        raise ApprovalError("the run paused in another message", status_code=422, field="id")
    by_call: dict[str, ApprovalResponse] = {}
    for answer in answers:
        asked = pending.calls.get(answer.approval_id)
        earlier = pending.answered.get(answer.approval_id)
        if asked is None and earlier is not None and earlier[0] == answer.tool_call_id:
            continue  # answered in an earlier round, its call still runs
        if asked is None:
            raise ApprovalError(
                f"unknown approval id {answer.approval_id!r}",
                status_code=404,
                field=f"{answer.field}.approval.id",
            )
        if asked[0] != answer.tool_call_id:
            raise ApprovalError(
                f"approval {answer.approval_id!r} was asked for another tool call",
                status_code=422,
                field=f"{answer.field}.toolCallId",
            )
        by_call[answer.tool_call_id] = answer
    for call_id, _ in pending.calls.values():
        forged = results.get(call_id)
        if forged is not None:
            raise ApprovalError(
                f"tool call {call_id!r} runs on the server once approved: its output cannot "
                "come from the client",
                status_code=422,
                field=forged.field,
            )
    missing = [aid for aid, (call_id, _) in pending.calls.items() if call_id not in by_call]
    if missing:
        raise ApprovalError(
            f"approval {missing[0]!r} has no answer: answer every approval of the message",
            status_code=422,
            field="parts",
        )
    client: dict[str, ClientToolResult] = {}
    for call_id in pending.client_calls:
        result = results.get(call_id)
        if result is None:
            raise ApprovalError(
                f"client-side tool call {call_id!r} has no result: answer it with addToolOutput",
                status_code=422,
                field="parts",
            )
        client[call_id] = result
    return Answers(by_call, client)


def _check_conversation(
    pending: PendingApprovals, conversation_items: int | None, *, prefix: bool
) -> None:
    """A run stored without its input needs it rebuilt from the same conversation (or
    from a session holding at least that many items)."""
    if pending.input_items is None:
        return
    if conversation_items is None:
        raise ApprovalError(
            "the run was stored without its conversation: continue it with the turn's "
            "messages (ChatEndpoint, AgentsAdapter.begin_turn)",
            status_code=422,
            field=None,
        )
    if prefix and conversation_items >= pending.input_items:
        return
    if conversation_items != pending.input_items:
        raise ApprovalError(
            f"the conversation before the message changed since the run paused "
            f"({pending.input_items} input items then, {conversation_items} now)",
            status_code=409,
            field=None,
        )
