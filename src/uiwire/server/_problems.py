"""The JSON error answers every route shares: one shape, ``{"error": {"message",
"fields": [{"field", "message", "type"}]}}``, as ``ChatRequestError.to_json`` writes it."""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse, Response

from uiwire._errors import ChatRequestError, ChatStoreError
from uiwire.server.identity import Owner

__all__ = [
    "chat_store_failed",
    "forbidden",
    "not_found",
    "problem",
    "refused",
    "stream_store_unavailable",
    "with_cookie",
]

logger = logging.getLogger("uiwire")

RETRY_AFTER = "2"
"""Seconds a client should wait before retrying a request a store failed."""


def problem(
    status: int, message: str, field: str, kind: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    fields = [{"field": field, "message": message, "type": kind}]
    body = {"error": {"message": message, "fields": fields}}
    return JSONResponse(body, status_code=status, headers=headers)


def refused(exc: ChatRequestError) -> JSONResponse:
    return JSONResponse(exc.to_json(), status_code=exc.status_code)


def not_found() -> JSONResponse:
    """Also the answer about another owner's chat: indistinguishable from none."""
    return problem(404, "no such chat", "id", "not_found")


def forbidden() -> JSONResponse:
    return problem(403, "you may not use this chat", "authorize", "forbidden")


def chat_store_failed(exc: ChatStoreError) -> JSONResponse:
    logger.error("the chat store failed: %s", exc)
    return problem(
        503,
        "the chat store is unavailable; try again shortly",
        "id",
        "store_unavailable",
        {"retry-after": RETRY_AFTER},
    )


def stream_store_unavailable() -> JSONResponse:
    return problem(
        503,
        "the stream store is unavailable; try again shortly",
        "id",
        "store_unavailable",
        {"retry-after": RETRY_AFTER},
    )


def with_cookie(response: Response, owner: Owner | Response | None) -> Response:
    """``response``, with the cookie of a newly made anonymous owner if there is one."""
    if isinstance(owner, Owner) and owner.set_cookie is not None:
        response.headers.append("set-cookie", owner.set_cookie)
    return response
