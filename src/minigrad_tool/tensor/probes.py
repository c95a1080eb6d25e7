"""Equivalence probes for tensor engines: every battery case, on other draws of its inputs.

A mutant no judge killed is equivalent only if these probes ran its changed
code and none told it apart.  Each case of the battery runs on
:data:`VARIANTS` new draws of its inputs (kink cases on their own, where a
changed tie rule shows), so every shape family the battery has (square and
not, 1-D to 4-D, broadcast pairs, reductions over every axis form) is probed:
a mutant that only differs on non-square or 3-D shapes is found.  Observed:
the forward values, the plain gradients under a random upstream gradient,
and the gradients of pre-seeded inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from minigrad_tool.adapter.nodes import NodeAccess
from minigrad_tool.adapter.profile import Profile, call_text
from minigrad_tool.battery.oracle import NoTruth, slope
from minigrad_tool.mutation.probe import TestStyle, attempt, renamed
from minigrad_tool.tensor.calls import SourceCalls
from minigrad_tool.tensor.cases import CaseRun, TensorCase, one_element_as
from minigrad_tool.tensor.rows import build_tensor_battery, walk_case

__all__ = ["TensorProbe", "description", "tensor_probes", "walk_probe"]

VARIANTS = (1, 2)  # new draws per case; the battery itself uses draw 0


def description(profile: Profile) -> str:
    """What the probes observe (an equivalent mutant's reason says it): no pre-seeded
    gradients where the engine owns them."""
    gradients = "plain and pre-seeded gradients" if profile.grad_writable else "gradients"
    return (
        "every case of the tensor battery on two new draws of its inputs, and its kink cases; "
        f"forward values, and {gradients} under a random upstream gradient"
    )


Observation = tuple[Any, ...]


@dataclass(frozen=True)
class TensorProbe:
    case: TensorCase
    variant: int
    kink: tuple[float, float] | None = None
    lines: tuple[str, ...] = ()
    point: tuple[float, ...] = ()

    @property
    def case_name(self) -> str:
        return self.case.name

    @property
    def label(self) -> str:
        case = self.case
        return f"{case.text} on {case.shapes} (case {case.name}, draw {self.variant})"

    def observe(self, access: NodeAccess) -> Observation:
        run = CaseRun(self.case, self.case.access(access), self.variant)
        try:
            out = run.output(run.leaves)
            value = run.access.value(out)
            weight = run.rng.normal(size=value.shape)
            run.loss(out, weight).backward()
            raw = [run.access.grad(leaf) for leaf in run.leaves]
            plain = [_flat(g) for g in raw]
            shapes = [_shape(g, x) for g, x in zip(raw, run.x, strict=True)]
            seeds = [run.rng.normal(size=x.shape) for x in run.x]
            seeded = plain  # a read-only .grad cannot be pre-seeded
            if run.access.grad_writable:
                leaves = [run.access.leaf(x) for x in run.x]
                for leaf, seed in zip(leaves, seeds, strict=True):
                    run.access.set_grad(leaf, seed)
                run.loss(run.output(leaves), weight).backward()
                seeded = [_flat(run.access.grad(leaf)) for leaf in leaves]
            extra = self._extra(run, weight)
        except Exception as err:  # both raising the same error is agreement
            return ("raises", type(err).__name__)
        return ("ok", _flat(value), plain, seeded, *extra, shapes)

    def second_arrays(self) -> list[Any]:
        """The inputs of the second graph: another draw of the case's inputs."""
        return self.case.arrays(SECOND_DRAW + self.variant)

    def _extra(self, run: CaseRun, weight: Any) -> tuple[Any, Any, Any]:
        """The gradients under a zero upstream gradient, those of a graph built before a
        second one (another draw; None if that cannot be built), and whether each gradient
        (the loss's last) keeps its node's dtype; each ("raises", ...) where it raises."""
        return (
            attempt(lambda: self._zero(run, weight)),
            *self._again_and_dtypes(run, weight),
        )

    @staticmethod
    def _zero(run: CaseRun, weight: Any) -> Any:
        leaves = [run.access.leaf(x) for x in run.x]
        run.loss(run.output(leaves), np.zeros_like(weight)).backward()
        return [_flat(run.access.grad(leaf)) for leaf in leaves]

    def _again_and_dtypes(self, run: CaseRun, weight: Any) -> tuple[Any, Any]:
        try:
            leaves = [run.access.leaf(x) for x in run.x]
            loss = run.loss(run.output(leaves), weight)
        except Exception as err:
            return ("raises", type(err).__name__), ("raises", type(err).__name__)
        try:  # the second graph is only a disturbance: where it cannot be built, none
            others = [run.access.leaf(x) for x in self.second_arrays()]
            run.loss(run.output(others), weight)
            built = True
        except Exception:
            built = False
        failed = attempt(lambda: (loss.backward(), None)[1])  # None, or ("raises", ...)
        again = failed or ([_flat(run.access.grad(leaf)) for leaf in leaves] if built else None)
        dtypes = attempt(lambda: [_same_dtype(run, node) for node in (*leaves, loss)])
        return again, dtypes

    def ops(self, profile: Profile) -> list[str]:
        """The ops this probe calls."""
        return sorted(self.case.requires)

    def truth(self, profile: Profile) -> Observation:
        """What a correct engine gives, in observe()'s form: the numpy forward (plain math),
        each input's gradient of sum(out * w) by float64 central differences of that
        forward, element by element, and pre-seeded gradients as seed + gradient (the
        upstream w is the same both times).  NoTruth at a kink."""
        case = self.case
        if case.kind == "kink":
            raise NoTruth(f"case {case.name} sits on a kink: any subgradient is right there")
        arrays = [np.asarray(a, dtype=np.float64) for a in case.arrays(self.variant)]
        try:
            value = np.asarray(case.ref(arrays), dtype=np.float64)
        except (ArithmeticError, ValueError) as err:
            raise NoTruth(f"numpy raises {type(err).__name__} on the inputs") from None
        if not np.all(np.isfinite(value)):
            raise NoTruth("numpy's forward is not finite on the inputs")
        rng = CaseRun.generator(case, self.variant)  # the draws observe() makes, in its order
        weight = rng.normal(size=value.shape)
        seeds = [rng.normal(size=x.shape) for x in arrays]
        grads = []
        for i, x in enumerate(arrays):
            grad = np.zeros(x.shape, dtype=np.float64)
            for index in np.ndindex(x.shape):

                def along(t: float, i: int = i, index: tuple[int, ...] = index) -> float:
                    moved = [a.copy() for a in arrays]
                    moved[i][index] = t
                    return float(np.sum(np.asarray(case.ref(moved)) * weight))

                grad[index] = slope(along, float(x[index]))
            grads.append(grad)
        if not profile.grad_writable:  # observe() seeds nothing: it repeats the plain gradients
            seeds = [np.zeros_like(seed) for seed in seeds]
        seeded = [seed + grad for seed, grad in zip(seeds, grads, strict=True)]
        flat = [_flat(g) for g in grads]
        zero = [[0.0] * len(g) for g in flat]
        dtypes = [True] * (len(arrays) + 1)  # each input's, and the loss's
        shapes = [list(x.shape) for x in arrays]
        return ("ok", _flat(value), flat, [_flat(g) for g in seeded], zero, flat, dtypes, shapes)

    def parts(self, observation: Observation) -> dict[str, Any]:
        _, value, plain, seeded, zero, again, dtypes, shapes = observation
        return {
            "plain": (value, plain, shapes),
            "seeded": seeded,
            "zero": zero,
            "again": again,
            "dtype": dtypes,
        }

    def test_lines(self, want: Observation, regime: str, style: TestStyle) -> list[str]:
        """A test's statements: the inputs, the graph in the engine's spelling, a loss with
        a random upstream gradient, and `want` (the truth, from :meth:`truth`) as expected;
        then the same in `regime` (REGIMES): pre-seeded inputs, a zero upstream gradient, a
        second graph built before backward(), or the gradients' dtypes."""
        case = self.case
        class_name, data_attr, leaf = style.class_name, style.data_attr, style.leaf
        arrays = case.arrays(self.variant)
        names: tuple[str, ...] = _NAMES[: len(arrays)]
        shape = np.shape(case.ref(arrays))
        rng = CaseRun.generator(case, self.variant)  # the draws observe() made, in its order
        weight = rng.normal(size=shape)
        seeds = [rng.normal(size=x.shape) for x in arrays]
        source = SourceCalls(case.calls)
        graph = source.statements(case.build(source, list(names)))  # type: ignore[arg-type]
        total = case.calls.op("sum")
        weighted_out = f"out * {class_name}(w)"
        loss = call_text(total, weighted_out if total.function else f"({weighted_out})", [])
        inputs = [
            f"{n} = {leaf(f'np.array({_literal(a)})')}" for n, a in zip(names, arrays, strict=True)
        ]
        weighted = (
            f"w = np.array({_literal(weight)})  # the upstream gradient: random, not all ones"
        )
        lines = [
            *inputs,
            *graph,
            weighted,
            f"{loss}.{style.backward}()",
            f"assert close(out.{data_attr}, {_literal(np.reshape(want[1], shape))})",
        ]

        def grads_are(values: Sequence[Any]) -> list[str]:
            return [
                f"assert close({n}.{style.grad}, {_literal(np.reshape(g, x.shape))})"
                for n, g, x in zip(names, values, arrays, strict=True)
            ]

        def grad_of(name: str) -> str:
            grad = f"{name}.{style.grad}"
            return f"{grad}.{data_attr}" if style.grad_is_node else grad

        lines += grads_are(want[2])
        if regime == "seeded" and style.preseed:
            lines.append("# pre-seeded gradients must be added to, not overwritten")
            lines += inputs
            for n, seed in zip(names, seeds, strict=True):
                value = f"np.array({_literal(seed)})"
                value = f"{class_name}({value})" if style.grad_is_node else value
                lines.append(f"{n}.{style.grad} = {value}")
            lines += [*graph, f"{loss}.{style.backward}()"]
            lines += grads_are(want[3])
        elif regime == "zero":
            lines.append("# a zero upstream gradient: every gradient must be exactly 0")
            lines += [*inputs, *graph, f"w = np.zeros({shape!r})", f"{loss}.{style.backward}()"]
            lines += [f"assert np.all({grad_of(n)} == 0)" for n in names]
        elif regime == "again":
            second = self.second_arrays()
            lines.append(
                "# a second graph built before backward() on the first must not change its "
                "gradients"
            )
            lines += [*inputs, *graph, f"loss = {loss}"]
            lines += [
                f"{n}2 = {leaf(f'np.array({_literal(a)})')}"
                for n, a in zip(names, second, strict=True)
            ]
            lines += renamed(graph, names, "2")
            lines += [f"{loss.replace('(out ', '(out2 ')}", f"loss.{style.backward}()"]
            lines += grads_are(want[5])
        elif regime == "dtype":
            lines.append("# every gradient keeps its node's dtype, the loss's included")
            lines += [*inputs, *graph, f"loss = {loss}", f"loss.{style.backward}()"]
            lines += [
                f"assert np.asarray({grad_of(n)}).dtype == {n}.{data_attr}.dtype"
                for n in (*names, "loss")
            ]
        return lines

    def describe(self, want: Observation, got: Observation) -> str:
        if want[0] != "ok" or got[0] != "ok":
            said = {o[0]: o for o in (want, got)}
            raised = said.get("raises", ("", "?"))[1]
            who = "the original" if want[0] == "raises" else "the mutant"
            return f"{who} raises {raised}, the other does not"
        for what, a, b in (("output", [want[1]], [got[1]]), ("gradient", want[2], got[2])):
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                if x != y:
                    about = what if what == "output" else f"gradient of {'xyzw'[i]}"
                    return f"the {about} differs: {_short(x)} against {_short(y)}"
        for i, (x, y) in enumerate(zip(want[7], got[7], strict=False)):
            if x != y:
                return f"the gradient of {'xyzw'[i]} has shape {y}, not {x}"
        for index, what in _OTHER_REGIMES:
            if want[index] != got[index]:
                return what
        return "the gradients of pre-seeded inputs differ"


_NAMES = ("x", "y", "z", "w")
# The regimes past the plain one that may tell two observations apart: (index, in words).
_OTHER_REGIMES = (
    (3, "the gradients of pre-seeded inputs differ"),
    (4, "the gradients under a zero upstream gradient differ (they must be exactly 0)"),
    (5, "the gradients differ when a second graph is built at other inputs before backward()"),
    (6, "a gradient's dtype differs from its node's (the loss's included)"),
)
SECOND_DRAW = 100  # the second graph's inputs: draw 100 + the probe's own


def _same_dtype(run: CaseRun, node: Any) -> bool:
    """Does the node's gradient keep its dtype (no gradient array at all counts as kept)?"""
    data, grad = run.access.dtypes(node)
    return grad is None or grad == data


def _literal(array: Any) -> str:
    """Nested lists of 10-digit numbers: exact enough for a test's 1e-6 tolerance."""
    rounded = np.vectorize(lambda v: float(f"{v:.10g}"), otypes=[float])(np.asarray(array))
    return repr(rounded.tolist())


def _shape(grad: Any, x: Any) -> list[int] | None:
    """A gradient's shape, as the cases read it; a list, as an observation is once it
    crossed from a child."""
    if grad is None:
        return None
    return list(one_element_as(np.asarray(grad), np.shape(x)).shape)


def _flat(array: Any) -> Any:
    if array is None:
        return None
    return [float(v) for v in np.asarray(array, dtype=np.float64).ravel()]


def _short(values: Any) -> str:
    if not isinstance(values, list):
        return repr(values)
    shown = ", ".join(f"{v:.4g}" for v in values[:6])
    return f"[{shown}{', ...' if len(values) > 6 else ''}]"


def tensor_probes(profile: Profile) -> list[TensorProbe]:
    probes: list[TensorProbe] = []
    for case in build_tensor_battery(profile)[0]:
        variants = (0,) if case.kind == "kink" else VARIANTS
        probes += [TensorProbe(case, v) for v in variants]
    return probes


def walk_probe(profile: Profile) -> TensorProbe | None:
    """The probe a test of backward()'s walk over a reused node is written at (rows.walk_case),
    on the probes' first new draw of its inputs; None where the engine lacks its ops."""
    case = walk_case(profile)
    return None if case is None else TensorProbe(case, VARIANTS[0])
