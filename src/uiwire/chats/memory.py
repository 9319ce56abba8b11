"""``MemoryChatStore``: chats in this process's memory, for one process and for trying
things out. They are gone when the process ends; ``SQLChatStore`` keeps them."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import secrets
from collections.abc import Sequence

from uiwire._errors import ChatConflict
from uiwire.chats._rules import (
    check_finish,
    check_kept,
    check_page,
    check_turn,
    make_cursor,
    read_cursor,
)
from uiwire.chats.store import AnswerState, Chat, ChatInfo, ChatPage, ChatStore, TurnTicket
from uiwire.protocol.ui_message import UIMessage

__all__ = ["MemoryChatStore"]


@dataclasses.dataclass(slots=True)
class _Row:
    message: UIMessage
    state: AnswerState | None  # None for a user message
    turn: int


@dataclasses.dataclass(slots=True)
class _Chat:
    info: ChatInfo
    rows: list[_Row]
    active_turn: int | None = None


class MemoryChatStore(ChatStore):
    """Each owner's chats in a dict; at most ``max_chats`` (the least recently updated
    are dropped first), so a long-running process does not grow without bound."""

    def __init__(self, *, max_chats: int = 10_000) -> None:
        if type(max_chats) is not int or max_chats < 1:
            raise ValueError(f"max_chats must be a positive int; got {max_chats!r}")
        self._max_chats = max_chats
        self._chats: collections.OrderedDict[tuple[str, str], _Chat] = collections.OrderedDict()
        self._secret = secrets.token_bytes(32)
        self._cursor_key = secrets.token_bytes(32)
        self._clock = 0  # orders updates made within one clock tick

    async def get(self, owner: str, chat_id: str) -> Chat | None:
        chat = self._chats.get((owner, chat_id))
        if chat is None:
            return None
        return Chat(
            info=chat.info,
            messages=tuple(row.message for row in chat.rows),
            answers={r.message.id: r.state for r in chat.rows if r.state is not None},
            active_turn=chat.active_turn,
        )

    async def list_chats(
        self, owner: str, *, limit: int = 50, before: str | None = None
    ) -> ChatPage:
        check_page(limit, before)
        mine = [c.info for c in reversed(self._chats.values()) if c.info.owner == owner]
        start = 0
        if before is not None:
            _, after = read_cursor(self._cursor_key, owner, before)
            start = next((i + 1 for i, info in enumerate(mine) if info.id == after), len(mine))
        page = tuple(mine[start : start + limit])
        more = start + limit < len(mine)
        cursor = make_cursor(self._cursor_key, owner, 0, page[-1].id) if more and page else None
        return ChatPage(chats=page, next_cursor=cursor)

    async def start_turn(
        self,
        owner: str,
        chat_id: str,
        *,
        version: int | None,
        keep: int,
        add: Sequence[UIMessage],
        answer: UIMessage,
        title: str,
    ) -> TurnTicket:
        check_turn(version=version, keep=keep, add=add, answer=answer)
        chat = self._chats.get((owner, chat_id))
        now = datetime.datetime.now(datetime.timezone.utc)
        if version is None:
            if chat is not None:
                raise ChatConflict(f"chat {chat_id!r} already exists")
            info = ChatInfo(
                id=chat_id, owner=owner, title=title, created_at=now, updated_at=now, version=0
            )
            chat = _Chat(info=info, rows=[])
        elif chat is None or chat.info.version != version:
            raise ChatConflict(f"chat {chat_id!r} changed since it was read")
        rows = chat.rows[:keep]
        check_kept(keep, [r.message.id for r in rows], [m.id for m in (*add, answer)])
        turn = chat.info.version + 1
        rows += [_Row(m, None, turn) for m in add]
        rows.append(_Row(answer, "running", turn))
        chat.rows = rows
        chat.active_turn = turn
        chat.info = dataclasses.replace(chat.info, updated_at=now, version=turn)
        self._touch(chat)
        return TurnTicket(owner=owner, chat_id=chat_id, message_id=answer.id, turn=turn)

    async def finish_turn(self, ticket: TurnTicket, message: UIMessage, state: AnswerState) -> bool:
        check_finish(ticket, message, state)
        chat = self._chats.get((ticket.owner, ticket.chat_id))
        if chat is None:
            return False
        row = next((r for r in chat.rows if r.message.id == ticket.message_id), None)
        if row is None or row.turn != ticket.turn:
            return False
        row.message, row.state = message, state
        if chat.active_turn == ticket.turn:
            chat.active_turn = None
        now = datetime.datetime.now(datetime.timezone.utc)
        chat.info = dataclasses.replace(chat.info, updated_at=now, version=chat.info.version + 1)
        self._touch(chat)
        return True

    async def delete(self, owner: str, chat_id: str) -> bool:
        return self._chats.pop((owner, chat_id), None) is not None

    async def kept_secret(self) -> bytes:
        return self._secret

    async def close(self) -> None:
        self._chats.clear()

    def _touch(self, chat: _Chat) -> None:
        key = (chat.info.owner, chat.info.id)
        self._chats[key] = chat
        self._chats.move_to_end(key)
        while len(self._chats) > self._max_chats:
            self._chats.popitem(last=False)
