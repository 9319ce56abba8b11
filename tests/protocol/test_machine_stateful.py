"""Random intent sequences through the machine: every stream must satisfy the client.

Each step is checked as it happens (schema + target + the client's ordering rules via
the Python port), misuse must raise without changing anything, and the finished body
must pass ``validate_stream`` and uiwire's own lifecycle rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.support.intent_driver import IntentDriver
from tests.support.stream_rules import check_lifecycle
from uiwire.protocol import (
    DONE_FRAME,
    ProtocolError,
    StreamMachine,
    Target,
    UIMessageAssembler,
    check_chunk_target,
    encode_chunks,
    parse_chunk,
    validate_stream,
)

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)


def _chooser(data: st.DataObject) -> Callable[[Sequence[Any]], Any]:
    return lambda options: data.draw(st.sampled_from(list(options)))


class MachineRun(RuleBasedStateMachine):
    target: ClassVar[Target] = "v6"

    def __init__(self) -> None:
        super().__init__()
        self.machine = StreamMachine(target=self.target)
        self.assembler = UIMessageAssembler(target=self.target)
        self.driver: IntentDriver | None = None
        self.checked = 0

    @initialize(data=st.data())
    def setup(self, data: st.DataObject) -> None:
        self.driver = IntentDriver(self.machine, _chooser(data))

    def _driver(self, data: st.DataObject) -> IntentDriver:
        assert self.driver is not None
        self.driver.choose = _chooser(data)
        return self.driver

    @rule(data=st.data())
    def intent(self, data: st.DataObject) -> None:
        if self.machine.ended is None:
            self._driver(data).step()

    @rule(data=TEXT, key=st.sampled_from([None, "k1", ("pred", "answer")]))
    def free_text(self, data: str, key: Any) -> None:
        if self.machine.ended is None:
            assert self.driver is not None
            self.driver.chunks += self.machine.text_delta(data, key=key)

    @rule(data=st.data())
    def misuse(self, data: st.DataObject) -> None:
        """An illegal intent raises ProtocolError and changes nothing."""
        m = self.machine
        before = self._snapshot()
        attempts: list[Callable[[], object]] = [
            lambda: m.tool_output_available("never-started", 1),
            lambda: m.tool_input_delta("never-started", "{"),
            lambda: m.tool_output_error("never-started", "x"),
            lambda: m.text_delta(123),  # type: ignore[arg-type]
            lambda: m.tool_input_available("x", {}, tool_name=None),
            lambda: m.data("", 1),
            lambda: m.data("n", object()),
            lambda: m.message_metadata({"__proto__": {}}),
        ]
        if self.target != "v5":
            attempts.append(lambda: m.tool_output_denied("never-started"))
        if self.target != "v7":
            attempts.append(lambda: m.custom("a.b"))
        if m.ended is not None:
            attempts.append(lambda: m.text_delta("late"))
            attempts.append(lambda: m.finish())
        attempt = data.draw(st.sampled_from(attempts))
        with pytest.raises(ProtocolError):
            attempt()
        assert self._snapshot() == before

    @rule(data=st.data())
    def end(self, data: st.DataObject) -> None:
        if self.machine.ended is None:
            self._driver(data).end()

    @invariant()
    def every_chunk_is_accepted_as_it_is_sent(self) -> None:
        if self.driver is None:
            return
        for chunk in self.driver.chunks[self.checked :]:
            check_chunk_target(chunk, self.target)
            parse_chunk(chunk)
            self.assembler.apply(chunk)
        self.checked = len(self.driver.chunks)

    def teardown(self) -> None:
        if self.driver is None:
            return
        if self.machine.ended is None:
            self.driver.end()
        chunks = self.driver.chunks
        check_lifecycle(chunks)
        validate_stream(encode_chunks(chunks) + DONE_FRAME, target=self.target)
        with pytest.raises(ProtocolError):
            self.machine.text_delta("after the end")

    def _snapshot(self) -> tuple[Any, ...]:
        m = self.machine
        calls = (
            ()
            if self.driver is None
            else tuple(m.tool_call_state(c) for c in self.driver._tool_ids)
        )  # pyright: ignore[reportPrivateUsage]
        return (
            m.started,
            m.in_step,
            m.ended,
            m.open_text_id(None),
            m.open_text_id("k1"),
            m.open_reasoning_id(None),
            calls,
            None if self.driver is None else len(self.driver.chunks),
        )


SETTINGS = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class V5Run(MachineRun):
    target = "v5"


class V6Run(MachineRun):
    target = "v6"


class V7Run(MachineRun):
    target = "v7"


TestV5 = V5Run.TestCase
TestV5.settings = SETTINGS
TestV6 = V6Run.TestCase
TestV6.settings = SETTINGS
TestV7 = V7Run.TestCase
TestV7.settings = SETTINGS
