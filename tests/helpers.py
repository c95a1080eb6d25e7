"""Hand-broken engines shared by the tests: each proves a checker *can* fail."""

from __future__ import annotations

from minigrad.engine import Value


class KinkOne(Value):
    """relu passes the gradient at its kink (x = 0): wrong only exactly there."""

    __slots__ = ()

    def relu(self) -> Value:
        out = Value(max(self.data, 0.0), (self,), "ReLU")

        def _backward(_: Value) -> None:
            self.grad += (out.data >= 0.0) * out.grad

        out._backward = _backward
        return out
