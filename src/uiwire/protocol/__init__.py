"""The AI SDK UI message stream protocol, sans I/O.

``parse_chat_request`` reads what ``useChat`` POSTs into typed ``UIMessage`` models,
``StreamMachine`` turns intents into correctly ordered chunks, ``encode`` frames them
as SSE, and ``check_stream`` / ``UIMessageAssembler`` read a stream back the way the
AI SDK client does.
"""

from uiwire._errors import (
    ChatRequestError,
    EventTooLarge,
    FieldError,
    ProtocolError,
    StreamViolation,
    TargetError,
    UnreplayableMessage,
    ViolationKind,
)
from uiwire.protocol import chunks, ui_message
from uiwire.protocol.chat_request import (
    ChatForm,
    ChatRequest,
    parse_chat_request,
    parse_steering_message,
)
from uiwire.protocol.chunks import *  # noqa: F403 - re-exported, see __all__
from uiwire.protocol.encode import (
    DONE_FRAME,
    KEEP_ALIVE_FRAME,
    MAX_EVENT_CHARS,
    STREAM_OPEN_FRAME,
    UI_MESSAGE_STREAM_HEADERS,
    encode_chunk,
    encode_chunks,
)
from uiwire.protocol.machine import Chunk, EndReason, StreamMachine
from uiwire.protocol.message import UIMessageAssembler
from uiwire.protocol.sse import parse_sse
from uiwire.protocol.targets import DEFAULT_TARGET, Target
from uiwire.protocol.ui_message import *  # noqa: F403 - re-exported, see __all__
from uiwire.protocol.validate import StreamReport, check_stream, validate_stream

__all__ = [
    "DEFAULT_TARGET",
    "DONE_FRAME",
    "KEEP_ALIVE_FRAME",
    "MAX_EVENT_CHARS",
    "STREAM_OPEN_FRAME",
    "UI_MESSAGE_STREAM_HEADERS",
    "ChatForm",
    "ChatRequest",
    "ChatRequestError",
    "Chunk",
    "EndReason",
    "EventTooLarge",
    "FieldError",
    "ProtocolError",
    "StreamMachine",
    "StreamReport",
    "StreamViolation",
    "Target",
    "TargetError",
    "UIMessageAssembler",
    "UnreplayableMessage",
    "ViolationKind",
    "check_stream",
    "encode_chunk",
    "encode_chunks",
    "parse_chat_request",
    "parse_sse",
    "parse_steering_message",
    "validate_stream",
]
__all__ += chunks.__all__
__all__ += ui_message.__all__
