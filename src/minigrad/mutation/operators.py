"""Mutation operators: small generators over the AST of one op, in one registry.

Each operator reads a :class:`Site` (one op's method and its backward step,
micrograd's nested ``_backward`` closure or a ``_<op>_backward`` method, or
the ``backward()`` sweep) and yields :class:`Edit` s: a node of the
original tree and the node to put in its place.  Operators find code through
the AST, never by line patterns, so they work on any micrograd-style engine.

What is never mutated, by construction: an op's display label (the third
argument of ``Value(...)``) and ``__repr__``; those mutants would prove nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

__all__ = ["OPERATORS", "REQUIRED", "Edit", "Operator", "Site"]


@dataclass(frozen=True)
class Site:
    """Where operators look: an op's method and its backward step, or the backward sweep."""

    op: str  # readable op name used in mutant IDs: "sub", "div", "backward"
    kind: Literal["op", "topo"]
    method: ast.FunctionDef
    # the op's backward step: a nested `_backward` closure (micrograd) or `_<op>_backward`
    closure: ast.FunctionDef | None = None
    helpers: tuple[ast.FunctionDef, ...] = ()  # methods backward() calls, e.g. a topo sort
    class_name: str = "Value"


@dataclass(frozen=True)
class Edit:
    """Replace `node` (of the original tree) with `replacement`."""

    node: ast.AST
    replacement: ast.AST
    description: str


Operator = Callable[[Site], Iterator[Edit]]


# --- reading a backward step -----------------------------------------------------------


def _contributions(site: Site) -> list[ast.AugAssign]:
    """The gradient contributions of a backward step: statements `x.grad += ...` / `-=`."""
    if site.closure is None:
        return []
    return [
        node
        for node in ast.walk(site.closure)
        if isinstance(node, ast.AugAssign)
        and isinstance(node.target, ast.Attribute)
        and node.target.attr == "grad"
        and isinstance(node.target.value, ast.Name)
    ]


def _node_names(site: Site) -> list[str]:
    """Names used as graph nodes in the backward step (`x.data`, `x.grad`), first use first."""
    names: list[str] = []
    if site.closure is not None:
        for node in ast.walk(site.closure):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("data", "grad")
                and isinstance(node.value, ast.Name)
                and node.value.id not in names
            ):
                names.append(node.value.id)
    return names


def _target_name(stmt: ast.AugAssign) -> str:
    assert isinstance(stmt.target, ast.Attribute) and isinstance(stmt.target.value, ast.Name)
    return stmt.target.value.id


def _grad_of(name: str) -> ast.Attribute:
    return ast.Attribute(ast.Name(name, ast.Load()), "grad", ast.Store())


def _in_values(site: Site) -> Iterator[ast.AST]:
    """Every node inside the local-derivative expressions (right-hand sides)."""
    for stmt in _contributions(site):
        yield from ast.walk(stmt.value)


def _number(node: ast.AST) -> int | float | None:
    """The value of a numeric literal (bools excluded), else None."""
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return node.value
    return None


def _number_variants(value: float) -> list[float]:
    """c -> c + 1, and c -> 0 when c is not already 0."""
    variants = [value + 1]
    if value != 0:
        variants.append(type(value)(0))
    return variants


_STRICT_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
}

# Swapping the operands of + or * yields the same value: an equivalent mutant
# by algebra, so only non-commutative operators have their operands swapped.
_NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.Pow)

_FORWARD_SWAP: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.Pow: ast.Mult,
}


# --- the operators -----------------------------------------------------------------


def operator_sign(site: Site) -> Iterator[Edit]:
    """Flip the sign of a gradient contribution, or of a + / - inside a local derivative."""
    stmts = _contributions(site)
    # Lost minuses come first, so `sub-sign` is the lab's bug: `-=` becomes `+=`.
    for stmt in stmts:
        if isinstance(stmt.op, ast.Sub):
            yield Edit(stmt, ast.AugAssign(stmt.target, ast.Add(), stmt.value), "-= becomes +=")
    for node in _in_values(site):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            yield Edit(node, node.operand, "a unary minus is dropped")
    for stmt in stmts:
        if isinstance(stmt.op, ast.Add):
            yield Edit(stmt, ast.AugAssign(stmt.target, ast.Sub(), stmt.value), "+= becomes -=")
    for node in _in_values(site):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            flipped = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
            yield Edit(node, ast.BinOp(node.left, flipped, node.right), "+ and - swap")


def operator_assign(site: Site) -> Iterator[Edit]:
    """Turn an accumulation (`+=`, `-=`) into a plain assignment (`=`)."""
    for stmt in _contributions(site):
        value = stmt.value if isinstance(stmt.op, ast.Add) else ast.UnaryOp(ast.USub(), stmt.value)
        yield Edit(stmt, ast.Assign([stmt.target], value), "accumulation becomes assignment")


def operator_swap(site: Site) -> Iterator[Edit]:
    """Swap operand references (`other.data` <-> `self.data`, `out` <-> `self`) or the receiver."""
    names = _node_names(site)
    for stmt in _contributions(site):
        for node in ast.walk(stmt.value):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in names
            ):
                for name in names:
                    if name != node.value.id:
                        swapped = ast.Attribute(ast.Name(name, ast.Load()), node.attr, ast.Load())
                        yield Edit(
                            node, swapped, f"{node.value.id}.{node.attr} becomes {name}.{node.attr}"
                        )
            if isinstance(node, ast.BinOp) and isinstance(node.op, _NON_COMMUTATIVE):
                yield Edit(node, ast.BinOp(node.right, node.op, node.left), "operands swap")
        for name in names:
            if name != _target_name(stmt):
                receiver = ast.AugAssign(_grad_of(name), stmt.op, stmt.value)
                yield Edit(stmt, receiver, f"the contribution goes to {name} instead")


def operator_drop(site: Site) -> Iterator[Edit]:
    """Delete one gradient contribution."""
    for stmt in _contributions(site):
        yield Edit(stmt, ast.Pass(), "a contribution is deleted")


def operator_chain(site: Site) -> Iterator[Edit]:
    """Drop the upstream factor: `out.grad` in a local derivative becomes 1."""
    for node in _in_values(site):
        if isinstance(node, ast.Attribute) and node.attr == "grad":
            yield Edit(node, ast.Constant(1.0), "the upstream gradient is dropped")


def operator_const(site: Site) -> Iterator[Edit]:
    """Perturb a numeric literal in a local derivative (`k - 1` -> `k - 0`, `1.0` -> `2.0`)."""
    for node in _in_values(site):
        number = _number(node)
        if number is not None:
            for value in _number_variants(number):
                yield Edit(node, ast.Constant(value), f"{number!r} becomes {value!r}")


def _flip_strictness(node: ast.AST) -> Edit | None:
    """`a > b` <-> `a >= b` and `a < b` <-> `a <= b`; None for any other node."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _STRICT_FLIP:
        flipped = _STRICT_FLIP[type(node.ops[0])]()
        replacement = ast.Compare(node.left, [flipped], node.comparators)
        return Edit(node, replacement, "comparison flips strictness")
    return None


def operator_compare(site: Site) -> Iterator[Edit]:
    """Make a comparison in a backward step strict or non-strict (`>` <-> `>=`)."""
    if site.closure is None:
        return
    for node in ast.walk(site.closure):
        edit = _flip_strictness(node)
        if edit is not None:
            yield edit


def operator_topo(site: Site) -> Iterator[Edit]:
    """Break backward(): reverse the order, forget the visited check, seed with 2."""
    if site.kind != "topo":
        return
    bodies = (site.method, *site.helpers)
    for body in bodies:
        for node in ast.walk(body):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "reversed"
                and len(node.args) == 1
            ):
                yield Edit(node, node.args[0], "nodes are visited in the opposite order")
    for body in bodies:
        for node in ast.walk(body):
            if isinstance(node, ast.Compare) and len(node.ops) == 1:
                if isinstance(node.ops[0], ast.NotIn):
                    yield Edit(node, ast.Constant(True), "the visited check is removed")
                elif isinstance(node.ops[0], ast.In):
                    yield Edit(node, ast.Constant(False), "the visited check is removed")
    for node in ast.walk(site.method):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Attribute)
            and node.targets[0].attr == "grad"
            and _number(node.value) is not None
        ):
            seed = (_number(node.value) or 0) + 1
            yield Edit(
                node.value, ast.Constant(seed), f"the output gradient is seeded with {seed!r}"
            )


def _forward_expression(site: Site) -> ast.expr | None:
    """The first argument of `out = Value(<forward>, children, ...)` or `return Value(...)`.

    Only the first argument: the children tuple is structure, and the label is
    display text (mutating it proves nothing).
    """
    for stmt in site.method.body:
        call = stmt.value if isinstance(stmt, ast.Assign | ast.Return) else None
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == site.class_name
            and len(call.args) >= 2
        ):
            return call.args[0]
    return None


def operator_forward(site: Site) -> Iterator[Edit]:
    """Perturb an op's forward computation: its operator, sign, constants or branch."""
    expr = _forward_expression(site) if site.kind == "op" else None
    if expr is None:
        return
    for node in ast.walk(expr):
        if isinstance(node, ast.BinOp) and type(node.op) in _FORWARD_SWAP:
            new_op = _FORWARD_SWAP[type(node.op)]()
            yield Edit(
                node, ast.BinOp(node.left, new_op, node.right), "the forward operator changes"
            )
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            yield Edit(node, node.operand, "the forward loses its minus")
        elif isinstance(node, ast.Call) and len(node.args) == 1:
            negated = ast.Call(node.func, [ast.UnaryOp(ast.USub(), node.args[0])], [])
            yield Edit(node, negated, "the forward function sees a negated argument")
        elif isinstance(node, ast.IfExp):
            yield Edit(
                node, ast.IfExp(node.test, node.orelse, node.body), "the forward branches swap"
            )
        elif (edit := _flip_strictness(node)) is not None:
            yield edit
        elif (number := _number(node)) is not None:
            yield Edit(node, ast.Constant(number + 1), f"{number!r} becomes {number + 1!r}")


OPERATORS: dict[str, Operator] = {
    "sign": operator_sign,
    "assign": operator_assign,
    "swap": operator_swap,
    "drop": operator_drop,
    "chain": operator_chain,
    "const": operator_const,
    "compare": operator_compare,
    "topo": operator_topo,
    "forward": operator_forward,
}

# Every op with a `_backward` gets these wherever the construct exists.
REQUIRED = ("sign", "assign", "swap")
