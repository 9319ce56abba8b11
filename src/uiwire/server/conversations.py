"""``Conversations``: the server keeps each owner's chats, and believes only them.

``ChatEndpoint(agent, conversations=Conversations(store))`` changes three things:

* **What the model sees** is the stored conversation plus what a user may add (a new or
  edited user message, approval answers, client-side tool outputs): see
  ``uiwire.chats.trust``. The client's copies of earlier messages are ignored, so the
  body may carry the last message only (``{id, message}``).
* **Saves** happen at the turn's start (the question, and the answer marked running)
  and at its end (the answer), with a version check: nothing is lost or reordered.
* **Every chat has an owner** (from ``identity``): each route acts only on the caller's
  chats, and another owner's chat answers 404 as a chat that does not exist would.
  The history routes list, read and delete them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final, cast

from uiwire.chats.store import Chat, ChatInfo, ChatStore
from uiwire.protocol.ui_message import UIMessage
from uiwire.stream.context import is_async_callable

__all__ = ["Conversations", "TitleHook", "default_title"]

TitleHook = Callable[[UIMessage], Awaitable[str] | str]
"""``title(first_user_message)``: a new chat's title."""

logger = logging.getLogger("uiwire")

TITLE_LENGTH: Final = 80
_SPACE = re.compile(r"\s+")


def default_title(message: UIMessage) -> str:
    """The first user message's text, on one line, at most 80 characters."""
    text = " ".join(p.text for p in message.parts if p.type == "text")  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownArgumentType]
    text = _SPACE.sub(" ", text).strip()
    if not text:
        files = [p for p in message.parts if p.type == "file"]
        return "Files" if files else "New chat"
    return text if len(text) <= TITLE_LENGTH else text[: TITLE_LENGTH - 1].rstrip() + "…"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Conversations:
    """The server-kept conversation of ``ChatEndpoint``: a store and its policies.

    ``store``: a ``ChatStore`` (``SQLChatStore`` in a database; ``MemoryChatStore`` for
    one process and tests). ``title``: a new chat's title from its first user message
    (``default_title`` by default; may be ``async``; a sync one runs in a thread).
    ``title_timeout``: seconds the first answer waits for it; past them, or when it
    raises, the chat gets ``default_title`` (and the hook's failure is logged).
    """

    store: ChatStore
    title: TitleHook | None = None
    title_timeout: float = 2.0

    def __post_init__(self) -> None:
        if not isinstance(self.store, ChatStore):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                "store must be a ChatStore (SQLChatStore, MemoryChatStore); got "
                f"{type(self.store).__name__}"
            )
        if self.title is not None and not callable(self.title):
            raise TypeError(f"title must be callable; got {type(self.title).__name__}")
        timeout = self.title_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"title_timeout must be a positive number of seconds; got {timeout!r}")

    async def title_of(self, message: UIMessage) -> str:
        """A new chat's title: the hook's within ``title_timeout``, else
        ``default_title``. The hook's failures never fail the turn."""
        hook = self.title
        if hook is None:
            return default_title(message)
        try:
            title = await asyncio.wait_for(_call_title(hook, message), self.title_timeout)
            if not isinstance(title, str):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise TypeError(f"the title hook must return a str; got {type(title).__name__}")
        except Exception:  # asyncio.TimeoutError included
            logger.exception("the title hook failed; the chat gets the default title")
            return default_title(message)
        return title[:200]


async def _call_title(hook: TitleHook, message: UIMessage) -> str:
    if is_async_callable(hook):
        return await cast("Awaitable[str]", hook(message))
    title = await asyncio.to_thread(hook, message)  # a sync hook may block (an LLM call)
    if inspect.isawaitable(title):
        title = await title
    return title


def chat_summary(info: ChatInfo) -> dict[str, Any]:
    """One chat of a chat list, as JSON."""
    return {
        "id": info.id,
        "title": info.title,
        "createdAt": info.created_at.isoformat(),
        "updatedAt": info.updated_at.isoformat(),
    }


def chat_body(chat: Chat, *, in_progress: str | None, resumable: bool) -> dict[str, Any]:
    """One chat as JSON, ready for ``useChat({ id, messages, resume })``.

    ``in_progress``: the answer being written now. When it can be resumed it is left out
    of ``messages`` (the resumed stream rebuilds it whole) and ``resumable`` is true. Any
    other answer still marked running was cut off (its worker died): it stays as last
    saved, and is listed in ``interrupted``.
    """
    hidden = in_progress if resumable else None
    messages = [m.to_json() for m in chat.messages if m.id != hidden]
    interrupted = [
        message_id
        for message_id, state in chat.answers.items()
        if state == "running" and message_id != in_progress
    ]
    return {
        **chat_summary(chat.info),
        "messages": messages,
        "resumable": hidden is not None,
        "interrupted": interrupted,
    }
