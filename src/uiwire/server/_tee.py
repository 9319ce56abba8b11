"""``Tee``: a copy of one answer's SSE bytes for ``ResponseOptions(tee=...)``.

The copy must never hold the client up, so ``feed`` only appends to a buffer and wakes
the tee's own task; a tee that falls ``TEE_MAX_BUFFERED_BYTES`` behind has its copy
cut (its iteration raises ``StreamInterrupted``) instead of growing without bound.
Once the answer has ended, the tee has ``TEE_DEADLINE`` seconds to finish. Whatever it
raises is logged and given to ``on_error``; the answer never sees it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import AsyncIterator
from typing import Any

from uiwire._errors import StreamInterrupted
from uiwire.protocol.encode import KEEP_ALIVE_FRAME
from uiwire.server.options import StreamTee
from uiwire.stream.context import OnError
from uiwire.stream.turn import ChatTurn

__all__ = ["TEE_DEADLINE", "TEE_MAX_BUFFERED_BYTES", "Tee"]

logger = logging.getLogger("uiwire")

TEE_MAX_BUFFERED_BYTES = 4 * 1024 * 1024
"""Bytes of an answer a tee may lag behind before its copy is cut (a plain module
variable, so tests can shorten it)."""

TEE_DEADLINE = 30.0
"""Seconds a tee may run on once its answer has ended."""

_running: set[asyncio.Task[Any]] = set()  # tees nobody else holds a reference to


class Tee:
    """One answer's copy, fed by whoever sends or records its frames."""

    def __init__(self, consume: StreamTee, turn: ChatTurn, on_error: OnError | None) -> None:
        self._consume = consume
        self._turn = turn
        self._on_error = on_error
        self._frames: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._wake = asyncio.Event()
        self._ended = False
        self._cut = False
        self._task: asyncio.Task[None] | None = None

    def feed(self, data: bytes) -> None:
        """Copy ``data`` (whole SSE frames) for the tee; keep-alive comments are not
        copied. Never blocks, never raises."""
        if self._ended or self._cut or not data or data == KEEP_ALIVE_FRAME:
            return
        if self._buffered + len(data) > TEE_MAX_BUFFERED_BYTES:
            self._cut = True
            self._frames.clear()
            self._buffered = 0
        else:
            self._frames.append(data)
            self._buffered += len(data)
        self._wake.set()

    def start(self) -> None:
        """Run the tee, in a task of its own (frames fed before are kept for it)."""
        task = asyncio.get_running_loop().create_task(
            self._run(), name=f"uiwire-tee-{self._turn.message_id}"
        )
        self._task = task
        _running.add(task)
        task.add_done_callback(_running.discard)

    def end(self) -> None:
        """No more frames: the copy ends after those buffered, and the tee has
        ``TEE_DEADLINE`` seconds left."""
        if self._ended:
            return
        self._ended = True
        self._wake.set()
        task = self._task
        if task is not None and not task.done():
            asyncio.get_running_loop().call_later(TEE_DEADLINE, self._overdue, task)

    def _overdue(self, task: asyncio.Task[None]) -> None:
        if not task.done():
            task.cancel(f"the tee ran {TEE_DEADLINE:g} s past the end of its answer")

    async def _copy(self) -> AsyncIterator[bytes]:
        while True:
            while self._frames:
                data = self._frames.popleft()
                self._buffered -= len(data)
                yield data
            if self._cut:
                raise StreamInterrupted(
                    f"the tee of message {self._turn.message_id} fell more than "
                    f"{TEE_MAX_BUFFERED_BYTES} bytes behind the answer; its copy was cut"
                )
            if self._ended:
                return
            self._wake.clear()
            await self._wake.wait()

    async def _run(self) -> None:
        try:
            await self._consume(self._turn, self._copy())
        except asyncio.CancelledError:
            if not self._ended:
                raise  # the loop is going away, not a slow tee
            self._report(TimeoutError(f"the tee ran {TEE_DEADLINE:g} s past its answer's end"))
        except Exception as exc:
            self._report(exc)

    def _report(self, exc: BaseException) -> None:
        logger.error(
            "the tee of message %s (chat %s) failed; the answer was not affected",
            self._turn.message_id,
            self._turn.chat_id,
            exc_info=exc,
        )
        if self._on_error is None:
            return
        try:
            self._on_error(exc)
        except Exception:
            logger.exception("on_error raised while told of a failed tee")
