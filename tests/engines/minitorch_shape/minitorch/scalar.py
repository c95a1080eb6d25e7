# mypy: ignore-errors
from dataclasses import dataclass

from .autodiff import backpropagate
from .scalar_functions import Add, Exp, Inv, Log, Mul, Neg, ReLU, Sigmoid

_count = 0


@dataclass
class ScalarHistory:
    last_fn: type | None = None
    ctx: object = None
    inputs: tuple = ()


class Scalar:
    def __init__(self, v, back=None):
        global _count
        _count += 1
        self.unique_id = _count
        self.data = float(v)
        self.history = back if back is not None else ScalarHistory()
        self.derivative = None

    def __add__(self, b):
        return Add.apply(self, b)

    def __radd__(self, b):
        return Add.apply(b, self)

    def __mul__(self, b):
        return Mul.apply(self, b)

    def __rmul__(self, b):
        return Mul.apply(b, self)

    def __neg__(self):
        return Neg.apply(self)

    def __sub__(self, b):
        return Add.apply(self, Neg.apply(b))

    def __truediv__(self, b):
        return Mul.apply(self, Inv.apply(b))

    def __rtruediv__(self, b):
        return Mul.apply(b, Inv.apply(self))

    def __eq__(self, b):  # an op, as MiniTorch's: the class is not hashable
        return Scalar(1.0 if self.data == getattr(b, "data", b) else 0.0)

    def log(self):
        return Log.apply(self)

    def exp(self):
        return Exp.apply(self)

    def sigmoid(self):
        return Sigmoid.apply(self)

    def relu(self):
        return ReLU.apply(self)

    def is_leaf(self):
        return self.history.last_fn is None

    @property
    def parents(self):
        return self.history.inputs

    def accumulate_derivative(self, d):
        assert self.is_leaf(), "only leaves keep a derivative"
        self.derivative = (self.derivative or 0.0) + d

    def chain_rule(self, d_output):
        h = self.history
        return zip(h.inputs, h.last_fn.backward_all(h.ctx, d_output), strict=True)

    def backward(self, d_output=None):
        backpropagate(self, 1.0 if d_output is None else d_output)
