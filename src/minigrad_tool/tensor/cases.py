"""A tensor case, and how it is checked: directional derivatives against the engine's VJP.

Each case builds an output from a few input arrays with the engine's ops, and
has a numpy reference for the forward.  Its loss is `sum(out * W)` with a
random `W` (built with the engine's `*` and `sum()`), so the upstream
gradient is never all ones.  Checks, in order:

1. *forward*: the output's shape and values against numpy;
2. *directions*: for two random directions `V` (one array per input), the
   analytic `sum_i <grad_i, V_i>` against a central difference of the loss
   along `V` with steps `h` and `2h`, combined by Richardson extrapolation
   (error O(h^4)).  Two forward passes per step and direction: eight in all,
   whatever the number of elements.  Only a failing case falls back to
   per-element differences, to name the wrong elements;
3. *pre-seeded*: inputs whose `.grad` holds a random array must end with that
   array plus the gradient (accumulation);
4. *second backward*: a new graph on the plain backward's inputs adds the gradient
   again (nothing in the first backward left a buffer shared, or consumed it).

A forward that rejects the shapes (numpy's or the engine's own shape error)
makes the case *not supported*; a programming error in the engine's code, or
a backward that fails on what its forward accepted, is a failure naming the
op, the shapes and the engine's line.  *Kink* cases (relu at 0, max with ties)
accept any subgradient, and in a mutation campaign pin the engine's own.
"""

from __future__ import annotations

import functools
import time
import traceback
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from minigrad_tool.adapter.nodes import (
    NodeAccess,
    cut_from_graph,
    find_children_attribute,
    grad_name,
)
from minigrad_tool.adapter.profile import Profile
from minigrad_tool.battery.cases import CaseResult, Settings, Status, with_cause
from minigrad_tool.checker import REENTRANT_SHARE, directional
from minigrad_tool.faults import engine_caused, engine_file, raised_in, told
from minigrad_tool.findings import Finding
from minigrad_tool.tensor.access import Array, TensorAccess
from minigrad_tool.tensor.calls import NotSupported, TensorCalls
from minigrad_tool.tensor.second_order import second_order

__all__ = [
    "CaseRun",
    "Domain",
    "Input",
    "TensorCase",
    "one_element_as",
    "pinned_tensor_values",
    "run_tensor_case",
]

Domain = Literal["any", "positive", "away", "distinct", "ties", "zeros"]
KinkKind = Literal["relu", "max"]

DIRECTIONS = 2  # random directions per case: a wrong VJP agrees with the truth on one by chance
# with probability 0; two guard against a direction that happens to miss a sparse error.
WRONG_SHOWN = 3  # wrong elements named in a failure
_UNUSED_SHAPE = (2,)  # the unused input: any shape would do


@dataclass(frozen=True)
class Input:
    """One input array: its shape and where its entries are drawn from."""

    shape: tuple[int, ...]
    domain: Domain = "any"


@dataclass(frozen=True)
class Reduction:
    """What a kink case on max reduces: for checking that ties share one upstream gradient."""

    axis: int | tuple[int, ...] | None
    keepdims: bool


@dataclass(frozen=True)
class TensorCase:
    """One named check of a tensor engine."""

    name: str
    group: str
    text: str  # what it computes, in numpy spelling: "x.sum(axis=(-2, -1))"
    inputs: tuple[Input, ...]
    build: Callable[[TensorCalls, Sequence[Any]], Any]  # engine nodes -> output node
    ref: Callable[[Sequence[Array]], Array]  # numpy arrays -> expected output
    requires: frozenset[str]
    calls: TensorCalls
    macheps: float
    grad_is_node: bool = False
    second_order: bool = False  # the engine's gradients can be differentiated (create_graph)
    accumulates: bool = True  # False: backward() sets gradients (Profile.grad_accumulates)
    op: str | None = None
    where: str = ""
    line: int | None = None  # the op's line in the engine's file
    file: str = ""  # or in this file of its package
    kind: Literal["tensor", "kink"] = "tensor"
    kink: KinkKind | None = None
    reduction: Reduction | None = None
    cost: int = 0
    cause: str = ""  # a fault read in the op's source (Profile.step_cause), said if it fails
    shares: bool = True  # may reuse a node an op made (the scalar Case.shares): not traced here

    @property
    def shapes(self) -> str:
        return " and ".join(str(i.shape) for i in self.inputs)

    def run(self, access: NodeAccess, settings: Settings) -> CaseResult:
        """This case on the engine `access` reaches, as the battery's runner reports it."""
        return run_tensor_case(self, self.access(access), settings.pinned)

    def pinned(self, access: NodeAccess) -> list[list[float]]:
        return pinned_tensor_values(self, self.access(access))

    def access(self, access: NodeAccess) -> TensorAccess:
        return TensorAccess(access.cls, access.data_attr, self.grad_is_node, access.children_attr)

    def arrays(self, variant: int = 0) -> list[Array]:
        """The inputs, drawn from a generator seeded by the case's name (and a variant)."""
        rng = np.random.default_rng([zlib.crc32(self.name.encode()), variant])
        return [_draw(rng, spec) for spec in self.inputs]


def _draw(rng: np.random.Generator, spec: Input) -> Array:
    shape, size = spec.shape, int(np.prod(spec.shape, dtype=np.int64))
    if spec.domain == "positive":  # log, fractional powers: away from 0 by more than any step
        return rng.uniform(0.5, 2.0, size=shape)
    if spec.domain == "distinct":  # max without ties: entries at least 0.1 apart
        values = rng.permutation(size).astype(np.float64) * 0.1 - 0.05 * size
        return values.reshape(shape) + rng.uniform(-0.02, 0.02, size=shape)
    if spec.domain == "ties":  # max with ties: two values only, so every slice ties
        return rng.choice([0.5, 1.25], size=shape).astype(np.float64)
    if spec.domain == "zeros":  # relu at its kink: a third of the entries exactly 0
        values = rng.uniform(0.3, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        return np.asarray(np.where(rng.uniform(size=shape) < 0.34, 0.0, values))
    # "any" and "away": signed, |x| in [0.3, 1.5], so relu, division and 1/x are smooth
    # within any step
    return np.asarray(rng.uniform(0.3, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape))


@dataclass(frozen=True)
class _Settings:
    h: float
    rtol: float
    forward_rtol: float
    forward_atol: float

    @classmethod
    def for_precision(cls, macheps: float) -> _Settings:
        # Richardson's central difference has truncation O(h^4) and rounding O(eps / h):
        # h = eps^(1/5) balances them (7e-4 in float64, 0.04 in float32).
        h = float(macheps ** (1 / 5))
        return cls(
            h=h,
            rtol=max(1e-6, 1e4 * macheps),  # 1e-6 in float64, ~1e-3 in float32
            forward_rtol=max(1e-9, 1024 * macheps),
            forward_atol=max(1e-12, 1024 * macheps),
        )


def describe_checks(profile: Profile) -> str:
    """The checks and their tolerances, for the report's header."""
    s = _Settings.for_precision(profile.precision.macheps)
    return (
        f"gradients: directional derivatives along {DIRECTIONS} random directions (steps "
        f"h={s.h:.2g} and 2h, Richardson) against the vector-Jacobian product under a random "
        f"upstream gradient, rtol {s.rtol:.2g}; then pre-seeded, a second backward, a zero "
        f"upstream gradient, a second graph before the backward (reentrant), an unused input, "
        f"gradient dtypes; forward "
        f"values vs numpy: rtol {s.forward_rtol:.3g}, atol {s.forward_atol:.3g}; second order: "
        + (
            "u . H v from backward(create_graph=True) against differences of the gradients"
            if profile.second_order
            else "not checked, backward() takes no create_graph (a capability, not a failure)"
        )
    )


class CaseFailure(Exception):
    def __init__(self, check: str, detail: str, raised: str = "") -> None:
        super().__init__(detail)
        self.check = check
        self.raised = raised  # the engine function an exception came from (faults.raised_in)


# Exceptions by which a forward refuses shapes or arguments it does not support: numpy's
# and the engine's own shape errors.  A NameError or AttributeError is never one.
_REFUSALS = (ValueError, IndexError, AssertionError, NotImplementedError, NotSupported)


def _engine_line(err: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(err.__traceback__) if engine_file(f.filename)]
    if not frames:
        return ""
    last = frames[-1]
    return f" at {Path(last.filename).name}:{last.lineno} ({(last.line or '').strip()})"


def _refused(err: Exception) -> bool:
    """A forward's exception that means "these shapes are not supported"."""
    if isinstance(err, _REFUSALS):
        return True
    if isinstance(err, TypeError):  # Python's own, or a deliberate `raise` of the engine
        frames = [f for f in traceback.extract_tb(err.__traceback__) if engine_file(f.filename)]
        return not frames or (frames[-1].line or "").lstrip().startswith("raise")
    return False


class CaseRun:
    """One case on one engine, in the child that imported it."""

    def __init__(self, case: TensorCase, access: TensorAccess, variant: int = 0) -> None:
        self.case, self.access = case, access
        self.settings = _Settings.for_precision(case.macheps)
        self.rng = self.generator(case, variant)
        self.leaves = [access.leaf(a) for a in case.arrays(variant)]
        # the inputs as the engine stores them (a float32 engine rounds them), copied: an op
        # that writes into its input must not change what it is compared with
        self.x = [np.array(access.value(leaf), copy=True) for leaf in self.leaves]

    @property
    def grad(self) -> str:
        """`grad`, or the engine's own name for it (`gradient`: adapter.nodes.alias_grad)."""
        return grad_name(self.access.cls)

    def inputs_unchanged(self, when: str) -> None:
        """Every input still holds its data: an op that writes into its input (`out=x`, `+=`
        on a view of it) corrupts the caller's array, whatever its gradient says."""
        for i, (leaf, before) in enumerate(zip(self.leaves, self.x, strict=True)):
            now = np.asarray(self.access.value(leaf))
            if now.shape != before.shape:
                change = f"its shape {before.shape} became {now.shape}"
            elif not np.array_equal(now, before, equal_nan=True):
                same = (now == before) | (np.isnan(now) & np.isnan(before))
                at = tuple(int(k) for k in np.argwhere(~same)[0])
                change = f"{_NAMES[i]}{list(at)} was {before[at]:.6g}, is now {now[at]:.6g}"
            else:
                continue
            raise CaseFailure(
                "inputs",
                f"{when} changed the data of input {_NAMES[i]} in place ({change}): an op "
                "must leave its inputs as they were",
            )

    @staticmethod
    def generator(case: TensorCase, variant: int) -> np.random.Generator:
        """The draws of upstream gradients, directions and seeds for one case and draw."""
        return np.random.default_rng([zlib.crc32(case.name.encode()), 1000 + variant])

    def output(self, leaves: Sequence[Any]) -> Any:
        out = self.case.build(self.case.calls, leaves)
        if not hasattr(out, self.access.data_attr) or not hasattr(out, "backward"):
            raise CaseFailure(
                "forward", f"{self.case.text} returned a {type(out).__name__}, not a node"
            )
        return out

    def loss(self, out: Any, weight: Array) -> Any:
        calls = self.case.calls
        loss = calls.reduce("sum", calls.binary("mul", out, self.access.leaf(weight)))
        if not callable(getattr(loss, "backward", None)):
            raise CaseFailure("loss", f"sum(out * w) returned a {type(loss).__name__}, not a node")
        return loss

    def phi(self, shift: Sequence[Array], t: float, weight: Array) -> float:
        leaves = [self.access.leaf(x + t * v) for x, v in zip(self.x, shift, strict=True)]
        return float(np.sum(self.access.value(self.output(leaves)) * weight))

    def gradients(self, leaves: Sequence[Any], check: str) -> list[Array]:
        grads = []
        for i, leaf in enumerate(leaves):
            g = self.access.grad(leaf)
            name = _NAMES[i]
            if g is None:
                raise CaseFailure(
                    check, f"no gradient reached {name} (.{self.grad} is None){_cut_off(self)}"
                )
            g = one_element_as(g, self.x[i].shape)
            if g.shape != self.x[i].shape:
                raise CaseFailure(
                    check,
                    f"the gradient of {name} has shape {g.shape}, but {name} has shape "
                    f"{self.x[i].shape} (a broadcast that is not summed away?)",
                )
            if not np.all(np.isfinite(g)):
                raise CaseFailure(check, f"the gradient of {name} is not finite: {g}")
            self.same_dtype(leaf, name)
            grads.append(g)
        return grads

    def same_dtype(self, node: Any, name: str, seed: bool = False) -> None:
        """A gradient array has its node's dtype (torch's check): a float64 gradient of
        float32 data, or the reverse, is a buffer made without the node's dtype.  The loss's
        own gradient (the `seed`) may be integer ones (`Tensor(np.array(1))`, embedml's): they
        are exact, and numpy promotes them at the first step."""
        data, grad = self.access.dtypes(node)
        if seed and grad is not None and grad.kind in "iu":
            return
        if grad is not None and grad != data:
            raise CaseFailure(
                "dtype",
                f"the gradient of {name} is {grad} but {name} holds {data}: a gradient buffer "
                "is made without its node's dtype",
            )


def one_element_as(grad: Array, shape: tuple[int, ...]) -> Array:
    """A gradient of one element in any shape, read in its input's shape (a 0-d input's
    gradient kept as (1,), or the reverse): the only reshape the cases allow."""
    if grad.shape != shape and grad.size == int(np.prod(shape, dtype=np.int64)) == 1:
        return grad.reshape(shape)
    return grad


_NAMES = ("x", "y", "z", "w")


def _shown(a: Array) -> str:
    return np.array2string(np.asarray(a), precision=4, threshold=12, separator=", ")


def _cut_off(run: CaseRun) -> str:
    """Why no gradient reaches the inputs, where the graph says it (cut_from_graph), on a
    fresh run of the case's output."""
    leaves = [run.access.leaf(x) for x in run.x]
    try:
        out = run.output(leaves)
        # where discovery found the inputs (one level down too), else a known name
        children = run.access.children_attr or find_children_attribute(out)
    except Exception:  # nothing to say where the output cannot be made or read again
        return ""
    return cut_from_graph(out, children, leaves)


def _forward(run: CaseRun) -> tuple[Any, Array]:
    case = run.case
    out = run.output(run.leaves)
    run.inputs_unchanged("the forward")
    got = run.access.value(out)
    want = np.asarray(case.ref(run.x), dtype=np.float64)
    if got.shape != want.shape and not (got.size == want.size == 1):
        raise CaseFailure("forward", f"the output has shape {got.shape}, numpy's {want.shape} has")
    s = run.settings
    if not np.allclose(got.reshape(want.shape), want, rtol=s.forward_rtol, atol=s.forward_atol):
        bad = np.argwhere(
            ~np.isclose(got.reshape(want.shape), want, s.forward_rtol, s.forward_atol)
        )
        at = tuple(int(i) for i in bad[0]) if bad.size else ()
        raise CaseFailure(
            "forward",
            f"the forward differs from numpy at out{list(at)}: "
            f"{got.reshape(want.shape)[at]!r} instead of {want[at]!r}"
            + _rounded_to_float32(run, out, got.reshape(want.shape), want),
        )
    return out, got


# float32's machine epsilon: a float64 result rounded to float32 once is off by at most half
# of it, relatively; a few roundings on the way (a constant, then the result), a few halves.
_FLOAT32_EPS = float(np.finfo(np.float32).eps)


def _rounded_to_float32(run: CaseRun, out: Any, got: Array, want: Array) -> str:
    """Why a float64 engine's forward is off, where it is off by float32's rounding and no
    more: a value on the way was made float32 (numpy's own scalar result of a 0-d or reduced
    array, or a Python number, wrapped as a new node with float32 data, say); "" otherwise."""
    if run.case.macheps > 1e-10 or not np.all(np.isfinite(got)):  # a float32 engine: expected
        return ""
    # relative to the result, or to the inputs where it is smaller (a constant rounded in
    # `x + 1.7` is off by 1.7's rounding wherever x + 1.7 is near 0)
    biggest = max((float(np.max(np.abs(x), initial=0.0)) for x in run.x), default=0.0)
    scale = np.maximum(np.maximum(np.abs(want), biggest), np.finfo(np.float32).tiny)
    relative = float(np.max(np.abs(got - want) / scale))
    if relative > 2 * _FLOAT32_EPS:
        return ""
    held, _ = run.access.dtypes(out)
    inputs = sorted({str(run.access.dtypes(leaf)[0]) for leaf in run.leaves})
    where = (
        f"the output node holds {held} though its inputs hold {', '.join(inputs)}"
        if held == np.float32
        else "as if a number it was given, or one made on the way, were rounded to float32"
    )
    return (
        f" (off by {relative:.1e} relatively, float32's rounding and no more: {where}; numpy "
        "keeps float64 there)"
    )


def _backward(
    run: CaseRun, weight: Array, seeds: Sequence[Array] | None, check: str
) -> list[Array]:
    """Fresh leaves (pre-seeded with `seeds`), the loss, its backward: the raw gradients."""
    leaves = [run.access.leaf(x) for x in run.x]
    if seeds is not None:
        for leaf, seed in zip(leaves, seeds, strict=True):
            run.access.set_grad(leaf, seed)
    out = run.output(leaves)
    loss = run.loss(out, weight)
    loss.backward()
    run.leaves = leaves
    run.same_dtype(loss, "the loss", seed=True)
    return run.gradients(leaves, check)


def _where_wrong(wrong: Any, shape: tuple[int, ...]) -> str:
    """The axes along which the wrong elements gather: ", only at index 0 of axis 1"."""
    parts = []
    for axis, size in enumerate(shape):
        seen = sorted({int(w[axis]) for w in wrong})
        if len(seen) < size:
            at = f"index {seen[0]}" if len(seen) == 1 else f"indices {seen}"
            parts.append(f"{at} of axis {axis}")
    return f", only at {' and '.join(parts)}" if parts else ""


def _locate(run: CaseRun, grads: Sequence[Array], weight: Array) -> str:
    """The fallback: per-element central differences, to name the wrong elements."""
    h = run.settings.h
    for i, (x, g) in enumerate(zip(run.x, grads, strict=True)):
        numeric = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            shift = [np.zeros_like(a) for a in run.x]
            shift[i][index] = 1.0
            numeric[index] = (run.phi(shift, h, weight) - run.phi(shift, -h, weight)) / (2 * h)
        tol = 1e-4 * (1.0 + np.abs(numeric))
        wrong = np.argwhere(np.abs(numeric - g) > tol)
        if wrong.size:
            shown = ", ".join(
                f"{_NAMES[i]}{[int(k) for k in w]}: {g[tuple(w)]:.6g} instead of "
                f"{numeric[tuple(w)]:.6g}"
                for w in wrong[:WRONG_SHOWN]
            )
            where = _where_wrong(wrong, x.shape)
            return (
                f"; {len(wrong)} of {x.size} elements of d/d{_NAMES[i]} are wrong{where} ({shown})"
            )
    return ""


def _directions(run: CaseRun, grads: Sequence[Array], weight: Array) -> None:
    s = run.settings
    for _ in range(DIRECTIONS):
        shift = [run.rng.normal(size=x.shape) for x in run.x]
        top = max((float(np.max(np.abs(v))) for v in shift if v.size), default=1.0)
        shift = [v / top for v in shift]  # every entry moves by at most h
        analytic = float(sum(np.sum(g * v) for g, v in zip(grads, shift, strict=True)))
        scale = float(sum(np.sum(np.abs(g * v)) for g, v in zip(grads, shift, strict=True)))
        along = directional(
            functools.partial(run.phi, shift, weight=weight),
            s.h,
            scale=scale,
            rtol=s.rtol,
            macheps=run.case.macheps,
        )
        if not along.accepts(analytic):
            where = _locate(run, grads, weight)
            if any(not np.any(g) for g in grads):  # an input got gradient 0 throughout
                where += _cut_off(run)
            raise CaseFailure(
                "directions",
                f"along a random direction the loss changes at {along.numeric:.8g}, but the "
                f"gradients say {analytic:.8g} (allowed {along.allowed:.2g}){where}",
            )


def _zero_upstream(run: CaseRun, weight: Array) -> None:
    """Under a zero upstream gradient every gradient is exactly 0 (or None: none reached it);
    a step adding something that does not scale with out.grad fails, however small."""
    leaves = [run.access.leaf(x) for x in run.x]
    run.loss(run.output(leaves), np.zeros_like(weight)).backward()
    for i, leaf in enumerate(leaves):
        g = run.access.grad(leaf)
        if g is not None and np.any(g != 0):
            raise CaseFailure(
                "zero upstream",
                f"under a zero upstream gradient {_NAMES[i]}.{run.grad} must be exactly 0, not "
                f"{_shown(g)}: a backward step adds something that does not scale with "
                f"out.{run.grad}",
            )


def _reentrant(run: CaseRun, grads: Sequence[Array], weight: Array) -> None:
    """A graph built, then another at other inputs (the case's second draw), then backward on
    the first: its gradients must be those it had alone.  A step reading a value its op saved
    somewhere shared (the class, a reused Function object) reads the second graph's."""
    leaves = [run.access.leaf(x) for x in run.x]
    first = run.loss(run.output(leaves), weight)
    others = [run.access.leaf(x) for x in run.case.arrays(variant=1)]
    try:
        run.loss(run.output(others), weight)
    except Exception:  # the second graph is only a disturbance: none, no check
        return
    first.backward()
    share = REENTRANT_SHARE * run.settings.rtol
    for i, (g, again) in enumerate(zip(grads, run.gradients(leaves, "reentrant"), strict=True)):
        if not np.allclose(again, g, rtol=share, atol=share):
            raise CaseFailure(
                "reentrant",
                f"{_NAMES[i]}.{run.grad} changes once another graph is built before the backward: "
                f"{_shown(again)} instead of {_shown(g)}; a backward step reads a value saved "
                "by a later forward (state shared between graphs)",
            )


def _unused_input(run: CaseRun, weight: Array) -> None:
    """An input the output does not use keeps gradient 0 (or None: no gradient reached it)."""
    unused = run.access.leaf(np.full(_UNUSED_SHAPE, 0.7))
    leaves = [run.access.leaf(x) for x in run.x]
    run.loss(run.output(leaves), weight).backward()
    g = run.access.grad(unused)
    if g is not None and np.any(g != 0):
        raise CaseFailure(
            "unused input",
            f"an input the output does not use must keep gradient 0 (or None), not {_shown(g)}"
            f": a leaf's .{run.grad} starts non-zero, or backward() reaches nodes outside the "
            "graph",
        )


def _pre_seeded(
    run: CaseRun, grads: Sequence[Array], weight: Array, seeds: Sequence[Array]
) -> None:
    seeded = _backward(run, weight, seeds, "pre-seeded")
    for i, (g, seed, total) in enumerate(zip(grads, seeds, seeded, strict=True)):
        if not np.allclose(total - seed, g, rtol=run.settings.rtol, atol=run.settings.rtol):
            raise CaseFailure(
                "pre-seeded",
                f"{_NAMES[i]}.{run.grad} pre-seeded with {_shown(seed)} must end with seed + "
                f"gradient {_shown(seed + g)}, not {_shown(total)} (accumulate with +=)",
            )


def _accumulates(run: CaseRun, grads: Sequence[Array], weight: Array) -> None:
    plain = run.leaves  # the plain backward's inputs: their grads hold g, as the engine left them
    seeds = [run.rng.normal(size=x.shape) for x in run.x]  # drawn either way: probes follow
    if run.access.grad_writable:  # read-only: the second backward below checks accumulation
        _pre_seeded(run, grads, weight, seeds)
    # A second graph on the plain backward's inputs adds g again.  Arrays the first backward
    # left shared (`x.grad = out.grad`, then `+=` in place) show here.
    out = run.output(plain)
    run.loss(out, weight).backward()
    again = run.gradients(plain, "second backward")
    factor = 2 if run.case.accumulates else 1  # an engine that sets gradients: g alone again
    for i, (g, total) in enumerate(zip(grads, again, strict=True)):
        if not np.allclose(total, factor * g, rtol=run.settings.rtol, atol=run.settings.rtol):
            raise CaseFailure(
                "second backward",
                (
                    f"a second graph on the same {_NAMES[i]} must add its gradient again: "
                    if run.case.accumulates
                    else f"backward() sets gradients (the engine's convention), so a second "
                    f"graph on the same {_NAMES[i]} must leave its own gradient: "
                )
                + f"{_shown(factor * g)}, not {_shown(total)} (are gradient arrays shared?)",
            )


def _kink(run: CaseRun, grads: Sequence[Array], weight: Array) -> None:
    """At relu's zeros or max's ties, any subgradient: each share between 0 and 1."""
    case, x, g = run.case, run.x[0], grads[0]
    tol = 1e-9 + run.settings.rtol
    if case.kink == "relu":
        share = np.divide(g, weight, out=np.zeros_like(g), where=weight != 0)
        expected = np.where(x > 0, 1.0, 0.0)
        bad = np.where(x == 0, (share < -tol) | (share > 1 + tol), np.abs(share - expected) > tol)
        if np.any(bad):
            at = [int(i) for i in np.argwhere(bad)[0]]
            raise CaseFailure(
                "subgradient",
                f"relu's gradient at x{at} = {x[tuple(at)]!r} is {share[tuple(at)]!r} times the "
                "upstream gradient; at 0 any share in [0, 1] is a subgradient, elsewhere 1 or 0",
            )
        return
    reduction = case.reduction
    assert reduction is not None
    axis, keep = reduction.axis, reduction.keepdims
    # A full reduction the engine holds as (1,) or (1, 1, 1) (the forward accepts a single
    # element in any shape, nanograd's max keeps the reduced axes): its upstream gradient is
    # read in numpy's shape, which the masks below are made in
    weight = np.reshape(weight, np.max(x, axis=axis, keepdims=keep).shape)
    peak = np.max(x, axis=axis, keepdims=True)
    upstream = weight if keep else np.expand_dims(weight, _axes(axis, x.ndim))
    upstream = np.broadcast_to(upstream, peak.shape)
    mask = x == peak
    if np.any(np.abs(g[~mask]) > tol):
        raise CaseFailure("subgradient", "max sends gradient to an element that is not a maximum")
    total = np.sum(np.where(mask, g, 0.0), axis=axis, keepdims=True)
    if not np.allclose(total, upstream, rtol=tol, atol=tol):
        raise CaseFailure(
            "subgradient",
            f"the tied maxima of a slice must share its upstream gradient {_shown(upstream)}; "
            f"their gradients sum to {_shown(total)}",
        )
    share = np.divide(
        g,
        np.broadcast_to(upstream, x.shape),
        out=np.zeros_like(g),
        where=np.broadcast_to(upstream, x.shape) != 0,
    )
    if np.any(mask & ((share < -tol) | (share > 1 + tol))):
        raise CaseFailure("subgradient", "a tied maximum gets a share outside [0, 1]")


def _axes(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    chosen = (axis,) if isinstance(axis, int) else axis
    return tuple(sorted(a % ndim for a in chosen))


def pinned_tensor_values(case: TensorCase, access: TensorAccess) -> list[list[float]]:
    """The output and gradients at a kink case's inputs, exactly: what a campaign pins."""
    run = CaseRun(case, access)
    out = run.output(run.leaves)
    weight = run.rng.normal(size=np.shape(access.value(out)))
    grads = _backward(run, weight, None, "plain")
    return [access.value(out).ravel().tolist(), *[g.ravel().tolist() for g in grads]]


def _same(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(
        x == y or (x != x and y != y) for x, y in zip(a, b, strict=True)
    )


def _check(case: TensorCase, access: TensorAccess, pinned: Mapping[str, Any]) -> str:
    run = CaseRun(case, access)
    try:
        _, got = _forward(run)
    except CaseFailure:
        raise
    except Exception as err:
        if isinstance(err, NotSupported):  # a call the engine has no way to make
            raise NotSupported(f"{case.text} on {case.shapes}: {err}", err.why) from err
        if _refused(err):
            why = f"raised {told(err)}"
            raise NotSupported(f"{case.text} on {case.shapes} {why}", why) from err
        raise
    weight = run.rng.normal(size=got.shape)
    if case.name in pinned:
        if not all(
            _same(w, g)
            for w, g in zip(pinned[case.name], pinned_tensor_values(case, access), strict=False)
        ):
            raise CaseFailure(
                "pinned", "the value or gradients at the kink differ from the unmutated engine's"
            )
        return ""
    try:
        grads = _backward(run, weight, None, "plain")
    except CaseFailure:
        raise
    except Exception as err:  # the forward accepted these shapes: its backward must too
        if not engine_caused(err):
            raise
        raise CaseFailure(
            "backward",
            f"the backward raised {told(err)}{_engine_line(err)}",
            raised_in(err),
        ) from err
    run.inputs_unchanged("backward()")
    if case.kind == "kink":
        _kink(run, grads, weight)
        return ""
    _directions(run, grads, weight)
    _accumulates(run, grads, weight)
    _zero_upstream(run, weight)
    _reentrant(run, grads, weight)
    _unused_input(run, weight)
    if case.second_order:
        wrong = second_order(run, weight)
        if wrong:
            raise CaseFailure("second order", wrong)
    return ""


def run_tensor_case(
    case: TensorCase, access: TensorAccess, pinned: Mapping[str, Any] | None = None
) -> CaseResult:
    """Run one case: a failed check, an engine exception or an unsupported call, as a result.

    An exception raised by minigrad's own code (no engine frame) propagates.
    """
    about = f"{case.where} on {case.shapes}: {case.text}" if case.where else case.text
    start = time.perf_counter()

    def result(
        status: Status, detail: str = "", check: str = "", why: str = "", raised: str = ""
    ) -> CaseResult:
        finding = None
        if status in ("fail", "error"):
            if case.cause:  # a fault read in the op's source explains whatever check failed
                detail, why = with_cause(detail, case.cause), case.cause
            finding = Finding(
                case.name,
                detail,
                case.op,
                case.where,
                case.line,
                check or "crash",
                f"shapes {case.shapes}",
                reason=why or detail,
                file=case.file,
                raised=raised,
            )
        seconds = time.perf_counter() - start
        skipped = why if status == "skip" else ""  # what the cases it skips share
        return CaseResult(case.name, status, detail, seconds, finding=finding, why=skipped)

    try:
        _check(case, access, pinned or {})
    except NotSupported as err:
        return result("skip", f"not supported: {err}", why=err.why)
    except CaseFailure as err:
        return result(
            "fail",
            f"{case.name}: the {err.check} check of {about} failed: {err}",
            err.check,
            str(err),
            err.raised,
        )
    except Exception as err:
        if not engine_caused(err):
            raise
        return result(
            "error",
            f"{case.name}: {about} raised {told(err)}{_engine_line(err)}",
            raised=raised_in(err),
        )
    return result("pass")
