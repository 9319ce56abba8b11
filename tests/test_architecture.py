"""The layer picture of ``docs/architecture.md``, checked on the source.

Data flows down: protocol -> stream -> resume / adapters -> server -> demo / typegen. A
module may import its own layer and the layers under it, never one above, even for
typing only; and each public name is exported by exactly one package.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.support.source_tree import SRC, copy_source

LAYERS: dict[str, int] = {
    "uiwire._errors": 0,
    "uiwire._ids": 0,
    "uiwire._redis": 0,
    "uiwire.protocol": 1,
    "uiwire.stream": 2,
    "uiwire.resume": 3,
    "uiwire.chats": 3,
    "uiwire.adapters": 3,
    "uiwire.server": 4,
    "uiwire.demo": 5,
    "uiwire.typegen": 5,
    "uiwire.cli": 6,
    "uiwire.__main__": 7,
    "uiwire": 0,  # the package itself: only the error base
}
"""Each part of the package and its height; resume and adapters are side by side."""

PUBLIC_PACKAGES = (
    "uiwire",
    "uiwire.protocol",
    "uiwire.stream",
    "uiwire.resume",
    "uiwire.chats",
    "uiwire.adapters.dspy",
    "uiwire.adapters.agents",
    "uiwire.server",
    "uiwire.typegen",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> tuple[str, int]:
    """The longest prefix of ``module`` in ``LAYERS``."""
    best = max(
        (name for name in LAYERS if module == name or module.startswith(name + ".")), key=len
    )
    return best, LAYERS[best]


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every ``uiwire`` module ``path`` imports, anywhere in it (``TYPE_CHECKING`` and
    function bodies included), with the line."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found.extend((node.lineno, n) for n in names if n.split(".")[0] == "uiwire")
        elif isinstance(node, ast.Import):
            found.extend(
                (node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "uiwire"
            )
        elif (  # importlib.import_module("uiwire.x") with a literal
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value.startswith("uiwire")
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def _known(name: str) -> bool:
    """``uiwire.protocol.chunks.X`` names a module and a member: keep module paths only."""
    path = SRC.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def upward_imports() -> list[str]:
    problems: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        layer_name, height = _layer(module)
        for line, imported in _imports(path):
            if not _known(imported):
                continue
            target_name, target_height = _layer(imported)
            sideways = target_height == height and target_name != layer_name
            if target_height > height or (sideways and layer_name != "uiwire"):
                problems.append(
                    f"{path.relative_to(SRC.parent)}:{line} imports {imported} "
                    f"({target_name} is {'beside' if sideways else 'above'} {layer_name})"
                )
    return problems


def test_no_module_imports_a_layer_above_or_beside_its_own() -> None:
    assert upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker fails on a planted adapter -> server import (typing-only, too)."""
    fake = copy_source(tmp_path)
    planted = fake / "adapters" / "dspy" / "_planted.py"
    planted.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from uiwire.server.chat import ChatEndpoint\n"
    )
    (fake / "protocol" / "_planted.py").write_text("import uiwire.stream.context\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["SRC"]), "SRC", fake)
    problems = upward_imports()
    assert any("adapters/dspy/_planted.py:3 imports uiwire.server.chat" in p for p in problems)
    assert any("protocol/_planted.py:1 imports uiwire.stream.context" in p for p in problems)


def test_each_public_name_has_one_package() -> None:
    """One import path per name: no two packages export the same name."""
    owner: dict[str, str] = {}
    clashes: list[str] = []
    for package in PUBLIC_PACKAGES:
        for name in importlib.import_module(package).__all__:
            if name in owner:
                clashes.append(f"{name}: {owner[name]} and {package}")
            owner.setdefault(name, package)
    assert clashes == []


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_every_exported_name_resolves(package: str) -> None:
    """``__all__`` holds no stale name (lazily loaded ones included)."""
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert missing == []


def test_every_error_derives_from_the_base() -> None:
    """Every exception class a public package exports is a ``UIWireError``."""
    from uiwire import UIWireError

    outside = [
        f"{package}.{name}"
        for package in PUBLIC_PACKAGES
        for name in importlib.import_module(package).__all__
        if isinstance(value := getattr(importlib.import_module(package), name), type)
        and issubclass(value, BaseException)
        and not issubclass(value, UIWireError)
    ]
    assert outside == []
