"""Random but legal intent sequences for a StreamMachine.

One driver serves two choosers: hypothesis's ``data.draw`` in the stateful test, and a
seeded ``random.Random`` in the JS conformance corpus. Each step picks one intent whose
preconditions hold (asked of the machine itself), so every emitted stream should be
valid: that is what the tests then check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from uiwire.protocol.machine import Chunk, StreamMachine
from uiwire.protocol.targets import FINISH_REASONS

T = TypeVar("T")
Choose = Callable[[Sequence[Any]], Any]

TEXT_SAMPLES = [
    "Hello",
    " world",
    "",
    "line\nbreak",
    'quote " and \\ backslash',
    "data: [DONE]\n\n",
    "\r\n\r\nevent: x\n",
    "ünïcödé ✓ 🎉",
    "</script><script>alert(1)</script>",
    "\u2028\u2029",
    "{",
    "tab\there",
]

TOOL_NAMES = ["weather", "search", "calculator", "get-time"]
PAYLOADS: list[Any] = [
    None,
    {"city": "Paris"},
    [1, 2.5, "three", None, True],
    "plain string",
    42,
    {"nested": {"deep": [{"a": 1}, {"b": None}]}},
    {"emoji": "🎉", "quote": '"'},
]
PROVIDER_METADATA = [None, {"openai": {"itemId": "msg_1"}}, {"anthropic": {"signature": "sig"}}]


class IntentDriver:
    """Applies random legal intents to ``machine`` and collects the chunks."""

    def __init__(self, machine: StreamMachine, choose: Choose) -> None:
        self.machine = machine
        self.choose = choose
        self.chunks: list[Chunk] = []
        self.target = machine.target
        self._tool_ids: list[str] = []
        self._approvals: dict[str, str] = {}  # approval id -> tool call id
        self._data_ids: list[str] = []
        self._counter = 0

    # --- helpers -----------------------------------------------------------------

    def _new(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def _calls_in(self, *states: str) -> list[str]:
        return [c for c in self._tool_ids if self.machine.tool_call_state(c) in states]

    def _emit(self, chunks: list[Chunk]) -> None:
        self.chunks.extend(chunks)

    def _pm(self) -> Any:
        return self.choose(PROVIDER_METADATA)

    # --- the actions ---------------------------------------------------------------

    def actions(self) -> list[tuple[str, Callable[[], None]]]:
        m = self.machine
        v6 = self.target != "v5"
        v7 = self.target == "v7"
        acts: list[tuple[str, Callable[[], None]]] = [
            ("text", lambda: self._emit(m.text_delta(self.choose(TEXT_SAMPLES), key=self.choose([None, None, "a", "b"])))),
            ("reasoning", lambda: self._emit(m.reasoning_delta(self.choose(TEXT_SAMPLES), key=self.choose([None, "x"])))),
            ("text-end", lambda: self._emit(m.text_end(key=self.choose([None, "a", "b"])))),
            ("reasoning-end", lambda: self._emit(m.reasoning_end(key=self.choose([None, "x"])))),
            ("finish-step", lambda: self._emit(m.finish_step())),
            ("tool-input-start", self._tool_input_start),
            ("tool-input-available (new)", self._tool_input_available_new),
            ("tool-input-error (new)", self._tool_input_error_new),
            ("source-url", lambda: self._emit(m.source_url(self._new("src"), "https://example.com/a?b=1", title=self.choose([None, "Example"]), provider_metadata=self._pm()))),
            ("source-document", lambda: self._emit(m.source_document(self._new("doc"), "application/pdf", "Report", filename=self.choose([None, "r.pdf"])))),
            ("file", lambda: self._emit(m.file("data:text/plain;base64,aGk=", "text/plain", provider_metadata=self._pm()))),
            ("data", self._data),
            ("message-metadata", lambda: self._emit(m.message_metadata(self.choose([{"a": 1}, {"usage": {"tokens": 3}}, {"a": {"b": 2}}])))),
        ]  # fmt: skip
        if m.started is False:
            acts.append(
                ("start", lambda: self._emit(m.start(metadata=self.choose([None, {"model": "m"}]))))
            )
        if v7:
            acts += [
                ("custom", lambda: self._emit(m.custom("openai.compaction", provider_metadata=self._pm()))),
                ("reasoning-file", lambda: self._emit(m.reasoning_file("data:image/png;base64,AA==", "image/png"))),
                ("text-end+citations", self._text_end_citations),
            ]  # fmt: skip
            if m.in_step:
                acts.append(("reset-step", lambda: self._emit(m.reset_step())))
            else:  # between steps only, as streamText sends it
                acts.append(("steering-message", lambda: self._emit(m.steering_message(self._new("steer"), [{"type": "text", "text": "also check Rome"}]))))  # fmt: skip
        streaming = self._calls_in("input-streaming")
        if streaming:
            acts += [
                ("tool-input-delta", lambda: self._emit(m.tool_input_delta(self.choose(streaming), self.choose(['{"city": ', '"Paris"', "}", "x", "\n"])))),
                ("tool-input-available", lambda: self._emit(m.tool_input_available(self.choose(streaming), self.choose(PAYLOADS)))),
                ("tool-input-error", lambda: self._emit(m.tool_input_error(self.choose(streaming), "{bad json", "Invalid JSON input."))),
            ]  # fmt: skip
        outputtable = self._calls_in(
            "input-available", "approval-responded (approved)", "output-available (preliminary)"
        )
        if outputtable:
            acts += [
                ("tool-output-available", lambda: self._emit(m.tool_output_available(self.choose(outputtable), self.choose(PAYLOADS), preliminary=self.choose([None, None, True])))),
                ("tool-output-error", lambda: self._emit(m.tool_output_error(self.choose(outputtable), "The tool failed."))),
            ]  # fmt: skip
        if v6:
            available = self._calls_in("input-available")
            if available:
                acts.append(("tool-approval-request", lambda: self._approval_request(available)))
            deniable = self._calls_in("approval-requested", "approval-responded (denied)")
            if deniable:
                acts.append(
                    (
                        "tool-output-denied",
                        lambda: self._emit(m.tool_output_denied(self.choose(deniable))),
                    )
                )
        if v7:
            requested = self._calls_in("approval-requested")
            if requested:
                acts.append(("tool-approval-response", lambda: self._approval_response(requested)))
        return acts

    def ending(self) -> list[tuple[str, Callable[[], None]]]:
        m = self.machine
        reasons = [None, *sorted(FINISH_REASONS[self.target])]
        acts: list[tuple[str, Callable[[], None]]] = [
            ("finish", lambda: self._emit(m.finish(self.choose(reasons), metadata=self.choose([None, {"done": True}])))),
            ("error", lambda: self._emit(m.error("An error occurred."))),
        ]  # fmt: skip
        acts.append(
            (
                "abort",
                lambda: self._emit(
                    m.abort(self.choose([None, "stopped"]) if self.target != "v5" else None)
                ),
            )
        )
        return acts

    def step(self) -> str:
        name, action = self.choose(self.actions())
        action()
        return name

    def end(self) -> str:
        name, action = self.choose(self.ending())
        action()
        return name

    # --- compound actions ---------------------------------------------------------------

    def _tool_extras(self) -> dict[str, Any]:
        extras: dict[str, Any] = {"dynamic": self.choose([None, True, False])}
        if self.target != "v5":
            extras["title"] = self.choose([None, "Weather lookup"])
            extras["tool_metadata"] = self.choose([None, {"source": "mcp"}])
        return extras

    def _tool_input_start(self) -> None:
        call_id = self._new("call_")
        extras = self._tool_extras()
        if self.target != "v5":
            extras["provider_metadata"] = self._pm()
            extras["input_encoding"] = self.choose([None, "json", "text"])
        self._emit(self.machine.tool_input_start(call_id, self.choose(TOOL_NAMES), **extras))
        self._tool_ids.append(call_id)

    def _tool_input_available_new(self) -> None:
        call_id = self._new("call_")
        self._emit(
            self.machine.tool_input_available(
                call_id,
                self.choose(PAYLOADS),
                tool_name=self.choose(TOOL_NAMES),
                provider_executed=self.choose([None, True]),
                provider_metadata=self._pm(),
                **self._tool_extras(),
            )
        )
        self._tool_ids.append(call_id)

    def _tool_input_error_new(self) -> None:
        call_id = self._new("call_")
        self._emit(
            self.machine.tool_input_error(
                call_id,
                "not json",
                "Invalid input.",
                tool_name=self.choose(TOOL_NAMES),
                **self._tool_extras(),
            )
        )
        self._tool_ids.append(call_id)

    def _approval_request(self, available: list[str]) -> None:
        approval_id = self._new("approval_")
        extras: dict[str, Any] = {"signature": self.choose([None, "sig"])}
        if self.target == "v7":
            extras["reason"] = self.choose([None, "Spends money"])
            extras["is_automatic"] = self.choose([None, True])
        call_id = self.choose(available)
        self._emit(self.machine.tool_approval_request(call_id, approval_id, **extras))
        self._approvals[approval_id] = call_id

    def _approval_response(self, requested: list[str]) -> None:
        call_id = self.choose(requested)
        approval_id = next(a for a, c in self._approvals.items() if c == call_id)
        approved = self.choose([True, False])
        reason = self.choose([None, "policy"])
        self._emit(self.machine.tool_approval_response(approval_id, approved, reason=reason))

    def _data(self) -> None:
        if self._data_ids and self.choose([True, False]):
            data_id = self.choose(self._data_ids)
        else:
            data_id = self.choose([None, self._new("d")])
            if data_id is not None:
                self._data_ids.append(data_id)
        transient = self.choose([None, None, True])
        self._emit(
            self.machine.data(
                self.choose(["status", "weather"]),
                self.choose(PAYLOADS),
                id=data_id,
                transient=transient,
            )
        )

    def _text_end_citations(self) -> None:
        citation = {
            "source": {
                "type": "source",
                "sourceType": "url",
                "id": "s1",
                "url": "https://example.com",
            },
            "startIndex": 0,
            "endIndex": 3,
        }
        self._emit(self.machine.text_end(key=self.choose([None, "a"]), citations=[citation]))


def drive(machine: StreamMachine, choose: Choose, steps: int) -> IntentDriver:
    """Run ``steps`` random intents, then end the stream."""
    driver = IntentDriver(machine, choose)
    for _ in range(steps):
        driver.step()
    driver.end()
    return driver
