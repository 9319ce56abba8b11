"""Human in the loop: paused runs kept on the server, under approval ids it generated.

A run that stops on tool approvals is serialized (``RunState.to_string()``) into an
``ApprovalStore`` under a fresh unguessable key; the client gets one approval id per
call, ``aprv_<key>_<n>``. The next request carries the answers in the assistant
message's ``approval-responded`` tool parts. The record is *taken* from the store (one
resume per pause: a replayed or concurrent request finds nothing), checked against the
message, and the run resumes from the stored state: tool arguments come from there,
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

from uiwire.protocol.errors import UIWireError
from uiwire.stream.record import Usage

__all__ = [
    "ApprovalError",
    "ApprovalResponse",
    "ApprovalStore",
    "MemoryApprovalStore",
    "PendingApprovals",
    "approval_responses",
]

logger = logging.getLogger("uiwire.agents")

_APPROVAL_ID = re.compile(r"aprv_([0-9a-f]{32})_([0-9]{1,4})")


class ApprovalError(UIWireError):
    """An approval continuation that cannot be honoured; nothing was run.

    ``status_code`` is the HTTP status to answer with (404: no such pending approval,
    maybe expired or already used; 422: the message does not match it); ``field`` is
    the path of the offending field in the continued message.
    """

    def __init__(self, message: str, *, status_code: int, field: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.field = field


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

    key: str
    message_id: str
    state: str
    agent: str | None
    calls: Mapping[str, tuple[str, str]]
    """``{approval_id: (tool_call_id, tool_name)}``."""
    expires_at: float
    """Wall-clock time (``time.time()``) after which the store may drop it."""
    usage: Usage = dataclasses.field(default_factory=Usage)
    """The tokens the run used before it paused (the resumed run adds to them)."""

    @staticmethod
    def new_key() -> str:
        return secrets.token_hex(16)

    @staticmethod
    def approval_id(key: str, index: int) -> str:
        return f"aprv_{key}_{index}"

    def dumps(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "message_id": self.message_id,
                "state": self.state,
                "agent": self.agent,
                "calls": {k: list(v) for k, v in self.calls.items()},
                "expires_at": self.expires_at,
                "usage": dataclasses.asdict(self.usage),
            }
        )

    @classmethod
    def loads(cls, key: str, record: str) -> PendingApprovals:
        data = json.loads(record)
        return cls(
            key=key,
            message_id=data["message_id"],
            state=data["state"],
            agent=data["agent"],
            calls={k: (v[0], v[1]) for k, v in data["calls"].items()},
            expires_at=float(data["expires_at"]),
            usage=Usage(**data.get("usage", {})),
        )


async def take_pending(
    store: ApprovalStore, message: Any
) -> tuple[PendingApprovals, Mapping[str, ApprovalResponse]]:
    """Take the paused run that ``message`` answers, checked; ``{tool_call_id: answer}``.

    On any mismatch the record is put back and ``ApprovalError`` raised.
    """
    mapping = as_message(message)
    message_id = mapping.get("id")
    if not isinstance(message_id, str) or not message_id:
        raise ApprovalError("message.id must be a non-empty string", status_code=422, field="id")
    answers = approval_responses(mapping)
    if not answers:
        raise ApprovalError(
            "the message has no approval-responded tool parts to resume from",
            status_code=422,
            field="parts",
        )
    keys: dict[str, ApprovalResponse] = {}
    for answer in answers:
        match = _APPROVAL_ID.fullmatch(answer.approval_id)
        if match is None:
            raise ApprovalError(
                f"unknown approval id {answer.approval_id!r}",
                status_code=404,
                field=f"{answer.field}.approval.id",
            )
        keys.setdefault(match.group(1), answer)
    if len(keys) > 1:
        second = list(keys.values())[1]
        raise ApprovalError(
            "the approvals answered belong to different paused runs",
            status_code=422,
            field=f"{second.field}.approval.id",
        )
    key, first = next(iter(keys.items()))
    record = await store.pop(key)
    if record is None:
        raise ApprovalError(
            f"no pending approval {first.approval_id!r} (unknown, expired or already answered)",
            status_code=404,
            field=f"{first.field}.approval.id",
        )
    pending = PendingApprovals.loads(key, record)
    try:
        by_call = _check(pending, message_id, answers)
    except ApprovalError:
        remaining = pending.expires_at - time.time()
        if remaining > 0:
            await store.put(key, record, remaining)
        raise
    return pending, by_call


def _check(
    pending: PendingApprovals, message_id: str, answers: Sequence[ApprovalResponse]
) -> dict[str, ApprovalResponse]:
    if message_id != pending.message_id:
        raise ApprovalError(
            "the approvals were asked in another message", status_code=422, field="id"
        )
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
    missing = [aid for aid, (call_id, _) in pending.calls.items() if call_id not in by_call]
    if missing:
        raise ApprovalError(
            f"approval {missing[0]!r} has no answer: answer every approval of the message",
            status_code=422,
            field="parts",
        )
    return by_call
