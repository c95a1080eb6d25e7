import numpy as np


class Tensor:
    def __init__(self, data, dtype=None, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        array = np.array(data, dtype=dtype)
        if dtype is None and array.dtype == np.float64:
            array = array.astype(np.float32)  # TinyTorch prefers float32
        self._data = array
        self.requires_grad = requires_grad
        self.grad = None
        self._grad_fn = None

    @property
    def data(self):
        return self._data

    @property
    def shape(self):
        return self._data.shape

    def __repr__(self):
        return f"Tensor({self._data.tolist()}, shape={self.shape})"

    def __add__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        return Tensor(self._data + other._data)

    def __mul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        return Tensor(self._data * other._data)

    def __sub__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        return Tensor(self._data - other._data)
