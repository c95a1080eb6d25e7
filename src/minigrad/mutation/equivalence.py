"""Is a surviving mutant equivalent to the original?  Search for an input that tells them apart.

A mutant the battery cannot kill is either *equivalent* (no input changes any
forward value or gradient) or a *survivor* (some input does, and the battery
should have a case for it).  This module compares the two engines on single
ops at kinks, zeros and random points, and on random graphs, observing the
forward value and the gradients under the same three regimes gradcheck uses:
a plain backward, pre-seeded input gradients, and a scaled upstream gradient.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from minigrad.battery import DAG_OPS, dag_op_requires, engine_ops, eval_dag, random_dag

__all__ = ["Probe", "find_difference", "probes"]

SPECIAL = (-2.5, -1.0, -0.5, -0.0, 0.0, 0.3, 1.0, 2.0)
EXPONENTS = (2, 3, -1, 0.5, 1.5, -2.5)
RANDOM_POINTS = 6
RANDOM_GRAPHS = 40
_SEED, _SCALE = 0.37, -1.7


@dataclass(frozen=True)
class Probe:
    """A function of engine Values and a point to evaluate it at."""

    label: str
    fn: Callable[..., Any]
    point: tuple[float, ...]
    requires: frozenset[str]


_UNARY: dict[str, Callable[[Any], Any]] = {
    "neg": lambda a: -a,
    "relu": lambda a: a.relu(),
    "tanh": lambda a: a.tanh(),
    "exp": lambda a: a.exp(),
    "log": lambda a: a.log(),
    "radd": lambda a: 2.0 + a,
    "rsub": lambda a: 2.0 - a,
    "rmul": lambda a: 2.0 * a,
    "rdiv": lambda a: 2.0 / a,
}
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


def _pow(k: float) -> Callable[[Any], Any]:
    return lambda a: a**k


def probes(ops: frozenset[str]) -> Iterator[Probe]:
    """Single ops at special and random points, then random graphs over the engine's ops."""
    rng = random.Random(0)
    unary_points = [(x,) for x in SPECIAL] + [
        (round(rng.uniform(-3, 3), 3),) for _ in range(RANDOM_POINTS)
    ]
    pair_points = [(x, y) for x in SPECIAL for y in SPECIAL[::3]] + [
        (round(rng.uniform(-3, 3), 3), round(rng.uniform(-3, 3), 3)) for _ in range(RANDOM_POINTS)
    ]
    for op, unary in _UNARY.items():
        for point in unary_points:
            yield Probe(f"{op} at x={point[0]}", unary, point, frozenset({op}))
    for k in EXPONENTS:
        for point in unary_points:
            yield Probe(f"x ** {k} at x={point[0]}", _pow(k), point, frozenset({"pow"}))
    for op, binary in _BINARY.items():
        for pair in pair_points:
            yield Probe(f"{op} at (a, b)={pair}", binary, pair, frozenset({op}))
        for point in unary_points:  # the same node on both sides
            yield Probe(
                f"{op} of x with itself at x={point[0]}",
                lambda a, f=binary: f(a, a),
                point,
                frozenset({op}),
            )
    dag_ops = [op for op in DAG_OPS if dag_op_requires(op) <= ops]
    for seed in range(RANDOM_GRAPHS):
        spec, start = random_dag(10_000 + seed, dag_ops)
        yield Probe(
            f"random graph {spec} at {start}",
            lambda *xs, s=spec: eval_dag(s, *xs),
            start,
            frozenset(),
        )


def _observe(value_cls: type, probe: Probe) -> tuple[Any, ...]:
    """Forward value and gradients under a plain, a pre-seeded and a scaled backward."""
    try:
        xs = [value_cls(x) for x in probe.point]
        out = probe.fn(*xs)
        out.backward()
        plain = [float(x.grad) for x in xs]
        xs = [value_cls(x) for x in probe.point]
        for x in xs:
            x.grad = _SEED
        scaled = probe.fn(*xs) * _SCALE
        scaled.backward()
        return ("ok", float(out.data), plain, [float(x.grad) for x in xs])
    except Exception as err:  # both engines raising the same error is agreement
        return ("raises", type(err).__name__)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def _agree(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))


def _show(observed: tuple[Any, ...]) -> str:
    if observed[0] == "raises":
        return f"raises {observed[1]}"
    _, value, plain, seeded = observed
    return f"value {value!r}, gradients {plain}, pre-seeded and scaled gradients {seeded}"


def find_difference(original: type, mutant: type) -> tuple[str | None, int]:
    """The first probe on which the engines differ (described), or None; and how many ran."""
    ops = engine_ops(original) & engine_ops(mutant)
    count = 0
    for probe in probes(ops):
        if not probe.requires <= ops:
            continue
        count += 1
        want, got = _observe(original, probe), _observe(mutant, probe)
        if not _agree(want, got):
            return f"{probe.label}: original gives {_show(want)}; mutant gives {_show(got)}", count
    return None, count
