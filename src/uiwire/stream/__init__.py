"""The push API: a ``StreamContext`` that hand-written code (and the adapters) write into,
and the ``ChatTurn`` / ``ChatAgent`` contract between a server and the agents it serves.

``MessageWriter`` is the write vocabulary as a type: a ``StreamContext`` is one, and so
is a ``MessageBuilder`` (a message assembled in memory, with no consumer).

Only this package and ``uiwire.server`` know about event loops, threads and consumers;
the protocol layer below them is pure.
"""

from uiwire._errors import SteeringQueueFull, StreamClosed, StreamStateError
from uiwire.stream.context import (
    DEFAULT_MAX_BUFFERED_BYTES,
    MAX_PENDING_STEERING,
    NoInfo,
    OnClose,
    OnDisconnect,
    OnError,
    StopMode,
    StreamContext,
)
from uiwire.stream.message_builder import MessageBuilder
from uiwire.stream.message_writer import MessageWriter
from uiwire.stream.record import StreamRecord, StreamStatus, ToolCallRecord, Usage
from uiwire.stream.state import SharedState
from uiwire.stream.structured_output import OUTPUT_PART, OutputState, StructuredOutput
from uiwire.stream.turn import ChatAgent, ChatFunction, ChatTurn, ChatWork
from uiwire.stream.writer import DEFAULT_ERROR_TEXT, SyncWriter

__all__ = [
    "DEFAULT_ERROR_TEXT",
    "DEFAULT_MAX_BUFFERED_BYTES",
    "MAX_PENDING_STEERING",
    "OUTPUT_PART",
    "ChatAgent",
    "ChatFunction",
    "ChatTurn",
    "ChatWork",
    "MessageBuilder",
    "MessageWriter",
    "NoInfo",
    "OnClose",
    "OnDisconnect",
    "OnError",
    "OutputState",
    "SharedState",
    "SteeringQueueFull",
    "StopMode",
    "StreamClosed",
    "StreamContext",
    "StreamRecord",
    "StreamStateError",
    "StreamStatus",
    "StructuredOutput",
    "SyncWriter",
    "ToolCallRecord",
    "Usage",
]
