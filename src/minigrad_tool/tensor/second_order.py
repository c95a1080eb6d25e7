"""Second order, where the engine supports it: torch's gradgradcheck, by directional derivatives.

An engine whose `backward()` takes `create_graph` (DeZero, torch-style engines)
can build a graph of the backward pass itself, so its gradients are nodes that
can be differentiated again.  For a case's loss L and random directions u and
v, the second backward gives the Hessian-vector product H v:

    g = dL/dx as nodes (backward(create_graph=True)),  s = sum(g * v),
    s.backward()  adds  ds/dx = H v  to x.grad.

Its truth comes from the engine's first order, already checked by the battery:
u . H v is the derivative along u of t -> v . g(x + t u), by the same
Richardson-extrapolated central differences as the first-order check.  An
engine without `create_graph` has no second order: that is a capability line in
the report, never a failure.
"""

from __future__ import annotations

import inspect
import zlib
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from minigrad_tool.checker import directional
from minigrad_tool.tensor.access import Array, TensorAccess
from minigrad_tool.tensor.calls import TensorCalls


class _Case(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def calls(self) -> TensorCalls: ...

    @property
    def macheps(self) -> float: ...


class _Settings(Protocol):
    @property
    def h(self) -> float: ...

    @property
    def rtol(self) -> float: ...


class CaseRun(Protocol):
    """What the check needs of a tensor case's run (minigrad_tool.tensor.cases.CaseRun)."""

    @property
    def case(self) -> _Case: ...

    @property
    def access(self) -> TensorAccess: ...

    @property
    def settings(self) -> _Settings: ...

    @property
    def x(self) -> list[Array]: ...

    def output(self, leaves: Sequence[Any]) -> Any: ...

    def loss(self, out: Any, weight: Array) -> Any: ...


__all__ = ["CREATE_GRAPH", "second_order", "supports_second_order"]

CREATE_GRAPH = "create_graph"  # the keyword of backward() that builds the backward's graph
# u and v come from a generator of their own, seeded by the case's name: the case's draws (and
# the probes', which follow them) stay as they are.
_DRAW = 5000


def supports_second_order(cls: type, access: TensorAccess) -> bool:
    """Does the engine's backward() take `create_graph`, and leave gradients that are nodes
    (tried on sum(x * x))?  Where it does not, second order is a capability it lacks."""
    backward = getattr(cls, "backward", None)
    try:
        parameters = inspect.signature(backward).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):  # not a Python function: no keyword to pass
        return False
    if CREATE_GRAPH not in parameters:
        return False
    try:
        x = access.leaf(np.array([0.5, -1.5]))
        (x * x).sum().backward(**{CREATE_GRAPH: True})
    except Exception:  # the engine's own trouble: no second order to check
        return False
    return hasattr(x.grad, access.data_attr) and callable(getattr(x.grad, "backward", None))


def _hessian_vector(run: CaseRun, weight: Any, v: Sequence[Any]) -> list[Any] | None:
    """H v for L = sum(out * weight): the gradients' change from a second backward.  None if
    backward(create_graph=True) left a gradient that is not a node."""
    calls = run.case.calls
    leaves = [run.access.leaf(x) for x in run.x]
    run.loss(run.output(leaves), weight).backward(**{CREATE_GRAPH: True})
    grads = [leaf.grad for leaf in leaves]
    if not all(hasattr(g, run.access.data_attr) and hasattr(g, "backward") for g in grads):
        return None  # discovery saw nodes: this op's backward leaves something else
    before = [run.access.grad(leaf) for leaf in leaves]
    terms = [
        calls.reduce("sum", calls.binary("mul", g, run.access.leaf(d)))
        for g, d in zip(grads, v, strict=True)
    ]
    total = terms[0]
    for term in terms[1:]:
        total = calls.binary("add", total, term)
    total.backward()
    after = [run.access.grad(leaf) for leaf in leaves]
    return [
        (np.zeros_like(x) if a is None else a) - (np.zeros_like(x) if b is None else b)
        for a, b, x in zip(after, before, run.x, strict=True)
    ]


def _first_order_along(run: CaseRun, weight: Any, v: Sequence[Any], u: Sequence[Any]) -> Any:
    """t -> v . g(x + t u), g the engine's first-order gradients (a plain backward)."""

    def phi(t: float) -> float:
        leaves = [run.access.leaf(x + t * d) for x, d in zip(run.x, u, strict=True)]
        run.loss(run.output(leaves), weight).backward()
        grads = [run.access.grad(leaf) for leaf in leaves]
        return float(sum(np.sum(g * d) for g, d in zip(grads, v, strict=True) if g is not None))

    return phi


def second_order(run: CaseRun, weight: Any) -> str:
    """u . H v from the second backward against the derivative of v . g along u: what is
    wrong, or "" if nothing is."""
    rng = np.random.default_rng([zlib.crc32(run.case.name.encode()), _DRAW])  # its own draws
    u = [rng.normal(size=x.shape) for x in run.x]
    top = max((float(np.max(np.abs(d))) for d in u if d.size), default=1.0)
    u = [d / top for d in u]  # every entry moves by at most h
    v = [rng.normal(size=x.shape) for x in run.x]
    hv = _hessian_vector(run, weight, v)
    if hv is None:
        return (
            "backward(create_graph=True) left a gradient that is not a node: nothing to "
            "differentiate again"
        )
    analytic = float(sum(np.sum(h * d) for h, d in zip(hv, u, strict=True)))
    scale = float(sum(np.sum(np.abs(h * d)) for h, d in zip(hv, u, strict=True)))
    s = run.settings
    along = directional(
        _first_order_along(run, weight, v, u),
        s.h,
        scale=scale,
        rtol=s.rtol,
        macheps=run.case.macheps,
    )
    if along.accepts(analytic):
        return ""
    return (
        f"along random directions u, v the gradient's derivative u . (H v) is "
        f"{along.numeric:.8g} by differences of the first-order gradients, but the second "
        f"backward (after backward(create_graph=True)) gives {analytic:.8g} "
        f"(allowed {along.allowed:.2g})"
    )
