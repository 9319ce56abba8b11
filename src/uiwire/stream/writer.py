"""The write vocabulary of a stream, spelled once, as plain methods callable from any thread.

``SyncWriter`` holds every write once: each method turns its arguments into a step of
the lifecycle machine and hands the step to its target, a live stream
(``StreamContext``) or a message assembled in memory (``MessageBuilder``). ``ctx.sync``
is an instance for synchronous code (worker threads, DSPy callbacks, sync tools): each
call runs the machine under the stream's lock (a text delta to an open part skips the
lock: ``StreamContext._text_on_lane``), hands the frames to the loop, and returns; only
when the buffer is over its limit does it block, and then only its own thread (never
the loop's). The awaitable writes of both targets (``_write_target``) and
the ``MessageWriter`` protocol (``message_writer``) are generated from these methods.

Each call raises ``ProtocolError`` (nothing sent) when the write would break the stream,
and ``StreamClosed`` once the client has left and the work is being cancelled.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, Final

from uiwire._errors import ProtocolError, StreamClosed
from uiwire._ids import new_id
from uiwire.protocol.machine import Chunk, StreamMachine

if TYPE_CHECKING:
    from uiwire.stream._write_target import WriteTarget

__all__ = ["DEFAULT_ERROR_TEXT", "SyncWriter", "choose_error_text"]

logger = logging.getLogger("uiwire")

Step = Callable[[StreamMachine], list[Chunk]]


class _NoInput:
    def __repr__(self) -> str:
        return "NO_INPUT"


_NO_INPUT: Final = _NoInput()


class SyncWriter:
    """Every write of a ``StreamContext`` (or a ``MessageBuilder``), as plain methods."""

    __slots__ = ("_blocking", "_target")

    def __init__(self, target: WriteTarget, *, blocking: bool) -> None:
        self._target = target
        self._blocking = blocking

    def _emit(self, step: Step, exception: BaseException | None = None) -> None:
        try:
            self._target._apply(step, exception=exception)  # pyright: ignore[reportPrivateUsage]
            if self._blocking:
                self._target._wait_for_room_from_thread()  # pyright: ignore[reportPrivateUsage]
        except ReferenceError:  # the target is a weak proxy and its context is gone
            raise StreamClosed("the stream context was garbage collected") from None

    def _error(self, error: BaseException | str | None, what: str) -> str:
        if error is None:
            return DEFAULT_ERROR_TEXT
        if isinstance(error, BaseException):
            return self._target._error_text(error, what=what)  # pyright: ignore[reportPrivateUsage]
        if not isinstance(error, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ProtocolError(
                f"{what}: error must be an exception or a string; got {type(error).__name__}"
            )
        return error

    # --- text and reasoning ------------------------------------------------------------

    def write_text(self, text: str, *, key: Hashable = None) -> None:
        """Append ``text`` to the current text part, opening one if needed.

        ``key`` names a part to keep open beside others (interleaved fields); such a part
        stays open until ``end_text(key=...)``, the step or the stream ends.
        """
        target = self._target
        try:
            if target._write_text_fast(text, key):  # pyright: ignore[reportPrivateUsage]
                if self._blocking:
                    target._wait_for_room_from_thread()  # pyright: ignore[reportPrivateUsage]
                return
        except ReferenceError:  # the target is a weak proxy and its context is gone
            raise StreamClosed("the stream context was garbage collected") from None
        self._emit(lambda m: m.text_delta(text, key=key))

    def end_text(self, *, key: Hashable = None) -> None:
        """Close the text part ``key`` now (the next text opens a new part)."""
        self._emit(lambda m: m.text_end(key=key))

    def write_reasoning(self, text: str, *, key: Hashable = None) -> None:
        """Append ``text`` to the current reasoning part, opening one if needed."""
        self._emit(lambda m: m.reasoning_delta(text, key=key))

    def end_reasoning(self, *, key: Hashable = None) -> None:
        """Close the reasoning part ``key`` now."""
        self._emit(lambda m: m.reasoning_end(key=key))

    # --- tool calls ----------------------------------------------------------------------

    def begin_tool_call(
        self,
        tool_name: str,
        input: Any = _NO_INPUT,
        *,
        tool_call_id: str | None = None,
        dynamic: bool | None = None,
        title: str | None = None,
        provider_executed: bool | None = None,
        tool_metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Start a tool call and return its id.

        With ``input``, the call's input is complete at once (``tool-input-available``).
        Without it, the input streams: ``write_tool_input`` deltas, then
        ``end_tool_input``. ``dynamic=True`` marks a tool the client has no static type
        for (MCP, sub-agents). ``title`` and ``tool_metadata`` (a JSON object the client
        keeps on the part as ``toolMetadata``) need a v6 or later client.
        """
        call_id = new_id("call") if tool_call_id is None else tool_call_id
        if input is _NO_INPUT:
            self._emit(
                lambda m: m.tool_input_start(
                    call_id,
                    tool_name,
                    dynamic=dynamic,
                    title=title,
                    provider_executed=provider_executed,
                    tool_metadata=tool_metadata,
                )
            )
        else:
            self._emit(
                lambda m: m.tool_input_available(
                    call_id,
                    input,
                    tool_name=tool_name,
                    dynamic=dynamic,
                    title=title,
                    provider_executed=provider_executed,
                    tool_metadata=tool_metadata,
                )
            )
        return call_id

    def write_tool_input(self, tool_call_id: str, delta: str) -> None:
        """Append raw input text (usually JSON) to a call begun without input."""
        self._emit(lambda m: m.tool_input_delta(tool_call_id, delta))

    def end_tool_input(self, tool_call_id: str, input: Any) -> None:
        """The streamed input is complete; ``input`` is its parsed value."""
        self._emit(lambda m: m.tool_input_available(tool_call_id, input))

    def fail_tool_input(
        self, tool_call_id: str, error: BaseException | str, *, input: Any = None
    ) -> None:
        """The model's input for this call is unusable (bad JSON, failed validation).

        An exception is masked like any error; a string reaches the user verbatim.
        """
        text = self._error(error, "fail_tool_input")
        self._emit(lambda m: m.tool_input_error(tool_call_id, input, text))

    def request_tool_approval(self, tool_call_id: str, *, approval_id: str | None = None) -> str:
        """Ask the user to approve a call whose input is complete; returns the approval id.

        The stream should then finish: the client answers in its next request.
        """
        approval = new_id("approval") if approval_id is None else approval_id
        self._emit(lambda m: m.tool_approval_request(tool_call_id, approval))
        return approval

    def write_tool_progress(self, tool_call_id: str, output: Any) -> None:
        """A preliminary output (progress); each replaces the previous on the client."""
        self._emit(lambda m: m.tool_output_available(tool_call_id, output, preliminary=True))

    def complete_tool_call(self, tool_call_id: str, output: Any) -> None:
        """The tool's final output."""
        self._emit(lambda m: m.tool_output_available(tool_call_id, output))

    def fail_tool_call(self, tool_call_id: str, error: BaseException | str) -> None:
        """The tool failed (``tool-output-error`` with ``errorText``).

        An exception is logged and masked (``on_error`` may say otherwise); a string
        reaches the user verbatim.
        """
        text = self._error(error, "fail_tool_call")
        self._emit(lambda m: m.tool_output_error(tool_call_id, text))

    def deny_tool_call(self, tool_call_id: str) -> None:
        """The call was not run: the user refused its approval."""
        self._emit(lambda m: m.tool_output_denied(tool_call_id))

    # --- sources, files, data, metadata ------------------------------------------------

    def write_source(
        self, url: str, *, title: str | None = None, source_id: str | None = None
    ) -> str:
        """Cite a web page (``source-url``); returns the source id."""
        sid = new_id("src") if source_id is None else source_id
        self._emit(lambda m: m.source_url(sid, url, title=title))
        return sid

    def write_source_document(
        self,
        title: str,
        media_type: str,
        *,
        filename: str | None = None,
        source_id: str | None = None,
    ) -> str:
        """Cite a document (``source-document``); returns the source id."""
        sid = new_id("src") if source_id is None else source_id
        self._emit(lambda m: m.source_document(sid, media_type, title, filename=filename))
        return sid

    def write_file(self, file: str | bytes, media_type: str) -> None:
        """A file part: ``file`` is a URL, or bytes (sent inline as a ``data:`` URL)."""
        if isinstance(file, (bytes, bytearray, memoryview)):
            if not isinstance(media_type, str) or not media_type:  # pyright: ignore[reportUnnecessaryIsInstance]
                raise ProtocolError(
                    f"file.mediaType must be a non-empty string; got {media_type!r}"
                )
            url = f"data:{media_type};base64,{base64.b64encode(file).decode('ascii')}"
        else:
            url = file
        self._emit(lambda m: m.file(url, media_type))

    def write_data(
        self, name: str, data: Any, *, id: str | None = None, transient: bool | None = None
    ) -> None:
        """A ``data-<name>`` part. A later write with the same name and ``id`` replaces
        it in place (progress, status); ``transient=True`` reaches the client's
        ``onData`` but is not kept in the message."""
        self._emit(lambda m: m.data(name, data, id=id, transient=transient))

    def write_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Merge ``metadata`` into the message's metadata (``message-metadata``)."""
        self._emit(lambda m: m.message_metadata(metadata))

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, *, metadata: Mapping[str, Any] | None = None) -> None:
        """Send ``start`` now, with message metadata; otherwise the first write sends it."""
        self._emit(lambda m: m.start(metadata=metadata))

    def new_step(self) -> None:
        """End the current step (a model call); the next content starts a new one."""
        self._emit(lambda m: m.finish_step())

    def finish(
        self, finish_reason: str | None = None, *, metadata: Mapping[str, Any] | None = None
    ) -> None:
        """End the stream normally: open parts and the step are closed, then ``finish``."""
        self._emit(lambda m: m.finish(finish_reason, metadata=metadata))

    def abort(self, reason: str | None = None) -> None:
        """End the stream as stopped (the user pressed stop, a timeout): ``abort``."""
        self._emit(lambda m: m.abort(reason))

    def error(self, error: BaseException | str | None = None) -> None:
        """End the stream as failed: open parts are closed, then one ``error`` chunk.

        An exception is logged with its traceback and masked: the client sees
        "An error occurred." unless ``on_error`` says otherwise. A string is sent
        verbatim; None sends the default text.
        """
        text = self._error(error, "error")
        exception = error if isinstance(error, BaseException) else None
        self._emit(lambda m: m.error(text), exception)

    def write(self, chunk: Mapping[str, Any]) -> None:
        """A chunk you built (a dict or chunk model), under the same ordering rules."""
        self._emit(lambda m: m.send(chunk))


DEFAULT_ERROR_TEXT: Final = "An error occurred."
"""What the client sees for an exception unless ``on_error`` returns something else."""


def choose_error_text(
    error: BaseException, on_error: Callable[[BaseException], object] | None
) -> str:
    """The text shown for ``error``: what ``on_error`` returns, else ``DEFAULT_ERROR_TEXT``.

    A failing ``on_error``, or one returning something other than a string or None, is
    logged and falls back to the default: a mistake there never fails the stream.
    """
    if on_error is None:
        return DEFAULT_ERROR_TEXT
    try:
        chosen = on_error(error)
    except Exception:
        logger.exception("on_error raised; the client gets the default error text")
        return DEFAULT_ERROR_TEXT
    if isinstance(chosen, str):
        return chosen
    if chosen is not None:
        logger.error(
            "on_error returned %s, not a string or None; using the default text",
            type(chosen).__name__,
        )
    return DEFAULT_ERROR_TEXT
