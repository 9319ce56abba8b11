"""uiwire's own promises about a stream, stricter than what the client enforces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from uiwire.protocol.validate import check_stream

_TERMINAL = {"finish", "abort", "error"}
_PART_CREATING = {
    "text-start",
    "reasoning-start",
    "tool-input-start",
    "source-url",
    "source-document",
    "file",
    "custom",
    "reasoning-file",
}


def check_lifecycle(chunks: Sequence[dict[str, Any]]) -> None:
    """Assert the shape every uiwire stream has (AssertionError names the chunk index)."""
    assert chunks, "empty stream"
    assert chunks[0]["type"] == "start", "the first chunk must be start"
    assert isinstance(chunks[0].get("messageId"), str), "start must carry a messageId"
    assert chunks[-1]["type"] in _TERMINAL, (
        f"the last chunk must end the stream, got {chunks[-1]['type']}"
    )
    in_step = False
    open_text: set[str] = set()
    open_reasoning: set[str] = set()
    for index, chunk in enumerate(chunks):
        kind = chunk["type"]
        where = f"chunk {index} ({kind})"
        if index > 0:
            assert kind != "start", f"{where}: a second start"
        if index < len(chunks) - 1:
            assert kind not in _TERMINAL, f"{where}: a terminal chunk before the end"
        for key, value in chunk.items():
            assert value is not None or key in {"input", "output", "data", "messageMetadata"}, (
                f"{where}: optional field {key} is null"
            )
        if kind == "start-step":
            assert not in_step, f"{where}: nested step"
            in_step = True
        elif kind == "finish-step":
            assert in_step, f"{where}: finish-step outside a step"
            assert not open_text, f"{where}: text left open at finish-step"
            assert not open_reasoning, f"{where}: reasoning left open at finish-step"
            in_step = False
        elif kind in _PART_CREATING:
            assert in_step, f"{where}: a part created outside a step"
        elif kind == "steering-message":  # where streamText sends it
            assert not in_step, f"{where}: a steering message inside a step"
        if kind == "text-start":
            open_text.add(chunk["id"])
        elif kind == "text-end":
            open_text.discard(chunk["id"])
        elif kind == "reasoning-start":
            open_reasoning.add(chunk["id"])
        elif kind == "reasoning-end":
            open_reasoning.discard(chunk["id"])
        elif kind == "reset-step":
            open_text.clear()
            open_reasoning.clear()
        if kind in _TERMINAL:
            assert not open_text, f"{where}: text left open at the end"
            assert not open_reasoning, f"{where}: reasoning left open at the end"
            assert kind != "finish" or not in_step, f"{where}: finish inside an open step"


def assert_valid_body(
    body: bytes | str, target: str = "v6", *, message: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The body passes the client-faithful validator and uiwire's lifecycle rules; its chunks.

    ``message`` is the assistant message a continuation continues."""
    report = check_stream(body, target=target, message=message)  # pyright: ignore[reportArgumentType]
    assert report.violation is None, f"invalid stream: {report.violation}"
    check_lifecycle(report.chunks)
    return report.chunks


def assert_valid_message(
    body: bytes | str, target: str = "v6", *, message: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``assert_valid_body``, returning the message the client assembles."""
    assert_valid_body(body, target, message=message)
    report = check_stream(body, target=target, message=message)  # pyright: ignore[reportArgumentType]
    assert report.message is not None
    return report.message
