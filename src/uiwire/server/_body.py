"""Reading a ``useChat`` body off the wire: content type, size limit, then the models.

The size limit is enforced while reading: a declared ``content-length`` over it is
refused before a byte is read, and an undeclared (chunked) body stops being read at
the limit, so an oversized upload costs at most ``max_bytes`` of memory.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from starlette.requests import Request

from uiwire._errors import ChatRequestError, FieldError
from uiwire.protocol.chat_request import ChatRequest, parse_chat_request

__all__ = ["DEFAULT_MAX_BODY_BYTES", "read_chat_request", "require_json"]

DEFAULT_MAX_BODY_BYTES: Final = 8 * 1024 * 1024
"""8 MiB: a long conversation with a few images as ``data:`` URLs."""


async def read_chat_request(
    request: Request, *, max_bytes: int, url_schemes: Collection[str]
) -> ChatRequest:
    """The parsed body; ``ChatRequestError`` with status 415, 413 or 422 otherwise."""
    refused = require_json(request, what="the chat")
    if refused is not None:
        raise refused
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise _too_large(max_bytes)
    return parse_chat_request(bytes(body), url_schemes=url_schemes)


def require_json(request: Request, *, what: str = "the request") -> ChatRequestError | None:
    """None when the request says its body is JSON (``application/json`` or
    ``application/*+json``); otherwise the 415 to answer. A page on another site can
    post a form (or ``text/plain``) to any URL without asking, never JSON: a route that
    changes something and demands JSON cannot be triggered from another site."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return None
    return ChatRequestError(
        [
            FieldError(
                "content-type",
                f"send {what} as application/json, not {content_type or 'nothing'!r}",
                "content_type",
            )
        ],
        status_code=415,
    )


def _too_large(max_bytes: int) -> ChatRequestError:
    return ChatRequestError(
        [FieldError("body", f"the body is over the {max_bytes}-byte limit", "body_too_large")],
        status_code=413,
    )
