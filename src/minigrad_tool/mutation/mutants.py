"""Turning operator edits into named mutants, and mutants into code.

A mutant is one edit of one function (its *unit*).  Its ID is
``<op>-<operator>[-n]``, numbered in source order, so it is stable across
runs.  It is shown as the source with one span replaced (comments, layout
and line numbers survive, so the diff is one line), and run by compiling the
edited unit from the AST and swapping its code object into the live function
(:mod:`minigrad_tool.mutation.patch`): nothing is written to disk.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import difflib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from minigrad_tool.adapter.profile import Profile
from minigrad_tool.adapter.source import Function
from minigrad_tool.adapter.spec import EngineSpec
from minigrad_tool.mutation.operators import OPERATORS, Edit, reading_once
from minigrad_tool.mutation.sites import Site, find_sites, grad_set_outright

__all__ = [
    "AstPath",
    "Generated",
    "Mutant",
    "MutationError",
    "generate_mutants",
    "make_key",
    "parse_key",
    "path_to",
]

# How to reach a node from its unit's FunctionDef: (field, index in a list field or None).
AstPath = tuple[tuple[str, int | None], ...]


class MutationError(Exception):
    """The engine cannot be mutated, or a name is not a mutant: a usage error (exit 2)."""


@dataclass(frozen=True)
class Mutant:
    """One mutated function of the engine, with where and how it differs."""

    id: str
    op: str
    operator: str
    function: str  # the unit's qualified name, e.g. "Value.__sub__"
    description: str
    start: tuple[int, int]  # (line, column), both 1-based
    end: tuple[int, int]  # (line, column) just past the span, 1-based
    original: str
    replacement: str
    unit: tuple[str, int]  # (qualname, first line) of the function to patch
    path: AstPath  # from the unit's node to the edited node
    statement: bool  # the edit replaces a statement
    note: str = ""  # why its code may never run
    offsets: tuple[int, int] = (0, 0)  # UTF-8 byte span in the source
    file: str = ""  # the package file it mutates, when not the engine's own ("")

    def to_json(self) -> dict[str, Any]:
        """The mutant as JSON data, for a host started before it was generated."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Mutant:
        """The mutant `to_json` gave (JSON's lists made tuples again)."""
        pairs = ("start", "end", "unit", "offsets")
        return cls(
            **{
                **data,
                **{k: tuple(data[k]) for k in pairs},
                "path": tuple((field_, index) for field_, index in data["path"]),
            }
        )

    def mutated_source(self, source: str) -> str:
        data = source.encode("utf-8")
        a, b = self.offsets
        return (data[:a] + self.replacement.encode("utf-8") + data[b:]).decode("utf-8")

    def mutated_line(self, source: str) -> str:
        """The line the mutant changes, as it reads once mutated (stripped): the first line
        it rewrites, else the first it adds (a replacement that wraps a statement, such as
        the stale operator's, re-indents lines it does not change: indentation is ignored)."""
        before = [line.strip() for line in source.splitlines()]
        after = [line.strip() for line in self.mutated_source(source).splitlines()]
        changes = difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
        for wanted in ("replace", "insert"):
            for tag, _, _, start, end in changes:
                if tag == wanted and any(after[start:end]):
                    return next(line for line in after[start:end] if line)
        return ""

    def changed_lines(self) -> list[int]:
        """The lines of the source the edit rewrites: its one line, or, where it spans
        several (the stale operator wraps a whole step, re-indented and written anew by
        `ast.unparse`), those whose code changes; spacing, quotes and comments are ignored."""
        before = [_code_key(line) for line in self.original.splitlines()]
        after = [_code_key(line) for line in self.replacement.splitlines()]
        if len(before) <= 1:
            return [self.start[0]]
        changes = difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
        lines = [
            self.start[0] + i
            for tag, first, last, _, _ in changes
            if tag in ("replace", "delete")
            for i in range(first, last)
        ]
        return lines or list(range(self.start[0], self.end[0] + 1))

    def diff(self, source: str, path: str = "engine.py") -> str:
        """A unified diff of the mutant against the original source."""
        lines = difflib.unified_diff(
            source.splitlines(keepends=True),
            self.mutated_source(source).splitlines(keepends=True),
            fromfile=f"{path} (original)",
            tofile=f"{path} ({self.id})",
            n=2,
        )
        return "".join(lines)

    def one_line(self) -> str:
        """`old  ->  new`: the mutated text before and after, stripped, on one line.  A mutant
        of several lines (the stale operator wraps a whole step) shows the first line it
        changes, and what it does: `self.grad += (1 - t ** 2) * out.grad  ->  self.grad += (1 -
        type(self)._minigrad_saved_t ** 2) * out.grad (the step reads t saved by ...)`."""
        before, after = self.original.strip(), self.replacement.strip()
        if "\n" not in before and "\n" not in after:
            return f"{before}  ->  {after}"
        old = [line.strip() for line in before.splitlines() if line.strip()]
        new = [line.strip() for line in after.splitlines() if line.strip()]
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        changed = next((c for c in matcher.get_opcodes() if c[0] == "replace"), None)
        if changed is None:
            return f"{old[0]}  ->  {new[0]} ({self.description})"
        _, i, _, j, _ = changed
        return f"{old[i]}  ->  {new[j]} ({self.description})"


@dataclass(frozen=True)
class Generated:
    """All mutants of an engine, and the ops whose steps no operator can reach."""

    mutants: list[Mutant]
    unreachable: list[tuple[str, str]] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    # edits an operator made that are not Python where they stand: (op, operator, the other
    # file of the package it is in or "" for the engine's, line)
    left_out: list[tuple[str, str, str, int]] = field(default_factory=list)
    # mutants of a line the user marked `# pragma: no mutate` (mutmut's comment): not made
    no_mutate: list[Mutant] = field(default_factory=list)
    # each of those by ID: the first line it changes that is marked (its file is the mutant's)
    marked_lines: dict[str, int] = field(default_factory=dict)

    def marked_line(self, mutant: Mutant) -> int | None:
        """The line marked `# pragma: no mutate` that keeps `mutant` out, else None."""
        return self.marked_lines.get(mutant.id)


def make_key(op: str, operator: str, n: int, file: str = "") -> str:
    """The mutant ID: `sub-sign`, then `sub-sign-2`, `sub-sign-3`, ...; a mutant of another
    file of the package says which: `functions.py:sum-sign`."""
    key = f"{op}-{operator}" if n == 1 else f"{op}-{operator}-{n}"
    return f"{file}:{key}" if file else key


def parse_key(key: str) -> tuple[str, str, int]:
    """Inverse of make_key, without the file: `mul-swap-2` -> ("mul", "swap", 2)."""
    parts = key.rpartition(":")[2].split("-")
    if len(parts) == 3 and parts[2].isdigit():
        return parts[0], parts[1], int(parts[2])
    if len(parts) == 2:
        return parts[0], parts[1], 1
    raise ValueError(f"not a mutant ID: {key!r} (expected <op>-<operator>[-n])")


class _Text:
    """The engine's text, addressable by AST positions (UTF-8 byte columns)."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8")
        self.line_starts = [0]
        for i, byte in enumerate(self.data):
            if byte == 0x0A:
                self.line_starts.append(i + 1)

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.line_starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        end = self.line_starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
        return start, end

    def text(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.data[start:end].decode("utf-8")

    def marked(self, line: int) -> bool:
        """Does the line (1-based) say `# pragma: no mutate`?"""
        start = self.line_starts[line - 1]
        end = self.line_starts[line] if line < len(self.line_starts) else len(self.data)
        return _NO_MUTATE.search(self.data[start:end]) is not None


def _code_key(line: str) -> str:
    """A line's code as `ast.unparse` would write it, near enough to compare: no comment, no
    spaces, one kind of quote."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote and line[i - 1] != "\\" else quote
        elif char in "'\"":
            quote = char
        elif char == "#":
            line = line[:i]
            break
    return "".join(line.split()).replace("'", '"')


# mutmut's comment (and coverage.py's form of pragma): a line it ends is left as written.
_NO_MUTATE = re.compile(rb"#\s*pragma:\s*no\s+mutate\b")


def _render(edit: Edit) -> str:
    """Source text for the replacement, parenthesized unless it is atomic."""
    text = ast.unparse(ast.fix_missing_locations(edit.replacement))
    if isinstance(edit.replacement, ast.stmt):  # later lines of a block, at the node's column
        indent = " " * edit.node.col_offset  # type: ignore[attr-defined]
        text = text.replace("\n", "\n" + indent)
    atomic = ast.Name | ast.Attribute | ast.Call | ast.Subscript | ast.stmt | ast.Tuple | ast.List
    if isinstance(edit.replacement, atomic):
        return text
    if isinstance(edit.replacement, ast.Constant) and not str(edit.replacement.value).startswith(
        "-"
    ):
        return text
    return f"({text})"


def path_to(root: ast.AST, target: ast.AST) -> AstPath | None:
    """The fields and indices that lead from `root` to `target`, or None."""
    for node, path in _with_paths(root):
        if node is target:
            return path
    return None


def _with_paths(root: ast.AST) -> Iterator[tuple[ast.AST, AstPath]]:
    """Every node under `root` (itself included), with the path that leads to it."""
    stack: list[tuple[ast.AST, AstPath]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        yield node, path
        for name, value in ast.iter_fields(node):
            if isinstance(value, ast.AST):
                stack.append((value, (*path, (name, None))))
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        stack.append((item, (*path, (name, i))))


class _Forms:
    """Normal forms of functions, equal only for identical code: each subtree of an unmutated
    function is written out once, and a mutant's form writes out again only the nodes above
    its edit (ast.dump of the whole function for each mutant was a third of generating the
    student example's 104 mutants, cProfile)."""

    def __init__(self) -> None:
        self.known: set[int] = set()  # the unmutated functions' nodes, alive while `units` is
        self.units: list[ast.AST] = []
        self.memo: dict[int, str] = {}
        # each function's nodes, with the path to each from it (path_to's walk for each
        # mutant was 13% of generating minigrad.tensor's, cProfile); per function, since a
        # closure's nodes are its op's too
        self.paths: dict[int, dict[int, AstPath]] = {}

    def original(self, unit: Function) -> str:
        self._paths_in(unit)
        return self._named(unit, frozenset())

    def path(self, unit: Function, node: ast.AST) -> AstPath | None:
        """The path from the unit's function to `node`, if it is one of its nodes."""
        return self._paths_in(unit).get(id(node))

    def _paths_in(self, unit: Function) -> dict[int, AstPath]:
        """The unit's nodes, by identity, with their paths: walked once per function."""
        paths = self.paths.get(id(unit.node))
        if paths is None:
            self.units.append(unit.node)
            paths = self.paths[id(unit.node)] = {id(n): p for n, p in _with_paths(unit.node)}
            self.known.update(paths)
        return paths

    def mutated(self, unit: Function, path: AstPath, replacement: ast.AST) -> str:
        """The form of the unit with the node at `path` replaced: the edit is made in place
        and undone, where `apply_edit` would copy the whole function for each mutant."""
        above = {id(unit.node)}  # the nodes whose form the edit changes: the path's
        parent: Any = unit.node
        for field_name, at in path[:-1]:
            value = getattr(parent, field_name)
            parent = value if at is None else value[at]
            above.add(id(parent))
        name, index = path[-1]
        if index is None:
            old = getattr(parent, name)
            setattr(parent, name, replacement)
            try:
                return self._named(unit, frozenset(above))
            finally:
                setattr(parent, name, old)
        items = getattr(parent, name)
        kept = items[index]
        new = replacement if isinstance(replacement, list) else [replacement]
        items[index : index + 1] = new
        try:
            return self._named(unit, frozenset(above))
        finally:
            items[index : index + len(new)] = [kept]

    def _named(self, unit: Function, above: frozenset[int]) -> str:
        return f"{unit.file}:{unit.qualname}:{unit.first_line}:{self._form(unit.node, above)}"

    def _form(self, node: Any, above: frozenset[int]) -> str:
        """The node's type and every field, recursively (no positions): ast.dump's content."""
        if isinstance(node, list):
            return "[" + ",".join(self._form(item, above) for item in node) + "]"
        if not isinstance(node, ast.AST):
            return repr(node)
        key = id(node)
        kept = key in self.known and key not in above  # unchanged by the edit
        if kept and key in self.memo:
            return self.memo[key]
        fields = ",".join(self._form(getattr(node, f, None), above) for f in node._fields)
        text = f"{type(node).__name__}({fields})"
        if kept:
            self.memo[key] = text
        return text


def _mutants_of(
    site: Site,
    operator: str,
    texts: dict[str, _Text],
    names: dict[str, str],
    seen: set[str],
    numbers: dict[tuple[str, str], int],
    forms: _Forms,
    left_out: list[tuple[str, str, str, int]],
) -> Iterable[Mutant]:
    for edit in OPERATORS[operator](site):
        unit = edit.unit
        text = texts[unit.file]
        seen.add(forms.original(unit))  # the unmutated function is no mutant
        path = forms.path(unit, edit.node)
        if path is None:
            continue
        # A new top node at the edited node's place; below it the replacement may hold the
        # function's own nodes (a swap's operands), which must keep theirs: a shallow copy
        # (a deep one was a fifth of generating the student example's mutants, cProfile).
        replacement = copy.copy(edit.replacement)
        ast.copy_location(replacement, edit.node)
        normal = forms.mutated(unit, path, replacement)
        if normal in seen:  # identical to the original or to an earlier mutant
            continue
        seen.add(normal)
        rendered = _render(edit)
        if not _is_python(edit.node, rendered):
            where = names.get(unit.file, "")
            left_out.append((site.op, operator, where, getattr(edit.node, "lineno", 0)))
            continue
        key = (site.op, operator)
        numbers[key] = numbers.get(key, 0) + 1
        node = edit.node
        yield Mutant(
            id=make_key(site.op, operator, numbers[key], names.get(unit.file, "")),
            op=site.op,
            operator=operator,
            function=unit.qualname,
            description=edit.description,
            start=(node.lineno, node.col_offset + 1),  # type: ignore[attr-defined]
            end=(node.end_lineno, node.end_col_offset + 1),  # type: ignore[attr-defined]
            original=text.text(node),
            replacement=rendered,
            unit=(unit.qualname, unit.first_line),
            path=path,
            statement=isinstance(node, ast.stmt),
            note=site.note,
            offsets=text.span(node),
            file=unit.file,
        )


def _is_python(node: ast.AST, replacement: str) -> bool:
    """Whether an edit can be compiled where it stands: not at a `*args` (whose marker,
    `(hit() or *args)`, is no Python), and with a replacement that parses as the patcher
    parses it.  An operator's edit that is not (`-*node.children` was one) would stop every
    campaign on the engine with "could not be served": it is no mutant."""
    if isinstance(node, ast.Starred):
        return False
    try:
        if isinstance(node, ast.stmt):
            ast.parse(replacement)
        else:
            ast.parse(replacement.strip(), mode="eval")
    except SyntaxError:
        return False
    return True


def generate_mutants(
    spec: EngineSpec, profile: Profile, operators: Sequence[str] | None = None
) -> Generated:
    """All distinct mutants of an engine, for the chosen operators."""
    chosen = list(OPERATORS) if operators is None else list(operators)
    unknown = [name for name in chosen if name not in OPERATORS]
    if unknown:
        raise MutationError(
            f"unknown operator(s) {', '.join(unknown)}; choose from {', '.join(OPERATORS)}"
        )
    try:
        sites, unreachable = find_sites(spec.index_of, profile)
    except SyntaxError as err:
        raise MutationError(f"the engine does not parse: {err}") from err
    texts = {str(f): _Text(spec.source_of(str(f))) for f in spec.files}
    texts[""] = texts[str(spec.path)]
    names = {str(f): spec.name_of(str(f)) for f in spec.files[1:]}
    seen: set[str] = set()
    numbers: dict[tuple[str, str], int] = {}
    forms = _Forms()
    mutants: list[Mutant] = []
    left_out: list[tuple[str, str, str, int]] = []
    with reading_once():
        for site in sites:
            for operator in chosen:
                made = _mutants_of(site, operator, texts, names, seen, numbers, forms, left_out)
                mutants.extend(made)
    unmutated = unreachable + _unmutated_steps(profile, sites, mutants)
    # Left out after numbering, so that marking a line renames no other mutant.
    kept: list[Mutant] = []
    marked: list[Mutant] = []
    lines: dict[str, int] = {}
    for m in mutants:
        line = next(filter(texts[m.file].marked, m.changed_lines()), None)
        if line is None:
            kept.append(m)
        else:
            marked.append(m)
            lines[m.id] = line
    return Generated(kept, unmutated, sites, left_out, marked, lines)


def _unmutated_steps(
    profile: Profile, sites: Sequence[Site], mutants: Sequence[Mutant]
) -> list[tuple[str, str]]:
    """The ops with backward steps of their own that gave no mutant of a step, with why: a
    step that sets .grad instead of adding to it (milligrad 1.2.0's exp: `self.grad = x *
    out.grad`), or one in a form no operator reads (`vars(x)["grad"] += g`; whalegrad 0.0.2's
    `x.set_grad_fn(lambda ug: ug)` was one, until 2026-12-05).  Said, so that a score is never
    read as covering them."""
    mutated = {m.op for m in mutants if m.operator != "forward"}
    stepped = {op.name for op in profile.ops if op.steps and not op.composite}
    found = []
    for site in sites:
        if site.kind != "op" or site.op in mutated or site.op not in stepped or not site.steps:
            continue
        sets = [n for r in site.steps if (n := grad_set_outright(r.node)) is not None]
        if sets:
            why = (
                f"its step sets .grad outright (line {sets[0].lineno}: {ast.unparse(sets[0])}), "
                "where the operators edit a step that adds to it (+=): make it add, as the "
                "battery asks, and run again"
            )
        else:  # the same words for each such op, so that they are said once for all
            why = (
                "no operator reads a gradient contribution in its step: minigrad knows "
                "`x.grad += g`, a returned gradient, and one handed to a helper, to "
                "x.backward(g), to a method of the node that only adds it (x._acc(g)) or as a "
                "function of the upstream gradient"
            )
        found.append((site.op, why))
    return found
