"""Discovery's jobs, each on its own: the node class, candidate methods, steps, points,
precision, and the session they share.

Modules: minigrad_tool.adapter.classes, minigrad_tool.adapter.candidates,
minigrad_tool.adapter.steps, minigrad_tool.adapter.points, minigrad_tool.adapter.precision,
minigrad_tool.adapter.session, minigrad_tool.adapter.discovery.

Whole discovery runs are in test_adapter.py.  Engine code runs in this process here, as in
the tool's children.
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import pytest

from minigrad_tool.adapter import load_in_process, parse_spec
from minigrad_tool.adapter.candidates import candidates, forms, is_an_op, op_for
from minigrad_tool.adapter.classes import (
    TensorEngine,
    node_class,
    resolve_class,
    what_is_missing,
)
from minigrad_tool.adapter.loader import import_engine
from minigrad_tool.adapter.points import branch_points, search_domain
from minigrad_tool.adapter.precision import array_precision, scalar_precision
from minigrad_tool.adapter.session import Session, quiet
from minigrad_tool.adapter.source import SourceIndex
from minigrad_tool.adapter.steps import steps_of
from minigrad_tool.mutation.sites import find_sites

ENGINES = Path(__file__).parent / "engines"
ROOT = Path(__file__).resolve().parents[1]


def session_of(text: str) -> Session:
    """A session on an engine, as a discovery child makes one."""
    loaded = load_in_process(text)
    session = Session(loaded.spec, loaded.module, loaded.cls, quiet)
    session.access.children_attr = loaded.profile.children_attr
    session.find_sweep()  # as discovery does first: the generic sweep is no op's step
    return session


def engine_file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "engine.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


# A scalar engine with a branch its usual points never take, and methods that are no ops.
BRANCHY = """
    import math

    class Value:
        def __init__(self, data, _children=()):
            self.data, self.grad = data, 0.0
            self._backward = lambda: None
            self._prev = tuple(_children)

        def __add__(self, other):
            other = other if isinstance(other, Value) else Value(other)
            out = Value(self.data + other.data, (self, other))

            def _backward():
                self.grad += out.grad
                other.grad += out.grad

            out._backward = _backward
            return out

        def softplus(self):
            x = self.data
            out = Value(x if x > 50 else math.log1p(math.exp(x)), (self,))

            def _backward():
                if x > 50:
                    self.grad += out.grad
                else:
                    self.grad += out.grad / (1 + math.exp(-x))

            out._backward = _backward
            return out

        def halfroot(self):
            out = Value(math.sqrt(self.data - 1.0), (self,))

            def _backward():
                self.grad += 0.5 / out.data * out.grad

            out._backward = _backward
            return out

        def draw_graph(self):
            raise AssertionError("never called: it might draw")

        def scaled(self, k):
            return self

        def backward(self):
            topo, seen = [], set()

            def build(v):
                if id(v) not in seen:
                    seen.add(id(v))
                    for c in v._prev:
                        build(c)
                    topo.append(v)

            build(self)
            self.grad = 1.0
            for v in reversed(topo):
                v._backward()
"""


class TestClasses:
    def test_what_a_would_be_node_lacks_is_said_with_what_it_has_instead(self) -> None:
        class Node:
            def __init__(self) -> None:
                self.data, self.gradient = 0.5, 0.0

            def backprop(self) -> None: ...

        said = what_is_missing(Node())
        assert "has no .grad (it keeps a number in .gradient" in said
        assert "found backprop(), not backward()" in said
        assert what_is_missing(type("Ok", (), {"data": 1.0, "grad": 0.0, "backward": id})()) == ""

    def test_several_node_classes_are_named_not_guessed(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = engine_file(
            tmp_path,
            """
            class A:
                def __init__(self, data):
                    self.data, self.grad = data, 0.0
                def backward(self): ...
            class B(A): ...
            """,
        )
        spec = parse_spec(path)
        monkeypatch.syspath_prepend(str(spec.sys_path))
        with pytest.raises(Exception, match=r"several node classes \(A, B\)"):
            resolve_class(import_engine(spec), None, spec.text)

    def test_a_class_whose_metaclass_raises_for_a_missing_name_is_no_node_class(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # skinnygrad's Configuration: its metaclass's __getattr__ reads a ChainMap
        path = engine_file(
            tmp_path,
            """
            import collections
            class Meta(type):
                def __getattr__(cls, key):
                    return collections.ChainMap({})[key]
            class Configuration(metaclass=Meta): ...
            class Node:
                def __init__(self, data):
                    self.data, self.grad = data, 0.0
                def backward(self): ...
            """,
        )
        spec = parse_spec(path)
        monkeypatch.syspath_prepend(str(spec.sys_path))
        assert resolve_class(import_engine(spec), None, spec.text).__name__ == "Node"

    def test_nodes_that_hold_arrays_are_handed_to_the_tensor_discovery(self) -> None:
        spec = parse_spec(str(ROOT / "src/minigrad/tensor.py"))
        with pytest.raises(TensorEngine) as found:
            node_class(spec, import_engine(spec), quiet)
        assert (found.value.cls.__name__, found.value.data_attr) == ("Tensor", "data")


class TestCandidates:
    def test_methods_that_might_not_compute_or_need_arguments_are_not_called(
        self, tmp_path: Path
    ) -> None:
        session = session_of(engine_file(tmp_path, BRANCHY))
        names = [c.name for c in candidates(session)]
        assert names == ["__add__", "softplus", "halfroot"]
        assert session.skipped == [("scaled", "takes arguments besides self: not called")]

    def test_steps_nothing_calls_are_said_not_checked(self, tmp_path: Path) -> None:
        """A binary function of the module (`hypot(a, b)`) and a method that takes an
        argument each hold a backward step minigrad never runs: said not checked (before, the
        function was said nowhere, and a wrong step there passed every check); a function
        whose nested functions are ops' steps (a factory of methods) is not."""
        plus = """
            def plus(self, other, weight=0.5):
                mixed = weight * self.data + (1 - weight) * other.data
                out = Value(mixed, (self, other))

                def _backward():
                    self.grad += weight * out.grad
                    other.grad += (1 - weight) * out.grad

                out._backward = _backward
                return out
        """
        scaled = "        def scaled(self, k):\n            return self\n"
        assert BRANCHY.count(scaled) == 1
        engine = BRANCHY.replace(scaled, textwrap.indent(textwrap.dedent(plus), " " * 8))
        engine += textwrap.indent(
            textwrap.dedent(
                """
                def hypot(a, b):
                    out = Value(math.hypot(a.data, b.data), (a, b))

                    def _backward():
                        a.grad += a.data / out.data * out.grad
                        b.grad += b.data / out.data * out.grad

                    out._backward = _backward
                    return out


                def _unary(forward, derivative):
                    def method(self):
                        out = Value(forward(self.data), (self,))

                        def _backward():
                            self.grad += derivative(self.data) * out.grad

                        out._backward = _backward
                        return out

                    return method


                Value.cube = _unary(lambda x: x**3, lambda x: 3 * x**2)


                def _binary(forward, derivatives):  # used nowhere
                    def method(self, other):
                        out = Value(forward(self.data, other.data), (self, other))

                        def _backward():
                            dx, dy = derivatives(self.data, other.data)
                            self.grad += dx * out.grad
                            other.grad += dy * out.grad

                        out._backward = _backward
                        return out

                    return method
                """
            ),
            "    ",
        )
        profile = load_in_process(engine_file(tmp_path, engine)).profile
        assert "cube" in [op.name for op in profile.ops]  # the factory's step is an op's
        assert [name for name, _ in profile.uncalled] == ["engine.hypot", "engine._binary", "plus"]
        why = dict(profile.uncalled)
        assert why["engine.hypot"].startswith("holds a backward step (line ")
        lines = engine.splitlines()  # a step nested two deep: the line of the step itself
        step = next(n for n, t in enumerate(lines, 1) if "dx, dy = derivatives" in t) - 1
        assert why["engine._binary"].startswith(f"holds a backward step (line {step})")
        sites, _ = find_sites(lambda _: SourceIndex.parse(textwrap.dedent(engine)), profile)
        binary = next(s for s in sites if s.op == "binary")
        assert [r.unit.qualname for r in binary.steps] == ["_binary"]
        assert [r.node.lineno for r in binary.steps] == [step]  # once, not also `method`
        assert why["plus"].endswith("and it holds a backward step (line 51) no case checks")
        assert "plus" not in dict(profile.skipped)  # said once, as not checked

    def test_a_method_and_a_function_of_one_name_are_each_said(self, tmp_path: Path) -> None:
        """`Value.hypot(self, other)` and a module's `hypot(a, b)`, both with steps: each is
        said with its own name (the function was taken for the method by its bare name)."""
        step = (
            "out = Value(a.data + b.data, (a, b))\n\n"
            "def _backward():\n    a.grad += out.grad\n    b.grad += out.grad\n\n"
            "out._backward = _backward\nreturn out\n"
        )
        scaled = "        def scaled(self, k):\n            return self\n"
        method = "        def hypot(a, b):\n" + textwrap.indent(step, " " * 12)
        function = "\n\ndef hypot(a, b):\n" + textwrap.indent(step, " " * 4)
        engine = textwrap.dedent(BRANCHY.replace(scaled, method)) + function
        profile = load_in_process(engine_file(tmp_path, engine)).profile
        assert [name for name, _ in profile.uncalled] == ["engine.hypot", "hypot"]

    def test_each_candidate_is_called_in_its_forms(self, tmp_path: Path) -> None:
        session = session_of(engine_file(tmp_path, BRANCHY))
        add, softplus, _ = candidates(session)
        assert [f[:3] for f in forms(add)] == [("binary", "add", "+")]
        assert is_an_op(add) and is_an_op(softplus)
        op = op_for(softplus, "method", "softplus", "")
        assert (op.oracle, op.call, op.qualname) == ("softplus", "method", "Value.softplus")


class TestStepsAndPoints:
    def test_a_closure_is_the_step_and_its_attribute_is_found(self, tmp_path: Path) -> None:
        session = session_of(engine_file(tmp_path, BRANCHY))
        add = op_for(candidates(session)[0], "binary", "add", "+")
        steps, foreign = steps_of(session, add, session.watch(add, (0.5, -1.5), 2.0))
        assert [(s.style, s.qualname, s.attribute) for s in steps] == [
            ("closure", "Value.__add__.<locals>._backward", "_backward")
        ]
        assert foreign == ()

    def test_ops_built_from_others_own_no_step(self) -> None:
        session = session_of(str(ENGINES / "microstyle.py"))
        by_name = {c.name: c for c in candidates(session)}
        sub = op_for(by_name["__sub__"], "binary", "sub", "-")
        steps, foreign = steps_of(session, sub, session.watch(sub, (0.5, -1.5), 2.0))
        assert steps == () and foreign  # add's and mul's steps ran, none of sub's own

    def test_the_domain_search_finds_only_points_inside_the_domain(self, tmp_path: Path) -> None:
        session = session_of(engine_file(tmp_path, BRANCHY))
        halfroot = op_for(candidates(session)[2], "method", "halfroot", "")
        points = search_domain(session, halfroot, 2.0)
        assert len(points) == 3 and all(p[0] > 1.0 for p in points)

    def test_a_branch_the_usual_points_miss_gets_a_point(self, tmp_path: Path) -> None:
        session = session_of(engine_file(tmp_path, BRANCHY))
        c = candidates(session)[1]
        op = op_for(c, "method", "softplus", "")
        steps, _ = steps_of(session, op, session.watch(op, (0.5,), 2.0))
        with_steps = dataclasses.replace(op, steps=steps)
        found = branch_points(session, with_steps, [(0.5,), (-1.0,)], 2.0)
        assert found and all(p[0] > 50 for p in found)


class TestPrecisionAndSession:
    def test_a_float32_engine_is_measured_as_such(self) -> None:
        session = session_of(str(ENGINES / "float32.py"))
        assert scalar_precision(session, None).bits == 23

    def test_a_float64_array_engine(self) -> None:
        from minigrad.tensor import Tensor

        assert array_precision(Tensor, "data").bits == 52

    def test_a_backward_that_fails_on_a_leaf_sets_its_own_code_aside(self, tmp_path: Path) -> None:
        session = session_of(engine_file(tmp_path, BRANCHY))
        cls: Any = session.cls

        def backward(self: Any) -> None:
            raise RuntimeError("no creator")

        session.cls = type("Leafless", (cls,), {"backward": backward})
        assert session.find_sweep() is None  # defined here, not in the engine's file
        assert session.notes == ["backward() on a leaf raises RuntimeError: no creator"]
        assert session.sweep_prefix.endswith("<locals>.backward")
        assert session.in_sweep((f"{session.sweep_prefix}.<locals>.visit", 3))
        assert not session.in_sweep(("Value.__add__.<locals>._backward", 12))
