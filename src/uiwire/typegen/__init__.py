"""``uiwire types``: the TypeScript ``UIMessage`` type of an app, for ``useChat``.

::

    python -m uiwire types app:adapter -o web/src/chat-types.d.ts

writes ``ChatMessage`` (``UIMessage<ChatMetadata, ChatDataParts, ChatTools>``) and its
pieces: the input and output of each tool the agent has, the data parts the adapter
and the app write, the message metadata. ``useChat<ChatMessage>()`` is then typed: a
``tool-get_weather`` part's ``input`` is the tool's arguments, ``addToolOutput`` takes
a client tool's declared output. What the app writes itself is declared in ``UITypes``.
"""

from uiwire.typegen.declaration import ToolTypes, UITypes
from uiwire.typegen.render import render as _render

__all__ = ["ToolTypes", "UITypes", "typescript_types"]


def typescript_types(app: object, *, command: str | None = None) -> str:
    """The ``.d.ts`` text of ``app``'s ``UIMessage`` type: ``app`` is a ``UITypes``, or
    what it would hold as ``agent`` (a ``ChatEndpoint``, an adapter, an ``agents.Agent``,
    a ``dspy.Module``). ``command`` is written in the file's header."""
    declared = app if isinstance(app, UITypes) else UITypes(app)
    return _render(declared, command=command)
