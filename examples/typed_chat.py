"""The TypeScript type of an app's messages, for ``useChat<ChatMessage>()``.

    python examples/typed_chat.py                        # print the .d.ts
    python examples/typed_chat.py -o web/chat-types.d.ts # write it
    cd examples && python -m uiwire types typed_chat:ui_types -o chat-types.d.ts  # the same

An Agents SDK agent with a tool that takes nested arguments and reports progress, a
tool that needs the user's approval, a tool the browser runs (``client_tool``), and a
data part and metadata the app writes itself. ``UITypes`` declares what the agent's
definition cannot say: the app's own parts and metadata, what the browser answers the
client tool, and the progress the forecast tool sends before its result.
``examples/typed_chat.tsx`` is a React page written against the generated types
(tests/test_examples.py compiles it with tsc).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal

from agents import Agent, function_tool
from agents.tool_context import ToolContext
from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from uiwire.adapters.agents import AgentsAdapter, client_tool, tool_stream
from uiwire.typegen import ToolTypes, UITypes, typescript_types


class Day(BaseModel):
    date: str
    sky: Literal["sunny", "cloudy", "rain"]
    high_c: float


class ForecastProgress(BaseModel):
    """What the forecast tool reports while it works (a preliminary output)."""

    status: str


class Alert(BaseModel):
    """A weather alert the forecast tool writes as a data-alert part."""

    city: str
    text: str


@function_tool
async def get_forecast(ctx: ToolContext[Any], city: str, days: int = 3) -> list[Day]:
    """Get the forecast for the next days in a city."""
    ui = tool_stream(ctx)
    await ui.progress(ForecastProgress(status=f"asking for {days} days in {city}"))
    await ui.data("alert", Alert(city=city, text="Strong wind in the afternoon"))
    return [Day(date=f"day {n}", sky="sunny", high_c=21.0) for n in range(1, days + 1)]


class Guest(BaseModel):
    name: str
    email: str | None = None


class Booking(BaseModel):
    city: str
    nights: int = Field(ge=1, description="How many nights.")
    guests: list[Guest]


class Confirmation(BaseModel):
    reference: str
    total_eur: float


@function_tool(needs_approval=True)
def book_hotel(booking: Booking) -> Confirmation:
    """Book a hotel room (the user approves first)."""
    return Confirmation(reference="HP-4821", total_eur=120.0 * booking.nights)


class Location(BaseModel):
    """What the browser answers get_location with (addToolOutput)."""

    lat: float
    lon: float


get_location = client_tool("get_location", "The user's position, from the browser.")

agent = Agent(
    name="Travel",
    instructions="Help the user plan a trip: weather, then a hotel.",
    tools=[get_forecast, book_hotel, get_location],
)
adapter = AgentsAdapter(agent)


class ChatInfo(TypedDict, total=False):
    """What the app's own code writes into the message metadata."""

    model: str


ui_types = UITypes(
    adapter,
    data={"alert": Alert},
    metadata=ChatInfo,
    tools={
        "get_location": ToolTypes(output=Location),
        "get_forecast": ToolTypes(output=list[Day] | ForecastProgress),
    },
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, help="the .d.ts to write (default: stdout)")
    args = parser.parse_args()
    text = typescript_types(ui_types, command="python examples/typed_chat.py")
    if args.output is None:
        print(text, end="")
    else:
        args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
