"""A scripted OpenAI-compatible model server on 127.0.0.1.

The only fake in the DSPy and Agents SDK tests: the provider's HTTP API. It runs
uvicorn in its own thread and event loop, so a test whose loop stalls still gets answers
(and a stalled loop shows up as a stall, not as a server that stopped responding).

It serves two APIs, chosen by the request path, each in both modes (JSON when
``stream`` is false, server-sent events when it is true):

- ``POST /v1/chat/completions``: a ``chat.completion``, or ``chat.completion.chunk``
  events ending with ``[DONE]`` (what DSPy and litellm use).
- ``POST /v1/responses``: a ``response`` object, or the Responses API's typed events
  (``event: <type>`` plus a JSON ``data`` line with a ``sequence_number``), from
  ``response.created`` to ``response.completed`` (what the OpenAI Agents SDK uses).

Either way it records every request payload and, for each stream, whether it reached
its end or the client hung up first.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.support.servers import serve_in_thread


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
    """Streamed before the text: ``reasoning_content`` deltas (chat completions), or a
    ``reasoning`` item with one summary part (Responses API)."""
    tool_calls: Sequence[ToolCallReply] = ()
    piece: int = 5
    """Characters per delta; keep >= 3, DSPy's listeners need it (see dspy.md)."""
    delay: float = 0.0
    """Seconds to wait before each event (slow streams, disconnect tests)."""
    status: int = 200
    """Anything but 200 answers with an OpenAI-style error body."""
    prompt_tokens: int = 11
    completion_tokens: int = 7
    refusal: str = ""
    """Responses API only: the message refuses, streamed as ``response.refusal.delta``
    (after the text's content part if there is text too)."""
    annotations: Sequence[Mapping[str, Any]] = ()
    """Responses API only: the text's annotations (``url_citation`` and the like), each
    sent as ``response.output_text.annotation.added`` after the text deltas; needs
    ``text``."""
    items: Sequence[Mapping[str, Any]] = ()
    """Responses API only: raw output items (``web_search_call``, ``mcp_call``, ...)
    placed after the reasoning and before the message, each sent as
    ``response.output_item.added`` (``status`` set to ``in_progress`` if it has one)
    and ``response.output_item.done`` (the item as given)."""
    fail: bool = False
    """Responses API only: end with ``response.failed`` (a ``server_error``) instead of
    ``response.completed``; the items before it are still sent. Without streaming the
    answer is that failed response (HTTP 200)."""
    cut_after: int | None = None
    """Send only the first N events of the stream, then end the body normally: a
    truncated stream without its closing event (``StreamLog.finished`` is still set,
    the client did not hang up)."""
    malformed_after: int | None = None
    """Send the first N events, then one event whose ``data`` is not JSON, then end the
    body: a provider (or proxy) that breaks its own framing."""
    stall_after: int | None = None
    """Send the first N events, then send nothing more and keep the connection open
    until the client hangs up (at most a minute): a provider that stops mid-stream, for
    the client's read timeout."""

    def __post_init__(self) -> None:
        if self.annotations and not self.text:
            raise ValueError("annotations belong to the text: set Reply.text too")


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
    opened_at: float = field(default_factory=time.monotonic)
    ended_at: float | None = None
    """``time.monotonic()`` when the body ended or the client hung up; None while open."""


@dataclass
class _State:
    requests: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    streams: list[StreamLog] = field(default_factory=list[StreamLog])
    responses: int = 0
    """Responses API answers so far; numbers the ``resp_<n>`` and item ids."""


Responder = Callable[[dict[str, Any]], Reply]


class FakeLLM:
    """``with FakeLLM(script) as llm:`` serves ``script`` at ``llm.base_url``.

    ``script`` is a list of replies answered in order, or a function of the request
    payload (for concurrent requests, answer by content); both APIs draw from it.
    Responses API answers are numbered from 1 per server: the n-th is ``resp_<n>`` and
    its i-th output item ``rs_<n>_<i>``, ``msg_<n>_<i>`` or ``fc_<n>_<i>`` (scripted
    ``items`` keep their own ids).
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
        self._serving = contextlib.ExitStack()
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
        self._serving = contextlib.ExitStack()
        url = self._serving.enter_context(
            serve_in_thread(
                self._app, name="fake-llm", interface="asgi3", timeout_graceful_shutdown=2
            )
        )
        self.base_url = f"{url}/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        self._serving.close()

    # --- the ASGI app ------------------------------------------------------------------

    async def _app(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        path: str = scope["path"]
        if path.endswith("/responses"):
            responses_api = True
        elif path.endswith("/chat/completions"):
            responses_api = False
        else:
            error = {"error": {"message": f"no route {path}", "type": "invalid_request_error"}}
            await _send_all(send, 404, "application/json", json.dumps(error).encode())
            return
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
        if responses_api:
            with self._lock:
                self._state.responses += 1
                number = self._state.responses
            events = _response_events(reply, payload, number)
            if not payload.get("stream"):
                final: dict[str, Any] = {}
                for event in events:
                    final = event
                body = json.dumps(final["response"]).encode()
                await _send_all(send, 200, "application/json", body)
                return
            chunks = _sse(events)
        elif not payload.get("stream"):
            await _send_all(send, 200, "application/json", json.dumps(_completion(reply)).encode())
            return
        else:
            chunks = _chunks(reply, payload)
        log = StreamLog(payload)
        with self._lock:
            self._state.streams.append(log)
        await self._stream(reply, chunks, log, receive, send)

    async def _stream(
        self, reply: Reply, chunks: Iterator[bytes], log: StreamLog, receive: Any, send: Any
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
            limits = [n for n in (reply.cut_after, reply.malformed_after, reply.stall_after) if n]
            for event in itertools.islice(chunks, min(limits) if limits else None):
                if reply.delay:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(gone.wait(), reply.delay)
                if gone.is_set():
                    log.cut = True
                    return
                await send({"type": "http.response.body", "body": event, "more_body": True})
            if reply.malformed_after is not None:
                garbage = b'data: {"choices": [{"delta": {"content": "unterminated\n\n'
                await send({"type": "http.response.body", "body": garbage, "more_body": True})
            if reply.stall_after is not None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(gone.wait(), 60)
                log.cut = gone.is_set()
                return
            # every event is out: finished now, before the end of the body lets the
            # client return (a test reading the log right after must see it)
            log.finished = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            log.cut = True
        finally:
            log.ended_at = time.monotonic()
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


# --- the Responses API ---------------------------------------------------------------


def _sse(events: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """Number the events and frame them as the Responses API does (no ``[DONE]``)."""
    for number, event in enumerate(events):
        event["sequence_number"] = number
        data = json.dumps(event).encode()
        yield b"event: " + event["type"].encode() + b"\ndata: " + data + b"\n\n"


def _pieces(text: str, step: int) -> Iterator[str]:
    for i in range(0, len(text), step):
        yield text[i : i + step]


def _response(
    payload: dict[str, Any], number: int, status: str, output: list[dict[str, Any]]
) -> dict[str, Any]:
    """A ``response`` object; the request's settings are echoed as the real API does."""
    return {
        "id": f"resp_{number}",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": payload.get("instructions"),
        "max_output_tokens": payload.get("max_output_tokens"),
        "model": payload.get("model", "gpt-4.1"),
        "output": list(output),
        "parallel_tool_calls": payload.get("parallel_tool_calls", True),
        "previous_response_id": payload.get("previous_response_id"),
        "temperature": payload.get("temperature", 1.0),
        "tool_choice": payload.get("tool_choice", "auto"),
        "tools": payload.get("tools", []),
        "top_p": payload.get("top_p", 1.0),
        "truncation": payload.get("truncation", "disabled"),
        "metadata": payload.get("metadata") or {},
        "usage": None,
    }


def _response_usage(reply: Reply) -> dict[str, Any]:
    return {
        "input_tokens": reply.prompt_tokens,
        # openai's InputTokensDetails requires cache_write_tokens too.
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": reply.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }


def _response_events(
    reply: Reply, payload: dict[str, Any], number: int
) -> Iterator[dict[str, Any]]:
    """The events of one Responses API answer, without their ``sequence_number``.

    The last one carries the final ``response`` (the non-streaming answer).
    """
    step = reply.piece
    output: list[dict[str, Any]] = []
    for kind in ("response.created", "response.in_progress"):
        yield {"type": kind, "response": _response(payload, number, "in_progress", [])}

    def added(item: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": "response.output_item.added", "output_index": len(output), "item": item}

    def done(item: dict[str, Any]) -> dict[str, Any]:
        output.append(item)
        return {"type": "response.output_item.done", "output_index": len(output) - 1, "item": item}

    if reply.reasoning:
        item_id = f"rs_{number}_{len(output)}"
        at = {"item_id": item_id, "output_index": len(output), "summary_index": 0}
        yield added({"id": item_id, "type": "reasoning", "summary": []})
        part = {"type": "summary_text", "text": ""}
        yield {"type": "response.reasoning_summary_part.added", **at, "part": part}
        for delta in _pieces(reply.reasoning, step):
            yield {"type": "response.reasoning_summary_text.delta", **at, "delta": delta}
        yield {"type": "response.reasoning_summary_text.done", **at, "text": reply.reasoning}
        part = {"type": "summary_text", "text": reply.reasoning}
        yield {"type": "response.reasoning_summary_part.done", **at, "part": part}
        yield done({"id": item_id, "type": "reasoning", "summary": [part]})

    for item in reply.items:
        yield added({**item, "status": "in_progress"} if "status" in item else dict(item))
        yield done(dict(item))

    if reply.text or reply.refusal:
        item_id = f"msg_{number}_{len(output)}"
        message = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant"}
        yield added({**message, "content": []})
        content: list[dict[str, Any]] = []
        if reply.text:
            at = {"item_id": item_id, "output_index": len(output), "content_index": len(content)}
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            yield {"type": "response.content_part.added", **at, "part": part}
            for delta in _pieces(reply.text, step):
                yield {"type": "response.output_text.delta", **at, "delta": delta, "logprobs": []}
            for index, annotation in enumerate(reply.annotations):
                yield {
                    "type": "response.output_text.annotation.added",
                    **at,
                    "annotation_index": index,
                    "annotation": dict(annotation),
                }
            yield {"type": "response.output_text.done", **at, "text": reply.text, "logprobs": []}
            part = {
                "type": "output_text",
                "annotations": [dict(a) for a in reply.annotations],
                "logprobs": [],
                "text": reply.text,
            }
            yield {"type": "response.content_part.done", **at, "part": part}
            content.append(part)
        if reply.refusal:
            at = {"item_id": item_id, "output_index": len(output), "content_index": len(content)}
            part = {"type": "refusal", "refusal": ""}
            yield {"type": "response.content_part.added", **at, "part": part}
            for delta in _pieces(reply.refusal, step):
                yield {"type": "response.refusal.delta", **at, "delta": delta}
            yield {"type": "response.refusal.done", **at, "refusal": reply.refusal}
            part = {"type": "refusal", "refusal": reply.refusal}
            yield {"type": "response.content_part.done", **at, "part": part}
            content.append(part)
        yield done({**message, "status": "completed", "content": content})

    for index, call in enumerate(reply.tool_calls):
        item_id = f"fc_{number}_{len(output)}"
        head = {
            "id": item_id,
            "type": "function_call",
            "call_id": call.id or f"call_{index}",
            "name": call.name,
        }
        yield added({**head, "arguments": "", "status": "in_progress"})
        at = {"item_id": item_id, "output_index": len(output)}
        for delta in _pieces(call.arguments, step):
            yield {"type": "response.function_call_arguments.delta", **at, "delta": delta}
        # The API still sends ``name`` here; openai 3.52's model keeps it as an extra field.
        yield {
            "type": "response.function_call_arguments.done",
            **at,
            "arguments": call.arguments,
            "name": call.name,
        }
        yield done({**head, "arguments": call.arguments, "status": "completed"})

    if reply.fail:
        final = _response(payload, number, "failed", output)
        final["error"] = {"code": "server_error", "message": "scripted failure"}
        yield {"type": "response.failed", "response": final}
    else:
        final = _response(payload, number, "completed", output)
        final["completed_at"] = int(time.time())
        final["usage"] = _response_usage(reply)
        yield {"type": "response.completed", "response": final}
