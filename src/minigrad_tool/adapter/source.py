"""The engine's source as an AST, indexed the way the interpreter names code.

A code object knows its qualified name (`Value.__add__.<locals>._backward`)
and first line; this index finds the AST node it was compiled from, so what
the adapter watches run can be mutated in the source.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Function", "SourceIndex", "references"]

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


@dataclass
class Function:
    """A function of the source: its node, qualified name, first line, enclosing function."""

    node: FunctionNode
    qualname: str
    first_line: int  # as co_firstlineno: the first decorator's line if decorated
    parent: Function | None
    classes: tuple[str, ...]  # enclosing class names, outermost first (for a method: its class)
    file: str = ""  # the package file it is in, when not the engine's own ("")

    @property
    def name(self) -> str:
        return "<lambda>" if isinstance(self.node, ast.Lambda) else self.node.name

    @property
    def outermost(self) -> Function:
        """The top-level function or method this one is nested in (itself if none)."""
        f = self
        while f.parent is not None:
            f = f.parent
        return f


def _first_line(node: FunctionNode) -> int:
    if isinstance(node, ast.Lambda):
        return node.lineno
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


@dataclass
class SourceIndex:
    """Every function of a module's source, by (qualname, first line)."""

    tree: ast.Module
    file: str = ""  # as Function.file
    functions: dict[tuple[str, int], Function] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)  # by qualname

    @classmethod
    def parse(cls, source: str, file: str = "") -> SourceIndex:
        index = cls(ast.parse(source), file)
        index._visit(index.tree, "", None, ())
        return index

    def _visit(
        self, node: ast.AST, prefix: str, parent: Function | None, classes: tuple[str, ...]
    ) -> None:
        if isinstance(node, ast.ClassDef):
            qualname = f"{prefix}{node.name}"
            self.classes[qualname] = node
            for child in node.body:
                self._visit(child, f"{qualname}.", parent, (*classes, node.name))
            return
        if isinstance(node, FunctionNode):
            name = "<lambda>" if isinstance(node, ast.Lambda) else node.name
            qualname = f"{prefix}{name}"
            function = Function(node, qualname, _first_line(node), parent, classes, self.file)
            self.functions.setdefault((function.qualname, function.first_line), function)
            inner = f"{function.qualname}.<locals>."
            if not isinstance(node, ast.Lambda):
                for d in (*node.decorator_list, *_defaults(node)):
                    self._visit(d, prefix, parent, classes)
                for statement in node.body:
                    self._visit(statement, inner, function, classes)
            else:
                self._visit(node.body, inner, function, classes)
            return
        for part in ast.iter_child_nodes(node):
            self._visit(part, prefix, parent, classes)

    def function(self, qualname: str, first_line: int) -> Function | None:
        found = self.functions.get((qualname, first_line))
        if found is None:  # decorators or a different first line: match the name alone
            same = [f for (q, _), f in self.functions.items() if q == qualname]
            found = same[0] if len(same) == 1 else None
        return found

    def methods(self, class_qualname: str) -> Iterator[Function]:
        for f in self.functions.values():
            if f.parent is None and f.qualname.rpartition(".")[0] == class_qualname:
                yield f


def _defaults(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
    args = node.args
    return [*args.defaults, *(d for d in args.kw_defaults if d is not None)]


def references(node: ast.AST) -> set[str]:
    """Every name the code of a function refers to: `x`, and the `m` of `obj.m`.

    Annotations are left out: `-> Value` does not make a method use the class.
    """
    names: set[str] = set()
    parts: list[ast.AST]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        parts = [*node.body, *_defaults(node)]
    elif isinstance(node, ast.Lambda):
        parts = [node.body]
    else:
        parts = [node]
    for n in (m for part in parts for m in ast.walk(part)):
        if isinstance(n, ast.Name):
            names.add(n.id)
        elif isinstance(n, ast.Attribute):
            names.add(n.attr)
    return names
