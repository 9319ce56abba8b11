"""The conversation ``useChat`` sends, as a DSPy program's inputs.

``useChat`` POSTs the whole conversation on every turn as UI messages. A DSPy chat
program takes it the DSPy way: the question being asked in one input field, and the
turns before it in a ``dspy.History`` field, each turn a dict keyed by the
signature's field names (``{"question": ..., "answer": ...}``), which DSPy's adapters
format as earlier user and assistant messages of the prompt.

``to_dspy_inputs`` builds those inputs; ``history_fields`` reads the field names off a
program's signature, so a chat endpoint needs no configuration:

    fields = history_fields(program)  # None: the program keeps no history
    inputs = to_dspy_inputs(messages, **fields)

A turn holds text only: a History turn is one value per signature field, and the UI
message's tool calls, reasoning and files have no field to go in. What is lost is
listed in ``to_dspy_inputs``'s docstring. Nothing is fetched: image URLs go to the
model as they are.
"""

from __future__ import annotations

import logging
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypedDict, cast

import dspy as _dspy
import pydantic

from uiwire.adapters._ui_messages import (
    SEPARATOR,
    is_data_url,
    joined_text,
    output_data,
    read_messages,
    steered_segments,
)
from uiwire.protocol.ui_message import FileUIPart, UIMessage, UIMessagePart

__all__ = ["HistoryFields", "chat_fields", "history_fields", "to_dspy_inputs"]

dspy: Any = _dspy  # untyped; its values are Any here

logger = logging.getLogger("uiwire.dspy")

_REASONING_NAMES: Final = frozenset({"reasoning", "rationale", "next_thought"})
"""Output fields ``DSPyAdapter`` streams as reasoning, not as the answer's text."""


class HistoryFields(TypedDict):
    """The field names ``to_dspy_inputs`` needs, as ``history_fields`` found them."""

    question: str
    answer: str
    history: str
    files: str | None
    """A ``list[dspy.Image]`` input field, if the signature has one."""


def to_dspy_inputs(
    messages: Sequence[UIMessage | Mapping[str, Any] | pydantic.BaseModel],
    *,
    question: str = "question",
    answer: str = "answer",
    history: str = "history",
    files: str | None = None,
) -> dict[str, Any]:
    """The UI messages ``useChat`` sent, as keyword inputs for a DSPy chat program.

    Returns ``{history: dspy.History(messages=[{question: ..., answer: ...}, ...]),
    question: "<the last message's text>"}``, plus ``{files: [dspy.Image, ...]}`` when
    ``files`` names an input field for the question's images. The field names are the
    signature's; ``history_fields(program)`` finds them.

    ``messages`` are ``UIMessage`` models (``ChatTurn.messages``), or plain JSON
    objects (camelCase keys, as posted; another pydantic model is dumped by alias)
    validated as ``UIMessage`` first: a malformed one raises pydantic's
    ``ValidationError`` naming the field. The last one must be the user's: it is the
    question (``ValueError`` otherwise).

    * Each earlier user message opens a turn; its answer is the text of the assistant
      messages that follow it (their text parts, several messages in a row joined by
      a blank line), ``""`` when none followed. A structured output (``data-output``
      part, a field typed other than ``str``) goes in the turn as its value, under its
      field's name: the answer's own when it is the answer, which DSPy formats as it
      formats the field. Assistant text before any user
      message (a greeting) is a turn of its own with only an answer, which DSPy
      formats as an assistant message alone.
    * A **steering** message in an answer (``steering-message``, AI SDK 7: the user
      spoke while it ran) ends that turn there and opens one of its own, its text the
      question, the rest of the answer its answer.
    * The question's text parts are joined by a blank line.
    * ``files``: the question's ``image/*`` files, as ``dspy.Image`` of their URL.
      The URL schemes are the endpoint's choice (``RequestLimits(url_schemes=...)``,
      checked when the request was parsed). ``dspy.Image(url)`` keeps a URL as it is
      and never downloads it; the provider fetches ``http(s):`` URLs itself.

    Loss points (what the user saw that the program will not):

    * **Tool calls and their results** (ReAct's trajectory), **reasoning**,
      **sources**, **data parts** other than structured outputs, and **assistant files**: a turn is only the
      question's text and the answer's text. The answer the model gave after using
      a tool stays, so the conversation still reads.
    * **Files of earlier turns**, all **non-image files**, and the question's images
      when ``files`` is None: the turn has no field for them.
    * Images whose URL ``dspy.Image`` does not take (a scheme other than ``data:``,
      ``http:``, ``https:``, ``gs:``, which an endpoint may allow): left out, with a
      logged warning.
    * **System messages** are skipped: the browser writes them, and the signature's
      instructions are the program's system prompt.
    * With ChainOfThought (or any other output field besides the answer), DSPy
      writes ``None`` for that field in past turns: the history holds only the
      answer.
    * With ReAct, DSPy formats past turns with each predictor's own output fields:
      the extract step sees the past answers, the tool-choosing steps (no answer
      field) only the past questions, with ``None`` for their outputs.
    """
    names = {"question": question, "answer": answer, "history": history}
    if files is not None:
        names["files"] = files
    for parameter, name in names.items():
        if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"{parameter} must be a non-empty field name; got {name!r}")
    if len(set(names.values())) != len(names):
        raise ValueError(f"the field names must differ; got {names}")

    read = read_messages(messages)
    said = [(message.role, joined_text(message.parts)) for message in read]
    inputs_named = {question, history, *([files] if files else [])}
    if not read:
        raise ValueError("messages is empty: the last message must be the user's question")
    last = read[-1]
    if last.role != "user":
        raise ValueError(
            f"messages[{len(read) - 1}] must be the user's question (the last message); "
            f"got {last.role!r}"
        )

    turns: list[dict[str, Any]] = []
    asked: str | None = None
    answers: list[str] = []
    values: dict[str, Any] = {}
    for message, (role, text) in zip(read[:-1], said[:-1], strict=True):
        if role == "user":
            if asked is not None or answers or values:
                turns.append(_turn(asked, answers, values, question, answer))
            asked, answers, values = text, [], {}
        elif role == "assistant":
            for steering, segment in steered_segments(message.parts):
                if steering is not None:  # the user spoke while it ran: a turn of its own
                    turns.append(_turn(asked, answers, values, question, answer))
                    asked, answers, values = joined_text(steering.parts), [], {}
                text = joined_text(segment)
                if text:
                    answers.append(text)
                for part in segment:
                    data = output_data(part)
                    if data is not None and data["name"] not in inputs_named:
                        values[data["name"]] = data["value"]
    if asked is not None or answers or values:
        turns.append(_turn(asked, answers, values, question, answer))

    inputs: dict[str, Any] = {
        history: dspy.History(messages=turns),
        question: said[-1][1],
    }
    if files is not None:
        inputs[files] = _images(last.parts, f"messages[{len(read) - 1}]")
    return inputs


def _turn(
    asked: str | None, answers: list[str], values: dict[str, Any], question: str, answer: str
) -> dict[str, Any]:
    turn: dict[str, Any] = {} if asked is None else {question: asked}
    turn[answer] = SEPARATOR.join(answers)  # consecutive assistant messages: one answer
    turn.update(values)  # structured outputs, the answer's own included
    return turn


def _images(parts: Sequence[UIMessagePart], where: str) -> list[Any]:
    images: list[Any] = []
    for index, part in enumerate(parts):
        if not isinstance(part, FileUIPart) or not part.media_type.lower().startswith("image/"):
            continue
        url = part.url
        if is_data_url(url):
            url = "data:" + url[5:]  # dspy.Image knows the scheme in lower case only
        try:
            images.append(dspy.Image(url))
        except ValueError:
            logger.warning(
                "%s.parts[%d].url: DSPy takes data:, http(s): and gs: image URLs; the image "
                "is left out",
                where,
                index,
            )
    return images


# --- the signature's fields --------------------------------------------------------------


def history_fields(program_or_signature: Any) -> HistoryFields | None:
    """The field names a chat call of this program needs, or None if it keeps no
    history (no ``dspy.History`` input field).

    Takes a signature (class or string) or a program: one with a ``signature``
    (Predict, ReAct, ReActV2) or a single predictor (ChainOfThought). Found:

    * ``history``: the ``dspy.History`` input field;
    * ``question``: the one other ``str`` input field;
    * ``answer``: the one ``str`` output field, leaving out the fields
      ``DSPyAdapter`` shows as reasoning (``reasoning``, ``rationale``,
      ``next_thought``); with no ``str`` output, the one output field left (a
      structured answer, ``answer: list[str]``);
    * ``files``: the ``list[dspy.Image]`` input field, or None.

    Raises ``ValueError`` when a name is ambiguous (two History fields, two ``str``
    inputs or outputs, none at all): then pass the names to ``to_dspy_inputs``
    yourself. Other inputs (retrieved context, say) are yours to add.
    """
    signature = _signature(program_or_signature)
    inputs = cast("dict[str, Any]", signature.input_fields)
    outputs = cast("dict[str, Any]", signature.output_fields)
    histories = [name for name, info in inputs.items() if _is_history(info.annotation)]
    if not histories:
        return None
    if len(histories) > 1:
        raise ValueError(f"the signature has several dspy.History inputs: {histories}")
    texts = [name for name, info in inputs.items() if _unwrap(info.annotation) is str]
    answers = [
        name
        for name, info in outputs.items()
        if _unwrap(info.annotation) is str and name not in _REASONING_NAMES
    ] or [name for name in outputs if name not in _REASONING_NAMES]
    images = [name for name, info in inputs.items() if _is_image_list(info.annotation)]
    for kind, found in (("str input", texts), ("str output", answers)):
        if len(found) != 1:
            raise ValueError(
                f"the signature needs exactly one {kind} field besides the history to be "
                f"a chat; it has {found}: pass the names to to_dspy_inputs yourself"
            )
    if len(images) > 1:
        raise ValueError(
            f"the signature has several list[dspy.Image] inputs {images}: "
            "pass files= to to_dspy_inputs yourself"
        )
    return HistoryFields(
        question=texts[0],
        answer=answers[0],
        history=histories[0],
        files=images[0] if images else None,
    )


def chat_fields(program: Any) -> HistoryFields | str:
    """Where a chat turn goes in ``program``'s inputs, decided once per adapter: its
    ``HistoryFields`` (the conversation as a ``dspy.History``, the last user message as
    the question), or, with no History input, the name of its one input field (the
    question alone).

    Raises ``TypeError`` saying the fix when neither holds: no History input and not
    exactly one input field (``"question, images -> answer"``), or a History input
    whose other fields ``history_fields`` cannot name. Such a program can still run
    through ``DSPyAdapter.stream``; it can never answer a ``useChat`` turn by itself.
    """
    what = type(program).__name__
    yourself = (
        "in a ChatEndpoint(respond) whose async def respond(turn, ctx) awaits "
        "adapter.stream_into(ctx, **inputs)"
    )
    try:
        fields = history_fields(program)
        names = list(cast("dict[str, Any]", _signature(program).input_fields))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"this {what} cannot answer a chat turn: {exc}, {yourself}") from None
    if fields is not None:
        return fields
    if len(names) == 1:
        return names[0]
    raise TypeError(
        f"this {what} cannot answer a chat turn: its signature has no dspy.History input "
        f"and {len(names)} input fields ({', '.join(names) or 'none'}), so the user's "
        "message has no one field to go in. Give it a history and one str input "
        '("history: dspy.History, question -> answer"), or exactly one input field; or '
        "map the turn to its inputs yourself, " + yourself
    )


def _signature(value: Any) -> Any:
    if isinstance(value, str):
        return dspy.ensure_signature(value)
    if isinstance(value, type) and issubclass(value, dspy.Signature):
        return value
    if isinstance(value, dspy.Module):
        own = getattr(value, "signature", None)
        if isinstance(own, type) and issubclass(own, dspy.Signature):
            return own
        module: Any = value
        predictors = cast("list[tuple[str, Any]]", list(module.named_predictors()))
        if len(predictors) == 1:
            return predictors[0][1].signature
        raise TypeError(
            f"cannot tell the chat fields of a {type(value).__name__} with "
            f"{len(predictors)} predictors: pass its signature"
        )
    raise TypeError(f"expected a dspy.Module or a signature; got {type(value).__name__}")


def _unwrap(annotation: Any) -> Any:
    """``X | None`` (or ``Optional[X]``) as ``X``; anything else as it is."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _is_history(annotation: Any) -> bool:
    annotation = _unwrap(annotation)
    return isinstance(annotation, type) and issubclass(annotation, dspy.History)


def _is_image_list(annotation: Any) -> bool:
    annotation = _unwrap(annotation)
    return typing.get_origin(annotation) is list and typing.get_args(annotation) == (dspy.Image,)
