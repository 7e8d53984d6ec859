"""The shape a maintainer relies on: the layers import downwards only, nothing imports in a circle,
and every module fits in a reader's head."""
from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "resolver"
MOST_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    is_package = modules()[importer].name == "__init__.py"
    base = importer.split(".")[: len(importer.split(".")) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def imports_of(name: str) -> frozenset[str]:
    """The modules of Resolver that ``name`` imports, anywhere in it (in functions too)."""
    found = set()
    for node in ast.walk(ast.parse(modules()[name].read_text(), str(modules()[name]))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # `from . import clock` imports the module clock; `from .models import Dispute` imports models
            target = _resolve(name, node)
            targets = [f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules() else target
                       for alias in node.names]
        else:
            continue
        for target in targets:
            # the longest prefix that is one of our modules: `from .x import y` imports x, or x.y
            while target and target not in modules():
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return frozenset(found)


def test_no_module_is_longer_than_a_reader_can_hold():
    written = {name: path for name, path in modules().items() if not name.startswith("resolver.migrations.versions")}
    long = {name: n for name, path in written.items() if (n := len(path.read_text().splitlines())) > MOST_LINES}
    assert not long, f"split these (over {MOST_LINES} lines): {long}"


@pytest.mark.parametrize(("lower", "upper"), [
    ("resolver.letters", "resolver.services"),
    ("resolver.letters", "resolver.web"),
    ("resolver.services", "resolver.web"),
    ("resolver.workflow", "resolver.web"),
    ("resolver.models", "resolver.web"),
    ("resolver.models", "resolver.services"),
])
def test_a_lower_layer_never_reaches_up(lower, upper):
    reaching = sorted(f"{name} imports {target}" for name in modules() if name.startswith(lower + ".") or name == lower
                      for target in imports_of(name) if target.startswith(upper + ".") or target == upper)
    assert not reaching, "\n".join(reaching)


def _cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for target in imports_of(name):
            if not _is_blueprint_importing_its_views(name, target):
                if target not in index:
                    visit(target)
                    low[name] = min(low[name], low[target])
                elif target in on_stack:
                    low[name] = min(low[name], index[target])
        if low[name] == index[name]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == name:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for name in modules():
        if name not in index:
            visit(name)
    return groups


def _is_blueprint_importing_its_views(importer: str, target: str) -> bool:
    """A blueprint's package imports its view modules so that their routes are registered; the views
    import the blueprint back from the package. That circle is Flask's own pattern."""
    return (importer.startswith("resolver.web.") and modules()[importer].name == "__init__.py"
            and target.startswith(importer + "."))


def test_nothing_imports_in_a_circle():
    assert _cycles() == []
