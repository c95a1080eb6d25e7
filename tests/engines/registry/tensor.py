import numpy as np


class Tensor:
    ops = {}  # noqa: RUF012  (the registry, as old tinygrad keeps it)

    def __init__(self, data, requires_grad=False):
        self.data = np.array(data, dtype=np.float64)
        self.requires_grad = requires_grad
        self.grad = None
        self._ctx = None

    def backward(self):
        if self._ctx is None:
            return
        if self.grad is None:
            self.grad = Tensor(np.ones(self.data.shape))
        order, seen = [], set()

        def visit(node):
            seen.add(id(node))
            if node._ctx:
                for parent in node._ctx.parents:
                    if id(parent) not in seen:
                        visit(parent)
                order.append(node)

        visit(self)
        for node in reversed(order):
            grads = node._ctx.backward(node._ctx, node.grad.data)
            grads = grads if isinstance(grads, tuple) else (grads,)
            for parent, grad in zip(node._ctx.parents, grads, strict=True):
                if parent.grad is None:
                    parent.grad = Tensor(np.zeros(parent.data.shape))
                parent.grad.data = parent.grad.data + grad


class Function:
    def __init__(self, *tensors):
        self.parents = tensors
        self.saved = ()

    def save_for_backward(self, *values):
        self.saved = values

    def apply(self, *args, **kwargs):
        args = [a if isinstance(a, Tensor) else Tensor(a) for a in args]
        ctx = self(*args)
        out = Tensor(self.forward(ctx, *[t.data for t in args], **kwargs))
        out._ctx = ctx
        return out


def register(name, function):
    Tensor.ops[name] = function

    def dispatch(*args, **kwargs):
        found = Tensor.ops[name]
        return found.apply(found, *args, **kwargs)

    setattr(Tensor, name, dispatch)
    if name in ("add", "mul"):
        setattr(Tensor, f"__{name}__", dispatch)


import registry.ops  # noqa: E402, F401  (registers the ops on Tensor)
