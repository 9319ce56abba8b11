"""An Agents SDK agent behind ``ChatEndpoint`` on a real uvicorn server, called as
``useChat`` calls it: the history reaches the model, approvals and client-side tools
continue the same message, and forged continuations are refused with the field's path."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agents import Agent, function_tool
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call
from starlette.applications import Starlette
from starlette.routing import Route

from tests.support.agents_scenarios import TOOLS, answer_approvals
from tests.support.messages import user
from tests.support.redis_server import RedisServer
from tests.support.servers import ServedChat, serve
from tests.support.stream_rules import assert_valid_message
from uiwire.adapters.agents import (
    AgentsAdapter,
    PendingApprovals,
    RedisApprovalStore,
    client_tool,
)
from uiwire.chats import MemoryChatStore
from uiwire.server import (
    ChatEndpoint,
    ChatHooks,
    ChatResult,
    Conversations,
    Identity,
    RequestLimits,
)


@function_tool(needs_approval=True)
async def delete_repo(name: str) -> str:
    """Delete a repository."""
    TOOLS.add("delete_repo", repo=name)
    return f"deleted {name}"


get_location = client_tool("get_location", "The user's location, from their browser.")


def items_of(call: ModelCall) -> list[Any]:
    return [] if isinstance(call.input, str) else list(call.input)


def scripted(answer: Any) -> ScriptedModel:
    """A model answering every call with ``answer(call)``."""
    model = ScriptedModel()

    def respond(call: ModelCall) -> ModelStep:
        model.enqueue(ModelStep.respond(respond))
        return ModelStep(output=answer(call))

    model.enqueue(ModelStep.respond(respond))
    return model


class Served(ServedChat[ChatResult]):
    """The endpoint, with the scripted model behind it."""

    def __init__(self, base: str, model: ScriptedModel, saved: list[ChatResult]) -> None:
        super().__init__(base, saved, chat_id="c1")
        self.model = model


@pytest.fixture
async def served(request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    TOOLS.clear()
    model = scripted(request.param)
    agent = Agent(name="Assistant", model=model, tools=[delete_repo, get_location])
    saved: list[ChatResult] = []
    chat = ChatEndpoint(AgentsAdapter(agent), hooks=ChatHooks(on_finish=saved.append))
    app = Starlette(routes=[Route("/api/chat", chat, methods=["POST"])])
    async with serve(app) as base, Served(base, model, saved) as served:
        yield served


def echo(call: ModelCall) -> list[Any]:
    said = [i for i in items_of(call) if i.get("role") in ("user", "assistant")]
    return [assistant_message(f"I have seen {len(said)} messages")]


@pytest.mark.parametrize("served", [echo], indirect=True)
async def test_the_conversation_reaches_the_model(served: Served) -> None:
    first = assert_valid_message((await served.post(user("hi", id="u1"))).content, "v6")
    assert first["parts"][-1]["text"] == "I have seen 1 messages"
    await served.until_saved(1)
    history = [*served.saved[-1].messages, user("and now?", id="u2")]
    second = assert_valid_message((await served.post(*history)).content, "v6")
    assert second["parts"][-1]["text"] == "I have seen 3 messages"
    sent = items_of(served.model.calls[-1])
    assert (sent[0]["role"], sent[-1]["role"]) == ("user", "user")
    assert "I have seen 1 messages" in str(sent[1])


def deleter(call: ModelCall) -> list[Any]:
    outputs = [i for i in items_of(call) if i.get("type") == "function_call_output"]
    if not outputs:
        return [function_call("delete_repo", {"name": "prod"}, call_id="call_del")]
    return [assistant_message(f"result: {outputs[-1]['output']}")]


@pytest.mark.parametrize("served", [deleter], indirect=True)
async def test_an_approval_continues_the_same_message_once(served: Served) -> None:
    question = user("delete prod", id="u1")
    paused = assert_valid_message((await served.post(question)).content, "v6")
    assert paused["parts"][-1]["state"] == "approval-requested"
    answer_approvals(paused, approved=True)
    forged = copy.deepcopy(paused)
    forged["parts"][-1]["approval"]["id"] = "aprv_" + "0" * 32 + "_0"
    refused = await served.post(question, forged, messageId=paused["id"])
    assert refused.status_code == 404
    where = f"messages[1].parts[{len(paused['parts']) - 1}].approval.id"
    assert refused.json()["error"]["fields"][0]["field"] == where
    assert TOOLS.names() == []

    response = await served.post(question, paused, messageId=paused["id"])
    done = assert_valid_message(response.content, "v6", message=paused)
    assert done["id"] == paused["id"]
    assert done["parts"][-1]["text"] == "result: deleted prod"
    assert TOOLS.names() == ["delete_repo"]
    replay = await served.post(question, paused, messageId=paused["id"])
    assert replay.status_code == 404
    assert TOOLS.names() == ["delete_repo"]


def locator(call: ModelCall) -> list[Any]:
    outputs = [i for i in items_of(call) if i.get("type") == "function_call_output"]
    if not outputs:
        return [function_call("get_location", {}, call_id="call_loc")]
    return [assistant_message(f"you are in {outputs[-1]['output']}")]


@pytest.mark.parametrize("served", [locator], indirect=True)
async def test_a_client_side_tool_result_resumes_the_run(served: Served) -> None:
    question = user("where am I?", id="u1")
    paused = assert_valid_message((await served.post(question)).content, "v6")
    tool = paused["parts"][-1]
    assert (tool["type"], tool["state"]) == ("tool-get_location", "input-available")
    assert "approval" not in tool  # the browser runs it: no approval asked

    unanswered = await served.post(question, paused, messageId=paused["id"])
    assert unanswered.status_code == 422

    tool.update(state="output-available", output={"city": "Lyon"})  # addToolOutput
    response = await served.post(question, paused, messageId=paused["id"])
    done = assert_valid_message(response.content, "v6", message=paused)
    assert done["id"] == paused["id"]
    assert done["parts"][-1]["text"] == 'you are in {"city": "Lyon"}'
    tools = [p for p in done["parts"] if p.get("toolCallId") == "call_loc"]
    assert [t["output"] for t in tools] == [{"city": "Lyon"}]
    await served.until_saved(2)
    assert served.saved[-1].messages[-1] == done


@pytest.mark.parametrize("served", [locator], indirect=True)
async def test_a_client_side_tool_error_reaches_the_model(served: Served) -> None:
    question = user("where am I?", id="u1")
    paused = assert_valid_message((await served.post(question)).content, "v6")
    tool = paused["parts"][-1]
    tool.update(state="output-error", errorText="permission denied")
    response = await served.post(question, paused, messageId=paused["id"])
    done = assert_valid_message(response.content, "v6", message=paused)
    assert "permission denied" in done["parts"][-1]["text"]


@pytest.mark.parametrize("served", [echo], indirect=True)
async def test_continuing_a_message_with_nothing_paused_is_a_404(served: Served) -> None:
    stale = {
        "id": "msg_unknown",
        "role": "assistant",
        "parts": [
            {
                "type": "tool-get_location",
                "toolCallId": "call_x",
                "state": "output-available",
                "input": {},
                "output": {"city": "Oslo"},
            }
        ],
    }
    response = await served.post(user("q", id="u1"), stale, messageId="msg_unknown")
    assert response.status_code == 404
    assert response.json()["error"]["fields"][0]["field"] == "messages[1].id"
    assert served.model.calls == ()


async def test_a_run_paused_on_one_worker_is_continued_on_another(
    redis_server: RedisServer,
) -> None:
    """Two endpoints (two workers) sharing a RedisApprovalStore: the approval answered on
    the second resumes the run the first paused, exactly once."""
    TOOLS.clear()
    bases: list[str] = []
    stores = [RedisApprovalStore(redis_server.url) for _ in range(2)]
    chats = Conversations(store=MemoryChatStore())  # the workers' shared database
    identity = Identity(identify=lambda request: "alice")  # the app's sign-in
    async with contextlib.AsyncExitStack() as stack:
        for store in stores:
            agent = Agent(name="Assistant", model=scripted(deleter), tools=[delete_repo])
            adapter = AgentsAdapter(agent, approvals=store)
            chat = ChatEndpoint(adapter, conversations=chats, identity=identity)
            app = Starlette(routes=[Route("/api/chat", chat, methods=["POST"])])
            bases.append(await stack.enter_async_context(serve(app)))
            stack.push_async_callback(store.aclose)
        first = await stack.enter_async_context(Served(bases[0], ScriptedModel(), []))
        second = await stack.enter_async_context(Served(bases[1], ScriptedModel(), []))
        question = user("delete prod", id="u1")
        paused = assert_valid_message((await first.post(question)).content, "v6")
        # keyed by a digest of (owner, chat, message): no id the client sent is in it
        key = PendingApprovals.key("alice", "c1", paused["id"])
        assert redis_server.client().keys("uiwire:approval:*") == [
            f"uiwire:approval:{key}".encode()
        ]
        answer_approvals(paused, approved=True)
        response = await second.post(question, paused, messageId=paused["id"])
        done = assert_valid_message(response.content, "v6", message=paused)
        assert done["parts"][-1]["text"] == "result: deleted prod"
        assert TOOLS.names() == ["delete_repo"]
        again = await first.post(question, paused, messageId=paused["id"])
        assert again.status_code == 404  # taken once, whichever worker asks
    with pytest.raises(ValueError, match="prefix"):
        RedisApprovalStore(redis_server.url, prefix="no spaces")
    with pytest.raises(TypeError, match="redis"):
        RedisApprovalStore(3)  # type: ignore[arg-type]


# --- URL schemes: the endpoint's choice, applied once by the parser ----------------------

HTTP_IMAGE = "http://images.example/cat.png"


@pytest.mark.parametrize("url_schemes", [("data", "https", "http"), ("data", "https")])
async def test_an_http_image_is_answered_when_the_endpoint_allows_http(
    url_schemes: tuple[str, ...],
) -> None:
    """Allowed: a streamed answer, the image handed to the model as it is. Not allowed:
    a 422 naming the field, and the model is never called (it used to be a 500: the
    parser took the URL, then the history converter refused it)."""
    model = scripted(lambda call: [assistant_message("A cat.")])
    chat = ChatEndpoint(
        AgentsAdapter(Agent(name="Eyes", model=model)),
        limits=RequestLimits(url_schemes=url_schemes),
    )
    question = {
        "id": "u1",
        "role": "user",
        "parts": [
            {"type": "text", "text": "What is this?"},
            {"type": "file", "mediaType": "image/png", "url": HTTP_IMAGE},
        ],
    }
    app = Starlette(routes=[Route("/api/chat", chat, methods=["POST"])])
    async with serve(app) as base, Served(base, model, []) as served:
        response = await served.post(question)
    if "http" not in url_schemes:
        assert response.status_code == 422
        assert response.json()["error"]["fields"] == [
            {
                "field": "messages[0].parts[1].url",
                "message": "URL scheme 'http' is not allowed (allowed: data, https)",
                "type": "url_scheme",
            }
        ]
        assert model.calls == ()
        return
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    answer = assert_valid_message(response.content, "v6")
    assert answer["parts"][-1]["text"] == "A cat."
    (call,) = model.calls
    assert items_of(call) == [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": HTTP_IMAGE, "detail": "auto"},
            ],
        }
    ]
