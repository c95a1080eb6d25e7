"""Discover an engine: its class, children, ops, backward steps and precision.

This runs engine code, so it only ever runs in a child process.  It learns by
watching: each candidate method is called on real nodes; the attribute the
result carries and the code that runs during its `backward()` show the op's
backward step, whatever its style:

* micrograd: a nested function under any name, `out._backward = _backward`;
* a `lambda` (of `setattr` calls, say);
* a method of the class or module referenced by the op (minigrad's own);
* a `Function`-style class whose `backward` the generic sweep calls;
* local derivatives (`_local_grads`) stored on the node and applied by one
  generic `backward()`, as in Karpathy's microgpt.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import math
import os
import sys
import traceback
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any, Protocol

from minigrad_tool import ops as catalogue
from minigrad_tool.adapter.nodes import (
    DATA_NAMES,
    NodeAccess,
    NotANumber,
    find_children_attribute,
    find_data_attribute,
    is_node,
    is_number,
    leaf_keywords,
    make_leaf,
    mantissa_bits,
    real,
)
from minigrad_tool.adapter.profile import (
    FLOAT64,
    CallForm,
    Op,
    Precision,
    Profile,
    Step,
    Sweep,
    apply_op,
)
from minigrad_tool.adapter.source import Function, SourceIndex, references
from minigrad_tool.adapter.spec import EngineError, EngineSpec
from minigrad_tool.adapter.trace import CodeKey, Tracer

__all__ = ["Progress", "Redirect", "TensorEngine", "discover", "quiet", "resolve_class"]


class Progress(Protocol):
    """Discovery's phases, in words and as data: `method=` names the method whose call runs
    (a hang or crash there is that op's), `stage="backward"` marks its backward pass."""

    def __call__(self, text: str, /, **data: Any) -> None: ...


def quiet(text: str, /, **data: Any) -> None:
    """A Progress that says nothing."""


Point = tuple[float, ...]

# Methods that are never ops, or that might do something other than compute
# (write a file, plot, train): they are not called.
_NOT_OPS = {
    "backward",
    "zero_grad",
    "zerograd",
    "item",
    "tolist",
    "numpy",
    "detach",
    "named",
    "copy",
    "clone",
}
_NOT_OP_PREFIXES = (
    "draw",
    "plot",
    "show",
    "save",
    "print",
    "visual",
    "render",
    "display",
    "dump",
    "export",
    "write",
    "train",
    "fit",
    "build",
    "topo",
    "_topo",
)
# Where ops with no oracle are searched for points at which they are finite and smooth.
_GRID = (0.3, -0.7, 1.3, -1.6, 2.2, 0.8, -0.25, 2.9, -2.6, 1.9, 0.05, 4.5, -4.5)
_WANTED_POINTS = 3
# Where an op is tried for branches its usual points never take (`if x < -50: ...`).
_BRANCH_GRID = (-200.0, -60.0, -25.0, -6.0, -0.5, 0.5, 6.0, 25.0, 60.0, 200.0)
_MAX_BRANCH_POINTS = 4
_REFLECTED = ("radd", "rsub", "rmul", "rdiv", "rpow")


@dataclass
class _Candidate:
    name: str
    function: FunctionType
    form: CallForm | None  # None: a method, to be tried as one
    op: str
    symbol: str


def _function_of(attr: object) -> FunctionType | None:
    if isinstance(attr, staticmethod | classmethod | property):
        return None
    function = inspect.unwrap(attr) if callable(attr) else None
    return function if isinstance(function, FunctionType) else None


def _never_called(name: str) -> bool:
    """Not an op by its name, or possibly harmful to call (it might write or plot).

    Names with `__mutmut_` are the mutant copies mutmut adds to a class it mutates.
    """
    return name in _NOT_OPS or name.lower().startswith(_NOT_OP_PREFIXES) or "__mutmut_" in name


def _takes_no_arguments(function: FunctionType) -> bool:
    """Callable as `x.m()`: every parameter after self has a default."""
    try:
        params = list(inspect.signature(function).parameters.values())[1:]
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params
    )


def _numeric_default(function: FunctionType) -> float | None:
    for p in list(inspect.signature(function).parameters.values())[1:]:
        if isinstance(p.default, int | float) and not isinstance(p.default, bool):
            return float(p.default)
    return None


def resolve_class(module: ModuleType, class_name: str | None, spec_text: str) -> type:
    """`:CLASS`, else `Value`, else the one class with data, grad and backward() on its nodes."""
    if class_name is not None:
        cls = getattr(module, class_name, None)
        if not isinstance(cls, type):
            raise EngineError(
                f"engine {spec_text!r} has no class {class_name!r}"
                + _candidates_hint(module, spec_text)
            )
        return cls
    value = getattr(module, "Value", None)
    if isinstance(value, type):
        return value
    found = [c for c in _node_classes(module) if _makes_nodes(c)]
    if len(found) == 1:
        return found[0]
    if not found:
        near = _nearest_node_class(module)
        raise EngineError(
            f"engine {spec_text!r} has no Value class, and no other class whose instances "
            "carry .data, .grad and .backward()"
            + (f"; the nearest, {near[0]}: {near[1]}" if near else "")
            + _candidates_hint(module, spec_text)
        )
    names = ", ".join(c.__name__ for c in found)
    raise EngineError(
        f"engine {spec_text!r} has several node classes ({names}): "
        f"name one, e.g. --engine {spec_text}:{found[0].__name__}"
    )


def _node_classes(module: ModuleType) -> list[type]:
    own = (module.__name__, f"{module.__name__}.")  # this module, or a module of its package
    classes = [
        c
        for name, c in vars(module).items()
        if isinstance(c, type)
        and not name.startswith("__")
        and (c.__module__ == own[0] or c.__module__.startswith(own[1]))
    ]
    return [c for c in classes if callable(getattr(c, "backward", None))]


def _nearest_node_class(module: ModuleType) -> tuple[str, str] | None:
    """A class of the engine that makes objects from a number, and what they lack."""
    own = (module.__name__, f"{module.__name__}.")
    for name, c in vars(module).items():
        if not isinstance(c, type) or name.startswith("_"):
            continue
        if not (c.__module__ == own[0] or c.__module__.startswith(own[1])):
            continue
        try:
            missing = what_is_missing(c(0.5))
        except MemoryError:
            raise
        except Exception:
            continue
        if missing and missing.count(";") < 2:  # at most two of the three missing
            return f"{name}(0.5)", missing
    return None


def _makes_nodes(cls: type) -> bool:
    """Its instances are nodes, made from a number or (an engine taking arrays only) from an
    array."""
    try:
        return is_node(make_leaf(cls, 0.5))
    except MemoryError:
        raise  # the memory limit, said as such by the child (isolation), not "no class"
    except Exception:
        try:
            return _array_node(cls) is not None
        except EngineError:
            return False


# Where other engines keep a gradient or a backward pass, for saying what was found instead.
_GRAD_NAMES = ("_grad", "gradient", "g", "adjoint")
_BACKWARD_NAMES = ("backwards", "backprop", "back", "_backward_pass", "grad_fn", "propagate")


def _sounds_like_backward(name: str) -> bool:
    """`backwardPropagation`, `run_backprop`: a name that says backward pass, in any style."""
    lowered = name.lower()
    return not name.startswith("__") and ("backward" in lowered or "backprop" in lowered)


def what_is_missing(node: object) -> str:
    """What a would-be node lacks of a number, `.grad` and `backward()`, precisely, with what
    it has instead; "" when nothing is missing."""
    problems = []
    for attr in ("data", "grad"):
        if callable(getattr(node, attr, None)):
            problems.append(
                f"has .{attr} as a method, not a number (a compiled engine?); minigrad reads "
                f"and writes .{attr} as an attribute"
            )
    if not hasattr(node, "data") and find_data_attribute(node, 0.5) is None:
        problems.append(f"has no .data, nor a number in .{', .'.join(DATA_NAMES[1:])}")
    if not hasattr(node, "grad"):
        instead = [n for n in _GRAD_NAMES if is_number(getattr(node, n, None))]
        problems.append(
            "has no .grad"
            + (f" (it keeps a number in .{instead[0]}; minigrad reads .grad)" if instead else "")
        )
    if not callable(getattr(node, "backward", None)):
        instead = [n for n in _BACKWARD_NAMES if callable(getattr(node, n, None))] or [
            n
            for n in sorted(dir(node), key=lambda n: (n.startswith("_"), n))
            if _sounds_like_backward(n) and callable(getattr(node, n, None))
        ]
        problems.append(
            f"has no backward() (found {instead[0]}(), not backward())"
            if instead
            else "has no backward()"
        )
    return "; ".join(problems)


def _array_node(cls: type) -> str | None:
    """Where a class that refuses floats keeps its array, if it takes a numpy array and makes a
    node of it (None when numpy is missing: then it is no engine minigrad can use)."""
    try:
        import numpy

        node = make_leaf(cls, numpy.array([1.0, 2.0]))
    except Exception:
        return None
    missing = what_is_missing(node)
    if missing:
        raise EngineError(
            f"{cls.__name__}(0.5) raises, and {cls.__name__}(numpy.array([1.0, 2.0])) {missing}"
        )
    return find_data_attribute(node) or None


def _holds_arrays(cls: type, data_attr: str = "data") -> str:
    """What a node built from a list (or an array) holds, if it is an array of one or more
    dimensions."""
    try:
        data = getattr(make_leaf(cls, [1.0, 2.0]), data_attr)
    except Exception:
        return ""
    shape = getattr(data, "shape", None)
    if isinstance(shape, tuple) and len(shape) >= 1:
        return f"an array of shape {shape}"
    return ""


# Exceptions that mean the engine's own code is wrong, not that the call is unsupported:
# a name it never defined, an attribute it never set, an operand type it cannot handle.
_PROGRAMMING_ERRORS = (NameError, AttributeError, TypeError, KeyError, IndexError)


def _crash_in_engine(err: Exception, filename: str, op: Op, point: Point) -> str:
    """Why this call crashed in the engine's code, if it did: a programming error raised by a
    line of the engine's file that is not a deliberate `raise` (an engine may refuse a call on
    purpose).  Python's own "unsupported operand" before any engine code runs is no crash."""
    if not isinstance(err, _PROGRAMMING_ERRORS):
        return ""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == filename]
    if not frames:
        return ""
    last = frames[-1]
    if (last.line or "").lstrip().startswith("raise"):
        return ""
    call = op.describe_call()
    at = ", ".join(f"{n}={v!r}" for n, v in zip(("x", "y", "z"), point, strict=False))
    return (
        f"{call} at {at} raised {type(err).__name__}: {err} "
        f"({Path(filename).name}:{last.lineno}: {(last.line or '').strip()})"
    )


def _is_an_op(c: _Candidate) -> bool:
    """An arithmetic dunder or a method named like an op minigrad knows: a crash is a bug."""
    return c.form is not None or catalogue.canonical(c.name) is not None


def _candidates_hint(module: ModuleType, spec_text: str) -> str:
    classes = [c.__name__ for c in _node_classes(module)]
    if not classes:
        return ""
    target = spec_text.rpartition(":")[0] if ":" in spec_text else spec_text
    return f"; classes with a backward(): {', '.join(classes)} (use --engine {target}:CLASS)"


@dataclass
class _Watch:
    """What one call of an op showed: its output, the code its backward ran."""

    out: Any
    backward_codes: list[CodeKey]
    forward_codes: list[CodeKey]
    error: str = ""


@dataclass
class _Discovery:
    spec: EngineSpec
    module: ModuleType
    cls: type
    progress: Progress
    index: SourceIndex = field(init=False)
    access: NodeAccess = field(init=False)
    sweep_codes: set[CodeKey] = field(default_factory=set)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    broken: list[tuple[str, str]] = field(default_factory=list)  # ops that crash: (method, why)
    unreachable: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    precision: Precision = FLOAT64
    backward_helpers: dict[CodeKey, None] = field(default_factory=dict)  # ordered set

    def __post_init__(self) -> None:
        self.index = SourceIndex.parse(self.spec.source)
        self.access = NodeAccess(self.cls, None)
        self.filename = str(self.spec.path)
        # op -> (file, function) of other files of the package that its backward ran
        self.elsewhere: dict[str, set[tuple[str, str]]] = {}

    @functools.cached_property
    def package(self) -> str:
        """The folder of the engine's top-level package (its own folder for a lone file), with
        a trailing separator: code run below it, outside the engine's file, is the engine's."""
        top = sys.modules.get(self.spec.module.partition(".")[0])
        paths = list(getattr(top, "__path__", []))
        folder = Path(paths[0]) if paths else self.spec.path.parent
        return f"{folder}{os.sep}"

    def no_step_here(self, op: str) -> str:
        """Why an op has no step minigrad can mutate: it lives in another file of the package
        (only the engine's file is traced and mutated), or none was seen running."""
        ran = self.elsewhere.get(op, set())
        steps = {Path(f).name for f, q in ran if "backward" in q.rpartition(".")[2].lower()}
        others = sorted(steps or {Path(f).name for f, _ in ran})
        if others:
            return (
                f"its backward ran code in {', '.join(others)}, not in {self.spec.path.name}: "
                "only the engine's own file is mutated, so this op's step is not"
            )
        return "no backward step of its own was seen running"

    def profile(self, ops: Sequence[Op], sweep: Sweep | None, **extra: Any) -> Profile:
        """What was found, as the profile that crosses to the parent."""
        return Profile(
            spec=self.spec.text,
            module=self.spec.module,
            path=str(self.spec.path),
            class_name=self.cls.__name__,
            class_qualname=self.cls.__qualname__,
            class_line=_class_line(self.cls),
            children_attr=self.access.children_attr,
            data_attr=self.access.data_attr,
            precision=self.precision,
            ops=tuple(ops),
            sweep=sweep,
            skipped=tuple(self.skipped),
            unreachable=tuple(self.unreachable),
            notes=tuple(self.notes),
            broken=tuple(self.broken),
            leaf_keywords=leaf_keywords(self.cls),
            **extra,
        )

    # --- running engine code under watch ------------------------------------------------

    def leaf(self, x: float) -> Any:
        return make_leaf(self.cls, x)

    def watch(self, op: Op, point: Point, constant: float) -> _Watch:
        leaves = [self.leaf(x) for x in point]
        with Tracer(self.filename) as forward:
            out = apply_op(op, leaves, constant)
        if not is_node(out):
            raise TypeError(f"returned {type(out).__name__}, not a node")
        if self.access.children_attr is None:
            self.access.children_attr = find_children_attribute(out, tuple(leaves))
        watch = _Watch(out, [], forward.codes)
        self.progress(f"backward() of {op.describe_call()}", method=op.method, stage="backward")
        with Tracer(self.filename, package=self.package) as backward:
            try:
                out.backward()
            except Exception as err:  # a broken backward is a finding for gradcheck, not here
                watch.error = f"{type(err).__name__}: {err}"
        watch.backward_codes = [c for c in backward.codes if c not in self.sweep_codes]
        self.elsewhere.setdefault(op.name, set()).update(backward.elsewhere)
        return watch

    def value_at(self, op: Op, point: Point, constant: float) -> float:
        out = apply_op(op, [self.leaf(x) for x in point], constant)
        return self.access.value(out) if is_node(out) else math.nan

    # --- the class's own facts ------------------------------------------------------------

    def measure_precision(self, add: Op | None) -> None:
        """Mantissa bits of storage and, if there is `+`, of arithmetic: the coarser wins."""
        try:
            width = mantissa_bits(lambda d: self.access.value(self.leaf(1.0 + d)))
            if add is not None:
                width = min(
                    width,
                    mantissa_bits(lambda d: self.access.value(self.leaf(1.0) + self.leaf(d))),
                )
            self.precision = Precision(width)
        except Exception as err:
            self.notes.append(f"precision could not be measured ({err}); float64 assumed")

    def find_sweep(self) -> Sweep | None:
        """backward() on a leaf runs only the generic sweep: remember its code."""
        backward = _function_of(getattr(self.cls, "backward", None))
        if backward is None:
            return None
        leaf = self.leaf(0.5)
        with Tracer(self.filename) as t:
            leaf.backward()
        self.sweep_codes = set(t.codes)
        code = backward.__code__
        for key in t.codes:  # helpers the sweep calls: a topological sort, say
            if key[0] != code.co_qualname and not key[0].startswith(f"{code.co_qualname}."):
                self.backward_helpers[key] = None
        if code.co_filename != self.filename:
            self.notes.append(f"backward() is defined in {code.co_filename}: it is not mutated")
            return None
        return Sweep(code.co_qualname, code.co_firstlineno)

    # --- candidate methods ------------------------------------------------------------------

    def candidates(self) -> list[_Candidate]:
        attrs: dict[str, object] = {}
        for klass in reversed(self.cls.__mro__):
            if klass is object or klass.__module__ == "builtins":
                continue
            attrs.update(vars(klass))
        found: list[_Candidate] = []
        for name, attr in attrs.items():
            function = _function_of(attr)
            if function is None:
                continue
            if name in catalogue.BINARY_DUNDERS:
                op, symbol = catalogue.BINARY_DUNDERS[name]
                found.append(_Candidate(name, function, "binary", op, symbol))
            elif name in catalogue.REFLECTED_DUNDERS:
                op, symbol = catalogue.REFLECTED_DUNDERS[name]
                found.append(_Candidate(name, function, "reflected", op, symbol))
            elif name in catalogue.UNARY_DUNDERS:
                op, symbol = catalogue.UNARY_DUNDERS[name]
                found.append(_Candidate(name, function, "unary", op, symbol))
            elif name.startswith("__") or _never_called(name):
                continue
            elif not _takes_no_arguments(function):
                self.skipped.append((name, "takes arguments besides self: not called"))
            else:
                found.append(_Candidate(name, function, None, name, ""))
        return sorted(found, key=lambda c: c.function.__code__.co_firstlineno)

    # --- one op ---------------------------------------------------------------------------

    def op_for(self, c: _Candidate, form: CallForm, name: str, symbol: str) -> Op:
        code = c.function.__code__
        if form == "method":
            oracle = catalogue.canonical(c.name)
        else:
            oracle = name if name in catalogue.ARITHMETIC or name in _REFLECTED else None
        return Op(
            name=name,
            method=c.name,
            call=form,
            symbol=symbol,
            oracle=oracle,
            parameter=_numeric_default(c.function) if form == "method" else None,
            qualname=code.co_qualname,
            line=code.co_firstlineno,
            steps=(),
            uses=(),
            points=(),
        )

    def steps_of(self, op: Op, watch: _Watch) -> tuple[tuple[Step, ...], tuple[CodeKey, ...]]:
        """The backward steps op owns, from the code its backward ran; and foreign code it ran."""
        method = self.index.function(op.qualname, op.line)
        if method is None:
            self.unreachable.append((op.name, f"{op.qualname} is not in {self.spec.path.name}"))
            return (), ()
        refs = references(method.node)
        steps: list[Step] = []
        foreign: list[CodeKey] = []
        attribute = _attached_attribute(watch.out, self.leaf(0.5))
        for key in watch.backward_codes:
            qualname, first = key
            if qualname.startswith(f"{op.qualname}.<locals>."):
                function = self.index.function(qualname, first)
                style = "lambda" if qualname.endswith("<lambda>") else "closure"
            elif qualname.rpartition(".")[2] in refs:
                function = self.index.function(qualname, first)
                style = "method"
            elif qualname.rpartition(".")[0].rpartition(".")[2] in refs:
                function = self.index.function(qualname, first)
                style = "function-class"
            else:
                foreign.append(key)
                continue
            if function is None:
                continue
            steps.append(
                Step(
                    style,  # type: ignore[arg-type]
                    qualname,
                    function.node.lineno,
                    function.node.col_offset,
                    attribute,
                )
            )
        if not steps and not foreign:
            steps = self.local_grad_steps(op, method, watch.out)
        return tuple(dict.fromkeys(steps)), tuple(foreign)

    def local_grad_steps(self, op: Op, method: Function, out: Any) -> list[Step]:
        """microgpt style: the op passes its local derivatives to the node's constructor."""
        attribute = _local_grads_attribute(out, self.access)
        if attribute is None:
            return []
        position = _constructor_parameter(self.index, self.cls, attribute)
        if position is None:
            return []
        steps = []
        for call in _constructor_calls(method.node, self.cls.__name__):
            arg = _argument(call, *position)
            if arg is not None:
                steps.append(
                    Step("local-grads", op.qualname, arg.lineno, arg.col_offset, attribute)
                )
        return steps

    def forward_helpers(self, op: Op, watch: _Watch) -> tuple[str, ...]:
        """Function-style `forward` code the op ran (owned by a class the op refers to)."""
        method = self.index.function(op.qualname, op.line)
        if method is None:
            return ()
        refs = references(method.node)
        return tuple(
            q
            for q, _ in watch.forward_codes
            if q != op.qualname
            and not q.startswith(f"{op.qualname}.")
            and q.rpartition(".")[0].rpartition(".")[2] in refs
        )

    def points_for(self, op: Op, known: Sequence[Point], constant: float) -> tuple[Point, ...]:
        """The known points where the op's forward works, else a domain search."""
        good = tuple(p for p in known if self._finite_at(op, p, constant))
        if good:
            return good
        return self.search_domain(op, constant)

    def _own_lines(self, op: Op) -> set[int]:
        """The lines of the op's method and of its backward steps."""
        lines: set[int] = set()
        for qualname, line in ((op.qualname, op.line), *((s.qualname, s.line) for s in op.steps)):
            function = self.index.function(qualname, line)
            if function is not None:
                node = function.node
                lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        return lines

    def _lines_run(self, op: Op, point: Point, constant: float, own: set[int]) -> set[int]:
        """The op's own lines that a forward and backward at `point` run (empty if it raises)."""
        try:
            leaves = [self.leaf(x) for x in point]
            with Tracer(self.filename, lines=True) as tracer:
                out = apply_op(op, leaves, constant)
                out.backward()
        except Exception:
            return set()
        return tracer.lines & own

    def branch_points(self, op: Op, chosen: Sequence[Point], constant: float) -> tuple[Point, ...]:
        """Points that run lines of the op the chosen points never run: the other side of an
        `if x < -50` (where the forward is finite and smooth), so those lines get checked."""
        own = self._own_lines(op)
        if not own or not chosen:
            return ()
        seen: set[int] = set()
        for point in chosen:
            seen |= self._lines_run(op, point, constant, own)
        found: list[Point] = []
        base = chosen[0]
        for i in range(op.arity):
            for x in _BRANCH_GRID:
                point = (*base[:i], x, *base[i + 1 :])
                new = self._lines_run(op, point, constant, own) - seen
                if not new or not self._smooth(op, point, constant):
                    continue
                self.progress(f"{op.name} at {point} runs lines {sorted(new)}", method=op.method)
                found.append(point)
                seen |= new
                if len(found) == _MAX_BRANCH_POINTS:
                    return tuple(found)
        return tuple(found)

    def _finite_at(self, op: Op, point: Point, constant: float) -> bool:
        try:
            return math.isfinite(self.value_at(op, point, constant))
        except Exception:
            return False

    def search_domain(self, op: Op, constant: float) -> tuple[Point, ...]:
        """Points where the forward is finite and smooth: two central differences agree."""
        found: list[Point] = []
        grid: list[Point] = (
            [(x,) for x in _GRID]
            if op.arity == 1
            else [(x, y) for x, y in zip(_GRID, (*_GRID[3:], *_GRID[:3]), strict=True)]
        )
        for point in grid:
            self.progress(f"searching the domain of {op.name} at {point}", method=op.method)
            if self._smooth(op, point, constant):
                found.append(point)
                if len(found) == _WANTED_POINTS:
                    break
        return tuple(found)

    def _smooth(self, op: Op, point: Point, constant: float) -> bool:
        """Finite near `point`, and in each coordinate two central differences (steps h, 2h)
        agree: no kink, jump or pole there."""
        h = max(1e-4, 10.0 * (3.0 * self.precision.macheps) ** (1.0 / 3.0))

        def at(i: int, k: int) -> float:
            shifted = list(point)
            shifted[i] += k * h
            return self.value_at(op, tuple(shifted), constant)

        for i in range(len(point)):
            try:
                v = {k: at(i, k) for k in (-2, -1, 0, 1, 2)}
            except Exception:
                return False
            if not all(math.isfinite(x) for x in v.values()):
                return False
            d1 = (v[1] - v[-1]) / (2 * h)
            d2 = (v[2] - v[-2]) / (4 * h)
            if abs(d1 - d2) > 1e-2 * (1.0 + abs(d1)):
                return False
        return True

    def exponents(self, op: Op) -> tuple[float, ...]:
        works = []
        for k in catalogue.EXPONENTS:
            if self._finite_at(op, (1.7,), k):
                works.append(float(k) if not float(k).is_integer() else k)
        return tuple(works)


def _attached_attribute(out: Any, leaf: Any) -> str:
    """The attribute in which the output carries something a fresh leaf does not."""
    names = list(getattr(out, "__dict__", {}))
    for klass in type(out).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    for name in names:
        value, before = getattr(out, name, None), getattr(leaf, name, None)
        if callable(value) and not is_node(value) and value is not before:
            code = getattr(value, "__code__", None)
            if code is None or code is not getattr(before, "__code__", None):
                return str(name)
    for name in names:
        value = getattr(out, name, None)
        if (
            value is not None
            and not is_node(value)
            and type(value) is not type(getattr(leaf, name, None))
        ):
            return str(name)
    return "?"


def _local_grads_attribute(out: Any, access: NodeAccess) -> str | None:
    children = access.children(out)
    for name in list(getattr(out, "__dict__", {})) + [
        s for k in type(out).__mro__ for s in k.__dict__.get("__slots__", ())
    ]:
        if name == access.children_attr:
            continue
        value = getattr(out, name, None)
        if isinstance(value, tuple | list) and children and len(value) == len(children):
            try:
                [real(v, name) for v in value]
            except ValueError:
                continue
            return str(name)
    return None


def _constructor_parameter(index: SourceIndex, cls: type, attribute: str) -> tuple[int, str] | None:
    """(position after self, name) of the __init__ parameter stored in `attribute`."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if not isinstance(init, FunctionType):
            continue
        code = init.__code__
        function = index.function(code.co_qualname, code.co_firstlineno)
        if function is None or isinstance(function.node, ast.Lambda):
            continue
        params = [a.arg for a in function.node.args.args][1:]
        for node in ast.walk(function.node):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) and t.attr == attribute for t in node.targets
            ):
                used = references(node.value)
                for position, name in enumerate(params):
                    if name in used:
                        return position, name
    return None


def _constructor_calls(node: ast.AST, class_name: str) -> list[ast.Call]:
    """Calls that make a node: `Value(...)`, `type(self)(...)`, `self.__class__(...)`."""
    calls = []
    for n in ast.walk(node):
        if not isinstance(n, ast.Call):
            continue
        f = n.func
        if (
            (isinstance(f, ast.Name) and f.id in (class_name, "Value", "cls"))
            or (isinstance(f, ast.Attribute) and f.attr == "__class__")
            or (isinstance(f, ast.Call) and isinstance(f.func, ast.Name) and f.func.id == "type")
        ):
            calls.append(n)
    return calls


def _argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    if position < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args):
        return call.args[position]
    return None


def _fallback_points(arity: int) -> list[Point]:
    """More points to try calling an op at, when its usual ones all raise."""
    if arity == 1:
        return [(x,) for x in _GRID[:6]]
    return [(x, y) for x, y in zip(_GRID[:6], _GRID[6:12], strict=True)]


def _forms(c: _Candidate) -> list[tuple[CallForm, str, str, tuple[Point, ...], float]]:
    """The ways to call a candidate: (form, op name, symbol, points to try first, constant)."""
    if c.form == "binary" and c.op == "pow":
        return [
            ("pow", "pow", "**", ((1.5,), (-0.7,)), 2.0),
            ("binary", "vpow", "**", catalogue.POSITIVE_PAIRS, 2.0),
        ]
    if c.form == "binary":
        return [("binary", c.op, c.symbol, catalogue.PAIRS, 2.0)]
    points: tuple[Point, ...]
    if c.form == "reflected":
        points = ((0.7,), (-2.0,)) if c.op == "rdiv" else ((1.5,), (-0.4,))
        return [("reflected", c.op, c.symbol, points, 2.0)]
    if c.form == "unary":
        known = catalogue.KNOWN.get(c.op)
        points = known.points if known else ((1.5,), (-0.4,))
        return [("unary", c.op, c.symbol, points, 2.0)]
    oracle = catalogue.canonical(c.name)
    points = catalogue.KNOWN[oracle].points if oracle else ()
    return [("method", c.name, "", points, 2.0)]


class TensorEngine(Exception):
    """Its nodes hold arrays: :mod:`minigrad_tool.tensor.discovery` takes over."""

    def __init__(self, cls: type, data_attr: str) -> None:
        self.cls, self.data_attr = cls, data_attr
        super().__init__(f"{cls.__name__} holds arrays in .{data_attr}")


class Redirect(Exception):
    """The class is defined in another module than the one named (a package re-exports it)."""

    def __init__(self, module: str, class_name: str) -> None:
        self.module = module
        self.class_name = class_name
        super().__init__(f"{class_name} is defined in {module}")


def discover(
    spec: EngineSpec,
    module: ModuleType,
    progress: Progress = quiet,
    avoid: Mapping[str, str] | None = None,
) -> Profile:
    """Everything minigrad needs to know about the engine (call in a child process).

    `avoid` names methods whose call killed an earlier discovery child (the engine exited,
    hung or crashed in them): they are not called again, and are broken ops.
    """
    cls, data_attr = _node_class(spec, module, progress)
    d = _Discovery(spec, module, cls, progress)
    d.access.data_attr = data_attr
    if data_attr != "data":
        d.notes.append(f"its nodes keep their number in .{data_attr}, not .data: read there")
    progress(f"calling {cls.__name__}(0.5).backward()")
    sweep = d.find_sweep()
    ops, foreign_codes, forward_codes = _called_ops(d, avoid or {})
    final = _settled(d, ops, foreign_codes, forward_codes)
    add = next((o for o in final if o.name == "add"), None)
    progress("measuring the precision")
    d.measure_precision(add)
    if sweep is not None and d.backward_helpers:
        sweep = dataclasses.replace(sweep, helpers=tuple(d.backward_helpers))
    for op in final:
        if op.composite and not op.uses:
            d.unreachable.append((op.name, d.no_step_here(op.name)))
    return d.profile(final, sweep)


def _node_class(spec: EngineSpec, module: ModuleType, progress: Progress) -> tuple[type, str]:
    """The engine's node class and where its nodes keep their number; Redirect to the module
    that defines it, TensorEngine for nodes holding arrays, EngineError if it is unusable."""
    progress("finding the node class")
    cls = resolve_class(module, spec.class_name, spec.text)
    home = sys.modules.get(cls.__module__)
    home_file = getattr(home, "__file__", None)
    if home is not module and isinstance(home_file, str) and home_file.endswith(".py"):
        raise Redirect(cls.__module__, cls.__name__)
    try:
        leaf = make_leaf(cls, 0.5)
    except Exception as err:
        arrays = _array_node(cls)  # DeZero's Variable takes arrays only
        if arrays is not None:
            raise TensorEngine(cls, arrays) from None
        raise EngineError(f"{cls.__name__}(0.5) raised {type(err).__name__}: {err}") from err
    missing = what_is_missing(leaf)
    if missing:
        raise EngineError(f"engine {spec.text!r} cannot be used: {cls.__name__}(0.5) {missing}")
    data_attr = find_data_attribute(leaf, 0.5) or "data"
    if _holds_arrays(cls, data_attr):
        raise TensorEngine(cls, data_attr)
    try:  # axgrad keeps a compiled CTensor there: nothing minigrad can read or compare
        real(getattr(leaf, data_attr), f"{cls.__name__}(0.5).{data_attr}")
    except NotANumber as err:
        raise EngineError(
            f"engine {spec.text!r} cannot be used: {err}, nor a numpy array; minigrad reads "
            "the number a node holds"
        ) from None
    return cls, data_attr


Codes = dict[str, tuple[CodeKey, ...]]


def _called_ops(
    d: _Discovery, avoid: Mapping[str, str]
) -> tuple[list[Op], Codes, dict[str, list[str]]]:
    """Every candidate method called in each form it takes: the ops, the code their backward
    ran outside their own steps, and the engine functions their forward ran."""
    cls, progress = d.cls, d.progress
    ops: list[Op] = []
    foreign_codes: Codes = {}
    forward_codes: dict[str, list[str]] = {}
    taken: set[str] = set()
    for c in d.candidates():
        if c.name in avoid:
            d.broken.append((c.name, avoid[c.name]))
            continue
        crashes: list[str] = []  # forms of this method that crashed inside the engine's code
        worked = False
        for form, name, symbol, points, constant in _forms(c):
            unique = name if name not in taken else f"{name}_method"
            op = d.op_for(c, form, unique, symbol)
            progress(f"calling {cls.__name__}.{c.name} ({op.describe_call()})", method=c.name)
            watch, error, crash = None, "", ""
            for point in (*points, *_fallback_points(op.arity)):
                try:
                    watch = d.watch(op, point, constant)
                    break
                except Exception as err:
                    error = f"{type(err).__name__}: {err}"
                    crash = _crash_in_engine(err, d.filename, op, point)
            if watch is None:
                d.skipped.append((c.name, f"{op.describe_call()} raised {error}"))
                if crash:
                    crashes.append(crash)
                continue
            worked = True
            steps, foreign = d.steps_of(op, watch)
            progress(
                f"calling {cls.__name__}.{c.name} to choose points for {op.name}", method=c.name
            )
            op = _placed(d, op, form, points, constant, steps, watch)
            foreign_codes[op.name] = foreign
            forward_codes[op.name] = [q for q, _ in watch.forward_codes]
            ops.append(op)
            taken.add(unique)
        if crashes and not worked and _is_an_op(c):
            d.broken.append((c.name, crashes[0]))
    return ops, foreign_codes, forward_codes


def _placed(
    d: _Discovery,
    op: Op,
    form: CallForm,
    points: tuple[Point, ...],
    constant: float,
    steps: tuple[Step, ...],
    watch: _Watch,
) -> Op:
    """The op with its steps, the points to check it at (and its branches'), and notes."""
    chosen = points if form == "pow" else d.points_for(op, points, constant)
    if form != "pow":
        with_steps = dataclasses.replace(op, steps=steps)
        chosen = (*chosen, *d.branch_points(with_steps, chosen, constant))
    note = ""
    if not op.oracle:
        note = (
            "points found by a domain search"
            if chosen
            else ("no point in [-4.5, 4.5] where its forward is finite and smooth")
        )
    return dataclasses.replace(
        op,
        steps=steps,
        points=chosen,
        exponents=d.exponents(op) if form == "pow" else (),
        forward_helpers=d.forward_helpers(op, watch),
        note=note,
    )


def _settled(
    d: _Discovery, ops: list[Op], foreign_codes: Codes, forward_codes: dict[str, list[str]]
) -> list[Op]:
    """Each op's own steps (a function several ops' steps call is none's) and the ops whose
    steps it uses; code no op owns becomes a backward helper."""
    claims = Counter(s.qualname for op in ops for s in op.steps if s.style == "method")
    shared = {q for q, n in claims.items() if n > 1}
    for i, op in enumerate(ops):
        mine = tuple(s for s in op.steps if s.qualname not in shared)
        moved = tuple((s.qualname, s.line) for s in op.steps if s.qualname in shared)
        ops[i] = dataclasses.replace(op, steps=mine)
        foreign_codes[op.name] = (*foreign_codes[op.name], *moved)
    owner = {s.qualname: op.name for op in ops for s in op.steps}
    final = []
    for op in ops:
        foreign = foreign_codes[op.name]
        uses = [owner[q] for q, _ in foreign if q in owner]
        if op.composite:  # local derivatives run no code in backward: the forward shows the ops
            uses += [o.name for o in ops if o.steps and o.qualname in forward_codes[op.name]]
        final.append(
            dataclasses.replace(op, uses=tuple(dict.fromkeys(u for u in uses if u != op.name)))
        )
        for key in foreign:
            if key[0] not in owner:
                d.backward_helpers[key] = None
    return final


def _class_line(cls: type) -> int:
    for attr in vars(cls).values():
        function = _function_of(attr)
        if function is not None:
            return function.__code__.co_firstlineno
    return 0
