"""Style: local derivatives set on the output node after it is made, in a dict
(`out.grad_wrt[self] = other.value`: ten files a code search of GitHub finds), applied by one
generic backward; numbers in `.value`.  Keyed by node, `x - x` has one key for its two
parents (a bug those files share); this one keys them by position, and is correct."""

import math


class Scalar:
    def __init__(self, value, parents=(), op=""):
        self.value = value
        self.parents = list(parents)
        self.op = op
        self.grad = 0
        self.grad_wrt = {}

    @staticmethod
    def _of(other):
        return other if isinstance(other, Scalar) else Scalar(other)

    def __add__(self, other):
        other = self._of(other)
        out = Scalar(self.value + other.value, (self, other), "+")
        out.grad_wrt[0] = 1
        out.grad_wrt[1] = 1
        return out

    def __mul__(self, other):
        other = self._of(other)
        out = Scalar(self.value * other.value, (self, other), "*")
        out.grad_wrt[0] = other.value
        out.grad_wrt[1] = self.value
        return out

    def __truediv__(self, other):
        other = self._of(other)
        out = Scalar(self.value / other.value, (self, other), "/")
        out.grad_wrt[0] = 1 / other.value
        out.grad_wrt[1] = -self.value / other.value**2
        return out

    def __pow__(self, k):
        out = Scalar(self.value**k, (self,), f"**{k}")
        out.grad_wrt[0] = k * self.value ** (k - 1)
        return out

    def exp(self):
        e = math.exp(self.value)
        out = Scalar(e, (self,), "exp")
        out.grad_wrt[0] = e
        return out

    def tanh(self):
        t = math.tanh(self.value)
        out = Scalar(t, (self,), "tanh")
        out.grad_wrt[0] = 1 - t**2
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-self._of(other))

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def backward(self):
        order, seen = [], set()

        def visit(node):
            if node not in seen:
                seen.add(node)
                for parent in node.parents:
                    visit(parent)
                order.append(node)

        visit(self)
        self.grad = 1
        for node in reversed(order):
            for i, parent in enumerate(node.parents):
                parent.grad += node.grad * node.grad_wrt[i]
