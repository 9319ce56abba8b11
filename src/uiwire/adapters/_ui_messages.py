"""Reading the UI messages ``useChat`` POSTs, for the history converters.

``to_agent_input`` and ``to_dspy_inputs`` take the same input: ``UIMessage`` models (as
``parse_chat_request`` made them), or plain JSON objects (camelCase keys, as posted)
that ``as_ui_message`` validates first (another pydantic model is dumped by alias).
After that the messages are trusted: the parser applied every rule about a UI message,
the endpoint's URL schemes included, so a converter passes what a message holds on to
its framework and never refuses a message the parser took. No framework is imported
here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from pydantic import BaseModel

from uiwire.protocol.ui_message import TextUIPart, UIMessage, UIMessagePart, as_ui_message

__all__ = ["SEPARATOR", "is_data_url", "joined_text", "read_messages"]

SEPARATOR: Final = "\n\n"
"""Joins text parts merged into one input: each part is its own block in the UI (its
own Markdown document), and a blank line keeps it one in Markdown."""


def read_messages(messages: Sequence[UIMessage | Mapping[str, Any] | BaseModel]) -> list[UIMessage]:
    """Every message as a ``UIMessage``: nothing is converted from a conversation that is
    malformed anywhere (pydantic's ``ValidationError`` names the field)."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"messages must be a list of UI messages; got {type(messages).__name__}")
    return [as_ui_message(message) for message in messages]


def joined_text(parts: Sequence[UIMessagePart]) -> str:
    """The text parts joined by ``SEPARATOR`` (empty ones left out)."""
    return SEPARATOR.join(p.text for p in parts if isinstance(p, TextUIPart) and p.text)


def is_data_url(url: str) -> bool:
    """Whether ``url`` holds its data (``data:``, any case) rather than pointing at it."""
    return url[:5].lower() == "data:"
