"""uiwire: stream agent runs to the Vercel AI SDK ``useChat`` frontend.

Every public name is imported from one package, the one for its layer (data flows top to
bottom)::

    uiwire.protocol          the UI message stream, sans I/O: UIMessage, parse_chat_request,
                             StreamMachine, encode_chunks, UIMessageAssembler, check_stream
    uiwire.stream            the push API: StreamContext, StreamRecord, ChatTurn, ChatAgent
    uiwire.resume            resumable streams: MemoryStreamStore, RedisStreamStore
    uiwire.adapters.dspy     DSPyAdapter                          (uiwire[dspy])
    uiwire.adapters.agents   AgentsAdapter, approvals, client tools (uiwire[agents])
    uiwire.server            ChatEndpoint, UIMessageStreamResponse (uiwire[fastapi])
    uiwire.typegen           UITypes, typescript_types: `uiwire types`, the TypeScript
                             UIMessage type of an app

This package itself exports only ``UIWireError``, the base of every error uiwire raises on
purpose. A name that needs an extra (``RedisStreamStore``, ``RedisApprovalStore``) is
still imported from its package, which loads it on first use.
"""

from uiwire._errors import UIWireError

__all__ = ["UIWireError"]
