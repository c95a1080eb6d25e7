"""A tensor engine shaped like clumsygrad: a leaf takes part in backward only when made with
`tensor_type=TensorType.PARAMETER` (an enum switch, not a bool), each node keeps a module
function of grad.py as its step, which returns the gradients (`add_backward(tensor, grad)`),
and sum and exp are functions of math.py."""

from .tensor import Tensor, TensorType

__all__ = ["Tensor", "TensorType"]
