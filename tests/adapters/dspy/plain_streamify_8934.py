"""The #8934 control: plain ``dspy.streamify`` under the conditions of test_no_deadlock.

Run as ``python -m tests.adapters.dspy.plain_streamify_8934``. It exits 0 if the run
completes, or 17 (after dumping every stack) once the event loop has been stuck for a
second. ``test_no_deadlock`` expects 17: while DSPy still has the bug, the scenario
there really is the one that hangs servers.
"""

from __future__ import annotations

import asyncio
import os
import sys

from tests.adapters.dspy.test_no_deadlock import CONSUMER_DELAY_8934, turns
from tests.support.dspy_scenarios import lm, slow_search
from tests.support.fake_llm import FakeLLM
from tests.support.loop_watchdog import loop_watchdog

import dspy  # isort: skip  (after the environment set by the imports above)
from dspy.streaming import StreamListener  # isort: skip

STALLED = 17


def stalled() -> None:
    sys.stderr.flush()
    os._exit(STALLED)


async def main() -> int:
    program = dspy.ReAct("question -> answer", tools=[slow_search], max_iters=5)
    listeners = [
        StreamListener(field, predict=program.react, predict_name="react", allow_reuse=True)
        for field in ("next_thought", "next_tool_name", "next_tool_args")
    ]
    with FakeLLM(turns("slow_search")) as llm:
        async with loop_watchdog(limit=1.0, on_stall=stalled):
            with dspy.context(lm=lm(llm.base_url)):
                stream = dspy.streamify(program, stream_listeners=listeners, is_async_program=True)
                async for _ in stream(question="Compare them."):
                    await asyncio.sleep(CONSUMER_DELAY_8934)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
