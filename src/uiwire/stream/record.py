"""What a finished stream leaves behind: the assembled message and its summary.

The record is built by replaying every chunk through the client's own assembly logic
(``UIMessageAssembler``), so what you persist is exactly what ``useChat`` showed. It is
sealed once, when the stream ends, and never touched again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from uiwire.protocol.machine import Chunk
from uiwire.protocol.message import UIMessageAssembler
from uiwire.protocol.targets import Target
from uiwire.protocol.ui_message import SteeringMessageUIPart, UIMessage

__all__ = ["StreamRecord", "StreamStatus", "ToolCallRecord", "Usage"]

StreamStatus = Literal["finish", "abort", "error", "disconnect"]
"""How a stream ended, as ``on_close`` (and ``ChatEndpoint``'s ``on_finish``) is told:
normally, aborted, failed, or the client left before the last byte (the work may still
have finished: see the record)."""

_USAGE_FIELDS = ("input_tokens", "output_tokens", "reasoning_tokens", "cached_input_tokens")


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts, summed over every model call of the run."""

    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    """Included in ``output_tokens`` (as providers count them)."""
    cached_input_tokens: int = 0
    """Included in ``input_tokens``."""

    def __post_init__(self) -> None:
        for name in _USAGE_FIELDS:
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise ValueError(f"Usage.{name} must be a non-negative int; got {value!r}")

    @classmethod
    def reported(
        cls,
        *,
        input_tokens: object = 0,
        output_tokens: object = 0,
        reasoning_tokens: object = 0,
        cached_input_tokens: object = 0,
    ) -> Usage:
        """Counts as a provider reported them: anything but a non-negative int (a missing
        field, None) counts as 0, so a sloppy report never fails a stream."""
        return cls(
            _reported(input_tokens),
            _reported(output_tokens),
            _reported(reasoning_tokens),
            _reported(cached_input_tokens),
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):  # pyright: ignore[reportUnnecessaryIsInstance]
            return NotImplemented
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
        )

    def as_metadata(self) -> dict[str, int]:
        """The AI SDK's ``LanguageModelUsage`` names, for message metadata; the optional
        counts only when non-zero."""
        metadata = {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "totalTokens": self.total_tokens,
        }
        if self.reasoning_tokens:
            metadata["reasoningTokens"] = self.reasoning_tokens
        if self.cached_input_tokens:
            metadata["cachedInputTokens"] = self.cached_input_tokens
        return metadata


def _reported(value: object) -> int:
    return value if type(value) is int and value >= 0 else 0


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """One tool call as the client ended up showing it."""

    tool_call_id: str
    tool_name: str
    state: str
    """The part's final state: ``input-available``, ``output-available``,
    ``output-error``, ``output-denied``, ``approval-requested`` and so on."""
    input: Any
    output: Any = None
    error_text: str | None = None
    dynamic: bool = False


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """The assembled assistant message of one stream, plus what persistence usually needs."""

    message: dict[str, Any]
    """The ``UIMessage`` exactly as the client assembled it (a private copy)."""
    finish_reason: str | None
    steps: int
    """How many ``start-step`` chunks were sent (model calls, in most adapters)."""
    usage: Usage
    error_text: str | None = None
    """The (masked) text the client was shown, if the stream ended with ``error``."""
    exception: BaseException | None = None
    """The exception that ended the work, for server-side use only."""
    steering_not_delivered: tuple[SteeringMessageUIPart, ...] = ()
    """Steering messages (AI SDK 7) that arrived while the answer ran but that it ended
    before taking: no model saw them, and ``message`` does not hold them."""
    tool_calls: tuple[ToolCallRecord, ...] = field(init=False)
    sources: tuple[dict[str, Any], ...] = field(init=False)

    def __post_init__(self) -> None:
        parts = cast("list[dict[str, Any]]", self.message.get("parts", []))
        object.__setattr__(self, "tool_calls", tuple(_tool_calls(parts)))
        sources = [p for p in parts if p.get("type") in ("source-url", "source-document")]
        object.__setattr__(self, "sources", tuple(sources))

    @property
    def message_id(self) -> str:
        return cast("str", self.message.get("id", ""))

    @property
    def text(self) -> str:
        """Every text part of the message, joined: the answer as plain text."""
        parts = cast("list[dict[str, Any]]", self.message.get("parts", []))
        return "".join(cast("str", p.get("text", "")) for p in parts if p.get("type") == "text")


def _tool_calls(parts: Iterable[Mapping[str, Any]]) -> Iterable[ToolCallRecord]:
    for part in parts:
        kind = part.get("type")
        if not isinstance(kind, str):
            continue
        dynamic = kind == "dynamic-tool"
        if not dynamic and not kind.startswith("tool-"):
            continue
        yield ToolCallRecord(
            tool_call_id=cast("str", part.get("toolCallId", "")),
            tool_name=cast("str", part.get("toolName")) if dynamic else kind[len("tool-") :],
            state=cast("str", part.get("state", "")),
            input=part.get("input"),
            output=part.get("output"),
            error_text=cast("str | None", part.get("errorText")),
            dynamic=dynamic,
        )


class Collector:
    """Replays chunks into a message as they are sent; ``seal`` makes the record."""

    __slots__ = ("_assembler", "_steps", "usage")

    def __init__(
        self,
        *,
        target: Target,
        message_id: str,
        continued_message: UIMessage | Mapping[str, Any] | None,
    ) -> None:
        self._assembler = UIMessageAssembler(
            target=target, message=continued_message, message_id=message_id
        )
        self._steps = 0
        self.usage = Usage()

    @property
    def message(self) -> dict[str, Any]:
        """The message so far (a private copy)."""
        return self._assembler.message

    def apply(self, chunks: list[Chunk]) -> None:
        for chunk in chunks:
            if chunk["type"] == "start-step":
                self._steps += 1
            self._assembler.apply(chunk)

    def delta(self, reasoning: bool, part_id: str, delta: str) -> None:
        """``apply`` of one text (or ``reasoning``) delta, without building its chunk when
        it is plain."""
        if not self._assembler.append_delta(reasoning, part_id, delta):
            kind = "reasoning-delta" if reasoning else "text-delta"
            self._assembler.apply({"type": kind, "id": part_id, "delta": delta})

    def seal(
        self,
        exception: BaseException | None,
        steering_not_delivered: tuple[SteeringMessageUIPart, ...] = (),
    ) -> StreamRecord:
        errors = self._assembler.error_texts
        return StreamRecord(
            message=self._assembler.message,
            finish_reason=self._assembler.finish_reason,
            steps=self._steps,
            usage=self.usage,
            error_text=errors[-1] if errors else None,
            exception=exception,
            steering_not_delivered=steering_not_delivered,
        )
