"""Every error uiwire raises on purpose, in one tree.

::

    UIWireError                       catch-all: uiwire refused or could not do something
    ├── ProtocolError                 a write would make the stream invalid; nothing sent
    │   └── TargetError               ...because the target client (v5/v6/v7) lacks it
    ├── StreamViolation               an existing stream breaks a rule the client enforces
    ├── UnreplayableMessage           no chunk sequence of the target rebuilds a message
    ├── ChatRequestError              a request to refuse: HTTP status + FieldError list
    ├── StreamStateError (RuntimeError)
    │   │                             a StreamContext used out of order
    │   ├── SteeringQueueFull         an answer has all the steering it can queue
    │   └── StreamClosed              the client left: writes can never reach it
    ├── StreamStoreError              the stream store failed or could not be reached
    ├── StreamInterrupted             a followed stream cannot be read to its end
    ├── ChatStoreError                the chat store failed or could not be reached
    │   └── ChatConflict              the chat changed since it was read: retry
    ├── TurnTimeout (TimeoutError)    a turn ran past ChatEndpoint's time limit
    ├── ApprovalError                 an approval continuation that cannot be honoured
    └── PausedRunTooLarge             a paused run over its byte bound: not kept

Each name is public from one package: ``UIWireError`` from ``uiwire``; ``ProtocolError``,
``TargetError``, ``StreamViolation``, ``UnreplayableMessage``, ``ChatRequestError`` and
``FieldError`` from ``uiwire.protocol``; ``StreamStateError``, ``SteeringQueueFull`` and
``StreamClosed`` from ``uiwire.stream``;
``StreamStoreError`` and ``StreamInterrupted`` from ``uiwire.resume``; ``ChatStoreError``
and ``ChatConflict`` from ``uiwire.chats``; ``TurnTimeout``
from ``uiwire.server``; ``ApprovalError`` and ``PausedRunTooLarge`` from
``uiwire.adapters.agents``. They are
declared here, with no dependency, so that a layer can raise the error of another
without importing it (the protocol layer knows nothing of servers).

Exceptions raised for a wrong argument to a uiwire function (a programming mistake, found
at construction) are the standard ``TypeError`` and ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ApprovalError",
    "ChatConflict",
    "ChatRequestError",
    "ChatStoreError",
    "FieldError",
    "PausedRunTooLarge",
    "ProtocolError",
    "SteeringQueueFull",
    "StreamClosed",
    "StreamInterrupted",
    "StreamStateError",
    "StreamStoreError",
    "StreamViolation",
    "TargetError",
    "TurnTimeout",
    "UIWireError",
    "UnreplayableMessage",
    "ViolationKind",
]


class UIWireError(Exception):
    """Base class for every error uiwire raises on purpose."""


# --- the protocol layer ---------------------------------------------------------------


class ProtocolError(UIWireError):
    """A request to emit something the client would reject, or in the wrong order.

    Raised by the lifecycle machine instead of producing an invalid stream; nothing was
    emitted and the machine's state is as it was before the call.
    """


class EventTooLarge(ProtocolError):
    """A chunk whose SSE event would be longer than an ``ai`` client reads
    (``MAX_EVENT_CHARS``): it fails the client's whole stream, so it is never sent."""

    def __init__(self, message: str, *, chunk_type: str, field: str | None, size: int) -> None:
        super().__init__(message)
        self.chunk_type = chunk_type
        self.field = field
        self.size = size


class TargetError(ProtocolError):
    """A chunk type, field or value that the chosen protocol target does not accept."""

    def __init__(self, message: str, *, target: str, chunk_type: str, field: str | None) -> None:
        super().__init__(message)
        self.target = target
        self.chunk_type = chunk_type
        self.field = field


ViolationKind = Literal["sse", "json", "schema", "ordering"]


class StreamViolation(UIWireError):
    """The first place where a stream breaks a rule the AI SDK client enforces.

    ``kind`` says which layer of the client would fail: ``"json"`` (the event's data is
    not acceptable JSON), ``"schema"`` (the chunk fails ``uiMessageChunkSchema``) or
    ``"ordering"`` (``processUIMessageStream`` throws). ``index`` is the position of the
    offending event in the stream (0-based, ``[DONE]`` and comments not counted) when
    known, and ``chunk_type`` / ``chunk_id`` mirror the client's ``UIMessageStreamError``.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: ViolationKind,
        index: int | None = None,
        chunk_type: str | None = None,
        chunk_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind: ViolationKind = kind
        self.index = index
        self.chunk_type = chunk_type
        self.chunk_id = chunk_id

    def __str__(self) -> str:
        where = f"event {self.index}: " if self.index is not None else ""
        return f"{where}{self.kind} violation: {self.message}"


class UnreplayableMessage(UIWireError):
    """A valid assistant ``UIMessage`` that no chunk sequence of the target client
    rebuilds (``message_chunks``): a part or field the target lacks, an id the client
    would merge, a value no chunk sets. The message is fine; only its replay is not.
    ``field`` is its path in the message (``parts[3].state``), or None for the whole."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FieldError:
    """One problem with a request: where (``messages[0].parts[1].url``), what, and a
    stable ``type`` to branch on (pydantic's, or ``url_scheme``, ``proto_key``,
    ``json_invalid``, ``part_type``, ``tool_state``, ...)."""

    field: str
    message: str
    type: str


class ChatRequestError(UIWireError):
    """A request to refuse, with the HTTP status to answer and what is wrong with it."""

    def __init__(self, errors: Sequence[FieldError], *, status_code: int = 422) -> None:
        self.errors: list[FieldError] = list(errors)
        self.status_code = status_code
        super().__init__(self._summary())

    def _summary(self) -> str:
        if not self.errors:
            return "invalid chat request"
        first = self.errors[0]
        more = len(self.errors) - 1
        return f"{first.field}: {first.message}" + (f" (and {more} more)" if more else "")

    def __str__(self) -> str:
        return self._summary()

    def to_json(self) -> dict[str, Any]:
        """An HTTP error body: ``{"error": {"message", "fields": [...]}}``."""
        return {
            "error": {
                "message": self._summary(),
                "fields": [
                    {"field": e.field, "message": e.message, "type": e.type} for e in self.errors
                ],
            }
        }


# --- the push API ---------------------------------------------------------------------


class StreamStateError(UIWireError, RuntimeError):
    """The context was used out of order: work started twice, a second reader, and so on."""


class SteeringQueueFull(StreamStateError):
    """An answer already has ``MAX_PENDING_STEERING`` steering messages waiting for its
    next step: one more would only grow the queue a client can fill."""


class StreamClosed(StreamStateError):
    """A write that can never reach the client: the client left or the loop is closed.

    Worker threads should treat it as "stop": the work they feed was cancelled.
    """


# --- resumable streams ----------------------------------------------------------------


class StreamStoreError(UIWireError):
    """The stream store could not be reached or failed. What was asked may or may not
    have happened (a write whose reply was lost), so callers treat the stream as broken."""


class StreamInterrupted(UIWireError):
    """A followed stream cannot be read to its end: the worker generating it stopped, or
    the store lost part of it. Followers end the body with an ``error`` chunk."""


# --- serving and adapters -------------------------------------------------------------


class TurnTimeout(UIWireError, TimeoutError):
    """A turn ran past ``ResponseOptions(timeout=...)``; the client sees it masked."""


class ApprovalError(UIWireError):
    """An approval continuation that cannot be honoured; nothing was run.

    ``status_code`` is the HTTP status to answer with (404: no such pending approval,
    maybe expired, already used, or paused in another chat or for another owner; 409:
    the conversation before the message changed; 422: the message does not match it);
    ``field`` is the path of the offending field in the continued message.
    """

    def __init__(self, message: str, *, status_code: int, field: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.field = field


class PausedRunTooLarge(UIWireError):
    """A run paused for approvals or client-side tools needs a record over the
    adapter's ``approval_max_bytes``: it was not kept, and the run ends with an error
    (masked for the client)."""


class ChatStoreError(UIWireError):
    """The chat store failed or could not be reached (or did not answer in time). The
    request that needed it answers 503; nothing half-written is left behind."""


class ChatConflict(ChatStoreError):
    """The chat changed between reading it and writing to it (another tab, another
    worker): the write was not made. The request answers 409; the client may retry."""
