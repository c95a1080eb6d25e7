"""Run a mutant: compile its one mutated function and swap the code object in, in memory.

Only the unit (the method or module-level function the edit is in) is
compiled, inside a copy of its enclosing class statements so that private
names and `super()` compile as in the engine.  The live function object keeps
its identity; only its `__code__` changes, so every reference to it (a class
attribute, a name the user's tests imported, a step a node holds) runs the
mutant.  Nothing is written anywhere, and the original code can be put back.

The mutated code carries a marker, a call to ``__minigrad_hit__``, at the
edit: a mutant whose marker never fired was not executed, and may not be
called equivalent, nor counted as killed by code that never ran it.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import CodeType, FunctionType, ModuleType
from typing import Any

from minigrad_tool.adapter.live import UnitKey, live_functions
from minigrad_tool.adapter.loader import RELOADED, engine_modules, import_others
from minigrad_tool.adapter.order import served_displays
from minigrad_tool.adapter.source import Function, SourceIndex
from minigrad_tool.adapter.spec import EngineSpec
from minigrad_tool.faults import InternalError
from minigrad_tool.mutation import compiled
from minigrad_tool.mutation.mutants import AstPath, Mutant, path_to

__all__ = ["HIT", "SITE", "Patcher", "patcher_for"]

HIT = "__minigrad_hit__"
SITE = "__minigrad_site__"


@dataclass
class _Hits:
    count: int = 0

    def __call__(self) -> None:
        self.count += 1


def _copy_path(root: ast.AST, path: AstPath) -> tuple[ast.AST, ast.AST, str, int | None]:
    """A copy of `root` sharing every subtree off `path`; and the parent and field at its end.

    Copying only the nodes on the path (not the whole function) keeps a
    mutant's compile cheap; the shared subtrees are only read.
    """
    top = copy.copy(root)
    node = top
    for name, index in path[:-1]:
        value = getattr(node, name)
        if index is None:
            child = copy.copy(value)
            setattr(node, name, child)
        else:
            value = list(value)
            child = copy.copy(value[index])
            value[index] = child
            setattr(node, name, value)
        node = child
    name, index = path[-1]
    if index is not None:
        setattr(node, name, list(getattr(node, name)))
    return top, node, name, index


def _located(nodes: list[ast.AST], like: ast.AST) -> None:
    """Give new nodes (and all inside them) the position of the node they replace."""
    for top in nodes:
        for node in ast.walk(top):
            if "lineno" in node._attributes:
                ast.copy_location(node, like)


def _marked(mutant: Mutant, unit: ast.AST) -> ast.AST:
    """A copy of the unit with the mutant's edit in place, and the hit marker at it."""
    root, parent, name, index = _copy_path(unit, mutant.path)
    call = ast.Call(ast.Name(HIT, ast.Load()), [], [])
    if mutant.statement:
        replacement = ast.parse(mutant.replacement).body
        marker: ast.stmt = ast.Expr(call)
        items = getattr(parent, name)
        assert index is not None
        _located([marker, *replacement], items[index])
        items[index : index + 1] = [marker, *replacement]
    else:
        # `(hit() or expr)`: the marker fires before the mutated expression runs, even if
        # it raises, and the value is the expression's (hit() returns None).
        expr = ast.parse(mutant.replacement.strip(), mode="eval").body
        marked = ast.BoolOp(ast.Or(), [call, expr])
        old = getattr(parent, name)[index] if index is not None else getattr(parent, name)
        _located([marked], old)
        if index is None:
            setattr(parent, name, marked)
        else:
            getattr(parent, name)[index] = marked
    return root


def _path_key(path: AstPath) -> tuple[int, tuple[tuple[str, int], ...]]:
    return len(path), tuple((name, -1 if index is None else index) for name, index in path)


def _sites_marked(unit: ast.AST, marks: dict[AstPath, tuple[int, bool]]) -> ast.AST:
    """A copy of the unit with a site marker at every path (no edit): ``__minigrad_site__(k)``.

    Deepest paths first, and later statements of a list before earlier ones,
    so that no marker moves a node another path still has to reach.
    """
    root = copy.deepcopy(unit)
    for path in sorted(marks, key=_path_key, reverse=True):
        k, statement = marks[path]
        node: Any = root
        for name, index in path[:-1]:
            node = getattr(node, name) if index is None else getattr(node, name)[index]
        name, index = path[-1]
        call = ast.Call(ast.Name(SITE, ast.Load()), [ast.Constant(k)], [])
        if statement:
            items = getattr(node, name)
            assert index is not None
            marker = ast.Expr(call)
            _located([marker], items[index])
            items.insert(index, marker)
            continue
        old = getattr(node, name) if index is None else getattr(node, name)[index]
        marked = ast.BoolOp(ast.Or(), [call, old])
        _located([marked.values[0]], old)
        ast.copy_location(marked, old)
        if index is None:
            setattr(node, name, marked)
        else:
            getattr(node, name)[index] = marked
    return root


def _wrapped_in_classes(node: ast.AST, classes: tuple[str, ...]) -> ast.Module:
    body: ast.stmt = node  # type: ignore[assignment]
    for name in reversed(classes):
        fields: dict[str, Any] = {"name": name, "bases": [], "keywords": [], "body": [body]}
        fields["decorator_list"] = []
        if "type_params" in ast.ClassDef._fields:
            fields["type_params"] = []
        cls = ast.ClassDef(**fields)
        ast.copy_location(cls, body)
        body = cls
    return ast.Module(body=[body], type_ignores=[])


def _enclosed(unit: Function, node: ast.AST) -> tuple[ast.AST, tuple[str, ...]]:
    """What to compile for `node`, the unit's function as it is to run, and the names that
    lead to its code in what compiles.  A nested function (TinyTorch's backward(), which
    `enable_autograd()` defines and sets on the class) is compiled inside the functions around
    it, so that the names it reads from them are its closure's cells as in the live function
    (compiled alone, they would be globals)."""
    outermost = unit.outermost
    if outermost is unit:
        return node, (*unit.classes, unit.name)
    path = path_to(outermost.node, unit.node)
    if path is None:
        raise InternalError(f"{unit.qualname} is not inside {outermost.qualname}")
    top, parent, name, index = _copy_path(outermost.node, path)
    if index is None:
        setattr(parent, name, node)
    else:
        getattr(parent, name)[index] = node
    return top, tuple(part for part in unit.qualname.split(".") if part != "<locals>")


def _find_code(code: CodeType, names: tuple[str, ...]) -> CodeType | None:
    """Follow class bodies and then the function name down the nested code constants."""
    if not names:
        return code
    for const in code.co_consts:
        if isinstance(const, CodeType) and const.co_name == names[0]:
            found = _find_code(const, names[1:])
            if found is not None:
                return found
    return None


def _unit_key(mutant: Mutant) -> UnitKey:
    return (mutant.file, *mutant.unit)


def _uses_class_cell(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id in ("super", "__class__") for n in ast.walk(node))


def _keeps_class_cell(original: ast.AST, mutated: ast.AST) -> ast.AST:
    """A mutant that deletes a method's only `super()` call (mygrad's `return
    super().backward_var(...)`) must keep its `__class__` cell, or its code no longer fits the
    live function: a `__class__` statement (it only reads the cell) goes first."""
    if not (
        isinstance(mutated, ast.FunctionDef | ast.AsyncFunctionDef)
        and _uses_class_cell(original)
        and not _uses_class_cell(mutated)
    ):
        return mutated
    keep = ast.Expr(ast.Name("__class__", ast.Load()))
    _located([keep], mutated.body[0])
    kept = copy.copy(mutated)
    kept.body = [keep, *mutated.body]  # a new list: the original's is shared
    return kept


def _keeps_closure(mutated: ast.AST, cells: Sequence[str]) -> ast.AST:
    """A nested function's mutant that no longer reads a name of the function around it
    (a backward() that calls a helper defined beside it, the call dropped) would lose that
    cell, and its code no longer fits the live function: `if False: (cells,)` first, which
    never runs, reads every name the original's cells hold (`cells`: its co_freevars)."""
    if not cells or not isinstance(mutated, ast.FunctionDef | ast.AsyncFunctionDef):
        return mutated
    names: list[ast.expr] = [ast.Name(name, ast.Load()) for name in cells]
    keep = ast.If(ast.Constant(False), [ast.Expr(ast.Tuple(names, ast.Load()))], [])
    _located([keep], mutated.body[0])
    kept = copy.copy(mutated)
    kept.body = [keep, *mutated.body]  # a new list: the original's is shared
    return kept


@dataclass
class Patcher:
    """Swaps mutants into the live engine in this process (a child), and back."""

    index: SourceIndex
    filename: str
    modules: list[ModuleType]
    others: dict[str, SourceIndex] = field(default_factory=dict)  # other files mutated
    version: str = ""  # the engine's files' digest: where their compiled mutants are kept
    served: bool = False  # the engine's file runs with its set displays served (adapter.order)
    hits: _Hits = field(default_factory=_Hits)
    _live: dict[UnitKey, list[FunctionType]] | None = None
    _patched: list[tuple[FunctionType, CodeType]] = field(default_factory=list)
    _sites: list[tuple[FunctionType, CodeType]] = field(default_factory=list)
    _site_mutants: list[tuple[str, ...]] = field(default_factory=list)
    _site_codes: dict[UnitKey, CodeType] = field(default_factory=dict)  # by unit
    marked: set[str] = field(default_factory=set)  # the mutants whose sites record_sites sees
    _recording: Callable[[int], None] | None = None  # sites being recorded into
    _applied: tuple[Mutant, CodeType] | None = None  # the mutant swapped in
    # Each mutant's code, compiled once per child: a kill is confirmed on the original and in
    # every graph order, each a restore and a new swap of the same mutant.
    _compiled: dict[str, CodeType] = field(default_factory=dict)

    def reloaded(self, module: ModuleType) -> None:
        """The engine ran again (a test reloaded it): its new functions get what the old
        ones have now, the mutant or the site markers, so the reload is no new engine."""
        if module not in self.modules:
            self.modules.append(module)
        self._live = None
        live = self.live()
        for key, code in self._site_codes.items():
            for function in live.get(key, []):
                pair = (function, code)
                if pair in self._sites or len(function.__code__.co_freevars) != len(
                    code.co_freevars
                ):
                    continue
                self._sites.append(pair)
                if self._recording is not None:
                    function.__globals__[SITE] = self._recording
                    self._patched.append((function, function.__code__))
                    function.__code__ = code
        if self._applied is not None:
            mutant, code = self._applied
            for function in live.get(_unit_key(mutant), []):
                if function.__code__ is code:
                    continue
                if len(function.__code__.co_freevars) == len(code.co_freevars):
                    function.__globals__[HIT] = self.hits
                    self._patched.append((function, function.__code__))
                    function.__code__ = code

    def live(self) -> dict[UnitKey, list[FunctionType]]:
        """Every function object of the engine's files reachable from their modules."""
        if self._live is None:
            files = {self.filename: "", **{f: f for f in self.others}}
            self._live = live_functions(self.modules, files)
        return self._live

    def _compile_unit(self, unit: Function, node: ast.AST, what: str) -> CodeType:
        top, names = _enclosed(unit, node)
        if self.served and not unit.file:  # as the loader runs the engine's file
            top = served_displays(top)
        module = _wrapped_in_classes(top, unit.outermost.classes)
        code = compile(module, unit.file or self.filename, "exec", dont_inherit=True)
        found = _find_code(code, names)
        if found is None:
            raise InternalError(f"{what}: no code for {unit.qualname} after compiling")
        return found

    def _index_of(self, file: str) -> SourceIndex:
        """The source of the engine's file (""), or of another file mutated."""
        return self.others[file] if file else self.index

    def compile(self, mutant: Mutant) -> CodeType:
        found = self._compiled.get(mutant.id)
        if found is None:
            found = self._compiled[mutant.id] = self._compile_mutant(mutant)
        return found

    def _kept(self, mutant: Mutant, unit: Function) -> tuple[str, CodeType | None]:
        """The mutant's key in mutation.compiled, and the code kept under it, if any.  The
        engine's files are those of `version` (their digest): the function is named by its
        file, qualified name and first line, the edit by its path and replacement."""
        key = compiled.key_of(
            [
                unit.file or self.filename,
                repr(mutant.unit),
                repr((mutant.path, mutant.replacement, mutant.statement)),
            ]
        )
        return key, compiled.load(self.version, key) if self.version else None

    def _compile_mutant(self, mutant: Mutant) -> CodeType:
        """The mutant's code: kept from an earlier run (mutation.compiled), else compiled."""
        unit: Function | None = self._index_of(mutant.file).function(*mutant.unit)
        if unit is None:
            raise InternalError(f"mutant {mutant.id}: {mutant.function} is not in the source")
        key, code = self._kept(mutant, unit)
        if code is None:
            marked = _keeps_class_cell(unit.node, _marked(mutant, unit.node))
            if unit.parent is not None:  # nested: the cells of the live function it replaces
                targets = self.live().get(_unit_key(mutant), [])
                marked = _keeps_closure(marked, targets[0].__code__.co_freevars if targets else ())
            code = self._compile_unit(unit, marked, f"mutant {mutant.id}")
            if self.version:
                compiled.keep(self.version, key, code)
        return code

    def warm(self) -> None:
        """In a host, before it forks: what every child that loads a kept mutant's code
        (mutation.compiled) would work out first, worked out once.  Each child loads only its
        own mutant's: loading every mutant's in the host took 3.8 ms of its start for the
        student example's 104, of which a rerun after one op changed swaps in 22."""
        if self.version:
            compiled.warm(self.version)

    def prepare_sites(self, mutants: Iterable[Mutant]) -> None:
        """Compile, once, every unit with a marker at each of its mutants' sites (no edit).

        Running a test on these records which mutants' code it runs, at the
        cost of one C call per marker passed: mutmut's stats run without
        tracing every line of the program.
        """
        by_unit: dict[UnitKey, dict[AstPath, tuple[int, bool]]] = {}
        for mutant in mutants:
            marks = by_unit.setdefault(_unit_key(mutant), {})
            if mutant.path not in marks:
                marks[mutant.path] = (len(self._site_mutants), mutant.statement)
                self._site_mutants.append(())
            k = marks[mutant.path][0]
            self._site_mutants[k] = (*self._site_mutants[k], mutant.id)
        for key, marks in by_unit.items():
            unit = self._index_of(key[0]).function(*key[1:])
            targets = self.live().get(key, [])
            if unit is None or not targets:
                continue  # judging the mutant says why it cannot run
            code = self._compile_unit(unit, _sites_marked(unit.node, marks), "site markers")
            self._site_codes[key] = code
            self.marked.update(m for k, _ in marks.values() for m in self._site_mutants[k])
            self._sites += [
                (f, code) for f in targets if len(f.__code__.co_freevars) == len(code.co_freevars)
            ]

    def record_sites(self) -> Callable[[], set[str]]:
        """Swap the site-marked code in (until `restore`); the IDs of the mutants whose
        sites ran since, on each call."""
        ran: set[int] = set()
        self._recording = ran.add
        for function, code in self._sites:
            function.__globals__[SITE] = ran.add
            if function.__code__ is not code:
                self._patched.append((function, function.__code__))
                function.__code__ = code

        def mutants() -> set[str]:
            return {m for k in ran for m in self._site_mutants[k]}

        return mutants

    def apply(self, mutant: Mutant) -> None:
        """Swap the mutant in: every live function of its unit runs the mutated code."""
        targets = self.live().get(_unit_key(mutant))
        if not targets:
            raise InternalError(
                f"mutant {mutant.id}: no live function {mutant.function} (line {mutant.unit[1]}) "
                "to patch; is it created inside another function?"
            )
        code = self.compile(mutant)
        for function in targets:
            if len(function.__code__.co_freevars) != len(code.co_freevars):
                raise InternalError(
                    f"mutant {mutant.id}: {mutant.function} has closure variables the "
                    "mutated code does not"
                )
            function.__globals__[HIT] = self.hits
            self._patched.append((function, function.__code__))
            function.__code__ = code
        self._applied = (mutant, code)

    @property
    def applied(self) -> str | None:
        """The ID of the mutant swapped in, None while the engine runs unmutated."""
        return self._applied[0].id if self._applied is not None else None

    def restore(self) -> None:
        for function, code in reversed(self._patched):
            function.__code__ = code
        self._patched.clear()
        self._applied = None
        self._recording = None


def patcher_for(spec: EngineSpec, index: SourceIndex) -> Patcher:
    """The one way to get a Patcher: over every module object the engine's file was loaded as.

    Call it in the process that imported the engine (a host), after the import.
    """
    import_others(spec)
    modules = [m for path in spec.files for m in engine_modules(path)]
    others = {str(path): spec.index_of(str(path)) for path, _ in spec.others}
    patcher = Patcher(index, str(spec.path), modules, others, spec.sha256, spec.order_sensitive)
    RELOADED.append(patcher.reloaded)
    return patcher
