"""What the server believes of a request, when it keeps the conversation.

The browser sends its copy of the conversation; the server believes only what a user may
say. ``plan_turn`` reads a request against the stored chat and decides the turn:

* A **new user message** (``submit-message`` whose last message is the user's and not
  stored) is appended after the stored messages. A user message may hold text, files
  and ``data-*`` parts only: tool calls, reasoning and sources are the assistant's.
* An **edit** (``submit-message`` whose last message is a stored user message) replaces
  that message and drops everything after it, as ``useChat`` does on its side.
* A **regenerate** answers the stored user message the request ends with again; the
  messages after it are dropped. Its text is the stored one.
* A **continuation** (the last message is the assistant's) continues the last stored
  answer, if it waits for something (404 otherwise: continued already): the server's
  own copy is taken, and only two things come from the client:
  the answer to an approval the server asked for (``approved``, ``reason``), and the
  output of a call the server left for the client (a tool call still
  ``input-available`` when the server's turn *finished*: a client-side tool). Every
  other part, text, output and metadata is the stored one.

Every earlier message of the request is ignored: the stored ones are the conversation.
Refusals are ``ChatRequestError`` naming the field: 404 for a message this chat does not
have (another owner's chat is a chat that does not exist), 409 for an answer still being
written, 422 for what a user may not send.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Final

from uiwire._errors import ChatRequestError, FieldError
from uiwire._ids import new_id
from uiwire.chats.store import Chat
from uiwire.protocol.chat_request import ChatRequest
from uiwire.protocol.ui_message import UIMessage

__all__ = ["TurnPlan", "accept_client_answers", "plan_turn"]

USER_PART_TYPES: Final = frozenset({"text", "file"})
"""Parts a user message may hold, besides ``data-*``."""


def _new_message_id() -> str:
    return new_id("msg")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TurnPlan:
    """What a request does to the stored chat, and what the agent sees."""

    keep: int
    """Stored messages that stay, from the first."""
    add: tuple[UIMessage, ...]
    """User messages appended after them."""
    answer: UIMessage
    """The assistant message this turn writes: new and empty, or the continued one."""
    continued: UIMessage | None
    """The continued message (with the client's answers in it); None for a new answer."""
    messages: tuple[UIMessage, ...]
    """The conversation the agent answers: stored, then added, then the continued."""


def plan_turn(
    chat: Chat | None,
    request: ChatRequest,
    *,
    field: str,
    new_message_id: Callable[[], str] = _new_message_id,
) -> TurnPlan:
    """The turn ``request`` asks for on ``chat`` (None: a chat not stored yet); a new
    answer's id is ``new_message_id()``.

    ``field`` is where the request's last message is, for error paths (``messages[3]``
    or ``message``)."""
    stored = list(chat.messages) if chat is not None else []
    last = request.messages[-1]
    index = next((i for i, m in enumerate(stored) if m.id == last.id), None)
    if last.role == "assistant":
        if request.message_id is not None and request.message_id != last.id:
            raise _refuse(
                "messageId",
                f"continues message {request.message_id!r}, but the last message is {last.id!r}",
            )
        return _continuation(chat, stored, index, last, field)
    if last.role != "user":
        raise _refuse(f"{field}.role", f"a request ends with a user message, not a {last.role} one")
    if index is not None and stored[index].role != "user":
        raise _refuse(f"{field}.id", f"message {last.id!r} is not a user message of this chat")
    if request.trigger == "regenerate-message":
        if index is None:
            raise _refuse(
                f"{field}.id", f"no message {last.id!r} in this chat to answer again", 404
            )
        return _plan(
            stored, keep=index + 1, add=(), answer=_new_answer(new_message_id), continued=None
        )
    _check_user_parts(last, field)
    keep = len(stored) if index is None else index  # an edit drops what followed
    return _plan(stored, keep=keep, add=(last,), answer=_new_answer(new_message_id), continued=None)


def _continuation(
    chat: Chat | None, stored: list[UIMessage], index: int | None, sent: UIMessage, field: str
) -> TurnPlan:
    if chat is None or index is None or stored[index].role != "assistant":
        raise _refuse(f"{field}.id", f"no answer {sent.id!r} in this chat to continue", 404)
    if index != len(stored) - 1:
        raise _refuse(f"{field}.id", "only the last answer of a chat can be continued", 409)
    state = chat.answers.get(sent.id)
    if state == "running":
        raise _refuse(f"{field}.id", "this answer is still being written; wait for it", 409)
    client_outputs = state == "finish"
    if not _waiting(stored[index], client_outputs=client_outputs):
        raise _refuse(
            f"{field}.id",
            "this answer is not waiting for an approval or a tool result (continued already?)",
            404,
        )
    merged = accept_client_answers(stored[index], sent, client_outputs=client_outputs, field=field)
    return _plan(stored, keep=index, add=(), answer=merged, continued=merged)


def _waiting(message: UIMessage, *, client_outputs: bool) -> bool:
    """Whether the stored answer asked for something a continuation can give."""
    states = {getattr(part, "state", None) for part in message.parts}
    return "approval-requested" in states or (client_outputs and "input-available" in states)


def accept_client_answers(
    stored: UIMessage, sent: UIMessage, *, client_outputs: bool, field: str = "message"
) -> UIMessage:
    """``stored`` with what the user may add from ``sent``: approval answers to the
    server's approval requests, and (when ``client_outputs``) outputs of the calls the
    server left ``input-available``. Everything else in ``sent`` is ignored, except an
    answer to an approval the server did not ask for: 404 naming its id (``field`` is
    where ``sent`` is in the request)."""
    answers: dict[str, tuple[int, dict[str, Any]]] = {}
    for index, part in enumerate(sent.to_json()["parts"]):
        call_id = part.get("toolCallId")
        if isinstance(call_id, str):
            answers.setdefault(call_id, (index, part))  # the first part for a call speaks
    parts: list[dict[str, Any]] = []
    for part in stored.to_json()["parts"]:
        index, answer = answers.get(part.get("toolCallId", ""), (-1, None))
        if answer is not None and answer.get("type") == part.get("type"):
            part = _answered(
                part, answer, client_outputs=client_outputs, where=f"{field}.parts[{index}]"
            )
        parts.append(part)
    return UIMessage.model_validate({**stored.to_json(), "parts": parts})


def _answered(
    part: dict[str, Any], answer: dict[str, Any], *, client_outputs: bool, where: str
) -> dict[str, Any]:
    state, given = part.get("state"), answer.get("state")
    if state == "approval-requested" and given == "approval-responded":
        asked: dict[str, Any] = part.get("approval") or {}
        said: dict[str, Any] = answer.get("approval") or {}
        if asked.get("id") != said.get("id"):
            raise _refuse(f"{where}.approval.id", "this chat asked for no such approval", 404)
        if not isinstance(said.get("approved"), bool):
            return part
        approval: dict[str, Any] = {**asked, "approved": said["approved"]}
        if isinstance(said.get("reason"), str):
            approval["reason"] = said["reason"]
        return {**part, "state": "approval-responded", "approval": approval}
    if state == "input-available" and client_outputs:
        if given == "output-available" and "output" in answer:
            return {**part, "state": given, "output": answer["output"]}
        if given == "output-error" and isinstance(answer.get("errorText"), str):
            return {**part, "state": given, "errorText": answer["errorText"]}
    return part


def _check_user_parts(message: UIMessage, field: str) -> None:
    for i, part in enumerate(message.parts):
        if part.type not in USER_PART_TYPES and not part.type.startswith("data-"):
            raise _refuse(
                f"{field}.parts[{i}].type",
                f"a user message holds text, files and data parts, not {part.type!r}",
            )


def _plan(
    stored: list[UIMessage],
    *,
    keep: int,
    add: tuple[UIMessage, ...],
    answer: UIMessage,
    continued: UIMessage | None,
) -> TurnPlan:
    messages = (*stored[:keep], *add, *((continued,) if continued is not None else ()))
    return TurnPlan(keep=keep, add=add, answer=answer, continued=continued, messages=messages)


def _new_answer(new_message_id: Callable[[], str]) -> UIMessage:
    return UIMessage(id=new_message_id(), role="assistant", parts=[])


def _refuse(field: str, message: str, status: int = 422) -> ChatRequestError:
    kind = {404: "not_found", 409: "conflict"}.get(status, "not_allowed")
    if field == "messageId":
        kind = "message_id"
    return ChatRequestError([FieldError(field, message, kind)], status_code=status)
