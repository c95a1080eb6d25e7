"""What minigrad knows about ops, whatever engine implements them.

One row per op: its canonical name, the spellings engines give it, its forward
on plain floats (the oracle a self-consistent wrong forward cannot fool), the
points to check it at, and, for ops with a kink, the set of valid
subgradients there and the usual convention.

Ops an engine defines that are not in this table are still checked: the
adapter searches for points where their forward is finite and smooth, and
gradcheck compares their backward with central differences there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "BINARY_DUNDERS",
    "BINARY_METHODS",
    "FORMS",
    "KNOWN",
    "UNARY_DUNDERS",
    "Kink",
    "Known",
    "canonical",
]

Point = tuple[float, ...]


@dataclass(frozen=True)
class Kink:
    """A point where the op is not differentiable.

    Any slope in [low, high] is a valid subgradient there; `convention` is the
    one PyTorch, JAX and micrograd return.  `low`/`high` may depend on the op's
    parameter (leaky_relu's slope), so they are functions of it.
    """

    at: float
    low: Callable[[float], float]
    high: Callable[[float], float]
    convention: Callable[[float], float]
    convention_text: str


@dataclass(frozen=True)
class Known:
    """An op minigrad has an oracle for."""

    name: str
    forward: Callable[[float, float], float]  # (x, parameter) -> value
    points: tuple[Point, ...]
    kink: Kink | None = None
    parameter: float = 0.0  # default for ops with one numeric parameter


def _sigmoid(x: float) -> float:
    # The two branches keep exp() from overflowing for large |x|.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _relu(x: float, _: float = 0.0) -> float:
    # max(x, 0.0) would return -0.0 for x = -0.0; the oracle compares values, not signs.
    return x if x > 0.0 else 0.0


def _leaky_relu(x: float, slope: float) -> float:
    return x if x > 0.0 else slope * x


def _elu(x: float, alpha: float) -> float:
    return x if x > 0.0 else alpha * math.expm1(x)


def _gelu_tanh(x: float) -> float:
    return 0.5 * x * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def _gelu_erf(x: float) -> float:
    return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))


def _gelu(x: float, form: float) -> float:
    return _gelu_erf(x) if form else _gelu_tanh(x)


def _unary(fn: Callable[[float], float]) -> Callable[[float, float], float]:
    return lambda x, _: fn(x)


_SMOOTH = ((0.5,), (-1.2,), (2.0,))
_POSITIVE = ((0.5,), (2.5,))

_RELU_KINK = Kink(0.0, lambda _: 0.0, lambda _: 1.0, lambda _: 0.0, "relu'(0) = 0")
_ABS_KINK = Kink(0.0, lambda _: -1.0, lambda _: 1.0, lambda _: 0.0, "abs'(0) = 0")
_LEAKY_KINK = Kink(
    0.0,
    lambda s: min(s, 1.0),
    lambda s: max(s, 1.0),
    lambda s: s,
    "leaky_relu'(0) = the negative slope",
)

KNOWN: dict[str, Known] = {
    k.name: k
    for k in (
        Known("relu", _relu, ((1.5,), (-0.8,), (0.4,)), _RELU_KINK),
        Known("leaky_relu", _leaky_relu, ((1.5,), (-0.8,), (0.4,)), _LEAKY_KINK, 0.01),
        Known("elu", _elu, ((1.5,), (-0.8,), (0.4,)), None, 1.0),
        Known("abs", _unary(abs), ((1.5,), (-0.8,), (0.4,), (-0.3,)), _ABS_KINK),
        Known("tanh", _unary(math.tanh), _SMOOTH),
        Known("exp", _unary(math.exp), ((0.5,), (-1.3,), (2.0,))),
        Known("log", _unary(math.log), _POSITIVE),
        Known("log2", _unary(math.log2), _POSITIVE),
        Known("log10", _unary(math.log10), _POSITIVE),
        Known("sqrt", _unary(math.sqrt), _POSITIVE),
        Known("sigmoid", _unary(_sigmoid), _SMOOTH),
        Known("softplus", _unary(lambda x: math.log1p(math.exp(-abs(x))) + max(x, 0.0)), _SMOOTH),
        Known("softsign", _unary(lambda x: x / (1.0 + abs(x))), ((0.5,), (-1.2,))),
        Known("silu", _unary(lambda x: x * _sigmoid(x)), _SMOOTH),
        Known("gelu", _gelu, _SMOOTH),  # parameter: which form (FORMS)
        Known("sin", _unary(math.sin), _SMOOTH),
        Known("cos", _unary(math.cos), _SMOOTH),
        Known("tan", _unary(math.tan), ((0.3,), (-0.9,), (1.2,))),
        Known("atan", _unary(math.atan), _SMOOTH),
        Known("sinh", _unary(math.sinh), _SMOOTH),
        Known("cosh", _unary(math.cosh), _SMOOTH),
        Known("square", _unary(lambda x: x * x), _SMOOTH),
        Known("reciprocal", _unary(lambda x: 1.0 / x), ((0.7,), (-2.0,))),
    )
}

# Ops with more than one standard definition, each named, selected by the op's parameter
# (0, 1, ...): discovery measures which one the engine computes, and the oracle follows it.
FORMS: Mapping[str, tuple[str, ...]] = {
    "gelu": (
        "the tanh approximation, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
        "the exact form, 0.5 x (1 + erf(x / sqrt(2)))",
    ),
}

# Spellings engines use, after stripping underscores and lower-casing.
_ALIASES = {
    "ln": "log",
    "logarithm": "log",
    "exponential": "exp",
    "expo": "exp",
    "leakyrelu": "leaky_relu",
    "lrelu": "leaky_relu",
    "sigm": "sigmoid",
    "logistic": "sigmoid",
    "swish": "silu",
    "inv": "reciprocal",
    "recip": "reciprocal",
    "inverse": "reciprocal",
    "sq": "square",
    "arctan": "atan",
}


def canonical(method: str) -> str | None:
    """The known op a method name spells (`reLU` -> relu, `ln` -> log), or None."""
    key = method.strip("_").lower()
    key = _ALIASES.get(key, key)
    return key if key in KNOWN else None


# Arithmetic dunders: method -> (op name, operator symbol).  `pow` is the
# number exponent; a Value exponent is the op `vpow`, through the same method.
BINARY_DUNDERS: dict[str, tuple[str, str]] = {
    "__add__": ("add", "+"),
    "__sub__": ("sub", "-"),
    "__mul__": ("mul", "*"),
    "__truediv__": ("div", "/"),
    "__pow__": ("pow", "**"),
    "__matmul__": ("matmul", "@"),
    "__floordiv__": ("floordiv", "//"),
    "__mod__": ("mod", "%"),
}
# Methods that spell a binary op beside its operator (`x.add(y)` beside `x + y`): each is
# checked as an op of its own (`add_method`), unless it is the operator's own function.
BINARY_METHODS: dict[str, str] = {
    "add": "add",
    "sub": "sub",
    "subtract": "sub",
    "mul": "mul",
    "multiply": "mul",
    "div": "div",
    "divide": "div",
    "truediv": "div",
    "matmul": "matmul",
    "mm": "matmul",
}

# Reflected forms: a number on the left, `2.0 - x`.
REFLECTED_DUNDERS: dict[str, tuple[str, str]] = {
    "__radd__": ("radd", "+"),
    "__rsub__": ("rsub", "-"),
    "__rmul__": ("rmul", "*"),
    "__rtruediv__": ("rdiv", "/"),
    "__rpow__": ("rpow", "**"),
}
UNARY_DUNDERS: dict[str, tuple[str, str]] = {
    "__neg__": ("neg", "-"),
    "__pos__": ("pos", "+"),
    "__abs__": ("abs", "abs"),
}


def op_name(method: str) -> str:
    """The op a method makes: `__add__` -> add, `__rtruediv__` -> rdiv, `reLU` -> relu; the
    op a function of the engine's module makes: `engine.tanh` -> tanh."""
    method = method.rpartition(".")[2]
    for table in (BINARY_DUNDERS, REFLECTED_DUNDERS, UNARY_DUNDERS):
        if method in table:
            return table[method][0]
    return canonical(method) or method


def why_not_run(missing: Iterable[str], broken: Iterable[str]) -> str:
    """Why a case cannot run: ops the engine lacks, and ops whose call crashed in the engine's
    code (`broken` methods), which are failures of their own (`relu_runs`)."""
    crashed = {op_name(method): method for method in broken}
    lacking = [name for name in missing if name not in crashed]
    failing = [name for name in missing if name in crashed]
    parts = [f"engine lacks {', '.join(lacking)}"] if lacking else []
    if failing:
        runs = ", ".join(f"{crashed[name]}_runs" for name in failing)
        parts.append(f"{', '.join(failing)} crashed in the engine's code (see {runs})")
    return "; ".join(parts)


# The forward of every arithmetic op on plain floats.
ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "vpow": lambda a, b: a**b,
    "neg": lambda a, _: -a,
    "pos": lambda a, _: +a,
    "abs": lambda a, _: abs(a),
}
# Where arithmetic ops are checked: operand pairs away from zero denominators,
# positive bases wherever an exponent may be fractional.
PAIRS: tuple[Point, ...] = ((1.5, -2.0), (-0.7, 0.3), (2.0, 5.0))
POSITIVE_PAIRS: tuple[Point, ...] = ((1.5, 2.0), (0.7, -1.3), (2.0, 0.5))
EXPONENTS: tuple[float, ...] = (2, 3, 0.5, -1, -2, 1.5, -0.5)
