import numpy as np

from .tensor import Tensor


class Function:
    def __init__(self, *tensors):
        self.saved_tensors = tensors


class AddBackward(Function):
    def apply(self, grad_output):
        return grad_output, grad_output


class MulBackward(Function):
    def apply(self, grad_output):
        a, b = self.saved_tensors
        return grad_output * b.data, grad_output * a.data


class SubBackward(Function):
    def apply(self, grad_output):
        return grad_output, -grad_output


class SumBackward(Function):
    def __init__(self, tensor, axis, keepdims):
        super().__init__(tensor)
        self.axis, self.keepdims = axis, keepdims

    def apply(self, grad_output):
        (tensor,) = self.saved_tensors
        if self.axis is not None and not self.keepdims:
            grad_output = np.expand_dims(grad_output, self.axis)
        return (np.ones_like(tensor.data) * grad_output,)


def enable_autograd():
    if hasattr(Tensor, "_autograd_enabled"):
        return
    _original_add = Tensor.__add__
    _original_mul = Tensor.__mul__
    _original_sub = Tensor.__sub__

    def tracked(original, backward_class):
        def op(self, other):
            if not isinstance(other, Tensor):
                other = Tensor(other)
            result = original(self, other)
            if self.requires_grad or other.requires_grad:
                result.requires_grad = True
                result._grad_fn = backward_class(self, other)
            return result

        return op

    def sum_op(self, axis=None, keepdims=False):
        result = Tensor(np.sum(self.data, axis=axis, keepdims=keepdims))
        if self.requires_grad:
            result.requires_grad = True
            result._grad_fn = SumBackward(self, axis, keepdims)
        return result

    def _unbroadcast(gradient, shape):
        while gradient.ndim > len(shape):
            gradient = gradient.sum(axis=0)
        for i, size in enumerate(shape):
            if size == 1 and gradient.shape[i] != 1:
                gradient = gradient.sum(axis=i, keepdims=True)
        return gradient

    def backward(self, gradient=None):
        if not self.requires_grad:
            return
        if gradient is None:
            gradient = np.ones_like(self.data)
        if self.grad is None:
            self.grad = np.zeros_like(self.data)
        gradient = _unbroadcast(gradient, self.grad.shape)
        self.grad += gradient
        if self._grad_fn is not None:
            grads = self._grad_fn.apply(gradient)
            for tensor, grad in zip(self._grad_fn.saved_tensors, grads, strict=True):
                if isinstance(tensor, Tensor) and tensor.requires_grad:
                    tensor.backward(grad)

    Tensor.__add__ = tracked(_original_add, AddBackward)
    Tensor.__mul__ = tracked(_original_mul, MulBackward)
    Tensor.__sub__ = tracked(_original_sub, SubBackward)
    Tensor.sum = sum_op
    Tensor.backward = backward
    Tensor._autograd_enabled = True
