"""``StreamStore``: where resumable streams are recorded, so any worker can replay them.

Theory of operation
-------------------
A stream store holds, per stream, the SSE frames written so far and whether the stream
has ended, and per chat the id of its *active* stream (the one a resume should follow).

* The worker generating an answer ``open``\\ s the stream (which makes it the chat's
  active one), ``append``\\ s its frames as they are produced, and ``close``\\ s it at the
  end, which clears the chat's active stream unless a newer one replaced it.
* A worker asked to resume a chat reads ``active_stream`` and ``follow``\\ s it: every
  frame from the first, then new ones live, until ``[DONE]``.
* A stop request for a stream may arrive at any worker: ``request_stop`` reaches the
  callbacks the generating worker registered with ``listen_for_stop``, with its mode
  (at once, or after the current turn), and says whether it could (a stop that cannot
  be delivered is an error, not a success). A stop at once wins over a graceful one.
* A steering message (a user message for the running answer, AI SDK 7) travels the same
  way: ``request_steer`` reaches the callbacks of ``listen_for_steer``, once each, in
  the order they were sent, and says whether it could.

Every method raises ``StreamStoreError`` when the store cannot be reached. Stream and
chat ids reaching a store have been checked (``check_chat_id``; stream ids are made by
uiwire).
"""

from __future__ import annotations

import abc
import logging
import re
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import ClassVar, Final, Generic, TypeVar

from uiwire.protocol.encode import DONE_FRAME, encode_chunks
from uiwire.protocol.machine import Chunk
from uiwire.protocol.ui_message import SteeringMessageUIPart
from uiwire.stream.context import StopMode

__all__ = [
    "INTERRUPTED_TEXT",
    "Listeners",
    "SteerCallback",
    "StopCallback",
    "StopListeners",
    "StreamStore",
    "check_chat_id",
    "interruption_frames",
]

logger = logging.getLogger("uiwire")

StopCallback = Callable[[StopMode], None]
"""Called on the loop when a stop was requested for the stream, with its mode
(``StreamContext.stop``)."""

SteerCallback = Callable[[SteeringMessageUIPart], None]
"""Called on the loop with a steering message sent to the stream (``StreamContext.steer``)."""

INTERRUPTED_TEXT: Final = "The answer was interrupted and cannot be resumed. Reload to see it."
"""What a follower's client is told when the stream cannot be followed to its end."""

CHAT_ID_PATTERN: Final = "[A-Za-z0-9._~:@-]{1,128}"
"""What a resumable chat's id may be (``.`` and ``..`` aside, see ``check_chat_id``)."""
_CHAT_ID: Final = re.compile(CHAT_ID_PATTERN)


def check_chat_id(chat_id: object) -> str:
    """``chat_id`` if it can name a resumable chat, else ``ValueError`` saying why.

    1 to 128 characters from ``A-Z a-z 0-9 . _ ~ : @ -`` (what ``useChat`` generates,
    UUIDs, and prefixed ids), and not ``.`` or ``..``: it goes into URL paths and store
    keys, so nothing that could change their meaning gets through.
    """
    if not isinstance(chat_id, str):
        raise ValueError(f"a chat id must be a string; got {type(chat_id).__name__}")
    if not _CHAT_ID.fullmatch(chat_id) or chat_id in (".", ".."):
        shown = chat_id if len(chat_id) <= 40 else chat_id[:40] + "..."
        raise ValueError(
            f"chat id {shown!r} is not usable for resumable streams: use 1 to 128 characters "
            "from A-Z a-z 0-9 . _ ~ : @ - (not '.' or '..')"
        )
    return chat_id


def interruption_frames(closing: Sequence[Chunk] = (), text: str = INTERRUPTED_TEXT) -> bytes:
    """The end of a body that could not be followed to ``[DONE]``: the ``closing`` chunks
    (``OpenParts.closing_chunks()``), an ``error``, ``[DONE]``.

    The client keeps the parts received so far and shows the error."""
    return encode_chunks([*closing, {"type": "error", "errorText": text}]) + DONE_FRAME


_Event = TypeVar("_Event")


class Listeners(Generic[_Event]):
    """The callbacks of one process for one kind of event (a stop, a steering message),
    per stream id (for ``listen_for_stop`` and ``listen_for_steer``)."""

    __slots__ = ("_callbacks", "_what")

    def __init__(self, what: str = "stop") -> None:
        self._callbacks: dict[str, list[Callable[[_Event], None]]] = {}
        self._what = what

    def add(self, stream_id: str, callback: Callable[[_Event], None]) -> Callable[[], None]:
        """Register ``callback``; returns the function that removes it."""
        callbacks = self._callbacks.setdefault(stream_id, [])
        callbacks.append(callback)

        def remove() -> None:
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks and self._callbacks.get(stream_id) is callbacks:
                del self._callbacks[stream_id]

        return remove

    def stream_ids(self) -> list[str]:
        """The streams someone listens to."""
        return list(self._callbacks)

    def notify(self, stream_id: str, event: _Event) -> bool:
        """Call the stream's callbacks (their exceptions are logged); whether it had any."""
        callbacks = list(self._callbacks.get(stream_id, ()))
        for callback in callbacks:
            try:
                callback(event)
            except Exception:  # noqa: PERF203 - one callback's failure must not skip the rest
                logger.exception(
                    "uiwire: the %s callback of stream %s raised", self._what, stream_id
                )
        return bool(callbacks)


class StopListeners(Listeners[StopMode]):
    """The stop callbacks of one process, per stream id (for ``listen_for_stop``)."""

    __slots__ = ()

    def notify(self, stream_id: str, event: StopMode = "immediate") -> bool:
        return super().notify(stream_id, event)


class StreamStore(abc.ABC):
    """The recorded frames of resumable streams, and each chat's active stream."""

    shared: ClassVar[bool] = False
    """Whether other processes read and write the same streams (then everything these
    workers sign, such as owner cookies, needs one secret they share)."""

    @abc.abstractmethod
    async def open(self, chat_id: str, stream_id: str, frames: Sequence[bytes] = ()) -> str | None:
        """Start recording ``stream_id`` with ``frames`` and make it ``chat_id``'s active
        stream; returns the active stream it replaced, if any (to be stopped: one answer
        at a time per chat)."""

    @abc.abstractmethod
    async def append(self, stream_id: str, frames: Sequence[bytes]) -> None:
        """Record more frames of an open stream, in order."""

    @abc.abstractmethod
    async def close(self, chat_id: str, stream_id: str, *, failed: bool = False) -> None:
        """The stream has ended; clear ``chat_id``'s active stream if it is still this one.

        ``failed``: frames were lost on the way (an ``append`` failed), so followers must
        not read past what was recorded; they end with an error instead."""

    @abc.abstractmethod
    async def active_stream(self, chat_id: str) -> str | None:
        """The id of the chat's stream that is still being generated, or None."""

    @abc.abstractmethod
    def follow(self, stream_id: str, *, idle: float | None = None) -> AsyncGenerator[bytes, None]:
        """Every frame of the stream from the first, then new ones live, until ``[DONE]``.

        Yields ``b""`` after ``idle`` seconds without a frame. Raises
        ``StreamInterrupted`` when the stream cannot be read to its end (unknown,
        expired, its worker gone, frames lost) and ``StreamStoreError`` when the store
        fails."""

    @abc.abstractmethod
    async def request_stop(self, stream_id: str, mode: StopMode = "immediate") -> bool:
        """Ask the worker generating ``stream_id`` (any worker) to stop it, at once or
        after its current turn (``mode``).

        True when the stop is recorded for a stream still being generated: it reaches
        its worker even if a notification is lost. False when nothing generates the
        stream any more (it ended, or its worker died). Raises ``StreamStoreError`` when
        the stop could not be recorded: it may not arrive."""

    @abc.abstractmethod
    async def listen_for_stop(self, stream_id: str, callback: StopCallback) -> Callable[[], None]:
        """Call ``callback`` when a stop is requested for ``stream_id``; returns the
        function that stops listening. Listening is in place when this returns."""

    @abc.abstractmethod
    async def request_steer(self, stream_id: str, message: SteeringMessageUIPart) -> bool:
        """Send ``message`` to the worker generating ``stream_id`` (any worker), which
        hands it to the answer (``StreamContext.steer``); messages to one stream arrive
        once each, in order.

        True when it is recorded for a stream still being generated (it reaches its
        worker even if a notification is lost); False when nothing generates the stream
        any more. Raises ``SteeringQueueFull`` when ``MAX_PENDING_STEERING`` already wait
        for it, ``StreamStoreError`` when it could not be recorded."""

    @abc.abstractmethod
    async def listen_for_steer(self, stream_id: str, callback: SteerCallback) -> Callable[[], None]:
        """Call ``callback`` with each steering message sent to ``stream_id``; returns the
        function that stops listening. Listening is in place when this returns."""

    async def aclose(self) -> None:  # noqa: B027 - optional for stores that hold nothing
        """Release connections and background tasks (call it at application shutdown)."""
