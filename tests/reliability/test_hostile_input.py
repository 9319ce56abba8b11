"""Hostile input against a real server: every crafted request gets a clear 4xx, and
changes nothing (no turn starts, nothing is saved, no stream is opened or stopped).

Two layers: schemathesis generates requests from the app's own OpenAPI schema (valid
and invalid ones) and checks that none is a 5xx and every answer is one the schema
documents; then a table of hand-made attacks, each with the status and the field the
error must name. (Hypothesis fuzzing of the request models themselves, without a
server, is in ``tests/protocol/test_request.py``.)
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from benchmarks._results import Result, Table
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.figures import report
from tests.support.messages import text, user
from tests.support.servers import serve, serve_in_thread
from uiwire.resume import MemoryStreamStore
from uiwire.server import ChatEndpoint, ChatHooks, ChatResult, RequestLimits
from uiwire.stream import ChatTurn, StreamContext

EXAMPLES = 80
"""Generated requests per operation and mode."""

LIMIT = 256 * 1024
"""The app's body limit: small, so the oversized cases stay cheap."""


class Chat:
    """A FastAPI app serving ``ChatEndpoint`` (with a stream store, so resume and stop
    are live) and its OpenAPI schema; records every turn started and every save."""

    def __init__(self, *, client_kept: bool = False) -> None:
        self.turns: list[ChatTurn] = []
        self.saved: list[ChatResult] = []
        self.store = MemoryStreamStore()
        # client_kept: the client keeps the conversation (no owner either), so that a
        # generated body reaches the agent whenever the parser takes it
        kept: dict[str, Any] = {"conversations": False, "identity": False} if client_kept else {}
        self.endpoint = ChatEndpoint(
            self.respond,
            hooks=ChatHooks(on_finish=self.saved.append),
            streams=self.store,
            limits=RequestLimits(max_body_bytes=LIMIT),
            **kept,
        )
        self.app = FastAPI()
        self.app.router.routes.extend(self.endpoint.routes("/api/chat"))
        self.endpoint.openapi("/api/chat", into=self.app.openapi())

    async def respond(self, turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        self.turns.append(turn)
        parts = turn.messages[-1].parts
        if parts and parts[0].model_dump().get("text") == "slow":
            for _ in range(10):  # long enough for another request to arrive meanwhile
                await ctx.write_text("and ")
                await asyncio.sleep(0.05)
        await ctx.write_text("ok")


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="uiwire")


# --- schemathesis against the OpenAPI schema -------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Chat, str]]:
    # the parser and the schema against each other; what the server-kept conversation
    # believes of a body is tested in tests/chats/test_trust.py and tests/server
    chat = Chat(client_kept=True)
    with serve_in_thread(chat.app) as base:
        yield chat, base


@pytest.fixture(scope="module")
def served_kept() -> Iterator[tuple[Chat, str]]:
    """The default endpoint: server-kept conversations with their history routes, and
    an anonymous owner per cookie."""
    chat = Chat()
    with serve_in_thread(chat.app) as base:
        yield chat, base


OPERATIONS = [
    ("POST", "/api/chat"),
    ("GET", "/api/chat/{id}/stream"),
    ("POST", "/api/chat/{id}/stop"),
]
HISTORY_OPERATIONS = [
    ("GET", "/api/chats"),
    ("GET", "/api/chats/{id}"),
    ("DELETE", "/api/chats/{id}"),
    ("POST", "/api/chat/{id}/stop"),  # with an owner: a JSON body only
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def figures() -> Iterator[dict[str, collections.Counter[int]]]:
    """Statuses per generated operation and mode; reported when the module ends."""
    seen: dict[str, collections.Counter[int]] = {}
    yield seen
    if not seen:
        return
    rows = [
        [name, f"{sum(c.values()):,}", ", ".join(f"{s}: {n}" for s, n in sorted(c.items()))]
        for name, c in seen.items()
    ]
    attacks = [
        [name, str(status), f"`{field}`", f"`{kind}`"]
        for name, _, _, status, field, kind in ATTACKS
    ]
    report(
        Result(
            name="hostile",
            title="Hostile input",
            params={"examples per operation and mode": EXAMPLES, "body limit": LIMIT},
            figures={name: dict(c) for name, c in seen.items()},
            tables=[
                Table(
                    "schemathesis: requests generated from the served OpenAPI schema",
                    ["operation, mode", "requests", "statuses"],
                    rows,
                ),
                Table("Hand-made attacks", ["attack", "status", "field", "error type"], attacks),
            ],
        )
    )


@pytest.mark.slow  # schemathesis fuzzing: 20-30 s for each POST /api/chat mode
@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_generated_request_is_a_server_error(
    served: tuple[Chat, str],
    figures: dict[str, collections.Counter[int]],
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    """Every request schemathesis derives from the served schema, valid (``positive``)
    and not (``negative``): never a 5xx, always a documented status and body, and an
    invalid one is refused."""
    chat, base = served
    statuses = fuzz(base, method, path, mode)
    figures[f"{method} {path}, {mode.value}"] = statuses
    if mode is GenerationMode.NEGATIVE:
        assert all(400 <= status < 500 for status in statuses), statuses
    elif path == "/api/chat":  # valid bodies reach the agent, not only the parser
        assert statuses[200] >= EXAMPLES // 4, statuses
        assert len(chat.turns) >= statuses[200]


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), HISTORY_OPERATIONS)
def test_no_generated_history_request_is_a_server_error(
    served_kept: tuple[Chat, str],
    figures: dict[str, collections.Counter[int]],
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    """The same for the history routes and the owner's stop, on the default endpoint."""
    chat, base = served_kept
    statuses = fuzz(base, method, path, mode)
    figures[f"{method} {path} (kept chats), {mode.value}"] = statuses
    if mode is GenerationMode.POSITIVE:  # (negative ones: no 5xx, refused when invalid)
        # a new anonymous owner each, who has no chat and runs nothing; a 413 or 422 is a
        # value the schema's types allow and the route refuses (a cursor it never made, a
        # stop body over 1 KiB)
        assert set(statuses) <= {200, 204, 404, 413, 422}, statuses
        assert statuses[200] + statuses[204] + statuses[404] >= EXAMPLES // 5, statuses
    assert chat.turns == []
    assert chat.saved == []


def fuzz(base: str, method: str, path: str, mode: GenerationMode) -> collections.Counter[int]:
    """The statuses of the requests schemathesis generates for one operation of the
    served schema, each checked against it."""
    document = httpx.get(f"{base}/openapi.json").json()
    operation = schemathesis.openapi.from_dict(document)[path][method]
    calls: list[int] = []

    @given(operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        response = case.call_and_validate(base_url=base, checks=CHECKS, timeout=30)
        calls.append(response.status_code)

    check()
    statuses = collections.Counter(calls)
    assert statuses.total() >= EXAMPLES // 2, statuses  # it did generate and send requests
    return statuses


def test_the_served_schema_documents_the_three_routes(served: tuple[Chat, str]) -> None:
    _, base = served
    document = httpx.get(f"{base}/openapi.json").json()
    assert set(document["paths"]) >= {
        "/api/chat",
        "/api/chat/{id}/stream",
        "/api/chat/{id}/stop",
    }
    body = document["paths"]["/api/chat"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ChatRequest"}
    assert "UIMessage" in document["components"]["schemas"]


def test_merging_into_a_document_that_has_the_path_is_refused() -> None:
    chat = Chat()
    with pytest.raises(ValueError, match="already has the path '/api/chat'"):
        chat.endpoint.openapi("/api/chat", into=chat.app.openapi())


# --- hand-made attacks ---------------------------------------------------------------------


def chat_body(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": "chat-1", "messages": list(messages), "trigger": "submit-message", **fields}


def raw(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def nested(depth: int) -> bytes:
    """A body whose message metadata is ``depth`` arrays deep."""
    inner = "[" * depth + "]" * depth
    return (
        b'{"id": "chat-1", "trigger": "submit-message", "messages": [{"id": "u1", '
        b'"role": "user", "parts": [], "metadata": ' + inner.encode() + b"}]}"
    )


def data_url(size: int) -> dict[str, Any]:
    payload = "A" * size
    return {"type": "file", "mediaType": "image/png", "url": f"data:image/png;base64,{payload}"}


JSON = {"content-type": "application/json"}

ATTACKS: list[tuple[str, bytes, dict[str, str], int, str, str]] = [
    # (name, body, headers, status, field, error type)
    ("plain-text", raw(chat_body(user(text("hi")))), {"content-type": "text/plain"}, 415, "content-type", "content_type"),
    ("form", b"id=chat-1", {"content-type": "application/x-www-form-urlencoded"}, 415, "content-type", "content_type"),
    ("no-content-type", raw(chat_body(user(text("hi")))), {}, 415, "content-type", "content_type"),
    ("oversized", raw(chat_body(user(text("x" * LIMIT)))), JSON, 413, "body", "body_too_large"),
    ("huge-data-url", raw(chat_body(user(data_url(4 * LIMIT)))), JSON, 413, "body", "body_too_large"),
    ("proto-key", b'{"id": "chat-1", "trigger": "submit-message", "__proto__": {"admin": true}, "messages": []}', JSON, 422, "__proto__", "proto_key"),
    ("proto-in-metadata", raw(chat_body(user(text("hi"), metadata={"__proto__": {"isAdmin": True}}))), JSON, 422, "messages[0].metadata.__proto__", "proto_key"),
    ("constructor-prototype", raw(chat_body(user({"type": "data-x", "data": {"constructor": {"prototype": {"a": 1}}}}))), JSON, 422, "messages[0].parts[0].data.constructor.prototype", "proto_key"),
    ("nested-200", nested(200), JSON, 422, "messages[0].metadata", "json_too_deep"),
    ("nested-2000", nested(2000), JSON, 422, "body", "json_invalid"),
    ("nested-100000", nested(100_000), JSON, 413, "body", "too_many_values"),
    ("unknown-part", raw(chat_body(user({"type": "exploit", "payload": 1}))), JSON, 422, "messages[0].parts[0].type", "part_type"),
    ("javascript-url", raw(chat_body(user({"type": "file", "mediaType": "text/html", "url": "javascript:alert(1)"}))), JSON, 422, "messages[0].parts[0].url", "url_scheme"),
    ("not-json", b'{"id": "chat-1", "messages": [', JSON, 422, "body", "json_invalid"),
    ("nan", b'{"id": "chat-1", "trigger": "submit-message", "messages": [], "x": NaN}', JSON, 422, "body", "json_invalid"),
    ("top-level-array", b"[1, 2, 3]", JSON, 422, "body", "model_type"),
    ("chat-id-dots", raw({**chat_body(user(text("hi"))), "id": ".."}), JSON, 422, "id", "chat_id"),
    ("chat-id-slash", raw({**chat_body(user(text("hi"))), "id": "../other-chat"}), JSON, 422, "id", "chat_id"),
    ("assistant-continuation-of-another-message", raw({**chat_body(user(text("hi")), {"id": "a1", "role": "assistant", "parts": []}), "messageId": "a2"}), JSON, 422, "messageId", "message_id"),
]  # fmt: skip


@pytest.fixture
async def live() -> AsyncIterator[tuple[Chat, str]]:
    chat = Chat()
    async with serve(chat.app) as base:
        yield chat, base


@pytest.mark.parametrize(
    ("body", "headers", "status", "field", "kind"),
    [attack[1:] for attack in ATTACKS],
    ids=[attack[0] for attack in ATTACKS],
)
async def test_each_attack_gets_a_clear_4xx_and_changes_nothing(
    live: tuple[Chat, str], body: bytes, headers: dict[str, str], status: int, field: str, kind: str
) -> None:
    chat, base = live
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{base}/api/chat", content=body, headers=headers)
        assert response.status_code == status, response.text[:500]
        error = response.json()["error"]
        assert error["message"]
        named = [f for f in error["fields"] if f["type"] == kind and f["field"].startswith(field)]
        assert named, error
        assert len(response.content) < 4096  # the refusal does not echo the input back
        # and the server still answers a good request
        good = await client.post(f"{base}/api/chat", json=chat_body(user(text("hi"))))
        assert good.status_code == 200
        assert good.text.endswith("data: [DONE]\n\n")
    await _settled(chat, saves=1)
    assert len(chat.turns) == 1  # only the good request started a turn


async def _settled(chat: Chat, saves: int) -> None:
    for _ in range(500):
        if len(chat.saved) >= saves:
            break
        await asyncio.sleep(0.01)
    assert len(chat.saved) == saves


CHAT_ID_TRICKS = [
    ("%2e%2e", 422),
    ("a%00b", 422),
    ("a%20b", 422),
    ("%E2%80%AEchat", 422),  # right-to-left override
    ("x" * 129, 422),
    ("*", 422),
    ("chat%0D%0Aset-cookie:%20a=b", 422),
    # the client resolves dot segments away, the server decodes %2F: no such route
    ("..", 404),
    (".", 404),
    ("..%2F..%2Fetc%2Fpasswd", 404),
    ("a/b", 404),
]


@pytest.mark.parametrize(("chat_id", "status"), CHAT_ID_TRICKS)
@pytest.mark.parametrize("route", ["stream", "stop"])
async def test_path_tricks_in_chat_ids_are_refused_and_touch_no_stream(
    live: tuple[Chat, str], chat_id: str, status: int, route: str
) -> None:
    chat, base = live
    # a real answer in progress in another chat: the trick must not reach it
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("POST", f"{base}/api/chat", json=chat_body(user(text("slow")))) as answer,
    ):
        method = "GET" if route == "stream" else "POST"
        url = httpx.URL(f"{base}/api/chat/{chat_id}/{route}")
        response = await client.request(method, url, json={} if method == "POST" else None)
        assert response.status_code == status, (chat_id, response.text[:300])
        if status == 422:
            (problem,) = response.json()["error"]["fields"]
            assert (problem["field"], problem["type"]) == ("id", "chat_id")
        body = await answer.aread()
        await _settled(chat, saves=1)
        # the owner's chat ends with nothing running (a stream a trick kept would stay)
        for _ in range(200):
            if (await client.get(f"{base}/api/chat/chat-1/stream")).status_code == 204:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("chat-1 still has an active stream")
    assert body.endswith(b"data: [DONE]\n\n")
    assert chat.saved[0].status == "finish"  # not stopped by the trick


async def test_a_forged_stop_for_an_unknown_chat_stops_nothing(live: tuple[Chat, str]) -> None:
    chat, base = live
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("POST", f"{base}/api/chat", json=chat_body(user(text("slow")))) as answer,
    ):
        stop = await client.post(f"{base}/api/chat/chat-2/stop", json={})
        resume = await client.get(f"{base}/api/chat/chat-2/stream")
        body = await answer.aread()
    assert (stop.status_code, resume.status_code) == (404, 404)  # no such chat of theirs
    assert body.endswith(b"data: [DONE]\n\n")
    await _settled(chat, saves=1)
    assert chat.saved[0].status == "finish"


async def test_control_a_real_stop_does_stop_the_answer(live: tuple[Chat, str]) -> None:
    """The tests above would see a stop that got through: a real one ends in ``abort``."""
    chat, base = live
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("POST", f"{base}/api/chat", json=chat_body(user(text("slow")))) as answer,
    ):
        chunks = answer.aiter_raw()
        body = await chunks.__anext__()  # the answer has started
        stop = await client.post(f"{base}/api/chat/chat-1/stop", json={})
        async for chunk in chunks:
            body += chunk
    assert stop.status_code == 202
    assert body.endswith(b"data: [DONE]\n\n")
    await _settled(chat, saves=1)
    assert chat.saved[0].status == "abort"
