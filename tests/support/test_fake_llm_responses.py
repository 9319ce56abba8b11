"""``FakeLLM`` as an OpenAI Responses API server, read with the real ``openai`` SDK.

The client validates every event and response strictly against the SDK's models
(``_strict_response_validation``), so a field the SDK requires but the fake leaves out
fails here rather than in an adapter test. The last test drives the OpenAI Agents SDK
through a tool call and back.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI
from openai.types.responses import (
    ResponseCodeInterpreterToolCall,
    ResponseFileSearchToolCall,
    ResponseFunctionShellToolCall,
    ResponseFunctionToolCall,
    ResponseFunctionWebSearch,
    ResponseOutputMessage,
    ResponseOutputRefusal,
    ResponseOutputText,
    ResponseReasoningItem,
    ResponseStreamEvent,
)
from openai.types.responses.response_output_item import (
    ImageGenerationCall,
    McpApprovalRequest,
    McpCall,
    McpListTools,
)

from tests.support.fake_llm import FakeLLM, Reply, ToolCallReply

START = ["response.created", "response.in_progress"]
ADDED, DONE = "response.output_item.added", "response.output_item.done"
WEB_SEARCH = {
    "type": "web_search_call",
    "id": "ws_1",
    "status": "completed",
    "action": {"type": "search", "query": "paris weather"},
}
CITATION = {
    "type": "url_citation",
    "start_index": 0,
    "end_index": 5,
    "title": "Weather",
    "url": "https://weather.example/paris",
}


def client(llm: FakeLLM) -> AsyncOpenAI:
    return AsyncOpenAI(
        base_url=llm.base_url, api_key="x", max_retries=0, _strict_response_validation=True
    )


async def stream(llm: FakeLLM) -> list[ResponseStreamEvent]:
    async with client(llm) as api:
        events = await api.responses.create(model="gpt-4.1", input="hi", stream=True)
        return [event async for event in events]


def types(events: list[ResponseStreamEvent]) -> list[str]:
    return [event.type for event in events]


def final_output(events: list[ResponseStreamEvent]) -> list[Any]:
    last = events[-1]
    assert last.type == "response.completed"
    assert last.response.status == "completed"
    return list(last.response.output)


async def test_text_streams_as_one_message() -> None:
    with FakeLLM([Reply("Hello there", prompt_tokens=3, completion_tokens=4)]) as llm:
        events = await stream(llm)
        assert llm.streams[0].finished
        assert not llm.streams[0].cut

    assert types(events) == [
        *START,
        ADDED,
        "response.content_part.added",
        *["response.output_text.delta"] * 3,
        "response.output_text.done",
        "response.content_part.done",
        DONE,
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = [event for event in events if event.type == "response.output_text.delta"]
    assert [delta.delta for delta in deltas] == ["Hello", " ther", "e"]
    assert {(delta.item_id, delta.output_index, delta.content_index) for delta in deltas} == {
        ("msg_1_0", 0, 0)
    }
    added = events[2]
    assert added.type == ADDED
    assert isinstance(added.item, ResponseOutputMessage)
    assert (added.item.status, added.item.content) == ("in_progress", [])

    [message] = final_output(events)
    assert isinstance(message, ResponseOutputMessage)
    assert (message.id, message.role, message.status) == ("msg_1_0", "assistant", "completed")
    [text] = message.content
    assert isinstance(text, ResponseOutputText)
    assert (text.text, text.annotations) == ("Hello there", [])
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.id == "resp_1"
    assert completed.response.model == "gpt-4.1"
    assert completed.response.output_text == "Hello there"
    usage = completed.response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (3, 4, 7)
    created = events[0]
    assert created.type == "response.created"
    assert (created.response.status, created.response.output) == ("in_progress", [])
    assert created.response.usage is None


async def test_reasoning_comes_first_as_a_summary() -> None:
    with FakeLLM([Reply("Paris.", reasoning="Think hard")]) as llm:
        events = await stream(llm)

    assert types(events) == [
        *START,
        ADDED,
        "response.reasoning_summary_part.added",
        *["response.reasoning_summary_text.delta"] * 2,
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        DONE,
        ADDED,
        "response.content_part.added",
        *["response.output_text.delta"] * 2,
        "response.output_text.done",
        "response.content_part.done",
        DONE,
        "response.completed",
    ]
    deltas = [e for e in events if e.type == "response.reasoning_summary_text.delta"]
    assert "".join(delta.delta for delta in deltas) == "Think hard"
    assert {(d.item_id, d.output_index, d.summary_index) for d in deltas} == {("rs_1_0", 0, 0)}
    text_deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert {delta.output_index for delta in text_deltas} == {1}

    reasoning, message = final_output(events)
    assert isinstance(reasoning, ResponseReasoningItem)
    assert [(part.type, part.text) for part in reasoning.summary] == [
        ("summary_text", "Think hard")
    ]
    assert isinstance(message, ResponseOutputMessage)
    assert message.id == "msg_1_1"


async def test_refusal_streams_as_refusal_content() -> None:
    with FakeLLM([Reply(refusal="I can't help.")]) as llm:
        events = await stream(llm)

    assert types(events) == [
        *START,
        ADDED,
        "response.content_part.added",
        *["response.refusal.delta"] * 3,
        "response.refusal.done",
        "response.content_part.done",
        DONE,
        "response.completed",
    ]
    deltas = [event for event in events if event.type == "response.refusal.delta"]
    assert "".join(delta.delta for delta in deltas) == "I can't help."
    [message] = final_output(events)
    assert isinstance(message, ResponseOutputMessage)
    [refusal] = message.content
    assert isinstance(refusal, ResponseOutputRefusal)
    assert refusal.refusal == "I can't help."


async def test_hosted_item_annotations_and_tool_calls_in_order() -> None:
    reply = Reply(
        "Sunny, says the web.",
        annotations=[CITATION],
        items=[WEB_SEARCH],
        tool_calls=[
            ToolCallReply("lookup", '{"city": "Paris"}', id="call_a"),
            ToolCallReply("notify", "{}"),
        ],
    )
    with FakeLLM([reply]) as llm:
        events = await stream(llm)

    assert types(events) == [
        *START,
        ADDED,
        DONE,
        ADDED,
        "response.content_part.added",
        *["response.output_text.delta"] * 4,
        "response.output_text.annotation.added",
        "response.output_text.done",
        "response.content_part.done",
        DONE,
        ADDED,
        *["response.function_call_arguments.delta"] * 4,
        "response.function_call_arguments.done",
        DONE,
        ADDED,
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        DONE,
        "response.completed",
    ]
    hosted_added = events[2]
    assert hosted_added.type == ADDED
    assert isinstance(hosted_added.item, ResponseFunctionWebSearch)
    assert hosted_added.item.status == "in_progress"
    annotation = next(e for e in events if e.type == "response.output_text.annotation.added")
    assert (annotation.annotation_index, annotation.output_index) == (0, 1)
    assert annotation.annotation is not None
    assert annotation.annotation.type == "url_citation"

    call_added = next(e for e in events if e.type == ADDED and e.output_index == 2)
    assert isinstance(call_added.item, ResponseFunctionToolCall)
    assert (call_added.item.arguments, call_added.item.status) == ("", "in_progress")
    arg_deltas = [
        e
        for e in events
        if e.type == "response.function_call_arguments.delta" and e.output_index == 2
    ]
    assert "".join(delta.delta for delta in arg_deltas) == '{"city": "Paris"}'
    assert {delta.item_id for delta in arg_deltas} == {"fc_1_2"}
    args_done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert args_done.arguments == '{"city": "Paris"}'
    # Not a field of openai 3.52's model, but the API sends it and the SDK keeps it.
    assert getattr(args_done, "name", None) == "lookup"

    search, message, first, second = final_output(events)
    assert isinstance(search, ResponseFunctionWebSearch)
    assert (search.id, search.status) == ("ws_1", "completed")
    assert isinstance(message, ResponseOutputMessage)
    [text] = message.content
    assert isinstance(text, ResponseOutputText)
    assert [a.type for a in text.annotations] == ["url_citation"]
    assert isinstance(first, ResponseFunctionToolCall)
    assert (first.id, first.call_id, first.name) == ("fc_1_2", "call_a", "lookup")
    assert (first.arguments, first.status) == ('{"city": "Paris"}', "completed")
    assert isinstance(second, ResponseFunctionToolCall)
    assert (second.id, second.call_id, second.name) == ("fc_1_3", "call_1", "notify")


HOSTED: list[tuple[dict[str, Any], type[Any]]] = [
    (WEB_SEARCH, ResponseFunctionWebSearch),
    (
        {
            "type": "mcp_call",
            "id": "mcp_1",
            "server_label": "docs",
            "name": "search",
            "arguments": '{"q": "x"}',
            "output": "found",
            "status": "completed",
        },
        McpCall,
    ),
    (
        {
            "type": "code_interpreter_call",
            "id": "ci_1",
            "container_id": "cntr_1",
            "code": "print(1)",
            "outputs": [{"type": "logs", "logs": "1"}],
            "status": "completed",
        },
        ResponseCodeInterpreterToolCall,
    ),
    (
        {"type": "image_generation_call", "id": "ig_1", "result": "aGk=", "status": "completed"},
        ImageGenerationCall,
    ),
    (
        {
            "type": "file_search_call",
            "id": "fs_1",
            "queries": ["x"],
            "results": [{"file_id": "file_1", "text": "x", "score": 0.5}],
            "status": "completed",
        },
        ResponseFileSearchToolCall,
    ),
    (
        {
            "type": "shell_call",
            "id": "sh_1",
            "call_id": "call_sh",
            "action": {"commands": ["ls"]},
            "status": "completed",
        },
        ResponseFunctionShellToolCall,
    ),
    (
        {
            "type": "mcp_approval_request",
            "id": "mcpr_1",
            "server_label": "docs",
            "name": "delete",
            "arguments": "{}",
        },
        McpApprovalRequest,
    ),
    (
        {
            "type": "mcp_list_tools",
            "id": "mcpl_1",
            "server_label": "docs",
            "tools": [{"name": "search", "input_schema": {"type": "object"}}],
        },
        McpListTools,
    ),
]


@pytest.mark.parametrize(("item", "model"), HOSTED, ids=[item["type"] for item, _ in HOSTED])
async def test_hosted_items_parse_as_their_types(item: dict[str, Any], model: type[Any]) -> None:
    with FakeLLM([Reply(items=[item])]) as llm:
        events = await stream(llm)

    assert types(events) == [*START, ADDED, DONE, "response.completed"]
    added, done = events[2], events[3]
    assert added.type == ADDED
    assert done.type == DONE
    assert isinstance(added.item, model)
    assert isinstance(done.item, model)
    expected_status = "in_progress" if "status" in item else None
    assert getattr(added.item, "status", None) == expected_status
    assert done.item.to_dict() == item
    [parsed] = final_output(events)
    assert isinstance(parsed, model)


async def test_fail_ends_with_response_failed() -> None:
    with FakeLLM([Reply("Half an", fail=True)]) as llm:
        events = await stream(llm)
        assert llm.streams[0].finished

    assert types(events)[-2:] == [DONE, "response.failed"]
    assert "response.completed" not in types(events)
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.status == "failed"
    assert failed.response.error is not None
    assert (failed.response.error.code, failed.response.error.message) == (
        "server_error",
        "scripted failure",
    )


async def test_cut_after_truncates_the_stream() -> None:
    with FakeLLM([Reply("Hello there", cut_after=4)]) as llm:
        events = await stream(llm)
        log = llm.streams[0]

    assert types(events) == [*START, ADDED, "response.content_part.added"]
    assert log.finished
    assert not log.cut


async def test_client_that_stops_reading_cuts_a_slow_stream() -> None:
    with FakeLLM([Reply("A slow answer, piece by piece.", delay=0.05)]) as llm:
        async with client(llm) as api:
            events = await api.responses.create(model="gpt-4.1", input="hi", stream=True)
            seen = [(await anext(events)).type for _ in range(3)]
            await events.close()
        deadline = time.monotonic() + 5
        while not llm.streams[0].cut and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        log = llm.streams[0]

    assert seen == [*START, ADDED]
    assert log.cut
    assert not log.finished


async def test_non_streaming_answers_the_final_response() -> None:
    reply = Reply("Paris.", tool_calls=[ToolCallReply("lookup", "{}", id="call_x")])
    with FakeLLM([reply]) as llm:
        async with client(llm) as api:
            response = await api.responses.create(model="gpt-4.1", input="hi")
        assert llm.streams == []

    assert (response.id, response.status, response.output_text) == ("resp_1", "completed", "Paris.")
    message, call = response.output
    assert isinstance(message, ResponseOutputMessage)
    assert isinstance(call, ResponseFunctionToolCall)
    assert call.call_id == "call_x"


async def test_error_status_answers_an_error_body() -> None:
    with FakeLLM([Reply(status=500)]) as llm, pytest.raises(openai.InternalServerError):
        async with client(llm) as api:
            await api.responses.create(model="gpt-4.1", input="hi", stream=True)


async def test_one_script_serves_both_apis_by_path() -> None:
    with FakeLLM([Reply("From chat."), Reply("From responses.")]) as llm:
        async with client(llm) as api:
            chat = await api.chat.completions.create(
                model="gpt-4.1", messages=[{"role": "user", "content": "hi"}]
            )
            response = await api.responses.create(model="gpt-4.1", input="hi")

    assert chat.choices[0].message.content == "From chat."
    assert response.output_text == "From responses."
    assert [("messages" in r, "input" in r) for r in llm.requests] == [(True, False), (False, True)]


async def test_agents_sdk_runs_a_tool_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
    from agents.tracing import get_trace_provider

    # The Agents SDK has no getter for this switch; it lives on the default provider
    # (``_manual_disabled``: None follows OPENAI_AGENTS_DISABLE_TRACING). monkeypatch
    # records both fields and puts them back after the test.
    provider = get_trace_provider()
    monkeypatch.setattr(provider, "_manual_disabled", provider._manual_disabled)  # type: ignore[attr-defined]
    monkeypatch.setattr(provider, "_disabled", provider._disabled)  # type: ignore[attr-defined]
    set_tracing_disabled(True)

    cities: list[str] = []

    @function_tool
    def lookup(city: str) -> str:
        """Look up the weather in a city."""
        cities.append(city)
        return f"{city}: sunny"

    script = [
        Reply(tool_calls=[ToolCallReply("lookup", '{"city": "Paris"}', id="call_1")]),
        Reply("It is sunny in Paris."),
    ]
    with FakeLLM(script) as llm:
        async with client(llm) as api:
            model = OpenAIResponsesModel(model="gpt-4.1", openai_client=api)
            agent = Agent(name="weather", model=model, tools=[lookup])
            result = Runner.run_streamed(agent, "q")
            kinds = [event.type async for event in result.stream_events()]
        requests = llm.requests

    assert result.final_output == "It is sunny in Paris."
    assert cities == ["Paris"]
    assert "raw_response_event" in kinds
    assert len(requests) == 2
    assert all(request["stream"] for request in requests)
    assert requests[1]["input"][-1] == {
        "type": "function_call_output",
        "call_id": "call_1",
        "output": "Paris: sunny",
    }
