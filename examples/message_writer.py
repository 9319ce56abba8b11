"""One writing function, two destinations: a live stream and a message built in memory.

    python examples/message_writer.py

``report_weather`` is typed against ``MessageWriter``, the write vocabulary as a type, so
it writes into a ``StreamContext`` (SSE bytes for ``useChat``) and into a
``MessageBuilder`` (the message kept in memory: a nested message, or a test of your own
writing code) alike. The script prints the message of each, as JSON lines, and checks that
the stream, read back the way the AI SDK client reads it, holds the same message.
"""

from __future__ import annotations

import asyncio
import json

from uiwire.protocol import validate_stream
from uiwire.stream import MessageBuilder, MessageWriter, StreamContext


async def report_weather(out: MessageWriter, city: str) -> None:
    call = await out.begin_tool_call("get_weather", {"city": city}, tool_call_id="call_1")
    await out.complete_tool_call(call, {"sky": "sunny", "celsius": 21})
    await out.write_text(f"It is sunny in {city}, ")
    await out.write_text("21°C.")


async def main() -> None:
    built = MessageBuilder(message_id="msg_weather")
    await report_weather(built, "Rome")
    await built.finish()

    ctx: StreamContext = StreamContext(message_id="msg_weather")
    ctx.run(lambda ctx: report_weather(ctx, "Rome"))
    body = b"".join([frame async for frame in ctx.stream()])
    streamed = validate_stream(body).message

    print(json.dumps({"built": built.message}))
    print(json.dumps({"streamed": streamed}))
    if streamed != built.message:
        raise SystemExit("the stream and the built message differ")


if __name__ == "__main__":
    asyncio.run(main())
