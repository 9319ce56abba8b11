"""The README's quickstarts, exactly as written, served by uvicorn in a subprocess: the
provider is a scripted OpenAI-compatible server on loopback (``OPENAI_BASE_URL``)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.fake_llm import FakeLLM, Reply, ToolCallReply, chat
from tests.support.processes import free_port, server_process
from tests.support.stream_rules import assert_valid_message

pytestmark = pytest.mark.slow  # a uvicorn process per quickstart: 12-28 s each here

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def serve_example() -> Iterator[Any]:
    """``serve_example(module, llm)``: uvicorn serving ``examples/<module>.py``'s app,
    its OpenAI client pointed at ``llm``; the chat URL."""
    with contextlib.ExitStack() as stack:

        def start(module: str, llm: FakeLLM) -> str:
            port = free_port()
            url = f"http://127.0.0.1:{port}/api/chat"
            env = {
                "OPENAI_API_KEY": "test-key",
                "OPENAI_BASE_URL": llm.base_url,
                "OPENAI_AGENTS_DISABLE_TRACING": "1",
            }
            command = [sys.executable, "-m", "uvicorn", f"{module}:app", "--port", str(port)]
            stack.enter_context(server_process(command, ready_url=url, env=env, cwd=EXAMPLES))
            return url

        yield start


def ask(url: str, text: str) -> dict[str, Any]:
    question = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}
    body = {"id": "chat-1", "messages": [question], "trigger": "submit-message"}
    response = httpx.post(url, json=body, timeout=60)
    assert response.status_code == 200, response.text
    return assert_valid_message(response.content)


def tool_parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in message["parts"] if p["type"].startswith("tool-")]


def test_the_agents_quickstart_serves_use_chat(serve_example: Any) -> None:
    script = [
        Reply(tool_calls=[ToolCallReply("get_weather", '{"city": "Oslo"}', id="call_1")]),
        Reply(text="It is sunny in Oslo."),
    ]
    with FakeLLM(script) as llm:
        message = ask(serve_example("quickstart_agents", llm), "Weather in Oslo?")
        assert [r["input"][-1]["role"] for r in llm.requests[:1]] == ["user"]
    [tool] = tool_parts(message)
    assert (tool["type"], tool["output"]) == ("tool-get_weather", "Sunny and 21°C in Oslo")
    assert message["parts"][-1]["text"] == "It is sunny in Oslo."


def test_the_dspy_quickstart_serves_use_chat(serve_example: Any) -> None:
    def react(payload: dict[str, Any]) -> Reply:
        system, user = payload["messages"][0]["content"], payload["messages"][-1]["content"]
        if "next_thought" not in system:  # the extract step
            return Reply(chat(reasoning="Looked it up.", answer="It is sunny in Oslo."))
        if "observation_0" in user:
            return Reply(chat(next_thought="Done.", next_tool_name="finish", next_tool_args={}))
        return Reply(
            chat(
                next_thought="I need the weather.",
                next_tool_name="get_weather",
                next_tool_args={"city": "Oslo"},
            )
        )

    with FakeLLM(react) as llm:
        message = ask(serve_example("quickstart_dspy", llm), "Weather in Oslo?")
        assert len(llm.requests) == 3
    [tool] = tool_parts(message)
    assert (tool["type"], tool["output"]) == ("tool-get_weather", "Sunny and 21°C in Oslo")
    assert message["parts"][-1]["text"] == "It is sunny in Oslo."
