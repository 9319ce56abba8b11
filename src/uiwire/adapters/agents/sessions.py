"""The model's own memory: an Agents SDK ``Session`` per chat, kept in step with the
trusted conversation.

The UI messages are what the user saw; converting them back (``to_agent_input``) loses
what only the model saw: reasoning items with their encrypted content, item ids,
provider-executed tools. A ``Session`` keeps the run's own items instead. With
``AgentsAdapter(sessions=...)`` each chat gets one, under an id derived from (owner,
chat id) (``chat_session_id``): two owners with the same chat id never share one. A turn
then gives the SDK only the new user message; the session supplies the rest.

The session must follow the conversation the server trusts, which regenerate and edits
truncate. The rule needs no side table: the session holds one user input item per user
turn (the SDK saves each run's input with its items), so before a turn whose
conversation has ``k`` user messages before the new one, ``align_session`` keeps the
items before the session's ``(k+1)``-th user item and drops the rest (a regenerated
answer, an edited message and everything after it). A session with fewer user items
than that is out of step (sessions enabled on an existing chat, a run cut off before
the SDK saved its input): it is rebuilt from the conversation, as ``to_agent_input``
converts it.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import logging
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from agents import Session, TResponseInputItem

from uiwire.adapters.agents.history import to_agent_input
from uiwire.protocol.ui_message import UIMessage

__all__ = ["ALIGN_DEADLINE", "SessionFactory", "align_session", "chat_session", "chat_session_id"]

logger = logging.getLogger("uiwire.agents")

SessionFactory = Callable[[str], Session]
"""Makes the ``Session`` of one chat from its id (``chat_session_id``): for example
``lambda session_id: SQLAlchemySession(session_id, engine=store.engine)``. Called for
each use (a turn, a continuation's check, its run); the adapter closes what it made
when that use ends (``chat_session``)."""


def chat_session_id(owner: str | None, chat_id: str) -> str:
    """The session id of ``chat_id`` asked by ``owner``: a hex digest, the same for those
    two ids only (no part of either reaches the session's storage)."""
    bound = json.dumps(["agents-session", owner, chat_id], separators=(",", ":"))
    return hashlib.sha256(bound.encode()).hexdigest()


def is_user_item(item: object) -> bool:
    """A user's input message (what a user turn adds to the session once)."""
    if not isinstance(item, dict):
        return False
    fields: dict[str, Any] = item  # pyright: ignore[reportUnknownVariableType]
    return fields.get("role") == "user" and fields.get("type", "message") == "message"


ALIGN_DEADLINE = 10.0
"""Seconds cutting a session to the conversation may take (its storage's round trips):
past them the turn fails (masked) instead of waiting on a stalled database."""


async def align_session(session: Session, earlier: Sequence[UIMessage]) -> None:
    """Cut ``session`` to the conversation ``earlier`` (the turn's messages before the new
    user message): keep the items before its ``(k+1)``-th user item, ``k`` the user items
    ``earlier`` makes; rebuild it from ``earlier`` when it has fewer than ``k``. Within
    ``ALIGN_DEADLINE`` seconds, else ``TimeoutError``."""
    try:
        await asyncio.wait_for(_align(session, earlier), ALIGN_DEADLINE)
    except asyncio.TimeoutError:
        raise TimeoutError(
            f"the session of this chat did not answer within {ALIGN_DEADLINE:g} s"
        ) from None


async def _align(session: Session, earlier: Sequence[UIMessage]) -> None:
    conversation = to_agent_input(earlier)
    turns = sum(1 for item in conversation if is_user_item(item))
    items = await session.get_items()
    starts = [index for index, item in enumerate(items) if is_user_item(item)]
    if len(starts) < turns:
        logger.warning(
            "session %s has %d user turns, the conversation %d: rebuilt from the messages",
            session.session_id,
            len(starts),
            turns,
        )
        await _replace(session, conversation)
        return
    keep = starts[turns] if len(starts) > turns else len(items)
    drop = len(items) - keep
    if drop == 0:
        return
    if drop <= keep:  # the cheaper way: pop the newest items, or rewrite the kept ones
        for _ in range(drop):
            await session.pop_item()
    else:
        await _replace(session, items[:keep])


async def _replace(session: Session, items: list[TResponseInputItem]) -> None:
    await session.clear_session()
    if items:
        await session.add_items(items)


@asynccontextmanager
async def chat_session(
    sessions: SessionFactory, owner: str | None, chat_id: str
) -> AsyncGenerator[Session, None]:
    """The session of ``chat_id`` asked by ``owner``, made for one use and closed after."""
    session = sessions(chat_session_id(owner, chat_id))
    try:
        yield session
    finally:
        await _close(session)


async def _close(session: Session) -> None:
    """Close a session the adapter made, if it has a ``close`` (the SDK's
    ``SQLiteSession`` holds its connections until then; its sync ``close`` takes a lock
    another thread may hold, so it runs in a thread). Sessions on a shared engine or
    client have nothing of their own to close."""
    close = getattr(session, "close", None)
    if not callable(close):
        return
    if inspect.iscoroutinefunction(close):
        await close()
    else:
        await asyncio.to_thread(close)
