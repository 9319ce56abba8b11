"""``FollowResponse``: a recorded stream's frames, sent to one client as they come.

The generation is not this response's: when its client leaves, the reading stops and
(only if asked, ``on_disconnect``) the generation is told. A body that cannot be read to
``[DONE]`` (its store failed, its worker died) still ends validly for the client, with
an ``error`` chunk and ``[DONE]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from uiwire._errors import StreamInterrupted, StreamStoreError
from uiwire.protocol.encode import KEEP_ALIVE_FRAME, UI_MESSAGE_STREAM_HEADERS
from uiwire.resume.open_parts import OpenParts
from uiwire.resume.store import interruption_frames
from uiwire.server.response import wait_for_disconnect

__all__ = ["FollowResponse"]

logger = logging.getLogger("uiwire")


class FollowResponse(Response):
    """Send ``frames`` (``b""`` items become keep-alive comments) with the stream headers.

    ``may_break``: the frames may stop short of ``[DONE]`` (a store's), so track the
    open parts to close them; False for a local log that always ends with ``[DONE]``.
    ``headers`` are added to the stream's own (which they cannot replace: checked by
    ``ResponseOptions``)."""

    def __init__(
        self,
        frames: AsyncGenerator[bytes, None],
        *,
        name: str,
        on_disconnect: Callable[[], None] | None = None,
        may_break: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.frames = frames
        self.open_parts = OpenParts() if may_break else None
        self.name = name
        self.on_disconnect = on_disconnect
        self.status_code = 200
        self.background = None
        self.init_headers({**(headers or {}), **UI_MESSAGE_STREAM_HEADERS})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        body = loop.create_task(self._send_body(send), name=f"uiwire-follow-{self.name}")
        watcher = loop.create_task(
            wait_for_disconnect(receive), name=f"uiwire-follow-watch-{self.name}"
        )
        try:
            await asyncio.wait((body, watcher), return_when=asyncio.FIRST_COMPLETED)
        finally:
            client_left = watcher.done() and not body.done()
            for task in (body, watcher):
                task.cancel()
            await asyncio.wait((body, watcher))
        if client_left and self.on_disconnect is not None:
            self.on_disconnect()
        failure = None if body.cancelled() else body.exception()
        if failure is not None:
            raise failure

    async def _send_body(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        open_parts = self.open_parts
        try:
            async with contextlib.aclosing(self.frames) as frames:
                async for data in frames:
                    if open_parts is not None:
                        open_parts.feed(data)
                    await send(
                        {
                            "type": "http.response.body",
                            "body": data or KEEP_ALIVE_FRAME,
                            "more_body": True,
                        }
                    )
        except (StreamInterrupted, StreamStoreError) as exc:
            logger.error("stream %s could not be followed to its end: %s", self.name, exc)
            closing = open_parts.closing_chunks() if open_parts is not None else []
            end = interruption_frames(closing)
            await send({"type": "http.response.body", "body": end, "more_body": True})
        except OSError:  # the client went away mid-write
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
