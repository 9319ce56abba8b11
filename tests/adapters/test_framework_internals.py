"""Only the ``_compat`` modules reach past the frameworks' public API.

The rule, read off the source with ``ast`` (``TYPE_CHECKING`` blocks and function bodies
included), for every module of ``src/uiwire`` except ``adapters/dspy/_compat.py`` and
``adapters/agents/_compat.py``:

1. A framework (``dspy``, ``agents``, ``anyio``) is imported only from a module in
   ``PUBLIC_MODULES`` (``import``, ``from ... import``, ``importlib.import_module`` and
   ``__import__`` with a literal), and only names that module makes public: no
   ``_``-prefixed name, and a name in its ``__all__`` when it has one.
2. No attribute chain that starts at a name bound by a framework import (``dspy.x._y``,
   ``anyio._backends``) goes through a ``_``-prefixed (non-dunder) attribute.
3. In ``adapters/`` and ``demo/``, where framework objects are handled, a ``_``-prefixed
   (non-dunder) attribute, read or written (``x._y``, ``getattr(x, "_y")``), is one the
   module itself defines: a module-level name, a name declared in one of its class
   bodies, or one it assigns on ``self`` / ``cls``. Anything else is someone else's
   private, whatever the object (``stream._state``): it goes through ``_compat``.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.source_tree import SRC, copy_source

FRAMEWORKS = frozenset({"dspy", "agents", "anyio"})

PUBLIC_MODULES: dict[str, str] = {
    "dspy": "DSPy's top-level API",
    "dspy.streaming": "DSPy's documented streaming API (its __all__)",
    "agents": "the Agents SDK's top-level API (agents.__all__)",
    "agents.tool_context": "ToolContext: the SDK's guides import it from here, and user "
    "tools are written against it",
    "agents.testing": "the SDK's documented test doubles (its __all__)",
    "anyio": "anyio's top-level API",
}
"""The framework modules any uiwire module may import from, and why each is public."""

COMPAT = ("adapters/dspy/_compat.py", "adapters/agents/_compat.py")
"""The doors: the only modules the rule does not apply to."""

HANDLES_FRAMEWORK_OBJECTS = ("adapters", "demo")
"""Where rule 3 applies: the packages that receive framework objects."""


@dataclass(frozen=True)
class _Module:
    path: Path
    tree: ast.Module

    @property
    def where(self) -> str:
        return self.path.relative_to(SRC).as_posix()


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _framework(module: str) -> bool:
    return module.split(".")[0] in FRAMEWORKS


def _public_names(module: str) -> tuple[bool, frozenset[str] | None]:
    """Whether ``module`` imports here, and its ``__all__`` (None when it has none)."""
    try:
        value = importlib.import_module(module)
    except ImportError:
        return False, None
    names = getattr(value, "__all__", None)
    return True, None if names is None else frozenset(names)


def _import_problems(module: _Module) -> tuple[list[str], set[str]]:
    """Rule 1, and the names bound by framework imports (for rule 2)."""
    problems: list[str] = []
    bound: set[str] = set()
    for node in ast.walk(module.tree):
        at = f"{module.where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _framework(alias.name):
                    continue
                bound.add(alias.asname or alias.name.split(".")[0])
                if alias.name not in PUBLIC_MODULES:
                    problems.append(f"{at} imports {alias.name}: not a public module")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not _framework(node.module):
                continue
            bound.update(alias.asname or alias.name for alias in node.names)
            if node.module not in PUBLIC_MODULES:
                problems.append(f"{at} imports from {node.module}: not a public module")
                continue
            found, public = _public_names(node.module)
            for alias in node.names:
                name = alias.name
                if _is_private(name):
                    problems.append(f"{at} imports {node.module}.{name}: a private name")
                elif found and public is not None and name not in public:
                    problems.append(f"{at} imports {node.module}.{name}: not in its __all__")
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id == "__import__")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and _framework(node.args[0].value)
            and node.args[0].value not in PUBLIC_MODULES
        ):
            problems.append(f"{at} imports {node.args[0].value}: not a public module")
    return problems, bound


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _chain_problems(module: _Module, bound: set[str]) -> list[str]:
    """Rule 2: ``<framework name>....<_private>``."""
    problems: list[str] = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            root = _root(node.value)
            if root in bound:
                problems.append(
                    f"{module.where}:{node.lineno} reads {ast.unparse(node)}: a private "
                    f"attribute under {root}"
                )
    return problems


def _own_private_names(tree: ast.Module) -> set[str]:
    """The private names a module defines (see rule 3)."""
    own = _defined_in(tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            own |= _defined_in(node.body)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in _flat(targets):
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id in ("self", "cls")
                ):
                    own.add(target.attr)
    return own


def _defined_in(body: list[ast.stmt]) -> set[str]:
    """The names a module or class body defines: functions, classes, assigned names."""
    own: set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            own.add(node.name)
        elif isinstance(node, ast.Assign):
            own.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            own.add(node.target.id)
    return own


def _flat(targets: list[ast.expr]) -> list[ast.expr]:
    """Assignment targets with tuples unpacked: ``self._a, self._b = ...``."""
    flat: list[ast.expr] = []
    for target in targets:
        if isinstance(target, (ast.Tuple, ast.List)):
            flat.extend(_flat(target.elts))
        elif isinstance(target, ast.Starred):
            flat.extend(_flat([target.value]))
        else:
            flat.append(target)
    return flat


def _foreign_private_problems(module: _Module) -> list[str]:
    """Rule 3: a private attribute the module does not define."""
    own = _own_private_names(module.tree)
    problems: list[str] = []
    for node in ast.walk(module.tree):
        name: str | None = None
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            name = node.attr
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _is_private(node.args[1].value)
        ):
            name = node.args[1].value
        if name is not None and name not in own:
            problems.append(
                f"{module.where}:{getattr(node, 'lineno', 0)} uses {name}, a private "
                "name this module does not define"
            )
    return problems


def internals_used_outside_compat() -> list[str]:
    problems: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        module = _Module(path, ast.parse(path.read_text(), str(path)))
        if module.where in COMPAT:
            continue
        found, bound = _import_problems(module)
        problems.extend(found)
        problems.extend(_chain_problems(module, bound))
        if module.where.split("/")[0] in HANDLES_FRAMEWORK_OBJECTS:
            problems.extend(_foreign_private_problems(module))
    return problems


def test_only_the_compat_modules_reach_past_the_public_api() -> None:
    assert internals_used_outside_compat() == []


def test_the_compat_modules_exist() -> None:
    """The exemption names real files (a renamed door would exempt nothing)."""
    assert [name for name in COMPAT if not (SRC / name).is_file()] == []


def test_the_public_modules_are_real() -> None:
    """Every module granted as public imports, so a typo cannot widen the rule."""
    assert [m for m in PUBLIC_MODULES if not _public_names(m)[0]] == []


PLANTED = """\
import importlib
from typing import Any

import anyio
import dspy as _dspy
from agents import _config
from agents.tool import DEFAULT_APPROVAL_REJECTION_MESSAGE
from dspy.streaming import StreamListener
from dspy.streaming.messages import StatusStreamingCallback
from agents import NotExported

settings: Any = importlib.import_module("dspy.dsp.utils.settings")


class Mine:
    _declared: int = 0

    def __init__(self) -> None:
        self._set = 1


def use(stream: Any, mine: Mine, listener: StreamListener) -> None:
    stream._state.buffer.append(1)
    _dspy.settings._secret.get()
    getattr(listener, "_output_type")
    mine._declared, mine._set, mine.__class__
"""


def test_the_check_sees_each_kind_of_reach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A planted adapter module with one violation of each kind, next to allowed uses."""
    fake = copy_source(tmp_path)
    (fake / "adapters" / "dspy" / "_planted.py").write_text(PLANTED)
    monkeypatch.setattr(__import__(__name__, fromlist=["SRC"]), "SRC", fake)
    problems = [p for p in internals_used_outside_compat() if "_planted.py" in p]
    where = "adapters/dspy/_planted.py"
    assert sorted(problems) == sorted(
        [
            f"{where}:6 imports agents._config: a private name",
            f"{where}:7 imports from agents.tool: not a public module",
            f"{where}:9 imports from dspy.streaming.messages: not a public module",
            f"{where}:10 imports agents.NotExported: not in its __all__",
            f"{where}:12 imports dspy.dsp.utils.settings: not a public module",
            f"{where}:23 uses _state, a private name this module does not define",
            f"{where}:24 reads _dspy.settings._secret: a private attribute under _dspy",
            f"{where}:24 uses _secret, a private name this module does not define",
            f"{where}:25 uses _output_type, a private name this module does not define",
        ]
    )
