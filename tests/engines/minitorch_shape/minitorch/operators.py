# mypy: ignore-errors
import math

EPS = 1e-6  # kept inside log, as MiniTorch's operators do: finite at 0


def log(x):
    return math.log(x + EPS)


def log_back(x, d):
    return d / (x + EPS)


def inv(x):
    return 1.0 / x


def inv_back(x, d):
    return -d / (x * x)


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def relu_back(x, d):
    return d if x > 0 else 0.0
