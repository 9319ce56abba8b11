"""The argument rules every ``ChatStore`` keeps, written once: what a turn may ask,
what a finish may write, and the signed cursors of ``list_chats``. A store checks them
before it touches its data, so a bad call is a ``ValueError`` that writes nothing."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Collection, Sequence
from typing import Final

from uiwire.chats.store import AnswerState, TurnTicket
from uiwire.protocol.ui_message import UIMessage

__all__ = [
    "ANSWER_STATES",
    "check_finish",
    "check_kept",
    "check_page",
    "check_turn",
    "make_cursor",
    "read_cursor",
]

ANSWER_STATES: Final = frozenset(("running", "finish", "error", "abort", "disconnect"))


def check_turn(
    *, version: int | None, keep: int, add: Sequence[UIMessage], answer: UIMessage
) -> None:
    """``start_turn``'s arguments, on their own."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"keep must be a count of messages (0 or more); got {keep!r}")
    if version is None and keep:
        raise ValueError(f"keep must be 0 for a new chat (version None); got {keep}")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"version must be an integer or None; got {version!r}")
    if answer.role != "assistant":
        raise ValueError(f"answer must be an assistant message; got role {answer.role!r}")
    for index, message in enumerate(add):
        if message.role == "assistant":
            raise ValueError(
                f"add[{index}] is an assistant message: only the answer is the server's"
            )
    ids = [message.id for message in (*add, answer)]
    if len(set(ids)) != len(ids):
        raise ValueError(f"message ids must be unique in the chat; got {ids}")


def check_kept(keep: int, kept_ids: Collection[str], new_ids: Collection[str]) -> None:
    """``start_turn``'s ``keep`` against the chat: it has that many messages, and none
    of them has the id of a new one."""
    if len(kept_ids) < keep:
        raise ValueError(f"keep is {keep} but the chat has {len(kept_ids)} messages")
    clash = set(kept_ids) & set(new_ids)
    if clash:
        raise ValueError(f"message ids must be unique in the chat; {sorted(clash)} are kept")


def check_finish(ticket: TurnTicket, message: UIMessage, state: AnswerState) -> None:
    """``finish_turn``'s arguments."""
    if state not in ANSWER_STATES:
        raise ValueError(f"state must be one of {sorted(ANSWER_STATES)}; got {state!r}")
    if message.id != ticket.message_id:
        raise ValueError(
            f"message.id {message.id!r} is not the ticket's answer {ticket.message_id!r}"
        )


def check_page(limit: int, before: str | None) -> None:
    """``list_chats``'s arguments."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"limit must be an integer from 1 to 100; got {limit!r}")
    if before is not None and not isinstance(before, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError("before must be a cursor string (a page's next_cursor)")


def make_cursor(key: bytes, owner: str, updated_at: int, chat_id: str) -> str:
    """A page's ``next_cursor``: where it ended, signed for ``owner`` (a cursor is no
    way into another owner's list, nor a way to probe it)."""
    payload = f"{updated_at}:{chat_id}".encode("utf-8", "surrogatepass")
    tag = _cursor_tag(key, owner, payload)
    return f"{_b64(payload)}.{_b64(tag)}"


def read_cursor(key: bytes, owner: str, cursor: str) -> tuple[int, str]:
    """``ValueError`` unless ``cursor`` is one ``make_cursor`` made for ``owner``."""
    try:
        encoded_payload, _, encoded_tag = cursor.partition(".")
        payload, tag = _unb64(encoded_payload), _unb64(encoded_tag)
        if not hmac.compare_digest(tag, _cursor_tag(key, owner, payload)):
            raise ValueError("bad tag")
        updated_at, _, chat_id = payload.decode("utf-8", "surrogatepass").partition(":")
        return int(updated_at), chat_id
    except (ValueError, binascii.Error, UnicodeError):
        raise ValueError("before is not a cursor this chat store made") from None


def _cursor_tag(key: bytes, owner: str, payload: bytes) -> bytes:
    message = owner.encode("utf-8", "surrogatepass") + b"\0" + payload
    return hmac.new(key, message, hashlib.sha256).digest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
