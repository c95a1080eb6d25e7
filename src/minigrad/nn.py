"""Neuron, Layer and MLP with micrograd's API, built on :class:`minigrad.engine.Value`."""

from __future__ import annotations

import random
from collections.abc import Sequence

from minigrad.engine import Value

__all__ = ["MLP", "Layer", "Module", "Neuron"]

Scalar = Value | float


class Module:
    """Anything with parameters: they can be listed and their gradients zeroed."""

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        return []


class Neuron(Module):
    """act = sum_i w_i * x_i + b, then ReLU unless `nonlin` is False."""

    def __init__(self, nin: int, nonlin: bool = True, *, rng: random.Random | None = None) -> None:
        if nin < 1:
            raise ValueError(f"a Neuron needs at least one input, got nin={nin}")
        uniform = (rng or random).uniform
        self.w = [Value(uniform(-1.0, 1.0)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Scalar]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"this Neuron takes {len(self.w)} inputs, got {len(x)}")
        act = self.b
        for wi, xi in zip(self.w, x, strict=True):
            act = act + wi * xi
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """`nout` neurons reading the same inputs."""

    def __init__(
        self, nin: int, nout: int, nonlin: bool = True, *, rng: random.Random | None = None
    ) -> None:
        self.neurons = [Neuron(nin, nonlin, rng=rng) for _ in range(nout)]

    def __call__(self, x: Sequence[Scalar]) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multi-layer perceptron: ReLU hidden layers and a linear output layer."""

    def __init__(self, nin: int, nouts: Sequence[int], *, rng: random.Random | None = None) -> None:
        if not nouts:
            raise ValueError("an MLP needs at least one layer in nouts")
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], nonlin=i != last, rng=rng) for i in range(len(nouts))
        ]

    def __call__(self, x: Sequence[Scalar]) -> Value | list[Value]:
        out = self.layers[0](x)
        for layer in self.layers[1:]:
            out = layer([out] if isinstance(out, Value) else out)
        return out

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
