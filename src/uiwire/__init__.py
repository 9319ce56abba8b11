"""uiwire: stream agent runs to the Vercel AI SDK ``useChat`` frontend.

Re-exported here: the push API (``StreamContext`` and its record), the protocol layer
(the lifecycle machine, the SSE encoding, the typed chunks, the client-faithful
validator) and, imported only when asked for since they need an extra,
``UIMessageStreamResponse`` and ``ChatEndpoint`` (``uiwire[fastapi]``), ``DSPyAdapter``
(``uiwire[dspy]``), ``AgentsAdapter`` (``uiwire[agents]``) and ``RedisStreamStore``
(``uiwire[redis]``).
"""

import importlib
from typing import TYPE_CHECKING, Any

from uiwire.protocol import (
    DONE_FRAME,
    KEEP_ALIVE_FRAME,
    STREAM_OPEN_FRAME,
    UI_MESSAGE_STREAM_HEADERS,
    BaseChunk,
    Chunk,
    ProtocolError,
    StreamMachine,
    StreamReport,
    StreamViolation,
    Target,
    TargetError,
    UIMessageAssembler,
    UIMessageChunk,
    UIWireError,
    check_stream,
    encode_chunk,
    encode_chunks,
    parse_chunk,
    validate_stream,
)
from uiwire.resume import MemoryStreamStore, StreamStore, StreamStoreError
from uiwire.stream import (
    DEFAULT_ERROR_TEXT,
    NoInfo,
    Store,
    StreamClosed,
    StreamContext,
    StreamRecord,
    StreamStateError,
    StreamStatus,
    SyncWriter,
    ToolCallRecord,
    Usage,
)

if TYPE_CHECKING:
    from uiwire.adapters.agents import AgentsAdapter
    from uiwire.adapters.dspy import DSPyAdapter
    from uiwire.resume.redis import RedisStreamStore
    from uiwire.server import ChatEndpoint, UIMessageStreamResponse

_NEEDS_AN_EXTRA = {
    "UIMessageStreamResponse": "uiwire.server",
    "ChatEndpoint": "uiwire.server",
    "DSPyAdapter": "uiwire.adapters.dspy",
    "AgentsAdapter": "uiwire.adapters.agents",
    "RedisStreamStore": "uiwire.resume.redis",
}


def __getattr__(name: str) -> Any:
    # these need an extra (fastapi, dspy, agents, redis): imported only when asked for
    module = _NEEDS_AN_EXTRA.get(name)
    if module is None:
        raise AttributeError(f"module 'uiwire' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "DEFAULT_ERROR_TEXT",
    "DONE_FRAME",
    "KEEP_ALIVE_FRAME",
    "STREAM_OPEN_FRAME",
    "UI_MESSAGE_STREAM_HEADERS",
    "AgentsAdapter",
    "BaseChunk",
    "ChatEndpoint",
    "Chunk",
    "DSPyAdapter",
    "MemoryStreamStore",
    "NoInfo",
    "ProtocolError",
    "RedisStreamStore",
    "Store",
    "StreamClosed",
    "StreamContext",
    "StreamMachine",
    "StreamRecord",
    "StreamReport",
    "StreamStateError",
    "StreamStatus",
    "StreamStore",
    "StreamStoreError",
    "StreamViolation",
    "SyncWriter",
    "Target",
    "TargetError",
    "ToolCallRecord",
    "UIMessageAssembler",
    "UIMessageChunk",
    "UIMessageStreamResponse",
    "UIWireError",
    "Usage",
    "check_stream",
    "encode_chunk",
    "encode_chunks",
    "parse_chunk",
    "validate_stream",
]
