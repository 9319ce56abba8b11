"""A scripted OpenAI-compatible chat completions server on 127.0.0.1.

The only fake in the DSPy tests: the provider's HTTP API. It runs uvicorn in its own
thread and event loop, so a test whose loop stalls still gets answers (and a stalled
loop shows up as a stall, not as a server that stopped responding). It answers
``POST /v1/chat/completions`` in both modes DSPy uses: JSON when ``stream`` is false,
server-sent ``chat.completion.chunk`` events when it is true, and it records whether
each stream reached its end or the client hung up first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass(frozen=True)
class ToolCallReply:
    """One native function call in a reply; ``arguments`` is the raw JSON text."""

    name: str
    arguments: str
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """What the fake model answers to one request."""

    text: str = ""
    reasoning: str = ""
    """Streamed as ``reasoning_content`` deltas before the text (reasoning models)."""
    tool_calls: Sequence[ToolCallReply] = ()
    piece: int = 5
    """Characters per delta; keep >= 3, DSPy's listeners need it (see dspy.md)."""
    delay: float = 0.0
    """Seconds to wait before each delta (slow streams, disconnect tests)."""
    status: int = 200
    """Anything but 200 answers with an OpenAI-style error body."""
    prompt_tokens: int = 11
    completion_tokens: int = 7


def chat(**fields: object) -> str:
    """A ChatAdapter completion: ``[[ ## name ## ]]`` sections, then the end marker."""
    parts = [
        f"[[ ## {name} ## ]]\n{value if isinstance(value, str) else json.dumps(value)}\n\n"
        for name, value in fields.items()
    ]
    return "".join(parts) + "[[ ## completed ## ]]"


@dataclass
class StreamLog:
    """What happened to one streamed answer."""

    payload: dict[str, Any]
    finished: bool = False
    cut: bool = False
    """The client disconnected before the last event."""


@dataclass
class _State:
    requests: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    streams: list[StreamLog] = field(default_factory=list[StreamLog])


Responder = Callable[[dict[str, Any]], Reply]


class FakeLLM:
    """``with FakeLLM(script) as llm:`` serves ``script`` at ``llm.base_url``.

    ``script`` is a list of replies answered in order, or a function of the request
    payload (for concurrent requests, answer by content).
    """

    def __init__(self, script: Sequence[Reply] | Responder) -> None:
        self._lock = threading.Lock()
        if callable(script):
            self._respond: Responder = script
        else:
            pending = list(script)

            def in_order(payload: dict[str, Any]) -> Reply:
                with self._lock:
                    if not pending:
                        raise AssertionError(f"the fake LLM ran out of replies at: {payload}")
                    return pending.pop(0)

            self._respond = in_order
        self._state = _State()
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self.base_url = ""

    # --- what the tests read --------------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._state.requests)

    @property
    def streams(self) -> list[StreamLog]:
        with self._lock:
            return list(self._state.streams)

    # --- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> FakeLLM:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            interface="asgi3",
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        self._server = server
        thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])),
            name="fake-llm",
            daemon=True,
        )
        thread.start()
        self._thread = thread
        for _ in range(500):
            if server.started:
                break
            thread.join(0.01)
        assert server.started, "the fake LLM server did not start"
        self._sock = sock
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    # --- the ASGI app ------------------------------------------------------------------

    async def _app(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        payload = json.loads(body)
        with self._lock:
            self._state.requests.append(payload)
        reply = self._respond(payload)
        if reply.status != 200:
            error = {"error": {"message": "scripted failure", "type": "server_error"}}
            await _send_all(send, reply.status, "application/json", json.dumps(error).encode())
            return
        if not payload.get("stream"):
            await _send_all(send, 200, "application/json", json.dumps(_completion(reply)).encode())
            return
        log = StreamLog(payload)
        with self._lock:
            self._state.streams.append(log)
        await self._stream(reply, payload, log, receive, send)

    async def _stream(
        self, reply: Reply, payload: dict[str, Any], log: StreamLog, receive: Any, send: Any
    ) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")],
                }
            )
            for event in _chunks(reply, payload):
                if reply.delay:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(gone.wait(), reply.delay)
                if gone.is_set():
                    log.cut = True
                    return
                await send({"type": "http.response.body", "body": event, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            log.finished = True
        except OSError:
            log.cut = True
        finally:
            watcher.cancel()


async def _send_all(send: Any, status: int, content_type: str, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type.encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _completion(reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id or f"call_{i}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for i, call in enumerate(reply.tool_calls)
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": _usage(reply),
    }


def _usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }


def _chunks(reply: Reply, payload: dict[str, Any]) -> Iterator[bytes]:
    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        chunk = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    step = reply.piece
    yield event({"role": "assistant", "content": ""})
    for i in range(0, len(reply.reasoning), step):
        yield event({"reasoning_content": reply.reasoning[i : i + step]})
    for i in range(0, len(reply.text), step):
        yield event({"content": reply.text[i : i + step]})
    for index, call in enumerate(reply.tool_calls):
        head = {
            "index": index,
            "id": call.id or f"call_{index}",
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        yield event({"tool_calls": [head]})
        for i in range(0, len(call.arguments), step):
            piece = {"index": index, "function": {"arguments": call.arguments[i : i + step]}}
            yield event({"tool_calls": [piece]})
    yield event({}, "tool_calls" if reply.tool_calls else "stop")
    if (payload.get("stream_options") or {}).get("include_usage"):
        last = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "gpt-4o-mini",
            "choices": [],
            "usage": _usage(reply),
        }
        yield b"data: " + json.dumps(last).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"
