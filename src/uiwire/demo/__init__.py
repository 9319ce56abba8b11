"""``uiwire demo``: a chat page on ``useChat``, served by an Agents SDK agent, offline."""

from uiwire.demo.app import default_db_path, demo_app, open_chat_store

__all__ = ["default_db_path", "demo_app", "open_chat_store"]
