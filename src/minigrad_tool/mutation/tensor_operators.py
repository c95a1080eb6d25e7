"""Mutation operators for array code: the bugs tensor engines have, made on purpose.

They apply to sites of a tensor engine only (:attr:`Site.tensor`), to its
ops' backward steps and to the helpers those share (an engine's
`unbroadcast`), and find code through the AST, whatever the engine calls its
variables:

=============  ==========================================================
operator       what it breaks
=============  ==========================================================
``unbroadcast``  a step's reduction to its input's shape is skipped
                 (`unbroadcast(g, x.shape)` becomes `g`); inside a helper,
                 one of its reductions is skipped
``axis``         keepdims flips; axes are not sorted (re-expanded in the
                 wrong order); negative axes are not normalised; a
                 reduction's axis becomes another
``transpose``    matmul's transpose is dropped, `swapaxes(b, -1, -2)`
                 becomes `b.T`, an inverse permutation becomes the forward one
``count``        mean's divisor is dropped
``scatter``      `np.add.at(g, i, v)` (accumulates repeated indices)
                 becomes `g[i] += v` (which does not)
``tie``          max's share among tied elements is dropped: each gets all
``dtype``        a gradient buffer is made in float16, not its node's dtype
=============  ==========================================================
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from minigrad_tool.mutation.sites import ADDERS, GRAD_ATTRS, Region, Site, callee_name

__all__ = ["TENSOR_OPERATORS"]

Found = tuple[ast.AST, ast.AST, str, Region]  # node, replacement, description, region
_KEEPDIMS = ("keepdims", "keepdim", "keep_dims")
_AXIS = ("axis", "dim", "axes")


def _regions(site: Site) -> Iterator[Region]:
    if site.tensor:
        yield from site.steps


def _walk(site: Site) -> Iterator[tuple[ast.AST, Region]]:
    for region in _regions(site):
        for node in ast.walk(region.node):
            yield node, region


def _name(call: ast.Call) -> str:
    return callee_name(call.func)


def _mentions_shape(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "shape" for n in ast.walk(node))


_SHAPE_MAKERS = {"reshape", "broadcast_to", "zeros", "ones", "full", "empty", "expand_dims"}
# numpy's adders combine two arrays, never reduce one to a shape (`np.add(x.grad, g,
# out=x.grad)`, the accumulation itself: "skipping" it would delete the contribution, the drop
# operator's).


def operator_unbroadcast(site: Site) -> Iterator[Found]:
    """Skip the reduction of a gradient to its input's shape."""
    for node, region in _walk(site):
        if not isinstance(node, ast.Call):
            continue
        if region.style == "helper":  # inside `unbroadcast` itself: skip one of its sums
            if (
                isinstance(node.func, ast.Attribute)
                and node.func.attr == "sum"
                and (node.args or node.keywords)
            ):
                yield node, node.func.value, "a reduction of the helper is skipped", region
        elif (
            len(node.args) >= 2
            and _name(node) not in _SHAPE_MAKERS | ADDERS.keys()
            and any(_mentions_shape(a) for a in node.args[1:])
        ):
            yield node, node.args[0], "the gradient is not reduced to the input's shape", region


def _negated(value: ast.expr) -> ast.expr:
    if isinstance(value, ast.Constant) and isinstance(value.value, bool):
        return ast.Constant(not value.value)
    return ast.UnaryOp(ast.Not(), value)


def operator_axis(site: Site) -> Iterator[Found]:
    """Reduce or re-expand along the wrong axes: keepdims flips, axes unsorted or not
    normalised, another axis."""
    for node, region in _walk(site):
        if isinstance(node, ast.keyword) and node.arg in _KEEPDIMS:
            yield node.value, _negated(node.value), f"{node.arg} flips", region
        elif isinstance(node, ast.Call) and _name(node) == "sorted" and len(node.args) == 1:
            yield node, node.args[0], "axes are no longer sorted", region
            reverse = ast.Call(node.func, node.args, [ast.keyword("reverse", ast.Constant(True))])
            yield node, reverse, "axes are sorted in reverse order", region
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            yield node, node.left, "negative axes are not normalised", region
        elif isinstance(node, ast.If) and any(
            isinstance(n, ast.Name) and n.id in _KEEPDIMS for n in ast.walk(node.test)
        ):
            yield node.test, _negated(node.test), "the keepdims branch flips", region
    for node, region in _walk(site):
        if isinstance(node, ast.keyword) and node.arg in _AXIS:
            other = (
                ast.Constant(-1)
                if isinstance(node.value, ast.Constant) and node.value.value == 0
                else ast.Constant(0)
            )
            yield node.value, other, "the reduction's axis changes", region


def _is_swap_last(call: ast.Call) -> bool:
    """`swapaxes(b, -1, -2)`, `np.swapaxes(b, -2, -1)` or `b.swapaxes(-1, -2)`."""
    return _name(call) in ("swapaxes", "transpose") and len(call.args) >= 2


def operator_transpose(site: Site) -> Iterator[Found]:
    """Drop a transpose, use `.T` for `swapaxes(-1, -2)`, the forward permutation for its
    inverse."""
    for node, region in _walk(site):
        if isinstance(node, ast.Attribute) and node.attr in ("T", "mT"):
            yield node, node.value, f"the .{node.attr} is dropped", region
        elif isinstance(node, ast.Call) and _name(node) == "swapaxes":
            operand = (
                node.args[0]
                if isinstance(node.func, ast.Name) or _module_call(node)
                else node.func.value  # type: ignore[attr-defined]
            )
            yield node, operand, "the transpose is dropped", region
            yield (
                node,
                ast.Attribute(operand, "T", ast.Load()),
                "swapaxes(-1, -2) becomes .T",
                region,
            )
        elif (
            isinstance(node, ast.Call)
            and _name(node) in ("argsort", "invert_permutation")
            and node.args
        ):
            yield node, node.args[0], "the forward permutation replaces its inverse", region


def _module_call(call: ast.Call) -> bool:
    """`np.swapaxes(...)`: a function of a module, not a method of an array."""
    f = call.func
    return (
        isinstance(f, ast.Attribute)
        and isinstance(f.value, ast.Name)
        and f.value.id
        in (
            "np",
            "numpy",
            "xp",
            "cp",
            "jnp",
        )
    )


def operator_count(site: Site) -> Iterator[Found]:
    """Drop mean's divisor."""
    if site.op not in ("mean", "average", "avg"):
        return
    for node, region in _walk(site):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            yield node, node.left, "mean's divisor is dropped", region
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for side, other in ((node.left, node.right), (node.right, node.left)):
                if (  # `(1 / n) * g`
                    isinstance(side, ast.BinOp)
                    and isinstance(side.op, ast.Div)
                    and isinstance(side.left, ast.Constant)
                    and side.left.value == 1
                ):
                    yield node, other, "mean's divisor is dropped", region


def operator_scatter(site: Site) -> Iterator[Found]:
    """`np.add.at(g, i, v)` becomes `g[i] += v`: repeated indices no longer accumulate."""
    for node, region in _walk(site):
        if not isinstance(node, ast.Expr) or not isinstance(node.value, ast.Call):
            continue
        call = node.value
        f = call.func
        if (
            isinstance(f, ast.Attribute)
            and f.attr == "at"
            and isinstance(f.value, ast.Attribute)
            and f.value.attr == "add"
            and len(call.args) == 3
        ):
            target, index, value = call.args
            aug = ast.AugAssign(ast.Subscript(target, index, ast.Store()), ast.Add(), value)
            yield node, aug, "np.add.at becomes += on an index (repeats count once)", region


def _compares(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Compare) and any(isinstance(o, ast.Eq) for o in n.ops)
        for n in ast.walk(node)
    )


def operator_tie(site: Site) -> Iterator[Found]:
    """Max's ties each get the whole upstream gradient: the share is dropped."""
    if site.op not in ("max", "min", "amax", "amin"):
        return
    masks: set[str] = set()
    for node, _ in _walk(site):
        if isinstance(node, ast.Assign) and _compares(node.value):
            masks |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    for node, region in _walk(site):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            uses_mask = _compares(node.left) or any(
                isinstance(n, ast.Name) and n.id in masks for n in ast.walk(node.left)
            )
            if uses_mask:
                yield node, node.left, "tied maxima each get the whole gradient", region


# numpy's buffer makers, and a dtype no engine keeps its data in: the buffer is always wrong.
_BUFFERS = {"zeros_like", "ones_like", "empty_like", "full_like", "zeros", "ones", "empty", "full"}
_WRONG_DTYPE = "float16"


def operator_dtype(site: Site) -> Iterator[Found]:
    """A gradient buffer made in another dtype: `x.grad = np.ones_like(x.data)` gets
    `dtype=np.float16`.  Its values stay right where they are exact (ones, zeros), so only a
    dtype check tells it apart."""
    for node, region in _walk(site):
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Attribute)
            and node.targets[0].attr in GRAD_ATTRS
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and isinstance(node.value.func.value, ast.Name)
            and node.value.func.attr in _BUFFERS
            and not any(k.arg == "dtype" for k in node.value.keywords)
        ):
            continue
        call = node.value
        module = node.value.func.value
        dtype = ast.keyword("dtype", ast.Attribute(module, _WRONG_DTYPE, ast.Load()))
        wrong = ast.Call(call.func, call.args, [*call.keywords, dtype])
        yield call, wrong, f"the gradient buffer is made in {_WRONG_DTYPE}", region


TENSOR_OPERATORS = {
    "unbroadcast": operator_unbroadcast,
    "axis": operator_axis,
    "transpose": operator_transpose,
    "count": operator_count,
    "scatter": operator_scatter,
    "tie": operator_tie,
    "dtype": operator_dtype,
}
