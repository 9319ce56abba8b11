"""A structured output (JSON the model writes for a typed result) as a ``data-output`` part.

When a framework asks the model for a typed result (an Agents SDK ``output_type``, a
DSPy output field that is not ``str``), the model writes JSON. Shown as text, the user
would read raw JSON growing token by token. ``StructuredOutput`` sends it as data
instead: one ``data-output`` part whose ``data`` is replaced in place on the client
(same type, same ``id``) as the JSON grows, then a last time with the framework's own
validated value::

    {"type": "data-output", "id": "output_...", "data": {
        "name": "WeatherReport",      # the output type (Agents) or field (DSPy)
        "state": "streaming",         # then "done"
        "value": {"city": "Par"}}}    # the object so far

* ``state: "streaming"``: ``value`` is the JSON text so far parsed as the client's
  ``parsePartialJson`` parses it (``fixJson`` closes what is open; the same port the
  client's tool input uses, per target); null until the text parses at all. The
  first write sends the part, so it takes its place in the message then; after that a
  chunk is sent only when the value changed, not one per token.
* ``state: "done"``: the output is complete. ``value`` is the framework's validated
  value when it returned one (``finish(value)``: pydantic's JSON form of it, by alias,
  the keys the model wrote), else the whole text parsed (``finish()``).
* The part sits in the model call's step (a step is opened for it if none is), where
  history converters find it among the call's text and tool calls.
* ``text`` (only then): the model's complete text is not JSON (the framework rejected
  it); ``value`` is null and ``text`` what the model wrote, so nothing it said is lost.
* ``wrapper`` (only when set): the model wrote ``{wrapper: value}`` and the framework
  unwrapped it (the Agents SDK wraps output types that are not objects in
  ``{"response": ...}``); ``value`` is unwrapped. A history converter gives the model
  back ``{wrapper: value}``, the JSON it wrote.
"""

from __future__ import annotations

import contextlib
from typing import Any, Final, Literal

import pydantic_core

from uiwire._errors import ProtocolError
from uiwire._ids import new_id
from uiwire.protocol._partial_json import PartialJsonScanner
from uiwire.protocol.targets import DEFAULT_TARGET, TARGETS
from uiwire.stream.message_writer import MessageWriter

__all__ = ["OUTPUT_PART", "OutputState", "StructuredOutput"]

OUTPUT_PART: Final = "output"
"""Structured outputs are ``data-output`` parts: ``{"name", "state", "value"}``."""

OutputState = Literal["streaming", "done"]

_NOTHING: Final = object()


class StructuredOutput:
    """One structured output of one message: ``write`` its JSON text as it arrives, then
    ``finish`` it (with the validated value, if the framework has one).

    ``name`` says which output it is (the output type's name, the field's name);
    ``wrapper`` is the key the model's JSON wraps the value in, if any. The part's id is
    fresh unless ``part_id`` is given.
    """

    __slots__ = (
        "_done",
        "_id",
        "_name",
        "_opened",
        "_out",
        "_scanner",
        "_sent",
        "_wrapper",
    )

    def __init__(
        self,
        out: MessageWriter,
        name: str,
        *,
        wrapper: str | None = None,
        part_id: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"name must be a non-empty string; got {name!r}")
        self._out = out
        self._name = name
        self._wrapper = wrapper
        self._id = new_id("output") if part_id is None else part_id
        target = getattr(out, "target", DEFAULT_TARGET)
        self._scanner = PartialJsonScanner(target=target if target in TARGETS else DEFAULT_TARGET)
        self._sent: object = _NOTHING
        self._done = False
        self._opened = False

    @property
    def id(self) -> str:
        return self._id

    @property
    def name(self) -> str:
        return self._name

    @property
    def text(self) -> str:
        """The JSON text written so far."""
        return self._scanner.text

    @property
    def done(self) -> bool:
        return self._done

    async def write(self, delta: str) -> None:
        """Append ``delta`` to the JSON text; send the part if the parsed value changed."""
        if self._done:
            raise RuntimeError(f"structured output {self._name!r} is already done")
        if not delta:
            return
        self._scanner.feed(delta)
        value = self._parsed()
        if value is _NOTHING and not self._opened:
            value = None  # the part takes its place in the message now, empty
        if value is _NOTHING or _same(value, self._sent):
            return
        self._sent = value
        await self._send("streaming", value)

    async def finish(self, value: Any = _NOTHING) -> None:
        """The output is complete: ``value`` is the framework's validated value (any
        pydantic-serializable object); without it, the whole text parsed (or, when the
        whole text is not JSON, null and the text)."""
        if self._done:
            return
        self._done = True
        if value is not _NOTHING:
            plain = pydantic_core.to_jsonable_python(value, by_alias=True, fallback=str)
            await self._send("done", plain)
            return
        parsed = self._parsed()
        if parsed is _NOTHING:
            await self._send("done", None, text=self._scanner.text)  # not JSON: what it wrote
        else:
            await self._send("done", parsed)

    def _parsed(self) -> Any:
        value, state = self._scanner.parsed()
        if state in ("failed-parse", "undefined-input"):
            return _NOTHING
        if self._wrapper is None:
            return value
        if isinstance(value, dict) and self._wrapper in value:
            return value[self._wrapper]  # pyright: ignore[reportUnknownVariableType]
        return _NOTHING

    async def _send(self, state: OutputState, value: Any, *, text: str | None = None) -> None:
        if not self._opened:
            self._opened = True
            await self._in_step()
        data: dict[str, Any] = {"name": self._name, "state": state, "value": value}
        if self._wrapper is not None:
            data["wrapper"] = self._wrapper
        if text is not None:
            data["text"] = text
        await self._out.write_data(OUTPUT_PART, data, id=self._id)

    async def _in_step(self) -> None:
        """Open a step if none is: the output is what the model wrote in its call, and
        belongs to that call's step, as its text would (data parts need no step, so
        none opens by itself). Already in one, the machine refuses and nothing is sent."""
        with contextlib.suppress(ProtocolError):
            await self._out.write({"type": "start-step"})


def _same(value: Any, sent: object) -> bool:
    """Equal as JSON: ``1`` and ``True`` differ here, unlike for ``==``."""
    if sent is _NOTHING:
        return False
    return type(value) is type(sent) and value == sent
