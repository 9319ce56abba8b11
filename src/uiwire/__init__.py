"""uiwire: stream agent runs to the Vercel AI SDK ``useChat`` frontend.

The protocol layer (``uiwire.protocol``) is re-exported here: the lifecycle machine, the
SSE encoding, the typed chunks and the client-faithful validator.
"""

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

__all__ = [
    "DONE_FRAME",
    "KEEP_ALIVE_FRAME",
    "STREAM_OPEN_FRAME",
    "UI_MESSAGE_STREAM_HEADERS",
    "BaseChunk",
    "Chunk",
    "ProtocolError",
    "StreamMachine",
    "StreamReport",
    "StreamViolation",
    "Target",
    "TargetError",
    "UIMessageAssembler",
    "UIMessageChunk",
    "UIWireError",
    "check_stream",
    "encode_chunk",
    "encode_chunks",
    "parse_chunk",
    "validate_stream",
]
