"""Every way a DSPy run ends leaves nothing behind: no task of DSPy's still running, no
exception nobody retrieves, no generator closed later in another task.

DSPy's ``streamify`` runs the program in an anyio task group inside an async generator;
that generator must end in the task that read it, by a cancellation raised where it
waits. These are the ends the disconnect fuzzer (``tests/reliability/
test_disconnects.py``) hit at random: the client leaving while DSPy is between two
steps, a write failing between two items. Each is made here on purpose.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import dspy
import pytest

from tests.support.context_scenarios import consume
from tests.support.dspy_scenarios import lm
from tests.support.fake_llm import FakeLLM, Reply, chat
from tests.support.stream_rules import assert_valid_body
from tests.support.tasks import collect_garbage, loop_errors, uiwire_tasks_left
from uiwire.adapters.dspy import DSPyAdapter
from uiwire.stream import StreamContext


@pytest.fixture(autouse=True)
def _quiet_expected_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="uiwire")


def described(errors: list[dict[str, object]]) -> list[str]:
    return [f"{e.get('message')}: {e.get('exception')!r}" for e in errors]


LEAVING: list[StreamContext[Any]] = []
"""The context whose client leaves while ``leave_while_running`` runs."""


async def leave_while_running(city: str) -> str:
    """Get the current weather in a city."""
    LEAVING[0].disconnect()  # the client hangs up while the tool runs
    return f"Sunny in {city}"


@pytest.mark.timeout(60)
async def test_a_client_leaving_between_two_steps_cancels_the_work_quietly() -> None:
    # The fuzzer's seed 1605877191: the client left while an async tool ran; ReAct's next
    # step met the bridge's refusal (RunCancelled) before the task's own cancellation
    # arrived, DSPy's task group ended the run with it, and the work task died of it:
    # "Task exception was never retrieved ... RunCancelled".
    program = dspy.ReAct("question -> answer", tools=[leave_while_running], max_iters=3)
    turn = chat(
        next_thought="Look it up.",
        next_tool_name="leave_while_running",
        next_tool_args={"city": "Paris"},
    )
    with FakeLLM([Reply(turn)]) as llm:
        adapter = DSPyAdapter(program)
        assert adapter.async_program
        ctx: StreamContext[Any] = StreamContext(collect=True)
        LEAVING[:] = [ctx]
        with loop_errors() as errors:
            with dspy.context(lm=lm(llm.base_url)):
                ended = await ctx.run_and_wait(lambda ctx: adapter.stream_into(ctx, question="?"))
            await ctx.wait_closed()
            await collect_garbage()
    assert ended == "abort"
    assert ctx.record is not None
    assert ctx.record.exception is None, repr(ctx.record.exception)
    assert described(errors) == []
    assert await uiwire_tasks_left() == []


class FailingWrites(StreamContext[Any]):
    """A context whose second write fails (a bug in a write, a closed stream)."""

    writes = 0

    async def write_text(self, text: str, *, key: Any = None) -> None:
        self.writes += 1
        if self.writes == 2:
            raise RuntimeError("the write failed")
        await super().write_text(text, key=key)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("async_program", [True, False])
async def test_a_failing_write_ends_dspys_task_in_the_pump(async_program: bool) -> None:
    reply = Reply(chat(answer="A long answer that streams in many small pieces."), delay=0.01)
    with FakeLLM([reply]) as llm:
        adapter = DSPyAdapter(dspy.Predict("question -> answer"), async_program=async_program)
        ctx = FailingWrites(collect=True)
        with loop_errors() as errors:
            with dspy.context(lm=lm(llm.base_url)):
                ctx.run(lambda ctx: adapter.stream_into(ctx, question="?"))
                body = await consume(ctx)
            await ctx.wait_closed()
            await collect_garbage()
    chunks = assert_valid_body(body)
    assert chunks[-1]["type"] == "error"
    assert described(errors) == []
    assert await uiwire_tasks_left() == []
    assert all(stream.ended_at is not None for stream in llm.streams)


class ReturnsList(dspy.Module):
    """Returns a list, as ``dspy.Parallel`` does (upstream tests/predict/test_parallel.py:
    a module answering several questions returns their Predictions in a list)."""

    def __init__(self) -> None:
        super().__init__()
        self.respond = dspy.Predict("question -> answer")

    def forward(self, question: str) -> list[Any]:
        return [self.respond(question=question), self.respond(question=question + " again")]


class ReturnsDict(dspy.Module):
    def __init__(self) -> None:
        super().__init__()
        self.respond = dspy.Predict("question -> answer")

    def forward(self, question: str) -> dict[str, str]:
        return {"answer": self.respond(question=question).answer}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("program", [ReturnsDict, ReturnsList])
async def test_a_program_returning_a_dict_leaves_no_task_behind(program: type[Any]) -> None:
    # issue 22 item 11: the adapter stopped reading at the result, and DSPy's generator
    # was closed by the garbage collector in another task, on every request
    replies = [Reply(chat(answer="Paris is the capital.")), Reply(chat(answer="Still Paris."))]
    results: list[Any] = []
    with FakeLLM(replies) as llm:
        adapter = DSPyAdapter(program())

        async def work(ctx: StreamContext[Any]) -> None:
            results.append(await adapter.stream_into(ctx, question="Capital of France?"))

        ctx: StreamContext[Any] = StreamContext(collect=True)
        with loop_errors() as errors:
            with dspy.context(lm=lm(llm.base_url)):
                ctx.run(work)
                body = await consume(ctx)
            await ctx.wait_closed()
            await collect_garbage()
    assert assert_valid_body(body)[-1]["type"] == "finish"
    assert described(errors) == []
    assert await uiwire_tasks_left() == []
    (result,) = results
    assert isinstance(result, dict if program is ReturnsDict else list)


CLEANUP: list[str] = []
"""What ``hold_then_clean_up`` got to do after its cancellation."""


async def hold_then_clean_up(city: str) -> str:
    """Get the current weather in a city."""
    try:
        LEAVING[0].disconnect()  # the client hangs up while the tool waits
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        CLEANUP.append("cancelled")
        await asyncio.sleep(0.01)  # awaited cleanup, as closing a connection is
        CLEANUP.append("cleaned up")
        raise
    return f"Sunny in {city}"


@pytest.mark.timeout(60)
async def test_an_async_program_is_cancelled_once_so_its_cleanup_can_await() -> None:
    # The fuzzer's "unclosed StreamWriter": DSPy's HTTP client closes a connection that
    # was being opened when the cancellation came after an await; cancelling DSPy's task
    # group cancelled the program again at every await, so that close never ran.
    program = dspy.ReAct("question -> answer", tools=[hold_then_clean_up], max_iters=3)
    turn = chat(
        next_thought="Look it up.",
        next_tool_name="hold_then_clean_up",
        next_tool_args={"city": "Paris"},
    )
    CLEANUP.clear()
    with FakeLLM([Reply(turn)]) as llm:
        adapter = DSPyAdapter(program)
        assert adapter.async_program
        ctx: StreamContext[Any] = StreamContext(collect=True)
        LEAVING[:] = [ctx]
        with loop_errors() as errors:
            with dspy.context(lm=lm(llm.base_url)):
                ended = await ctx.run_and_wait(lambda ctx: adapter.stream_into(ctx, question="?"))
            await ctx.wait_closed()
            await collect_garbage()
    assert ended == "abort"
    assert CLEANUP == ["cancelled", "cleaned up"]
    assert described(errors) == []
    assert await uiwire_tasks_left() == []
