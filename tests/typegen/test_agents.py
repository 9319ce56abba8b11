"""What the generator reads from an Agents SDK agent (``uiwire.typegen._agents``)."""

from __future__ import annotations

from typing import Any

from agents import Agent, FunctionTool, WebSearchTool, function_tool, handoff
from pydantic import BaseModel

from tests.typegen.apps import Place, guide
from uiwire.adapters.agents import AgentsAdapter
from uiwire.typegen import typescript_types
from uiwire.typegen._agents import agents_shape
from uiwire.typegen._shape import AGENT_DATA, USAGE_METADATA, OutputShape


def test_a_function_tools_output_type_is_its_return_annotation() -> None:
    shape = agents_shape(guide)
    found = shape.tools["find_places"]
    assert (
        found.input
        == next(
            t for t in guide.tools if isinstance(t, FunctionTool) and t.name == "find_places"
        ).params_json_schema
    )
    assert found.output is not None
    assert found.output["type"] == "array"
    item = found.output["items"]["$ref"].rsplit("/", 1)[-1]
    # every field a dump writes is required, defaults included (the output as sent)
    assert found.output["$defs"][item]["required"] == list(Place.model_fields)


def test_tools_with_no_known_output_are_unknown() -> None:
    @function_tool
    def untyped(city: str):  # type: ignore[no-untyped-def]
        return city

    @function_tool
    def anything(city: str) -> Any:
        return city

    helper = Agent(name="Helper", instructions="x")
    agent = Agent(
        name="Main",
        instructions="x",
        tools=[untyped, anything, helper.as_tool("ask_helper", "Ask the helper.")],
    )
    shape = agents_shape(agent)
    assert [(n, t.output) for n, t in shape.tools.items()] == [
        ("untyped", None),
        ("anything", None),
        ("ask_helper", None),
    ]
    assert shape.tools["ask_helper"].input is not None


def test_handoffs_are_tools_and_their_agents_tools_count() -> None:
    @function_tool
    def refund(order_id: str) -> bool:
        return True

    class Ticket(BaseModel):
        reason: str

    billing = Agent(name="Billing", instructions="x", tools=[refund])
    support = Agent(name="Support", instructions="x", handoffs=[billing])
    triage = Agent(
        name="Triage",
        instructions="x",
        handoffs=[
            support,
            handoff(billing, input_type=Ticket, on_handoff=lambda ctx, ticket: None),
        ],
    )
    billing.handoffs = [triage]  # a cycle is walked once
    shape = agents_shape(triage)
    assert list(shape.tools) == [
        "transfer_to_support",
        "transfer_to_billing",
        "refund",
        "transfer_to_triage",
    ]
    plain = shape.tools["transfer_to_support"].input  # a plain handoff takes nothing
    assert plain is not None
    assert plain["properties"] == {}
    assert shape.tools["refund"].output == {"type": "boolean"}
    # Triage hands off to Billing with a Ticket, Support with nothing: either may come
    assert shape.tools["transfer_to_billing"].input is None


def test_a_handoffs_input_type_is_its_input() -> None:
    class Ticket(BaseModel):
        reason: str

    billing = Agent(name="Billing", instructions="x")
    triage = Agent(
        name="Triage",
        instructions="x",
        handoffs=[handoff(billing, input_type=Ticket, on_handoff=lambda ctx, ticket: None)],
    )
    ticket = agents_shape(triage).tools["transfer_to_billing"].input
    assert ticket is not None
    assert ticket["required"] == ["reason"]


def test_hosted_tools_are_parts_with_unknown_types() -> None:
    agent = Agent(name="Searcher", instructions="x", tools=[WebSearchTool()])
    shape = agents_shape(agent)
    assert list(shape.tools) == ["web_search"]
    assert (shape.tools["web_search"].input, shape.tools["web_search"].output) == (None, None)


def test_structured_outputs_of_every_reachable_agent() -> None:
    class Report(BaseModel):
        summary: str

    writer = Agent(name="Writer", instructions="x", output_type=Report)
    lister = Agent(name="Lister", instructions="x", output_type=list[str], handoffs=[writer])
    talker = Agent(name="Talker", instructions="x", output_type=str, handoffs=[lister])
    shape = agents_shape(talker)
    assert [o.name for o in shape.outputs] == ["list[str]", "Report"]
    assert shape.outputs[0] == OutputShape(
        "list[str]", {"type": "array", "items": {"type": "string"}}
    )
    text = typescript_types(talker)
    assert 'StructuredOutput<"list[str]", ListStr>' in text
    assert 'StructuredOutput<"Report", Report>' in text


def test_the_adapters_own_parts_and_metadata() -> None:
    shape = agents_shape(Agent(name="Plain", instructions="x"))
    assert shape.data == {"agent": AGENT_DATA}
    assert shape.metadata == [USAGE_METADATA]
    assert shape.tools == {}
    assert shape.outputs == []
    text = typescript_types(AgentsAdapter(Agent(name="Plain", instructions="x")))
    assert "export type ChatTools = {};" in text
    assert "export type ChatDataParts = {\n  agent: AgentData;\n};" in text
