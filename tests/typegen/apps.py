"""The apps whose types the typegen tests generate: an Agents agent (nested pydantic
arguments, a client tool, a handoff to an agent with a structured output), a DSPy
agent (a tool, a structured answer) and the app's own data part and metadata."""

from __future__ import annotations

from typing import Any, Literal

import dspy
from agents import Agent, function_tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from uiwire.adapters.agents import AgentsAdapter, client_tool
from uiwire.adapters.dspy import DSPyAdapter
from uiwire.typegen import ToolTypes, UITypes


class Address(BaseModel):
    city: str
    zip: str | None = None


class Query(BaseModel):
    """What to look for."""

    address: Address
    radius_km: float = Field(description="How far to look.")
    kinds: list[Literal["cafe", "bar"]] = []


class Place(BaseModel):
    name: str
    address: Address


@function_tool
def find_places(query: Query, limit: int = 3) -> list[Place]:
    """Find places near an address."""
    return [Place(name="Chez Nous", address=query.address)][:limit]


class Location(BaseModel):
    lat: float
    lon: float


get_location = client_tool("get_location", "Where the user is, from the browser.")


class Report(BaseModel):
    summary: str
    places: list[Place]


planner = Agent(name="Planner", instructions="Plan the outing.", output_type=Report)
guide = Agent(
    name="Guide",
    instructions="Help the user find a place.",
    tools=[find_places, get_location],
    handoffs=[planner],
)


class Progress(BaseModel):
    """A step of the work, written by the app's own code."""

    step: int
    of: int


class AppMetadata(TypedDict, total=False):
    chat_title: str


agents_types = UITypes(
    AgentsAdapter(guide),
    data={"progress": Progress},
    metadata=AppMetadata,
    tools={"get_location": ToolTypes(output=Location)},
)


class Paper(BaseModel):
    title: str
    year: int


def search_papers(topic: str, since: int | None = None) -> list[Paper]:
    """Search the papers on a topic."""
    return [Paper(title=f"On {topic}", year=since or 2024)]


class Findings(dspy.Signature):
    """Answer from the papers."""

    question: str = dspy.InputField()
    answer: str = dspy.OutputField()
    papers: list[Paper] = dspy.OutputField()


def research_agent() -> Any:
    return dspy.ReAct(Findings, tools=[search_papers], max_iters=3)


dspy_types = UITypes(DSPyAdapter(research_agent()), name="ResearchMessage")
