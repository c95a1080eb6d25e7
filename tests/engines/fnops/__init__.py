"""A numpy tensor engine whose ops beyond the operators are module functions
(`F.sum(x)`, `F.exp(x)`), as in clumsygrad and MiniTorch: the class has no sum() method."""

from .tensor import Tensor

__all__ = ["Tensor"]
