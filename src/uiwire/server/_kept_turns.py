"""A turn in a server-kept conversation, from plan to save: the trusted turn the stored
chat and the request make, its start saved (the question, the answer marked running)
with a version check, and its end saved unless a newer turn replaced it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

from starlette.requests import Request

from uiwire._errors import ChatConflict, ChatRequestError, ChatStoreError, FieldError
from uiwire.chats.store import AnswerState, Chat, TurnTicket
from uiwire.chats.trust import TurnPlan, plan_turn
from uiwire.protocol.chat_request import ChatRequest
from uiwire.protocol.ui_message import UIMessage
from uiwire.server.conversations import Conversations
from uiwire.stream.record import StreamRecord, StreamStatus
from uiwire.stream.turn import ChatTurn

__all__ = ["PlannedTurn", "plan_kept_turn", "save_answer", "start_kept_turn"]

logger = logging.getLogger("uiwire")

START_ATTEMPTS = 3
"""How often a turn tries to start on a chat that keeps changing under it."""


class PlannedTurn(NamedTuple):
    """A turn, with the stored chat it was planned on (with kept conversations)."""

    turn: ChatTurn
    plan: TurnPlan | None = None
    stored: Chat | None = None


async def plan_kept_turn(
    conversations: Conversations,
    chat: ChatRequest,
    request: Request,
    owner: str,
    new_message_id: Callable[[], str],
) -> PlannedTurn:
    """The turn the stored chat and the request make (``uiwire.chats.trust``; a new
    answer's id from ``new_message_id``), and the stored chat it was planned on (None: a
    new chat)."""
    stored = await conversations.store.get(owner, chat.id)
    field = f"messages[{len(chat.messages) - 1}]"
    plan = plan_turn(stored, chat, field=field, new_message_id=new_message_id)
    trusted = chat.model_copy(update={"messages": list(plan.messages)})
    turn = ChatTurn(
        chat=trusted,
        message_id=plan.answer.id,
        continued=plan.continued,
        request=request,
        owner=owner,
    )
    return PlannedTurn(turn, plan, stored)


async def start_kept_turn(conversations: Conversations, planned: PlannedTurn) -> TurnTicket:
    """Save the question and the running answer. If the chat's messages are still the
    ones the turn was planned on (only an answer's content changed meanwhile: an older
    turn's late save), the turn starts on the new version: the agent has begun it
    already (a paused run is taken). Otherwise 409: another tab or worker changed the
    conversation (which also leaves the message a taken paused run belonged to unable
    to be continued: losing the run loses nothing)."""
    turn, plan, stored = planned
    assert plan is not None
    owner = turn.owner
    assert owner is not None
    title = ""
    if stored is None:
        first = next((m for m in plan.messages if m.role == "user"), plan.messages[0])
        title = await conversations.title_of(first)
    version = None if stored is None else stored.info.version

    async def start() -> TurnTicket | None:
        try:
            return await conversations.store.start_turn(
                owner,
                turn.chat_id,
                version=version,
                keep=plan.keep,
                add=plan.add,
                answer=plan.answer,
                title=title,
            )
        except ChatConflict:
            return None

    for _ in range(START_ATTEMPTS):
        ticket = await start()
        if ticket is not None:
            return ticket
        now = None if stored is None else await conversations.store.get(owner, turn.chat_id)
        if now is None or stored is None or _ids(now) != _ids(stored):
            break
        version = now.info.version
    raise ChatRequestError(
        [FieldError("id", "this chat changed meanwhile; reload it and retry", "conflict")],
        status_code=409,
    )


async def save_answer(
    conversations: Conversations, ticket: TurnTicket, record: StreamRecord, status: StreamStatus
) -> bool:
    """The answer's end, saved; a failed save is logged (the chat then shows the answer
    as interrupted), never raised into the stream: False then."""
    state: AnswerState = status
    try:
        message = UIMessage.model_validate(record.message)
        saved = await conversations.store.finish_turn(ticket, message, state)
    except (ChatStoreError, ValueError):
        logger.exception("chat %s: the answer could not be saved", ticket.chat_id)
        return False
    if not saved:
        logger.info(
            "chat %s: answer %s was not saved: a newer turn replaced it",
            ticket.chat_id,
            ticket.message_id,
        )
    return True


def _ids(chat: Chat) -> list[str]:
    return [message.id for message in chat.messages]
