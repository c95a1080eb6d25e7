"""Ops that are functions of the engine's modules, not methods of its node class.

A tensor engine's `F.sum(x)` or `ops.exp(x)`; a scalar engine's `tanh(x)` beside a `Value`
with no `tanh`.  Only functions with a known op's name are ever called, and only modules that
define one at their top level are imported, each file read first without running it: a
dataset loader or a plotting module of the package never runs.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FunctionType, ModuleType

from minigrad_tool.adapter.definitions import definitions_alone
from minigrad_tool.adapter.session import Session
from minigrad_tool.installed import source_files

__all__ = ["beside_lone_module", "exported_place", "import_op_modules", "package_modules"]

# How many files of a package are read for op functions: a package is a few dozen at most.
_MOST_PACKAGE_FILES = 400
# Folders of a package that hold no ops, whatever functions they define.
_NOT_OPS = frozenset({"tests", "test", "testing", "examples", "docs", "scripts", "benchmarks"})


def import_op_modules(d: Session, wanted: Callable[[str], bool]) -> None:
    """Import the modules of the engine's package that define a function whose name is
    `wanted` at their top level (`def sum(`, `def exp(`), read first without running them: a
    module of anything else (a dataset loader, a plotting helper) is never run."""
    top, _, rest = d.spec.module.partition(".")
    if not rest or not d.package:
        return  # a lone module: no package around it (beside_lone_module)
    root = Path(d.package)
    for path in source_files(root)[:_MOST_PACKAGE_FILES]:
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join([top, *parts[: -1 if parts[-1] == "__init__" else None]])
        if name in sys.modules or not all(p.isidentifier() for p in parts):
            continue
        if any(p in _NOT_OPS or p.startswith("test_") for p in parts):
            continue  # a package's own tests and examples are not run to look for ops
        if _defining(path, wanted) is not None:
            with contextlib.suppress(Exception):  # it does not import: its ops are not found
                importlib.import_module(name)


def _defining(path: Path, wanted: Callable[[str], bool]) -> ast.Module | None:
    """The file's tree, read without running it, if it defines a function whose name is
    `wanted` at its top level; else (or if it does not parse) None."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    if any(isinstance(n, ast.FunctionDef) and wanted(n.name) for n in tree.body):
        return tree
    return None


def beside_lone_module(d: Session, wanted: Callable[[str], bool]) -> list[str]:
    """The modules beside a lone module (`engine.py`, no package around it) that build on
    it, imported: each imports it, defines a function whose name is `wanted` at its top
    level, and holds definitions alone (an `if __name__ == "__main__":` block aside), so that
    importing it runs no script; never a test file (a flat project: engine.py, activations.py,
    test_engine.py).  [] for an engine in a package (import_op_modules)."""
    engine = d.spec.module
    if "." in engine or not d.package:
        return []
    found = []
    for path in sorted(d.spec.path.parent.glob("*.py"))[:_MOST_PACKAGE_FILES]:
        name = path.stem
        if path == d.spec.path or not name.isidentifier() or _a_test_file(name):
            continue
        tree = _defining(path, wanted)
        if tree is None or not _imports(tree, engine) or not _definitions_only(tree):
            continue
        with contextlib.suppress(Exception):  # it does not import: its ops are not found
            importlib.import_module(name)
            found.append(name)
    return found


def _a_test_file(stem: str) -> bool:
    return stem.startswith("test_") or stem.endswith("_test") or stem == "conftest"


def _imports(tree: ast.Module, module: str) -> bool:
    """Does the module import `module` at its top level (`from engine import Value`)?"""
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == module and not node.level:
            return True
        if isinstance(node, ast.Import) and any(a.name == module for a in node.names):
            return True
    return False


def _definitions_only(tree: ast.Module) -> bool:
    """Does importing the module only define things (definitions.definitions_alone keeps
    every statement but `if __name__ == "__main__":` blocks, which an import never runs)?"""
    body = [s for s in tree.body if not _main_guard(s)]
    return len(definitions_alone(ast.Module(body=list(body), type_ignores=[])).body) == len(body)


def _main_guard(statement: ast.stmt) -> bool:
    test = statement.test if isinstance(statement, ast.If) else None
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def package_modules(
    d: Session, lone: bool = True, beside: Sequence[str] = ()
) -> list[tuple[str, ModuleType]]:
    """The loaded modules of the engine's package, and the engine's own module, by name.
    Without `lone`, a lone module (`engine.py`, no package around it) is its only module with
    those `beside` it that build on it (beside_lone_module): what else is loaded from its
    folder (a student's tests beside it) is none of the engine."""
    if not lone and "." not in d.spec.module:
        return [(d.module.__name__, d.module)] + [(n, sys.modules[n]) for n in beside]
    found = [
        (name, module)
        for name, module in list(sys.modules.items())
        if d.in_package(str(getattr(module, "__file__", None) or ""))
    ]
    if all(module is not d.module for _, module in found):
        found.append((d.module.__name__, d.module))
    return found


def exported_place(d: Session, places: list[tuple[str, FunctionType]]) -> tuple[str, FunctionType]:
    """Of the modules that hold a function (`places`), the one to call it through: the
    package itself if it exports it, else the module defining it, else the first by name;
    always one whose dotted path reaches the function in a test that imports it (a package
    whose __init__ runs `from .relu import relu` hides its module `relu` behind the
    function: `numtorch.functions.relu.relu(x)` raises AttributeError)."""
    top = d.spec.module.partition(".")[0]
    return min(
        places,
        key=lambda p: (not _reached(p[0], p[1]), p[0] != top, p[0] != p[1].__module__, p[0]),
    )


def _reached(module: str, function: FunctionType) -> bool:
    """Does `module.name`, read attribute by attribute from the top package, give `function`?"""
    first, *rest = module.split(".")
    found: object = sys.modules.get(first)
    for part in [*rest, function.__name__]:
        found = getattr(found, part, None)
    return found is function
