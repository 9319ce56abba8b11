"""``read_chat_request`` behind a real uvicorn server: ``RequestLimits`` (413 naming the
field, before the body is validated), both body forms, and big bodies parsed off the
event loop; ``require_json``, the one content-type rule of the chat body and the stop
route. (What 8 MiB bodies cost the loop is measured, not asserted, in
``tests/reliability/test_big_bodies.py``.)"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import uiwire.server._body as body_module
from tests.support.messages import text, user
from tests.support.servers import RecordingAgent, serve
from uiwire.protocol import ChatRequestError
from uiwire.protocol.chat_request import ChatRequest
from uiwire.server import ChatEndpoint, RequestLimits
from uiwire.server._body import OFF_LOOP_BYTES, read_chat_request, require_json

LIMITS = RequestLimits(max_body_bytes=4 * 1024 * 1024, max_messages=5, max_parts=8)


class Reader:
    """A route that reads the body with ``limits`` and answers what it got, recording
    the thread each body was validated on."""

    def __init__(self, limits: RequestLimits) -> None:
        self.limits = limits
        self.validated_on: list[str] = []

    async def read(self, request: Request) -> Response:
        try:
            chat = await read_chat_request(request, limits=self.limits)
        except ChatRequestError as exc:
            return JSONResponse(exc.to_json(), status_code=exc.status_code)
        return JSONResponse({"form": chat.form, "messages": len(chat.messages)})


@pytest.fixture
async def reader(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Reader, str]]:
    route = Reader(LIMITS)
    validate = body_module.validate_chat_body

    def recording(decoded: Any, *, url_schemes: Any) -> ChatRequest:
        route.validated_on.append(threading.current_thread().name)
        return validate(decoded, url_schemes=url_schemes)

    monkeypatch.setattr(body_module, "validate_chat_body", recording)
    app = Starlette(routes=[Route("/read", route.read, methods=["POST"])])
    async with serve(app) as base:
        yield route, f"{base}/read"


async def post(url: str, payload: Any) -> httpx.Response:
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(url, content=raw, headers={"content-type": "application/json"})


def fields(response: httpx.Response) -> list[tuple[str, str]]:
    return [(f["field"], f["type"]) for f in response.json()["error"]["fields"]]


def history(count: int, parts: int = 1) -> dict[str, Any]:
    sent = [user(*[text("hi")] * parts, id=f"u{i}") for i in range(count)]
    return {"id": "chat-1", "trigger": "submit-message", "messages": sent}


# --- limits --------------------------------------------------------------------------------


async def test_within_the_limits_both_forms_are_read(reader: tuple[Reader, str]) -> None:
    _, url = reader
    response = await post(url, history(5, parts=1))
    assert response.json() == {"form": "messages", "messages": 5}
    response = await post(url, {"id": "chat-1", "message": user(*[text("hi")] * 8)})
    assert response.json() == {"form": "message", "messages": 1}


@pytest.mark.parametrize(
    ("payload", "field", "kind"),
    [
        (history(6), "messages", "too_many_messages"),
        (history(3, parts=3), "messages[2].parts", "too_many_parts"),
        ({"id": "chat-1", "message": user(*[text("hi")] * 9)}, "message.parts", "too_many_parts"),
    ],
    ids=["messages", "parts", "parts of the last message"],
)
async def test_over_a_count_is_a_413_naming_the_field_before_validation(
    reader: tuple[Reader, str], payload: dict[str, Any], field: str, kind: str
) -> None:
    route, url = reader
    response = await post(url, payload)
    assert response.status_code == 413
    assert fields(response) == [(field, kind)]
    assert route.validated_on == []  # refused before validation


async def test_json_values_are_counted_before_the_body_is_decoded(
    reader: tuple[Reader, str],
) -> None:
    route, url = reader
    limits = RequestLimits(max_json_values=19)
    route.limits = limits
    # 19 values: the object; id, trigger, messages and their values; a message of 12.
    message = {"id": "u", "role": "user", "parts": [{"type": "text", "text": 'say \\"hi\\"'}]}
    body = {"id": "c", "trigger": "submit-message", "messages": [message]}
    assert (await post(url, body)).status_code == 200
    response = await post(url, {**body, "x": None})  # two more
    assert response.status_code == 413
    assert fields(response) == [("body", "too_many_values")]
    # Not even decoded: a body over the count that is not JSON at all is still a 413.
    response = await post(url, b"[" * 30)
    assert (response.status_code, fields(response)) == (413, [("body", "too_many_values")])


async def test_strings_and_numbers_count_one_value_each(reader: tuple[Reader, str]) -> None:
    route, url = reader
    big = "x" * 5000 + '"\\' * 3  # long, with escaped quotes and backslashes
    tail = [big, -1.5e3, True, None, "{[not, counted]}"]
    message = {"id": "u", "role": "user", "parts": [{"type": "text", "text": "hi"}]}
    body = {"id": "c", "trigger": "submit-message", "messages": [message], "tail": tail}
    # 1 + (2 + 2 + 2) + a message of 12 + "tail" and its array of 5 = 26
    route.limits = RequestLimits(max_json_values=26)
    assert (await post(url, body)).status_code == 200
    route.limits = RequestLimits(max_json_values=25)
    assert (await post(url, body)).status_code == 413


async def test_over_the_byte_limit_is_a_413(reader: tuple[Reader, str]) -> None:
    route, url = reader
    route.limits = RequestLimits(max_body_bytes=1000)
    response = await post(url, history(1) | {"pad": "x" * 1000})
    assert (response.status_code, fields(response)) == (413, [("body", "body_too_large")])


@pytest.mark.parametrize(
    "options",
    [
        {"max_body_bytes": 0},
        {"max_messages": -1},
        {"max_parts": 1.5},
        {"max_json_values": True},
        {"body_timeout": 0},
        {"body_timeout": "30"},
    ],
)
def test_limits_are_positive_ints(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=rf"RequestLimits\({next(iter(options))}=\.\.\.\)"):
        RequestLimits(**options)


@pytest.mark.parametrize(
    ("schemes", "error", "message"),
    [
        ("https", TypeError, "must be a collection of scheme names"),
        ([b"https"], TypeError, "must hold strings"),
        (["https:"], ValueError, "'https:' is not a URL scheme name"),
    ],
)
def test_url_schemes_are_checked_naming_the_option(
    schemes: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as raised:
        RequestLimits(url_schemes=schemes)
    assert str(raised.value).startswith("RequestLimits(url_schemes=...)")


def test_url_schemes_are_kept_lower_cased() -> None:
    assert RequestLimits(url_schemes=["HTTPS", "data"]).url_schemes == {"https", "data"}
    assert RequestLimits().url_schemes == {"data", "https"}


# --- off the loop ---------------------------------------------------------------------------


async def test_big_bodies_are_parsed_in_a_worker_thread(reader: tuple[Reader, str]) -> None:
    route, url = reader
    small = {"id": "c", "message": user(text("hi"))}
    big = {"id": "c", "message": user(text("x" * OFF_LOOP_BYTES))}
    assert (await post(url, small)).status_code == 200
    assert (await post(url, big)).status_code == 200
    loop_thread = threading.current_thread().name  # the server runs on the test's loop
    assert route.validated_on[0] == loop_thread
    assert route.validated_on[1] != loop_thread


async def test_errors_from_the_worker_thread_are_the_same_422(
    reader: tuple[Reader, str],
) -> None:
    route, url = reader
    bad = user(text("x" * OFF_LOOP_BYTES), {"type": "file", "mediaType": "a", "url": "ftp://x"})
    response = await post(url, {"id": "c", "message": bad})
    assert (response.status_code, fields(response)) == (
        422,
        [("message.parts[1].url", "url_scheme")],
    )
    assert route.validated_on[0] != threading.current_thread().name


# --- through ChatEndpoint ------------------------------------------------------------------


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[RecordingAgent, str]]:
    agent = RecordingAgent()
    app = Starlette(routes=ChatEndpoint(agent.respond).routes("/api/chat"))
    async with serve(app) as base:
        yield agent, f"{base}/api/chat"


async def test_the_endpoint_answers_the_last_message_body(
    endpoint: tuple[RecordingAgent, str],
) -> None:
    agent, url = endpoint
    sent = user(text("hi"), id="u7")
    response = await post(url, {"id": "chat-1", "message": sent, "selectedChatModel": "m"})
    assert response.status_code == 200
    [turn] = agent.turns
    assert turn.chat.form == "message"
    assert [m.to_json() for m in turn.messages] == [sent]
    assert turn.body == {"selectedChatModel": "m"}


async def test_the_endpoints_default_limits_refuse_a_flood_of_messages(
    endpoint: tuple[RecordingAgent, str],
) -> None:
    agent, url = endpoint
    response = await post(url, history(RequestLimits().max_messages + 1))
    assert (response.status_code, fields(response)) == (413, [("messages", "too_many_messages")])
    assert agent.turns == []


async def slow_post(url: str, head: bytes, sent: bytes, declared: int) -> tuple[int, Any, float]:
    """A client that declares ``declared`` bytes of body, sends ``sent`` and then nothing:
    the status and JSON body of the answer (the server's, at its deadline: the client
    would wait 30 s), and how long it took."""
    address = httpx.URL(url)
    reader, writer = await asyncio.open_connection(address.host, address.port)
    started = time.perf_counter()
    try:
        writer.write(
            b"POST %s HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n%s"
            b"content-length: %d\r\n\r\n%s" % (address.raw_path, head, declared, sent)
        )
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(65536), 30)
    finally:
        writer.close()
    status = int(raw.split(b" ", 2)[1])
    body = orjson.loads(raw.split(b"\r\n\r\n", 1)[1])
    return status, body, time.perf_counter() - started


async def test_a_body_that_does_not_arrive_in_time_is_a_408_naming_it() -> None:
    agent = RecordingAgent()
    endpoint = ChatEndpoint(agent.respond, limits=RequestLimits(body_timeout=0.5))
    async with serve(Starlette(routes=endpoint.routes("/api/chat"))) as base:
        # a cookie first: the stop route reads its body once it knows the caller
        async with httpx.AsyncClient() as client:
            cookie = (await client.get(f"{base}/api/chats")).headers["set-cookie"].split(";")[0]
        status, body, _ = await slow_post(f"{base}/api/chat", b"", b'{"id":', 100)
        stop = await slow_post(
            f"{base}/api/chat/c/stop", b"cookie: %s\r\n" % cookie.encode(), b"{", 2
        )
    assert (status, body["error"]["fields"]) == (
        408,
        [
            {
                "field": "body",
                "message": "the body did not arrive within 0.5 s",
                "type": "body_timeout",
            }
        ],
    )
    assert stop[:2] == (408, body)
    assert agent.turns == []


# --- require_json ---------------------------------------------------------------------


def request_with(content_type: str | None) -> Request:
    headers = [] if content_type is None else [(b"content-type", content_type.encode())]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers})


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.api+json",
        "application/merge-patch+json;charset=utf-8",
    ],
)
def test_json_is_taken(content_type: str) -> None:
    assert require_json(request_with(content_type)) is None


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain",
        "text/json",
        "application/jsonp",
        "image/svg+json",
    ],
)
def test_anything_else_is_a_415_naming_the_header(content_type: str | None) -> None:
    refused = require_json(request_with(content_type), what="the stop")
    assert refused is not None
    assert refused.status_code == 415
    [error] = refused.errors
    assert error.field == "content-type"
    assert error.type == "content_type"
    assert error.message.startswith("send the stop as application/json, not ")


async def test_a_form_posted_from_another_site_does_not_reach_the_route() -> None:
    """What a stop route does with it: a page elsewhere can post a form, never JSON."""
    stopped: list[str] = []

    async def stop(request: Request) -> Response:
        refused = require_json(request, what="the stop")
        if refused is not None:
            return JSONResponse(refused.to_json(), status_code=refused.status_code)
        stopped.append(request.path_params["id"])
        return Response(status_code=202)

    app = Starlette(routes=[Route("/api/chat/{id}/stop", stop, methods=["POST"])])
    async with serve(app) as base, httpx.AsyncClient() as client:
        url = f"{base}/api/chat/chat-1/stop"
        form = await client.post(url, data={"x": "1"}, headers={"origin": "https://evil.test"})
        text = await client.post(url, content=b"{}", headers={"content-type": "text/plain"})
        json = await client.post(url, json={})
    assert (form.status_code, text.status_code, json.status_code) == (415, 415, 202)
    assert stopped == ["chat-1"]
