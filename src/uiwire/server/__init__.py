"""Serving ``useChat`` from Starlette and FastAPI (the ``fastapi`` extra)."""

from uiwire.server.chat import ChatEndpoint, ChatResult, OnChatFinish, TurnTimeout
from uiwire.server.response import DEFAULT_KEEP_ALIVE, UIMessageStreamResponse
from uiwire.server.turn import ChatAgent, ChatFunction, ChatTurn, ChatWork

__all__ = [
    "DEFAULT_KEEP_ALIVE",
    "ChatAgent",
    "ChatEndpoint",
    "ChatFunction",
    "ChatResult",
    "ChatTurn",
    "ChatWork",
    "OnChatFinish",
    "TurnTimeout",
    "UIMessageStreamResponse",
]
