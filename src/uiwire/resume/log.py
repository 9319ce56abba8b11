"""``FrameLog``: one stream's SSE frames in this process, written once, followed by many.

A follower reads from the first frame (or any index) and then waits for new ones, so a
late reader gets the same bytes as one that was there from the start. Frames are kept
until the log is dropped: a stream's whole body, typically tens of kilobytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable

from uiwire._errors import StreamInterrupted
from uiwire.protocol.encode import DONE_FRAME

__all__ = ["FrameLog"]


class FrameLog:
    """An append-only list of SSE frames that readers can follow live (one event loop).

    A "frame" is any run of whole SSE events; the one ending in ``[DONE]`` is the last."""

    __slots__ = ("_changed", "_failure", "_frames", "_size")

    def __init__(self, frames: Iterable[bytes] = ()) -> None:
        self._frames: list[bytes] = list(frames)
        self._size = sum(map(len, self._frames))
        self._failure: str | None = None
        self._changed: asyncio.Event | None = asyncio.Event()  # None once ended

    @property
    def size(self) -> int:
        """Bytes held."""
        return self._size

    @property
    def ended(self) -> bool:
        return self._changed is None and (self._failure is not None or self._complete())

    def append(self, frames: Iterable[bytes]) -> None:
        if self.ended:
            raise RuntimeError("frames appended to a FrameLog that has ended")
        added = list(frames)
        if not added:
            return
        self._frames.extend(added)
        self._size += sum(map(len, added))
        self._notify()

    def end(self, failure: str | None = None) -> None:
        """No more frames. ``failure`` says why the body is cut short (followers then raise
        ``StreamInterrupted`` after the last frame); None when it ended with ``[DONE]``."""
        if not self._complete():
            self._failure = failure or "the stream ended before [DONE]"
        self._notify()
        self._changed = None

    async def follow(
        self, *, start: int = 0, idle: float | None = None
    ) -> AsyncGenerator[bytes, None]:
        """Every frame from index ``start``, then new ones as they arrive, until ``[DONE]``.

        Frames waiting together come joined in one item. After ``idle`` seconds without
        one, yields ``b""`` (a keep-alive is due). A log cut short raises
        ``StreamInterrupted`` once its frames are read.
        """
        index = start
        while True:
            count = len(self._frames)
            if index < count:
                data = b"".join(self._frames[index:count])
                index = count
                yield data
                if self._frames[count - 1].endswith(DONE_FRAME):
                    return
                continue
            changed = self._changed
            if changed is None:
                if self._failure is not None:
                    raise StreamInterrupted(self._failure)
                return
            try:
                await asyncio.wait_for(changed.wait(), idle)
            except asyncio.TimeoutError:
                yield b""

    def _complete(self) -> bool:
        return bool(self._frames) and self._frames[-1].endswith(DONE_FRAME)

    def _notify(self) -> None:
        changed = self._changed
        if changed is not None:
            changed.set()
            self._changed = asyncio.Event()
