"""Is a surviving mutant equivalent to the original?  Search for an input that tells them apart.

A mutant the judge cannot kill is either *equivalent* (no input changes any
forward value or gradient) or a *survivor* (some input does, and the judge
should have a test for it).  The probes run every op the engine has, known or
not, at its points, at kinks and signed zeros, at special and random points,
and in random graphs, observing the forward value and the gradients under the
three regimes gradcheck uses: a plain backward, pre-seeded input gradients,
and a scaled upstream gradient.  Numbers equal under `==` agree: -0.0 is 0.0.

A mutant is called equivalent only when probes *executed* its changed code
(its marker fired) and none told it apart: a mutant whose code no probe
reaches has shown nothing, and stays a survivor.

Each probe also knows its own source text, so a survivor's distinguishing
probe can become a test (:mod:`minigrad_tool.mutation.suggest`).
"""

from __future__ import annotations

import ast
import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from minigrad_tool import ops as catalogue
from minigrad_tool.adapter.nodes import NodeAccess
from minigrad_tool.adapter.order import fresh
from minigrad_tool.adapter.profile import EngineKind, Op, Profile, apply_op, binary_add
from minigrad_tool.adapter.traversal import reused_twice
from minigrad_tool.battery.dags import DAG_OPS, DagSpec, dag_op_requires, eval_dag, random_dag
from minigrad_tool.battery.oracle import Calls, NoTruth, spelling, trace_ops, truth
from minigrad_tool.checker import second_points
from minigrad_tool.mutation.probe import Observation, Probe, TestStyle, attempt, renamed

__all__ = [
    "Observation",
    "Probe",
    "ScalarProbe",
    "TestStyle",
    "compare",
    "difference",
    "observe",
    "op_probe",
    "probe_source",
    "probes",
    "walk_probe",
]

SPECIAL = (-2.5, -1.0, -0.5, -0.0, 0.0, 0.3, 1.0, 2.0)
RANDOM_POINTS = 6
RANDOM_GRAPHS = 40
SEED, SCALE = 0.37, -1.7

Point = tuple[float, ...]


@dataclass(frozen=True)
class ScalarProbe:
    """A function of engine nodes, a point, and how to write it as source."""

    label: str
    fn: Callable[..., Any]
    point: Point
    lines: tuple[str, ...]  # statements computing `out` from inputs x, y, z
    kink: tuple[float, float] | None = None  # at a kink: the valid subgradient interval

    @property
    def case_name(self) -> str:
        return ""  # scalar probes are points of ops and random graphs, not battery cases

    def truth(self, profile: Profile) -> Observation:
        """What a correct engine observes here, never read off the engine: the value from
        plain math, the gradients from float64 central differences of it, and the pre-seeded,
        scaled gradients from their relation (seed + scale * gradient).  NoTruth if none can
        be established (a kink, an op without an oracle, a domain error)."""
        if self.kink is not None:
            raise NoTruth("the input sits on a kink: any subgradient is right there")
        value, grads, _ = truth(self.fn, self.point, parameters_of(profile))
        scale = written_scale(profile)
        seed = SEED if profile.grad_writable else 0.0
        seeded = [seed + scale * g for g in grads]
        zero = [0.0] * len(grads) if "mul" in profile.names else None
        second = _second_point(self.fn, self.point, parameters_of(profile))
        again = grads if second is not None else None
        return ("ok", value, grads, seeded, scale, zero, again)

    def ops(self, profile: Profile) -> list[str]:
        """The ops this probe calls, by the oracle's trace ([] if it has none)."""
        try:
            _, trace = trace_ops(self.fn, self.point, parameters_of(profile))
        except Exception:  # no oracle, or a domain error: nothing to blame by name
            return []
        return list(dict.fromkeys(trace))

    def observe(self, access: NodeAccess) -> Observation:
        """Forward value and gradients under a plain, a pre-seeded and a scaled backward."""
        try:
            xs = [access.leaf(x) for x in self.point]
            out = self.fn(*xs)
            out.backward()
            plain = [access.grad(x) for x in xs]
            xs = [access.leaf(x) for x in self.point]
            for x in xs if access.grad_writable else ():  # read-only: fresh, unseeded
                access.set_grad(x, SEED)
            scaled, scale = access.scaled(self.fn(*xs), SCALE)
            scaled.backward()
            seeded = [access.grad(x) for x in xs]
            return ("ok", access.value(out), plain, seeded, scale, *self._extra(access))
        except Exception as err:  # both engines raising the same error is agreement
            return ("raises", type(err).__name__)

    def _extra(self, access: NodeAccess) -> tuple[Any, Any]:
        """The gradients under a zero upstream gradient (None where the engine cannot multiply
        by a number), and those of a graph built before a second one at another point (None
        where no second point is in the domain); each ("raises", ...) where it raises."""
        return attempt(lambda: self._zero(access)), attempt(lambda: self._again(access))

    def _zero(self, access: NodeAccess) -> Any:
        xs = [access.leaf(x) for x in self.point]
        zeroed, weight = access.scaled(self.fn(*xs), 0.0)
        if weight != 0.0:
            return None
        zeroed.backward()
        return [access.grad(x) for x in xs]

    def _again(self, access: NodeAccess) -> Any:
        xs = [access.leaf(x) for x in self.point]
        first = self.fn(*xs)
        for there in second_points(self.point):
            try:  # the second graph is only a disturbance: where it cannot be built, none
                self.fn(*(access.leaf(v) for v in there))
            except Exception:
                continue
            first.backward()
            return [access.grad(x) for x in xs]
        return None

    def describe(self, want: Observation, got: Observation) -> str:
        return difference(want, got)

    def parts(self, observation: Observation) -> dict[str, Any]:
        _, value, plain, seeded, _, zero, again = observation
        return {"plain": (value, plain), "seeded": seeded, "zero": zero, "again": again}

    def test_lines(self, want: Observation, regime: str, style: TestStyle) -> list[str]:
        """The inputs, the graph (only what reaches `out`), backward(), and assertions of the
        value and gradients; then the same in `regime` (REGIMES): pre-seeded inputs and a
        scaled output, a zero upstream gradient, or a second graph built before backward()."""
        names = _names(len(self.point))
        inputs = probe_source(self, style.leaf)[: len(names)]
        graph = [style.spelled(line) for line in reaching(self.lines)]
        scaled, zeroed = (
            style.spelled(f"out = {by}") if by else "" for by in (style.scale, style.zero)
        )
        lines = [*inputs, *graph, f"out.{style.backward}()"]
        lines += _assertions(names, (want[1], want[2]), style)
        if regime == "seeded" and not style.preseed:
            lines.append(
                f"# the upstream gradient is not 1 (the engine owns .{style.grad}: no pre-seeding)"
            )
            lines += [*inputs, *graph, scaled, f"out.{style.backward}()"]
            lines += _assertions(names, (None, want[3]), style)
        elif regime == "seeded":
            lines.append("# pre-seeded gradients must be added to; the upstream gradient is not 1")
            lines += inputs
            lines += [f"{n}.{style.grad} = {SEED!r}" for n in names]
            lines += [*graph, scaled, f"out.{style.backward}()"]
            lines += _assertions(names, (None, want[3]), style)
        elif regime == "zero" and style.zero:
            lines.append("# a zero upstream gradient: every gradient must be exactly 0")
            lines += [*inputs, *graph, zeroed, f"out.{style.backward}()"]
            read = f".{style.data_attr}" if style.grad_is_node else ""
            none = [f"{n}.{style.grad} is None or " if style.none_grad else "" for n in names]
            lines += [
                f"assert {a}{n}.{style.grad}{read} == 0" for a, n in zip(none, names, strict=True)
            ]
        elif regime == "again":
            lines += self._second_graph_lines(want, names, inputs, graph, style)
        return lines

    def _second_graph_lines(
        self,
        want: Observation,
        names: Sequence[str],
        inputs: Sequence[str],
        graph: Sequence[str],
        style: TestStyle,
    ) -> list[str]:
        """Build the graph, then another at other inputs, then backward() on the first."""
        second = _second_point(self.fn, self.point, style.parameters)
        if second is None:
            return []
        lines = [
            "# a second graph built before backward() on the first must not change its gradients",
            *inputs,
            *graph,
        ]
        lines += [f"{n}2 = {style.leaf(repr(v))}" for n, v in zip(names, second, strict=True)]
        lines += [*renamed(graph, names, "2"), f"out.{style.backward}()"]
        return lines + _assertions(names, (None, want[2]), style)


def _second_point(
    fn: Callable[..., Any], point: Point, parameters: Mapping[str, float]
) -> Point | None:
    """Where a correct engine builds the second graph: the first of second_points whose
    value plain math gives, None if none."""
    for there in second_points(point):
        try:
            value, _ = trace_ops(fn, there, parameters)
        except Exception:  # no oracle or a domain error: not there
            continue
        if math.isfinite(value):
            return there
    return None


def parameters_of(profile: Profile) -> dict[str, float]:
    """Op parameters the oracle needs (leaky_relu's slope), as the engine defaults them."""
    parameters = {}
    for op in profile.ops:
        if op.parameter is not None and op.oracle in catalogue.KNOWN:
            parameters[op.oracle] = op.parameter
    return parameters


def written_scale(profile: Profile) -> float:
    """The upstream factor a written test scales by: `out * -1.7`, or `out + out` (2)."""
    return SCALE if "mul" in profile.names else 2.0


def _names(n: int) -> tuple[str, ...]:
    return ("x", "y", "z")[:n]


def _op_probe(
    op: Op, point: Point, constant: float, kink: tuple[float, float] | None
) -> ScalarProbe:
    call = op.describe_call(_names(len(point)), repr(constant))
    return ScalarProbe(
        f"{call} at {_point(point)}",
        lambda *xs: apply_op(op, xs, constant),
        point,
        (f"out = {call}",),
        kink,
    )


def op_probe(op: Op, point: Point) -> ScalarProbe:
    """The op alone at `point` (2.0 as its number operand)."""
    return _op_probe(op, point, 2.0, None)


def _reuse_probe(profile: Profile) -> ScalarProbe | None:
    """The graph backward()'s walk is measured on (adapter.traversal), over two inputs: w =
    x + y, used by w + y and by ((w + y) + y) + y, the two summed.  A backward() that runs w's
    step once, after both its users gave it their gradients, gives x the gradient 2; one that
    runs it once per path, or too early, does not.  None where the engine adds no two nodes."""
    add = binary_add(profile.ops)
    if add is None:
        return None

    def graph(x: Any, y: Any) -> Any:
        return reused_twice(lambda a, b: apply_op(add, (a, b)), x, y)

    def call(left: str) -> str:
        return add.describe_call((left, "y"))

    steps = (("w", "x"), ("a", "w"), ("b1", "w"), ("b2", "b1"), ("b3", "b2"))
    lines = [f"{name} = {call(left)}" for name, left in steps]
    return ScalarProbe(
        f"w = {call('x')} used twice, by {call('w')} and by {call(call(call('w')))}, "
        "at x=1.5, y=-2.0",
        graph,
        (1.5, -2.0),
        (*lines, f"out = {add.describe_call(('a', 'b3'))}"),
    )


def _point(point: Point) -> str:
    names = _names(len(point))
    return ", ".join(f"{n}={v!r}" for n, v in zip(names, point, strict=True))


def _self_probe(op: Op, x: float) -> ScalarProbe:
    call = op.describe_call(("x", "x"))
    return ScalarProbe(
        f"{call} (the same node twice) at x={x!r}",
        lambda a: apply_op(op, (a, a)),
        (x,),
        (f"out = {call}",),
    )


def _chain_probe(op: Op, point: Point) -> ScalarProbe:
    """The op applied to its own output, `relu(relu(x))`: where the engine adds no two nodes
    (an exercise's engine of relu alone), the only graphs of more than one node it builds,
    where a backward() that runs the steps out of order shows."""
    inner, outer = op.describe_call(("x",)), op.describe_call(("h",))
    return ScalarProbe(
        f"{outer} where h = {inner} at {_point(point)}",
        lambda x: apply_op(op, (apply_op(op, (x,)),)),
        point,
        (f"h = {inner}", f"out = {outer}"),
    )


_DAG_SOURCE: dict[str, str] = {
    "add": "{a} + {b}",
    "sub": "{a} - {b}",
    "mul": "{a} * {b}",
    "div": "{a} / ({b} * {b} + 1.0)",
    "radd": "0.5 + {a}",
    "rsub": "1.5 - {a}",
    "rmul": "1.5 * {a}",
    "rdiv": "2.0 / ({a} * {a} + 1.0)",
    "pow2": "{a} ** 2",
    "pow3": "{a} ** 3",
    "powf": "({a} * {a} + 0.5) ** 1.5",
    "neg": "-{a}",
}
# The named ops' operands, called as the engine spells each (_named_call).
_DAG_OPERANDS = {"relu": "{a}", "tanh": "{a}", "exp": "{a}", "log": "{a} * {a} + 0.5"}


def _named_call(how: str, operand: str) -> str:
    """`x.tanh()` for a method, `engine.tanh(x)` for "engine:tanh" (Op.function)."""
    module, colon, function = how.rpartition(":")
    if colon:
        return f"{module}.{function}({operand})"
    return f"{operand if operand.isidentifier() else f'({operand})'}.{how}()"


def _dag_lines(spec: DagSpec, methods: dict[str, str]) -> tuple[str, ...]:
    names = ["x", "y", "z"]
    lines = []
    for k, (op, i, j) in enumerate(spec, start=3):
        name = f"n{k}"
        if op in _DAG_OPERANDS:
            text = _named_call(methods[op], _DAG_OPERANDS[op].format(a=names[i]))
        else:
            text = _DAG_SOURCE[op].format(a=names[i], b=names[j])
        lines.append(f"{name} = {text}")
        names.append(name)
    lines.append(f"out = {names[-1]} + {names[-2]}")
    return tuple(lines)


def _unary_points(rng: random.Random) -> list[Point]:
    points: list[Point] = [(x,) for x in SPECIAL]
    return points + [(round(rng.uniform(-3, 3), 3),) for _ in range(RANDOM_POINTS)]


def probes(profile: Profile) -> Iterator[ScalarProbe]:
    """Single ops first (smallest), then random graphs over the engine's ops."""
    rng = random.Random(0)
    unary = _unary_points(rng)
    pairs = [(x, y) for x in SPECIAL for y in SPECIAL[::3]] + [
        (round(rng.uniform(-3, 3), 3), round(rng.uniform(-3, 3), 3)) for _ in range(RANDOM_POINTS)
    ]
    for op in profile.ops:
        kink = op.kink
        interval = None
        if kink is not None:
            s = op.parameter if op.parameter is not None else 0.0
            interval = (kink.low(s), kink.high(s))
        if op.call == "binary":
            for pair in dict.fromkeys([*op.points, *pairs]):
                yield _op_probe(op, pair, 2.0, None)
            for (x,) in dict.fromkeys([(p[0],) for p in op.points] + unary):
                yield _self_probe(op, x)
        elif op.call == "pow":
            for k in op.exponents:
                for point in unary:
                    yield _op_probe(op, point, k, None)
        else:
            constant = {"rmul": 3.0, "rdiv": 1.0}.get(op.name, 2.0)
            for point in dict.fromkeys([*op.points, *unary]):
                at_kink = kink is not None and point[0] == kink.at
                yield _op_probe(op, point, constant, interval if at_kink else None)
    methods = spelling(profile.ops)
    available = profile.names
    dag_ops = [op for op in DAG_OPS if dag_op_requires(op) <= available]
    if "add" not in available:  # no random graphs: chains of one op are the deepest built
        for op in profile.ops:
            if op.call in ("method", "unary"):
                yield from (_chain_probe(op, point) for point in dict.fromkeys(op.points))
    if "add" not in available or not dag_ops:
        return
    calls = Calls(methods)
    template = {name: methods.get(name, name) for name in ("relu", "tanh", "exp", "log")}
    for seed in range(RANDOM_GRAPHS):
        spec, start = random_dag(10_000 + seed, dag_ops)
        yield ScalarProbe(
            f"random graph {spec} at {start}",
            lambda *xs, s=spec: eval_dag(s, calls, *xs),
            start,
            _dag_lines(spec, template),
        )


def observe(access: NodeAccess, probe: Probe) -> Observation:
    """The probe's observation, from a fresh start (the same sets and draws in any child)."""
    fresh()
    return probe.observe(access)


def _close(a: float, b: float, rtol: float) -> bool:
    """Equal as numbers (so -0.0 is 0.0, as `==` says: a test asserting the sign of a zero is
    no test anyone keeps), or within `rtol`; NaN agrees only with NaN."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=rtol, abs_tol=0.0)


def _same(a: Any, b: Any, rtol: float) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, rtol) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return _close(a, b, rtol)
    return bool(a == b)


def compare(
    want: Observation, got: Observation, rtol: float, kink: tuple[float, float] | None = None
) -> bool:
    """Do the two observations agree?  At a kink with `kink` given, any subgradient agrees."""
    if kink is not None and want[0] == got[0] == "ok":
        low, high = kink
        valid = all(low <= g <= high for g in got[2]) and all(low <= g <= high for g in want[2])
        return valid and _same(want[1], got[1], rtol)
    return len(want) == len(got) and all(_same(a, b, rtol) for a, b in zip(want, got, strict=True))


def _shown(a: float, b: float) -> tuple[str, str]:
    """Two numbers, rounded for reading: 4 significant digits, more only where they differ
    beyond them, and Python's repr where nothing shorter tells them apart."""
    if a == b or (math.isnan(a) and math.isnan(b)):
        return f"{a:.4g}", f"{b:.4g}"
    for digits in (4, 6, 8, 10, 12):
        left, right = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if left != right:
            return left, right
    return repr(a), repr(b)


def _pair(want: Any, got: Any) -> tuple[str, str]:
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        pairs = [_pair(w, g) for w, g in zip(want, got, strict=True)]
        return f"[{', '.join(p[0] for p in pairs)}]", f"[{', '.join(p[1] for p in pairs)}]"
    if isinstance(want, float) and isinstance(got, float):
        return _shown(want, got)
    return str(want), str(got)


def _said(observed: Observation, value: str, plain: str, seeded: str) -> str:
    if observed[0] == "raises":
        return f"raises {observed[1]}"
    return f"value {value}, gradients {plain}, then pre-seeded and scaled {seeded}"


def difference(want: Observation, got: Observation) -> str:
    """What the original and the mutant give, with every number a test needs to check it:
    the point is in the probe's label; here the seed and the scale, and both results."""
    if want[0] == got[0] == "ok":
        (value, value2), (plain, plain2), (seeded, seeded2) = (
            _pair(want[1], got[1]),
            _pair(want[2], got[2]),
            _pair(want[3], got[3]),
        )
    else:
        value = value2 = plain = plain2 = seeded = seeded2 = ""
    scale = want[4] if want[0] == "ok" else got[4] if got[0] == "ok" else SCALE
    return (
        f"original gives {_said(want, value, plain, seeded)}; "
        f"mutant gives {_said(got, value2, plain2, seeded2)} "
        f"(pre-seeded: every input's .grad set to {SEED:g} before backward(); scaled: "
        f"backward() from out * {scale:g})" + _other_regimes(want, got)
    )


# The regimes after the scaled one, in an observation's order: (index, what they are).
_OTHER_REGIMES = (
    (5, "under a zero upstream gradient (backward() from out * 0)"),
    (6, "with a second graph built at other inputs before backward()"),
)


def _regime_said(part: Any) -> str:
    """One regime's observation in words: its gradients, that it raised, or that it has none."""
    if isinstance(part, tuple) and part[:1] == ("raises",):
        return f"raises {part[1]}"
    return "no gradients (not run)" if part is None else f"gradients {part}"


def _other_regimes(want: Observation, got: Observation) -> str:
    """The gradients of the regimes that tell the two apart, past the first three."""
    if not want[0] == got[0] == "ok":
        return ""
    said = []
    for index, what in _OTHER_REGIMES:
        if not _same(want[index], got[index], 0.0):
            shown, shown2 = (_regime_said(o[index]) for o in (want, got))
            if shown.startswith("gradients") and shown2.startswith("gradients"):
                shown, shown2 = (f"gradients {g}" for g in _pair(want[index], got[index]))
            said.append(f"; {what}, original gives {shown}, mutant {shown2}")
    return "".join(said)


def probe_source(probe: ScalarProbe, leaf: Callable[[str], str]) -> list[str]:
    """The probe as statements: inputs (`leaf` writes a leaf's constructor call), then the
    graph ending in `out`."""
    inputs = [
        f"{n} = {leaf(repr(v))}" for n, v in zip(_names(len(probe.point)), probe.point, strict=True)
    ]
    return [*inputs, *probe.lines]


def tolerance_for(profile: Profile) -> float:
    """How close two observations must be to agree: 1e-9 in float64, some ulps beyond."""
    return max(1e-9, 64.0 * profile.precision.macheps)


def _scalar_description(profile: Profile) -> str:
    """What the scalar probes are, for this engine: random graphs need its `+`."""
    graphs = "random graphs" if "add" in profile.names else "each op applied to its own output"
    return (
        f"every op at kinks, signed zeros and random points, and {graphs}; forward "
        "values and plain, pre-seeded and scaled gradients"
    )


def _tensor_probes(profile: Profile) -> list[Probe]:
    from minigrad_tool.tensor.probes import tensor_probes  # numpy is needed from here on only

    return list(tensor_probes(profile))


def _tensor_walk(profile: Profile) -> Probe | None:
    from minigrad_tool.tensor.probes import walk_probe as tensor_walk_probe

    return tensor_walk_probe(profile)


def _tensor_description(profile: Profile) -> str:
    from minigrad_tool.tensor.probes import description

    return description(profile)


@dataclass(frozen=True)
class _ProbeKind:
    """A kind of engine's probes, and what they are (an equivalent mutant's reason says it)."""

    build: Callable[[Profile], list[Probe]]
    description: Callable[[Profile], str]
    # the graph a test of backward()'s walk over a reused node is written at (None where the
    # engine lacks the ops it takes)
    walk: Callable[[Profile], Probe | None]


_PROBE_KINDS: dict[EngineKind, _ProbeKind] = {
    "scalar": _ProbeKind(lambda profile: list(probes(profile)), _scalar_description, _reuse_probe),
    "tensor": _ProbeKind(_tensor_probes, _tensor_description, _tensor_walk),
}


def all_probes(profile: Profile) -> list[Probe]:
    return _PROBE_KINDS[profile.kind].build(profile)


def walk_probe(profile: Profile) -> Probe | None:
    """Where the engine's kind has one, the graph a test of backward()'s walk over a reused
    node is written at."""
    return _PROBE_KINDS[profile.kind].walk(profile)


def describe_probes(profile: Profile) -> str:
    """What the probes are, for an equivalent mutant's reason."""
    return _PROBE_KINDS[profile.kind].description(profile)


def explain(probe: Probe, want: Observation, got: Observation) -> str:
    """What tells the mutant apart at this probe."""
    return f"{probe.label}: {probe.describe(want, got)}"


def literal(value: float, rtol: float) -> str:
    """The shortest decimal that stays within a hundredth of the test's tolerance of `value`."""
    for digits in range(4, 18):
        text = f"{value:.{digits}g}"
        if float(text) == value or math.isclose(float(text), value, rel_tol=rtol / 100):
            return text
    return repr(value)


def _assertions(names: Sequence[str], values: Sequence[Any], style: TestStyle) -> list[str]:
    value, grads = values
    rtol = style.rtol
    lines = (
        [f"assert close(out.{style.data_attr}, {literal(value, rtol)})"]
        if value is not None
        else []
    )
    lines += [
        f"assert close({n}.{style.grad}, {literal(g, rtol)})"
        for n, g in zip(names, grads, strict=True)
    ]
    return lines


def reaching(lines: Sequence[str]) -> list[str]:
    """The statements `name = expression` that `out` depends on, in order."""
    needed = {"out"}
    kept: list[str] = []
    for line in reversed(lines):
        target, _, expression = line.partition(" = ")
        if target.strip() not in needed:
            continue
        kept.append(line)
        used = {
            n.id for n in ast.walk(ast.parse(expression, mode="eval")) if isinstance(n, ast.Name)
        }
        needed |= used
    return kept[::-1]
