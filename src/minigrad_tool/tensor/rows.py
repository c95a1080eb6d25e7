"""The tensor battery's rows, as data, built for one engine from its profile.

Per op family:

* elementwise binary ops on every broadcasting pattern between ranks 0 and 3
  (equal shapes; a lower rank on either side, 1-D against 2-D included; size-1
  axes stretched on one side or both; 0-d operands) and with a Python number on
  either side;
* unary ops and powers on 2-D and 3-D arrays; relu at exact zeros (a kink);
* sum, mean and max over None, an int, a negative int and tuples of axes, with
  and without keepdims, on shapes with repeated sizes ((3,3,2)), a 3-D shape
  with distinct sizes, a square one and a 1-D one; max with ties (a kink);
* matmul in every form: 2-D, 1-D on either side and both, batched, broadcast
  batch on either side, and a 4-D batch;
* reshape, transpose with an axis order (not its own inverse), broadcast_to,
  indexing with slices and with repeated indices;
* composites: softmax and logsumexp on both axes, `x @ W + b` with `b` of shape
  (5,) and (1, 5), `x * x`, a diamond, and intermediates used twice (with `*` and
  `sum()` alone, so that every engine has one).

A row runs when the engine has every op it calls; the others are listed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from minigrad_tool.adapter.profile import Op, Profile
from minigrad_tool.adapter.traversal import reused_twice
from minigrad_tool.ops import why_not_run
from minigrad_tool.tensor.access import Array
from minigrad_tool.tensor.calls import SYMBOLS, TensorCalls
from minigrad_tool.tensor.cases import Domain, Input, Reduction, TensorCase

__all__ = ["build_tensor_battery", "walk_case"]

Build = Callable[[TensorCalls, Sequence[Any]], Any]
Ref = Callable[[Sequence[Array]], Array]
AxisArg = int | tuple[int, ...] | None


@dataclass(frozen=True)
class _Row:
    name: str
    group: str
    text: str
    inputs: tuple[Input, ...]
    build: Build
    ref: Ref
    requires: tuple[str, ...]
    op: str | None = None
    kink: str | None = None
    reduction: Reduction | None = None
    optional: bool = False  # a spelling an engine may not have (`x.add(y)`): unlisted if absent
    form: float | None = None  # for the op's standard definition of this number only


_NUMPY_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
}
# Every way numpy broadcasts two operands of ranks 0 to 3: equal shapes, a lower rank on
# either side (1-D against 2-D and 3-D, 2-D against 3-D), size-1 axes stretched on either side
# or on both, and 0-d operands.  An engine's broadcast branch runs in some of them whatever
# its condition (`ndim`, `shape`, `size`).
_PAIRS: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("same", (2, 3, 4), (2, 3, 4)),
    ("trailing", (2, 3, 4), (4,)),
    ("leading", (4,), (2, 3, 4)),
    ("middle", (2, 1, 4), (2, 3, 4)),
    ("outer", (3, 1), (1, 4)),
    ("scalar", (2, 3), ()),
    ("scalar_left", (), (2, 3)),
    ("one", (1,), (2, 3)),
    ("row", (3, 4), (4,)),
    ("row_left", (4,), (3, 4)),
    ("column", (3, 4), (3, 1)),
    ("matrix", (2, 3, 4), (3, 4)),
    ("matrix_left", (3, 1), (2, 3, 4)),
    ("vectors", (4,), (4,)),
    ("vector_one", (4,), (1,)),
    ("scalars", (), ()),
    ("scalar_3d", (2, 3, 4), ()),
)
_REFLECTED = {"radd": "add", "rsub": "sub", "rmul": "mul", "rdiv": "div"}
_CONSTANT = 1.7


def _binary(op: str, left: float | None = None, right: float | None = None) -> Build:
    """`x <op> y`, or with a Python number on the left or the right."""

    def build(c: TensorCalls, xs: Sequence[Any]) -> Any:
        if left is not None:
            return c.binary(op, left, xs[0])
        return c.binary(op, xs[0], xs[1] if right is None else right)

    return build


def _numpy2(
    fn: Callable[[Any, Any], Any], left: float | None = None, right: float | None = None
) -> Ref:
    def ref(xs: Sequence[Array]) -> Array:
        if left is not None:
            return np.asarray(fn(left, xs[0]))
        return np.asarray(fn(xs[0], xs[1] if right is None else right))

    return ref


def _method(op: str) -> Build:
    return lambda c, xs: c.method(op, xs[0])


def _numpy1(fn: Callable[[Array], Array]) -> Ref:
    return lambda xs: fn(xs[0])


def _pow(k: float) -> Build:
    return lambda c, xs: c.pow(xs[0], k)


def _numpy_pow(k: float) -> Ref:
    return lambda xs: np.asarray(xs[0] ** k)


def _reduce(op: str, axis: AxisArg, keep: bool) -> Build:
    return lambda c, xs: c.reduce(op, xs[0], axis, keep)


def _numpy_reduce(fn: Callable[..., Array], axis: AxisArg, keep: bool) -> Ref:
    return lambda xs: np.asarray(fn(xs[0], axis=axis, keepdims=keep))


def _on_axis(fn: Callable[[TensorCalls, Any, int], Any], axis: int) -> Build:
    return lambda c, xs: fn(c, xs[0], axis)


def _numpy_on_axis(fn: Callable[[Array, int], Array], axis: int) -> Ref:
    return lambda xs: fn(xs[0], axis)


def _binary_rows() -> list[_Row]:
    rows = []
    for op, fn in _NUMPY_BINARY.items():
        right: Domain = "away"
        for family, a, b in _PAIRS:
            rows.append(
                _Row(
                    f"{op}_{family}",
                    op,
                    f"x {SYMBOLS[op]} y",
                    (Input(a), Input(b, right)),
                    _binary(op),
                    _numpy2(fn),
                    (op,),
                    op,
                )
            )
        rows.append(
            _Row(
                f"{op}_number",
                op,
                f"x {SYMBOLS[op]} {_CONSTANT}",
                (Input((3, 4)),),
                _binary(op, right=_CONSTANT),
                _numpy2(fn, right=_CONSTANT),
                (op,),
                op,
            )
        )
    for rop, op in _REFLECTED.items():
        fn = _NUMPY_BINARY[op]
        rows.append(
            _Row(
                f"{rop}_number",
                rop,
                f"{_CONSTANT} {SYMBOLS[op]} x",
                (Input((3, 4), "away"),),
                _binary(op, left=_CONSTANT),
                _numpy2(fn, left=_CONSTANT),
                (rop,),
                rop,
            )
        )
    return rows


_UNARY: dict[str, tuple[Callable[[Array], Array], Domain]] = {
    "exp": (np.exp, "any"),
    "log": (np.log, "positive"),
    "tanh": (np.tanh, "any"),
    "relu": (lambda x: np.maximum(x, 0.0), "any"),
    "sigmoid": (lambda x: 1.0 / (1.0 + np.exp(-x)), "any"),
}
_POWERS: tuple[tuple[str, float, Domain], ...] = (
    ("pow2", 2.0, "any"),
    ("pow3", 3.0, "any"),
    ("pow_half", 0.5, "positive"),
    ("pow_neg1", -1.0, "away"),
)


def _unary_rows() -> list[_Row]:
    rows = []
    for op, (fn, domain) in _UNARY.items():
        for shape in ((3, 4), (2, 3, 4)):
            rows.append(
                _Row(
                    f"{op}_{len(shape)}d",
                    op,
                    f"x.{op}()",
                    (Input(shape, domain),),
                    _method(op),
                    _numpy1(fn),
                    (op,),
                    op,
                )
            )
    rows.append(
        _Row(
            "relu_zero",
            "relu",
            "x.relu() at x = 0",
            (Input((4, 5), "zeros"),),
            lambda c, xs: c.method("relu", xs[0]),
            lambda xs: np.maximum(xs[0], 0.0),
            ("relu",),
            "relu",
            kink="relu",
        )
    )
    for shape in ((3, 4), (2, 3, 4)):
        rows.append(
            _Row(
                f"neg_{len(shape)}d",
                "neg",
                "-x",
                (Input(shape),),
                lambda c, xs: c.neg(xs[0]),
                lambda xs: -xs[0],
                ("neg",),
                "neg",
            )
        )
    for name, k, domain in _POWERS:
        rows.append(
            _Row(
                name,
                "pow",
                f"x ** {k}",
                (Input((3, 4), domain),),
                _pow(k),
                _numpy_pow(k),
                ("pow",),
                "pow",
            )
        )
    # a node exponent: its step runs too; each side broadcast in turn (a 2-D row first, for
    # engines that keep arrays 2-D at least)
    for family, base, exponent in (
        ("same", (3, 4), (3, 4)),
        ("row", (3, 4), (1, 4)),
        ("vector", (3, 4), (4,)),
        ("base_row", (1, 4), (3, 4)),
    ):
        rows.append(
            _Row(
                f"pow_node_{family}",
                "pow",
                "x ** y (y a node)",
                (Input(base, "positive"), Input(exponent)),
                lambda c, xs: c.power(xs[0], xs[1]),
                lambda xs: np.power(xs[0], xs[1]),
                ("pow",),
                "pow",
            )
        )
    return rows


_REDUCE_NUMPY: dict[str, Callable[..., Array]] = {"sum": np.sum, "mean": np.mean, "max": np.max}
# (shape, axes): repeated sizes take every axis form; the others a few each.  (0, 1) on a 3-D
# input leaves the last axis: moving the reduced axes last is a 3-cycle, not its own inverse
# (mygrad's max transposes back by argsort); (2, 0) is a tuple numpy takes in any order.
_REDUCE_SHAPES: tuple[tuple[tuple[int, ...], tuple[AxisArg, ...]], ...] = (
    ((3, 3, 2), (None, 0, 1, -1, -2, (0, 2), (-2, -1))),
    ((2, 3, 4), (1, -1, (0, 2), (-2, -1), (0, 1), (2, 0))),
    ((4, 4), (0, 1)),
    ((5,), (None, 0, -1)),  # a 1-D input: every form of its one axis
)


def _axis_text(axis: AxisArg) -> str:
    return "" if axis is None else f"axis={axis}"


def _reduce_name(op: str, shape: tuple[int, ...], axis: AxisArg, keep: bool) -> str:
    dims = "x".join(map(str, shape))
    if axis is None:
        where = "all"
    elif isinstance(axis, int):
        where = f"axis{axis}".replace("-", "m")
    else:
        where = "axes" + "_".join(str(a).replace("-", "m") for a in axis)
    return f"{op}_{dims}_{where}" + ("_keep" if keep else "")


def _reduction_rows() -> list[_Row]:
    rows = []
    for op, fn in _REDUCE_NUMPY.items():
        for shape, axes in _REDUCE_SHAPES:
            for axis in axes:
                for keep in (False, True):
                    args = ", ".join(a for a in (_axis_text(axis), "keepdims=True" * keep) if a)
                    rows.append(
                        _Row(
                            _reduce_name(op, shape, axis, keep),
                            op,
                            f"x.{op}({args})",
                            (Input(shape, "distinct" if op == "max" else "any"),),
                            _reduce(op, axis, keep),
                            _numpy_reduce(fn, axis, keep),
                            (op,),
                            op,
                        )
                    )
    for axis, keep in ((None, False), (1, False), ((-2, -1), True), (0, True)):
        args = ", ".join(a for a in (_axis_text(axis), "keepdims=True" * keep) if a)
        rows.append(
            _Row(
                _reduce_name("max_ties", (3, 3, 2), axis, keep),
                "max",
                f"x.max({args}) with ties",
                (Input((3, 3, 2), "ties"),),
                _reduce("max", axis, keep),
                _numpy_reduce(np.max, axis, keep),
                ("max",),
                "max",
                kink="max",
                reduction=Reduction(axis, keep),
            )
        )
    return rows


_MATMUL: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("2d", (3, 4), (4, 5)),
    ("vec_mat", (4,), (4, 5)),
    ("mat_vec", (3, 4), (4,)),
    ("vec_vec", (4,), (4,)),
    ("batched", (2, 3, 4), (2, 4, 5)),
    ("batch_left", (2, 3, 4), (4, 5)),
    ("batch_right", (3, 4), (2, 4, 5)),
    ("batch_broadcast", (1, 3, 4), (2, 4, 5)),
    ("vec_batch", (4,), (2, 4, 3)),
    ("batch_vec", (2, 3, 4), (4,)),
    ("4d", (2, 2, 3, 4), (2, 2, 4, 3)),
)


def _matmul_rows() -> list[_Row]:
    return [
        _Row(
            f"matmul_{family}",
            "matmul",
            "x @ y",
            (Input(a), Input(b)),
            lambda c, xs: c.binary("matmul", xs[0], xs[1]),
            lambda xs: np.matmul(xs[0], xs[1]),
            ("matmul",),
            "matmul",
        )
        for family, a, b in _MATMUL
    ]


def _shape_rows() -> list[_Row]:
    return [*_reshape_rows(), *_index_rows()]


def _reshape_rows() -> list[_Row]:
    """reshape, transpose and broadcast_to: the elements move, their number is kept or grows."""
    return [
        _Row(
            "reshape_flat",
            "reshape",
            "x.reshape((6, 4))",
            (Input((2, 3, 4)),),
            lambda c, xs: c.reshape(xs[0], (6, 4)),
            lambda xs: xs[0].reshape((6, 4)),
            ("reshape",),
            "reshape",
        ),
        _Row(
            "reshape_split",
            "reshape",
            "x.reshape((2, 2, 6))",
            (Input((4, 6)),),
            lambda c, xs: c.reshape(xs[0], (2, 2, 6)),
            lambda xs: xs[0].reshape((2, 2, 6)),
            ("reshape",),
            "reshape",
        ),
        _Row(
            "transpose_2d",
            "transpose",
            "x.transpose((1, 0))",
            (Input((3, 4)),),
            lambda c, xs: c.transpose(xs[0], (1, 0)),
            lambda xs: xs[0].transpose((1, 0)),
            ("transpose",),
            "transpose",
        ),
        _Row(  # (2, 0, 1) is not its own inverse: a backward that reuses it is caught
            "transpose_3d",
            "transpose",
            "x.transpose((2, 0, 1))",
            (Input((2, 3, 4)),),
            lambda c, xs: c.transpose(xs[0], (2, 0, 1)),
            lambda xs: xs[0].transpose((2, 0, 1)),
            ("transpose",),
            "transpose",
            form=0.0,
        ),
        _Row(  # a transpose that swaps two axes (torch's transpose(dim0, dim1)); not `.T`'s two
            "transpose_swap_3d",
            "transpose",
            "x.transpose((2, 1))",
            (Input((2, 3, 4)),),
            lambda c, xs: c.transpose(xs[0], (2, 1)),
            lambda xs: np.swapaxes(xs[0], 2, 1),
            ("transpose",),
            "transpose",
            form=1.0,
        ),
        _Row(
            "broadcast_to",
            "broadcast_to",
            "x.broadcast_to((2, 3, 4))",
            (Input((3, 1)),),
            lambda c, xs: c.broadcast_to(xs[0], (2, 3, 4)),
            lambda xs: np.broadcast_to(xs[0], (2, 3, 4)),
            ("broadcast_to",),
            "broadcast_to",
        ),
    ]


def _index_rows() -> list[_Row]:
    """Indexing: slices, and repeated indices whose gradients must add up."""
    return [
        _Row(
            "getitem_slice",
            "getitem",
            "x[1:, ::2]",
            (Input((3, 4)),),
            lambda c, xs: c.index(xs[0], (slice(1, None), slice(None, None, 2))),
            lambda xs: xs[0][1:, ::2],
            ("getitem",),
            "getitem",
        ),
        _Row(
            "getitem_repeated",
            "getitem",
            "x[[0, 2, 0, 0]]",
            (Input((3, 4)),),
            lambda c, xs: c.index(xs[0], np.array([0, 2, 0, 0])),
            lambda xs: xs[0][np.array([0, 2, 0, 0])],
            ("getitem",),
            "getitem",
        ),
        _Row(
            "getitem_pairs",
            "getitem",
            "x[[1, 1, 0], [2, 2, 3]]",
            (Input((3, 4)),),
            lambda c, xs: c.index(xs[0], (np.array([1, 1, 0]), np.array([2, 2, 3]))),
            lambda xs: xs[0][np.array([1, 1, 0]), np.array([2, 2, 3])],
            ("getitem",),
            "getitem",
        ),
    ]


def _softmax(c: TensorCalls, x: Any, axis: int) -> Any:
    shifted = c.binary("sub", x, c.reduce("max", x, axis, True))
    e = c.method("exp", shifted)
    return c.binary("div", e, c.reduce("sum", e, axis, True))


def _logsumexp(c: TensorCalls, x: Any, axis: int) -> Any:
    m = c.reduce("max", x, axis, True)
    inner = c.method("exp", c.binary("sub", x, m))
    return c.binary("add", m, c.method("log", c.reduce("sum", inner, axis, True)))


def _np_softmax(x: Array, axis: int) -> Array:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return np.asarray(e / e.sum(axis=axis, keepdims=True))


def _np_logsumexp(x: Array, axis: int) -> Array:
    m = x.max(axis=axis, keepdims=True)
    return np.asarray(m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True)))


def _composite_rows() -> list[_Row]:
    return [*_layer_rows(), *_shared_rows()]


def _layer_rows() -> list[_Row]:
    """What a network computes: softmax, logsumexp, a linear layer with its bias."""
    rows = []
    for axis in (-1, 0):
        rows.append(
            _Row(
                f"softmax_axis{axis}".replace("-", "m"),
                "composite",
                f"softmax(x, axis={axis})",
                (Input((3, 4), "distinct"),),
                _on_axis(_softmax, axis),
                _numpy_on_axis(_np_softmax, axis),
                ("sub", "max", "exp", "div", "sum"),
            )
        )
        rows.append(
            _Row(
                f"logsumexp_axis{axis}".replace("-", "m"),
                "composite",
                f"logsumexp(x, axis={axis})",
                (Input((3, 4), "distinct"),),
                _on_axis(_logsumexp, axis),
                _numpy_on_axis(_np_logsumexp, axis),
                ("sub", "max", "exp", "log", "sum", "add"),
            )
        )
    for family, bias in (("bias", (5,)), ("bias_row", (1, 5))):
        rows.append(
            _Row(
                f"linear_{family}",
                "composite",
                f"x @ W + b with b of shape {bias}",
                (Input((3, 4)), Input((4, 5)), Input(bias)),
                lambda c, xs: c.binary("add", c.binary("matmul", xs[0], xs[1]), xs[2]),
                lambda xs: xs[0] @ xs[1] + xs[2],
                ("matmul", "add"),
            )
        )
    return rows


def _operand_twice_rows() -> list[_Row]:
    """Each operand of each binary op (and of its alias method, `x.matmul(y)`) fed to two of
    its calls: `x @ y + x @ z`, `x @ y + z @ y`.  A step that sets (`=`) that operand's
    gradient loses the other call's contribution.  Where the engine owns its gradients nothing
    can be pre-seeded, so these are what catch it."""
    fns: dict[str, Callable[[Any, Any], Any]] = {**_NUMPY_BINARY, "matmul": np.matmul}
    rows = []
    for (op, fn), alias, side in itertools.product(fns.items(), (False, True), ("x", "y")):
        if (op, side, alias) == ("mul", "x", False):
            continue  # two_products
        first = side == "x"
        inner = (4, 5) if op == "matmul" else (3, 4)
        third = inner if first else (3, 4)
        name = f"{op}_method" if alias else op
        call = f"{{}}.{op}({{}})" if alias else f"{{}} {SYMBOLS[op]} {{}}"
        other = call.format("x", "z") if first else call.format("z", "y")
        rows.append(
            _Row(
                f"{name}_{side}_twice",
                "composite",
                f"{call.format('x', 'y')} + {other} ({side} an operand of two calls)",
                (Input((3, 4)), Input(inner, "away"), Input(third, "away")),
                _twice(op, first, alias),
                _numpy_twice(fn, first),
                (name, "add"),
                name,
                optional=alias,
            )
        )
    return rows


# One-input ops, each called twice on one input: (op, its call, numpy's, domain, shape).  A
# step that sets (`=`) its input's gradient wipes the other call's share; the two outputs have
# one shape, so no broadcasting is needed (an engine whose `+` cannot broadcast a kept-dims
# sum against a matrix is still judged).
_ALONGSIDE: tuple[tuple[str, str, Build, Ref, Domain, tuple[int, ...]], ...] = (
    *(
        (op, f"x.{op}()", _method(op), _numpy1(fn), domain, (3, 4))
        for op, (fn, domain) in _UNARY.items()
    ),
    ("neg", "-x", lambda c, xs: c.neg(xs[0]), lambda xs: -xs[0], "any", (3, 4)),
    ("pow", "x ** 2.0", _pow(2.0), _numpy_pow(2.0), "any", (3, 4)),
    *(  # over every axis: a reduction the loss needs anyway (an axis may not be supported)
        (
            op,
            f"x.{op}()",
            lambda c, xs, op=op: c.reduce(op, xs[0]),
            lambda xs, fn=fn: fn(xs[0]),
            "distinct",
            (3, 4),
        )
        for op, fn in _REDUCE_NUMPY.items()
    ),
    ("getitem", "x[0]", lambda c, xs: c.index(xs[0], 0), lambda xs: xs[0][0], "any", (3, 4)),
    (
        "transpose",
        "x.transpose((1, 0))",
        lambda c, xs: c.transpose(xs[0], (1, 0)),
        lambda xs: xs[0].T,
        "any",
        (4, 4),
    ),
    # Without these two, a reshape or broadcast_to step that sets its input's gradient went
    # untold in an engine that zeroes every gradient in backward() (pygradproject 0.0.3): its
    # `assign` mutant was called equivalent, and left out of the score.
    (
        "reshape",
        "x.reshape((4, 3))",
        lambda c, xs: c.reshape(xs[0], (4, 3)),
        lambda xs: xs[0].reshape((4, 3)),
        "any",
        (3, 4),
    ),
    (
        "broadcast_to",
        "x.broadcast_to((2, 3, 4))",
        lambda c, xs: c.broadcast_to(xs[0], (2, 3, 4)),
        lambda xs: np.broadcast_to(xs[0], (2, 3, 4)),
        "any",
        (3, 1),
    ),
)


def _alongside_rows() -> list[_Row]:
    """`f(x) + f(x)` for each one-input op: where the engine owns its gradients (nothing can be
    pre-seeded), what catches a step of f that sets x's gradient instead of adding to it."""
    return [
        _Row(
            f"{op}_called_twice",
            "composite",
            f"{text} + {text} (x the input of two calls)",
            (Input(shape, domain),),
            _called_twice(build),
            _numpy_called_twice(ref),
            (op, "add"),
            op,
        )
        for op, text, build, ref, domain, shape in _ALONGSIDE
    ]


def _called_twice(build: Build) -> Build:
    return lambda c, xs: c.binary("add", build(c, xs), build(c, xs))


def _numpy_called_twice(ref: Ref) -> Ref:
    return lambda xs: ref(xs) + ref(xs)


def _twice(op: str, first: bool, alias: bool) -> Build:
    def build(c: TensorCalls, xs: Sequence[Any]) -> Any:
        x, y, z = xs
        call = c.alias if alias else c.binary
        other = call(op, x, z) if first else call(op, z, y)
        return c.binary("add", call(op, x, y), other)

    return build


def _numpy_twice(fn: Callable[[Any, Any], Any], first: bool) -> Ref:
    return lambda xs: fn(xs[0], xs[1]) + (fn(xs[0], xs[2]) if first else fn(xs[2], xs[1]))


def _shared_rows() -> list[_Row]:
    """Nodes used twice, where gradients must add up: a node with itself, a node in two
    products, an intermediate, a node and its reduction, a diamond."""
    rows = []
    rows.append(
        _Row(
            "square_self",
            "composite",
            "x * x (one node, both operands)",
            (Input((3, 4)),),
            lambda c, xs: c.binary("mul", xs[0], xs[0]),
            lambda xs: xs[0] * xs[0],
            ("mul",),
        )
    )
    rows.append(  # a step that sets its first operand's gradient (=) loses one product's
        _Row(
            "two_products",
            "composite",
            "x * y + x * z (x the first operand of two products)",
            (Input((3, 4)), Input((3, 4)), Input((3, 4))),
            lambda c, xs: c.binary(
                "add", c.binary("mul", xs[0], xs[1]), c.binary("mul", xs[0], xs[2])
            ),
            lambda xs: xs[0] * xs[1] + xs[0] * xs[2],
            ("mul", "add"),
        )
    )
    rows += _operand_twice_rows()
    rows += _alongside_rows()
    rows.append(  # needs only the loss's ops, so every engine has a shared intermediate
        _Row(
            "shared_intermediate",
            "composite",
            "a = x * y; a * a (a shared intermediate node)",
            (Input((3, 4)), Input((3, 4))),
            lambda c, xs: _squared(c, c.binary("mul", xs[0], xs[1])),
            lambda xs: (xs[0] * xs[1]) ** 2,
            ("mul",),
        )
    )
    rows.append(  # a walk that meets `a` again through a * a finishes it twice in some orders
        _Row(
            "intermediate_two_ways",
            "composite",
            "a = x * y; a * a + a (a used by the output and by a node the output uses)",
            (Input((3, 4)), Input((3, 4))),
            lambda c, xs: _plus_square(c, c.binary("mul", xs[0], xs[1])),
            lambda xs: (xs[0] * xs[1]) ** 2 + xs[0] * xs[1],
            ("mul", "add"),
        )
    )
    rows.append(
        _Row(
            "shared_reduction",
            "composite",
            "a = x * y; a * a.sum(axis=-1, keepdims=True) (a node and its reduction)",
            (Input((3, 4)), Input((4,))),
            lambda c, xs: _times_total(c, c.binary("mul", xs[0], xs[1])),
            lambda xs: (xs[0] * xs[1]) * (xs[0] * xs[1]).sum(axis=-1, keepdims=True),
            ("mul", "sum"),
        )
    )
    rows.append(
        _Row(
            "diamond",
            "composite",
            "a = x * 2; a.exp() * x + a.tanh() (a shared node)",
            (Input((3, 4)),),
            lambda c, xs: _diamond(c, xs[0]),
            lambda xs: np.exp(xs[0] * 2.0) * xs[0] + np.tanh(xs[0] * 2.0),
            ("mul", "exp", "tanh", "add"),
        )
    )
    return rows


def _squared(c: TensorCalls, a: Any) -> Any:
    return c.binary("mul", a, a)


def _plus_square(c: TensorCalls, a: Any) -> Any:
    return c.binary("add", c.binary("mul", a, a), a)


def _times_total(c: TensorCalls, a: Any) -> Any:
    return c.binary("mul", a, c.reduce("sum", a, -1, True))


def _diamond(c: TensorCalls, x: Any) -> Any:
    a = c.binary("mul", x, 2.0)
    return c.binary("add", c.binary("mul", c.method("exp", a), x), c.method("tanh", a))


def _alias(op: str) -> Build:
    return lambda c, xs: c.alias(op, xs[0], xs[1])


def _alias_rows() -> list[_Row]:
    """`x.add(y)`, `x.matmul(y)`: each alias method on equal shapes and on a broadcast (a batch
    for matmul), as an op of its own."""
    Pairs = tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]
    shapes: dict[str, Pairs] = {
        op: (("same", (2, 3, 4), (2, 3, 4)), ("row", (3, 4), (4,))) for op in _NUMPY_BINARY
    }
    shapes["matmul"] = (("2d", (3, 4), (4, 5)), ("batch_left", (2, 3, 4), (4, 5)))
    numpy: dict[str, Callable[[Any, Any], Any]] = {**_NUMPY_BINARY, "matmul": np.matmul}
    rows = []
    for op, pairs in shapes.items():
        method = f"{op}_method"
        right: Domain = "away" if op == "div" else "any"
        for family, a, b in pairs:
            rows.append(
                _Row(
                    f"{method}_{family}",
                    method,
                    f"x.{op}(y)",
                    (Input(a), Input(b, right)),
                    _alias(op),
                    _numpy2(numpy[op]),
                    (method,),
                    method,
                    optional=True,
                )
            )
    return rows


def _rows() -> list[_Row]:
    return [
        *_binary_rows(),
        *_alias_rows(),
        *_unary_rows(),
        *_reduction_rows(),
        *_matmul_rows(),
        *_shape_rows(),
        *_composite_rows(),
    ]


def _ranks(row: _Row) -> int:
    """The fewest dimensions among the row's inputs and numpy's output."""
    ones = [np.ones(i.shape) for i in row.inputs]
    try:
        out = np.ndim(row.ref(ones))
    except Exception:
        out = 0
    return min([out, *(x.ndim for x in ones)])


def _cost(row: _Row) -> int:
    """Forward passes it makes, weighted by size: cheap cases run first in a campaign."""
    size = sum(int(np.prod(i.shape, dtype=np.int64)) for i in row.inputs)
    return (len(row.requires) + 1) * (12 + size // 8)


Built = tuple[tuple[TensorCase, ...], tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]


def _case(row: _Row, profile: Profile, calls: TensorCalls, op: Op | None) -> TensorCase:
    """The row as the engine's case (`op`: the engine's op the row checks, if one)."""
    return TensorCase(
        name=row.name,
        group=row.group,
        text=row.text,
        inputs=row.inputs,
        build=row.build,
        ref=row.ref,
        requires=frozenset(row.requires),
        calls=calls,
        macheps=profile.precision.macheps,
        grad_is_node=profile.grad_is_node,
        second_order=profile.second_order,
        accumulates=profile.grad_accumulates,
        op=row.op,
        where=profile.place(op) if op is not None else "",
        line=op.line if op is not None else None,
        file=op.file if op is not None else "",
        kind="kink" if row.kink else "tensor",
        kink=row.kink,  # type: ignore[arg-type]
        reduction=row.reduction,
        cost=_cost(row),
        cause=profile.step_cause(op) if op is not None else "",
    )


def _missing(row: _Row, have: set[str]) -> list[str]:
    """The ops the row calls that the engine lacks, its loss's included: every loss is
    sum(out * W)."""
    return sorted({*row.requires, "mul", "sum"} - have)


def _too_few_dimensions(row: _Row, profile: Profile) -> bool:
    """Does the engine keep arrays in more dimensions than the row has (fygrad: 2-D)?"""
    return bool(profile.min_rank) and _ranks(row) < profile.min_rank


def build_tensor_battery(profile: Profile) -> Built:
    """The rows whose ops the engine has, as cases; the rows it lacks ops for, with what they
    lack; and the ops no case calls (the battery's three parts)."""
    calls = TensorCalls(profile)
    have = set(calls.ops)
    ops = {op.name: op for op in profile.ops}
    cases: list[TensorCase] = []
    skipped: list[tuple[str, str]] = []
    for row in _rows():
        missing = _missing(row, have)
        if missing and row.optional and row.op in missing:  # a spelling it does not have
            continue
        if missing:
            broken = [method for method, _ in profile.broken]
            skipped.append((row.name, why_not_run(missing, broken)))
            continue
        if _too_few_dimensions(row, profile):
            skipped.append((row.name, f"the engine keeps arrays in {profile.min_rank}-D at least"))
            continue
        op = ops.get(row.op) if row.op else None
        if row.form is not None and op is not None and (op.parameter or 0.0) != row.form:
            continue  # a row for another standard definition of the op
        cases.append(_case(row, profile, calls, op))
    covered = {c.op for c in cases} | {r for c in cases for r in c.requires}
    unchecked = tuple(
        (op.name, "no case of the battery calls it") for op in profile.ops if op.name not in covered
    )
    return tuple(cases), tuple(skipped), unchecked


def _walk_row() -> _Row:
    """backward()'s walk over a reused node, with add alone, on arrays (traversal.reused_twice):
    a backward() that runs w's step once, after both users gave it their gradients, gives x
    the upstream gradient twice (2W) and y six times (6W); one that runs it once per path, or
    too early, gives x more or less.  Not a battery row: the battery measures the walk itself
    (Profile.backward_reuse); --suggest writes a test at this one."""

    def build(c: TensorCalls, xs: Sequence[Any]) -> Any:
        return reused_twice(lambda a, b: c.binary("add", a, b), *xs)

    def ref(xs: Sequence[Array]) -> Array:
        return np.asarray(reused_twice(np.add, *xs))

    return _Row(
        "backward_walk",
        "graph",
        "w = x + y used twice, by w + y and by ((w + y) + y) + y, the two added",
        (Input((2, 3)), Input((2, 3))),
        build,
        ref,
        ("add",),
    )


def walk_case(profile: Profile) -> TensorCase | None:
    """The case of backward()'s walk over a reused node (_walk_row), where the engine has
    its ops (add, and the loss's mul and sum) and arrays of its rank."""
    calls = TensorCalls(profile)
    row = _walk_row()
    if _missing(row, set(calls.ops)) or _too_few_dimensions(row, profile):
        return None
    return _case(row, profile, calls, None)
