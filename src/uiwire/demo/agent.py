"""The demo's agent: a real Agents SDK agent with real tools, one per feature to show."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from agents import Agent, Model, function_tool, set_tracing_disabled
from agents.tool_context import ToolContext

from uiwire.adapters.agents import client_tool, tool_stream
from uiwire.demo.model import demo_model

__all__ = ["demo_agent"]


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"sunny and 21°C in {city}"


@function_tool
async def get_forecast(ctx: ToolContext[Any], city: str, days: int) -> list[str]:
    """Get the weather forecast for the next days in a city."""
    ui = tool_stream(ctx)
    card = f"forecast-{ctx.tool_call_id}"  # one data part, filled in day by day
    forecast: list[str] = []
    rows: list[dict[str, Any]] = []
    for day in range(1, days + 1):
        await ui.progress({"status": f"fetching day {day} of {days}"})
        await asyncio.sleep(0.4)  # a slow weather service
        high = 20 + day
        forecast.append(f"day {day}: sunny, {high}°C")
        rows.append({"day": day, "sky": "sunny", "highC": high, "lowC": high - 8})
        await ui.data("forecast", {"city": city, "days": rows, "complete": day == days}, id=card)
    await ui.source("https://en.wikipedia.org/wiki/Weather_forecasting", title="Forecasting")
    return forecast


@function_tool(needs_approval=True)
async def book_hotel(city: str, nights: int) -> str:
    """Book a hotel room in a city (asks the user first)."""
    return f"Booked {nights} nights at the Hotel du Parc in {city} (ref. HP-4821)"


@function_tool
def broken_tool() -> str:
    """A tool that always fails (to show how tool errors look)."""
    raise ConnectionError("the backend at 10.0.0.7 refused the connection")  # masked


get_local_time = client_tool(
    "get_local_time", "Get the user's local time and time zone (runs in their browser)."
)


def demo_agent(model: str | Model | None = None, *, delay: float = 0.03) -> Agent[Any]:
    """The agent ``uiwire demo`` serves: ``model`` if given; else OpenAI's
    ``UIWIRE_DEMO_MODEL`` (default gpt-4.1-mini) when ``OPENAI_API_KEY`` is set, else
    the offline scripted model (tracing off: its exporter would need the key)."""
    if model is None:
        if os.environ.get("OPENAI_API_KEY"):
            model = os.environ.get("UIWIRE_DEMO_MODEL", "gpt-4.1-mini")
        else:
            set_tracing_disabled(True)
            model = demo_model(delay=delay)
    return Agent(
        name="Travel agent",
        instructions=(
            "You help plan trips. Check the weather and the forecast before suggesting "
            "a booking; book hotels only with book_hotel. Use get_local_time for the "
            "user's time. Keep answers short."
        ),
        tools=[get_weather, get_forecast, book_hotel, broken_tool, get_local_time],
        model=model,
    )
