"""``UIMessageStreamResponse``: a ``StreamContext`` served over HTTP by Starlette/FastAPI.

Starlette's own ``StreamingResponse`` notices a departed client only when a write fails,
which for an idle stream (a tool running, a model thinking) may be never. This response
listens for ``http.disconnect`` for its whole life, so the work is cancelled the moment
the client goes, and sends an SSE comment after ``keep_alive`` idle seconds so proxies
keep the connection open.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from starlette.background import BackgroundTask
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from uiwire.stream.context import StreamContext

if TYPE_CHECKING:
    from uiwire.server.telemetry import Telemetry, TurnProbe

__all__ = [
    "DEFAULT_KEEP_ALIVE",
    "UIMessageStreamResponse",
    "end_turn_when_closed",
    "wait_for_disconnect",
]

DEFAULT_KEEP_ALIVE: Final = 15.0
"""Seconds of silence before a keep-alive comment (proxies often cut at 30-60 s)."""


class UIMessageStreamResponse(Response):
    """Stream ``ctx`` with the UI message stream headers; return it from a route.

    ``keep_alive``: idle seconds before an SSE comment (None: never). ``headers`` are
    added to (and may override) the protocol headers. ``background`` runs after the
    response, as in Starlette. ``telemetry``: a span for the stream, from this
    response's creation to the stream's end, and its metrics (``Telemetry``).
    """

    probe: TurnProbe | None
    """The turn's telemetry, counting what is delivered (set by ``ChatEndpoint``)."""
    observe: Callable[[bytes], object] | None
    """Told of each piece of the body as it is sent (``ChatEndpoint``'s tee)."""

    def __init__(
        self,
        ctx: StreamContext[Any],
        *,
        keep_alive: float | None = DEFAULT_KEEP_ALIVE,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        if not isinstance(ctx, StreamContext):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"ctx must be a StreamContext; got {type(ctx).__name__}")
        self.ctx = ctx
        self.keep_alive = check_keep_alive(keep_alive)
        self.status_code = status_code
        self.background = background
        self.init_headers({**ctx.response_headers, **(headers or {})})
        self.probe = None
        self.observe = None
        self._telemetry = telemetry
        self._created = time.time_ns() if telemetry is not None else 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = self.ctx
        own_probe = self.probe is None and self._telemetry is not None
        if own_probe:
            self.probe = self._start_turn(scope)
        probe = self.probe
        observe = self.observe
        watcher = asyncio.get_running_loop().create_task(
            self._watch_disconnect(receive), name=f"uiwire-disconnect-{ctx.message_id}"
        )
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )

            def send_only(data: bytes) -> Awaitable[None]:
                # the send itself, not a coroutine around it: one frame less per chunk
                return send({"type": "http.response.body", "body": data, "more_body": True})

            async def send_and_count(data: bytes) -> None:
                await send_only(data)
                if probe is not None:  # the turn's telemetry counts what was sent
                    probe.delivered(data)
                if observe is not None:
                    observe(data)

            watched = probe is not None or observe is not None
            send_body: Callable[[bytes], Awaitable[None]] = send_and_count if watched else send_only

            # writers on the loop send through send_body themselves while this waits
            frames = ctx.stream(keep_alive=self.keep_alive, sink=send_body)
            async with contextlib.aclosing(frames) as body:
                async for data in body:
                    await send_body(data)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the client went away mid-write (ASGI 2.4 servers)
            return
        finally:
            ctx.disconnect()  # a no-op once everything was delivered
            watcher.cancel()
            await asyncio.wait([watcher])  # never swallows a cancellation of our own
            if own_probe and probe is not None:
                end_turn_when_closed(ctx, probe)
        if self.background is not None:
            await self.background()

    def _start_turn(self, scope: Scope) -> TurnProbe:
        """The stream's own span, begun when this response was created."""
        assert self._telemetry is not None
        probe = self._telemetry.start_turn(
            Headers(scope=scope), agent="StreamContext", start_time=self._created
        )
        probe.describe(message_id=self.ctx.message_id)
        probe.streaming()
        return probe

    async def _watch_disconnect(self, receive: Receive) -> None:
        await wait_for_disconnect(receive)
        self.ctx.disconnect()


async def wait_for_disconnect(receive: Receive) -> None:
    """Return when the ASGI server says the client has gone (``http.disconnect``)."""
    while (await receive())["type"] != "http.disconnect":
        pass


_ending: set[asyncio.Task[None]] = set()  # turns whose work goes on after their client left


def end_turn_when_closed(ctx: StreamContext[Any], probe: TurnProbe) -> None:
    """End ``probe`` with the stream's status: now if it is closed, else (its work goes
    on after the client left) once it is."""
    if ctx.status is not None:
        record = ctx.record
        error = None if record is None else record.exception
        probe.end(ctx.status, cancelled=ctx.stopped, error=error)
        return

    async def when_closed() -> None:
        await ctx.wait_closed()
        end_turn_when_closed(ctx, probe)

    task = asyncio.get_running_loop().create_task(
        when_closed(), name=f"uiwire-end-{ctx.message_id}"
    )
    _ending.add(task)
    task.add_done_callback(_ending.discard)


def check_keep_alive(keep_alive: float | None) -> float | None:
    """``keep_alive`` if it is positive seconds or None, else ValueError."""
    if keep_alive is not None and not (
        isinstance(keep_alive, (int, float)) and keep_alive > 0  # pyright: ignore[reportUnnecessaryIsInstance]
    ):
        raise ValueError(f"keep_alive must be positive seconds or None; got {keep_alive!r}")
    return keep_alive
