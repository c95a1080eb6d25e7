"""The battery: named gradient cases, kept as data, runnable on any micrograd-style engine.

A case is a row: a name, a function of engine Values, the points to check it at,
and how to check it.  Tests, the CLI and the mutation runner all read these rows.

Each case closes one of the gaps a lazy finite-difference test leaves open:

* forward values are compared with plain ``math`` floats (:class:`Ref`), since a
  wrong forward that is self-consistent fools finite differences;
* gradcheck's property checks pre-seed gradients and scale the upstream one,
  catching ``=`` for ``+=`` and a dropped ``* out.grad``;
* reused leaves and intermediates, multiple paths and deep chains exercise
  accumulation and the topological sweep inside the graph.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from minigrad.gradcheck import GradcheckError, Tolerance, gradcheck

__all__ = [
    "BATTERY",
    "GROUPS",
    "OPS",
    "Case",
    "CaseResult",
    "Ref",
    "Settings",
    "dag_op_requires",
    "engine_ops",
    "eval_dag",
    "random_dag",
    "run_battery",
    "run_case",
]

Point = tuple[float, ...]
Kind = Literal["gradcheck", "exact", "learn"]
Status = Literal["pass", "fail", "skip", "error"]

# Op name -> the attribute a Value class needs for it.
OPS: dict[str, str] = {
    "add": "__add__",
    "radd": "__radd__",
    "sub": "__sub__",
    "rsub": "__rsub__",
    "mul": "__mul__",
    "rmul": "__rmul__",
    "div": "__truediv__",
    "rdiv": "__rtruediv__",
    "pow": "__pow__",
    "neg": "__neg__",
    "relu": "relu",
    "tanh": "tanh",
    "exp": "exp",
    "log": "log",
}


def engine_ops(value_cls: type) -> frozenset[str]:
    """The ops of OPS that `value_cls` defines."""
    return frozenset(op for op, attr in OPS.items() if callable(getattr(value_cls, attr, None)))


def _num(x: object) -> float:
    return x.data if isinstance(x, Ref) else float(x)  # type: ignore[arg-type]


class Ref:
    """The forward oracle: every op on plain floats with `math`, tracing the ops that ran."""

    __slots__ = ("data", "trace")

    def __init__(self, data: float, trace: list[str]) -> None:
        self.data = float(data)
        self.trace = trace

    def _new(self, data: float, op: str) -> Ref:
        self.trace.append(op)
        return Ref(data, self.trace)

    def __add__(self, o: object) -> Ref:
        return self._new(self.data + _num(o), "add")

    def __radd__(self, o: object) -> Ref:
        return self._new(_num(o) + self.data, "radd")

    def __sub__(self, o: object) -> Ref:
        return self._new(self.data - _num(o), "sub")

    def __rsub__(self, o: object) -> Ref:
        return self._new(_num(o) - self.data, "rsub")

    def __mul__(self, o: object) -> Ref:
        return self._new(self.data * _num(o), "mul")

    def __rmul__(self, o: object) -> Ref:
        return self._new(_num(o) * self.data, "rmul")

    def __truediv__(self, o: object) -> Ref:
        return self._new(self.data / _num(o), "div")

    def __rtruediv__(self, o: object) -> Ref:
        return self._new(_num(o) / self.data, "rdiv")

    def __pow__(self, k: float) -> Ref:
        return self._new(self.data**k, "pow")

    def __neg__(self) -> Ref:
        return self._new(-self.data, "neg")

    def relu(self) -> Ref:
        return self._new(max(self.data, 0.0), "relu")

    def tanh(self) -> Ref:
        return self._new(math.tanh(self.data), "tanh")

    def exp(self) -> Ref:
        return self._new(math.exp(self.data), "exp")

    def log(self) -> Ref:
        return self._new(math.log(self.data), "log")


LEARN_STEPS = 40
LEARN_RATE = 0.05


@dataclass(frozen=True)
class Case:
    """One named check: `fn` maps engine Values to an engine Value.

    kind "gradcheck": forward against Ref, then gradcheck at each point.
    kind "exact": forward against Ref, then gradients equal `exact` exactly
        (for points where a finite difference is wrong by design, like a kink).
    kind "learn": `fn` is a loss of parameters; plain gradient descent from
        the point must cut it at least tenfold.
    """

    name: str
    group: str
    fn: Callable[..., Any]
    points: tuple[Point, ...]
    kind: Kind = "gradcheck"
    exact: tuple[Point, ...] = ()
    depth: int = 0  # nodes on the longest path, so recursive topo sorts can be given room
    requires: frozenset[str] = field(init=False)  # the ops it calls
    cost: int = field(init=False)  # op calls it makes in all: runs cheapest first

    def __post_init__(self) -> None:
        trace: list[str] = []
        self.fn(*(Ref(x, trace) for x in self.points[0]))
        object.__setattr__(self, "requires", frozenset(trace))
        passes = {"gradcheck": 2 * len(self.points[0]) + 3, "exact": 1, "learn": LEARN_STEPS}
        object.__setattr__(self, "cost", len(trace) * len(self.points) * passes[self.kind])


@dataclass(frozen=True)
class Settings:
    """How cases are checked: gradcheck's tolerance and mode."""

    tolerance: Tolerance = field(default_factory=Tolerance)
    fast: bool = False


@dataclass(frozen=True)
class CaseResult:
    case: str
    status: Status
    detail: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        """A check failed, or the engine raised: either way the case caught something."""
        return self.status in ("fail", "error")


# --- the checks behind each kind -------------------------------------------


def _check_forward(case: Case, value_cls: type, point: Point) -> list[Any]:
    """Build the inputs, run the case once and compare its value with the Ref oracle."""
    inputs = [value_cls(x) for x in point]
    got = float(case.fn(*inputs).data)
    want = case.fn(*(Ref(x, []) for x in point)).data
    if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
        raise GradcheckError(
            "forward",
            f"forward value at {point} differs from plain math",
            case=case.name,
            expected=want,
            actual=got,
            tolerance=max(1e-9 * abs(want), 1e-12),
        )
    return inputs


def _run_gradcheck(case: Case, value_cls: type, settings: Settings) -> None:
    tol = settings.tolerance
    for point in case.points:
        inputs = _check_forward(case, value_cls, point)
        gradcheck(
            case.fn,
            inputs,
            eps=tol.eps,
            atol=tol.atol,
            rtol=tol.rtol,
            fast=settings.fast,
            name=f"{case.name} at {point}",
        )


def _run_exact(case: Case, value_cls: type, settings: Settings) -> None:
    for point, expected in zip(case.points, case.exact, strict=True):
        inputs = _check_forward(case, value_cls, point)
        case.fn(*inputs).backward()
        for i, (x, want) in enumerate(zip(inputs, expected, strict=True)):
            if float(x.grad) != want:
                raise GradcheckError(
                    "exact",
                    f"gradient at {point} must be exactly {want!r}",
                    case=case.name,
                    index=i,
                    expected=want,
                    actual=float(x.grad),
                    tolerance=0.0,
                )


def _run_learn(case: Case, value_cls: type, settings: Settings) -> None:
    params = [value_cls(x) for x in case.points[0]]
    first = last = math.nan
    for step in range(LEARN_STEPS):
        loss = case.fn(*params)
        for p in params:
            p.grad = 0.0
        loss.backward()
        for p in params:
            p.data -= LEARN_RATE * p.grad
        last = float(loss.data)
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


_RUNNERS: dict[Kind, Callable[[Case, type, Settings], None]] = {
    "gradcheck": _run_gradcheck,
    "exact": _run_exact,
    "learn": _run_learn,
}


def run_case(
    case: Case, value_cls: type, settings: Settings | None = None, ops: frozenset[str] | None = None
) -> CaseResult:
    """Run one case; a failure or an exception becomes a result, never an escape."""
    have = engine_ops(value_cls) if ops is None else ops
    missing = case.requires - have
    if missing:
        return CaseResult(case.name, "skip", f"engine lacks {', '.join(sorted(missing))}")
    start = time.perf_counter()
    old_limit = sys.getrecursionlimit()
    if case.depth:  # recursive topo sorts (micrograd's) need a frame per node
        sys.setrecursionlimit(max(old_limit, 4 * case.depth + 1000))
    try:
        _RUNNERS[case.kind](case, value_cls, settings or Settings())
    except GradcheckError as err:
        return CaseResult(case.name, "fail", str(err), time.perf_counter() - start)
    except Exception as err:  # the engine under test crashed: report, don't escape
        detail = f"{type(err).__name__}: {err}"
        return CaseResult(case.name, "error", detail, time.perf_counter() - start)
    finally:
        sys.setrecursionlimit(old_limit)
    return CaseResult(case.name, "pass", "", time.perf_counter() - start)


def run_battery(
    value_cls: type, cases: Iterable[Case] | None = None, settings: Settings | None = None
) -> list[CaseResult]:
    ops = engine_ops(value_cls)
    return [run_case(c, value_cls, settings, ops) for c in (BATTERY if cases is None else cases)]


# --- random DAGs -------------------------------------------------------------

# Each DAG op reads one or two earlier nodes and stays inside its safe domain:
# denominators are >= 1, log and fractional powers see positive arguments.
DAG_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "radd": lambda a, b: 0.5 + a,
    "rsub": lambda a, b: 1.5 - a,
    "rmul": lambda a, b: 1.5 * a,
    "rdiv": lambda a, b: 2.0 / (a * a + 1.0),
    "pow2": lambda a, b: a**2,
    "pow3": lambda a, b: a**3,
    "powf": lambda a, b: (a * a + 0.5) ** 1.5,
    "neg": lambda a, b: -a,
    "relu": lambda a, b: a.relu(),
    "tanh": lambda a, b: a.tanh(),
    "exp": lambda a, b: a.exp(),
    "log": lambda a, b: (a * a + 0.5).log(),
}
CORE_DAG_OPS = (
    "add",
    "sub",
    "mul",
    "div",
    "radd",
    "rsub",
    "rmul",
    "rdiv",
    "pow2",
    "pow3",
    "powf",
    "neg",
    "relu",
)

DagSpec = tuple[tuple[str, int, int], ...]


def dag_op_requires(op: str) -> frozenset[str]:
    """The engine ops a DAG op calls, recorded by running it on the Ref oracle."""
    trace: list[str] = []
    DAG_OPS[op](Ref(0.5, trace), Ref(0.5, trace))
    return frozenset(trace)


def eval_dag(spec: DagSpec, *xs: Any) -> Any:
    """Evaluate a DAG spec on Values or Refs; the output sums the last two nodes."""
    nodes = list(xs)
    for op, i, j in spec:
        nodes.append(DAG_OPS[op](nodes[i], nodes[j]))
    return nodes[-1] + nodes[-2]


def dag_is_safe(spec: DagSpec, point: Point) -> bool:
    """Values stay moderate and every relu input is far from its kink."""
    nodes = [Ref(x, []) for x in point]
    for op, i, j in spec:
        if op == "relu" and abs(nodes[i].data) < 1e-2:
            return False
        try:
            node = DAG_OPS[op](nodes[i], nodes[j])
        except (OverflowError, ZeroDivisionError, ValueError):
            return False
        if not abs(node.data) < 20.0:
            return False
        nodes.append(node)
    return True


def random_dag(
    seed: int, ops: Sequence[str] = tuple(DAG_OPS), size: int = 12
) -> tuple[DagSpec, Point]:
    """A reproducible safe random DAG over 3 inputs, with a point to check it at."""
    rng = random.Random(seed)
    while True:
        point = tuple(round(rng.uniform(-1.5, 1.5), 3) for _ in range(3))
        spec: list[tuple[str, int, int]] = []
        for k in range(3, 3 + size):
            first = k - 3 if k < 6 else rng.randrange(k)  # the first three ops read each input
            spec.append((rng.choice(ops), first, rng.randrange(k)))
        if dag_is_safe(tuple(spec), point):
            return tuple(spec), point


# --- the rows ------------------------------------------------------------------


def _dag_case(name: str, seed: int, ops: Sequence[str]) -> Case:
    spec, point = random_dag(seed, ops)

    def fn(*xs: Any) -> Any:
        return eval_dag(spec, *xs)

    return Case(name, "random", fn, (point,))


def _deep_chain(a: Any) -> Any:
    """10,000 nodes: y <- y * c + b, five thousand times, c and b intermediates reused at each step.

    One input keeps gradcheck at 5 passes over the chain; every path still runs
    through the reused intermediates, whose gradients accumulate 5,000 times.
    """
    c = a * 0.5 + 0.2
    b = a - 0.4
    y = a
    for _ in range(5_000):
        y = y * c + b
    return y


# A toy regression set and a 2-4-1 ReLU network written with engine ops only,
# so that it runs on any engine.  Parameters come first in a flat list.
_TOY = [
    ((x1, x2), 0.8 * x1 - 0.5 * x2 + 0.3)
    for x1, x2 in [(-1.0, 0.5), (0.3, -0.8), (1.2, 1.0), (-0.4, -1.1), (0.9, -0.2), (-1.3, 1.4)]
]
_HIDDEN = 4
_N_PARAMS = _HIDDEN * 3 + _HIDDEN + 1


def _mlp_loss(*p: Any) -> Any:
    """Mean squared error of a 2-4-1 MLP (ReLU hidden layer) on the toy set."""
    loss: Any = 0.0
    for (x1, x2), y in _TOY:
        pred = p[-1]
        for h in range(_HIDDEN):
            w1, w2, bias, v = p[3 * h], p[3 * h + 1], p[3 * h + 2], p[3 * _HIDDEN + h]
            pred = pred + v * (w1 * x1 + w2 * x2 + bias).relu()
        loss = (pred - y) ** 2 + loss
    return loss / len(_TOY)


def _mlp_point(seed: int = 0) -> Point:
    """Seeded weights in [-1, 1]; hidden biases start at 0.5 so no ReLU starts dead."""
    rng = random.Random(seed)
    point = [round(rng.uniform(-1.0, 1.0), 3) for _ in range(_N_PARAMS)]
    for h in range(_HIDDEN):
        point[3 * h + 2] = 0.5
    return tuple(point)


_MLP_POINT = _mlp_point()


def _rows() -> list[Case]:
    ab = ((1.5, -2.0), (-0.7, 0.3), (2.0, 5.0))
    return [
        # every op, several points, negative values, away from kinks
        Case("add", "op", lambda a, b: a + b, ab),
        Case("add_const", "op", lambda a: a + 3.0, ((1.5,), (-0.4,))),
        Case("radd", "op", lambda a: 2.0 + a, ((1.5,), (-0.4,))),
        Case("sub", "op", lambda a, b: a - b, ab),
        Case("sub_const", "op", lambda a: a - 3.0, ((1.5,), (-0.4,))),
        Case("rsub", "op", lambda a: 2.0 - a, ((1.5,), (-0.4,))),
        Case("mul", "op", lambda a, b: a * b, ab),
        Case("mul_const", "op", lambda a: a * 3.0, ((1.5,), (-0.4,))),
        Case("rmul", "op", lambda a: 3.0 * a, ((1.5,), (-0.4,))),
        Case("div", "op", lambda a, b: a / b, ab),
        Case("div_const", "op", lambda a: a / 4.0, ((1.5,), (-0.4,))),
        Case("rdiv", "op", lambda a: 1.0 / a, ((0.7,), (-2.0,))),
        Case("pow2", "op", lambda a: a**2, ((1.5,), (-0.7,))),
        Case("pow3", "op", lambda a: a**3, ((-1.2,), (0.8,))),
        Case("pow_half", "op", lambda a: a**0.5, ((2.0,), (0.3,))),
        Case("pow_neg", "op", lambda a: a**-1 + a**-2, ((1.7,), (-0.6,))),
        Case("pow_float", "op", lambda a: a**1.5 + a**-0.5, ((2.5,), (0.4,))),
        Case("neg", "op", lambda a: -a, ((1.5,), (-0.4,))),
        Case("relu", "op", lambda a: a.relu(), ((1.5,), (-0.8,), (0.4,))),
        Case("tanh", "op", lambda a: a.tanh(), ((0.5,), (-1.2,), (2.0,))),
        Case("exp", "op", lambda a: a.exp(), ((0.5,), (-1.3,), (2.0,))),
        Case("log", "op", lambda a: a.log(), ((0.5,), (2.5,))),
        # the lab's three composites
        Case(
            "lab_diamond",
            "composite",
            lambda a, b, c: (a * b + c) * (a - c),
            ((2.0, -3.0, 10.0), (0.5, 1.5, -1.0)),
        ),
        Case(
            "lab_relu",
            "composite",
            lambda a, b, c: (a * b + c).relu(),
            ((2.0, -3.0, 10.0), (1.0, 2.0, -5.0)),
        ),
        Case("lab_div", "composite", lambda a, b: a / (b + 1.0), ((2.0, 3.0), (-1.5, 0.5))),
        # graph shape: accumulation, several paths, reuse of leaves and intermediates
        Case("paths", "graph", lambda a, b, c: a * b + a * c + b, ((1.5, -2.0, 0.7),)),
        Case("reuse_leaf_add", "graph", lambda a: a + a, ((1.5,), (-0.4,))),
        Case("reuse_leaf_sub", "graph", lambda a: (a - a) + a * 2.0, ((1.5,),)),
        Case("reuse_leaf_mul", "graph", lambda a: a * a, ((1.5,), (-0.4,))),
        Case("reuse_leaf_div", "graph", lambda a, b: (a + b) / a, ((1.5, -2.0),)),
        Case(
            "reuse_mid_mul_add", "graph", lambda a, b: (lambda t: t * t + t)(a * b), ((1.5, -0.5),)
        ),
        Case(
            "reuse_mid_add_mul", "graph", lambda a, b: (lambda t: t + t * t)(a + b), ((1.5, -0.5),)
        ),
        Case(
            "reuse_mid_sub_div",
            "graph",
            lambda a, b: (lambda t: (t - b) / (t * t + 1.0))(a * b - a),
            ((1.5, -0.5),),
        ),
        Case(
            "reuse_mid_pow_neg", "graph", lambda a, b: (lambda t: -t + t**3)(a - b), ((0.4, -0.7),)
        ),
        Case(
            "reuse_mid_relu",
            "graph",
            lambda a, b: (lambda t: t.relu() * t - t)(a * b + 1.0),
            ((1.5, 0.8),),
        ),
        Case(
            "reuse_mid_unary",
            "graph",
            lambda a, b: (lambda t: t.tanh() * t + t.exp() - (t * t + 1.0).log())(a * b),
            ((0.6, -0.9),),
        ),
        Case("deep_chain", "graph", _deep_chain, ((0.7,),), depth=10_005),
        # edge cases where finite differences are wrong by design: check exactly
        Case(
            "unused_input",
            "edge",
            lambda a, b: a * 2.0,
            ((1.5, -2.0),),
            kind="exact",
            exact=((2.0, 0.0),),
        ),
        Case("relu_at_zero", "edge", lambda a: a.relu(), ((0.0,),), kind="exact", exact=((0.0,),)),
        Case(
            "relu_kink_mid",
            "edge",
            lambda a, b: (a * b).relu() + a,
            ((0.0, 2.0),),
            kind="exact",
            exact=((1.0, 0.0),),
        ),
        # random DAGs mixing the ops, reproducible from their seeds
        *(_dag_case(f"dag_core_{seed}", seed, CORE_DAG_OPS) for seed in range(4)),
        *(_dag_case(f"dag_all_{seed}", 100 + seed, tuple(DAG_OPS)) for seed in range(4)),
        # a small MLP: its gradients, then whether it learns
        Case("mlp_gradcheck", "mlp", _mlp_loss, (_MLP_POINT,)),
        Case("mlp_learns", "mlp", _mlp_loss, (_MLP_POINT,), kind="learn"),
    ]


BATTERY: tuple[Case, ...] = tuple(_rows())
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(case.group for case in BATTERY))
