"""Which extra to install, said where an optional framework is first imported; and the
one rule for exporting a name that needs an extra.

The core needs only pydantic and orjson; each package on top of a framework imports it
inside ``needs_extra``, so a missing one fails with the command that fixes it rather
than a bare ``No module named 'agents'`` (whose package is not even called that).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Generator, Mapping
from typing import Any

__all__ = ["lazy_exports", "needs_extra"]


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


def lazy_exports(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) for a package that exports names needing an extra.

    The rule, the same for every such name: it is defined in a module of its own, listed
    in its package's ``__all__`` and imported from the package (``from uiwire.resume
    import RedisStreamStore``); the package imports that module only when the name is
    first asked for, so the package itself needs no extra.
    """

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
