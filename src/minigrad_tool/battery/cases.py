"""A case is a row of data: a name, a function of engine nodes, points, and how to check it.

Kinds of check:

* ``gradcheck``: the forward value against the oracle (when the op has one),
  then :func:`minigrad_tool.checker.gradcheck` at each point;
* ``kink``: at a point where the op is not differentiable, the gradient must be
  a subgradient (any slope in the op's interval there); a valid one that is
  not the usual convention is reported, not failed.  In a mutation campaign
  the engine's own values there are pinned instead (:attr:`Settings.pinned`);
* ``exact``: gradients equal given numbers exactly (an unused input gets 0);
* ``learn``: plain gradient descent from the point must cut the loss tenfold.
"""

from __future__ import annotations

import gc
import math
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from minigrad_tool.adapter.nodes import NodeAccess, NotANumber
from minigrad_tool.adapter.order import first_in_an_order, fresh
from minigrad_tool.battery.oracle import NoOracle, trace_ops
from minigrad_tool.checker import GradcheckError, Tolerance, gradcheck
from minigrad_tool.faults import compiled_call_of, engine_caused, engine_file, raised_in, told
from minigrad_tool.findings import Finding, stable

__all__ = [
    "ORDERED_COST",
    "BatteryCase",
    "Case",
    "CaseResult",
    "ForwardTolerance",
    "KinkRule",
    "Settings",
    "ordered",
    "pinned_values",
    "run_case",
    "run_case_in_orders",
    "with_cause",
]

Point = tuple[float, ...]
Kind = Literal["gradcheck", "kink", "exact", "learn"]
Status = Literal["pass", "fail", "skip", "error"]

LEARN_STEPS = 40
LEARN_RATE = 0.05


@dataclass(frozen=True)
class KinkRule:
    """What a kink allows: slopes s in [low, high]; `expect(s)` gives each input's gradient."""

    op: str
    low: float
    high: float
    convention: float
    convention_text: str
    expect: Callable[[float], Point]  # gradients of the case's inputs for the op's slope s
    probe: Callable[[Any], Any]  # the op alone, to measure the engine's slope s


class BatteryCase(Protocol):
    """A case of the battery, scalar or tensor: one runner runs both, through these."""

    @property
    def name(self) -> str: ...

    @property
    def group(self) -> str: ...

    @property
    def requires(self) -> frozenset[str]: ...

    @property
    def kind(self) -> str: ...

    @property
    def op(self) -> str | None: ...

    @property
    def where(self) -> str: ...

    @property
    def line(self) -> int | None: ...

    @property
    def cost(self) -> int: ...

    @property
    def shares(self) -> bool: ...

    def run(self, access: NodeAccess, settings: Settings) -> CaseResult:
        """Check the engine `access` reaches; a failed check or an engine error as a result,
        an error of minigrad's own code raised."""
        ...

    def pinned(self, access: NodeAccess) -> list[list[float]]:
        """The engine's own values and gradients, exactly: what a campaign pins at a kink."""
        ...


@dataclass(frozen=True)
class Case:
    """One named check of an engine."""

    name: str
    group: str
    fn: Callable[..., Any]
    points: tuple[Point, ...]
    requires: frozenset[str]  # op names it calls
    kind: Kind = "gradcheck"
    op: str | None = None  # the op a per-op case is about
    where: str = ""  # that op's place in the source, for messages: "Value.sigmoid (engine.py:57)"
    line: int | None = None  # the op's line in the engine's file
    file: str = ""  # or in this file of its package
    oracle: bool = True  # compare the forward with plain math
    exact: tuple[Point, ...] = ()  # kind "exact": the gradients
    kink: KinkRule | None = None  # kind "kink"
    depth: int = 0  # nodes on the longest path, so recursive topo sorts can be given room
    parameters: Mapping[str, float] = field(default_factory=dict)  # op parameters for the oracle
    cost: int = 0  # op calls it makes in all: cheaper cases run first
    # A fault read in the op's source (Profile.step_cause): said when the case fails,
    # whichever check failed, and the finding's reason
    cause: str = ""
    # A node an op made feeds more than one op (t in `t * t + t`): a backward() that walks a
    # reused node wrongly fails this case whatever the ops (check.walks_reuse_wrong).  True
    # where the oracle cannot tell
    shares: bool = True

    def run(self, access: NodeAccess, settings: Settings) -> CaseResult:
        start = time.perf_counter()
        old_limit = sys.getrecursionlimit()
        if self.depth:  # recursive topo sorts (micrograd's) need a frame per node
            sys.setrecursionlimit(max(old_limit, 4 * self.depth + 1000))
        status: Status
        try:
            note = _RUNNERS[self.kind](self, access, settings)
        except GradcheckError as err:
            status, detail = "fail", self._caused(str(err))
            finding = _finding(self, detail, err.check, err.point, err)
        except NotANumber as err:
            status, detail = "fail", self._caused(f"{self.name}: {err}")
            finding = _finding(self, detail, "number", None)
        except Exception as err:
            if not engine_caused(err):
                raise
            status, detail = "error", self._caused(_crash(self, err))
            finding = _finding(self, detail, "crash", None, raised=raised_in(err))
        else:
            return CaseResult(self.name, "pass", "", time.perf_counter() - start, note)
        finally:
            sys.setrecursionlimit(old_limit)
        return CaseResult(self.name, status, detail, time.perf_counter() - start, "", finding)

    def _caused(self, detail: str) -> str:
        return with_cause(detail, self.cause)

    def pinned(self, access: NodeAccess) -> list[list[float]]:
        rows = []
        for point in self.points:
            value, grads = _gradients(self, access, point)
            rows.append([value, *grads])
        return rows


@dataclass(frozen=True)
class ForwardTolerance:
    """How close a forward value must be to plain math: |got - want| <= atol + rtol |want|."""

    rtol: float = 1e-9
    atol: float = 1e-12

    @classmethod
    def for_precision(cls, macheps: float) -> ForwardTolerance:
        """1e-9 relative in float64; about 1000 ulps for coarser engines."""
        return cls(max(1e-9, 1024.0 * macheps), max(1e-12, 1024.0 * macheps))

    def accepts(self, want: float, got: float) -> bool:
        return math.isclose(got, want, rel_tol=self.rtol, abs_tol=self.atol)


@dataclass(frozen=True)
class Settings:
    """How cases are checked."""

    tolerance: Tolerance = field(default_factory=Tolerance)
    forward: ForwardTolerance = field(default_factory=ForwardTolerance)
    fast: bool = False
    any_subgradient: bool = False  # at a kink, accept any subgradient without a note
    pinned: Mapping[str, list[list[float]]] = field(default_factory=dict)  # case -> observations


@dataclass(frozen=True)
class CaseResult:
    case: str
    status: Status
    detail: str = ""
    seconds: float = 0.0
    note: str = ""  # said even when the case passes (a kink convention)
    finding: Finding | None = None  # a failed or crashed case: what is wrong, with evidence
    why: str = ""  # a skipped case: why the engine cannot make its call, as other cases share it

    def __post_init__(self) -> None:  # an engine's message may hold an object's address
        object.__setattr__(self, "detail", stable(self.detail))

    @property
    def failed(self) -> bool:
        """A check failed, or the engine raised: either way the case caught something."""
        return self.status in ("fail", "error")

    def to_json(self) -> dict[str, Any]:
        """What crosses the pipe from the child that ran the case."""
        finding = self.finding.to_json() if self.finding is not None else None
        return {**self.__dict__, "finding": finding}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CaseResult:
        finding = data.get("finding")
        return cls(**{**data, "finding": Finding.from_json(finding) if finding else None})


def _point_text(point: Point) -> str:
    if len(point) == 1:
        return f"x={point[0]!r}"
    return "(" + ", ".join(repr(x) for x in point) + ")"


def _about(case: Case, point: Point) -> str:
    """Who a failure blames: the op and its source line for a per-op case."""
    if case.where:
        return f"{case.where} at {_point_text(point)}"
    return f"case {case.name!r} at {_point_text(point)}"


def _leaves(access: NodeAccess, point: Point) -> list[Any]:
    return [access.leaf(x) for x in point]


def _check_forward(case: Case, access: NodeAccess, point: Point, settings: Settings) -> list[Any]:
    """Build the inputs, run the case once, and compare its value with plain math."""
    inputs = _leaves(access, point)
    stored = [access.value(x) for x in inputs]  # as the engine keeps them (float32 rounds)
    out = case.fn(*inputs)
    for i, (x, before) in enumerate(zip(inputs, stored, strict=True)):
        now = access.value(x)
        if now != before and not (math.isnan(now) and math.isnan(before)):
            raise GradcheckError(
                "inputs",
                f"the forward of {_about(case, point)} changed input {i}'s data in place "
                f"({before!r} became {now!r}): an op must leave its inputs as they were",
                case=case.name,
                index=i,
                expected=before,
                actual=now,
                tolerance=0.0,
            )
    try:
        got = access.value(out)
    except NotANumber as err:
        raise GradcheckError("forward", f"the forward of {_about(case, point)}: {err}") from None
    if not case.oracle:
        return inputs
    try:
        want, _ = trace_ops(case.fn, point, case.parameters)
    except (NoOracle, ArithmeticError, ValueError):
        return inputs
    if not settings.forward.accepts(want, got):
        raise GradcheckError(
            "forward",
            f"the forward of {_about(case, point)} is wrong: it differs from plain math "
            f"(rtol {settings.forward.rtol:.3g}, atol {settings.forward.atol:.3g})"
            + _nudged(want, got, settings),
            case=case.name,
            expected=want,
            actual=got,
            tolerance=settings.forward.atol + settings.forward.rtol * abs(want),
        )
    return inputs


# Below this share of the gradients' relative tolerance, a forward that differs from plain
# math differs as a constant added inside the op does (MiniTorch's `log(x + 1e-6)`, a
# relative 3e-6 at x = 0.5): said as such, with the flag that accepts it where it is meant.
_NUDGE_SHARE = 0.1


def _nudged(want: float, got: float, settings: Settings) -> str:
    """What a forward failure adds where the value is off by a tiny relative amount."""
    if not (math.isfinite(want) and math.isfinite(got)) or want == 0.0:
        return ""
    relative = abs(got - want) / abs(want)
    if relative >= _NUDGE_SHARE * settings.tolerance.rtol:
        return ""
    return (
        f"; off by a relative {relative:.2g} only, as a constant added inside the op to keep "
        "it finite is (log(x + 1e-6) for log(x)): if your engine means it, --rtol "
        f"{settings.tolerance.rtol:g} (the gradients' own tolerance) accepts it here too"
    )


def _run_gradcheck(case: Case, access: NodeAccess, settings: Settings) -> str:
    for point in case.points:
        try:
            inputs = _check_forward(case, access, point, settings)
            gradcheck(case.fn, inputs, tol=settings.tolerance, fast=settings.fast, name=case.name)
        except GradcheckError as err:
            reason = err.reason
            if case.where and err.check != "forward":
                reason = f"the backward of {_about(case, point)} is wrong: {err.reason}"
            raise GradcheckError(
                err.check,
                reason,
                case=case.name,
                index=err.index,
                expected=err.expected,
                actual=err.actual,
                tolerance=err.tolerance,
                point=point,
                why=err.why,
            ) from None
    return ""


def _gradients(case: Case, access: NodeAccess, point: Point) -> tuple[float, list[float]]:
    inputs = _leaves(access, point)
    out = case.fn(*inputs)
    out.backward()
    return access.value(out), [access.grad(x) for x in inputs]


def pinned_values(case: BatteryCase, access: NodeAccess) -> list[list[float]]:
    """The case's exact values and gradients at each point: what a campaign pins."""
    return case.pinned(access)


def _same(a: float, b: float) -> bool:
    """Equal as numbers, exactly: NaN equals NaN, and -0.0 equals 0.0, as `==` says (the sign
    of a zero is no behaviour a test would pin)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b


def _run_pinned(case: Case, access: NodeAccess, pinned: list[list[float]]) -> str:
    got = pinned_values(case, access)
    for point, want, row in zip(case.points, pinned, got, strict=True):
        if not all(_same(w, g) for w, g in zip(want, row, strict=True)):
            raise GradcheckError(
                "pinned",
                f"at {_point_text(point)} the unmutated engine gives value and gradients {want}, "
                f"this one {row}: the behaviour at the kink changed",
                case=case.name,
            )
    return ""


def _run_kink(case: Case, access: NodeAccess, settings: Settings) -> str:
    rule = case.kink
    assert rule is not None
    if case.name in settings.pinned:
        return _run_pinned(case, access, settings.pinned[case.name])
    tol = settings.tolerance
    notes = []
    for point in case.points:
        _check_forward(case, access, point, settings)
        leaf = access.leaf(point[0] * 0.0)  # the kink itself, with the point's sign of zero
        rule.probe(leaf).backward()
        slope = access.grad(leaf)
        if not (rule.low - tol.atol <= slope <= rule.high + tol.atol):
            raise GradcheckError(
                "subgradient",
                f"{_about(case, point)}: {rule.op}'s gradient at its kink is {slope!r}, "
                f"not a subgradient: any slope in [{rule.low:g}, {rule.high:g}] is one",
                case=case.name,
                expected=rule.convention,
                actual=slope,
                tolerance=tol.atol,
            )
        _, grads = _gradients(case, access, point)
        for i, (want, got) in enumerate(zip(rule.expect(slope), grads, strict=True)):
            if not tol.accepts(want, got):
                raise GradcheckError(
                    "kink",
                    f"{_about(case, point)}: with {rule.op}'s slope {slope!r} at the kink, the "
                    "chain rule gives the expected gradient",
                    case=case.name,
                    index=i,
                    expected=want,
                    actual=got,
                    tolerance=tol.allowed(want),
                )
        if not settings.any_subgradient and abs(slope - rule.convention) > tol.atol:
            notes.append(
                f"{rule.op}'s gradient at its kink is {slope:g}: a valid subgradient, but not "
                f"the usual convention {rule.convention_text} (PyTorch, JAX, micrograd); "
                "not a gradient bug"
            )
    return notes[0] if notes else ""


def _run_exact(case: Case, access: NodeAccess, settings: Settings) -> str:
    for point, expected in zip(case.points, case.exact, strict=True):
        _check_forward(case, access, point, settings)
        _, grads = _gradients(case, access, point)
        for i, (want, got) in enumerate(zip(expected, grads, strict=True)):
            if got != want:
                raise GradcheckError(
                    "exact",
                    f"gradient at {_point_text(point)} must be exactly {want!r}",
                    case=case.name,
                    index=i,
                    expected=want,
                    actual=got,
                    tolerance=0.0,
                )
    return ""


def _run_learn(case: Case, access: NodeAccess, settings: Settings) -> str:
    params = _leaves(access, case.points[0])
    first = last = math.nan
    for step in range(LEARN_STEPS):
        loss = case.fn(*params)
        for p in params:
            access.zero_grad(p)
        loss.backward()
        for p in params:
            access.set_value(p, access.value(p) - LEARN_RATE * access.grad(p))
        last = access.value(loss)
        if step == 0:
            first = last
    if not last <= first / 10.0:
        raise GradcheckError(
            "learning",
            f"{LEARN_STEPS} steps of gradient descent must cut the loss tenfold",
            case=case.name,
            expected=first / 10.0,
            actual=last,
            tolerance=0.0,
        )
    return ""


_RUNNERS: dict[Kind, Callable[[Case, NodeAccess, Settings], str]] = {
    "gradcheck": _run_gradcheck,
    "kink": _run_kink,
    "exact": _run_exact,
    "learn": _run_learn,
}


def with_cause(detail: str, cause: str) -> str:
    """A failure's text, with the cause read from the op's source (Profile.step_cause) under
    it, when there is one: the scalar and the tensor battery say it alike."""
    return f"{detail}\n  cause: {cause}" if cause else detail


def _crash(case: Case, err: Exception) -> str:
    """An engine exception in a case: the op, the check it was in, the engine's line."""
    notes = "; ".join(getattr(err, "__notes__", []))
    frames = [f for f in traceback.extract_tb(err.__traceback__) if engine_file(f.filename)]
    line = code = ""
    if frames:
        last = frames[-1]
        compiled = compiled_call_of(last.filename)  # raised by compiled code: no line of it
        line = (
            f" in compiled {compiled}"
            if compiled
            else f" at {Path(last.filename).name}:{last.lineno}"
        )
        code = f" ({last.line.strip()})" if last.line else ""
    about = f" in {case.where}" if case.where else ""
    during = f", {notes}" if notes else ""
    return f"{case.name}{about}{during}: {told(err)}{line}{code}"


def run_case(
    case: BatteryCase,
    access: NodeAccess,
    settings: Settings | None = None,
    available: frozenset[str] | None = None,
    *,
    last: bool = False,
) -> CaseResult:
    """Run one case; a failed check or an engine exception becomes a result.

    An exception raised by minigrad's own code (no engine frame on its
    traceback) is not the engine's failure: it propagates, and the run stops.

    `last`: this process ends soon after the case (a child of its own, or of a chunk of
    cases), so the cyclic garbage collector is turned off for good.  The graphs a case builds
    stay alive until each pass ends, and are freed whole at the child's exit instead of
    collected: the collector's passes over the growing heap, then over the dead graphs, took
    about half of the 10,000-node chain's time (examples/student: 0.45 s with it, 0.24 s
    without, measured in one process).  A case is a fixed workload, and so is a chunk of
    them, so what they leave is bounded.
    """
    if available is not None and not case.requires <= available:
        missing = ", ".join(sorted(case.requires - available))
        return CaseResult(case.name, "skip", f"engine lacks {missing}")
    if last:
        gc.disable()
    fresh()  # the same sets, in the same order, and the same random draws, in any child
    return case.run(access, settings or Settings())


# The most op calls (BatteryCase.cost) of a case run in every graph order: every small graph
# of the battery, not deep_chain (50,015 on examples/student) nor the MLPs (about 7,000),
# which in 8 orders took gradcheck from 0.46 s to 4.0 s (best of 5, examples/student).
ORDERED_COST = 1000


def run_case_in_orders(
    case: BatteryCase,
    access: NodeAccess,
    settings: Settings,
    orders: int,
    *,
    last: bool = False,
) -> CaseResult:
    """Run one case in graph order 0, and where it passes, in each other of `orders` whose run
    would differ (adapter.order.repeats: the sets it iterates come out otherwise), until one
    does not pass: that result, said with its order.  An engine whose children are kept in a
    set walks them in the order of their addresses in a user's run, so a case that fails in
    one order fails in some of the user's runs: a pass in insertion order alone is luck.
    Not a case of more than ORDERED_COST op calls (a 10,000-node chain, an MLP that learns),
    run in insertion order alone: the small graphs have the same shapes.  Leaves the process
    in order 0."""
    first: list[CaseResult] = []

    def failing(order: int) -> CaseResult | None:
        result = run_case(case, access, settings, last=last)  # afresh (run_case's `fresh`)
        if order == 0:
            first.append(result)
            return None if result.status == "pass" else result
        return None if result.status in ("pass", "skip") else _in_order(result, order, orders)

    return first_in_an_order(orders if ordered(case) else 1, failing) or first[0]


def ordered(case: BatteryCase) -> bool:
    """Is the case run in every graph order (run_case_in_orders), not one of more than
    ORDERED_COST op calls?"""
    return case.cost <= ORDERED_COST


def _in_order(result: CaseResult, order: int, orders: int) -> CaseResult:
    """A case's failure in graph order `order`, said as one that passes in insertion order."""
    said = (
        f"in graph order {order} of {orders} (it passes in insertion order): the engine keeps "
        "children in a set, which a user's run walks in the order of the nodes' addresses, so "
        "this fails in some runs and not others; "
    )
    finding = result.finding
    if finding is not None:
        finding = replace(finding, message=said + finding.message, reason=said + finding.reason)
    return replace(result, detail=said + result.detail, finding=finding)


def _finding(
    case: Case,
    detail: str,
    check: str,
    point: Point | None,
    err: GradcheckError | None = None,
    *,
    raised: str = "",
) -> Finding:
    """A failed case as evidence: the op, the input, expected against actual, the line; for
    an exception, the engine function that raised it."""
    return Finding(
        case.name,
        detail,
        case.op,
        case.where,
        case.line,
        check,
        _point_text(point) if point is not None else "",
        err.index if err is not None else None,
        err.expected if err is not None else None,
        err.actual if err is not None else None,
        case.cause or (err.why if err is not None else detail.splitlines()[0]),
        case.file,
        tuple(sorted(case.requires - {case.op})),
        raised,
    )


def requirement(fn: Callable[..., Any], point: Point) -> frozenset[str]:
    """The ops `fn` calls, learned by running it on the oracle."""
    _, trace = trace_ops(fn, point, {})
    return frozenset(trace)


def cost(requires_trace: Sequence[str], case_points: int, kind: Kind, inputs: int) -> int:
    passes = {"gradcheck": 2 * inputs + 3, "kink": 4, "exact": 1, "learn": LEARN_STEPS}
    return len(requires_trace) * case_points * passes[kind]
