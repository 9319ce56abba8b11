"""Check any SSE body the way the AI SDK client reads it, and say where it first breaks.

The layers run in the client's order: SSE framing (``sse.parse_sse``), secure JSON per
event (``sse.decode_event_data``), the chunk schema of the target (``chunks``), then
``processUIMessageStream``'s ordering rules (``message.UIMessageAssembler``). Two rules
are stricter than a lenient client and match what uiwire promises: fields the target's
schema does not name are reported (clients before 6.0.231 reject them), and the body must
end with ``data: [DONE]`` and a blank line (the SDK's own server always sends it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from uiwire._errors import StreamViolation, TargetError
from uiwire.protocol.chunks import check_chunk_target, describe_validation_error, parse_chunk
from uiwire.protocol.message import UIMessageAssembler
from uiwire.protocol.sse import decode_event_data, parse_sse
from uiwire.protocol.targets import DEFAULT_TARGET, Target, as_target
from uiwire.protocol.ui_message import UIMessage

__all__ = ["StreamReport", "check_stream", "validate_stream"]

_DONE = "[DONE]"


@dataclass
class StreamReport:
    """What the client would make of a body: the message, or where it stopped and why."""

    chunks: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    """Every chunk that passed JSON and schema checks, in order (``[DONE]`` excluded)."""
    message: dict[str, Any] = field(default_factory=dict[str, Any])
    """The assembled UIMessage, as it stood when processing ended."""
    finish_reason: str | None = None
    error_texts: list[str] = field(default_factory=list[str])
    """``errorText`` of each ``error`` chunk (``useChat`` stops at the first)."""
    violation: StreamViolation | None = None

    @property
    def ok(self) -> bool:
        return self.violation is None


def check_stream(
    body: bytes | str,
    *,
    target: Target = DEFAULT_TARGET,
    message: UIMessage | Mapping[str, Any] | None = None,
    message_id: str = "",
) -> StreamReport:
    """Read ``body`` as the client would; report the first violation instead of raising.

    ``message`` is the assistant message being continued, if any (as ``useChat`` holds it
    when it sends an approval or a tool result): a ``UIMessage``, or a dict validated as
    one.
    """
    target = as_target(target)
    assembler = UIMessageAssembler(target=target, message=message, message_id=message_id)
    report = StreamReport()
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    events = parse_sse(text)
    index = 0
    done_seen = False
    try:
        for data in events:
            if data == _DONE:
                done_seen = True
                continue
            if done_seen:
                raise StreamViolation(
                    "an event follows data: [DONE]; the SDK's server ends every stream there",
                    kind="sse",
                    index=index,
                )
            chunk = _decode(data, index, target)
            assembler.apply(chunk)
            report.chunks.append(chunk)
            index += 1
        if not done_seen:
            raise StreamViolation(
                "the stream does not end with 'data: [DONE]' (and a blank line)",
                kind="sse",
                index=index,
            )
        if not text.endswith(("\n\n", "\r\n\r\n", "\r\r")):
            raise StreamViolation(
                "the body ends with an unterminated event, which the client drops",
                kind="sse",
                index=index,
            )
    except StreamViolation as violation:
        if violation.index is None:
            violation.index = index
        report.violation = violation
    report.message = assembler.message
    report.finish_reason = assembler.finish_reason
    report.error_texts = list(assembler.error_texts)
    return report


def validate_stream(
    body: bytes | str,
    *,
    target: Target = DEFAULT_TARGET,
    message: UIMessage | Mapping[str, Any] | None = None,
    message_id: str = "",
) -> StreamReport:
    """Like ``check_stream``, but raise the first ``StreamViolation``."""
    report = check_stream(body, target=target, message=message, message_id=message_id)
    if report.violation is not None:
        raise report.violation
    return report


def _decode(data: str, index: int, target: Target) -> dict[str, Any]:
    value = decode_event_data(data)
    if not isinstance(value, dict):
        raise StreamViolation(
            f"the event's JSON is a {type(value).__name__}, not a chunk object",
            kind="schema",
            index=index,
        )
    chunk: dict[str, Any] = value  # pyright: ignore[reportUnknownVariableType]
    chunk_type = chunk.get("type")
    try:
        check_chunk_target(chunk, target)
        parse_chunk(data)
    except TargetError as exc:
        raise StreamViolation(
            str(exc), kind="schema", index=index, chunk_type=exc.chunk_type
        ) from None
    except ValidationError as exc:
        raise StreamViolation(
            describe_validation_error(chunk_type, exc),
            kind="schema",
            index=index,
            chunk_type=chunk_type if isinstance(chunk_type, str) else None,
        ) from None
    return chunk
