"""``ChatSocket``: the chat over one WebSocket, as AI SDK 7's ``WebSocketChatTransport``
speaks it, served by a ``ChatEndpoint``.

Theory of operation
-------------------
The transport multiplexes requests over one socket. The client sends ``send`` (a chat
request), ``resume`` (the chat's active answer, replayed from its start) and ``abort``,
each with its own ``requestId``; the server answers a request with ``start``, numbered
``chunk`` frames (``sequence`` 0, 1, 2, ... with no gap), then ``end``; or with ``error``
(``errorText``) or ``no-active`` (nothing to resume).

Every request is the HTTP route's own. A ``send`` frame is the body of the chat POST (the
frame's ``body`` spread at the top, as ``DefaultChatTransport`` posts it), a ``resume``
the GET of the resume route, an ``abort`` the POST of the stop route; each is answered by
the endpoint's own handler, with the handshake's headers (its cookies and origin) and the
frame's ``headers``. Identity, ``authorize``, the request limits, the kept conversation,
the stream store and masking are therefore the HTTP routes', not a second copy. The
handler's response is read as it is written: its SSE frames become ``chunk`` frames (the
chunk JSON is spliced in, not parsed again), a JSON refusal an ``error`` frame naming
the field, a 204 ``no-active``.

The handshake is checked first: a page of another origin is refused (browsers send
cookies with a WebSocket handshake from any site, and no preflight guards it), then the
caller as the HTTP routes check one; a new anonymous owner's cookie is set by the
handshake's response, so that every request on the socket acts for the same owner.

A dropped socket is a client disconnect for each request on it: with a stream store the
answers go on (``on_disconnect``), and the transport's ``resume`` replays them on a new
socket, on any worker. ``abort`` stops the answer, as the stop route does.

One frame is uiwire's own (the transport has no steering): ``steer`` (``requestId``,
the chat ``id``, ``message``: ``{id?, parts}``, optional ``headers``) goes to the steer
route with ``message`` as its body, and is answered ``end`` when the message is on its
way to the running answer, ``no-active`` when no answer runs, ``error`` (naming the
field) when refused. The transport ignores frames for request ids it did not send, so
a page may send ``steer`` frames on the transport's own socket.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, Final, cast
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from uiwire.protocol.encode import DONE_FRAME
from uiwire.server._body import SOCKET_FRAME_KEY, decode_json
from uiwire.server._json_scan import TooManyValues
from uiwire.server.identity import Owner

__all__ = ["MAX_REQUESTS_PER_SOCKET", "ChatSocket", "SocketHandlers"]

logger = logging.getLogger("uiwire")

MAX_REQUESTS_PER_SOCKET: Final = 16
"""Requests one socket may have running at once (a page runs one per chat it shows)."""

MASKED_ERROR: Final = "An error occurred."

_HANDSHAKE_ONLY: Final = frozenset(
    {"cookie", "host", "origin", "content-type", "content-length", "transfer-encoding"}
    | {"connection", "upgrade"}
)
"""Headers a frame's ``headers`` cannot set: who and where the caller is comes from the
handshake, and the body is the frame."""

_DATA: Final = b"data: "

Handler = Callable[[Request], Awaitable[Response]]


@dataclasses.dataclass(frozen=True, slots=True)
class SocketHandlers:
    """The endpoint's handlers a socket's requests go to (``ChatEndpoint.socket``)."""

    caller: Callable[[Request], Awaitable[Owner | Response | None]]
    """Who asks, if they may: the owner (None without an identity) or the refusal."""
    respond: Handler
    """The chat route."""
    resume: Handler
    """The resume route (``path_params["id"]``)."""
    stop: Handler
    """The stop route (``path_params["id"]``)."""
    steer: Handler
    """The steer route (``path_params["id"]``)."""
    max_json_values: int
    """The most JSON values a frame may hold (the endpoint's ``RequestLimits``)."""


class ChatSocket:
    """The ``WebSocketChatTransport`` server of a ``ChatEndpoint``, as an ASGI app for a
    websocket route. ``ChatEndpoint.routes`` mounts one at ``{path}/ws``; for other
    origins, make one with ``ChatEndpoint.socket``::

        WebSocketRoute("/api/chat/ws", chat.socket(origins=["https://app.example"]))

    ``origins``: the origins whose pages may open the socket besides the server's own; a
    handshake without an ``Origin`` (not a browser) is let in.
    """

    def __init__(self, handlers: SocketHandlers, *, origins: Collection[str] = ()) -> None:
        self._handlers = handlers
        self._origins = frozenset(o.rstrip("/").lower() for o in origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        if not self._same_origin(websocket):
            await websocket.close(code=1008, reason="this page's origin may not open the chat")
            return
        owner = await self._handlers.caller(_as_request(scope, "GET"))
        if isinstance(owner, Response):
            await websocket.close(code=1008, reason=_refusal_text(owner)[:120])
            return
        cookie = owner.set_cookie if owner is not None else None
        await websocket.accept(headers=[(b"set-cookie", cookie.encode())] if cookie else None)
        session = _Session(self._handlers, websocket, _cookie_pair(cookie))
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    data = message.get("bytes")
                    text = data.decode("utf-8", "replace") if data is not None else ""
                await session.handle(text)
        finally:
            await session.close()

    def _same_origin(self, websocket: WebSocket) -> bool:
        origin = websocket.headers.get("origin")
        if origin is None:
            return True
        origin = origin.rstrip("/").lower()
        if origin in self._origins:
            return True
        host = websocket.headers.get("host", "").lower()
        return urlsplit(origin).netloc == host and host != ""


class _Session:
    """One socket's requests, by ``requestId``; every frame out goes through ``put``."""

    def __init__(self, handlers: SocketHandlers, websocket: WebSocket, cookie: str | None) -> None:
        self.handlers = handlers
        self._websocket = websocket
        self._cookie = cookie
        self._requests: dict[str, _Exchange] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sending = asyncio.Lock()
        self._open = True

    async def put(self, frame: str) -> None:
        """Send one frame; a closed socket drops it (its requests are ending)."""
        if not self._open:
            return
        async with self._sending:
            try:
                await self._websocket.send_text(frame)
            except (WebSocketDisconnect, RuntimeError, OSError):
                self._open = False

    async def handle(self, text: str) -> None:
        # the envelope is read as a POST body is, off the loop when big (the chat route
        # then reads a send frame's chat fields, with every check of its own)
        data = text.encode()
        try:
            frame: Any = await decode_json(data, self.handlers.max_json_values)
        except TooManyValues as exc:  # answered under the id the transport writes first
            await self.put(_error(_leading_request_id(data), f"body: {exc}"))
            return
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            await self.put(_error("", "a frame must be a JSON object"))
            return
        fields = cast("dict[str, Any]", frame)
        request_id = fields.get("requestId")
        if not isinstance(request_id, str) or not request_id:
            await self.put(_error("", "requestId: a frame needs a requestId string"))
            return
        kind = fields.get("type")
        if kind == "abort":
            await self._abort(request_id)
            return
        if kind == "steer":
            await self._steer(request_id, fields)
            return
        if kind not in ("send", "resume"):
            await self.put(
                _error(request_id, f"type: expected send, resume, abort or steer; got {kind!r}")
            )
            return
        if request_id in self._requests:
            await self.put(_error(request_id, "requestId: this request is already running"))
            return
        if len(self._requests) >= MAX_REQUESTS_PER_SOCKET:
            await self.put(
                _error(request_id, f"over {MAX_REQUESTS_PER_SOCKET} requests at once on a socket")
            )
            return
        problem = _envelope_problem(fields)
        if problem is not None:
            await self.put(_error(request_id, problem))
            return
        chat_id = cast("str", fields["id"])
        headers = cast("dict[str, str]", fields.get("headers") or {})
        exchange = _Exchange(self, request_id, chat_id)
        self._requests[request_id] = exchange
        if kind == "send":
            run = exchange.send(data, self._scope("POST", headers, send_frame=True))
        else:
            last = fields.get("lastSequence")
            exchange.skip = last + 1 if isinstance(last, int) else 0
            run = exchange.resume(self._scope("GET", headers, chat_id=chat_id))
        task = asyncio.get_running_loop().create_task(run, name=f"uiwire-socket-{request_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def done(self, exchange: _Exchange) -> None:
        if self._requests.get(exchange.request_id) is exchange:
            del self._requests[exchange.request_id]

    async def _abort(self, request_id: str) -> None:
        """Stop the request's answer (as the stop route) and stop sending its frames."""
        exchange = self._requests.get(request_id)
        if exchange is None:
            return  # ended already, or never ran: nothing to stop
        exchange.aborted = True
        await self.stop(exchange.chat_id)

    async def _steer(self, request_id: str, fields: Mapping[str, Any]) -> None:
        """The steer route's answer, as a frame: ``end`` (on its way), ``no-active`` (no
        answer runs) or ``error``."""
        problem = _envelope_problem(fields)
        if problem is None and not isinstance(fields.get("message"), dict):
            problem = "message: a steering message object ({id?, parts}) is required"
        if problem is not None:
            await self.put(_error(request_id, problem))
            return
        chat_id = cast("str", fields["id"])
        headers = cast("dict[str, str]", fields.get("headers") or {})
        scope = self._scope("POST", headers, chat_id=chat_id)
        call = _Call(orjson.dumps(fields["message"]))
        try:
            response = await self.handlers.steer(Request(scope, call.receive))
        except Exception:
            logger.exception("chat %s: a WebSocket steer failed", chat_id)
            await self.put(_error(request_id, MASKED_ERROR))
            return
        quoted = orjson.dumps(request_id).decode()
        if response.status_code == 202:
            await self.put(f'{{"type":"end","requestId":{quoted}}}')
        elif _refusal_type(response) == "no_running_answer":
            await self.put(f'{{"type":"no-active","requestId":{quoted}}}')
        else:
            await self.put(_error(request_id, _refusal_text(response)))

    async def stop(self, chat_id: str) -> None:
        """The stop route's answer to this caller for ``chat_id``; a failure is logged
        (the client has already let the request go)."""
        scope = self._scope("POST", {}, chat_id=chat_id)
        call = _Call(b"{}")
        try:
            response = await self.handlers.stop(Request(scope, call.receive))
        except Exception:
            logger.exception("chat %s: a WebSocket abort could not stop the answer", chat_id)
            return
        if response.status_code >= 400:
            logger.warning(
                "chat %s: a WebSocket abort was refused (%s)", chat_id, response.status_code
            )

    def _scope(
        self,
        method: str,
        frame_headers: Mapping[str, str],
        *,
        chat_id: str | None = None,
        send_frame: bool = False,
    ) -> Scope:
        """The HTTP scope of one request on this socket: the handshake's, with the
        frame's headers (never those naming the caller) and the owner's cookie."""
        base = self._websocket.scope
        handshake = cast("list[tuple[bytes, bytes]]", base["headers"])
        headers = [
            (k, v)
            for k, v in handshake
            if k not in (b"cookie", b"content-type", b"content-length")
            and not k.startswith(b"sec-websocket")
        ]
        for name, value in frame_headers.items():
            key = name.lower()
            if key not in _HANDSHAKE_ONLY and not key.startswith("sec-websocket"):
                headers.append((key.encode("latin-1"), value.encode("latin-1", "replace")))
        cookies = [v for k, v in handshake if k == b"cookie"]
        if self._cookie is not None:  # the owner's new or renewed cookie replaces its old one
            name = self._cookie.split("=", 1)[0].encode("latin-1") + b"="
            cookies = [
                b"; ".join(p for p in (c.strip() for c in v.split(b";")) if not p.startswith(name))
                for v in cookies
            ]
            cookies = [c for c in cookies if c]
            cookies.append(self._cookie.encode("latin-1"))
        if cookies:
            headers.append((b"cookie", b"; ".join(cookies)))
        headers.append((b"content-type", b"application/json"))
        scope = _as_request(base, method).scope
        scope["headers"] = headers
        scope["path_params"] = {} if chat_id is None else {"id": chat_id}
        if send_frame:
            scope[SOCKET_FRAME_KEY] = True
        return scope

    async def close(self) -> None:
        """The socket is gone: every request sees its client leave; wait for them."""
        self._open = False
        for exchange in list(self._requests.values()):
            exchange.gone.set()
        if self._tasks:
            await asyncio.wait(set(self._tasks))


class _Call:
    """The ASGI ``receive`` of one handler call: its body once, then, when ``gone`` is
    set, the client's leaving."""

    def __init__(self, body: bytes, gone: asyncio.Event | None = None) -> None:
        self._body: bytes | None = body
        self.gone = gone if gone is not None else asyncio.Event()

    async def receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}


class _Exchange:
    """One ``send`` or ``resume`` request: the endpoint's response, read as it is
    written, out as frames."""

    def __init__(self, session: _Session, request_id: str, chat_id: str) -> None:
        self._session = session
        self.request_id = request_id
        self.chat_id = chat_id
        self.gone = asyncio.Event()
        self.aborted = False
        self.skip = 0
        """Chunks not to send again (a resume from ``lastSequence``)."""
        self._quoted_id = orjson.dumps(request_id).decode()
        self._status = 0
        self._refusal = bytearray()
        self._pending = b""
        self._sequence = 0
        self._ended = False

    async def send(self, frame: bytes, scope: Scope) -> None:
        call = _Call(frame, self.gone)
        await self._answer(self._session.handlers.respond, scope, call)

    async def resume(self, scope: Scope) -> None:
        call = _Call(b"", self.gone)
        await self._answer(self._session.handlers.resume, scope, call)

    async def _answer(self, handler: Handler, scope: Scope, call: _Call) -> None:
        try:
            response = await handler(Request(scope, call.receive))
            if self.aborted:  # the abort came while the answer began: stop it now
                await self._session.stop(self.chat_id)
            await response(scope, call.receive, self._read)
            if not self._ended and not self.gone.is_set():
                await self._finish()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("a WebSocket chat request failed (chat %s)", self.chat_id)
            if not self._ended:
                self._ended = True
                await self._put(_error(self.request_id, MASKED_ERROR))
        finally:
            self._session.done(self)

    async def _read(self, message: Message) -> None:
        """The handler's ASGI ``send``: its response, as frames."""
        if message["type"] == "http.response.start":
            self._status = int(message["status"])
            if self._status == 200:
                await self._put(self._frame("start"))
            return
        if message["type"] != "http.response.body":
            return
        body = cast("bytes", message.get("body", b""))
        if self._status != 200:
            self._refusal += body
            if not message.get("more_body", False):
                await self._refused()
            return
        await self._chunks(body)

    async def _chunks(self, body: bytes) -> None:
        data = self._pending + body if self._pending else body
        events = data.split(b"\n\n")
        self._pending = events.pop()
        for event in events:
            if event + b"\n\n" == DONE_FRAME:
                await self._finish()
                continue
            if not event.startswith(_DATA):  # a keep-alive comment
                continue
            sequence = self._sequence
            self._sequence += 1
            if sequence < self.skip:
                continue
            chunk = event[len(_DATA) :].decode()
            await self._put(
                f'{{"type":"chunk","requestId":{self._quoted_id},"sequence":{sequence - self.skip},"chunk":{chunk}}}'
            )

    async def _finish(self) -> None:
        if not self._ended:
            self._ended = True
            await self._put(self._frame("end"))

    async def _refused(self) -> None:
        self._ended = True
        if self._status == 204:
            await self._put(self._frame("no-active"))
            return
        await self._put(_error(self.request_id, _refusal_text_of(bytes(self._refusal))))

    def _frame(self, kind: str) -> str:
        return f'{{"type":"{kind}","requestId":{self._quoted_id}}}'

    async def _put(self, frame: str) -> None:
        if not self.gone.is_set() and not self.aborted:
            await self._session.put(frame)


def _as_request(scope: Scope, method: str) -> Request:
    """An HTTP request with the websocket handshake's scope (headers, cookies, query)."""
    http = dict(scope)
    http.update(type="http", method=method, http_version="1.1")
    http.pop("subprotocols", None)
    return Request(http)


def _cookie_pair(set_cookie: str | None) -> str | None:
    """``name=value`` of a ``Set-Cookie`` header value."""
    return None if set_cookie is None else set_cookie.split(";", 1)[0].strip()


def _envelope_problem(fields: Mapping[str, Any]) -> str | None:
    """What is wrong with a ``send`` or ``resume`` frame's envelope (the chat's own
    fields are the chat route's to check), or None."""
    chat_id = fields.get("id")
    if not isinstance(chat_id, str) or not chat_id:
        return "id: a chat id string is required"
    headers = fields.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(v, str) for v in cast("dict[str, Any]", headers).values()
    ):
        return "headers: an object of strings is required"
    last = fields.get("lastSequence")
    if (
        fields.get("type") == "resume"
        and last is not None
        and (isinstance(last, bool) or not isinstance(last, int) or last < 0)
    ):
        return "lastSequence: a whole number from 0 is required"
    return None


_LEADING_ID: Final = re.compile(rb'^\{"type":"[a-z-]+","requestId":("(?:[^"\\]|\\.){1,200}")')
"""The start of a frame as ``WebSocketChatTransport`` writes it (``JSON.stringify``)."""


def _leading_request_id(data: bytes) -> str:
    """The ``requestId`` of a frame too big to decode, where the transport put it first;
    else ``""``."""
    found = _LEADING_ID.match(data[:512])
    if found is None:
        return ""
    value: object = orjson.loads(found.group(1))
    return value if isinstance(value, str) else ""


def _error(request_id: str, text: str) -> str:
    return orjson.dumps({"type": "error", "requestId": request_id, "errorText": text}).decode()


def _refusal_text(response: Response) -> str:
    body: object = getattr(response, "body", b"")
    return _refusal_text_of(body if isinstance(body, bytes) else b"")


def _refusal_type(response: Response) -> str | None:
    """The ``type`` of a JSON refusal's first field."""
    body: object = getattr(response, "body", b"")
    try:
        value: Any = orjson.loads(body if isinstance(body, bytes) else b"")
        fields = cast("list[dict[str, Any]]", value["error"]["fields"])
        return str(fields[0]["type"])
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
        return None


def _refusal_text_of(body: bytes) -> str:
    """A JSON refusal's message, naming its first field (``field: message``)."""
    try:
        value: Any = orjson.loads(body)
        error = cast("dict[str, Any]", value["error"])
        fields = cast("list[dict[str, Any]]", error.get("fields") or [])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return MASKED_ERROR
    if fields and fields[0].get("field"):
        return f"{fields[0]['field']}: {fields[0].get('message', error.get('message', ''))}"
    return str(error.get("message") or MASKED_ERROR)
