"""A conversation a history converter cannot take, refused like one the parser refuses.

The parser checks each UI message (its rules are every adapter's); a converter may still
refuse the conversation it makes of them, e.g. the DSPy adapter needs the user's
question last. An adapter's ``begin_turn`` turns such a refusal into this 422 naming the
field, before any stream, instead of an exception that would be a 500.
"""

from __future__ import annotations

import re
from typing import Final

from uiwire._errors import ChatRequestError, FieldError

__all__ = ["history_refused"]

_PATH: Final = re.compile(r"messages(?:\[\d+\])?(?:\.\w+(?:\[\d+\])?)*")
"""The path a converter's message opens with, e.g. ``messages[2].parts[0].url``."""


def history_refused(exc: TypeError | ValueError) -> ChatRequestError:
    """The 422 for a converter's ``TypeError``/``ValueError``: its field is the path its
    message opens with (``messages`` when it names none), its text the rest."""
    text = str(exc)
    path = _PATH.match(text)
    if path is None or not text[path.end() :].strip():
        return ChatRequestError([FieldError("messages", text, "history")])
    return ChatRequestError([FieldError(path.group(), text[path.end() :].lstrip(), "history")])
