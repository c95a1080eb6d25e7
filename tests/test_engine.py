"""The engine: forward values, gradients, reflected forms, domain errors, deep graphs."""

from __future__ import annotations

import gc
import math
import operator
from collections.abc import Callable
from typing import Any

import pytest

from minigrad.engine import Value


def grads(f: Callable[..., Value], *xs: float) -> tuple[float, list[float]]:
    vs = [Value(x) for x in xs]
    out = f(*vs)
    out.backward()
    return out.data, [v.grad for v in vs]


class TestOps:
    @pytest.mark.parametrize(
        ("f", "xs", "value", "expected"),
        [
            (operator.add, (1.5, -2.0), -0.5, [1.0, 1.0]),
            (operator.sub, (1.5, -2.0), 3.5, [1.0, -1.0]),
            (operator.mul, (1.5, -2.0), -3.0, [-2.0, 1.5]),
            (operator.truediv, (3.0, -2.0), -1.5, [-0.5, -0.75]),
            (lambda a: a**3, (2.0,), 8.0, [12.0]),
            (lambda a: a**-1, (2.0,), 0.5, [-0.25]),
            (lambda a: a**0.5, (4.0,), 2.0, [0.25]),
            (operator.neg, (1.5,), -1.5, [-1.0]),
            (lambda a: a.relu(), (1.5,), 1.5, [1.0]),
            (lambda a: a.relu(), (-1.5,), 0.0, [0.0]),
            (lambda a: a.relu(), (0.0,), 0.0, [0.0]),
            (lambda a: a.tanh(), (0.5,), math.tanh(0.5), [1 - math.tanh(0.5) ** 2]),
            (lambda a: a.exp(), (0.5,), math.exp(0.5), [math.exp(0.5)]),
            (lambda a: a.log(), (4.0,), math.log(4.0), [0.25]),
        ],
    )
    def test_value_and_gradient(
        self, f: Callable[..., Value], xs: tuple[float, ...], value: float, expected: list[float]
    ) -> None:
        """Each op's forward value and gradient match the closed form."""
        got, gs = grads(f, *xs)
        assert got == pytest.approx(value)
        assert gs == pytest.approx(expected)

    @pytest.mark.parametrize(
        ("f", "value", "grad"),
        [
            (lambda a: 2.0 + a, 5.0, 1.0),
            (lambda a: a + 2, 5.0, 1.0),
            (lambda a: 2.0 - a, -1.0, -1.0),
            (lambda a: a - 2, 1.0, 1.0),
            (lambda a: 2.0 * a, 6.0, 2.0),
            (lambda a: a * 2, 6.0, 2.0),
            (lambda a: 6.0 / a, 2.0, -6.0 / 9.0),
            (lambda a: a / 2, 1.5, 0.5),
        ],
    )
    def test_reflected_and_number_operands(
        self, f: Callable[[Value], Value], value: float, grad: float
    ) -> None:
        """A number on either side works, and the gradient reaches the Value."""
        got, (g,) = grads(f, 3.0)
        assert got == pytest.approx(value)
        assert g == pytest.approx(grad)

    def test_children_in_operand_order(self) -> None:
        """_prev is a tuple in operand order, so backward order is deterministic."""
        a, b = Value(1.0), Value(2.0)
        assert (a - b)._prev == (a, b)
        assert (b / a)._prev == (b, a)
        square = a**2
        assert square._prev[0] is a
        assert square._prev[1].data == 2.0  # the exponent, a constant leaf
        assert isinstance((a + b)._prev, tuple)

    def test_labels_and_repr(self) -> None:
        """The op label and repr are for display."""
        a = Value(2.0)
        assert (a**3)._op == "**3"
        assert repr(a) == "Value(data=2.0, grad=0.0)"


class TestAccumulation:
    def test_reused_node_gets_both_contributions(self) -> None:
        """x * x + x: d/dx = 2x + 1."""
        _, (g,) = grads(lambda x: x * x + x, 3.0)
        assert g == 7.0

    def test_backward_accumulates_onto_existing_grads(self) -> None:
        """Like micrograd, backward() adds to leaves' grads; zero_grad() clears the graph."""
        a = Value(2.0)
        out = a * 3.0
        out.backward()
        out.backward()
        assert a.grad == 6.0
        out.zero_grad()
        assert (a.grad, out.grad) == (0.0, 0.0)
        out.backward()
        assert a.grad == 3.0

    @pytest.mark.slow
    def test_million_node_chain(self) -> None:
        """backward() on a 1,000,000-node chain needs no recursion."""
        a, one = Value(1.0), Value(1.0)
        y = a
        gc.disable()  # the cyclic collector rescans the growing heap; it is not under test
        try:
            for _ in range(1_000_000):
                y = y + one
            y.backward()
        finally:
            gc.enable()
        assert (a.grad, one.grad) == (1.0, 1_000_000.0)
        assert y.data == 1_000_001.0


class TestDomainErrors:
    @pytest.mark.parametrize(
        ("f", "exc", "message"),
        [
            (lambda: Value(0.0).log(), ValueError, r"log of non-positive value 0\.0"),
            (lambda: Value(-2.0).log(), ValueError, r"log of non-positive value -2\.0"),
            (lambda: Value(1.0) / Value(0.0), ZeroDivisionError, r"division by zero: 1\.0 / 0\.0"),
            (lambda: Value(1.0) / 0, ZeroDivisionError, "division by zero"),
            (lambda: 1.0 / Value(0.0), ZeroDivisionError, "division by zero"),
            (
                lambda: Value(-8.0) ** 0.5,
                ValueError,
                r"negative base -8\.0 with non-integer exponent 0\.5",
            ),
            (lambda: Value(0.0) ** -1, ZeroDivisionError, r"^0\.0 \*\* -1: at a zero base"),
            (
                lambda: Value(0.0) ** 0.5,
                ZeroDivisionError,
                r"0\.0 \*\* 0\.5: .* or its derivative infinite",
            ),
            (lambda: Value(710.0).exp(), OverflowError, r"exp\(710\.0\) overflows"),
            (lambda: Value(1e200) ** 2, OverflowError, r"1e\+200 \*\* 2 overflows a float"),
        ],
    )
    def test_raises_naming_the_value(
        self, f: Callable[[], Any], exc: type[Exception], message: str
    ) -> None:
        """Domain errors raise a clear exception that names the offending value."""
        with pytest.raises(exc, match=message):
            f()

    def test_boundaries_are_fine(self) -> None:
        """Just inside each domain there is no error, and the values are right."""
        assert (Value(-8.0) ** 2).data == 64.0
        assert (Value(0.0) ** 2).data == 0.0
        assert Value(709.0).exp().data == math.exp(709.0)
        assert Value(1e-300).log().data == math.log(1e-300)

    @pytest.mark.parametrize(
        "f",
        [
            lambda v: v + "a",
            lambda v: "a" + v,
            lambda v: v - None,
            lambda v: [] - v,
            lambda v: v * "a",
            lambda v: v / "a",
            lambda v: "a" / v,
            lambda v: v ** "a",
            lambda v: "a" ** v,
        ],
    )
    def test_non_number_operand_is_type_error(self, f: Callable[[Value], Any]) -> None:
        """A non-number operand gives Python's TypeError through NotImplemented."""
        with pytest.raises(TypeError):
            f(Value(2.0))

    @pytest.mark.parametrize("bad", ["1.0", None, [1.0], Value(1.0)])
    def test_constructor_rejects_non_numbers(self, bad: Any) -> None:
        """Value() takes an int or a float and says what it got otherwise."""
        with pytest.raises(TypeError, match="Value\\(\\) needs an int or float, got"):
            Value(bad)


class TestDetails:
    @pytest.mark.parametrize(
        ("f", "label"),
        [
            (operator.add, "+"),
            (operator.sub, "-"),
            (operator.mul, "*"),
            (operator.truediv, "/"),
            (lambda a, b: a**3, "**3"),
            (lambda a, b: a**-0.5, "**-0.5"),
            (lambda a, b: -a, "neg"),
            (lambda a, b: a.relu(), "ReLU"),
            (lambda a, b: a.tanh(), "tanh"),
            (lambda a, b: a.exp(), "exp"),
            (lambda a, b: a.log(), "log"),
            (lambda a, b: 2.0**a, "rpow"),
            (lambda a, b: a**b, "**"),
        ],
    )
    def test_op_labels(self, f: Callable[[Value, Value], Value], label: str) -> None:
        """Each op labels its node as micrograd does (graph drawings read `_op`)."""
        assert f(Value(2.0), Value(3.0))._op == label

    def test_leaf_has_empty_label_and_no_children(self) -> None:
        """A leaf has no label, no children, a zero gradient and a no-op backward."""
        leaf = Value(3)
        assert (leaf._op, leaf._prev, leaf.grad, leaf.data) == ("", (), 0.0, 3.0)
        assert isinstance(leaf.data, float)
        leaf._backward()
        assert leaf.grad == 0.0

    def test_constructor_message_names_type_and_value(self) -> None:
        """The TypeError says which type and value it got."""
        with pytest.raises(TypeError, match=r"^Value\(\) needs an int or float, got str: '1\.0'$"):
            Value("1.0")  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("base", "exponent", "value", "grad"),
        [
            (0.0, 0, 1.0, 0.0),
            (3.0, 0.0, 1.0, 0.0),
            (0.0, 1, 0.0, 1.0),
            (0.0, 2, 0.0, 0.0),
            (0.0, 1.5, 0.0, 0.0),
            (-2.0, 2.0, 4.0, -4.0),
            (-2.0, 3, -8.0, 12.0),
        ],
    )
    def test_pow_edges(self, base: float, exponent: float, value: float, grad: float) -> None:
        """Zero bases with non-negative exponents and negative bases with integer ones are fine."""
        got, (g,) = grads(lambda a: a**exponent, base)
        assert (got, g) == (value, grad)

    def test_pow_rejects_strings_before_domain_checks(self) -> None:
        """A string exponent is a TypeError even on a negative base."""
        with pytest.raises(TypeError):
            Value(-2.0) ** "a"  # type: ignore[operator]

    def test_relu_of_negative_zero_is_positive_zero(self) -> None:
        """relu(-0.0) is +0.0 (max(x, 0.0) would keep the minus)."""
        assert math.copysign(1.0, Value(-0.0).relu().data) == 1.0

    def test_int_data_becomes_float(self) -> None:
        """An int is stored as a float, so every node's data has one type."""
        assert type(Value(2).data) is float
        assert type((Value(2) + 1).data) is float


class TestMicrogradContract:
    """Ops added micrograd's way: a zero-argument closure assigned to `out._backward`."""

    def test_new_op_with_a_closure(self) -> None:
        """A closure op takes part in backward() like a built-in op, reuse included."""

        def cube(self: Value) -> Value:
            out = Value(self.data**3, (self,), "cube")

            def _backward() -> None:
                self.grad += 3 * self.data**2 * out.grad

            out._backward = _backward
            return out

        x = Value(2.0)
        y = cube(x) * x + x
        y.backward()
        assert x.grad == 3 * 4.0 * 2.0 + 8.0 + 1.0

    def test_backward_step_is_callable_without_arguments(self) -> None:
        """`node._backward()` runs the node's step, as in micrograd."""
        a, b = Value(2.0), Value(3.0)
        out = a * b
        out.grad = 1.0
        out._backward()
        assert (a.grad, b.grad) == (3.0, 2.0)


class TestPowers:
    def test_number_to_a_value(self) -> None:
        """2 ** x: d/dx = 2**x log 2."""
        value, (g,) = grads(lambda x: 2**x, 3.0)
        assert value == 8.0
        assert g == pytest.approx(8.0 * math.log(2.0))

    def test_value_to_a_value(self) -> None:
        """a ** b: d/da = b a**(b-1), d/db = a**b log a."""
        value, (ga, gb) = grads(lambda a, b: a**b, 2.0, 3.0)
        assert value == 8.0
        assert (ga, gb) == pytest.approx([12.0, 8.0 * math.log(2.0)])

    @pytest.mark.parametrize(
        ("f", "message"),
        [
            (lambda: 0 ** Value(2.0), r"^0 \*\* Value: the base must be positive"),
            (lambda: (-2.0) ** Value(2.0), "the base must be positive"),
            (lambda: Value(-2.0) ** Value(2.0), r"^-2\.0 \*\* Value: a Value exponent needs"),
        ],
    )
    def test_bad_bases(self, f: Callable[[], Any], message: str) -> None:
        """A base whose logarithm is not real is a ValueError that says so."""
        with pytest.raises(ValueError, match=message):
            f()

    def test_overflow_is_said(self) -> None:
        """An overflowing power names the base and exponent."""
        with pytest.raises(OverflowError, match=r"10\.0 \*\* 400\.0 overflows"):
            10.0 ** Value(400.0)

    def test_tiny_divisor_does_not_underflow(self) -> None:
        """1 / x at x = 1e-200: the gradient -1/x**2 overflows to -inf, it does not divide by 0."""
        x = Value(1e-200)
        (1.0 / x).backward()
        assert x.grad == -math.inf


class TestPowerDomains:
    @pytest.mark.parametrize(
        ("f", "message"),
        [
            (
                lambda: Value(0.0) ** Value(2.0),
                "0.0 ** Value: a Value exponent needs a positive base "
                "(its gradient is base**exponent * log(base))",
            ),
            (
                lambda: 0 ** Value(2.0),
                "0 ** Value: the base must be positive (the gradient is base**x * log(base))",
            ),
        ],
    )
    def test_whole_messages(self, f: Callable[[], Any], message: str) -> None:
        """A zero base is refused at the forward, with the whole reason."""
        with pytest.raises(ValueError) as info:
            f()
        assert str(info.value) == message

    def test_bases_below_one_are_fine(self) -> None:
        """Bases in (0, 1) are valid for both Value exponents and number bases."""
        value, (ga, gb) = grads(lambda a, b: a**b, 0.5, 2.0)
        assert (value, ga) == (0.25, 1.0)
        assert gb == pytest.approx(0.25 * math.log(0.5))
        value, (g,) = grads(lambda x: 0.5**x, 2.0)
        assert value == 0.25 and g == pytest.approx(0.25 * math.log(0.5))
