"""Discover a tensor engine: its ops, their spellings, backward steps and shared helpers.

Runs engine code, so only in a child.  Each op minigrad knows is looked up on
the node class (dunders, and methods under their usual names), then called on
small arrays: the code its backward runs, seen by the tracer, is its step
(a closure, a method, a `Function.backward`), as for scalar engines.  The
backward is run from `out.sum()`, so `sum`'s own step is set aside; any other
engine function a step calls (`unbroadcast`, say) is a *helper*, one site
that every op calling it shares.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FunctionType, ModuleType
from typing import Any

import numpy as np

from minigrad_tool import ops as catalogue
from minigrad_tool.adapter.classes import function_of
from minigrad_tool.adapter.functions import exported_place, import_op_modules, package_modules
from minigrad_tool.adapter.precision import array_precision
from minigrad_tool.adapter.profile import Op, Profile, Step, bound, call_text, step_owners
from minigrad_tool.adapter.session import Progress, Session
from minigrad_tool.adapter.source import Function
from minigrad_tool.adapter.spec import EngineError, EngineSpec
from minigrad_tool.adapter.steps import (
    delegates_of,
    forward_helpers,
    release_aliases,
    release_lent_classes,
    settle_delegates,
    step_fault,
    steps_of,
)
from minigrad_tool.adapter.trace import CodeKey
from minigrad_tool.adapter.traversal import reuse_walk, walks_past_the_output
from minigrad_tool.mutation.sites import grad_writes
from minigrad_tool.tensor.access import TensorAccess, array_leaf
from minigrad_tool.tensor.calls import ALL_AXES, BINARY
from minigrad_tool.tensor.second_order import supports_second_order

__all__ = ["discover_tensor"]


# minigrad's op name -> (how it is called, the names engines give it).
_DUNDERS: dict[str, tuple[str, str, str]] = {  # op -> (dunder, call form, symbol)
    "add": ("__add__", "binary", "+"),
    "sub": ("__sub__", "binary", "-"),
    "mul": ("__mul__", "binary", "*"),
    "div": ("__truediv__", "binary", "/"),
    "matmul": ("__matmul__", "binary", "@"),
    "pow": ("__pow__", "pow", "**"),
    "neg": ("__neg__", "unary", "-"),
    "radd": ("__radd__", "reflected", "+"),
    "rsub": ("__rsub__", "reflected", "-"),
    "rmul": ("__rmul__", "reflected", "*"),
    "rdiv": ("__rtruediv__", "reflected", "/"),
    "getitem": ("__getitem__", "index", ""),
}
_METHODS: dict[str, tuple[str, ...]] = {
    "exp": ("exp",),
    "log": ("log",),
    "tanh": ("tanh",),
    "relu": ("relu", "ReLU", "Relu"),
    "sigmoid": ("sigmoid", "Sigmoid"),
    "sum": ("sum",),
    "mean": ("mean",),
    "max": ("max", "amax"),
    "reshape": ("reshape", "view"),
    "transpose": ("transpose", "permute"),
    "broadcast_to": ("broadcast_to", "expand"),
}
# Binary ops an engine without the operator may have as a function of two nodes.
_BINARY_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "add": ("add",),
    "sub": ("sub", "subtract"),
    "mul": ("mul", "multiply"),
    "div": ("div", "divide"),
    "matmul": ("matmul",),
}
_AXIS_NAMES = ("axis", "dim", "axes", "dims")
_KEEPDIMS_NAMES = ("keepdims", "keepdim", "keep_dims")

_RNG_SEED = 20261201  # the trial arrays: any fixed seed; positive entries keep log defined


def _positive(*shape: int) -> Any:
    rng = np.random.default_rng(_RNG_SEED)
    return rng.uniform(0.5, 1.5, size=shape)


@dataclass
class _Trial:
    """How to call one op on small arrays."""

    op: Op
    call: Callable[[Callable[[Any], Any]], Any]  # given leaf(array), the op's output


def _op(name: str, method: str, call: str, symbol: str, function: FunctionType) -> Op:
    code = function.__code__
    return Op(
        name=name,
        method=method,
        call=call,  # type: ignore[arg-type]
        symbol=symbol,
        oracle=name,
        parameter=None,
        qualname=code.co_qualname,
        line=code.co_firstlineno,
        steps=(),
        uses=(),
        points=(),
        file=code.co_filename,  # "" once it is known to be the engine's (Session.profile)
    )


def _attribute(cls: type, name: str) -> FunctionType | None:
    for klass in cls.__mro__:
        if klass is object or klass.__module__ == "builtins":
            continue
        if name in vars(klass):
            return function_of(vars(klass)[name])
    return None


def _parameters(function: FunctionType) -> list[inspect.Parameter]:
    try:
        return list(inspect.signature(function).parameters.values())[1:]
    except (TypeError, ValueError):
        return []


def _keyword(function: FunctionType, names: Sequence[str]) -> str:
    params = _parameters(function)
    for p in params:
        if p.name in names and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            return p.name
    if any(p.kind == p.VAR_POSITIONAL for p in params) and names is _AXIS_NAMES:
        return "*"  # `sum(*axes)`: the axis is passed positionally
    return ""


def _trial_for(name: str, op: Op) -> _Trial:
    x23 = _positive(2, 3)

    def binary(leaf: Callable[[Any], Any]) -> Any:
        right = _positive(3, 4) if op.oracle == "matmul" else x23
        if not op.symbol:  # an alias method, `x.add(y)`, or a function, `F.matmul(x, y)`
            return bound(op, leaf(x23))(leaf(right))
        return BINARY[op.symbol](leaf(x23), leaf(right))

    calls: dict[str, Callable[[Callable[[Any], Any]], Any]] = {
        "binary": binary,
        "pow": lambda leaf: leaf(x23) ** 2.0,
        "unary": lambda leaf: -leaf(x23),
        "reflected": lambda leaf: BINARY[op.symbol](2.0, leaf(x23)),
        "index": lambda leaf: leaf(_positive(3, 4))[1:],
        "method": lambda leaf: bound(op, leaf(x23))(),
    }
    # Shape ops: a tuple, or the sizes as arguments; the first spelling that works is kept.
    shaped = {"reshape": ((2, 3), (3, 2)), "transpose": ((2, 3, 4), (2, 0, 1))}
    shaped["broadcast_to"] = ((3, 1), (2, 3, 4))
    if name in shaped:
        start, arg = shaped[name]

        def as_tuple(leaf: Callable[[Any], Any]) -> Any:
            return bound(op, leaf(_positive(*start)))(arg)

        def as_args(leaf: Callable[[Any], Any]) -> Any:
            return bound(op, leaf(_positive(*start)))(*arg)

        def as_pair(leaf: Callable[[Any], Any]) -> Any:
            return bound(op, leaf(_positive(*start)))(*_SWAPPED)

        spellings, styles = [as_tuple, as_args], ["tuple", "args"]
        if name == "transpose":  # torch's transpose(dim0, dim1) takes two axes, no more
            spellings, styles = [*spellings, as_pair], [*styles, "args"]
        return _Trial(op, _Spelled(spellings, styles))
    return _Trial(op, calls[op.call])


def _variants(name: str, op: Op) -> list[_Trial]:
    """More calls of a binary op, for the steps a branch keeps for them: ugrad has one
    `grad_fn` for equal shapes and another for broadcasting, and a Python number may take a
    third path.  A variant the engine refuses shows nothing, and the battery judges it."""
    if op.call != "binary" or not op.symbol:  # an alias's branches run through its operator
        return []
    symbol = BINARY[op.symbol]
    if name == "matmul":
        return [
            _Trial(op, lambda leaf: symbol(leaf(_positive(3)), leaf(_positive(3, 4)))),
            _Trial(op, lambda leaf: symbol(leaf(_positive(2, 2, 3)), leaf(_positive(3, 4)))),
        ]
    return [
        _Trial(op, lambda leaf: symbol(leaf(_positive(2, 3)), leaf(_positive(3)))),
        _Trial(op, lambda leaf: symbol(leaf(_positive(3)), leaf(_positive(2, 3)))),
        _Trial(op, lambda leaf: symbol(leaf(_positive(2, 3)), 2.0)),
    ]


class _Spelled:
    """A call with alternatives: the first spelling that works is the engine's; it is kept."""

    def __init__(
        self, calls: Sequence[Callable[[Callable[[Any], Any]], Any]], styles: Sequence[str]
    ) -> None:
        self.calls, self.styles = list(calls), list(styles)
        self.style = ""

    def __call__(self, leaf: Callable[[Any], Any]) -> Any:
        error: Exception | None = None
        for call, style in zip(self.calls, self.styles, strict=True):
            try:
                out = call(leaf)
            except Exception as err:
                error = error or err
                continue
            self.style = style
            return out
        assert error is not None
        raise error


# The axes a transpose of a (2, 3, 4) input is called with: numpy's permutation, which is not
# its own inverse, and the two axes torch's `transpose(dim0, dim1)` (and CMU needle's
# `transpose(axes)`) swaps: not (2, 0), which reversing every axis (`.T`) also swaps.
_PERMUTED, _SWAPPED = (2, 0, 1), (2, 1)


def _transpose_form(d: Session, op: Op) -> Op:
    """Which standard transpose the engine's is: numpy's permutation of every axis (parameter
    0) or a swap of the two axes it is given (1: torch's, needle's; said in a note).  One that
    is neither keeps numpy's, and the forward check says how it differs."""
    x = _positive(2, 3, 4)
    access = TensorAccess(d.cls, d.access.data_attr)
    spread = op.keywords[:1] == ("args",)
    for form, axes, expected in (
        (0.0, _PERMUTED, np.transpose(x, _PERMUTED)),
        (1.0, _SWAPPED, np.swapaxes(x, *_SWAPPED)),
    ):
        try:
            out = bound(op, d.leaf(x))(*(axes if spread else (axes,)))
            got = np.asarray(access.raw(getattr(out, access.data_attr)), dtype=float)
        except Exception:
            continue
        if got.shape == expected.shape and np.allclose(got, expected):
            if form:
                d.notes.append(
                    f"{op.method}: it swaps the two axes it is given (torch's transpose(dim0, "
                    "dim1)), not numpy's permutation of every axis: checked as a swap"
                )
            return dataclasses.replace(op, parameter=form)
    return dataclasses.replace(op, parameter=0.0)


def _reduction_spelling(d: Session, op: Op, function: FunctionType) -> Op:
    """Which keywords the reduction takes, and whether it keeps dims by default."""
    axis_kw = _keyword(function, _AXIS_NAMES)
    keep_kw = _keyword(function, _KEEPDIMS_NAMES)
    keep_default = False
    if axis_kw:
        x = d.leaf(_positive(2, 3, 4))  # 3-D: an engine that pads arrays to 2-D keeps (3, 4)
        try:
            method = bound(op, x)
            out = method(0) if axis_kw == "*" else method(**{axis_kw: 0})
            held = TensorAccess(d.cls, d.access.data_attr).raw(getattr(out, d.access.data_attr))
            keep_default = tuple(np.shape(held)) == (1, 3, 4)
        except Exception:
            axis_kw = ""
    # fygrad's `mean(axis=-1)`: a reduction over every axis must say `axis=None`
    every = (ALL_AXES,) if axis_kw not in ("", "*") and _default(function, axis_kw) else ()
    return dataclasses.replace(
        op, keywords=(axis_kw, keep_kw, *every), keepdims_default=keep_default
    )


def _default(function: FunctionType, name: str) -> object:
    """The default of a parameter of the function (None where it has none)."""
    for p in _parameters(function):
        if p.name == name and p.default is not p.empty:
            return p.default
    return None


def discover_tensor(
    spec: EngineSpec,
    module: ModuleType,
    cls: type,
    data_attr: str,
    progress: Progress,
    avoid: Mapping[str, str] | None = None,
) -> Profile:
    """Everything minigrad needs to know about a tensor engine (call in a child process)."""
    d = Session(spec, module, cls, progress, make=array_leaf)
    d.access.data_attr = data_attr
    progress(f"calling {cls.__name__}(0.5).backward()")
    sweep = d.find_sweep()
    found = _methods_of(cls)
    found += _functions_of(d, {op.name for op, _ in found})
    ops, foreign = _traced_ops(d, found, avoid or {})
    ops = settle_delegates(d, ops)
    release_aliases(d, ops, foreign)
    release_lent_classes(ops, foreign)
    _require_the_loss(d, spec, ops, found)
    progress("backpropagating a loss (x * w).sum()")  # no one op's fault if this hangs
    grad_is_node = _check_loss(d, spec, ops)
    accumulates = d.access.grad_writable or _accumulates_across_backwards(d, ops)
    ops = _table_steps(d, ops, foreign)
    owner = step_owners(ops, lambda s: s.qualname)
    ops = [
        dataclasses.replace(
            op,
            uses=tuple(
                dict.fromkeys(
                    [owner[q] for q, _ in foreign[op.name] if q in owner]
                    + d.uses_elsewhere(op, ops)
                )
            ),
        )
        for op in ops
    ]
    said = {name for name, _ in d.unreachable}
    for op in ops:
        if not op.steps and not op.uses and op.name not in said:
            d.unreachable.append((op.name, d.no_step_here(op.name)))
    shared = {k: None for op in ops for k in foreign[op.name] if k[0] not in owner}
    helpers = tuple(shared)
    if data_attr != "data":
        d.notes.append(f"its nodes keep their array in .{data_attr}, not .data: read there")
    if grad_is_node:
        d.notes.append("it keeps a node in .grad (DeZero style): its array is read from there")
    min_rank = _min_rank(d)
    if min_rank:
        d.notes.append(
            f"it keeps every array in at least {min_rank} dimensions ((3,) as "
            f"{(1,) * (min_rank - 1) + (3,)}): cases with fewer, in or out, are not run"
        )
    progress("measuring the precision")
    d.precision = array_precision(cls, data_attr)
    second = supports_second_order(cls, TensorAccess(cls, data_attr, grad_is_node))
    if second:
        d.notes.append(
            "its backward() takes create_graph: second order is checked (gradgradcheck by "
            "directional derivatives)"
        )
    return d.profile(
        ops,
        sweep,
        kind="tensor",
        helpers=helpers,
        grad_is_node=grad_is_node,
        second_order=second,
        grad_accumulates=accumulates,
        min_rank=min_rank,
        backward_reuse=reuse_walk(d.leaf, d.access, ops),
        backward_walks=walks_past_the_output(d.leaf, d.access, ops) is not False,
    )


def _methods_of(cls: type) -> list[tuple[Op, FunctionType]]:
    """The ops the class has: its arithmetic dunders, and a method for each known op."""
    found: list[tuple[Op, FunctionType]] = []
    for name, (dunder, form, symbol) in _DUNDERS.items():
        function = _attribute(cls, dunder)
        if function is not None:
            found.append((_op(name, dunder, form, symbol, function), function))
    for name, spellings in _METHODS.items():
        for method in spellings:
            function = _attribute(cls, method)
            if function is not None:
                found.append((_op(name, method, "method", "", function), function))
                break
    return found + _aliases_of(cls, [f for _, f in found])


def _functions_of(d: Session, taken: set[str]) -> list[tuple[Op, FunctionType]]:
    """Ops the class has no method for that a module of the engine's package has as a function
    of the node (`F.sum(x)`, `ops.exp(x)`, clumsygrad's `math.sum`): known op names only, so
    that nothing else of the package is ever called.  It is called, and written in suggested
    tests, through the package itself if that exports it, else the module defining it."""
    names = {s for table in (_METHODS, _BINARY_FUNCTIONS) for ss in table.values() for s in ss}
    import_op_modules(d, names.__contains__)
    modules = package_modules(d)
    found: list[tuple[Op, FunctionType]] = []
    wanted = [(n, s, "method", 1) for n, s in _METHODS.items()]
    wanted += [(n, s, "binary", 2) for n, s in _BINARY_FUNCTIONS.items()]
    for name, spellings, form, arity in wanted:
        if name in taken:
            continue
        places = [
            (module_name, vars(module)[s])
            for module_name, module in modules
            for s in spellings
            if _node_function(vars(module).get(s), d, arity)
        ]
        if places:
            module_name, function = exported_place(d, places)
            op = _op(name, function.__name__, form, "", function)
            where = f"{module_name}:{function.__name__}"
            found.append((dataclasses.replace(op, function=where), function))
    return found


def _node_function(value: object, d: Session, arity: int) -> bool:
    """A plain function of the engine's package taking `arity` positional arguments first
    (nujo's `sum(*inputs, dim=None)` takes them as `*args`)."""
    if not isinstance(value, FunctionType):
        return False
    if not d.in_package(value.__code__.co_filename):
        return False
    try:
        params = list(inspect.signature(value).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    kinds = [p.kind for p in params]
    taken = next((i for i, kind in enumerate(kinds) if kind not in positional), len(kinds))
    return taken >= arity or kinds[taken:][:1] == [inspect.Parameter.VAR_POSITIONAL]


def _aliases_of(cls: type, checked: Sequence[FunctionType]) -> list[tuple[Op, FunctionType]]:
    """`x.add(y)`, `x.matmul(y)` beside the operators: ops of their own (`add_method`), unless
    the method is an operator's own function (`__add__ = add`)."""
    found: list[tuple[Op, FunctionType]] = []
    taken: set[str] = set()
    for method, base in catalogue.BINARY_METHODS.items():
        function = _attribute(cls, method)
        if function is None or function in checked or base in taken:
            continue
        op = _op(f"{base}_method", method, "binary", "", function)
        found.append((dataclasses.replace(op, oracle=base), function))
        taken.add(base)
    return found


def _traced_ops(
    d: Session, found: Sequence[tuple[Op, FunctionType]], avoid: Mapping[str, str]
) -> tuple[list[Op], dict[str, tuple[CodeKey, ...]]]:
    """Each op called (sum and mul first: every other op's loss needs them) and its backward
    traced, broadcasting and number variants too; the ops, and the code their backward ran
    outside their own steps."""
    cls, progress = d.cls, d.progress
    ops: list[Op] = []
    foreign: dict[str, tuple[CodeKey, ...]] = {}
    skip: set[str] = set()
    by_name = {op.name: (op, fn) for op, fn in found}
    order = [n for n in ("sum", "mul") if n in by_name] + [
        n for n in by_name if n not in ("sum", "mul")
    ]
    for name in order:
        op, function = by_name[name]
        if op.method in avoid:  # its call killed an earlier discovery child
            d.broken.append((op.method, avoid[op.method]))
            continue
        if name in ("sum", "mean", "max"):
            progress(f"calling {cls.__name__}.{op.method} (its keywords)", method=op.method)
            op = _reduction_spelling(d, op, function)
        trial = _trial_for(name, op)
        progress(f"calling {cls.__name__}.{op.method} ({op.describe_call()})", method=op.method)
        loss = None if name == "sum" else _sum_loss(ops)
        try:
            watch = d.trace(trial.op, trial.call, loss, skip)
        except Exception as err:
            why = f"{op.describe_call()} raised {type(err).__name__}: {err}"
            d.skipped.append((op.method, why))
            continue
        if isinstance(trial.call, _Spelled):
            op = dataclasses.replace(op, keywords=(trial.call.style,))
        if name == "transpose":
            op = _transpose_form(d, op)
        steps, codes = _own_steps(d, *steps_of(d, op, watch))
        for variant in _variants(name, op):
            try:
                more, more_codes = _own_steps(
                    d, *steps_of(d, op, d.trace(variant.op, variant.call, loss, skip))
                )
            except Exception:
                continue
            steps = tuple(dict.fromkeys((*steps, *more)))
            codes = tuple(dict.fromkeys((*codes, *more_codes)))
        foreign[name] = codes
        if name == "sum":  # its steps run in every other op's loss: set them aside there
            op = _table_steps(d, [dataclasses.replace(op, steps=steps)], foreign)[0]
            steps = op.steps
            skip |= {s.qualname for s in steps}
        ops.append(
            dataclasses.replace(
                op,
                steps=steps,
                forward_helpers=forward_helpers(d, op, watch),
                delegates=delegates_of(d, op, watch),
                step_fault=step_fault(d, op, steps),
            )
        )
    return ops, foreign


def _require_the_loss(
    d: Session,
    spec: EngineSpec,
    ops: Sequence[Op],
    found: Sequence[tuple[Op, FunctionType]],
) -> None:
    """Every case's loss is sum(out * W): an engine without a working `*` and sum() is
    refused, saying which is missing or raised."""
    names = {op.name for op in ops}
    if {"mul", "sum"} <= names:
        return
    found_names = {op.name for op, _ in found}
    reasons = [
        f"{label} raised: {dict(d.skipped).get(method, '?')}"
        if needed in found_names
        else f"it has no {label}, nor a function of its package of that name"
        for needed, label, method in (
            ("mul", "`*`", "__mul__"),
            ("sum", "sum() method", "sum"),
        )
        if needed not in names
    ]
    raise _cannot_check(
        spec,
        "; ".join(reasons),
        ". Every case's loss is sum(out * W) with a random W (an upstream gradient that is not "
        "all ones), built with the engine's `*` and sum()",
    )


def _cannot_check(spec: EngineSpec, why: str, advice: str = "") -> EngineError:
    """A tensor engine the battery cannot check, and why (kept apart from the advice: a
    scalar engine whose nodes take arrays says it in a note)."""
    return EngineError(
        f"engine {spec.text!r} is a tensor engine minigrad cannot check: {why}{advice}", why
    )


def _check_loss(d: Session, spec: EngineSpec, ops: Sequence[Op]) -> bool:
    """Every case backpropagates `sum(out * W)`: on a plain input it must run and give the
    input a gradient of its shape, or no case could judge anything.  Whether that gradient is
    kept as a node (DeZero's `Variable`), not an array, is returned."""
    total = _sum_op(ops)
    assert total is not None  # _require_the_loss
    loss_text = call_text(total, "x * w" if total.function else "(x * w)", [])
    x, weight = d.leaf(_positive(2, 3)), d.leaf(_positive(2, 3))
    held = getattr(getattr(x, d.access.data_attr), "shape", (2, 3))
    if tuple(held) != (2, 3):  # petitgrad makes every array 3-d; hobbitgrad wraps it in a list
        raise _cannot_check(
            spec,
            f"{d.cls.__name__}(an array of shape (2, 3)).{d.access.data_attr} "
            f"has shape {tuple(held)}; every case compares shapes with numpy's",
        )
    try:
        loss = bound(total, x * weight)()
        loss.backward()
        grad = x.grad
        is_node = (
            grad is not None
            and not isinstance(grad, np.ndarray)
            and hasattr(grad, d.access.data_attr)
        )
        shape = np.shape(getattr(grad, d.access.data_attr) if is_node else grad)
    except Exception as err:
        raise _cannot_check(
            spec,
            f"{loss_text}.backward() raised {type(err).__name__}: {err}",
            ". Every case's loss is built and backpropagated so",
        ) from None
    if shape != (2, 3):
        raise _cannot_check(
            spec, f"after {loss_text}.backward() on x of shape (2, 3), x.grad has shape {shape}"
        )
    return is_node


def _min_rank(d: Session) -> int:
    """The fewest dimensions the engine keeps an array in: fygrad's `Data` makes a number
    (1, 1) and a vector (1, 3).  0 where every array is kept as it is given, or where one is
    changed otherwise than by leading 1s (the cases say what goes wrong)."""
    access = TensorAccess(d.cls, d.access.data_attr)
    for rank in range(3):
        shape = (3,) * rank
        try:
            held = np.shape(access.raw(getattr(d.leaf(np.ones(shape)), access.data_attr)))
        except Exception:
            return 0
        if held == shape:
            return rank
        if held != (1,) * (len(held) - rank) + shape:
            return 0
    return 0


def _accumulates_across_backwards(d: Session, ops: Sequence[Op]) -> bool:
    """Where `.grad` is read-only, the engine owns its gradients: does a second backward into
    the same leaf add to the first's gradient (torch, micrograd), or set it (mygrad's documented
    convention)?  Measured on sum(x * 2) then sum(x * 3): 5 or 3 per element."""
    total = _sum_op(ops)
    assert total is not None  # _require_the_loss
    try:
        x = d.leaf(_positive(2, 3))
        bound(total, x * d.leaf(np.full((2, 3), 2.0)))().backward()
        bound(total, x * d.leaf(np.full((2, 3), 3.0)))().backward()
        grad = np.asarray(getattr(x.grad, d.access.data_attr, x.grad), dtype=float)
    except Exception:
        return True  # the cases say what goes wrong
    if not np.allclose(grad, 3.0):
        return True
    d.notes.append(
        "backward() sets gradients, it does not add to an earlier backward's (the engine's "
        "convention, measured): a second backward is checked to give the new graph's alone"
    )
    return False


def _table_steps(d: Session, ops: list[Op], foreign: dict[str, tuple[CodeKey, ...]]) -> list[Op]:
    """A gradient table: `backward()` looks each node's step up by its op's name, so the op
    never refers to it.  A function that writes gradients and runs for one op alone is that
    op's step; one that several ops run (`unbroadcast`) stays a shared helper."""
    claims: dict[CodeKey, list[str]] = {}
    for op in ops:
        for key in foreign[op.name]:
            claims.setdefault(key, []).append(op.name)
    by_name = {op.name: op for op in ops}
    claims = {key: _claimant(names, key[0], by_name) for key, names in claims.items()}
    owned = {s.qualname for op in ops for s in op.steps}
    elsewhere = _table_steps_elsewhere(d, ops)
    result = []
    for op in ops:
        extra = list(elsewhere.get(op.name, ()))
        for key in foreign[op.name]:
            function = d.index.function(*key)
            if (
                claims[key] == [op.name]
                and key[0] not in owned
                and function is not None
                and not isinstance(function.node, ast.Lambda)
                and not _constructs(key[0])
                and grad_writes(function.node)
            ):
                node = function.node
                extra.append(Step("method", key[0], node.lineno, node.col_offset, ""))
        if extra:
            foreign[op.name] = tuple(
                k for k in foreign[op.name] if k[0] not in {s.qualname for s in extra}
            )
            op = dataclasses.replace(op, steps=(*op.steps, *extra))
        result.append(op)
    return result


def _table_steps_elsewhere(d: Session, ops: Sequence[Op]) -> dict[str, list[Step]]:
    """The same in other files of the package: a `Function` class's backward there that ran
    for one op alone (old tinygrad's `register('add', Add)` puts a dispatcher on the class
    that looks `Add` up by name: `Add.backward` in ops.py is add's step)."""
    claims: dict[tuple[str, CodeKey], list[str]] = {}
    for op in ops:
        for ran in dict.fromkeys(d.ran_elsewhere.get(op.name, [])):
            claims.setdefault(ran, []).append(op.name)
    owned = {(s.file, s.qualname) for op in ops for s in op.steps}
    by_name = {op.name: op for op in ops}
    found: dict[str, list[Step]] = {}
    for (file, (qualname, first)), names in claims.items():
        owner = qualname.rpartition(".")[0]
        index = d.index_for(file)
        function = index.function(qualname, first) if index is not None else None
        names = _claimant(names, qualname, by_name)
        if (
            len(names) == 1
            and (file, qualname) not in owned
            and owner
            and "<locals>" not in owner
            and function is not None
            and _returns_gradients(qualname, function)
        ):
            node = function.node
            step = Step("function-class", qualname, node.lineno, node.col_offset, "", file)
            found.setdefault(names[0], []).append(step)
    return found


def _claimant(names: list[str], qualname: str, by_name: Mapping[str, Op]) -> list[str]:
    """Of the ops whose backward ran a class's step, the one it belongs to: `mean` is built from
    `mul`, so `Mul.backward` is mul's (the op named like the class); where an operator and its
    alias method are both so named (embedml's `__add__` calls `add`), the method's."""
    if len(names) < 2:
        return names
    owner = qualname.rpartition(".")[0]
    named = [n for n in names if owner and _named_like(by_name[n], owner)]
    methods = [n for n in named if n.endswith("_method")]
    return methods if len(methods) == 1 and len(named) == 2 else named


def _named_like(op: Op, class_name: str) -> bool:
    """Is the op named like the class (`Mul` for mul, `MatMul` for `x.matmul(y)`)?"""
    name = class_name.rpartition(".")[2].lower()
    return name in (op.name.removesuffix("_method"), op.method.strip("_").lower())


def _constructs(qualname: str) -> bool:
    """A constructor sets `.grad` to its start value and runs wherever a node is made (DeZero's
    Sum builds nodes in its backward): never an op's step."""
    return qualname.rpartition(".")[2] in ("__init__", "__new__")


# What a `Function` class calls the method that returns its inputs' gradients: DeZero's and
# torch's `backward`, CMU needle's `gradient`, JAX's `vjp`.
_STEP_WORDS = ("backward", "gradient", "vjp")


def _returns_gradients(qualname: str, function: Function | None) -> bool:
    """Is this function of a `Function` class its backward: named so, or named anyhow in a
    class named so that it takes the upstream gradient (TinyTorch's `AddBackward.apply(self,
    grad_output)`; not synapgrad's `BackwardFunction.__call__(self)`, which only calls the
    step it holds)?"""
    owner, _, name = qualname.rpartition(".")
    if any(word in name.lower() for word in _STEP_WORDS):
        return True
    if function is None or not any(w in owner.rpartition(".")[2].lower() for w in _STEP_WORDS):
        return False
    node = function.node
    params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
    return len([p for p in params if p not in ("self", "ctx", "cls")]) >= 1


def _own_steps(
    d: Session, steps: tuple[Step, ...], foreign: tuple[CodeKey, ...]
) -> tuple[tuple[Step, ...], tuple[CodeKey, ...]]:
    """An op's steps are the code that writes gradients (or a `Function`'s backward, which
    returns them); a function it calls that does neither (`unbroadcast`, a property) is a
    helper."""
    own, other = [], list(foreign)
    for step in steps:
        index = d.index_for(step.file)
        function = index.function(step.qualname, step.line) if index is not None else None
        writes = function is not None and grad_writes(function.node)
        backward = _returns_gradients(step.qualname, function)
        if (step.style == "method" and not writes) or (
            step.style == "function-class" and not (writes or backward)
        ):
            other.append((step.qualname, step.line))
        else:
            own.append(step)
    return tuple(own), tuple(other)


def _sum_op(ops: Sequence[Op]) -> Op | None:
    """The engine's sum, which every case's loss is built with."""
    return next((op for op in ops if op.name == "sum"), None)


def _sum_loss(ops: Sequence[Op]) -> Callable[[Any], Any] | None:
    total = _sum_op(ops)
    if total is None:
        return None
    return lambda out: bound(total, out)()
