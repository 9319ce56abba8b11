"""``MemoryStreamStore``: resumable streams for one process (the default).

Enough for one uvicorn worker: a reload, a flaky connection or a second tab resumes
from this process's memory. Nothing survives the process, and other processes see
nothing: with several workers, use ``RedisStreamStore``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence

from uiwire._errors import StreamInterrupted
from uiwire.protocol.ui_message import SteeringMessageUIPart
from uiwire.resume.log import FrameLog
from uiwire.resume.store import (
    Listeners,
    SteerCallback,
    StopCallback,
    StopListeners,
    StreamStore,
)
from uiwire.stream.context import StopMode

__all__ = ["MemoryStreamStore"]


class MemoryStreamStore(StreamStore):
    """Streams kept in this process while they are generated, dropped when they end."""

    def __init__(self) -> None:
        self._logs: dict[str, FrameLog] = {}
        self._active: dict[str, str] = {}
        self._stops = StopListeners()
        self._steers = Listeners[SteeringMessageUIPart]("steer")

    async def open(self, chat_id: str, stream_id: str, frames: Sequence[bytes] = ()) -> str | None:
        if stream_id in self._logs:
            raise ValueError(f"stream {stream_id!r} is already open")
        self._logs[stream_id] = FrameLog(frames)
        previous = self._active.get(chat_id)
        self._active[chat_id] = stream_id
        return previous

    async def append(self, stream_id: str, frames: Sequence[bytes]) -> None:
        self._log(stream_id).append(frames)

    async def close(self, chat_id: str, stream_id: str, *, failed: bool = False) -> None:
        log = self._logs.pop(stream_id, None)
        if log is not None:  # followers keep their reference and read to the end
            log.end("frames were lost before the stream ended" if failed else None)
        if self._active.get(chat_id) == stream_id:
            del self._active[chat_id]

    async def active_stream(self, chat_id: str) -> str | None:
        return self._active.get(chat_id)

    async def follow(
        self, stream_id: str, *, idle: float | None = None
    ) -> AsyncGenerator[bytes, None]:
        async for data in self._log(stream_id).follow(idle=idle):
            yield data

    async def request_stop(self, stream_id: str, mode: StopMode = "immediate") -> bool:
        return self._stops.notify(stream_id, mode)

    async def listen_for_stop(self, stream_id: str, callback: StopCallback) -> Callable[[], None]:
        return self._stops.add(stream_id, callback)

    async def request_steer(self, stream_id: str, message: SteeringMessageUIPart) -> bool:
        return self._steers.notify(stream_id, message)

    async def listen_for_steer(self, stream_id: str, callback: SteerCallback) -> Callable[[], None]:
        return self._steers.add(stream_id, callback)

    def _log(self, stream_id: str) -> FrameLog:
        log = self._logs.get(stream_id)
        if log is None:
            raise StreamInterrupted(f"stream {stream_id!r} is not open")
        return log
