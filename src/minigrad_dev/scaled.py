"""examples/student scaled up, for the benchmarks: 3x the ops (each with its closure step) and
10x the tests (4 points per op for the 20 ops the tests call).

Issue 30 measures `--jobs` and the campaign's cost against one plain pytest run on this
suite: the student's own engine is so small that a campaign there is mostly fixed cost.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["write_scaled_student"]

# op -> (forward of x = self.data, local derivative of x and o = out.data): 12 more ops with
# a step of their own, 18 in all against the student's 6.
EXTRA_OPS: dict[str, tuple[str, str]] = {
    "sigmoid": ("1 / (1 + math.exp(-x))", "o * (1 - o)"),
    "log": ("math.log(x)", "1 / x"),
    "sin": ("math.sin(x)", "math.cos(x)"),
    "cos": ("math.cos(x)", "-math.sin(x)"),
    "abs": ("abs(x)", "(1.0 if x > 0 else -1.0)"),
    "softplus": ("math.log1p(math.exp(x))", "1 / (1 + math.exp(-x))"),
    "sqrt": ("math.sqrt(x)", "0.5 / o"),
    "atan": ("math.atan(x)", "1 / (1 + x * x)"),
    "sinh": ("math.sinh(x)", "math.cosh(x)"),
    "cosh": ("math.cosh(x)", "math.sinh(x)"),
    "leaky_relu": ("x if x > 0 else 0.01 * x", "(1.0 if x > 0 else 0.01)"),
    "elu": ("x if x > 0 else math.exp(x) - 1", "(1.0 if x > 0 else o + 1)"),
}

_METHOD = """
    def {name}(self):
        x = self.data
        out = Value({forward}, (self,), "{name}")

        def _backward():
            o = out.data
            self.grad += {local} * out.grad

        out._backward = _backward
        return out
"""

# The student's 8 tests' ops, then one per extra op; all at points every op is defined at.
_STUDENT_OPS = {
    "add": "v + 2.0",
    "sub": "v - 2.0",
    "mul": "v * 3.0",
    "pow": "v**3",
    "div": "v / 4.0",
    "tanh": "v.tanh()",
    "exp": "v.exp()",
    "relu": "v.relu()",
}
POINTS = (0.3, 0.7, 1.1, 1.5)

_TEST = """

@pytest.mark.parametrize("x", {points})
def test_{name}(x):
    check(lambda v: {call}, x)
"""


def write_scaled_student(root: Path, folder: Path) -> None:
    """engine.py and test_engine.py of the scaled-up student suite, into `folder`."""
    engine = (root / "examples" / "student" / "engine.py").read_text()
    methods = "".join(
        _METHOD.format(name=name, forward=forward, local=local)
        for name, (forward, local) in EXTRA_OPS.items()
    )
    anchor = "    def backward(self):"
    assert anchor in engine
    (folder / "engine.py").write_text(engine.replace(anchor, methods.lstrip("\n") + "\n" + anchor))
    calls = {**_STUDENT_OPS, **{name: f"v.{name}()" for name in EXTRA_OPS}}
    tests = "".join(
        _TEST.format(points=repr(POINTS), name=name, call=call) for name, call in calls.items()
    )
    (folder / "test_engine.py").write_text(_tests_head(root) + tests)


def _tests_head(root: Path) -> str:
    """The student's test file up to its first test (its helpers), with pytest imported and a
    docstring saying what this file is."""
    text = (root / "examples" / "student" / "test_engine.py").read_text()
    helpers = text[text.index("from engine import Value") : text.index("\n\n\ndef test_")]
    doc = '"""examples/student\'s tests, 10x: each op at 4 points, against differences."""'
    return f"{doc}\n\nimport pytest\n\n{helpers}\n"
