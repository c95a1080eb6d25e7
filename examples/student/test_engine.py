"""The student's gradient tests, as first written: each op alone, against finite differences.

They pass, and they look thorough.  `minigrad mutate --tests` shows what they
miss: an op's output reused (so `=` for `+=` goes unseen), an upstream
gradient other than 1 (so a dropped `* out.grad` goes unseen), the gradient
of a product's second operand, and `backward()` on anything but a leaf's op.
"""

from engine import Value


def numeric(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


def check(op, x):
    v = Value(x)
    out = op(v)
    out.backward()
    expected = numeric(lambda t: op(Value(t)).data, x)
    assert abs(v.grad - expected) < 1e-4


def test_add():
    check(lambda v: v + 2.0, 1.5)


def test_sub():
    check(lambda v: v - 2.0, 1.5)


def test_mul():
    check(lambda v: v * 3.0, 1.5)


def test_pow():
    check(lambda v: v**3, 1.5)


def test_div():
    check(lambda v: v / 4.0, 1.5)


def test_tanh():
    check(lambda v: v.tanh(), 0.5)


def test_exp():
    check(lambda v: v.exp(), 0.5)


def test_relu():
    check(lambda v: v.relu(), 1.5)
