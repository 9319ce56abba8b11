"""Identifiers the server generates."""

from __future__ import annotations

import secrets

__all__ = ["new_id"]


def new_id(prefix: str) -> str:
    """An unguessable id such as ``msg_5f0c...`` (96 random bits)."""
    return f"{prefix}_{secrets.token_hex(12)}"
