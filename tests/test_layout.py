"""The house: no import cycle in the tool, which never imports the lab's package, nor prints."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
TOOL = SRC / "minigrad_tool"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(TOOL.rglob("*.py"))}


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def tool_nodes() -> Iterator[tuple[Path, ast.AST]]:
    """Every AST node of the tool's modules, with its file (each file parsed once per run)."""
    for path in sorted(TOOL.rglob("*.py")):
        for node in ast.walk(_tree(path)):
            yield path, node


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """Every module of the tool this file imports, at the top or inside a function."""
    found: set[str] = set()
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    for node in ast.walk(_tree(path)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            # `from pkg import sub` depends on pkg.sub; `from mod import name`, on mod
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    found.discard(module_name(path))
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, known) for name, path in known.items()}


def test_the_graph_is_read() -> None:
    """The checker sees real edges (else the next test would pass on nothing)."""
    edges = graph()
    assert len(edges) > 40
    assert "minigrad_tool.mutation.judging" in edges["minigrad_tool.mutation.campaign"]
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_the_tool_never_imports_the_lab_package() -> None:
    """A user's package may be called minigrad: the tool loads engines, it never imports one."""
    for path, node in tool_nodes():
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        assert not any(n == "minigrad" or n.startswith("minigrad.") for n in names), path


def test_only_the_cli_and_reports_print() -> None:
    """The library raises; it never prints or picks an exit code."""
    allowed = {"cli", "report", "pytest_plugin.py", "__main__.py"}
    for path, node in tool_nodes():
        if path.relative_to(TOOL).parts[0] not in allowed and isinstance(node, ast.Call):
            called = ast.unparse(node.func)
            assert called not in ("print", "sys.exit", "exit"), f"{path}:{node.lineno}"


def test_numpy_is_imported_at_module_level_only_by_the_tensor_package() -> None:
    """A scalar engine's user needs no numpy: only `minigrad_tool/tensor/` imports it at module
    level, and nothing imports that package at module level."""
    found = []
    for name, path in modules().items():
        for node in _tree(path).body:
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for imported in names:
                top = imported.split(".")[0]
                tensor = imported.startswith("minigrad_tool.tensor")
                if (top == "numpy" or tensor) and not name.startswith("minigrad_tool.tensor"):
                    found.append((name, imported))
    assert "minigrad_tool.tensor.cases" in modules()
    assert found == []


# A function a reader can hold in view: longer ones are split by job (issue 28).
LONGEST_FUNCTION = 80


def test_no_function_of_the_tool_is_longer_than_80_lines() -> None:
    """Counted from `def` to its last line, docstring included."""
    long = []
    for path, node in tool_nodes():
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > LONGEST_FUNCTION:
                long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({lines})")
    assert long == []


def test_probes_and_cases_are_asked_through_their_protocols() -> None:
    """No duck typing of a probe or a case (`getattr(probe, "observe")`): scalar and tensor
    kinds implement one protocol each (mutation/probe.py, battery/cases.py)."""
    found = []
    for path, node in tool_nodes():
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in ("probe", "case")
        ):
            found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert found == []


def test_no_private_name_is_used_across_modules() -> None:
    """A module's `_private` names are its own: no other module imports them or subclasses a
    private base (the tensor discovery composes the adapter's public Session)."""
    found = []
    for path, node in tool_nodes():
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("minigrad_tool"):
            found += [
                f"{path.relative_to(SRC)}:{node.lineno} {alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    assert found == []


def test_the_engine_source_is_parsed_in_one_place() -> None:
    """`SourceIndex.parse` runs once per run, in the spec (`spec.index`), which every reader
    shares; no "parse again if not given" fallback elsewhere."""
    calls = []
    for path, node in tool_nodes():
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("SourceIndex.parse"):
            calls.append(str(path.relative_to(TOOL)))
    assert calls == ["adapter/spec.py"]


def test_engine_kinds_are_rows_not_branches() -> None:
    """Scalar and tensor engines differ in registry rows (`_BATTERIES[profile.kind]`), never in
    an `if profile.kind == "tensor"` branch."""
    found = []
    for path, node in tool_nodes():
        if (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Attribute)
            and node.left.attr == "kind"
            and any(
                isinstance(c, ast.Constant) and c.value in ("scalar", "tensor")
                for c in node.comparators
            )
        ):
            found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert found == []


def named_by_tests() -> dict[str, set[str]]:
    """Each tool module, with the test files that import it or name it in their header's
    `Modules:` paragraph."""
    known = modules()
    named: dict[str, set[str]] = {name: set() for name in known}
    for test in sorted(Path(__file__).parent.glob("test_*.py")):
        tree = ast.parse(test.read_text(encoding="utf-8"))
        header = (ast.get_docstring(tree) or "").partition("Modules:")[2].partition("\n\n")[0]
        found = {n.rstrip(".,") for n in header.split()}
        unknown = found - set(known)
        assert not unknown, f"{test.name} names modules that do not exist: {sorted(unknown)}"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        for name in found & set(known):
            named[name].add(test.name)
    return named


def test_every_module_of_the_tool_has_its_tests() -> None:
    """Tests mirror modules: each module is imported by a test file, or named in the
    `Modules:` paragraph of the header of the file that tests it through the command line."""
    named = named_by_tests()
    assert named["minigrad_tool.adapter.points"] == {"test_discovery.py"}
    assert [name for name, files in named.items() if not files] == []
