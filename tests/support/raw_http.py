"""A bare HTTP/1.1 exchange over asyncio streams, for tests that hold thousands of
responses open at once (an HTTP client library costs more per response than the servers
under test): send a whole request, read the head, then the body to the end
(``connection: close``), de-chunked."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["RawResponse", "exchange", "raw_request"]


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)


def raw_request(
    method: str, port: int, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"host: 127.0.0.1:{port}", "connection: close"]
    if body:
        lines += ["content-type: application/json", f"content-length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def exchange(
    port: int,
    request: bytes,
    *,
    on_head: Callable[[RawResponse], Awaitable[None]] | None = None,
) -> RawResponse:
    """Send ``request`` to 127.0.0.1:``port``; ``on_head`` runs once the head arrived,
    before the body is read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        response = RawResponse(status=int(status_line.split()[1]))
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                response.headers.append((name.strip().lower(), value.strip()))
        if on_head is not None:
            await on_head(response)
        raw = await reader.read()
        chunked = response.header("transfer-encoding") == "chunked"
        response.body = _dechunk(raw) if chunked else raw
        return response
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def _dechunk(raw: bytes) -> bytes:
    body = bytearray()
    position = 0
    while True:
        end = raw.index(b"\r\n", position)
        size = int(raw[position:end].split(b";")[0], 16)
        if size == 0:
            return bytes(body)
        body += raw[end + 2 : end + 2 + size]
        position = end + 2 + size + 2
