"""A backward() that walks a reused node wrongly is blamed on backward(), not on every op.

The student's engine with its visited set dropped, its walk made recursive, depth first
preorder or breadth first: each op's step is right, yet every case whose graph reuses a
node an op made fails.  Measured once on the unmutated engine (adapter.traversal), said once
as backward()'s own failure, and the ops whose failing cases all reuse a node are told apart
("backward() first"), where an op wrong on its own still reads as wrong.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_wrong_engine import STUDENT, run

from minigrad_tool.adapter import load_in_process
from minigrad_tool.adapter.nodes import NodeAccess
from minigrad_tool.adapter.profile import Profile, ReuseWalk
from minigrad_tool.adapter.traversal import reuse_walk
from minigrad_tool.battery.oracle import evaluate
from minigrad_tool.mutation.equivalence import observe, walk_probe
from minigrad_tool.mutation.suggest import WALK_TEST
from minigrad_tool.tensor.probes import TensorProbe

# A mutate run whose assertions read the battery's findings on the unmutated engine (its
# headline, what it blames) needs the mutants of one operator only: all took seconds each.
ONE_OPERATOR = ("--operators", "sign")

pytestmark = pytest.mark.campaign

SOURCE = (STUDENT / "engine.py").read_text()
BACKWARD = SOURCE[SOURCE.index("    def backward(self):") : SOURCE.index("    def __neg__")]

# backward() as students get it wrong: (its text, the kind of wrong walk it is)
WALKS = {
    "no visited set": (
        """    def backward(self):
        topo = []

        def build(v):
            for child in v._prev:
                build(child)
            topo.append(v)

        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

""",
        "repeats",
    ),
    "recursion into the children": (
        """    def backward(self):
        self.grad = 1.0
        self._walk()

    def _walk(self):
        self._backward()
        for child in self._prev:
            child._walk()

""",
        "repeats",
    ),
    "depth first preorder": (
        """    def backward(self):
        self.grad = 1.0
        visited = set()

        def walk(v):
            if v not in visited:
                visited.add(v)
                v._backward()
                for child in v._prev:
                    walk(child)

        walk(self)

""",
        "early",
    ),
    "breadth first": (
        """    def backward(self):
        self.grad = 1.0
        queue, seen = [self], {self}
        while queue:
            v = queue.pop(0)
            v._backward()
            for child in v._prev:
                if child not in seen:
                    seen.add(child)
                    queue.append(child)

""",
        "early",
    ),
}

# A student's test of a tensor engine: add alone, which no wrong walk shows in
TENSOR_TEST = """import numpy as np
from engine import Tensor


def test_add():
    x, y = Tensor([1.0, 2.0]), Tensor([3.0, 4.0])
    (x + y).sum().backward()
    assert np.allclose(x.grad.data, [1.0, 1.0])
"""

# tanh built from exp, whose node its own graph uses twice
COMPOSITE_TANH = """    def tanh(self):
        e = (self * 2).exp()
        return (e - 1) / (e + 1)

"""

# A node keeps its step with its parents in a tuple, and backward() has no visited set
KEPT_IN_A_TUPLE = """class Value:
    def __init__(self, data, parents=(), step=None):
        self.data, self.grad = data, 0.0
        self._node = (parents, step)

    @property
    def _prev(self):
        return self._node[0]

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)

        def step(out):
            self.grad += out.grad
            other.grad += out.grad

        return Value(self.data + other.data, (self, other), step)

    def backward(self):
        self.grad = 1.0
        stack = [self]
        while stack:
            node = stack.pop()
            parents, step = node._node
            if step is not None:
                step(node)
            stack.extend(parents)
"""


ENGINES = Path(__file__).parent / "engines"
# A tensor engine's topological sort with its visited set, as tests/engines write it
TENSOR_VISITED = """            if id(v) not in seen:
                seen.add(id(v))
                for child in v._prev:
                    build(child)
                topo.append(v)
"""
TENSOR_NO_VISITED = """            for child in v._prev:
                build(child)
            topo.append(v)
"""


def tensor_engine(name: str, tmp: Path) -> Path:
    """tests/engines/`name` with its visited set dropped, as engine.py in `tmp`."""
    source = (ENGINES / name).read_text()
    assert source.count(TENSOR_VISITED) == 1
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "engine.py").write_text(source.replace(TENSOR_VISITED, TENSOR_NO_VISITED))
    return tmp


def engine(walk: str, tmp: Path, *, step: tuple[str, str] = ("", ""), tanh: str = "") -> Path:
    source = SOURCE.replace(BACKWARD, WALKS[walk][0])
    if step[0]:
        assert source.count(step[0]) == 1
        source = source.replace(*step)
    if tanh:
        start, end = source.index("    def tanh(self):"), source.index("    def exp(self):")
        source = source[:start] + tanh + source[end:]
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "engine.py").write_text(source)
    return tmp


class TestMeasured:
    def test_the_walk_probe_asserts_the_truth(self, tmp_path: Path) -> None:
        """The graph --suggest writes a test of where the walk is wrong (the one measured, on
        two inputs): the oracle's gradients 2 and 6, never the engine's 3 and 7."""
        loaded = load_in_process(str(engine("no visited set", tmp_path) / "engine.py"))
        probe = walk_probe(loaded.profile)
        assert probe is not None and probe.lines[0] == "w = x + y"
        assert "used twice, by w + y and by w + y + y + y" in probe.label
        truth = probe.truth(loaded.profile)
        assert truth[1] == -9.0 and [round(g, 9) for g in truth[2]] == [2.0, 6.0]
        got = observe(loaded.access, probe)
        assert got[1] == -9.0 and got[2] == [3.0, 7.0]

    @pytest.mark.parametrize("walk", list(WALKS))
    def test_each_wrong_walk_is_measured_with_its_kind(self, walk: str, tmp_path: Path) -> None:
        found = load_in_process(str(engine(walk, tmp_path) / "engine.py")).profile.backward_reuse
        assert found is not None and found.kind == WALKS[walk][1], found
        if found.kind == "repeats":  # w's step ran twice, x got 1 + 2
            assert (found.runs, found.input_grad, found.at_step) == (2, 3.0, 1.0)
        else:  # once, with half its gradient: x got 1
            assert (found.runs, found.input_grad, found.at_step) == (1, 1.0, 1.0)
        assert found.sharing == ()  # the student's composites (sub, div, ...) reuse no node

    @pytest.mark.parametrize(
        "path",
        [
            STUDENT / "engine.py",
            STUDENT.parent.parent / "tests/engines/recursive_pass.py",  # each path its share
            STUDENT.parent.parent / "tests/engines/none_grad.py",
            STUDENT.parent.parent / "tests/engines/tensor_grad_fn.py",
            STUDENT.parent.parent / "tests/engines/tensor_grad_node.py",
            STUDENT.parent.parent / "tests/engines/tensor_one_element.py",
        ],
    )
    def test_a_right_walk_is_not_blamed(self, path: Path) -> None:
        assert load_in_process(str(path)).profile.backward_reuse is None

    @pytest.mark.parametrize(
        "name",
        [
            "tensor_grad_node.py",  # .grad is a node of its own (DeZero): its array is read
            "tensor_one_element.py",  # a leaf of a number, and its gradient, have shape (1,)
        ],
    )
    def test_a_tensor_engines_wrong_walk_is_measured(self, name: str, tmp_path: Path) -> None:
        """Read as the engine keeps it, w's gradient is a number however it is held: the
        walk is measured as on a scalar engine (it was not: `grad is Tensor`, `grad is
        ndarray` of shape (1,))."""
        path = tensor_engine(name, tmp_path) / "engine.py"
        found = load_in_process(str(path)).profile.backward_reuse
        assert found is not None and found.kind == "repeats", found
        assert (found.runs, found.input_grad, found.at_step) == (2, 3.0, 1.0)

    def test_the_tensor_walk_probe_asserts_the_truth(self, tmp_path: Path) -> None:
        """A tensor engine's test of the walk is written at the same graph on arrays: the
        oracle gives x the upstream gradient W twice and y six times, never the 3W and 7W
        of the engine with its visited set dropped."""
        loaded = load_in_process(str(tensor_engine("tensor_grad_node.py", tmp_path) / "engine.py"))
        probe = walk_probe(loaded.profile)
        assert isinstance(probe, TensorProbe) and probe.case.requires == {"add"}
        assert "w = x + y used twice, by w + y and by ((w + y) + y) + y" in probe.label
        truth = probe.truth(loaded.profile)
        upstream = np.array(truth[2][0]) / 2  # W, the random upstream gradient
        assert np.allclose(truth[2][1], 6 * upstream) and np.any(upstream != 0)
        got = observe(loaded.access, probe)
        assert np.allclose(got[2][0], 3 * upstream) and np.allclose(got[2][1], 7 * upstream)
        assert np.allclose(got[1], truth[1])  # the forward is right: only the walk is wrong

    def test_a_wrong_add_is_not_read_as_a_wrong_walk(self, tmp_path: Path) -> None:
        """add's `self.grad = out.grad` (no `+=`) gives the diamond 1, as an early walk would:
        the probe's own checks of add find it, and the blame stays with add."""
        path = engine(
            "depth first preorder",
            tmp_path,
            step=("            self.grad += out.grad\n", "            self.grad = out.grad\n"),
        )
        assert load_in_process(str(path / "engine.py")).profile.backward_reuse is None

    def test_no_add_cannot_tell(self) -> None:
        class Node:
            def __init__(self, data: float) -> None:
                self.data, self.grad = data, 0.0

            def backward(self) -> None:
                self.grad = 1.0

        assert reuse_walk(Node, NodeAccess(Node, None), []) is None

    def test_a_step_kept_in_no_callable_cannot_tell(self, tmp_path: Path) -> None:
        """Its walk is wrong (x gets 3 on the probe's graph), but no callable step can be
        watched to say which way: no blame rather than a guess."""
        (tmp_path / "engine.py").write_text(KEPT_IN_A_TUPLE)
        loaded = load_in_process(str(tmp_path / "engine.py"))
        value = loaded.cls
        x = value(0.5)
        w = x + 2.0
        (w + 3.0 + (w + 4.0 + 5.0 + 6.0)).backward()
        assert x.grad == 3.0
        assert loaded.profile.backward_reuse is None

    def test_a_composite_whose_graph_reuses_a_node_is_told(self, tmp_path: Path) -> None:
        path = engine("no visited set", tmp_path, tanh=COMPOSITE_TANH) / "engine.py"
        found = load_in_process(str(path)).profile.backward_reuse
        assert found is not None and found.sharing == ("tanh",)

    def test_the_measurement_crosses_to_the_parent(self) -> None:
        walk = ReuseWalk("early", 1.0, 1, 1.0, ("tanh",))
        profile = load_in_process(str(STUDENT / "engine.py")).profile
        moved = dataclasses.replace(profile, backward_reuse=walk)
        assert Profile.from_dict(json.loads(moved.to_json())).backward_reuse == walk


def test_the_oracle_says_which_cases_reuse_a_node_an_op_made() -> None:
    def shared(fn: object, point: tuple[float, ...]) -> bool:
        return evaluate(fn, point, {})[1].shared  # type: ignore[arg-type]

    assert shared(lambda a, b: (lambda t: t * t + t)(a * b), (1.5, -0.5))
    assert shared(lambda a: (lambda t: t * t)(a + 1.0), (1.5,))  # twice by one node
    assert not shared(lambda a: a * a + a, (1.5,))  # an input reused: no step to walk twice
    assert not shared(lambda a, b, d: a * b + a * d + b, (1.5, -2.0, 0.7))


@pytest.fixture(scope="module")
def novisited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return engine("no visited set", tmp_path_factory.mktemp("novisited"))


class TestReported:
    def test_gradcheck_blames_backward_once(self, novisited: Path) -> None:
        result = run(novisited, "gradcheck", "--engine", "engine.py", "--json", "check.json")
        assert result.returncode == 1, result.stdout + result.stderr
        said = " ".join(result.stdout.split())
        assert "FAILED backward(): Value.backward() runs the backward step of a node that " in said
        assert "w's step ran 2 times" in said and "with a visited set" in said
        assert "the cases: backward_reuse, add_reuse, " in said
        assert "FAILED add_reuse" not in result.stdout  # said once, in the blame
        rows = {line.split()[0]: line for line in result.stdout.splitlines()[4:18]}
        assert rows["add"].endswith("FAILED 1/4, backward() first"), rows["add"]
        report = json.loads((novisited / "check.json").read_text())
        (cause,) = report["causes"]
        assert cause["blames"] == "backward()" and "add_reuse" in cause["cases"]
        assert "add" not in cause["cases"]  # a case that reuses no node is not its

    def test_mutate_calls_backward_wrong_not_the_ops(self, novisited: Path) -> None:
        result = run(
            novisited, "mutate", "--engine", "engine.py", "--judge", "battery", *ONE_OPERATOR
        )
        assert result.returncode == 1, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].startswith("YOUR ENGINE IS WRONG: the battery finds 1 op(s) (backward)")
        assert any("more op(s) fail only cases that call backward too" in x for x in lines)

    @pytest.mark.e2e
    def test_suggest_writes_a_test_of_the_walk(self, tmp_path: Path) -> None:
        """The student's tests miss the walk, and so does every survivor's input: --suggest
        adds a test of it, which fails on the engine today, by design, and passes once
        backward() has its visited set back, as the other tests written do."""
        folder = engine("no visited set", tmp_path)
        shutil.copy2(STUDENT / "test_engine.py", folder / "test_engine.py")
        args = ("--engine", "engine.py", "--tests", "test_engine.py", "--suggest", "new.py")
        result = run(folder, "mutate", *args)
        assert result.returncode == 1, result.stdout + result.stderr
        said = " ".join(result.stdout.split())
        assert f"expose backward's bug; fix it, then they guard it ({WALK_TEST})" in said
        text = (folder / "new.py").read_text()
        assert f"def {WALK_TEST}():" in text
        flat = " ".join(text.split())  # the docstring, as wrapped
        assert "finds Value.backward (engine.py:" in flat and "fix backward(), then" in flat
        (folder / "test_suggested.py").write_text(text)
        pytest_run = ("-m", "pytest", "-q", "-p", "no:cacheprovider", "test_suggested.py")
        today = subprocess.run([sys.executable, *pytest_run], cwd=folder, capture_output=True)
        assert today.returncode == 1 and today.stdout.count(b"FAILED") == 1, today.stdout
        assert f"FAILED test_suggested.py::{WALK_TEST}".encode() in today.stdout
        (folder / "engine.py").write_text(SOURCE)  # the visited set back
        fixed = subprocess.run([sys.executable, *pytest_run], cwd=folder, capture_output=True)
        assert fixed.returncode == 0, fixed.stdout

    @pytest.mark.e2e
    def test_suggest_writes_a_test_of_a_tensor_engines_walk(self, tmp_path: Path) -> None:
        """A tensor engine with its visited set dropped, and a test of add alone: --suggest
        writes the walk's test on arrays, which fails today and passes once it is back."""
        folder = tensor_engine("tensor_grad_node.py", tmp_path)
        (folder / "test_engine.py").write_text(TENSOR_TEST)
        args = ("--engine", "engine.py", "--tests", "test_engine.py", "--suggest", "new.py")
        result = run(folder, "mutate", *args, "--operators", "sign")
        assert result.returncode == 1, result.stdout + result.stderr
        said = " ".join(result.stdout.split())
        assert f"expose backward's bug; fix it, then they guard it ({WALK_TEST})" in said
        text = (folder / "new.py").read_text()
        assert f"def {WALK_TEST}():" in text and "(out * Tensor(w)).sum().backward()" in text
        assert "finds Tensor.backward (engine.py:" in " ".join(text.split())
        (folder / "test_suggested.py").write_text(text)
        pytest_run = ("-m", "pytest", "-q", "-p", "no:cacheprovider", "test_suggested.py")
        today = subprocess.run([sys.executable, *pytest_run], cwd=folder, capture_output=True)
        assert today.returncode == 1 and today.stdout.count(b"FAILED") == 1, today.stdout
        assert f"FAILED test_suggested.py::{WALK_TEST}".encode() in today.stdout
        shutil.copy2(ENGINES / "tensor_grad_node.py", folder / "engine.py")  # visited set back
        fixed = subprocess.run([sys.executable, *pytest_run], cwd=folder, capture_output=True)
        assert fixed.returncode == 0, fixed.stdout

    @pytest.mark.e2e
    def test_suggest_names_backward_in_the_tests_it_fails(self, tmp_path: Path) -> None:
        """Each node appended before its children: steps run out of order.  The tests written
        for survivors that fail on their own assertions of the truth do so for backward()
        alone: written as exposing its bug, never dropped as disagreeing "where the battery
        finds every op right"."""
        visit = "                for child in v._prev:\n                    build(child)\n"
        appended = "                topo.append(v)\n"
        assert SOURCE.count(visit + appended) == 1
        folder = tmp_path / "lab"
        folder.mkdir()
        (folder / "engine.py").write_text(SOURCE.replace(visit + appended, appended + visit))
        shutil.copy2(STUDENT / "test_engine.py", folder / "test_engine.py")
        args = ("--engine", "engine.py", "--tests", "test_engine.py", "--suggest", "new.py")
        result = run(folder, "mutate", *args)
        assert result.returncode == 1, result.stdout + result.stderr
        said = " ".join(result.stdout.split())
        assert "fail on your engine today: they expose backward's bug" in said, said
        assert "its test calls backward(), which your engine gets wrong" in said
        assert "finds every op right" not in said
        assert WALK_TEST not in said  # the walk over a reused node is right

    def test_an_op_wrong_on_its_own_is_still_wrong(self, tmp_path: Path) -> None:
        """mul's sign flipped as well: its plain cases fail, so it is not backward()'s."""
        flipped = ("other.grad += self.data * out.grad", "other.grad -= self.data * out.grad")
        path = engine("no visited set", tmp_path, step=flipped)
        result = run(path, "gradcheck", "--engine", "engine.py")
        assert result.returncode == 1, result.stdout + result.stderr
        rows = {line.split()[0]: line for line in result.stdout.splitlines()[4:18]}
        assert rows["mul"].endswith("FAILED 3/4"), rows["mul"]
        assert rows["add"].endswith("FAILED 1/4, backward() first"), rows["add"]
        assert "\nFAILED mul\n" in result.stdout  # printed in full, apart from the blame


# backward() sorting with a stack (an engine on GitHub): right in insertion order, wrong where
# a node's user reaches it directly and through another child, and its set gives that first
STACK_WALK = """    def backward(self):
        topo, visited, stack = [], set(), [self]
        while stack:
            v = stack[-1]
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    if child not in visited:
                        stack.append(child)
            if stack[-1] is v:
                stack.pop()
                topo.append(v)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

"""

# sub with a step of its own that takes its operands from the node's set of children: right
# where the set gives them in the order they were put in (x - x: one child, both operands)
SUB_FROM_THE_SET = """    def __sub__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data - other.data, (self, other), "-")

        def _backward():
            first, *rest = out._prev
            second = rest[0] if rest else first
            first.grad += out.grad
            second.grad -= out.grad

        out._backward = _backward
        return out
"""


def in_insertion_order(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A command that judges in insertion order alone ($MINIGRAD_ORDERS=1): as every run of
    the battery on the unmutated engine did before."""
    import os

    env = {**os.environ, "MINIGRAD_ORDERS": "1"}
    command = [sys.executable, "-m", "minigrad_tool", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


class TestWrongInSomeGraphOrders:
    """An engine that keeps children in a set is walked, in its users' runs, in the order of
    the nodes' addresses.  The battery judged the unmutated engine in insertion order alone,
    so an engine wrong in other orders passed: `gradcheck` exited 0 on a backward() that
    finishes a node twice where its set comes out one way, and on a sub whose step takes its
    operands from the set.  Now every case and the measure of the walk run in each order
    whose run differs (adapter.order.repeats), and a failure in one says so."""

    def test_gradcheck_and_mutate_blame_backward(self, tmp_path: Path) -> None:
        (tmp_path / "engine.py").write_text(SOURCE.replace(BACKWARD, STACK_WALK))
        result = run(tmp_path, "gradcheck", "--engine", "engine.py")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "FAILED backward(): Value.backward() runs the backward step" in result.stdout
        assert "must give x the gradient 2, and gives 3 in graph order 1 (" in result.stdout
        argv = ["mutate", "--engine", "engine.py", "--judge", "battery", *ONE_OPERATOR]
        mutate = run(tmp_path, *argv)
        first = mutate.stdout.splitlines()[0]
        assert first.startswith("YOUR ENGINE IS WRONG: the battery finds 1 op(s) (backward)")

    def test_a_tensor_engine_too(self, tmp_path: Path) -> None:
        shutil.copy(ENGINES / "tensor_stack_walk.py", tmp_path / "engine.py")
        result = run(tmp_path, "gradcheck", "--engine", "engine.py")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "the cases: backward_reuse, intermediate_two_ways" in result.stdout
        assert "FAILED intermediate_two_ways" not in result.stdout  # said once, above
        insertion = in_insertion_order(tmp_path, "gradcheck", "--engine", "engine.py")
        assert insertion.returncode == 0, insertion.stdout  # what one order alone said

    def test_an_op_whose_step_reads_the_set(self, tmp_path: Path) -> None:
        start, end = SOURCE.index("    def __sub__(self, other):"), SOURCE.index("    def __rsub__")
        (tmp_path / "engine.py").write_text(SOURCE[:start] + SUB_FROM_THE_SET + "\n" + SOURCE[end:])
        result = run(tmp_path, "gradcheck", "--engine", "engine.py")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "FAILED backward()" not in result.stdout
        assert "in graph order 1 of 8 (it passes in insertion order)" in result.stdout
        assert "\nwrong: sub (" in result.stdout
        insertion = in_insertion_order(tmp_path, "gradcheck", "--engine", "engine.py")
        assert insertion.returncode == 0, insertion.stdout
