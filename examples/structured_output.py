"""A typed result streamed as data, not as raw JSON text: the ``data-output`` part.

    python examples/structured_output.py

1. An Agents SDK agent whose ``output_type`` is a pydantic model, run through
   ``AgentsAdapter`` (the SDK's scripted model stands in for a provider): its answer
   is a ``data-output`` part ending with ``final_output``.
2. The same part written by hand with ``StructuredOutput``, fed the JSON in pieces as a
   model would stream it: each chunk replaces the part on the client (same id), the
   value is the object so far, then the validated one.

Each ``data-output`` chunk is printed as a JSON line; every stream is checked the way the
AI SDK client reads it. (``DSPyAdapter`` does the same for an output field typed other
than ``str``.)
"""

from __future__ import annotations

import asyncio
import json

from agents import Agent, set_tracing_disabled
from agents.testing import ScriptedModel, assistant_message
from pydantic import BaseModel

from uiwire.adapters.agents import AgentsAdapter
from uiwire.protocol import validate_stream
from uiwire.stream import OUTPUT_PART, StreamContext, StructuredOutput

set_tracing_disabled(True)


class WeatherReport(BaseModel):
    city: str
    highs_c: list[float]
    summary: str


REPORT = '{"city": "Paris", "highs_c": [21.5, 19], "summary": "Mild, then showers."}'


async def print_outputs(ctx: StreamContext, label: str) -> None:
    body = b"".join([frame async for frame in ctx.stream()])
    message = validate_stream(body).message  # raises if the client would refuse it
    for line in body.decode().splitlines():
        chunk = json.loads(line[6:]) if line.startswith("data: {") else {}
        if chunk.get("type") == f"data-{OUTPUT_PART}":
            print(json.dumps({label: chunk}))
    kept = [p for p in message["parts"] if p["type"] == f"data-{OUTPUT_PART}"]
    print(json.dumps({f"{label}-message": kept}))


async def main() -> None:
    agent = Agent(
        name="Forecaster",
        output_type=WeatherReport,
        model=ScriptedModel([[assistant_message(REPORT)]]),
    )
    await print_outputs(AgentsAdapter(agent).stream("Weather in Paris?"), "agents")

    async def by_hand(ctx: StreamContext) -> None:
        output = StructuredOutput(ctx, "WeatherReport")
        for piece in ('{"city": "Par', 'is", "highs_c": [21.', '5, 19], "summary": "Mild'):
            await output.write(piece)  # sent when the parsed value changed
        await output.write(', then showers."}')
        await output.finish(WeatherReport.model_validate_json(output.text))

    ctx: StreamContext = StreamContext()
    ctx.run(by_hand)
    await print_outputs(ctx, "push-api")


if __name__ == "__main__":
    asyncio.run(main())
