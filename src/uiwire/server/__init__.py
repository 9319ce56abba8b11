"""Serving ``useChat`` from Starlette and FastAPI (the ``fastapi`` extra)."""

from uiwire._errors import TurnTimeout
from uiwire._extras import needs_extra

with needs_extra("starlette", extra="fastapi", needed_by="uiwire.server", package="Starlette"):
    from uiwire.server._body import RequestLimits
    from uiwire.server.chat import Authorize, ChatEndpoint, ChatResult, OnChatFinish
    from uiwire.server.conversations import Conversations, TitleHook, default_title
    from uiwire.server.identity import Identify, Identity, Owner, OwnerResolver
    from uiwire.server.response import DEFAULT_KEEP_ALIVE, UIMessageStreamResponse
    from uiwire.server.websocket import ChatSocket

__all__ = [
    "DEFAULT_KEEP_ALIVE",
    "Authorize",
    "ChatEndpoint",
    "ChatResult",
    "ChatSocket",
    "Conversations",
    "Identify",
    "Identity",
    "OnChatFinish",
    "Owner",
    "OwnerResolver",
    "RequestLimits",
    "TitleHook",
    "TurnTimeout",
    "UIMessageStreamResponse",
    "default_title",
]
