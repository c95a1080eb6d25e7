"""The battery's rows, built for one engine from what the adapter found in it.

Two kinds of rows:

* **one set per op the engine has**, known or not: the op alone at points in
  its domain (forward against plain math when minigrad knows the op), the op
  on an intermediate that is reused, and, at a kink, its subgradient;
* **fixed rows** that close the gaps a lazy finite-difference test leaves
  open: the lab's composites, reuse of leaves and intermediates within and
  across ops, a 10,000-node chain, exact edge cases, random DAGs and an MLP.
  A fixed row runs when the engine has every op it calls.

Tests, the CLI and the mutation campaign all read the same rows.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from minigrad_tool import ops as catalogue
from minigrad_tool.adapter.profile import EngineKind, Op, Profile, apply_op
from minigrad_tool.battery.cases import BatteryCase, Case, KinkRule, cost
from minigrad_tool.battery.dags import CORE_DAG_OPS, DAG_OPS, dag_op_requires, eval_dag, random_dag
from minigrad_tool.battery.oracle import Calls, evaluate, spelling

__all__ = ["Battery", "build_battery"]

Point = tuple[float, ...]

# Number operands of per-op rows: `x + 3.0`, `2.0 - x`, `1.0 / x`.
_CONST = {"add": 3.0, "sub": 3.0, "mul": 3.0, "div": 4.0}
_REFLECTED = {"radd": 2.0, "rsub": 2.0, "rmul": 3.0, "rdiv": 1.0, "rpow": 2.0}
# Exponents of `x ** k` rows: (row name, points); fractional ones get positive bases.
_POW_ROWS: dict[float, tuple[str, tuple[Point, ...]]] = {
    2: ("pow2", ((1.5,), (-0.7,))),
    3: ("pow3", ((-1.2,), (0.8,))),
    0.5: ("pow_half", ((2.0,), (0.3,))),
    -1: ("pow_neg1", ((1.7,), (-0.6,))),
    -2: ("pow_neg2", ((1.7,), (-0.6,))),
    1.5: ("pow_float", ((2.5,), (0.4,))),
    -0.5: ("pow_neg_half", ((2.5,), (0.4,))),
}


@dataclass(frozen=True)
class Battery:
    """The cases for one engine, and what could not be built for it."""

    cases: tuple[BatteryCase, ...]
    skipped: tuple[tuple[str, str], ...]  # (row, why): fixed rows the engine lacks ops for
    unchecked: tuple[tuple[str, str], ...]  # (op, why): ops with no case at all
    calls: Calls

    def case(self, name: str) -> BatteryCase:
        return self._by_name[name]

    @functools.cached_property
    def _by_name(self) -> dict[str, BatteryCase]:
        """Each case by name (the first of a name): a judge looks cases up for every mutant."""
        found: dict[str, BatteryCase] = {}
        for case in self.cases:
            found.setdefault(case.name, case)
        return found

    def reusing(self, profile: Profile) -> frozenset[str]:
        """The cases that may use a node an op made twice (Case.shares), or call an op built
        from others whose own graph does (ReuseWalk.sharing): those a backward() that walks a
        reused node wrongly fails whatever their ops (check.walks_reuse_wrong)."""
        walk = profile.backward_reuse
        built = set(walk.sharing if walk else ())
        return frozenset(c.name for c in self.cases if c.shares or c.requires & built)

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.group for c in self.cases))


def _where(profile: Profile, op: Op) -> str:
    place = profile.place(op)
    if op.composite and op.uses:
        place += f", built from {', '.join(op.uses)}"
    return place


def _make(
    name: str,
    group: str,
    fn: Callable[..., Any],
    points: Sequence[Point],
    requires: frozenset[str] | None = None,
    **fields: Any,
) -> Case:
    """A case; its requirements, cost and whether it reuses a node an op made come from a run
    on the oracle when it has one (else it may: Case.shares)."""
    kind = fields.get("kind", "gradcheck")
    try:
        _, context = evaluate(fn, tuple(points[0]), fields.get("parameters", {}))
        trace, shares = context.trace, context.shared
    except Exception:  # an op with no oracle: the caller states what it requires
        trace, shares = sorted(requires or ()), True
    needs = requires if requires is not None else frozenset(trace)
    return Case(
        name,
        group,
        fn,
        tuple(points),
        needs,
        cost=cost(trace or ["?"], len(points), kind, len(points[0])),
        shares=shares,
        **fields,
    )


class _OpRows:
    """The rows of every op one engine has."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.names = profile.names
        self.cases: list[Case] = []
        self.unchecked: list[tuple[str, str]] = []

    def add(self, op: Op, name: str, fn: Callable[..., Any], points: Sequence[Point]) -> None:
        fields: dict[str, Any] = {
            "op": op.name,
            "where": _where(self.profile, op),
            "line": op.line,
            "file": op.file,
            "cause": self.profile.step_cause(op),
        }
        known = catalogue.KNOWN.get(op.oracle or "")
        if op.parameter is not None and known is not None:
            fields["parameters"] = {known.name: op.parameter}
        fields["oracle"] = op.oracle is not None
        self.cases.append(_make(name, "op", fn, points, frozenset({op.name}), **fields))

    def unary(self, op: Op, k: float = 2.0) -> Callable[[Any], Any]:
        return lambda a: apply_op(op, (a,), k)

    def rows_of(self, op: Op) -> None:
        if op.call == "pow":
            self.pow_rows(op)
            return
        if not op.points:
            self.unchecked.append((op.name, op.note or "no point to check it at"))
            return
        if op.call == "binary":
            self.add(op, op.name, lambda a, b: apply_op(op, (a, b)), op.points)
            if op.name in _CONST:
                c = _CONST[op.name]
                self.add(op, f"{op.name}_const", lambda a: apply_op(op, (a, c)), ((1.5,), (-0.4,)))
            if op.oracle:
                self.add(op, f"{op.name}_self", lambda a: apply_op(op, (a, a)), _firsts(op.points))
            self.reuse_binary(op)
            return
        k = _REFLECTED.get(op.name, 2.0)
        f = self.unary(op, k)
        self.add(op, op.name, f, op.points)
        self.reuse_unary(op, f)
        self.kink_rows(op, f)

    def pow_rows(self, op: Op) -> None:
        if not op.exponents:
            self.unchecked.append((op.name, "no exponent of 2, 3, 0.5, -1, -2, 1.5, -0.5 works"))
        for k in op.exponents:
            name, points = _POW_ROWS[k]
            self.add(op, name, self.unary(op, k), points)
        if 2 in op.exponents:
            self.reuse_unary(op, self.unary(op, 2))

    def reuse_unary(self, op: Op, f: Callable[[Any], Any]) -> None:
        """The op on an intermediate t = x + 0.0 that is used again, its output used twice."""
        if "add" not in self.names:
            return
        if "mul" in self.names:

            def reuse(a: Any) -> Any:
                t = a + 0.0
                u = f(t)
                return u * u + t

        else:

            def reuse(a: Any) -> Any:
                t = a + 0.0
                return f(t) + t

        point = (1.5,) if op.call == "pow" else op.points[0]
        self.add(op, f"{op.name}_reuse", reuse, (point,))
        self.cases[-1] = _with_requires(self.cases[-1], {op.name, "add", "mul"} & self.names)

    def reuse_binary(self, op: Op) -> None:
        if "add" not in self.names:
            return

        both = op.oracle is not None  # an op without an oracle may not accept (b, a)

        def reuse(a: Any, b: Any) -> Any:
            t = a + 0.0
            out = apply_op(op, (t, b)) + t
            return out + apply_op(op, (b, t)) if both else out

        self.add(op, f"{op.name}_reuse", reuse, op.points[:1])
        self.cases[-1] = _with_requires(self.cases[-1], {op.name, "add"})

    def kink_rows(self, op: Op, f: Callable[[Any], Any]) -> None:
        known = catalogue.KNOWN.get(op.oracle or "")
        if known is None or known.kink is None:
            return
        kink = known.kink
        s = op.parameter if op.parameter is not None else known.parameter
        rule = KinkRule(
            op.name,
            kink.low(s),
            kink.high(s),
            kink.convention(s),
            kink.convention_text,
            expect=lambda slope: (slope,),
            probe=f,
        )
        at = kink.at
        self.add(op, f"{op.name}_kink", f, ((at,), (-at if at else -0.0,)))
        self.cases[-1] = _as_kink(self.cases[-1], rule)
        if op.oracle == "relu" and {"add", "mul"} <= self.names:
            mid = KinkRule(
                op.name,
                rule.low,
                rule.high,
                rule.convention,
                rule.convention_text,
                expect=lambda slope: (1.0 + 2.0 * slope, 0.0),
                probe=f,
            )
            self.add(op, "relu_kink_mid", lambda a, b: f(a * b) + a, ((0.0, 2.0),))
            self.cases[-1] = _as_kink(_with_requires(self.cases[-1], {op.name, "add", "mul"}), mid)


def _firsts(points: Sequence[Point]) -> tuple[Point, ...]:
    return tuple((p[0],) for p in points)


def _with_requires(case: Case, requires: set[str]) -> Case:
    return replace(case, requires=frozenset(requires))


def _as_kink(case: Case, rule: KinkRule) -> Case:
    return replace(case, kind="kink", kink=rule, group="edge")


# --- fixed rows ------------------------------------------------------------------------------


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


def _mlp_loss(c: Calls) -> Callable[..., Any]:
    def loss(*p: Any) -> Any:
        """Mean squared error of a 2-4-1 MLP (ReLU hidden layer) on the toy set."""
        total: Any = 0.0
        for (x1, x2), y in _TOY:
            pred = p[-1]
            for h in range(_HIDDEN):
                w1, w2, bias, v = p[3 * h], p[3 * h + 1], p[3 * h + 2], p[3 * _HIDDEN + h]
                pred = pred + v * c.relu(w1 * x1 + w2 * x2 + bias)
            total = (pred - y) ** 2 + total
        return total / len(_TOY)

    return loss


def _mlp_point(seed: int = 0) -> Point:
    """Seeded weights in [-1, 1]; hidden biases start at 0.5 so no ReLU starts dead."""
    rng = random.Random(seed)
    point = [round(rng.uniform(-1.0, 1.0), 3) for _ in range(_N_PARAMS)]
    for h in range(_HIDDEN):
        point[3 * h + 2] = 0.5
    return tuple(point)


def _dag_rows(available: frozenset[str], calls: Calls) -> list[Case]:
    ops = [op for op in DAG_OPS if dag_op_requires(op) <= available]
    if "add" not in available or not ops:
        return []
    rows = []
    for label, seeds, allowed in (("core", range(4), CORE_DAG_OPS), ("all", range(100, 104), ())):
        chosen = [op for op in ops if not allowed or op in allowed]
        for n, seed in enumerate(seeds):
            spec, point = random_dag(seed, chosen)
            rows.append(
                _make(
                    f"dag_{label}_{n}",
                    "random",
                    lambda *xs, s=spec: eval_dag(s, calls, *xs),
                    (point,),
                )
            )
    return rows


def _fixed_rows(c: Calls) -> list[Case]:
    return [
        # the lab's three composites
        _make(
            "lab_diamond",
            "composite",
            lambda a, b, d: (a * b + d) * (a - d),
            ((2.0, -3.0, 10.0), (0.5, 1.5, -1.0)),
        ),
        _make(
            "lab_relu",
            "composite",
            lambda a, b, d: c.relu(a * b + d),
            ((2.0, -3.0, 10.0), (1.0, 2.0, -5.0)),
        ),
        _make("lab_div", "composite", lambda a, b: a / (b + 1.0), ((2.0, 3.0), (-1.5, 0.5))),
        # graph shape: accumulation, several paths, reuse of leaves and intermediates
        _make("paths", "graph", lambda a, b, d: a * b + a * d + b, ((1.5, -2.0, 0.7),)),
        _make("reuse_leaf_add", "graph", lambda a: a + a, ((1.5,), (-0.4,))),
        _make("reuse_leaf_sub", "graph", lambda a: (a - a) + a * 2.0, ((1.5,),)),
        _make("reuse_leaf_mul", "graph", lambda a: a * a, ((1.5,), (-0.4,))),
        _make("reuse_leaf_div", "graph", lambda a, b: (a + b) / a, ((1.5, -2.0),)),
        _make(
            "reuse_mid_mul_add", "graph", lambda a, b: (lambda t: t * t + t)(a * b), ((1.5, -0.5),)
        ),
        _make(
            "reuse_mid_add_mul", "graph", lambda a, b: (lambda t: t + t * t)(a + b), ((1.5, -0.5),)
        ),
        _make(
            "reuse_mid_sub_div",
            "graph",
            lambda a, b: (lambda t: (t - b) / (t * t + 1.0))(a * b - a),
            ((1.5, -0.5),),
        ),
        _make(
            "reuse_mid_pow_neg", "graph", lambda a, b: (lambda t: -t + t**3)(a - b), ((0.4, -0.7),)
        ),
        _make(
            "reuse_mid_relu",
            "graph",
            lambda a, b: (lambda t: c.relu(t) * t - t)(a * b + 1.0),
            ((1.5, 0.8),),
        ),
        _make(
            "reuse_mid_unary",
            "graph",
            lambda a, b: (lambda t: c.tanh(t) * t + c.exp(t) - c.log(t * t + 1.0))(a * b),
            ((0.6, -0.9),),
        ),
        _make("deep_chain", "graph", _deep_chain, ((0.7,),), depth=10_005),
        # an unused input: a finite difference gives ~0, the engine must give exactly 0
        _make(
            "unused_input",
            "edge",
            lambda a, b: a * 2.0,
            ((1.5, -2.0),),
            kind="exact",
            exact=((2.0, 0.0),),
        ),
    ]


def build_battery(profile: Profile) -> Battery:
    """Every row that can run on this engine, and the reasons for those that cannot."""
    return _BATTERIES[profile.kind](profile)


def _tensor_battery(profile: Profile) -> Battery:
    from minigrad_tool.tensor.rows import build_tensor_battery  # numpy from here on only

    cases, skipped, unchecked = build_tensor_battery(profile)
    return Battery(cases, skipped, unchecked, Calls({}))


def _scalar_battery(profile: Profile) -> Battery:
    calls = Calls(spelling(profile.ops))
    rows = _OpRows(profile)
    for op in profile.ops:
        rows.rows_of(op)
    available = profile.names
    fixed = [*_fixed_rows(calls), *_dag_rows(available, calls)]
    loss = _mlp_loss(calls)
    fixed += [
        _make("mlp_gradcheck", "mlp", loss, (_mlp_point(),)),
        _make("mlp_learns", "mlp", loss, (_mlp_point(),), kind="learn"),
    ]
    kept = [case for case in fixed if case.requires <= available]
    broken = [method for method, _ in profile.broken]
    skipped = tuple(
        (case.name, catalogue.why_not_run(sorted(case.requires - available), broken))
        for case in fixed
        if not case.requires <= available
    )
    return Battery(tuple(rows.cases + kept), skipped, tuple(rows.unchecked), calls)


# Each kind of engine's battery (engine kinds are rows, as ops are).
_BATTERIES: dict[EngineKind, Callable[[Profile], Battery]] = {
    "scalar": _scalar_battery,
    "tensor": _tensor_battery,
}
