"""The scripted model of ``benchmarks.adapters``, served from a process of its own.

    python -m benchmarks._scripted_llm --tokens 2000 --answer-tokens 100

Starts ``tests.support.fake_llm.FakeLLM`` (chat completions for DSPy, the Responses
API for the Agents SDK), prints its base URL on one line, and serves until its stdin
closes (or it is terminated). Its CPU is its own: the benchmark measures only the
process that runs the framework and the adapter.

It answers by content, so any number of runs can reuse it:

* a question holding ``LONG_MARKER``: one text answer of ``--tokens`` deltas;
* a question holding ``TOOL_MARKER``: a tool call (``weather`` for the city Paris),
  then, once the request carries the tool's result, a text answer of
  ``--answer-tokens`` deltas. DSPy's ReAct gets its three turns (call the tool, call
  ``finish``, the extract step's reasoning and answer), the Agents SDK its two (a
  function call, then the text).

Every delta is ``PIECE`` characters and the texts are built of ``PIECE``-character
words, so a text of ``n`` tokens streams as exactly ``n`` deltas on the Responses API.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from tests.support.fake_llm import FakeLLM, Reply, ToolCallReply, chat

__all__ = [
    "FINISH_THOUGHT",
    "LONG_MARKER",
    "PIECE",
    "TOOL_ARGS",
    "TOOL_ARGUMENTS",
    "TOOL_CITY",
    "TOOL_MARKER",
    "TOOL_NAME",
    "TOOL_THOUGHT",
    "answer_text",
    "main",
    "responder",
]

LONG_MARKER = "[long]"
TOOL_MARKER = "[tool]"
PIECE = 5
"""Characters per streamed delta (DSPy's listeners need at least 3)."""
TOOL_NAME = "weather"
TOOL_CITY = "Paris"
TOOL_ARGS = {"city": TOOL_CITY}
TOOL_ARGUMENTS = json.dumps(TOOL_ARGS)
TOOL_THOUGHT = "I should look up the weather in Paris first."
FINISH_THOUGHT = "I have what I need."


def answer_text(tokens: int) -> str:
    """``tokens`` words of ``PIECE`` characters: ``"w000 w001 ..."``, one word per delta."""
    return "".join(f"w{i % 1000:03d} " for i in range(tokens))


def _text_of(content: Any) -> str:
    """A chat message's or a Responses input item's text, whatever its shape."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_text_of(part) for part in content)  # pyright: ignore[reportUnknownVariableType]
    if isinstance(content, dict):
        return _text_of(content.get("text") or content.get("content") or "")  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
    return ""


def responder(tokens: int, answer_tokens: int) -> Callable[[dict[str, Any]], Reply]:
    """The script: a reply for any request of either API, decided by its content."""
    long_text = answer_text(tokens)
    short_text = answer_text(answer_tokens)

    def chat_completions(payload: dict[str, Any]) -> Reply:
        messages: list[dict[str, Any]] = payload["messages"]
        system = " ".join(_text_of(m.get("content")) for m in messages if m["role"] == "system")
        user = _text_of(messages[-1].get("content"))
        if TOOL_MARKER in user and "next_tool_name" in system:  # ReAct's tool-picking turn
            if "observation_0" in user:  # the tool ran: finish
                done = chat(next_thought=FINISH_THOUGHT, next_tool_name="finish", next_tool_args={})
                return Reply(done, piece=PIECE)
            call = chat(
                next_thought=TOOL_THOUGHT, next_tool_name=TOOL_NAME, next_tool_args=TOOL_ARGS
            )
            return Reply(call, piece=PIECE)
        if TOOL_MARKER in user:  # ReAct's extract step
            return Reply(chat(reasoning="The tool said sunny.", answer=short_text), piece=PIECE)
        if LONG_MARKER in user:
            return Reply(chat(answer=long_text), piece=PIECE)
        raise AssertionError(f"the scripted model has no answer for: {user[:200]!r}")

    def responses(payload: dict[str, Any]) -> Reply:
        items: Any = payload.get("input")
        if isinstance(items, str):
            items = [{"type": "message", "role": "user", "content": items}]
        if any(item.get("type") == "function_call_output" for item in items):
            return Reply(short_text, piece=PIECE)
        user = " ".join(_text_of(item.get("content")) for item in items)
        if TOOL_MARKER in user:
            call = ToolCallReply(TOOL_NAME, TOOL_ARGUMENTS, id="call_weather")
            return Reply(tool_calls=[call], piece=PIECE)
        if LONG_MARKER in user:
            return Reply(long_text, piece=PIECE)
        raise AssertionError(f"the scripted model has no answer for: {user[:200]!r}")

    def respond(payload: dict[str, Any]) -> Reply:
        return chat_completions(payload) if "messages" in payload else responses(payload)

    return respond


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, required=True, help="deltas of the long answer")
    parser.add_argument("--answer-tokens", type=int, required=True, help="deltas after a tool")
    args = parser.parse_args(argv)
    with FakeLLM(responder(args.tokens, args.answer_tokens)) as llm:
        print(llm.base_url, flush=True)
        sys.stdin.read()  # until the benchmark closes our stdin (or terminates us)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
