"""An engine in the shape of Cornell's MiniTorch (module 1), written for minigrad's tests:
a `Scalar` keeps its gradient in `.derivative` (None until a backward reaches it, and only
leaves get one), its history holds the function that made it and its inputs, each op is a
`ScalarFunction` class whose static `forward` and `backward` take a context, and
`backpropagate` walks a topological order with a dict of derivatives by node id.  Its ops
are right; its log adds 1e-6 inside, as MiniTorch's does, to stay finite at 0."""

from .scalar import Scalar, ScalarHistory
from .scalar_functions import ScalarFunction

__all__ = ["Scalar", "ScalarFunction", "ScalarHistory"]
