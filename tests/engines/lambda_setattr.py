"""Style: backward steps are lambdas of setattr calls; children in `kids`."""


class Value:
    def __init__(self, data, kids=()):
        self.data = float(data)
        self.grad = 0.0
        self.kids = kids
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))
        out._backward = lambda: (
            setattr(self, "grad", self.grad + out.grad),
            setattr(other, "grad", other.grad + out.grad),
        )
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))
        out._backward = lambda: (
            setattr(self, "grad", self.grad + other.data * out.grad),
            setattr(other, "grad", other.grad + self.data * out.grad),
        )
        return out

    def __neg__(self):
        out = Value(-self.data, (self,))
        out._backward = lambda: setattr(self, "grad", self.grad - out.grad)
        return out

    def __sub__(self, other):
        return self + (-other if isinstance(other, Value) else Value(-other))

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if id(v) not in seen:
                seen.add(id(v))
                for k in v.kids:
                    visit(k)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()
