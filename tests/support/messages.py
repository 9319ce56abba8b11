"""Builders of the JSON ``useChat`` sends: UI messages and their parts as plain dicts (the
wire form, before any parsing), so a test can also build what the parser must refuse.

A string where a part is expected is a text part: plain in a user message, ``state:
"done"`` in an assistant message (as the client keeps a streamed text once it ended). A
test that sends a bare string as a part writes that message out as a dict.
"""

from __future__ import annotations

from typing import Any

__all__ = ["assistant", "file", "message", "text", "tool", "user"]


def text(value: str, **fields: Any) -> dict[str, Any]:
    """A ``text`` part; ``fields`` (``state``, ``providerMetadata``...) added as given."""
    return {"type": "text", "text": value, **fields}


def file(media_type: str, url: str, filename: str | None = None, **fields: Any) -> dict[str, Any]:
    """A ``file`` part (``filename`` only when given)."""
    part = {"type": "file", "mediaType": media_type, "url": url, **fields}
    if filename is not None:
        part["filename"] = filename
    return part


def tool(name: str, call_id: str, state: str, **fields: Any) -> dict[str, Any]:
    """A static tool part ``tool-<name>`` in ``state`` (``input``, ``output``... in
    ``fields``)."""
    return {"type": f"tool-{name}", "toolCallId": call_id, "state": state, **fields}


def message(
    role: str, *parts: dict[str, Any] | str, id: str, text_state: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A UI message; string parts become text parts (with ``text_state`` when given),
    ``fields`` (``metadata``...) are added as given."""
    state = {} if text_state is None else {"state": text_state}
    built = [text(p, **state) if isinstance(p, str) else p for p in parts]
    return {"id": id, "role": role, "parts": built, **fields}


def user(*parts: dict[str, Any] | str, id: str = "u1", **fields: Any) -> dict[str, Any]:
    """A user message: ``user("hi")``, ``user("look", file(...), id="u2")``."""
    return message("user", *parts, id=id, **fields)


def assistant(*parts: dict[str, Any] | str, id: str = "a1", **fields: Any) -> dict[str, Any]:
    """An assistant message; its string parts are finished text parts."""
    return message("assistant", *parts, id=id, text_state="done", **fields)
