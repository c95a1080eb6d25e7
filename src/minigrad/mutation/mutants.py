"""Finding the ops of an engine, and turning operator edits into named mutants.

A mutant is the engine's source with one span replaced: the replaced text is
exactly the mutated node's span, so comments, layout and line numbers survive
and the diff a user sees is one line.  IDs are ``<op>-<operator>[-n]``,
numbered in source order, so they are stable across runs.
"""

from __future__ import annotations

import ast
import difflib
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from minigrad.mutation.operators import OPERATORS, Edit, Site

__all__ = ["Mutant", "MutationError", "find_sites", "generate_mutants", "make_key", "parse_key"]

CLOSURE_NAME = "_backward"
TOPO_METHOD = "backward"

# Readable op names for dunder methods; everything else drops its underscores.
_OP_ALIASES = {"truediv": "div", "rtruediv": "rdiv", "pow": "pow", "neg": "neg"}


class MutationError(Exception):
    """The engine cannot be mutated: no Value class, or no backward steps."""


@dataclass(frozen=True)
class Mutant:
    """One mutated copy of the engine, with where and how it differs."""

    id: str
    op: str
    operator: str
    function: str  # the method it lives in, e.g. "__sub__"
    description: str
    source: str  # the whole mutated engine
    start: tuple[int, int]  # (line, column), both 1-based
    end: tuple[int, int]  # (line, column) just past the span, 1-based
    original: str
    replacement: str
    patch_name: str = ""  # the one method of Value the mutant replaces ...
    patch_source: str = ""  # ... and its mutated source, dedented

    def diff(self, original_source: str, path: str = "engine.py") -> str:
        """A unified diff of the mutated method against the original source."""
        lines = difflib.unified_diff(
            original_source.splitlines(keepends=True),
            self.source.splitlines(keepends=True),
            fromfile=f"{path} (original)",
            tofile=f"{path} ({self.id})",
            n=2,
        )
        return "".join(lines)


def make_key(op: str, operator: str, n: int) -> str:
    """The mutant ID: `sub-sign`, then `sub-sign-2`, `sub-sign-3`, ..."""
    return f"{op}-{operator}" if n == 1 else f"{op}-{operator}-{n}"


def parse_key(key: str) -> tuple[str, str, int]:
    """Inverse of make_key: `mul-swap-2` -> ("mul", "swap", 2)."""
    parts = key.split("-")
    if len(parts) == 3 and parts[2].isdigit():
        return parts[0], parts[1], int(parts[2])
    if len(parts) == 2:
        return parts[0], parts[1], 1
    raise ValueError(f"not a mutant ID: {key!r} (expected <op>-<operator>[-n])")


def op_name(method: str) -> str:
    stripped = method.strip("_")
    return _OP_ALIASES.get(stripped, stripped)


def _value_class(tree: ast.Module) -> ast.ClassDef:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Value":
            return node
    raise MutationError("the engine has no top-level `class Value`")


def _backward_step(
    method: ast.FunctionDef, steps: dict[str, ast.FunctionDef]
) -> ast.FunctionDef | None:
    """The backward step of an op method, in either of the two micrograd styles.

    micrograd: a closure `def _backward()` nested in the op's method.
    minigrad: a sibling method `_<op>_backward` that the op's method refers to
    (`Value._mul_backward`), so no function object is made per node.
    """
    for node in ast.walk(method):
        if isinstance(node, ast.FunctionDef) and node.name == CLOSURE_NAME and node is not method:
            return node
    for node in ast.walk(method):
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
        if name in steps and steps[name] is not method:
            return steps[name]
    return None


def _called_methods(method: ast.FunctionDef) -> set[str]:
    """Names `m` in `self.m(...)` calls: the helpers a method relies on."""
    return {
        node.func.attr
        for node in ast.walk(method)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
    }


def find_sites(tree: ast.Module) -> list[Site]:
    """Every op with a backward step, then the backward() sweep, in source order."""
    cls = _value_class(tree)
    methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}
    steps = {name: m for name, m in methods.items() if name.endswith(CLOSURE_NAME)}
    sites = []
    for name, method in methods.items():
        if name in steps:
            continue
        closure = _backward_step(method, steps)
        if closure is not None:
            sites.append(Site(op_name(name), "op", method, closure, class_name=cls.name))
    if not sites:
        raise MutationError(
            "the engine's Value has no `_backward` closures or `_<op>_backward` steps to mutate"
        )
    backward = methods.get(TOPO_METHOD)
    if backward is not None:
        helpers = tuple(methods[m] for m in sorted(_called_methods(backward)) if m in methods)
        sites.append(Site(TOPO_METHOD, "topo", backward, helpers=helpers, class_name=cls.name))
    return sites


class _Source:
    """The engine's text, addressable by AST positions (UTF-8 byte columns)."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8")
        self.line_starts = [0]
        for i, byte in enumerate(self.data):
            if byte == 0x0A:
                self.line_starts.append(i + 1)

    def offset(self, line: int, col: int) -> int:
        return self.line_starts[line - 1] + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def replace(self, node: ast.AST, text: str) -> str:
        start, end = self.span(node)
        return (self.data[:start] + text.encode("utf-8") + self.data[end:]).decode("utf-8")

    def text(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.data[start:end].decode("utf-8")


def _render(edit: Edit) -> str:
    """Source text for the replacement, parenthesized unless it is atomic."""
    text = ast.unparse(ast.fix_missing_locations(edit.replacement))
    atomic = ast.Name | ast.Attribute | ast.Call | ast.Subscript | ast.stmt
    if isinstance(edit.replacement, atomic):
        return text
    if isinstance(edit.replacement, ast.Constant) and not str(edit.replacement.value).startswith(
        "-"
    ):
        return text
    return f"({text})"


def _lines(f: ast.FunctionDef) -> range:
    return range(f.lineno, (f.end_lineno or f.lineno) + 1)


def _enclosing(site: Site, node: ast.AST) -> ast.FunctionDef:
    """The method of class Value holding `node`: what a mutant replaces, whole.

    A micrograd closure lives inside its op's method, so that method is the unit;
    a sibling backward step (`_mul_backward`) is a method of its own.
    """
    line = node.lineno  # type: ignore[attr-defined]
    candidates = [site.method, *site.helpers]
    if site.closure is not None and site.closure.lineno not in _lines(site.method):
        candidates.append(site.closure)
    return next((f for f in candidates if line in _lines(f)), site.method)


def _mutated_function(
    source: _Source, method: ast.FunctionDef, edit: Edit | None, text: str
) -> str:
    """The method's source, dedented, with `edit` applied."""
    start, end = source.span(method)
    segment = source.data[start:end]
    if edit is not None:
        a, b = source.span(edit.node)
        segment = segment[: a - start] + text.encode("utf-8") + segment[b - start :]
    return textwrap.dedent(" " * method.col_offset + segment.decode("utf-8"))


def _normal_form(method: ast.FunctionDef, code: str) -> str:
    """Equal forms mean identical code: only the one method a mutant changes is parsed."""
    return f"{method.lineno}:{method.name}:{ast.dump(ast.parse(code))}"


def _mutants_of(site: Site, operator: str, source: _Source, seen: set[str]) -> Iterable[Mutant]:
    n = 0
    for edit in OPERATORS[operator](site):
        replacement = _render(edit)
        method = _enclosing(site, edit.node)
        seen.add(_normal_form(method, _mutated_function(source, method, None, "")))  # no mutant
        patch = _mutated_function(source, method, edit, replacement)
        normal = _normal_form(method, patch)
        if normal in seen:  # identical to the original or to an earlier mutant
            continue
        seen.add(normal)
        mutated = source.replace(edit.node, replacement)
        n += 1
        node = edit.node
        yield Mutant(
            id=make_key(site.op, operator, n),
            op=site.op,
            operator=operator,
            function=site.method.name if site.kind == "op" else method.name,
            description=edit.description,
            source=mutated,
            start=(node.lineno, node.col_offset + 1),  # type: ignore[attr-defined]
            end=(node.end_lineno, node.end_col_offset + 1),  # type: ignore[attr-defined]
            original=source.text(node),
            replacement=replacement,
            patch_name=method.name,
            patch_source=patch,
        )


def generate_mutants(source: str, operators: Sequence[str] | None = None) -> list[Mutant]:
    """All distinct mutants of an engine's source, for the chosen operators."""
    chosen = list(OPERATORS) if operators is None else list(operators)
    unknown = [name for name in chosen if name not in OPERATORS]
    if unknown:
        raise MutationError(
            f"unknown operator(s) {', '.join(unknown)}; choose from {', '.join(OPERATORS)}"
        )
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise MutationError(f"the engine does not parse: {err}") from err
    text = _Source(source)
    seen: set[str] = set()
    mutants: list[Mutant] = []
    for site in find_sites(tree):
        for operator in chosen:
            mutants.extend(_mutants_of(site, operator, text, seen))
    return mutants
