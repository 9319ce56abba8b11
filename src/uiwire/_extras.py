"""Which extra to install, said where an optional framework is first imported.

The core needs only pydantic and orjson; each package on top of a framework imports it
inside ``needs_extra``, so a missing one fails with the command that fixes it rather
than a bare ``No module named 'agents'`` (whose package is not even called that).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator

__all__ = ["needs_extra"]


@contextlib.contextmanager
def needs_extra(
    *modules: str, extra: str, needed_by: str, package: str
) -> Generator[None, None, None]:
    """Turn the failed import of one of ``modules`` (or of a module inside them) into an
    ``ImportError`` naming ``pip install 'uiwire[extra]'``, chained from the original.

    Other import errors pass unchanged: only a missing framework is the user's to fix by
    installing an extra.
    """
    try:
        yield
    except ImportError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in modules:
            raise
        raise ImportError(
            f"{needed_by} needs {package}, which could not be imported ({exc}): "
            f"pip install 'uiwire[{extra}]'",
            name=exc.name,
        ) from exc
