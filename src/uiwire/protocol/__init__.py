"""The AI SDK UI message stream protocol, sans I/O.

``StreamMachine`` turns intents into correctly ordered chunks, ``encode`` frames them
as SSE, and ``check_stream`` / ``UIMessageAssembler`` read a stream back the way the
AI SDK client does.
"""

from uiwire.protocol import chunks
from uiwire.protocol.chunks import *  # noqa: F403 - re-exported, see __all__
from uiwire.protocol.encode import (
    DONE_FRAME,
    KEEP_ALIVE_FRAME,
    STREAM_OPEN_FRAME,
    UI_MESSAGE_STREAM_HEADERS,
    encode_chunk,
    encode_chunks,
)
from uiwire.protocol.errors import ProtocolError, StreamViolation, TargetError, UIWireError
from uiwire.protocol.machine import Chunk, EndReason, StreamMachine
from uiwire.protocol.message import UIMessageAssembler
from uiwire.protocol.sse import parse_sse
from uiwire.protocol.targets import DEFAULT_TARGET, Target
from uiwire.protocol.validate import StreamReport, check_stream, validate_stream

__all__ = [
    "DEFAULT_TARGET",
    "DONE_FRAME",
    "KEEP_ALIVE_FRAME",
    "STREAM_OPEN_FRAME",
    "UI_MESSAGE_STREAM_HEADERS",
    "Chunk",
    "EndReason",
    "ProtocolError",
    "StreamMachine",
    "StreamReport",
    "StreamViolation",
    "Target",
    "TargetError",
    "UIMessageAssembler",
    "UIWireError",
    "check_stream",
    "encode_chunk",
    "encode_chunks",
    "parse_sse",
    "validate_stream",
]
__all__ += chunks.__all__
