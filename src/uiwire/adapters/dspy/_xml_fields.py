"""Field values from DSPy's XMLAdapter stream, as the Prediction holds them.

Under ``dspy.XMLAdapter`` the model writes each field as XML text, so ``&`` and ``<``
come escaped (``R&amp;D costs &lt; 5%``; DSPy's own prompt shows str values escaped
that way), and DSPy parses the reply with ElementTree, which turns every entity back
into its character. A listener passes the raw text on; ``XmlFieldText`` unescapes it
piece by piece the way ElementTree does: the five predefined entities and character
references. An entity cut between two chunks waits for its end; anything that is not
an entity (a lone ``&``) is shown as it came.
"""

from __future__ import annotations

import re

__all__ = ["XmlFieldText"]

_PREDEFINED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z]{2,4});")
_CUT_ENTITY = re.compile(r"&(#x?[0-9a-fA-F]{0,7}|[A-Za-z]{0,4})$")
"""The start of an entity at the end of a chunk; its ``;`` may be in the next one."""


class XmlFieldText:
    """Feed raw chunks, get the new text of the value each time."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, chunk: str, *, last: bool = False) -> str:
        text = self._held + chunk
        self._held = ""
        if not last:
            cut = _CUT_ENTITY.search(text)
            if cut is not None:
                self._held = text[cut.start() :]
                text = text[: cut.start()]
        return unescape(text)


def unescape(text: str) -> str:
    """``text`` with XML's entities and character references replaced."""
    return _ENTITY.sub(_character, text) if "&" in text else text


def _character(match: re.Match[str]) -> str:
    name = match.group(1)
    if not name.startswith("#"):
        return _PREDEFINED.get(name, match.group(0))
    code = int(name[2:], 16) if name[1] == "x" else int(name[1:])
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return match.group(0)
    return chr(code)
