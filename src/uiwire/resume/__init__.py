"""Resumable streams: answers recorded while they are generated, so that a reload, a
dropped connection or a second tab can replay and follow them, on any worker.

``ChatEndpoint(agent, streams=store)`` uses a store; pick ``MemoryStreamStore`` for one
process and ``RedisStreamStore`` (the ``redis`` extra) for several.
"""

from typing import TYPE_CHECKING

from uiwire._errors import StreamInterrupted, StreamStoreError
from uiwire._extras import lazy_exports
from uiwire.resume.log import FrameLog
from uiwire.resume.memory import MemoryStreamStore
from uiwire.resume.store import INTERRUPTED_TEXT, StopCallback, StreamStore, check_chat_id

if TYPE_CHECKING:
    from uiwire.resume.redis import RedisLimits, RedisStreamStore

__all__ = [
    "INTERRUPTED_TEXT",
    "FrameLog",
    "MemoryStreamStore",
    "RedisLimits",
    "RedisStreamStore",
    "StopCallback",
    "StreamInterrupted",
    "StreamStore",
    "StreamStoreError",
    "check_chat_id",
]


__getattr__ = lazy_exports(
    __name__,
    {"RedisLimits": "uiwire.resume.redis", "RedisStreamStore": "uiwire.resume.redis"},
)
