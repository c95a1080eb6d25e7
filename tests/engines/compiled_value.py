"""An engine whose node class is compiled code, as a C extension's (pybind11's) looks from
Python: its ops are `instancemethod` descriptors, not Python functions; no line of this file
runs when they do; its nodes show neither children nor steps (a C struct's fields are not
attributes).  nanograd-bgriebel 0.1.4 on the registry is such an engine, in Rust.

The "native" code below is compiled under a file name of its own, so the tracer that
watches this file sees none of it run, as with a shared library.  `backwards()` is the
backward pass, as nanograd-bgriebel spells it.
"""

_NATIVE = """
import math
import types


class instancemethod:  # how pybind11's methods look on their class: not Python functions
    def __init__(self, function):
        self._function = function

    def __get__(self, node, owner=None):
        return self if node is None else types.MethodType(self._function, node)

    def __call__(self, *args):
        return self._function(*args)


_GRAPH = {}  # id(node) -> (node, children, step): the struct's hidden fields


def _node(data, children=(), step=None):
    out = Value(data)
    _GRAPH[id(out)] = (out, children, step)
    return out


def _value(x):
    return x if isinstance(x, Value) else Value(float(x))


def _add(self, other):
    other = _value(other)
    out = _node(self.data + other.data, (self, other))

    def step():
        self.grad += out.grad
        other.grad += out.grad

    _GRAPH[id(out)] = (out, (self, other), step)
    return out


def _mul(self, other):
    other = _value(other)
    out = _node(self.data * other.data, (self, other))

    def step():
        self.grad += other.data * out.grad
        other.grad += self.data * out.grad

    _GRAPH[id(out)] = (out, (self, other), step)
    return out


def _pow(self, exponent):
    if isinstance(exponent, Value):
        raise TypeError("__pow__(): incompatible function arguments")
    out = _node(self.data ** exponent, (self,))

    def step():
        self.grad += exponent * self.data ** (exponent - 1) * out.grad

    _GRAPH[id(out)] = (out, (self,), step)
    return out


def _tanh(self):
    t = math.tanh(self.data)
    out = _node(t, (self,))

    def step():
        self.grad += (1 - t * t) * out.grad

    _GRAPH[id(out)] = (out, (self,), step)
    return out


def _backwards(self):
    order, seen = [], set()
    stack = [(self, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for child in _GRAPH.get(id(node), (None, (), None))[1]:
            stack.append((child, False))
    self.grad = 1.0
    for node in reversed(order):
        step = _GRAPH.get(id(node), (None, (), None))[2]
        if step is not None:
            step()


class Value:
    __slots__ = ("data", "grad")

    def __init__(self, data):
        self.data = float(data)
        self.grad = 0.0

    def __repr__(self):
        return f"Value(data={self.data:f}, grad={self.grad:f})"

    __add__ = instancemethod(_add)
    __radd__ = instancemethod(_add)
    __mul__ = instancemethod(_mul)
    __rmul__ = instancemethod(_mul)
    __pow__ = instancemethod(_pow)
    __neg__ = instancemethod(lambda self: _mul(self, -1.0))
    __sub__ = instancemethod(lambda self, other: _add(self, _mul(_value(other), -1.0)))
    __truediv__ = instancemethod(lambda self, other: _mul(self, _pow(_value(other), -1.0)))
    tanh = instancemethod(_tanh)
    backwards = instancemethod(_backwards)
"""

exec(compile(_NATIVE, "<native extension>", "exec"), globals())
