"""A numpy engine whose backward() takes create_graph (DeZero's way): each op's step is written
with the engine's own ops, so backward(create_graph=True) leaves gradients that are nodes of a
graph, and they can be differentiated again.  Gradients are nodes in .grad."""

import numpy as np


def _as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(value)


def _sum_to(g, shape):
    """Sum g down to `shape` (undo broadcasting), as an op of the engine."""
    if g.shape == shape:
        return g
    lead = g.data.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1
    )
    out = Tensor(g.data.sum(axis=axes, keepdims=True).reshape(shape), (g,))
    out._vjp = lambda up: (_broadcast_to(up, g.shape),)
    return out


def _broadcast_to(g, shape):
    if g.shape == shape:
        return g
    out = Tensor(np.broadcast_to(g.data, shape).copy(), (g,))
    out._vjp = lambda up: (_sum_to(up, g.shape),)
    return out


class Tensor:
    def __init__(self, data, _parents=()):
        self.data = np.array(data, dtype=np.float64)
        self.grad = None
        self._parents = _parents
        self._vjp = None  # upstream gradient (a node) -> the parents' contributions (nodes)

    @property
    def shape(self):
        return self.data.shape

    def __add__(self, other):
        other = _as_tensor(other)
        out = Tensor(self.data + other.data, (self, other))
        out._vjp = lambda g: (_sum_to(g, self.shape), _sum_to(g, other.shape))
        return out

    __radd__ = __add__

    def __mul__(self, other):
        other = _as_tensor(other)
        out = Tensor(self.data * other.data, (self, other))
        out._vjp = lambda g: (_sum_to(g * other, self.shape), _sum_to(g * self, other.shape))
        return out

    __rmul__ = __mul__

    def exp(self):
        out = Tensor(np.exp(self.data), (self,))
        out._vjp = lambda g: (g * out,)
        return out

    def sum(self):
        out = Tensor(self.data.sum(), (self,))
        out._vjp = lambda g: (_broadcast_to(g, self.shape),)
        return out

    def backward(self, create_graph=False):
        topo, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node._parents:
                    visit(parent)
                topo.append(node)

        visit(self)
        self.grad = Tensor(np.ones_like(self.data))
        for node in reversed(topo):
            if node._vjp is None or node.grad is None:
                continue
            for parent, g in zip(node._parents, node._vjp(node.grad), strict=True):
                if not create_graph:
                    g = Tensor(g.data)  # the backward's own graph is dropped
                if parent.grad is None:
                    parent.grad = g
                elif create_graph:
                    parent.grad = parent.grad + g
                else:
                    parent.grad = Tensor(parent.grad.data + g.data)
            node.grad = None  # an intermediate's gradient is spent (DeZero's retain_grad=False)
