"""Exceptions raised by the protocol layer.

Two families, kept apart on purpose:

* ``ProtocolError`` is raised *before* a chunk is emitted, when the caller asks for
  something that would make the stream invalid. The machine's state is unchanged.
* ``StreamViolation`` describes a stream that *already exists* (bytes or chunks from
  somewhere) and breaks the client's rules. The validator and the message assembler
  raise it, with the position of the offending event.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["ProtocolError", "StreamViolation", "TargetError", "UIWireError", "ViolationKind"]


class UIWireError(Exception):
    """Base class for every error uiwire raises on purpose."""


class ProtocolError(UIWireError):
    """A request to emit something the client would reject, or in the wrong order.

    Raised by the lifecycle machine instead of producing an invalid stream; nothing was
    emitted and the machine's state is as it was before the call.
    """


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
