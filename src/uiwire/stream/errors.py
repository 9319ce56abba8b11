"""Exceptions raised by the push API (``StreamContext``)."""

from __future__ import annotations

from uiwire.protocol.errors import UIWireError

__all__ = ["StreamClosed", "StreamStateError"]


class StreamStateError(UIWireError, RuntimeError):
    """The context was used out of order: work started twice, a second reader, and so on."""


class StreamClosed(StreamStateError):
    """A write that can never reach the client: the client left or the loop is closed.

    Worker threads should treat it as "stop": the work they feed was cancelled.
    """
