"""Serving streams from Starlette and FastAPI (the ``fastapi`` extra)."""

from uiwire.server.response import DEFAULT_KEEP_ALIVE, UIMessageStreamResponse

__all__ = ["DEFAULT_KEEP_ALIVE", "UIMessageStreamResponse"]
