"""Mutation operators: small generators over the AST of one site, in one registry.

Each operator reads a :class:`~minigrad_tool.mutation.sites.Site` (an op's
backward steps and forward, or the backward sweep) and yields :class:`Edit` s:
a node of the original tree, the node to put in its place, and the function
(the *unit*) a mutant replaces.  Operators find code through the AST, never
by line patterns, so they work on any micrograd-style engine.

A backward step is read as a list of *contributions*, whatever its style:

=============  ============================================  ====================
kind           looks like                                    style
=============  ============================================  ====================
``aug``        ``x.grad += d * out.grad`` (or ``-=``)         micrograd, minigrad
``add``        ``x.grad = x.grad + d * out.grad``             spelled out
``add``        ``np.add(x.grad, g, out=x.grad)``              numpy's ufunc, in place
``add``        ``np.add.at(x.grad, index, g)``                 a scatter (getitem)
``add``        ``grads[k] = grads.get(k, 0) + g``             a table of gradients
``setattr``    ``setattr(x, "grad", x.grad + d * out.grad)``  a lambda
``call``       ``x.grad.__iadd__(d * out.grad)``              0-d arrays, in place
``returned``   ``return g * b, g * a``                        ``Function.backward``
``local``      ``Value(..., (b, a))``                         local derivatives
=============  ============================================  ====================

What is never mutated, by construction: an op's display label (the third
argument of ``Value(...)``) and ``__repr__``; those mutants would prove nothing.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple, TypeGuard, TypeVar, cast

from minigrad_tool.adapter.nodes import NODE_ATTRS
from minigrad_tool.adapter.source import Function
from minigrad_tool.mutation.sites import (
    ADDERS,
    GRAD_ATTRS,
    IN_PLACE,
    Region,
    Site,
    callee_name,
    grad_writes,
    node_aliases,
    node_expr,
    node_names,
    node_text,
    own_nodes,
    sets_grad,
)
from minigrad_tool.mutation.tensor_operators import TENSOR_OPERATORS

__all__ = [
    "OPERATORS",
    "Contribution",
    "Edit",
    "Operator",
    "contributions",
]


@dataclass(frozen=True)
class Edit:
    """Replace `node` (of the original tree, inside `unit`) with `replacement`."""

    node: ast.AST
    replacement: ast.AST
    description: str
    unit: Function


Operator = Callable[[Site], Iterator[Edit]]


@dataclass(frozen=True)
class Contribution:
    """One gradient contribution of a backward step: `value` goes into `target`'s grad."""

    kind: Literal["aug", "add", "setattr", "call", "returned", "local", "handed", "method"]
    node: ast.AST  # what statement-level edits replace
    value: ast.expr  # the local derivative times the upstream gradient
    target: str | None  # the receiving node's name (aug, add, setattr, method)
    subtracts: bool  # `-=`, `x.grad - v`
    region: Region
    elements: ast.Tuple | ast.List | None = None  # the tuple holding a returned/local value
    index: int = 0
    # `x.grad + v` (or `np.add(x.grad, v)`) in an add or setattr contribution
    accumulation: ast.BinOp | ast.Call | None = None
    call: ast.Call | None = None  # `x.grad.__iadd__(v)` in a call contribution
    upstream: str | None = None  # the upstream gradient's name where not the region's
    attr: str = "grad"  # the gradient attribute a method contribution's method adds to


# Contributions that add into `x.grad` (the others are returned or stored as local derivatives).
_ACCUMULATING = ("aug", "add", "setattr", "call")


def _plain_grad_of(node: ast.AST) -> str | None:
    """`x` for the expression `x.grad` (`self.parents[0]` for `self.parents[0].grad`), else
    None."""
    if isinstance(node, ast.Attribute) and node.attr in GRAD_ATTRS:
        return node_text(node.value)
    return None


def _grad_of(node: ast.AST) -> str | None:
    """`x` for `x.grad`, or for `x.grad.data`: a gradient kept in a node or wrapper whose array
    the step adds into (atomic-autograd's `self.grad.data += ...`), or an index of either
    (`x.grad[index] += g`); else None."""
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Attribute) and node.attr == "data":
        return _plain_grad_of(node.value)
    return _plain_grad_of(node)


# `x.grad + v`: (that sum, v, whether v is subtracted)
Accumulation = tuple[ast.BinOp | ast.Call, ast.expr, bool]


def _accumulation(expr: ast.AST, target: str) -> Accumulation | None:
    """`x.grad + v` / `v + x.grad` / `x.grad - v` -> (that expression, v, subtracts).

    A one-argument call around it (`f32(x.grad + v)`, rounding) is looked through, and so is
    a test of whether the gradient is still None (`v if x.grad is None else x.grad + v`,
    torch's None for "no gradient"): its adding branch is the accumulation, as the `else:
    x.grad += v` of the same test written as statements is.
    """
    if isinstance(expr, ast.Call) and len(expr.args) == 1 and not expr.keywords:
        expr = expr.args[0]
    if isinstance(expr, ast.IfExp) and _tests_for_none(expr.test, target):
        adding = expr.orelse if isinstance(expr.test.ops[0], ast.Is) else expr.body
        return _accumulation(adding, target)
    found = _ufunc(expr) or _binop(expr)
    return found.into(lambda held: _held_grad_of(held) == target) if found else None


class _Sum(NamedTuple):
    """`a + b`, `a - b`, or numpy's `np.add(a, b)`, `np.subtract(a, b)`: the whole, its
    operands, and whether it subtracts the second."""

    whole: ast.BinOp | ast.Call
    left: ast.expr
    right: ast.expr
    subtracts: bool

    def into(self, holds: Callable[[ast.expr], bool]) -> Accumulation | None:
        """(the sum, the value added, subtracts) where an operand `holds` the gradient that
        is added to: the left one, or the right one of a sum."""
        if holds(self.left):
            return self.whole, self.right, self.subtracts
        if not self.subtracts and holds(self.right):
            return self.whole, self.left, False
        return None


def _binop(expr: ast.AST) -> _Sum | None:
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add | ast.Sub):
        return _Sum(expr, expr.left, expr.right, isinstance(expr.op, ast.Sub))
    return None


# The keywords that keep numpy's adders adders.
_UFUNC_KEYWORDS = frozenset({"out", "where", "casting", "dtype"})


def _ufunc(expr: ast.AST) -> _Sum | None:
    """`np.add(a, b)` or `np.subtract(a, b)`, with an `out` (third or keyword) or not."""
    if not isinstance(expr, ast.Call) or len(expr.args) not in (2, 3):
        return None
    name = callee_name(expr.func)
    if name not in ADDERS or any(k.arg not in _UFUNC_KEYWORDS for k in expr.keywords):
        return None
    return _Sum(expr, expr.args[0], expr.args[1], ADDERS[name])


def _scatter(expr: ast.AST) -> tuple[ast.Call, str, bool] | None:
    """`np.add.at(x.grad, index, g)` (or `np.subtract.at`): the call, x, and whether it
    subtracts: g added into x's gradient at an index, repeated indices each adding."""
    if not isinstance(expr, ast.Call) or len(expr.args) != 3 or expr.keywords:
        return None
    func = expr.func
    if not (isinstance(func, ast.Attribute) and func.attr == "at"):
        return None
    name = callee_name(func.value)
    target = _grad_of(expr.args[0])
    return (expr, target, ADDERS[name]) if name in ADDERS and target is not None else None


def _in_place(call: ast.expr) -> tuple[str, Accumulation] | None:
    """x and its accumulation for `np.add(x.grad, g, out=x.grad)` (or `np.add(g, x.grad,
    x.grad)`): a ufunc that adds into x's gradient in place, as `x.grad += g` does; else
    None."""
    if not isinstance(call, ast.Call) or _ufunc(call) is None:
        return None
    outs = [k.value for k in call.keywords if k.arg == "out"] + call.args[2:]
    target = _grad_of(outs[0]) if len(outs) == 1 else None
    found = _accumulation(call, target) if target is not None else None
    return (target, found) if target is not None and found is not None else None


def _table_entry(node: ast.AST) -> str | None:
    """`pending[key]` (a local table the sweep or a step keeps gradients in, by node): its
    text; else None."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return ast.unparse(node)
    return None


def _read_entry(node: ast.AST, entry: ast.Subscript) -> bool:
    """Does `node` read `entry`'s gradient: `pending[key]`, or `pending.get(key, default)`?"""
    if ast.unparse(node) == ast.unparse(entry):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and ast.unparse(node.func.value) == ast.unparse(entry.value)
        and len(node.args) in (1, 2)
        and ast.unparse(node.args[0]) == ast.unparse(entry.slice)
    )


def _table_accumulation(target: ast.AST, expr: ast.AST) -> Accumulation | None:
    """`pending[key] = pending[key] + g` or `grads[v] = grads.get(v, 0) + g`: g added to a
    node's entry in a table of gradients (tinytorch's and nabla's sweeps keep one), as
    `x.grad + g` adds to its gradient: (that sum, g, subtracts); else None."""
    if _table_entry(target) is None:
        return None
    assert isinstance(target, ast.Subscript)  # _table_entry
    if isinstance(expr, ast.IfExp) and _tests_membership(expr.test, target):
        assert isinstance(expr.test, ast.Compare)  # _tests_membership
        there = expr.body if isinstance(expr.test.ops[0], ast.In) else expr.orelse
        return _table_accumulation(target, there)  # `t[k] + g if k in t else g`
    found = _binop(expr)
    return found.into(lambda held: _read_entry(held, target)) if found else None


def _tests_membership(test: ast.AST, entry: ast.Subscript) -> bool:
    """`key in table` or `key not in table`, for `entry` table[key]."""
    return (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.In | ast.NotIn)
        and ast.unparse(test.left) == ast.unparse(entry.slice)
        and ast.unparse(test.comparators[0]) == ast.unparse(entry.value)
    )


def _held_grad_of(node: ast.AST) -> str | None:
    """`x` for `x.grad`, or for the gradient read with a zero in its place while it is None:
    `(np.zeros_like(x.data) if x.grad is None else x.grad) + v` (tinydiff's steps), or
    `(x.grad or 0) + v` (a common spelling on GitHub), adds v to x's gradient as `x.grad + v`
    does."""
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2:
        return _grad_of(node.values[0])
    if not isinstance(node, ast.IfExp):
        return _grad_of(node)
    test = node.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    held = node.orelse if isinstance(test.ops[0], ast.Is) else node.body
    target = _grad_of(held)
    return target if target is not None and _tests_for_none(test, target) else None


def _tests_for_none(test: ast.expr, target: str) -> TypeGuard[ast.Compare]:
    """`x.grad is None` or `x.grad is not None`, for `target` x."""
    return (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Is | ast.IsNot)
        and _grad_of(test.left) == target
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
    )


def _from_statements(region: Region) -> Iterator[Contribution]:
    # a lambda's body is an expression where a step's statement would be (vizgrad's neg:
    # `lambda: self.grad.__iadd__(-out.grad)`)
    body = region.node.body if isinstance(region.node, ast.Lambda) else None
    for node in ast.walk(region.node):
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add | ast.Sub):
            target = _grad_of(node.target)
            if target is not None or _table_entry(node.target) is not None:
                yield Contribution(
                    "aug", node, node.value, target, isinstance(node.op, ast.Sub), region
                )
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = _grad_of(node.targets[0])
            found = _accumulation(node.value, target) if target else None
            if found is None and target is None:
                found = _table_accumulation(node.targets[0], node.value)
            if found is not None:
                accumulation, value, subtracts = found
                yield Contribution(
                    "add", node, value, target, subtracts, region, accumulation=accumulation
                )
        elif isinstance(node, ast.Expr):
            yield from _from_expression(region, node, node.value)
        elif node is body and not _sets_grad(node):
            yield from _from_expression(region, node, node)
        elif _sets_grad(node):
            assert isinstance(node, ast.Call) and isinstance(node.args[0], ast.Name)  # _sets_grad
            target = node.args[0].id
            found = _accumulation(node.args[2], target)
            if found is not None:
                accumulation, value, subtracts = found
                yield Contribution(
                    "setattr", node, value, target, subtracts, region, accumulation=accumulation
                )


def _sets_grad(node: ast.AST) -> bool:
    """`setattr(x, "grad", v)` of a plain name x."""
    return sets_grad(node) and isinstance(node.args[0], ast.Name)


def _from_expression(
    region: Region, node: ast.stmt | ast.expr, value: ast.expr
) -> Iterator[Contribution]:
    """The contribution an expression statement makes (`node`, whose expression is `value`;
    a lambda's body is both): a call that adds in place, or hands the gradient on."""
    if (scatter := _scatter(value)) is not None:
        at, into, subtracts = scatter
        yield Contribution("add", node, at.args[2], into, subtracts, region, accumulation=at)
    elif (in_place := _in_place(value)) is not None:
        into, (accumulation, given, subtracts) = in_place
        yield Contribution("add", node, given, into, subtracts, region, accumulation=accumulation)
    elif (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr in IN_PLACE
        and len(value.args) == 1
        and not value.keywords
        and (target := _grad_of(value.func.value)) is not None
    ):
        subtracts = value.func.attr == "__isub__"
        yield Contribution("call", node, value.args[0], target, subtracts, region, call=value)
    elif (added := _added(value, region)) is not None:
        name, given, call, attr = added
        given = _argument_value(region, given, node)
        yield Contribution("method", node, given, name, False, region, call=call, attr=attr)
    elif (handed := _handed(value)) is not None:
        receiver, given = handed.args
        assert isinstance(receiver, ast.Name)  # _handed
        given = _handed_value(region.node, given, node)
        yield Contribution("handed", node, given, receiver.id, False, region, call=handed)
    elif (lent := _given_function(value)) is not None:
        name, function, call = lent
        upstream = function.args.args[0].arg
        yield Contribution(
            "handed", node, function.body, name, False, region, call=call, upstream=upstream
        )
    elif (passed := _passed_on(value, region)) is not None:
        name, given, call = passed
        given = _argument_value(region, given, node)
        yield Contribution("handed", node, given, name, False, region, call=call)


def _handed(call: ast.expr) -> ast.Call | None:
    """`Node._add_grad(a, delta)`, `accumulate_grad(x, g)`: a call that hands a node and its
    gradient contribution to a helper named for gradients, which adds it (fygrad's)."""
    if not _plain_call(call, 2):
        return None
    name = callee_name(call.func)
    return call if "grad" in name.lower() and isinstance(call.args[0], ast.Name) else None


def _method_call(call: ast.expr) -> tuple[str, str, ast.expr, ast.Call] | None:
    """`x.method(arg)`, a method of a plain name with one positional argument: (x, method,
    arg, the call); else None."""
    if (
        _plain_call(call, 1)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
    ):
        return call.func.value.id, call.func.attr, call.args[0], call
    return None


def _added(call: ast.expr, region: Region) -> tuple[str, ast.expr, ast.Call, str] | None:
    """`other._acc(self.data * out.grad)` in a step: a method of the engine's that adds its
    argument to the node's gradient (sites' accumulators): (x, g, the call, the gradient
    attribute it adds to); else None."""
    found = _method_call(call)
    if found is None:
        return None
    name, method, given, whole = found
    attr = dict(region.accumulators).get(method)
    return (name, given, whole, attr) if attr is not None else None


def _given_function(call: ast.expr) -> tuple[str, ast.Lambda, ast.Call] | None:
    """`x.set_grad_fn(lambda ug: w.data * ug)` in a step: the input is handed a function of
    the upstream gradient that gives its own (whalegrad 0.0.2), named for gradients: (x, the
    function, the call); else None.  The function's body is the contribution."""
    found = _method_call(call)
    if found is None:
        return None
    name, method, function, whole = found
    if "grad" not in method.lower() or not isinstance(function, ast.Lambda):
        return None
    return (name, function, whole) if len(function.args.args) == 1 else None


# What a step calls on an input to pass its gradient on down the graph (a recursive pass).
_PASSES_ON = ("backward", "backwards")


def _passed_on(call: ast.expr, region: Region) -> tuple[str, ast.expr, ast.Call] | None:
    """`x.backward(g)` in a step: the gradient passed to an input's own backward pass, which
    adds it to x.grad and recurses (gradzero 0.1.0's steps); or handed to a node's method
    named for gradients that does more than add it (nabla's `x._add_grad(g)` adds g to the
    sweep's own table while backward() runs, to x.grad otherwise), as a helper named so is
    handed one (`_handed`): (x, g, the call); else None.  A constant handed over is a
    setting (`out.requires_grad_(True)`), no gradient, and so is a function (whalegrad's
    `whals.set_grad_fn(sum_backward)`: what it returns is read where it returns it, and
    `-sum_backward` would be "caught" by a TypeError).  In backward() itself such a call
    is read as before: whalegrad's `self.accumulate_grad(upper_grad)` seeds the pass, and
    1e-6 added to its seed survived every case of the battery."""
    found = _method_call(call)
    if found is None:
        return None
    name, method, given, whole = found
    in_a_step = region.style != "sweep"
    named = in_a_step and "grad" in method.lower() and name in _nodes_at_hand(region)
    if method not in _PASSES_ON and not (named and _a_value(given, region)):
        return None
    return name, given, whole


def _a_value(given: ast.expr, region: Region) -> bool:
    """Could `given` be a gradient: not a constant, a lambda, nor a function the op defines?"""
    if isinstance(given, ast.Constant | ast.Lambda):
        return False
    defined = {
        node.name
        for node in ast.walk(region.unit.node)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    return not (isinstance(given, ast.Name) and given.id in defined)


def _nodes_at_hand(region: Region) -> set[str]:
    """The names a step knows as nodes: those whose number or gradient it reads, and the
    parameters of the op that made it (`self` in exp's `self._add_grad(e * out.grad)`)."""
    unit = region.unit.node
    params = [] if isinstance(unit, ast.Lambda) else [a.arg for a in unit.args.args]
    return {*node_names(region), *params}


def _handed_value(function: ast.AST, handed: ast.expr, statement: ast.stmt | ast.expr) -> ast.expr:
    """What a handed contribution computes: the expression last assigned before `statement`
    to a local the handed value reads (`grad_a = out.grad.data * b.value.data`, then
    `Data(_sum_to_shape(grad_a, ...))`), else the handed value itself."""
    names = {n.id for n in ast.walk(handed) if isinstance(n, ast.Name)}
    earlier = [
        node
        for node in ast.walk(function)
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id in names
        and node.lineno < statement.lineno
    ]
    return max(earlier, key=lambda node: node.lineno).value if earlier else handed


def _argument_value(region: Region, given: ast.expr, statement: ast.stmt | ast.expr) -> ast.expr:
    """What a call's one argument gives: a local is followed to what it holds
    (`_handed_value`), any other expression is itself."""
    return _handed_value(region.node, given, statement) if isinstance(given, ast.Name) else given


def _elements(
    region: Region, container: ast.AST, kind: Literal["returned", "local"]
) -> Iterator[Contribution]:
    if isinstance(container, ast.Tuple | ast.List):
        for i, element in enumerate(container.elts):
            element = _unless_none(element)
            yield Contribution(kind, element, element, None, False, region, container, i)
    elif isinstance(container, ast.Dict):  # local derivatives keyed by their child
        for value in container.values:
            yield Contribution(kind, value, value, None, False, region)
    elif isinstance(container, ast.expr):
        container = _unless_none(container)
        yield Contribution(kind, container, container, None, False, region)


def _unless_none(element: ast.expr) -> ast.expr:
    """`g * w if x.requires_grad else None` -> `g * w`: the gradient is the branch taken when
    one is wanted (negating the whole would make `-None` of the other branch)."""
    if (
        isinstance(element, ast.IfExp)
        and isinstance(element.orelse, ast.Constant)
        and element.orelse.value is None
    ):
        return element.body
    return element


def _returns_gradients(region: Region) -> bool:
    """A closure that writes no `.grad` but returns: ugrad's `def grad_fn(grad): return (...)`
    hands its gradients back to the sweep, as a `Function`'s backward does."""
    return region.style in ("closure", "lambda") and not grad_writes(region.node)


# What every operator reads of a site, computed once per site while mutants are generated
# (`reading_once`): each operator asked for a site's contributions and their locals again,
# 16% and 9% of generating minigrad.tensor's mutants (cProfile).  Keyed by the argument's
# identity, and holding it, so that no other object can take its id meanwhile.
_memo: dict[tuple[str, int], tuple[object, object]] | None = None
_Arg = TypeVar("_Arg")
_Value = TypeVar("_Value")


@contextlib.contextmanager
def reading_once() -> Iterator[None]:
    """Within: a site's contributions, and what feeds each, are read once."""
    global _memo
    outer, _memo = _memo, {}
    try:
        yield
    finally:
        _memo = outer


def _once(fn: Callable[[_Arg], _Value]) -> Callable[[_Arg], _Value]:
    @functools.wraps(fn)
    def read(arg: _Arg) -> _Value:
        if _memo is None:
            return fn(arg)
        key = (fn.__name__, id(arg))
        hit = _memo.get(key)
        if hit is None or hit[0] is not arg:
            hit = _memo[key] = (arg, fn(arg))
        value = hit[1]
        return cast(_Value, list(value) if isinstance(value, list) else value)  # a list, a copy

    return read


@_once
def contributions(site: Site) -> list[Contribution]:
    """Every gradient contribution in a site's backward steps (or its sweep)."""
    found: list[Contribution] = []
    for region in site.steps:
        if region.style == "local-grads":
            found += _elements(region, region.node, "local")
            continue
        made = list(_from_statements(region))
        found += made
        if isinstance(region.node, ast.Lambda) and _returns_gradients(region):
            if not any(c.node is region.node.body for c in made):  # a call that adds it
                found += _elements(region, region.node.body, "returned")
        elif region.style == "function-class" or _returns_gradients(region):
            for node in ast.walk(region.node):
                if isinstance(node, ast.Return) and node.value is not None:
                    found += _elements(region, node.value, "returned")
    return found


def _values(site: Site) -> Iterator[tuple[ast.AST, Region]]:
    """Every node inside the contributions' values (the local derivatives), and inside what
    their locals were assigned (`_feeding`)."""
    for c in contributions(site):
        for value in (c.value, *_feeding(c)):
            for node in ast.walk(value):
                yield node, c.region


@_once
def _feeding(c: Contribution) -> list[ast.expr]:
    """What was written, in its step and before it, into the locals a contribution reads, and
    into the locals those read, and so on: a `Function`'s backward written as PyTorch's are
    (`local = 1 - t * t`, `grad = local * grad_output`, `return grad,`; `grad_a[key] = grad`;
    `np.add.at(grad_a, key, grad)`), or a step that names its upstream gradient first
    (`g = out.grad`, `self.grad += g`), computes its gradient there, and the name the
    contribution reads holds nothing to mutate."""
    line = getattr(c.node, "lineno", 0)
    writes = [
        (written, value)
        for node in own_nodes(c.region.node)
        if isinstance(node, ast.stmt) and node.lineno < line
        for written, value in [_written(node)]
        if value is not None
    ]
    read = {n.id for n in ast.walk(c.value) if isinstance(n, ast.Name)}
    found: dict[int, ast.expr] = {}
    while True:
        more = [value for written, value in writes if id(value) not in found and written & read]
        if not more:
            return list(found.values())
        for value in more:
            found[id(value)] = value
            read |= {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}


def _written(node: ast.stmt) -> tuple[set[str], ast.expr | None]:
    """The locals a statement writes into, and what it writes: an assignment's value to the
    names it stores (`a, b = ...`) or whose items it sets (`g[key] = v`; not attributes:
    `left.grad = g` gives a node its gradient, and a step may return that node); a call on
    its own line, to the names it is handed (`np.add.at(g, key, v)` fills g)."""
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {name for t in targets for name in _target_names(t)}, node.value
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        handed = {a.id for a in node.value.args if isinstance(a, ast.Name)}
        return handed, node.value
    return set(), None


def _target_names(target: ast.expr) -> Iterator[str]:
    """`a` for `a`, `a[key]` and `a[i][j]`; each name of a tuple of targets."""
    if isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _target_names(element)
    elif isinstance(target, ast.Starred | ast.Subscript):
        yield from _target_names(target.value)
    elif isinstance(target, ast.Name):
        yield target.id


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


def _flipped(c: Contribution) -> tuple[ast.AST, ast.AST]:
    """(node, replacement) that makes the contribution accumulate with the other sign."""
    op: ast.operator = ast.Add() if c.subtracts else ast.Sub()
    if c.call is not None:
        func = c.call.func
        assert isinstance(func, ast.Attribute)
        other = "__iadd__" if c.subtracts else "__isub__"
        return func, ast.Attribute(func.value, other, ast.Load())
    if isinstance(c.node, ast.AugAssign):
        return c.node, ast.AugAssign(c.node.target, op, c.value)
    assert c.accumulation is not None
    acc = c.accumulation
    other = "add" if c.subtracts else "subtract"  # numpy's adder of the other sign
    if isinstance(acc, ast.Call) and _scatter(acc) is not None:  # `np.subtract.at(x.grad, i, v)`
        at = acc.func
        assert isinstance(at, ast.Attribute)  # _scatter
        flipped = ast.Attribute(_renamed(at.value, other), "at", ast.Load())
        return acc, ast.Call(flipped, acc.args, [])
    if isinstance(acc, ast.Call):  # `np.add(x.grad, v)` -> `np.subtract(x.grad, v)`, in place too
        held = acc.args[1] if acc.args[0] is c.value else acc.args[0]
        args = [held, c.value, *acc.args[2:]]
        return acc, ast.Call(_renamed(acc.func, other), args, acc.keywords)
    return acc, ast.BinOp(acc.left, op, acc.right)


def _renamed(func: ast.expr, name: str) -> ast.expr:
    """`np.subtract` for `np.add` (or `subtract` for `add`): the callee by another name."""
    if isinstance(func, ast.Attribute):
        return ast.Attribute(func.value, name, ast.Load())
    return ast.Name(name, ast.Load())


def _assigned(c: Contribution) -> tuple[ast.AST, ast.AST]:
    """(node, replacement) that makes the contribution overwrite the gradient."""
    value = _negated(c.value) if c.subtracts else c.value
    if isinstance(c.node, ast.AugAssign):
        return c.node, ast.Assign([c.node.target], value)
    if c.call is not None:
        func = c.call.func
        assert isinstance(func, ast.Attribute)
        grad = func.value
        assert isinstance(grad, ast.Attribute)  # `x.grad.__iadd__`: `x.grad` (or `x._grad`)
        return c.node, _overwrite(c.node, grad.value, grad.attr, value)
    assert c.accumulation is not None
    if isinstance(c.node, ast.Expr) and c.target is not None:  # in place: `np.add(..., out=)`
        if isinstance(c.accumulation, ast.Call) and _scatter(c.accumulation) is not None:
            grad, index, _ = c.accumulation.args  # `np.add.at(x.grad, i, v)`: `x.grad[i] = v`
            return c.node, ast.Assign([ast.Subscript(grad, index, ast.Store())], value)
        return c.node, _overwrite(c.node, node_expr(c.target), c.attr, value)
    return c.accumulation, value


def _overwrite(where: ast.AST, node: ast.expr, attr: str, value: ast.expr) -> ast.AST:
    """`node.attr = value`, or where a statement cannot stand (a lambda's body) the same as
    an expression: `setattr(node, "attr", value)`."""
    if isinstance(where, ast.stmt):
        return ast.Assign([ast.Attribute(node, attr, ast.Store())], value)
    return ast.Call(ast.Name("setattr", ast.Load()), [node, ast.Constant(attr), value], [])


class _Receiver(ast.NodeTransformer):
    """Renames `old.grad` to `new.grad`: the contribution goes to another node."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if _plain_grad_of(node) == self.old:  # in `x.grad.data`, the inner `x.grad`
            return ast.Attribute(node_expr(self.new), node.attr, node.ctx)
        return self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if (  # setattr(old, "grad", ...) names its receiver without `.grad`
            isinstance(node.func, ast.Name)
            and node.func.id == "setattr"
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == self.old
        ):
            node = copy.copy(node)
            node.args = [ast.Name(self.new, ast.Load()), *node.args[1:]]
        return self.generic_visit(node)


def _negated(value: ast.expr) -> ast.expr:
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
        return value.operand
    return ast.UnaryOp(ast.USub(), value)


# --- the operators -----------------------------------------------------------------------


def operator_sign(site: Site) -> Iterator[Edit]:
    """Flip the sign of a gradient contribution, or of a + / - inside a local derivative."""
    found = contributions(site)
    # Lost minuses come first, so `sub-sign` is the lab's bug: `-=` becomes `+=`.
    for c in found:
        if c.kind in _ACCUMULATING and c.subtracts:
            yield Edit(*_flipped(c), "-= becomes +=", c.region.unit)
    for node, region in _values(site):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            yield Edit(node, node.operand, "a unary minus is dropped", region.unit)
    for c in found:
        if c.kind in _ACCUMULATING and not c.subtracts:
            yield Edit(*_flipped(c), "+= becomes -=", c.region.unit)
        elif c.kind in ("returned", "local"):
            yield Edit(c.node, _negated(c.value), "a local derivative changes sign", c.region.unit)
        elif c.kind in ("handed", "method"):
            yield Edit(c.value, _negated(c.value), "a contribution changes sign", c.region.unit)
    for node, region in _values(site):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            flipped = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
            yield Edit(node, ast.BinOp(node.left, flipped, node.right), "+ and - swap", region.unit)


def operator_assign(site: Site) -> Iterator[Edit]:
    """Turn an accumulation (`+=`, `-=`) into a plain assignment (`=`)."""
    for c in contributions(site):
        if c.kind in _ACCUMULATING:
            yield Edit(*_assigned(c), "accumulation becomes assignment", c.region.unit)
        elif c.kind == "method" and c.target is not None:  # `x._acc(g)` becomes `x.grad = g`
            assigned = _overwrite(c.node, node_expr(c.target), c.attr, c.value)
            yield Edit(c.node, assigned, "accumulation becomes assignment", c.region.unit)


def _same_node(aliases: dict[str, str], a: str | None, b: str | None) -> bool:
    """Do two names stand for one node (`b` and `self.parents[1]` after `a, b = self.parents`)?"""
    return aliases.get(a or "", a) == aliases.get(b or "", b)


def operator_swap(site: Site) -> Iterator[Edit]:
    """Swap operand references (`other.data` <-> `self.data`), operands, or receivers."""
    for c in contributions(site):
        names = _swappable_names(site, c.region)
        aliases = node_aliases(c.region)
        unit = c.region.unit
        for node in (n for value in (c.value, *_feeding(c)) for n in ast.walk(value)):
            here = node_text(node.value) if isinstance(node, ast.Attribute) else None
            if isinstance(node, ast.Attribute) and here in names and node.attr in NODE_ATTRS:
                for name in names:
                    if not _same_node(aliases, name, here):
                        swapped = ast.Attribute(node_expr(name), node.attr, ast.Load())
                        text = f"{here}.{node.attr} becomes {name}.{node.attr}"
                        yield Edit(node, swapped, text, unit)
            if isinstance(node, ast.BinOp) and isinstance(node.op, _NON_COMMUTATIVE):
                yield Edit(node, ast.BinOp(node.right, node.op, node.left), "operands swap", unit)
        if c.kind in _ACCUMULATING and c.target is not None:
            for name in names:
                if not _same_node(aliases, name, c.target):
                    moved = _Receiver(c.target, name).visit(copy.deepcopy(c.node))
                    text = f"the contribution goes to {name} instead"
                    yield Edit(c.node, moved, text, unit)
        elif c.kind == "method" and c.call is not None:  # `x._acc(g)` becomes `y._acc(g)`
            func = c.call.func
            assert isinstance(func, ast.Attribute)  # _added
            for name in names:
                if not _same_node(aliases, name, c.target):
                    moved = ast.Attribute(node_expr(name), func.attr, ast.Load())
                    yield Edit(func, moved, f"the contribution goes to {name} instead", unit)
        elif c.elements is not None and c.index == 0 and len(c.elements.elts) >= 2:
            elts = list(c.elements.elts)
            elts[0], elts[1] = elts[1], elts[0]
            rebuilt = type(c.elements)(elts, ast.Load())
            yield Edit(c.elements, rebuilt, "the first two local derivatives swap", unit)


def _swappable_names(site: Site, region: Region) -> list[str]:
    """The nodes a region uses; for local derivatives set one statement each (`out.grad_wrt[self]
    = other.value`), those that all of the op's statements use."""
    if region.style != "local-grads" or isinstance(region.node, ast.Tuple | ast.List | ast.Dict):
        return node_names(region)
    regions = [r for r in site.steps if r.style == "local-grads" and r.unit is region.unit]
    return list(dict.fromkeys(name for r in regions for name in node_names(r)))


def operator_drop(site: Site) -> Iterator[Edit]:
    """Delete one gradient contribution."""
    for c in contributions(site):
        if c.kind in ("aug", "add", "call", "handed", "method") and isinstance(c.node, ast.stmt):
            replacement: ast.AST = ast.Pass()
        elif c.kind != "returned" and c.kind != "local":  # setattr, or a lambda's body
            replacement = ast.Constant(None)
        else:
            replacement = ast.Constant(0.0)
        yield Edit(c.node, replacement, "a contribution is deleted", c.region.unit)


def operator_chain(site: Site) -> Iterator[Edit]:
    """Drop the upstream factor: `out.grad` (or a backward's grad argument) becomes 1, where
    a contribution reads it or its locals were assigned it (`grad_a = b * grad_output`)."""
    for c in contributions(site):
        for value in (c.value, *_feeding(c)):
            for node in _upstream_reads(c, value):
                yield Edit(
                    node, _ones(node, site), "the upstream gradient is dropped", c.region.unit
                )


def _upstream_reads(c: Contribution, value: ast.expr) -> list[ast.expr]:
    """Where `value` reads the upstream gradient's numbers: `out.grad`, or the step's grad
    argument; not where it reads only its metadata (`device=grad_output.device`), nor the
    gradient of the node it adds to, which is no upstream gradient (pygradproject's
    `other.grad += self._broadcast_addgrad(other.grad, new.grad.copy())` hands it over for
    its shape: its `chain` mutants were equivalent)."""
    # in `out.grad.data` the whole is the upstream gradient, not its inner `out.grad`
    inner = {
        id(n.value)
        for n in ast.walk(value)
        if isinstance(n, ast.Attribute)
        and ((n.attr == "data" and _plain_grad_of(n.value)) or n.attr in _METADATA)
    }
    return [
        node
        for node in ast.walk(value)
        if isinstance(node, ast.expr)
        and id(node) not in inner
        and (
            _grad_of(node) not in (None, c.target)
            or (isinstance(node, ast.Name) and node.id in (c.region.upstream, c.upstream))
        )
    ]


def _ones(upstream: ast.AST, site: Site) -> ast.expr:
    """1.0, or for an array, ones of its shape: `(g * 0 + 1)`, which needs no numpy name."""
    if not site.tensor:
        return ast.Constant(1.0)
    zero = ast.BinOp(upstream, ast.Mult(), ast.Constant(0))  # type: ignore[arg-type]
    return ast.BinOp(zero, ast.Add(), ast.Constant(1))


def operator_const(site: Site) -> Iterator[Edit]:
    """Perturb a numeric literal in a local derivative (`k - 1` -> `k - 0`, `1.0` -> `2.0`)."""
    for node, region in _values(site):
        number = _number(node)
        if number is not None:
            for value in _number_variants(number):
                yield Edit(node, ast.Constant(value), f"{number!r} becomes {value!r}", region.unit)


def _flip_strictness(node: ast.AST, unit: Function) -> Edit | None:
    """`a > b` <-> `a >= b` and `a < b` <-> `a <= b`; None for any other node."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _STRICT_FLIP:
        flipped = _STRICT_FLIP[type(node.ops[0])]()
        replacement = ast.Compare(node.left, [flipped], node.comparators)
        return Edit(node, replacement, "comparison flips strictness", unit)
    return None


def operator_compare(site: Site) -> Iterator[Edit]:
    """Make a comparison in a backward step strict or non-strict (`>` <-> `>=`)."""
    if site.kind == "sweep":
        return
    for region in site.steps:
        for node in ast.walk(region.node):
            edit = _flip_strictness(node, region.unit)
            if edit is not None:
                yield edit


@_once
def _sweep_contributions(site: Site) -> Site:
    """The sweep read as steps: its `child.grad += local * v.grad` lines are contributions."""
    regions = tuple(Region(r.node, r.unit, "sweep") for r in site.steps)
    return Site(site.op, "op", regions, seed=site.seed)


def operator_topo(site: Site) -> Iterator[Edit]:
    """Break backward(): reverse the order, forget the visited check, seed with 2."""
    if site.kind != "sweep":
        return
    for region in site.steps:
        for node in ast.walk(region.node):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "reversed"
                and len(node.args) == 1
            ):
                yield Edit(
                    node, node.args[0], "nodes are visited in the opposite order", region.unit
                )
    for region in site.steps:
        for node in ast.walk(region.node):
            if isinstance(node, ast.Compare) and len(node.ops) == 1:
                if isinstance(node.ops[0], ast.NotIn):
                    yield Edit(
                        node, ast.Constant(True), "the visited check is removed", region.unit
                    )
                elif isinstance(node.ops[0], ast.In):
                    yield Edit(
                        node, ast.Constant(False), "the visited check is removed", region.unit
                    )
    for region in site.steps:
        for node in ast.walk(region.node):
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and _grad_of(node.targets[0]) is not None
                and _number(node.value) is not None
            ):
                seed = (_number(node.value) or 0) + 1
                yield Edit(
                    node.value,
                    ast.Constant(seed),
                    f"the output gradient is seeded with {seed!r}",
                    region.unit,
                )


# Two-argument functions whose arguments commute: swapping them would only make equivalents.
_SYMMETRIC_CALLS = frozenset(
    {"max", "min", "add", "multiply", "maximum", "minimum", "hypot", "fmax", "fmin"}
)


def _plain_call(node: ast.AST, count: int) -> TypeGuard[ast.Call]:
    """A call with `count` positional arguments, none of them unpacked (`reshape(*shape)`:
    `-*shape` is no Python, quackgrad 0.1.0; nor is `-*node.children` of a miniad-style
    sweep's `node.grad_fn(node, *node.children)`, which hands no gradient over), and no
    keyword."""
    return (
        isinstance(node, ast.Call)
        and len(node.args) == count
        and not node.keywords
        and not any(isinstance(arg, ast.Starred) for arg in node.args)
    )


def operator_forward(site: Site) -> Iterator[Edit]:
    """Perturb an op's forward computation: its operator, sign, constants or branch."""
    for region in site.forward:
        for node in ast.walk(region.node):
            unit = region.unit
            if isinstance(node, ast.BinOp) and type(node.op) in _FORWARD_SWAP:
                new_op = _FORWARD_SWAP[type(node.op)]()
                yield Edit(
                    node,
                    ast.BinOp(node.left, new_op, node.right),
                    "the forward operator changes",
                    unit,
                )
            elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
                yield Edit(node, node.operand, "the forward loses its minus", unit)
            elif _plain_call(node, 1):
                negated = ast.Call(node.func, [ast.UnaryOp(ast.USub(), node.args[0])], [])
                yield Edit(node, negated, "the forward function sees a negated argument", unit)
            elif _plain_call(node, 2) and callee_name(node.func) not in _SYMMETRIC_CALLS:
                swapped = ast.Call(node.func, [node.args[1], node.args[0]], [])
                yield Edit(node, swapped, "the forward function's arguments swap", unit)
            elif isinstance(node, ast.IfExp):
                yield Edit(
                    node,
                    ast.IfExp(node.test, node.orelse, node.body),
                    "the forward branches swap",
                    unit,
                )
            elif (edit := _flip_strictness(node, unit)) is not None:
                yield edit
            elif (number := _number(node)) is not None:
                yield Edit(
                    node, ast.Constant(number + 1), f"{number!r} becomes {number + 1!r}", unit
                )


# A constant far below every gradient tolerance (gradcheck's atol is 1e-4) and far above float
# rounding: only an exact check sees it (a zero upstream gradient must give exactly 0), as in a
# step that adds an "epsilon for stability".
_OFFSET = 1e-6


# Names of the upstream gradient in the steps of published engines: anything with "grad" in it
# (out.grad, grad_output), DeZero's gy and gx0, g, dout, dy.
_UPSTREAM = re.compile(r"grad|^g[a-z]{0,2}\d*$|^d(out|y)\d*$|^upstream$", re.IGNORECASE)


def _mentions_upstream(value: ast.AST) -> bool:
    """Does a contribution read a gradient (`out.grad`, a `gy` parameter)?  One that does not
    is a local derivative the engine multiplies by out.grad later (vizgrad's `lambda x, r:
    1.0 / x`)."""
    return any(
        (isinstance(n, ast.Name) and _UPSTREAM.search(n.id))
        or (isinstance(n, ast.Attribute) and _UPSTREAM.search(n.attr))
        for n in ast.walk(value)
    )


def operator_offset(site: Site) -> Iterator[Edit]:
    """Add a small constant to a contribution: `x.grad += v` becomes `x.grad += v + 1e-06`.
    Local derivatives are left alone (those of local-grads steps, and values that read no
    gradient): the engine scales them by out.grad, so a constant there is only a slightly
    wrong derivative, not one that ignores out.grad."""
    for c in contributions(site):
        if c.kind != "local" and _mentions_upstream(c.value) and not _the_seed(site, c):
            plus = ast.BinOp(c.value, ast.Add(), ast.Constant(_OFFSET))
            yield Edit(c.value, plus, f"{_OFFSET:g} is added to the gradient", c.region.unit)


def _the_seed(site: Site, c: Contribution) -> bool:
    """`self.grad += gradient` in a backward() that runs once in a pass (Sweep.once): the
    seed, added once, to the node it is called on.  1e-6 more there scales every gradient by
    a relative 1e-6, which only an exact check could see, and the exact check a step's offset
    fails (a zero upstream gradient) zeroes the seed's share too.  Where backward() runs for
    each node (TinyTorch's recursive pass), that statement adds each node's upstream
    gradient, and its offset is a step's."""
    unit = c.region.unit
    return (unit.file, unit.qualname, unit.first_line) == site.seed and c.target == "self"


# What an array's metadata is read through: reading it reads no value a second graph of a
# case would change, and ones of the array's shape have the same.
_METADATA = frozenset({"shape", "ndim", "size", "dtype", "device", "requires_grad"})


def _value_reads(node: ast.AST) -> list[ast.Attribute]:
    """The `x.data` reads in `node` that read values, not metadata (`x.data.shape`)."""
    metadata = {
        id(n.value) for n in ast.walk(node) if isinstance(n, ast.Attribute) and n.attr in _METADATA
    }
    return [
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Attribute) and n.attr == "data" and id(n) not in metadata
    ]


def _mentions_data(node: ast.AST, names: set[str]) -> bool:
    """Does `node` compute with values: a `.data` read, or one of `names` used as a value
    (not as the node whose attribute it reads, `out.data.size`)?"""
    bases = {id(n.value) for n in ast.walk(node) if isinstance(n, ast.Attribute)}
    return bool(_value_reads(node)) or any(
        isinstance(n, ast.Name) and n.id in names and id(n) not in bases for n in ast.walk(node)
    )


def _data_locals(unit: ast.AST, line: int) -> set[str]:
    """Locals the unit computes, before `line`, from its nodes' data (`t = tanh(x)` after
    `x = self.data`): the values a forward would save for its backward."""
    assigns = [n for n in own_nodes(unit) if isinstance(n, ast.Assign) and n.lineno < line]
    found: set[str] = set()
    while True:
        more = {
            t.id
            for a in assigns
            if _mentions_data(a.value, found)
            for t in a.targets
            if isinstance(t, ast.Name)
        } - found
        if not more:
            return found
        found |= more


def _saved_reads(value: ast.AST, data_locals: set[str]) -> list[str]:
    """What a local derivative reads that a forward could have saved: a node whose `.data` it
    reads (not its `.grad`, the upstream gradient), or a local computed from data.  Shapes
    and parameters are left out: a second graph of the same case has the same ones."""
    names = [n.value.id for n in _value_reads(value) if isinstance(n.value, ast.Name)]
    under_grad = {
        id(n.value)
        for n in ast.walk(value)
        if isinstance(n, ast.Attribute) and _plain_grad_of(n) is not None
    }
    names += [
        n.id
        for n in ast.walk(value)
        if isinstance(n, ast.Name) and n.id in data_locals and id(n) not in under_grad
    ]
    return names


class _Stale(ast.NodeTransformer):
    """Reads of `name` (not as `name.grad`) become reads of `saved`."""

    def __init__(self, name: str, saved: ast.expr) -> None:
        self.name, self.saved = name, saved

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if _plain_grad_of(node) == self.name:
            return node
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == self.name and isinstance(node.ctx, ast.Load):
            return copy.deepcopy(self.saved)
        return node


def operator_stale(site: Site) -> Iterator[Edit]:
    """A closure step reads a value of its op's latest forward instead of its own: the forward
    saves it on the class (as a `Function` object shared by every call saves its inputs) and
    the step reads it back.  Right whenever each graph is backpropagated before the op runs
    again; wrong as soon as two nodes of the op, or two graphs, are alive at once."""
    for region in site.steps:
        unit = region.unit.node
        if not (
            region.style == "closure"
            and isinstance(region.node, ast.FunctionDef)
            and isinstance(unit, ast.FunctionDef | ast.AsyncFunctionDef)
        ):
            continue
        params = [a.arg for a in (*unit.args.posonlyargs, *unit.args.args)]
        if not params:
            continue
        owner = params[0]
        data_locals = _data_locals(unit, region.node.lineno)
        bound = set(params) | data_locals
        values = [c.value for c in _from_statements(region)]
        for name in dict.fromkeys(n for v in values for n in _saved_reads(v, data_locals)):
            if name not in bound:
                continue
            key = f"_minigrad_saved_{name}"
            where = ast.Call(ast.Name("type", ast.Load()), [ast.Name(owner, ast.Load())], [])
            save = ast.Assign([ast.Attribute(where, key, ast.Store())], ast.Name(name, ast.Load()))
            step = _Stale(name, ast.Attribute(where, key, ast.Load())).visit(
                copy.deepcopy(region.node)
            )
            yield Edit(
                region.node,
                ast.If(ast.Constant(True), [save, step], []),
                f"the step reads {name} saved by the op's latest forward, not its own",
                region.unit,
            )


def _on_sweep_too(operator: Operator) -> Operator:
    """Contribution operators also apply to the sweep's own `.grad` accumulation."""

    def both(site: Site) -> Iterator[Edit]:
        yield from operator(_sweep_contributions(site) if site.kind == "sweep" else site)

    both.__doc__ = operator.__doc__
    return both


def _tensor(operator: Callable[[Site], Iterator[tuple[ast.AST, ast.AST, str, Region]]]) -> Operator:
    def edits(site: Site) -> Iterator[Edit]:
        for node, replacement, description, region in operator(site):
            yield Edit(node, replacement, description, region.unit)

    edits.__doc__ = operator.__doc__
    return edits


OPERATORS: dict[str, Operator] = {
    "sign": _on_sweep_too(operator_sign),
    "assign": _on_sweep_too(operator_assign),
    "swap": _on_sweep_too(operator_swap),
    "drop": _on_sweep_too(operator_drop),
    "chain": _on_sweep_too(operator_chain),
    "const": operator_const,
    "compare": operator_compare,
    "topo": operator_topo,
    "forward": operator_forward,
    "offset": _on_sweep_too(operator_offset),
    "stale": operator_stale,
    # Array code only (sites of tensor engines): minigrad_tool.mutation.tensor_operators.
    **{name: _tensor(op) for name, op in TENSOR_OPERATORS.items()},
}
