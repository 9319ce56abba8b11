"""Serving ``useChat`` from Starlette and FastAPI (the ``fastapi`` extra); its
OpenTelemetry spans and metrics, ``Telemetry``, need the ``otel`` extra too."""

from typing import TYPE_CHECKING

from uiwire._errors import TurnTimeout
from uiwire._extras import lazy_exports, needs_extra

with needs_extra("starlette", extra="fastapi", needed_by="uiwire.server", package="Starlette"):
    from uiwire.server._body import RequestLimits
    from uiwire.server.chat import ChatEndpoint, ChatResult, OnChatFinish
    from uiwire.server.conversations import Conversations, TitleHook, default_title
    from uiwire.server.identity import Identify, Identity, Owner, OwnerResolver
    from uiwire.server.options import (
        Authorize,
        ChatHooks,
        MessageIdFactory,
        OnTurnStart,
        PartMetadata,
        ResponseOptions,
        StreamTee,
        TurnMetadata,
    )
    from uiwire.server.response import DEFAULT_KEEP_ALIVE, UIMessageStreamResponse
    from uiwire.server.websocket import ChatSocket

if TYPE_CHECKING:
    from uiwire.server.telemetry import Telemetry, current_trace_id

__all__ = [
    "DEFAULT_KEEP_ALIVE",
    "Authorize",
    "ChatEndpoint",
    "ChatHooks",
    "ChatResult",
    "ChatSocket",
    "Conversations",
    "Identify",
    "Identity",
    "MessageIdFactory",
    "OnChatFinish",
    "OnTurnStart",
    "Owner",
    "OwnerResolver",
    "PartMetadata",
    "RequestLimits",
    "ResponseOptions",
    "StreamTee",
    "Telemetry",
    "TitleHook",
    "TurnMetadata",
    "TurnTimeout",
    "UIMessageStreamResponse",
    "current_trace_id",
    "default_title",
]

__getattr__ = lazy_exports(
    __name__,
    {"Telemetry": "uiwire.server.telemetry", "current_trace_id": "uiwire.server.telemetry"},
)
