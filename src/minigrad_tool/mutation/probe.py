"""What a probe is, for scalar and tensor engines alike: one protocol, one test style.

A probe is an input that may tell a mutant from the engine.  The scalar probes
(:mod:`minigrad_tool.mutation.equivalence`) and the tensor probes
(:mod:`minigrad_tool.tensor.probes`) both observe the engine, say what tells two
observations apart, know the truth from an oracle, and write themselves as a
test's statements; every caller asks the protocol, never the kind.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from minigrad_tool.adapter.nodes import NodeAccess
from minigrad_tool.adapter.profile import Profile

__all__ = [
    "REGIMES",
    "Observation",
    "Probe",
    "Regime",
    "TestStyle",
    "attempt",
    "numbers_as_leaves",
    "renamed",
    "telling_regime",
]

Observation = tuple[Any, ...]


@dataclass(frozen=True)
class TestStyle:
    """How a written test spells the engine: its class, how a leaf is made, where a node keeps
    its number, whether .grad holds a node, the tolerance of its literals, the scaled output."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    class_name: str
    leaf: Callable[[str], str]
    data_attr: str = "data"
    grad_is_node: bool = False
    rtol: float = 1e-9
    scale: str = "out * -1.7"
    preseed: bool = True  # `.grad` can be written (not a read-only property)
    zero: str = "out * 0.0"  # the output times 0 ("" where the engine cannot multiply)
    parameters: Mapping[str, float] = field(default_factory=dict)  # for the oracle (slopes)
    backward: str = "backward"  # what the engine calls its backward pass (Profile.backward_name)
    none_grad: bool = False  # a node no gradient reaches keeps `.grad` None (grad_starts_none)
    grad: str = "grad"  # what the engine calls a node's gradient (Profile.grad_name)
    # the operators that take nodes only (Profile.coerced, as symbols): a number operand of
    # theirs is written as a leaf
    coerced: frozenset[str] = frozenset()

    def spelled(self, line: str) -> str:
        """The statement as the engine takes it: `out = x * Value(-1.7)` for `out = x * -1.7`
        where its `*` takes nodes only."""
        return numbers_as_leaves(line, self.coerced, self.leaf) if self.coerced else line


@dataclass(frozen=True)
class Regime:
    """One way a written test runs backward(), beyond the plain one: its name in a test's
    name, and what it checks, for the docstring.  `exact`: compared with no tolerance."""

    name: str
    test_name: str
    checks: str
    exact: bool = False


# In the order a test is chosen: the plain regime if it tells the mutant apart, else the
# first of the others that does.
REGIMES: tuple[Regime, ...] = (
    Regime("plain", "value_and_gradients", ""),
    Regime(
        "seeded",
        "accumulates_and_scales",
        ", and that backward() adds to pre-seeded gradients and scales by the upstream one",
    ),
    Regime(
        "zero",
        "zero_upstream",
        ", and that a zero upstream gradient gives gradients of exactly 0",
        exact=True,
    ),
    Regime(
        "again",
        "second_graph",
        ", and that a second graph built at other inputs before backward() leaves them as they are",
    ),
    Regime("dtype", "keeps_dtype", ", and that every gradient keeps its node's dtype", exact=True),
)


class Probe(Protocol):
    """An input that may tell a mutant from the engine: scalar and tensor probes alike."""

    @property
    def label(self) -> str: ...

    @property
    def point(self) -> tuple[float, ...]: ...

    @property
    def lines(self) -> tuple[str, ...]: ...

    @property
    def kink(self) -> tuple[float, float] | None: ...

    @property
    def case_name(self) -> str:
        """The battery case it draws its inputs from ("" if none)."""
        ...

    def observe(self, access: NodeAccess) -> Observation:
        """What the engine `access` reaches gives here (call after :func:`fresh`)."""
        ...

    def describe(self, want: Observation, got: Observation) -> str:
        """What tells two observations apart, in words."""
        ...

    def truth(self, profile: Profile) -> Observation:
        """What a correct engine observes here, from an oracle (NoTruth if none)."""
        ...

    def ops(self, profile: Profile) -> list[str]:
        """The ops it calls."""
        ...

    def parts(self, observation: Observation) -> dict[str, Any]:
        """An "ok" observation by regime name (those of REGIMES it has)."""
        ...

    def test_lines(self, want: Observation, regime: str, style: TestStyle) -> list[str]:
        """A test's statements asserting `want`: plainly, then in `regime` too."""
        ...


def attempt(regime: Callable[[], Any]) -> Any:
    """One regime's observation, or ("raises", the error's type) where the engine raises in
    it: an engine that cannot run one regime still has the others observed."""
    try:
        return regime()
    except Exception as err:  # both engines raising the same error is agreement
        return ("raises", type(err).__name__)


def _agree(a: Any, b: Any, rel: float) -> bool:
    """Equal as a written test's close() sees them: within `rel` (and rel / 1000 absolute
    around zero), NaN only with NaN; exactly where rel is 0."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_agree(x, y, rel) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or math.isclose(a, b, rel_tol=rel, abs_tol=rel * 1e-3)
    return bool(a == b)


def telling_regime(probe: Probe, want: Observation, got: Observation, rel: float) -> str:
    """The regime a written test (tolerance `rel`) needs to tell `got` from `want`: the plain
    one if it does (or the mutant raises), else the first of REGIMES that does, else
    "seeded" (the written test is then dropped when it is checked)."""
    if got[0] != "ok":
        return "plain"
    wanted, found = probe.parts(want), probe.parts(got)
    for regime in REGIMES:
        if wanted.get(regime.name) is not None and not _agree(
            wanted[regime.name], found.get(regime.name), 0.0 if regime.exact else rel
        ):
            return regime.name
    return "seeded"


_SYMBOLS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def _is_number(node: ast.expr) -> bool:
    """A number literal, or a negated one (`-1.7`)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    )


def numbers_as_leaves(line: str, symbols: frozenset[str], leaf: Callable[[str], str]) -> str:
    """A statement with each number right operand of an operator in `symbols` written as a
    leaf: `x + 2.0` as `x + Value(2.0)` (`leaf` spells one)."""

    class Leaves(ast.NodeTransformer):
        def visit_BinOp(self, node: ast.BinOp) -> ast.BinOp:
            self.generic_visit(node)
            if _SYMBOLS.get(type(node.op)) in symbols and _is_number(node.right):
                made = ast.parse(leaf(ast.unparse(node.right)), mode="eval")
                node.right = made.body
            return node

    return ast.unparse(Leaves().visit(ast.parse(line)))


def renamed(lines: Sequence[str], inputs: Sequence[str], suffix: str) -> list[str]:
    """Statements `name = expression` with every name they bind or read that is an input or
    one of theirs suffixed: the same graph again, beside the first."""
    bound = set(inputs) | {line.partition(" = ")[0].strip() for line in lines}

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.Name:
            if node.id in bound:
                node.id += suffix
            return node

    return [ast.unparse(Rename().visit(ast.parse(line))) for line in lines]
