"""Human in the loop: paused runs kept on the server, under the id of their message.

A run that stops on tool approvals or on client-side tools is serialized
(``RunState.to_string()``) into an ``ApprovalStore`` under its assistant message's id
(server-generated and unguessable when ``ChatEndpoint`` makes it); the client gets one
fresh unguessable approval id per approval, ``aprv_<nonce>_<n>``, and the client-side
calls as ``input-available`` parts. The next request continues that message: its
``approval-responded`` tool parts carry the answers, its ``output-available`` /
``output-error`` parts the client's tool results. The record is *taken* from the store
(one resume per pause: a replayed or concurrent request finds nothing), checked against
the message, and the run resumes from the stored state: tool arguments come from there,
never from the client. A request that does not match gets an ``ApprovalError`` with an
HTTP status and the path of the field at fault, and the record goes back unchanged.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import logging
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast, runtime_checkable

from uiwire._errors import ApprovalError
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
    """Where paused runs wait for their approvals. ``pop`` must be atomic: two requests
    racing for one key must not both get the record."""

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


def as_message(message: Any) -> Mapping[str, Any]:
    """A UIMessage as a mapping (a pydantic model is dumped), or a 422."""
    dump = getattr(message, "model_dump", None)
    if callable(dump):
        message = dump(mode="json", by_alias=True, exclude_none=True)
    if not isinstance(message, Mapping):
        raise ApprovalError(
            f"the continued message must be a UIMessage object; got {type(message).__name__}",
            status_code=422,
        )
    return cast("Mapping[str, Any]", message)


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
    parts = as_message(message).get("parts")
    found: dict[str, ClientToolResult] = {}
    if not isinstance(parts, list):
        return found
    for index, part in enumerate(cast("list[Any]", parts)):
        if not isinstance(part, Mapping):
            continue
        part = cast("Mapping[str, Any]", part)
        call_id, state = part.get("toolCallId"), part.get("state")
        if not isinstance(call_id, str) or part.get("preliminary") is True:
            continue
        where = f"parts[{index}]"
        if state == "output-available":
            found[call_id] = ClientToolResult(call_id, part.get("output"), None, where)
        elif state == "output-error":
            error_text = part.get("errorText")
            found[call_id] = ClientToolResult(call_id, None, str(error_text or "error"), where)
    return found


def approval_responses(message: Any) -> list[ApprovalResponse]:
    """The approval answers (``approval-responded`` tool parts) in an assistant message.

    Raises ``ApprovalError`` (422) for a malformed one, naming its field.
    """
    parts = as_message(message).get("parts")
    if not isinstance(parts, list):
        raise ApprovalError("message.parts must be a list", status_code=422, field="parts")
    found: list[ApprovalResponse] = []
    for index, part in enumerate(cast("list[Any]", parts)):
        if not isinstance(part, Mapping):
            continue
        part = cast("Mapping[str, Any]", part)
        kind = part.get("type")
        is_tool = isinstance(kind, str) and (kind.startswith("tool-") or kind == "dynamic-tool")
        if not is_tool or part.get("state") != "approval-responded":
            continue
        where = f"parts[{index}]"
        approval = part.get("approval")
        if not isinstance(approval, Mapping):
            raise ApprovalError(
                f"{where}.approval must be an object", status_code=422, field=f"{where}.approval"
            )
        approval = cast("Mapping[str, Any]", approval)
        approval_id, approved = approval.get("id"), approval.get("approved")
        reason, call_id = approval.get("reason"), part.get("toolCallId")
        if not isinstance(approval_id, str) or not approval_id:
            raise ApprovalError(
                f"{where}.approval.id must be a non-empty string",
                status_code=422,
                field=f"{where}.approval.id",
            )
        if not isinstance(approved, bool):
            raise ApprovalError(
                f"{where}.approval.approved must be true or false",
                status_code=422,
                field=f"{where}.approval.approved",
            )
        if reason is not None and not isinstance(reason, str):
            raise ApprovalError(
                f"{where}.approval.reason must be a string",
                status_code=422,
                field=f"{where}.approval.reason",
            )
        if not isinstance(call_id, str):
            raise ApprovalError(
                f"{where}.toolCallId must be a string", status_code=422, field=f"{where}.toolCallId"
            )
        found.append(ApprovalResponse(approval_id, call_id, approved, reason, where))
    return found


@dataclasses.dataclass(frozen=True, slots=True)
class PendingApprovals:
    """A paused run as stored: the serialized ``RunState`` and what was asked."""

    message_id: str
    """The paused assistant message; also the record's key in the store."""
    state: str
    agent: str | None
    calls: Mapping[str, tuple[str, str]]
    """``{approval_id: (tool_call_id, tool_name)}``: the approvals asked."""
    expires_at: float
    """Wall-clock time (``time.time()``) after which the store may drop it."""
    usage: Usage = dataclasses.field(default_factory=Usage)
    """The tokens the run used before it paused (the resumed run adds to them)."""
    client_calls: Mapping[str, str] = dataclasses.field(default_factory=dict[str, str])
    """``{tool_call_id: tool_name}``: the calls the browser runs (``client_tool``)."""

    @staticmethod
    def approval_ids(count: int) -> list[str]:
        """Fresh unguessable approval ids for one pause."""
        nonce = secrets.token_hex(16)
        return [f"aprv_{nonce}_{index}" for index in range(count)]

    def tool_names(self) -> dict[str, str]:
        """``{tool_call_id: tool_name}`` of every call the pause left open."""
        return {**dict(self.calls.values()), **self.client_calls}

    def dumps(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "message_id": self.message_id,
                "state": self.state,
                "agent": self.agent,
                "calls": {k: list(v) for k, v in self.calls.items()},
                "client_calls": dict(self.client_calls),
                "expires_at": self.expires_at,
                "usage": dataclasses.asdict(self.usage),
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
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Answers:
    """What a continued message answers, checked against its paused run."""

    approvals: Mapping[str, ApprovalResponse]
    """``{tool_call_id: answer}``."""
    client_results: Mapping[str, ClientToolResult]
    """``{tool_call_id: result}`` for the client-side calls."""


async def take_pending(store: ApprovalStore, message: Any) -> tuple[PendingApprovals, Answers]:
    """Take the paused run that ``message`` continues, checked against its answers.

    On any mismatch the record is put back and ``ApprovalError`` raised.
    """
    mapping = as_message(message)
    message_id = mapping.get("id")
    if not isinstance(message_id, str) or not message_id:
        raise ApprovalError("message.id must be a non-empty string", status_code=422, field="id")
    answers = approval_responses(mapping)
    results = client_tool_results(mapping)
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
    record = await store.pop(message_id)
    if record is None:
        raise ApprovalError(
            f"message {message_id!r} has no paused run (unknown, expired or already continued)",
            status_code=404,
            field="id",
        )
    pending = PendingApprovals.loads(record)
    try:
        checked = _check(pending, message_id, answers, results)
    except ApprovalError:
        remaining = pending.expires_at - time.time()
        if remaining > 0:
            await store.put(message_id, record, remaining)
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
