"""uiwire: stream agent runs to the Vercel AI SDK ``useChat`` frontend.

Re-exported here: the push API (``StreamContext`` and its record), the protocol layer
(the lifecycle machine, the SSE encoding, the typed chunks, the client-faithful
validator) and, imported only when asked for since they need an extra,
``UIMessageStreamResponse`` (``uiwire[fastapi]``) and ``DSPyAdapter`` (``uiwire[dspy]``).
"""

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
    from uiwire.adapters.dspy import DSPyAdapter
    from uiwire.server import UIMessageStreamResponse


def __getattr__(name: str) -> Any:
    # these need an extra (fastapi, dspy): import them only when asked for
    if name == "UIMessageStreamResponse":
        from uiwire.server import UIMessageStreamResponse

        return UIMessageStreamResponse
    if name == "DSPyAdapter":
        from uiwire.adapters.dspy import DSPyAdapter

        return DSPyAdapter
    raise AttributeError(f"module 'uiwire' has no attribute {name!r}")


__all__ = [
    "DEFAULT_ERROR_TEXT",
    "DONE_FRAME",
    "KEEP_ALIVE_FRAME",
    "STREAM_OPEN_FRAME",
    "UI_MESSAGE_STREAM_HEADERS",
    "BaseChunk",
    "Chunk",
    "DSPyAdapter",
    "NoInfo",
    "ProtocolError",
    "Store",
    "StreamClosed",
    "StreamContext",
    "StreamMachine",
    "StreamRecord",
    "StreamReport",
    "StreamStateError",
    "StreamStatus",
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
