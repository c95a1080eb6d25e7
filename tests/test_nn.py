"""Neuron, Layer, MLP: micrograd's API, and a network that learns."""

from __future__ import annotations

import random

import pytest

from minigrad.engine import Value
from minigrad.nn import MLP, Layer, Module, Neuron


class TestShapes:
    def test_parameter_counts(self) -> None:
        """An MLP(3, [4, 4, 1]) has (3+1)*4 + (4+1)*4 + (4+1)*1 parameters."""
        model = MLP(3, [4, 4, 1], rng=random.Random(0))
        assert len(model.parameters()) == 16 + 20 + 5
        assert len(Layer(2, 3).parameters()) == 9
        assert len(Neuron(5).parameters()) == 6
        assert Module().parameters() == []

    def test_outputs(self) -> None:
        """A one-neuron last layer returns a Value; a wider one returns a list."""
        assert isinstance(MLP(2, [3, 1])([1.0, -1.0]), Value)
        out = MLP(2, [3, 2])([1.0, -1.0])
        assert isinstance(out, list)
        assert len(out) == 2

    def test_nonlinearity(self) -> None:
        """Hidden layers are ReLU, the last layer is linear."""
        model = MLP(2, [3, 1])
        assert [n.nonlin for layer in model.layers for n in layer.neurons] == [True] * 3 + [False]
        assert repr(Neuron(2)) == "ReLUNeuron(2)"
        assert repr(Neuron(2, nonlin=False)) == "LinearNeuron(2)"
        assert repr(Layer(1, 1)) == "Layer of [ReLUNeuron(1)]"
        assert repr(MLP(1, [1])) == "MLP of [Layer of [LinearNeuron(1)]]"

    def test_neuron_computes_relu_of_affine(self) -> None:
        """A neuron is relu(w . x + b)."""
        n = Neuron(2)
        n.w[0].data, n.w[1].data, n.b.data = 2.0, -1.0, 0.5
        assert n([1.0, 3.0]).data == 0.0
        assert n([3.0, 1.0]).data == 5.5

    def test_bad_sizes(self) -> None:
        """Wrong input widths and empty layers are clear errors."""
        with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
            Neuron(2)([1.0, 2.0, 3.0])
        with pytest.raises(ValueError, match="at least one input"):
            Neuron(0)
        with pytest.raises(ValueError, match="at least one layer"):
            MLP(2, [])

    def test_seeded_init_is_reproducible(self) -> None:
        """The same rng seed gives the same weights."""
        a = [p.data for p in MLP(2, [4, 1], rng=random.Random(3)).parameters()]
        b = [p.data for p in MLP(2, [4, 1], rng=random.Random(3)).parameters()]
        c = [p.data for p in MLP(2, [4, 1], rng=random.Random(4)).parameters()]
        assert a == b and len(a) == 17
        assert a != c  # the seed is used: another seed, other weights


@pytest.mark.slow
def test_mlp_learns_xor_like_data() -> None:
    """Gradient descent on a seeded toy set cuts the loss at least tenfold; zero_grad resets."""
    model = MLP(2, [8, 1], rng=random.Random(1))
    data = [([-1.0, -1.0], -1.0), ([-1.0, 1.0], 1.0), ([1.0, -1.0], 1.0), ([1.0, 1.0], -1.0)]
    losses = []
    for _ in range(150):
        loss = Value(0.0)
        for x, y in data:
            pred = model(x)
            assert isinstance(pred, Value)
            loss = loss + (pred - y) ** 2
        model.zero_grad()
        assert all(p.grad == 0.0 for p in model.parameters())
        loss.backward()
        for p in model.parameters():
            p.data -= 0.02 * p.grad
        losses.append(loss.data)
    assert losses[-1] <= losses[0] / 10.0
