"""Discovery's shared state: one engine's class, nodes and source, watched while they run.

A :class:`Session` is what every discovery job works on: the scalar discovery
(:mod:`~minigrad_tool.adapter.discovery`) and the tensor one
(:mod:`minigrad_tool.tensor.discovery`) each make one, with their own way of
making a leaf, and hand it to the jobs that find steps
(:mod:`~minigrad_tool.adapter.steps`), points (:mod:`~minigrad_tool.adapter.points`)
and precision (:mod:`~minigrad_tool.adapter.precision`).  It runs engine code, so
it only ever exists in a child process.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType, ModuleType
from typing import Any, Protocol

from minigrad_tool.adapter.classes import class_line, function_of
from minigrad_tool.adapter.live import live_functions
from minigrad_tool.adapter.nodes import (
    NodeAccess,
    backward_name,
    backward_resets,
    backward_seeds,
    coerced,
    coerced_for_minigrad,
    find_children_attribute,
    grad_is_lazy,
    grad_is_owned,
    grad_is_read_only,
    grad_name,
    grad_number,
    grad_reset,
    grad_wrapper,
    is_node,
    leaf_enums,
    leaf_factory,
    leaf_keywords,
    leaf_label,
    leaf_maker,
    make_leaf,
)
from minigrad_tool.adapter.profile import (
    FLOAT64,
    TAKES_ARGUMENTS,
    Op,
    Precision,
    Profile,
    Sweep,
    apply_op,
    binary_add,
    step_owners,
)
from minigrad_tool.adapter.source import SourceIndex
from minigrad_tool.adapter.spec import EngineSpec, parse_snapshot
from minigrad_tool.adapter.trace import CodeKey, Tracer
from minigrad_tool.faults import told
from minigrad_tool.installed import UserFolders

__all__ = ["Point", "Progress", "Session", "Watch", "quiet"]

Point = tuple[float, ...]


class Progress(Protocol):
    """Discovery's phases, in words and as data: `method=` names the method whose call runs
    (a hang or crash there is that op's), `stage="backward"` marks its backward pass."""

    def __call__(self, text: str, /, **data: Any) -> None: ...


def quiet(text: str, /, **data: Any) -> None:
    """A Progress that says nothing."""


@dataclass
class Watch:
    """What one call of an op showed: its output, the code its backward ran."""

    out: Any
    backward_codes: list[CodeKey]
    forward_codes: list[CodeKey]
    error: str = ""
    # Code of other files of the engine's package that ran: (file, code), in call order.
    forward_elsewhere: list[tuple[str, CodeKey]] = field(default_factory=list)
    backward_elsewhere: list[tuple[str, CodeKey]] = field(default_factory=list)


@dataclass
class Session:
    """One engine under discovery: its class and source, how a leaf is made (from a number,
    or from an array for a tensor engine), and what has been found so far."""

    spec: EngineSpec
    module: ModuleType
    cls: type
    progress: Progress
    make: Callable[[type, Any], Any] = make_leaf  # a leaf of the class from a value
    access: NodeAccess = field(init=False)
    sweep_codes: set[CodeKey] = field(default_factory=set)
    sweep_elsewhere: set[tuple[str, CodeKey]] = field(default_factory=set)  # in other files
    sweep_prefix: str = ""  # the backward method's qualname, when a leaf's backward() raised
    skipped: list[tuple[str, str]] = field(default_factory=list)
    broken: list[tuple[str, str]] = field(default_factory=list)  # ops that crash: (method, why)
    # of those, the engine function each crash was raised in: (method, qualified name)
    broken_in: list[tuple[str, str]] = field(default_factory=list)
    # of those, each one's first crashing call, to make again (discovery._coerce_numbers,
    # which then puts the crashes of operators that take no number first in `broken`)
    crashing_calls: list[Callable[[], object]] = field(default_factory=list)
    unreachable: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    precision: Precision = FLOAT64
    backward_helpers: dict[CodeKey, None] = field(default_factory=dict)  # ordered set
    # op -> (file, function) of other files of the package that its backward ran
    elsewhere: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    # op -> the code of other files of the package its backward ran, in call order
    ran_elsewhere: dict[str, list[tuple[str, CodeKey]]] = field(default_factory=dict)

    _indexes: dict[str, SourceIndex | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.access = NodeAccess(self.cls, None)

    def index_for(self, file: str) -> SourceIndex | None:
        """The source of the engine's file (""), or of another file of its package, parsed
        once; None for a file that cannot be read or parsed."""
        if not file or file == self.filename:
            return self.index
        if not self.in_package(file):
            return None
        if file not in self._indexes:
            try:
                self._indexes[file] = parse_snapshot(Path(file).read_bytes(), file)
            except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
                self._indexes[file] = None
        return self._indexes[file]

    @property
    def index(self) -> SourceIndex:
        """The engine's source, parsed once per run (the spec carries it)."""
        return self.spec.index

    @property
    def filename(self) -> str:
        return str(self.spec.path)

    @functools.cached_property
    def package(self) -> str:
        """The folder of the engine's top-level package (its own folder for a lone file), with
        a trailing separator: code run below it, outside the engine's file, is the engine's.
        "" for a lone module installed among other distributions (site-packages): there the
        folder holds everyone's code, and only the engine's file is its."""
        top = sys.modules.get(self.spec.module.partition(".")[0])
        paths = list(getattr(top, "__path__", []))
        folder = Path(paths[0]) if paths else self.spec.path.parent
        if not paths and folder.name in ("site-packages", "dist-packages"):
            return ""
        return f"{folder}{os.sep}"

    @functools.cached_property
    def package_folders(self) -> UserFolders:
        """The package's folder, less the installed code below it, none of it the engine's:
        the `.venv` of a flat project, whose engine.py sits at its root beside it (pytest and
        minigrad itself would be the engine's code)."""
        return UserFolders([self.package])

    def in_package(self, file: str) -> bool:
        """Is this file of the engine's package (another than the engine's own, maybe)?"""
        return self.package_folders.holds(file)

    def leaf(self, value: Any) -> Any:
        return self.make(self.cls, value)

    def backward_in_order(self, ops: Sequence[Op]) -> bool:
        """Does backward() run a node's step only once the nodes that use it gave it its
        gradient (reverse topological order)?  Measured with the engine's own add: x + 2
        gives x the gradient 1 (add's step is right on its own), and (x + 2) + 3 must too; a
        backward() that runs the inner node's step first (the topological order, not
        reversed) gives 0.  True where it cannot tell: no add, add wrong on its own, an
        error."""
        add = binary_add(ops)
        if add is None:
            return True
        try:
            x = self.leaf(0.5)
            apply_op(add, [x, self.leaf(2.0)]).backward()
            if grad_number(x) != 1.0:
                return True
            x = self.leaf(0.5)
            apply_op(add, [apply_op(add, [x, self.leaf(2.0)]), self.leaf(3.0)]).backward()
            return grad_number(x) != 0.0
        except Exception:
            return True

    def added(self, x: Any, other: float) -> Any:
        """x + a leaf of `other`, with the engine's `+`, in a phase that names add: a hang or
        exit there is add's, as discovery's own calls of it are (call only where add killed
        no earlier child)."""
        self.progress(f"{self.cls.__name__}(0.5) + {other:g}", method="__add__")
        return x + self.leaf(other)

    def backward_runs_once(self) -> bool:
        """Does backward() run once in a pass, for the node it is called on (a loop over the
        graph), not again for each node below (a pass that recurses into its inputs'
        backward())?  Counted on x + 2; False where it cannot tell."""
        backward = function_of(getattr(self.cls, "backward", None))
        if backward is None:
            return False
        code, calls = backward.__code__, [0]

        def count(frame: FrameType, event: str, arg: object) -> None:
            if event == "call" and frame.f_code is code:
                calls[0] += 1

        try:
            out = self.added(self.leaf(0.5), 2.0)
            self.progress(
                f"backward() of {self.cls.__name__}(0.5) + 2", method="__add__", stage="backward"
            )
            previous = sys.getprofile()
            sys.setprofile(count)
            try:
                out.backward()
            finally:
                sys.setprofile(previous)
        except Exception:
            return False
        return calls[0] == 1

    def backward_forgets(self) -> float | None:
        """Does a second backward pass give its own graph's gradients alone?  Measured with the
        engine's `+`: x + 2 and its backward() give x the gradient 1; x's gradient set back to
        0, x + 3 and its backward() must give 1 again.  A pass that keeps its topological
        order or visited set between calls (a default argument `topo=[]` of a function defined
        once) runs the first graph's steps again, and x gets 2.  None where it does, or where
        it cannot tell; else the gradient x got (call first: the measure runs two passes)."""

        def passes(x: Any, other: float) -> float:
            out = self.added(x, other)
            self.progress(
                f"backward() of {self.cls.__name__}(0.5) + {other:g}",
                method="__add__",
                stage="backward",
            )
            out.backward()
            return grad_number(x)

        try:
            x = self.leaf(0.5)
            if passes(x, 2.0) != 1.0:
                return None
            self.access.zero_grad(x)
            again = passes(x, 3.0)
        except Exception:
            return None
        return None if again == 1.0 else again

    def no_step_here(self, op: str) -> str:
        """Why an op has no step minigrad can mutate: it lives in another file of the package
        (only the engine's file is traced and mutated), or none was seen running."""
        sweep = {(f, q) for f, (q, _) in self.sweep_elsewhere}  # backward() itself
        ran = self.elsewhere.get(op, set()) - sweep
        steps = {Path(f).name for f, q in ran if "backward" in q.rpartition(".")[2].lower()}
        others = sorted(steps or {Path(f).name for f, _ in ran})
        if others:
            return (
                f"its backward ran code in {', '.join(others)}, but none that its method (or a "
                "function of the package it hands its work to) refers to: no step of its own"
            )
        return "no backward step of its own was seen running"

    def namespace(self, file: str) -> dict[str, Any]:
        """The globals of the module loaded from `file` (the engine's module for "")."""
        if not file or file == self.filename:
            return vars(self.module)
        for module in list(sys.modules.values()):
            if getattr(module, "__file__", None) == file:
                return vars(module)
        return {}

    def uses_elsewhere(self, op: Op, ops: Sequence[Op]) -> list[str]:
        """The ops whose steps in other files of the package the op's backward ran (jungrad's
        `__radd__` is `self.__add__(other)`: it uses add's closures in ops.py)."""
        owner = step_owners(ops, lambda s: (s.file, s.qualname) if s.file else None)
        ran = self.ran_elsewhere.get(op.name, [])
        return [owner[f, q] for f, (q, _) in ran if (f, q) in owner and owner[f, q] != op.name]

    def _uncalled_steps(self, ops: Sequence[Op], sweep: Sweep | None) -> list[tuple[str, str]]:
        """The functions that hold a backward step nothing here calls: the methods discovery
        did not call for taking arguments, and functions of the engine's module
        (mutation.sites.uncalled_step_holders); each with why no case checks its step."""
        from minigrad_tool.mutation.sites import uncalled_step_holders

        methods = {name for name, why in self.skipped if why == TAKES_ARGUMENTS}
        found = uncalled_step_holders(self.index, ops, sweep, methods, self.cls.__qualname__)
        return [
            (
                qualname.rpartition(".")[2],  # a method, named as `skipped` names it
                f"{TAKES_ARGUMENTS}, and it holds a backward step (line {line}) no case checks",
            )
            if "." in qualname
            else (
                f"{self.spec.module}.{qualname}",
                f"holds a backward step (line {line}) that nothing here calls: minigrad calls a "
                "function of the module only where it takes one node and is named like an op "
                "it knows (tanh, exp, sum, ...), so no case checks that step",
            )
            for qualname, line in found
        ]

    def profile(self, ops: Sequence[Op], sweep: Sweep | None, **extra: Any) -> Profile:
        """What was found, as the profile that crosses to the parent."""
        if sweep is not None and any(op.name == "add" for op in ops):
            sweep = dataclasses.replace(sweep, once=self.backward_runs_once())
        maker = leaf_maker(self.cls)  # the class, or the factory that makes its leaves
        resets = backward_resets(self.cls)
        uncalled = self._uncalled_steps(ops, sweep)
        said = {name for name, _ in uncalled}  # as not checked, not also as no op
        return Profile(
            spec=self.spec.text,
            module=self.spec.module,
            path=str(self.spec.path),
            class_name=self.cls.__name__,
            class_qualname=self.cls.__qualname__,
            class_line=class_line(self.cls),
            children_attr=self.access.children_attr,
            data_attr=self.access.data_attr,
            precision=self.precision,
            ops=tuple(self._placed(op) for op in ops),
            sweep=sweep,
            skipped=tuple(s for s in self.skipped if s[0] not in said),
            uncalled=tuple(uncalled),
            unreachable=tuple(self.unreachable),
            notes=(
                *self.notes,
                *self._factory_notes(),
                *self._alias_notes(),
                *self._grad_notes(extra.get("grad_accumulates", not resets)),
            ),
            broken=tuple(self.broken),
            broken_in=tuple(self.broken_in),
            leaf_keywords=leaf_keywords(maker),
            leaf_label=leaf_label(maker),
            leaf_enums=tuple(
                (name, f"{type(m).__name__}.{m.name}", type(m).__module__)
                for name, m in leaf_enums(maker)
            ),
            leaf_factory=leaf_factory(self.cls),
            grad_writable=not grad_is_owned(self.cls),
            grad_starts_none=self._grad_starts_none(),
            backward_resets=resets,
            backward_seeds=backward_seeds(self.cls),
            backward_in_order=self.backward_in_order(ops),
            backward_name=backward_name(self.cls),
            grad_name=grad_name(self.cls),
            coerced=coerced(self.cls),
            coerced_for_minigrad=coerced_for_minigrad(self.cls),
            live_nested=self._live_nested(),
            **{"grad_accumulates": not resets, **extra},
        )

    def _live_nested(self) -> tuple[tuple[str, str, int], ...]:
        """The nested functions of the engine's files (its own and its package's) that it
        keeps as objects (adapter.live): the units of the code nested in them."""
        modules, files = [self.module], {self.filename: ""}
        for module in list(sys.modules.values()):
            file = getattr(module, "__file__", None)
            if isinstance(file, str) and file != self.filename and self.in_package(file):
                modules.append(module)
                files[file] = file
        return tuple(sorted(k for k in live_functions(modules, files) if "<locals>" in k[1]))

    def _grad_starts_none(self) -> bool:
        """Is a fresh leaf's `.grad` None?  (False where no leaf can be made from 0.5.)"""
        try:
            return getattr(self.leaf(0.5), "grad", 0.0) is None
        except Exception:
            return False

    def _placed(self, op: Op) -> Op:
        """The op's file said as the profile says it: "" for the engine's own."""
        if op.file in (self.filename, "") or not self.in_package(op.file):
            return dataclasses.replace(op, file="")
        return op

    def _factory_notes(self) -> list[str]:
        factory = leaf_factory(self.cls)
        if not factory:
            return []
        return [f"{self.cls.__name__}(0.5) cannot make a leaf: leaves are made with {factory}()"]

    def _alias_notes(self) -> list[str]:
        """The engine's own names for its backward pass and a node's gradient, where minigrad
        gives the class its names for them (adapter.nodes.alias_backward, alias_grad)."""
        aliased = "an alias it gives the class in its own processes (your files are unchanged)"
        notes = []
        name, grad = backward_name(self.cls), grad_name(self.cls)
        if name != "backward":
            notes.append(
                f"its backward pass is {self.cls.__name__}.{name}(): minigrad calls it as "
                f"backward(), {aliased}; the tests it writes call {name}()"
            )
        if grad != "grad":
            notes.append(
                f"its nodes keep their gradient in .{grad}: minigrad reads and writes it as "
                f".grad, {aliased}; the tests it writes read .{grad}"
            )
        return notes

    def _grad_notes(self, accumulates: bool) -> list[str]:
        if not grad_is_owned(self.cls):
            return []
        wrapper, grad = grad_wrapper(self.cls), grad_name(self.cls)
        locked = True
        if grad_is_lazy(self.cls):
            owned = f".{grad} appears only once a backward sets it"
        elif wrapper:
            owned = f".{grad} holds the engine's own {wrapper} once a backward makes one"
        elif grad_is_read_only(self.cls):
            owned = f".{grad} is a read-only property"
        else:  # writable, but backward() zeroes it first (adapter.nodes.backward_resets)
            locked = False
            owned = (  # how it was measured, and why it is wrong: the failure (check.crashed)
                f"{backward_name(self.cls)}() sets .{grad} to zero on every node it reaches "
                "before the pass (one failure says so)"
            )
        checked = (
            "accumulation is checked by a second backward into the same inputs"
            if accumulates
            else "a second backward into the same inputs must set their gradients again"
        )
        reset = grad_reset(self.cls) if locked else None
        return [
            f"{owned}: nothing is pre-seeded; {checked}"
            + (f", and gradients are reset with {reset}()" if reset else "")
        ]

    # --- running engine code under watch ------------------------------------------------

    def watch(self, op: Op, point: Point, constant: float) -> Watch:
        """Call a scalar op at `point` and run backward() from its output, watching."""
        leaves = [self.leaf(x) for x in point]
        with Tracer(self.filename, package=self.package_folders) as forward:
            out = apply_op(op, leaves, constant)
        if not is_node(out):
            raise TypeError(f"returned {type(out).__name__}, not a node")
        if self.access.children_attr is None:
            self.access.children_attr = find_children_attribute(out, tuple(leaves))
        watch = Watch(out, [], forward.codes, forward_elsewhere=forward.package_codes)
        return self._backward(op, watch, out, set())

    def trace(
        self,
        op: Op,
        call: Callable[[Callable[[Any], Any]], Any],
        loss: Callable[[Any], Any] | None,
        skip: set[str],
    ) -> Watch:
        """`call(leaf)` (a tensor op on arrays), then backward() from `loss(out)` (or `out`),
        watching; code of the functions named in `skip` is set aside."""
        made: list[Any] = []

        def leaf(value: Any) -> Any:
            made.append(self.leaf(value))
            return made[-1]

        with Tracer(self.filename, package=self.package_folders) as forward:
            out = call(leaf)
        if self.access.children_attr is None:  # a known name, else what holds the inputs
            found = find_children_attribute(out)
            self.access.children_attr = found or find_children_attribute(out, tuple(made))
        root = loss(out) if loss is not None else out
        watch = Watch(out, [], forward.codes, forward_elsewhere=forward.package_codes)
        return self._backward(op, watch, root, skip)

    def _backward(self, op: Op, watch: Watch, root: Any, skip: set[str]) -> Watch:
        self.progress(f"backward() of {op.describe_call()}", method=op.method, stage="backward")
        with Tracer(self.filename, package=self.package_folders) as backward:
            try:
                root.backward()
            except Exception as err:  # a broken backward is gradcheck's finding, not absence
                watch.error = told(err)
        watch.backward_codes = [
            c for c in backward.codes if not self.in_sweep(c) and c[0] not in skip
        ]
        watch.backward_elsewhere = [
            (f, c)
            for f, c in backward.package_codes
            if (f, c) not in self.sweep_elsewhere and c[0] not in skip
        ]
        self.elsewhere.setdefault(op.name, set()).update(backward.elsewhere)
        self.ran_elsewhere.setdefault(op.name, []).extend(watch.backward_elsewhere)
        return watch

    def value_at(self, op: Op, point: Point, constant: float) -> float:
        out = apply_op(op, [self.leaf(x) for x in point], constant)
        return self.access.value(out) if is_node(out) else math.nan

    # --- the generic backward sweep ---------------------------------------------------------

    def find_sweep(self) -> Sweep | None:
        """backward() on a leaf runs only the generic sweep: remember its code.  An engine
        whose backward() fails on a leaf (DeZero sorts a None creator) gets the backward
        method's own code set aside instead."""
        backward = function_of(getattr(self.cls, "backward", None))
        if backward is None:
            return None
        code = backward.__code__
        try:
            leaf = self.leaf(0.5)
            with Tracer(self.filename, package=self.package_folders) as t:
                leaf.backward()
        except Exception as err:
            self.sweep_prefix = code.co_qualname
            self.notes.append(f"backward() on a leaf raises {told(err)}")
            return Sweep(code.co_qualname, code.co_firstlineno) if self._own(code) else None
        self.sweep_codes = set(t.codes)
        self.sweep_elsewhere = set(t.package_codes)  # a sweep in autograd.py (jungrad)
        for key in t.codes:  # helpers the sweep calls: a topological sort, say
            if key[0] != code.co_qualname and not key[0].startswith(f"{code.co_qualname}."):
                self.backward_helpers[key] = None
        # the sweep's code in other files of the package (jungrad's autograd.backward)
        elsewhere = tuple((f, q, line) for f, (q, line) in t.package_codes)
        if self._own(code):
            return Sweep(code.co_qualname, code.co_firstlineno, elsewhere=elsewhere)
        if self.in_package(code.co_filename):  # a base class in another file
            where = (code.co_filename, code.co_qualname, code.co_firstlineno)
            return Sweep("", 0, elsewhere=(where, *(e for e in elsewhere if e != where)))
        self.notes.append(f"backward() is defined in {code.co_filename}: it is not mutated")
        return None

    def _own(self, code: CodeType) -> bool:
        return code.co_filename == self.filename

    def in_sweep(self, key: CodeKey) -> bool:
        prefix = self.sweep_prefix
        return key in self.sweep_codes or bool(
            prefix and (key[0] == prefix or key[0].startswith(f"{prefix}."))
        )
