"""``ChatStore``: where the server keeps each owner's conversations.

Theory of operation
-------------------
The server, not the browser, owns a conversation. A chat belongs to one *owner* (an
opaque string the app's identity gives); every method takes the owner and acts only on
that owner's chats: another owner's chat is indistinguishable from one that does not
exist (``None``, ``False``, or a new chat of one's own of the same id).

Chats are keyed by (owner, chat id): two owners may each have a chat of the same id,
and nothing one owner does tells them whether the other's exists.

A turn is two writes, so that nothing is lost and nothing is reordered:

* ``start_turn`` runs when the answer starts, in one transaction: it creates the chat if
  it is new, keeps the first ``keep`` stored messages (regenerate and edits drop the
  rest), appends the user's new message, then the *answer* (a new assistant message with
  no parts yet, or the continued message), marked ``running``. It is a compare-and-set
  on the chat's ``version``: if the chat changed since it was read, nothing is written
  and ``ChatConflict`` is raised. A reload during the answer already shows the question.
* ``finish_turn`` runs when the answer ends (finish, error, abort, disconnect) and
  replaces the answer's content, but only if the row is still the one this turn
  started (its ``turn`` number): a late save from an older turn, or of a message a newer
  turn dropped, changes nothing. It never moves a message.

An answer left ``running`` whose stream is not active anywhere was cut off (its worker
died): readers show it as interrupted.

Every method raises ``ChatStoreError`` when the store cannot be reached or does not
answer within its deadline. Chat ids have been checked by the caller (``check_chat_id``).
"""

from __future__ import annotations

import abc
import dataclasses
import datetime
from collections.abc import Sequence
from typing import Literal

from uiwire.protocol.ui_message import UIMessage

__all__ = [
    "AnswerState",
    "Chat",
    "ChatInfo",
    "ChatPage",
    "ChatStore",
    "TurnTicket",
]

AnswerState = Literal["running", "finish", "error", "abort", "disconnect"]
"""Where an assistant message stands: being written (``running``), or how its last turn
ended (the ``StreamStatus``)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ChatInfo:
    """One chat, without its messages: what a chat list shows."""

    id: str
    owner: str
    title: str
    created_at: datetime.datetime
    """Timezone-aware (UTC)."""
    updated_at: datetime.datetime
    """When a turn last started or ended (UTC); chat lists are ordered by it."""
    version: int
    """Increases with every write to the chat; ``start_turn`` checks it."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Chat:
    """One chat with its messages, in order, as ``useChat`` holds them."""

    info: ChatInfo
    messages: tuple[UIMessage, ...]
    answers: dict[str, AnswerState]
    """The state of every assistant message, by message id."""
    active_turn: int | None
    """The turn number of the answer being written (``running``), if any."""

    @property
    def id(self) -> str:
        return self.info.id


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ChatPage:
    """Some of an owner's chats, newest first."""

    chats: tuple[ChatInfo, ...]
    next_cursor: str | None
    """Pass it as ``before`` for the next page; None on the last page."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TurnTicket:
    """What ``start_turn`` returns and ``finish_turn`` takes: which answer to write."""

    owner: str
    chat_id: str
    message_id: str
    """The answer's id (the assistant message this turn writes)."""
    turn: int
    """The chat's version after ``start_turn``: names this turn."""


class ChatStore(abc.ABC):
    """Each owner's chats and their messages. Implementations: ``SQLChatStore``."""

    @abc.abstractmethod
    async def get(self, owner: str, chat_id: str) -> Chat | None:
        """The chat with its messages; None when it does not exist or is another
        owner's."""

    @abc.abstractmethod
    async def list_chats(
        self, owner: str, *, limit: int = 50, before: str | None = None
    ) -> ChatPage:
        """The owner's chats, most recently updated first, ``limit`` at a time (1 to
        100); ``before`` is the ``next_cursor`` of the previous page. A cursor that is not
        one this store made is ``ValueError``."""

    @abc.abstractmethod
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
        """Begin a turn (see the module docstring), atomically.

        ``version``: the chat's version when it was read, or None for a chat that did
        not exist (then it is created for ``owner`` with ``title``; ``keep`` must be 0).
        ``ChatConflict`` if the owner's chat's version is not ``version`` (or, for None,
        the owner has that chat already).
        ``keep``: how many stored messages stay, from the first. ``add``: user messages
        appended after them. ``answer``: the assistant message appended last, ``running``.
        ``ValueError`` (a caller's mistake; nothing written) for message ids that are not
        unique in the chat, an assistant message in ``add``, or ``keep`` beyond the stored
        messages (or not 0 for a new chat).
        """

    @abc.abstractmethod
    async def finish_turn(self, ticket: TurnTicket, message: UIMessage, state: AnswerState) -> bool:
        """Write the answer's final content and state; False (and nothing written) when
        the answer is gone or a newer turn took it over. Clears the chat's active turn if
        it is this one, and increases the chat's version. ``ValueError`` for a message
        whose id is not the ticket's, or a state that is not an answer's."""

    @abc.abstractmethod
    async def delete(self, owner: str, chat_id: str) -> bool:
        """Delete the chat and its messages; False when there was no such chat of this
        owner."""

    @abc.abstractmethod
    async def kept_secret(self) -> bytes:
        """32 random bytes made the first time and kept in the store, the same for every
        worker that shares it: signs anonymous owners' cookies when the app sets no
        secret of its own."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections (the engine, if the store made it)."""
