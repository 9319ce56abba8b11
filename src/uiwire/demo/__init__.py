"""``uiwire demo``: a chat page on ``useChat``, served by an Agents SDK agent, offline."""

from uiwire.demo.app import ChatHistory, demo_app

__all__ = ["ChatHistory", "demo_app"]
