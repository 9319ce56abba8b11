"""``require_json``: the one content-type rule of the chat body and the stop route."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.servers import serve
from uiwire.server._body import require_json


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
