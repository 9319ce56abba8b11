"""What can go wrong when streams are recorded and followed."""

from __future__ import annotations

__all__ = ["StreamInterrupted", "StreamStoreError"]


class StreamStoreError(Exception):
    """The stream store could not be reached or failed. What was asked may or may not
    have happened (a write whose reply was lost), so callers treat the stream as broken."""


class StreamInterrupted(Exception):
    """A followed stream cannot be read to its end: the worker generating it stopped, or
    the store lost part of it. Followers end the body with an ``error`` chunk."""
