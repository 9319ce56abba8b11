"""``RecordedStream``: one answer being generated, served live here and recorded for others.

Theory of operation
-------------------
The context's body is read by one pump task, whatever happens to HTTP connections: the
generation is no longer tied to the request that started it. Each frame goes

* to a local ``FrameLog``, which the POST's response and any resume reaching this
  worker follow (no store round trip, and unaffected if the store fails);
* to the store, in batches: while one ``append`` is in flight, the next frames gather,
  so a fast model costs one store write per batch, not per delta.

If an ``append`` fails, recording stops (a gap would corrupt every replay) and the store
is told at ``close`` that the stream failed; the local readers are unaffected. A stop
request from any worker cancels the work through ``StreamContext.cancel``: the stream
ends with ``abort``, recorded like any other frame. A steering message from any worker
is queued for the work the same way (``StreamContext.steer``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from uiwire._errors import StreamStoreError
from uiwire.protocol.ui_message import SteeringMessageUIPart
from uiwire.resume.log import FrameLog
from uiwire.resume.store import StreamStore
from uiwire.stream.context import StreamContext

__all__ = ["RecordedStream"]

logger = logging.getLogger("uiwire")


class RecordedStream:
    """Start with ``await RecordedStream.start(...)``; follow ``log``; ``on_closed`` is
    called once the stream is recorded and closed in the store."""

    def __init__(
        self,
        ctx: StreamContext[Any],
        store: StreamStore,
        *,
        chat_id: str,
        stream_id: str,
        prefix: Sequence[bytes],
        on_closed: Callable[[RecordedStream], object] | None = None,
        observe: Callable[[bytes], object] | None = None,
    ) -> None:
        self.ctx = ctx
        self.store = store
        self.chat_id = chat_id
        self.stream_id = stream_id
        self.log = FrameLog(prefix)
        """Every frame, the replay prefix first (``prefix_length`` frames)."""
        self.prefix_length = len(prefix)
        self._unlisten: Callable[[], None] = _nothing
        self._pending: list[bytes] = []
        self._wake = asyncio.Event()
        self._pumped = False
        self._task: asyncio.Task[None] | None = None
        self._on_closed = on_closed
        self._observe = observe
        self.replaced: str | None = None
        """The chat's previous active stream, which this one replaced (still running?)."""

    @classmethod
    async def start(
        cls,
        ctx: StreamContext[Any],
        store: StreamStore,
        *,
        chat_id: str,
        stream_id: str,
        prefix: Sequence[bytes] = (),
        on_closed: Callable[[RecordedStream], object] | None = None,
        observe: Callable[[bytes], object] | None = None,
    ) -> RecordedStream:
        """Register the stream in the store and start pumping ``ctx`` (already running).

        ``on_closed(stream)`` runs once everything is recorded; ``observe(frame)`` is told
        of each frame as it is logged (a turn's telemetry counting them). Raises
        ``StreamStoreError`` if the store cannot open the stream; nothing was started."""
        stream = cls(
            ctx,
            store,
            chat_id=chat_id,
            stream_id=stream_id,
            prefix=prefix,
            on_closed=on_closed,
            observe=observe,
        )
        # listen first: a stop may arrive as soon as the chat's active stream is set
        unlisten_stop = await store.listen_for_stop(stream_id, ctx.stop)
        try:
            unlisten_steer = await store.listen_for_steer(stream_id, _steer_into(ctx))
        except BaseException:
            unlisten_stop()
            raise
        stream._unlisten = _both(unlisten_stop, unlisten_steer)
        try:
            stream.replaced = await store.open(chat_id, stream_id, prefix)
        except BaseException:
            stream._unlisten()
            raise
        loop = asyncio.get_running_loop()
        stream._task = loop.create_task(stream._run(), name=f"uiwire-record-{stream_id}")
        return stream

    async def _run(self) -> None:
        recorder = asyncio.get_running_loop().create_task(
            self._record(), name=f"uiwire-record-store-{self.stream_id}"
        )
        observe = self._observe
        try:
            async with contextlib.aclosing(self.ctx.stream()) as body:
                async for frame in body:
                    self.log.append((frame,))
                    self._pending.append(frame)
                    self._wake.set()
                    if observe is not None:
                        observe(frame)
        finally:
            self.log.end()
            self._pumped = True
            self._wake.set()
            await recorder

    async def _record(self) -> None:
        recording = True
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                batch, self._pending = self._pending, []
                if batch and recording:
                    try:
                        await self.store.append(self.stream_id, batch)
                    except Exception:  # a custom store may raise anything: a gap all the same
                        logger.exception(
                            "stream %s: recording failed; it can no longer be resumed (its "
                            "live readers are unaffected)",
                            self.stream_id,
                        )
                        recording = False
                        # followers elsewhere must stop at the gap now, not at the end
                        await self._close(failed=True)
                if self._pumped and not self._pending:
                    break
            if recording:
                # on_close (ChatEndpoint's on_finish) first: once a resume answers 204, it is saved
                await self.ctx.wait_closed()
                await self._close(failed=False)
        finally:
            self._unlisten()
            if self._on_closed is not None:
                self._on_closed(self)

    async def _close(self, *, failed: bool) -> None:
        try:
            await self.store.close(self.chat_id, self.stream_id, failed=failed)
        except StreamStoreError:
            logger.exception("stream %s: the store could not close it", self.stream_id)


def _nothing() -> None:
    return None


def _both(first: Callable[[], None], second: Callable[[], None]) -> Callable[[], None]:
    def both() -> None:
        first()
        second()

    return both


def _steer_into(ctx: StreamContext[Any]) -> Callable[[SteeringMessageUIPart], None]:
    """The steer listener of ``ctx``: a message that arrives once the answer has ended
    (or on a target without steering) is logged, not delivered."""

    def steer(message: SteeringMessageUIPart) -> None:
        if ctx.target != "v7" or not ctx.steer(message):
            logger.info(
                "stream of message %s: steering %s not delivered (the answer has ended)",
                ctx.message_id,
                message.id,
            )

    return steer
