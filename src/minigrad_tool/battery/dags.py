"""Random DAGs: reproducible graphs mixing an engine's ops, with reuse everywhere.

Each DAG op reads one or two earlier nodes and stays inside its safe domain:
denominators are >= 1, log and fractional powers see positive arguments.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from minigrad_tool.battery.oracle import Calls, NoOracle, Ref, RefContext

__all__ = ["DAG_OPS", "DagSpec", "dag_op_requires", "eval_dag", "random_dag"]

Point = tuple[float, ...]
DagSpec = tuple[tuple[str, int, int], ...]

DAG_OPS: dict[str, Callable[[Calls, Any, Any], Any]] = {
    "add": lambda c, a, b: a + b,
    "sub": lambda c, a, b: a - b,
    "mul": lambda c, a, b: a * b,
    "div": lambda c, a, b: a / (b * b + 1.0),
    "radd": lambda c, a, b: 0.5 + a,
    "rsub": lambda c, a, b: 1.5 - a,
    "rmul": lambda c, a, b: 1.5 * a,
    "rdiv": lambda c, a, b: 2.0 / (a * a + 1.0),
    "pow2": lambda c, a, b: a**2,
    "pow3": lambda c, a, b: a**3,
    "powf": lambda c, a, b: (a * a + 0.5) ** 1.5,
    "neg": lambda c, a, b: -a,
    "relu": lambda c, a, b: c.relu(a),
    "tanh": lambda c, a, b: c.tanh(a),
    "exp": lambda c, a, b: c.exp(a),
    "log": lambda c, a, b: c.log(a * a + 0.5),
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
_ORACLE = Calls({})


def dag_op_requires(op: str) -> frozenset[str]:
    """The engine ops a DAG op calls, recorded by running it on the oracle."""
    context = RefContext()
    DAG_OPS[op](_ORACLE, Ref(0.5, context), Ref(0.5, context))
    return frozenset(context.trace)


def eval_dag(spec: DagSpec, calls: Calls, *xs: Any) -> Any:
    """Evaluate a DAG spec on nodes or Refs; the output sums the last two nodes."""
    nodes = list(xs)
    for op, i, j in spec:
        nodes.append(DAG_OPS[op](calls, nodes[i], nodes[j]))
    return nodes[-1] + nodes[-2]


def dag_is_safe(spec: DagSpec, point: Point) -> bool:
    """Values stay moderate and every relu input is far from its kink."""
    context = RefContext()
    nodes = [Ref(x, context) for x in point]
    for op, i, j in spec:
        if op == "relu" and abs(nodes[i].data) < 1e-2:
            return False
        try:
            node = DAG_OPS[op](_ORACLE, nodes[i], nodes[j])
        except (OverflowError, ZeroDivisionError, ValueError, NoOracle):
            return False
        if not abs(node.data) < 20.0:
            return False
        nodes.append(node)
    return True


def random_dag(seed: int, ops: Sequence[str], size: int = 12) -> tuple[DagSpec, Point]:
    """A reproducible safe random DAG over 3 inputs, with a point to check it at."""
    if not ops:
        raise ValueError("random_dag needs at least one op")
    rng = random.Random(seed)
    for _ in range(10_000):
        point = tuple(round(rng.uniform(-1.5, 1.5), 3) for _ in range(3))
        spec: list[tuple[str, int, int]] = []
        for k in range(3, 3 + size):
            first = k - 3 if k < 6 else rng.randrange(k)  # the first three ops read each input
            spec.append((rng.choice(ops), first, rng.randrange(k)))
        if dag_is_safe(tuple(spec), point):
            return tuple(spec), point
    raise ValueError(f"no safe random DAG over the ops {', '.join(ops)}")
