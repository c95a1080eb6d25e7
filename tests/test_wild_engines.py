"""Engines in the wild, round 3 (issue 27): read-only gradients, `requires_grad` in every
default, ops with more than one standard definition (exact and tanh GELU), and steps in
other files of the engine's package (mutated there, with IDs that name the file).

Each engine here is one of ours, shaped like the published ones of its class: a `.grad`
property without a setter over `._grad`, reset by `null_grad()`; leaves that need
`requires_grad`, which defaults to None.  Also ops of compiled code, checked as black boxes
(nanograd-bgriebel's), and engines whose process a crash kills.

Modules: minigrad_tool.adapter.native, minigrad_tool.adapter.live, minigrad_tool.adapter.functions.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import json
import re
import shutil
import subprocess
import sys
import traceback
import types
from pathlib import Path
from typing import Any

import pytest
from test_hostile import MICRO
from test_hostile import minigrad as run_minigrad

from minigrad_tool.adapter import load_in_process
from minigrad_tool.adapter.definitions import definitions_alone
from minigrad_tool.adapter.nodes import (
    NodeAccess,
    alias_backward,
    alias_grad,
    backward_name,
    backward_resets,
    coerce_numbers,
    cut_from_graph,
    find_children_attribute,
    grad_is_owned,
    grad_is_read_only,
    grad_name,
    grad_reset,
    leaf_enums,
    leaf_keywords,
    make_leaf,
    read_attribute,
    takes_nodes_only,
)
from minigrad_tool.adapter.script import script_failure
from minigrad_tool.adapter.spec import parse_spec
from minigrad_tool.mutation.judges.fixtures import computed_at_import
from minigrad_tool.mutation.probe import numbers_as_leaves

ENGINES = Path(__file__).parent / "engines"
READ_ONLY = (ENGINES / "readonly_grad.py").read_text()
NONE_GRAD = (ENGINES / "none_grad.py").read_text()

pytestmark = pytest.mark.campaign

# gelu in the exact form, with its correct step; BUGGY drops the `x * pdf` term.
GELU = """
    def gelu(self):
        x = self.data
        out = Value(0.5 * x * (1 + math.erf(x / math.sqrt(2))), (self,), True)

        def _backward():
            pdf = math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            self._grad += (0.5 * (1 + math.erf(x / math.sqrt(2))) + x * pdf) * out._grad

        out._backward = _backward
        return out

    def __neg__(self):"""


def minigrad(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_minigrad(folder, *args, timeout=300)


def write(folder: Path, text: str, name: str = "engine.py") -> str:
    (folder / name).write_text(text)
    return name


def weak_test_then_suggest(
    folder: Path, engine: str, leaf: str, backward: str = "backward", grad: str = "grad"
) -> str:
    """tests/test_weak.py checks one gradient of x + y (leaves made as `leaf` says, the
    engine's names for the backward pass and a gradient), then `mutate --suggest` writes
    tests/test_suggested.py: its text."""
    tests = folder / "tests"
    tests.mkdir()
    (tests / "test_weak.py").write_text(
        "from engine import Value\n\n\n"
        "def test_add():\n"
        f"    x, y = {leaf.format(2.0)}, {leaf.format(-3.0)}\n"
        f"    (x + y).{backward}()\n"
        f"    assert x.{grad} == 1.0\n"
    )
    first = minigrad(
        folder, "mutate", "--engine", engine, "--tests", "tests", "--judge", "tests",
        "--suggest", "tests/test_suggested.py",
    )  # fmt: skip
    assert first.returncode == 1, first.stdout + first.stderr
    return (tests / "test_suggested.py").read_text()


def with_gelu(bug: bool = False) -> str:
    step = GELU.replace("+ x * pdf)", "+ pdf)") if bug else GELU
    return READ_ONLY.replace("\n    def __neg__(self):", step, 1)


class TestTheClassReadStatically:
    def test_a_grad_property_without_a_setter_is_read_only_and_its_reset_is_found(self) -> None:
        class Node:
            def __init__(self) -> None:
                self._grad = 0.0

            @property
            def grad(self) -> float:
                return self._grad

            def null_grad(self) -> None:
                self._grad = 0.0

        class Plain:
            grad = 0.0

        assert grad_is_read_only(Node) and grad_reset(Node) == "null_grad"
        assert not grad_is_read_only(Plain) and grad_reset(Plain) is None

    @pytest.mark.parametrize(
        ("signature", "switches"),
        [
            ("data, requires_grad=False", ("requires_grad",)),
            ("data, requires_grad=None", ("requires_grad",)),
            ("data, *, requires_grad=None", ("requires_grad",)),
            ("data, requires_grad", ("requires_grad",)),
            ("data, requires_grad=True", ()),
            ("data, requiresGrad=None", ("requiresGrad",)),
            ("value, diff=False, creator=None", ("diff",)),
            ("data, creator=None, require_grad=False", ("require_grad",)),
            ("data, differentiable=False", ("differentiable",)),
            ("data, _children=[], op='', compute_grad=False, size=1", ("compute_grad",)),
            ("data", ()),
        ],
    )
    def test_requires_grad_is_switched_on_in_every_default(
        self, signature: str, switches: tuple[str, ...]
    ) -> None:
        namespace: dict[str, object] = {}
        exec(f"class T:\n    def __init__(self, {signature}): pass", namespace)
        assert leaf_keywords(namespace["T"]) == switches  # type: ignore[arg-type]

    def test_a_switch_behind_a_new_that_passes_everything_on_is_found(self) -> None:
        """neurograd's `__new__(cls, data, *args, **kwargs)` makes the class's signature hide
        `__init__`'s `requires_grad=False`: the leaves made without it never got gradients."""

        class T:
            def __new__(cls, data: object, *args: object, **kwargs: object) -> T:
                return super().__new__(cls)

            def __init__(self, data: object, requires_grad: bool = False) -> None:
                self.data, self.requires_grad = data, requires_grad

        assert leaf_keywords(T) == ("requires_grad",)
        assert make_leaf(T, 0.5).requires_grad is True


class TestReadOnlyGradients:
    def test_a_correct_engine_passes_and_is_told_what_was_checked_instead(
        self, tmp_path: Path
    ) -> None:
        engine = write(tmp_path, READ_ONLY)
        result = minigrad(tmp_path, "gradcheck", "--engine", engine)
        assert result.returncode == 0, result.stdout + result.stderr
        assert re.search(r"\b[1-9]\d* passed, 0 failed", result.stdout)
        shown = minigrad(tmp_path, "inspect", "--engine", engine).stdout
        assert ".grad is a read-only property" in shown and "null_grad()" in shown

    def test_an_overwriting_step_is_caught_by_a_second_backward(self, tmp_path: Path) -> None:
        """Nothing can be pre-seeded: `=` for `+=` in mul shows when a second graph
        backpropagates into the same inputs."""
        buggy = READ_ONLY.replace(
            "self._grad += other.data * out._grad", "self._grad = other.data * out._grad"
        )
        assert buggy != READ_ONLY
        result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, buggy))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "a second backward into the same input must add its gradient again" in (
            result.stdout
        )

    def test_every_step_is_mutated_and_every_mutant_killed(self, tmp_path: Path) -> None:
        """Steps write `._grad` (the property has no setter): they are sites like `.grad`."""
        engine = write(tmp_path, READ_ONLY)
        runs = [
            minigrad(tmp_path, "mutate", "--engine", engine, "--judge", "battery", "--json", f)
            for f in ("a.json", "b.json")
        ]
        assert [r.returncode for r in runs] == [0, 0], runs[0].stdout + runs[0].stderr
        reports = [json.loads((tmp_path / f).read_text()) for f in ("a.json", "b.json")]
        statuses = [
            sorted((m["id"], m["status"]) for f in r["files"].values() for m in f["mutants"])
            for r in reports
        ]
        assert statuses[0] == statuses[1]
        ids = {i for i, _ in statuses[0]}
        assert {"add-assign", "mul-swap", "tanh-chain", "add-sign"} <= ids
        assert {s for _, s in statuses[0]} == {"Killed"}

    @pytest.mark.e2e
    def test_suggested_tests_need_no_pre_seeding_and_close_the_gap(self, tmp_path: Path) -> None:
        engine = write(tmp_path, READ_ONLY)
        written = weak_test_then_suggest(tmp_path, engine, "Value({}, requires_grad=True)")
        code = [line for line in written.splitlines() if not line.lstrip().startswith("#")]
        assert not [line for line in code if re.search(r"\.grad = ", line)]
        # nor do the words claim what was not done
        assert "pre-seeded" not in written and "seed + scale" not in written
        assert "_scales():" in written and "accumulates" not in written
        again = minigrad(
            tmp_path, "mutate", "--engine", engine, "--tests", "tests", "--judge", "tests"
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert "mutation score: 100.0%" in again.stdout


class TestNoneForNoGradient:
    """PyTorch's convention: `.grad` is None until a gradient reaches a node, and an input the
    output does not use keeps None.  A correct engine that keeps it passes every case and is
    no wrong engine to a campaign (every case with an unused input failed it before: the
    battery's unused_input, six of its eight random graphs); suggested tests read None as 0."""

    def test_a_correct_engine_passes_every_case(self, tmp_path: Path) -> None:
        done = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, NONE_GRAD))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "unused_input       edge       pass" in done.stdout
        assert re.search(r"^\d+ passed, 0 failed", done.stdout, re.M), done.stdout

    def test_a_campaign_finds_nothing_wrong_with_it(self, tmp_path: Path) -> None:
        done = minigrad(tmp_path, "mutate", "--engine", write(tmp_path, NONE_GRAD))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "WRONG" not in done.stdout
        assert "mutation score: 100.0%" in done.stdout
        assert "not mutated" not in done.stdout  # its steps add through `_acc`: read since

    def test_discovery_measures_the_convention(self) -> None:
        from minigrad_tool.adapter import profile_engine
        from minigrad_tool.isolation import Limits

        def starts_none(name: str) -> bool:
            _, profile = profile_engine(parse_spec(str(ENGINES / name)), Limits(60.0, None))
            return profile.grad_starts_none

        assert starts_none("none_grad.py")
        assert not starts_none("microstyle.py")

    @pytest.mark.parametrize("kind", ["scalar", "tensor"])
    def test_a_written_close_reads_none_as_zero_where_the_engine_keeps_none(
        self, kind: str
    ) -> None:
        from minigrad_tool.mutation.suggest import _HELPERS, close_helper

        space: dict[str, Any] = {}
        exec(_HELPERS[kind][0] + close_helper(kind, 1e-6, none=True), space)  # type: ignore[index]
        assert space["close"](None, 0.0)
        assert not space["close"](None, 1.5)
        assert space["close"](1.5, 1.5)
        assert "None" not in close_helper(kind, 1e-6, none=False)  # as before, elsewhere

    @pytest.mark.parametrize("none", [True, False])
    def test_a_written_test_with_an_unused_input_passes_on_it(self, none: bool) -> None:
        """A probe whose graph leaves an input unused, written as a test in each regime for
        an engine that keeps None: every assertion holds on it, the zero-upstream one's too.
        For an engine whose gradients start at 0, the zero-upstream test asks for 0 alone."""
        from minigrad_tool.mutation.equivalence import ScalarProbe
        from minigrad_tool.mutation.probe import TestStyle
        from minigrad_tool.mutation.suggest import close_helper

        probe = ScalarProbe(
            "x * 2.0, y unused", lambda x, y: x * 2.0, (1.5, -2.0), ("out = x * 2.0",)
        )
        want = (None, 3.0, (2.0, 0.0), (0.37, -2.4), None, (0.0, 0.0), None)
        style = TestStyle("Value", leaf=lambda v: f"Value({v})", none_grad=none)
        zero = probe.test_lines(want, "zero", style)  # type: ignore[arg-type]
        assert ("assert y.grad is None or y.grad == 0" in zero) is none
        assert ("assert y.grad == 0" in zero) is not none
        if none:
            space: dict[str, Any] = {}
            exec(NONE_GRAD + close_helper("scalar", 1e-6, none=True), space)
            for lines in (probe.test_lines(want, "plain", style), zero):  # type: ignore[arg-type]
                exec("\n".join(lines), dict(space))


class TestTwoStandardGelus:
    def test_the_exact_form_is_recognised_and_said(self, tmp_path: Path) -> None:
        engine = write(tmp_path, with_gelu())
        result = minigrad(tmp_path, "gradcheck", "--engine", engine)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "note: gelu: its forward is the exact form" in result.stdout
        shown = minigrad(tmp_path, "inspect", "--engine", engine).stdout
        assert "gelu: its forward is the exact form" in shown

    def test_a_backward_bug_in_the_exact_form_is_caught(self, tmp_path: Path) -> None:
        result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, with_gelu(True)))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "the backward of Value.gelu" in result.stdout

    def test_a_forward_that_is_neither_form_is_a_finding(self, tmp_path: Path) -> None:
        wrong = with_gelu().replace("0.5 * x * (1 + math.erf", "0.5 * x * (1.01 + math.erf")
        result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, wrong))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "the forward of" in result.stdout and "gelu" in result.stdout

    def test_the_tanh_form_is_recognised_too(self) -> None:
        from minigrad_tool import ops

        exact, approximate = ops.KNOWN["gelu"].forward(1.3, 1.0), ops.KNOWN["gelu"].forward(1.3, 0)
        assert abs(exact - approximate) > 1e-4  # far apart: the measurement tells them apart
        assert ops.FORMS["gelu"][0].startswith("the tanh approximation")


ROW_BRANCH = """
        def _backward() -> None:
            if self.data.ndim == 1 and out.grad.ndim == 2 and self.data.size == out.grad.shape[1]:
                self.grad += out.grad.sum(axis=0)  # a row added to every row: its own branch
            else:
                self.grad += unbroadcast(out.grad, self.shape)
            other.grad += unbroadcast(out.grad, other.shape)
"""


@pytest.mark.e2e
def test_a_branch_for_1d_plus_2d_runs_in_the_battery_and_its_mutants_are_killed(
    tmp_path: Path,
) -> None:
    """`(4,) + (3, 4)` takes a branch of its own in this engine's `+`: the battery's pairs
    include 1-D against 2-D both ways, so its mutants are judged, not left uncovered."""
    source = (Path(__file__).parents[1] / "src/minigrad/tensor.py").read_text()
    plain = """
        def _backward() -> None:
            self.grad += unbroadcast(out.grad, self.shape)
            other.grad += unbroadcast(out.grad, other.shape)
"""
    assert source.count(plain) >= 1
    engine = write(tmp_path, source.replace(plain, ROW_BRANCH, 1), "rows.py")
    result = minigrad(
        tmp_path, "mutate", "--engine", engine, "--judge", "battery",
        "--operators", "sign,drop", "--json", "r.json",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    add = [m for f in report["files"].values() for m in f["mutants"] if m["id"].startswith("add-")]
    assert len(add) >= 4 and {m["status"] for m in add} == {"Killed"}


ALIAS_ADD = """    def add(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad  # a bug only the alias has

        out._backward = _backward
        return out

    def mul(self, other):
        return self * other

    def __pow__(self, other):"""


class TestAliases:
    def test_a_method_beside_its_operator_is_an_op_of_its_own(self, tmp_path: Path) -> None:
        """`x.add(y)` has its own step (with a bug `+` does not have): it is checked, named
        and blamed; `x.mul(y)`, built on `*`, passes."""
        micro = (ENGINES / "microstyle.py").read_text()
        engine = write(tmp_path, micro.replace("    def __pow__(self, other):", ALIAS_ADD, 1))
        result = minigrad(tmp_path, "gradcheck", "--engine", engine)
        assert result.returncode == 1, result.stdout + result.stderr
        assert re.search(r"add_method\s+x\.add\(y\).*FAILED", result.stdout)
        assert re.search(r"mul_method\s+x\.mul\(y\).*ok", result.stdout)
        assert "the backward of Value.add (engine.py:" in result.stdout
        assert not re.search(r"^add\s.*FAILED", result.stdout, re.M)  # `+` itself is right

    def test_an_operator_defined_as_the_method_is_one_op(self, tmp_path: Path) -> None:
        micro = (ENGINES / "microstyle.py").read_text()
        aliased = micro.replace(
            "    def __pow__(self, other):", "    add = __add__\n\n    def __pow__(self, other):", 1
        )
        result = minigrad(tmp_path, "inspect", "--engine", write(tmp_path, aliased))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "add_method" not in result.stdout

    @pytest.mark.e2e
    def test_a_tensor_alias_is_checked_on_a_broadcast(self, tmp_path: Path) -> None:
        source = (Path(__file__).parents[1] / "src/minigrad/tensor.py").read_text()
        alias = """    def add(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += unbroadcast(out.grad, self.shape)
            other.grad += out.grad  # no unbroadcast: a bug only the alias has

        out._backward = _backward
        return out

    def __add__(self, other"""
        engine = write(tmp_path, source.replace("    def __add__(self, other", alias, 1), "t.py")
        result = minigrad(tmp_path, "gradcheck", "--engine", engine)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "FAILED add_method_row" in result.stdout
        assert "add_method_same" in result.stdout and "sub_method" not in result.stdout


# --- steps in other files of the engine's package (DeZero's functions.py, an ops.py) -----

SPLIT = ENGINES / "split"  # engine.py holds the class, ops.py every op and its step
WEAK_SPLIT_TESTS = """from split import Value


def test_add():
    x, y = Value(2.0), Value(-3.0)
    (x + y).backward()
    assert x.grad == 1.0 and y.grad == 1.0


def test_tanh():
    x = Value(0.5)
    x.tanh().backward()
    assert abs(x.grad - 0.7864477329659275) < 1e-9
"""


def split_project(folder: Path) -> Path:
    """The split package copied into `folder`, with tests that never call `*` or exp."""
    shutil.copytree(SPLIT, folder / "split", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "test_split.py").write_text(WEAK_SPLIT_TESTS)
    return folder


@pytest.fixture(scope="module")
def split_battery(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, Any]]:
    """One battery campaign on the split package, with its JSON report and HTML page."""
    folder = split_project(tmp_path_factory.mktemp("split"))
    result = minigrad(
        folder,
        "mutate",
        "--engine",
        "split.engine",
        "--judge",
        "battery",
        "--json",
        "r.json",
        "--html",
        "r.html",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return folder, result.stdout, json.loads((folder / "r.json").read_text())


@pytest.fixture(scope="module")
def split_tests(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One campaign on the split package judged by tests that never call `*` or exp."""
    folder = split_project(tmp_path_factory.mktemp("split_tests"))
    result = minigrad(
        folder, "mutate", "--engine", "split.engine", "--tests", "test_split.py", "-v"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    return result.stdout


class TestStepsInOtherFiles:
    def test_discovery_finds_each_step_in_the_file_it_is_in(self, tmp_path: Path) -> None:
        folder = split_project(tmp_path)
        result = minigrad(folder, "inspect", "--engine", "split.engine")
        assert result.returncode == 0, result.stdout + result.stderr
        for op, style in (("add", "closure"), ("mul", "closure"), ("exp", "function-class")):
            assert re.search(rf"^{op}\s.*{style} \(line ops\.py:\d+\)", result.stdout, re.M)
        assert re.search(r"^sub\s.*none of its own: built from add, mul", result.stdout, re.M)
        assert "not mutated" not in result.stdout
        assert not list(folder.rglob("__pycache__"))  # no bytecode beside the user's files

    def test_every_file_that_holds_a_step_is_mutated_and_every_mutant_killed(
        self, split_battery: tuple[Path, str, dict[str, Any]]
    ) -> None:
        _, out, report = split_battery
        assert "mutation score: 100.0%" in out
        files = report["files"]
        assert set(files) == {"split/engine.py", "split/ops.py"}
        ids = {m["id"] for m in files["split/ops.py"]["mutants"]}
        for op in ("add", "mul", "tanh", "exp"):
            assert f"ops.py:{op}-sign" in ids
        assert all(i.startswith("ops.py:") for i in ids)
        engine_ids = {m["id"] for m in files["split/engine.py"]["mutants"]}
        assert engine_ids and not any(":" in i for i in engine_ids)  # backward() stays there
        assert files["split/ops.py"]["source"] == (SPLIT / "ops.py").read_text()

    def test_the_html_report_shows_each_file(
        self, split_battery: tuple[Path, str, dict[str, Any]]
    ) -> None:
        folder, _, _ = split_battery
        page = (folder / "r.html").read_text()
        assert "<h3>ops.py: mul</h3>" in page and "<h3>engine.py: Value.backward</h3>" in page

    def test_your_tests_judge_the_mutants_of_every_file(self, split_tests: str) -> None:
        out = split_tests
        assert re.search(r"ops\.py:tanh-assign \(ops\.py:\d+, tanh\)", out)
        assert "--- ops.py (original)" in out and "+++ ops.py (ops.py:tanh-assign)" in out
        assert re.search(r"^  mul \(line ops\.py:\d+", out, re.M) is None  # -v: one per mutant
        assert re.search(r"ops\.py:mul-sign \(ops\.py:\d+, mul\)", out)
        assert "no test runs line" in out

    def test_why_your_tests_miss_a_step_in_another_file(self, split_tests: str) -> None:
        """The habit recorder watches the steps where they are: test_add and test_tanh call
        backward() straight on the op's output, so a dropped `* out.grad` in ops.py lives."""
        out = split_tests
        assert "why your tests miss them" in out
        assert re.search(r"\d+ survivor\(s\), upstream-one: ", out)
        assert "in every test that ran their code (test_add, test_tanh)" in out

    def test_a_bug_in_another_file_is_injected_by_its_short_name(self, tmp_path: Path) -> None:
        folder = split_project(tmp_path)
        result = minigrad(
            folder, "inject", "mul-sign", "--engine", "split.engine", "--tests", "test_split.py"
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Injected ops.py:mul-sign into mul: += becomes -=" in result.stdout
        assert "ESCAPED your tests" in result.stdout
        assert (folder / "split/ops.py").read_bytes() == (SPLIT / "ops.py").read_bytes()

    def test_since_judges_only_the_op_whose_step_changed_in_another_file(
        self, tmp_path: Path
    ) -> None:
        folder = split_project(tmp_path)
        git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
        subprocess.run(["git", "init", "-q", "."], cwd=folder, check=True)
        subprocess.run([*git, "add", "-A"], cwd=folder, check=True)
        subprocess.run([*git, "commit", "-qm", "start"], cwd=folder, check=True)
        ops = folder / "split/ops.py"
        ops.write_text(
            ops.read_text().replace("a.grad += b.data * out.grad", "a.grad += out.grad * b.data")
        )
        result = minigrad(
            folder, "mutate", "--engine", "split.engine", "--judge", "battery", "--since", "HEAD"
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "judging mul (changed); not judged, unchanged since HEAD: add, tanh, exp" in (
            result.stdout
        )

    def test_a_sweep_in_another_file_is_mutated_there(self, tmp_path: Path) -> None:
        """jungrad's `Tensor.backward` calls `autograd.backward`, where the sweep is."""
        folder = split_project(tmp_path)
        engine = folder / "split/engine.py"
        source = engine.read_text()
        start, end = source.index("    def backward(self):"), len(source)
        (folder / "split/autograd.py").write_text(
            "def backward(root):\n"
            + "\n".join(line[4:] for line in source[start:end].splitlines()[1:]).replace(
                "self", "root"
            )
            + "\n"
        )
        engine.write_text(
            source[:start]
            + "    def backward(self):\n        from .autograd import backward\n\n"
            + "        backward(self)\n"
        )
        result = minigrad(
            folder, "mutate", "--engine", "split.engine", "--judge", "battery", "--json", "r"
        )
        assert result.returncode == 0, result.stdout + result.stderr
        files = json.loads((folder / "r").read_text())["files"]
        ids = {m["id"] for m in files["split/autograd.py"]["mutants"]}
        assert "autograd.py:backward-topo" in ids, ids
        assert "mutation score: 100.0%" in result.stdout

    @pytest.mark.parametrize("method", ["delegates", "is_the_function"])
    def test_a_wrong_step_in_another_file_is_named_there(self, tmp_path: Path, method: str) -> None:
        """The finding names the op's method and its step's file and line; its annotation
        points at the op's `def` in the file that holds it (the engine's `def tanh(self)`, or
        ops.py's `def tanh(a)` where the class says `tanh = ops.tanh`)."""
        folder = split_project(tmp_path)
        if method == "is_the_function":
            engine = folder / "split/engine.py"
            engine.write_text(
                engine.read_text().replace(
                    "    def tanh(self):\n        return ops.tanh(self)\n", "    tanh = ops.tanh\n"
                )
            )
        ops = folder / "split/ops.py"
        ops.write_text(ops.read_text().replace("(1 - t**2) * out.grad", "(1 - t) * out.grad"))
        result = minigrad(
            folder,
            "mutate",
            "--engine",
            "split.engine",
            "--judge",
            "battery",
            "--format",
            "github",
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert re.search(
            r"tanh: Value\.tanh \(\w+\.py:\d+(; its step: ops\.py:\d+)?\)", result.stdout
        )
        found = [a for a in result.stdout.splitlines() if "title=engine wrong%3A tanh" in a]
        assert found
        for annotation in found:  # a line it names is the op's `def` in that very file
            where = dict(p.split("=", 1) for p in annotation[len("::error ") :].split(",")[:2])
            line = (folder / where["file"]).read_text().splitlines()[int(where["line"]) - 1]
            assert line.strip().startswith("def tanh("), line

    def test_a_change_to_another_file_during_the_run_is_seen(self, tmp_path: Path) -> None:
        folder = split_project(tmp_path)
        spec = parse_spec(str(folder / "split/engine.py")).with_files(
            [str(folder / "split/ops.py")]
        )
        assert spec.changed_on_disk() == []
        assert spec.name_of(str(folder / "split/ops.py")) == "ops.py"
        (folder / "split/ops.py").write_text("# edited\n")
        assert spec.changed_on_disk() == [folder / "split/ops.py"]
        assert "def mul(a, b)" in spec.source_of(str(folder / "split/ops.py"))  # the snapshot


# --- ops as module functions (`F.sum(x)`, `ops.exp(x)`): clumsygrad, MiniTorch, jungrad ----

FNOPS = ENGINES / "fnops"  # tensor.py: operators only; functional.py: sum, exp, relu, tanh
FN_TESTS = """import numpy as np

from fnops import Tensor
from fnops import functional as F


def test_exp():
    x = Tensor(np.array([0.5, -1.0]))
    F.sum(F.exp(x)).backward()
    assert np.allclose(x.grad, np.exp([0.5, -1.0]))
"""


def fn_project(folder: Path, functional: str | None = None) -> Path:
    shutil.copytree(FNOPS, folder / "fnops", ignore=shutil.ignore_patterns("__pycache__"))
    if functional is not None:
        (folder / "fnops/functional.py").write_text(functional)
    (folder / "test_fn.py").write_text(FN_TESTS)
    return folder


class TestOpsAsModuleFunctions:
    def test_functions_of_the_package_are_ops_and_the_loss_is_built_with_them(
        self, tmp_path: Path
    ) -> None:
        folder = fn_project(tmp_path)
        # the package's own tests are not run to look for ops, whatever functions they define
        (folder / "fnops/tests").mkdir()
        (folder / "fnops/tests/__init__.py").write_text("")
        (folder / "fnops/tests/helpers.py").write_text("def mean(x, axis=None): return x\n")
        result = minigrad(folder, "gradcheck", "--engine", "fnops.tensor:Tensor")
        assert result.returncode == 0, result.stdout + result.stderr
        out = result.stdout
        assert re.search(
            r"^sum\s+fnops\.functional\.sum\(x, axis=\.\.\., keepdims=\.\.\.\)", out, re.M
        )
        assert re.search(r"^exp\s+fnops\.functional\.exp\(x\)\s+\(functional\.py:\d+\)", out, re.M)
        assert re.search(r"^tanh\s.*closure \(line functional\.py:\d+\)", out, re.M)  # reciprocal
        assert re.search(r"^matmul\s+fnops\.functional\.matmul\(x, y\)\s.*ok$", out, re.M)
        assert not re.search(r"^mean\s", out, re.M)

    def test_a_function_that_takes_its_tensors_as_star_args_is_found(self, tmp_path: Path) -> None:
        """nujo's `sum(*inputs, dim=None, keepdim=False)` sums one tensor's elements, several
        tensors elementwise: it was not read as a function of a node, and the engine was
        refused for having no sum."""
        source = (FNOPS / "functional.py").read_text()
        starred = source.replace(
            "def sum(x, axis=None, keepdims=False):\n",
            "def sum(*xs, axis=None, keepdims=False):\n    (x,) = xs\n",
        )
        assert starred != source
        folder = fn_project(tmp_path, starred)
        result = minigrad(folder, "gradcheck", "--engine", "fnops.tensor:Tensor")
        assert result.returncode == 0, result.stdout + result.stderr
        assert re.search(r"^sum\s+fnops\.functional\.sum\(x, axis=", result.stdout, re.M)

    def test_a_module_of_binary_functions_alone_is_found(self, tmp_path: Path) -> None:
        """matmul in a linalg.py nothing imports: the module is imported for it too."""
        source = (FNOPS / "functional.py").read_text()
        start = source.index("def matmul(")
        folder = fn_project(tmp_path, source[:start])
        (folder / "fnops/linalg.py").write_text(
            "import numpy as np\n\nfrom .tensor import Tensor, unbroadcast\n\n\n" + source[start:]
        )
        result = minigrad(folder, "inspect", "--engine", "fnops.tensor:Tensor")
        assert result.returncode == 0, result.stdout + result.stderr
        assert re.search(r"^matmul\s+fnops\.linalg\.matmul\(x, y\)", result.stdout, re.M)

    def test_a_wrong_step_of_a_function_is_found_and_named(self, tmp_path: Path) -> None:
        wrong = (
            (FNOPS / "functional.py")
            .read_text()
            .replace("x.grad += out.data * out.grad", "x.grad += out.grad")
        )
        folder = fn_project(tmp_path, wrong)
        result = minigrad(folder, "gradcheck", "--engine", "fnops.tensor:Tensor")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "the directions check of fnops.functional.exp (functional.py:" in result.stdout

    @pytest.mark.e2e
    def test_their_steps_are_mutated_and_suggested_tests_call_them(self, tmp_path: Path) -> None:
        folder = fn_project(tmp_path)
        engine = ["--engine", "fnops.tensor:Tensor"]
        first = minigrad(folder, "mutate", *engine, "--tests", "test_fn.py", "--suggest", "s.py")
        assert first.returncode == 1, first.stdout + first.stderr
        # unbroadcast's `while` loop, its reduction skipped, never ends: the probe it hangs in
        # is stopped by the CPU time it spent, and no test is written that would hang
        assert re.search(
            r"no test for unbroadcast-unbroadcast: probing it failed: past its [\d.]+ s of CPU "
            r"time during probe x \+ y on",
            first.stdout,
        ), first.stdout
        written = (folder / "s.py").read_text()
        assert "import fnops.functional\n" in written
        assert "fnops.functional.sum(out * Tensor(w)).backward()" in written
        assert "out = fnops.functional.exp(x)" in written
        both = minigrad(folder, "mutate", *engine, "--tests", "test_fn.py", "s.py", "--json", "r")
        report = json.loads((folder / "r").read_text())["files"]
        functional = report["fnops/functional.py"]["mutants"]
        assert "functional.py:exp-sign" in {m["id"] for m in functional}
        # a suggested test runs the hang: confirmed by the CPU time its second run spent
        hang = next(
            m for m in report["fnops/tensor.py"]["mutants"] if m["id"] == "unbroadcast-unbroadcast"
        )
        assert hang["status"] == "Timeout", hang
        assert (
            "again with 2x the deadline, of the CPU time it spent: past its"
            in (hang["statusReason"])
        )
        survivors = [
            m["id"] for f in report.values() for m in f["mutants"] if m["status"] == "Survived"
        ]
        # relu's `>` for `>=` differs only at the kink, where no test can be vouched for
        assert survivors == ["functional.py:relu-compare"], both.stdout


MODULE_FUNCTIONS = (ENGINES / "module_functions.py").read_text()
MODULE_FUNCTION_TESTS = """from engine import Value, sigmoid, tanh


def test_tanh_runs():
    x = Value(0.3)
    tanh(x).backward()
    assert x.grad > 0


def test_sigmoid_runs():
    x = Value(0.3)
    sigmoid(x).backward()
    assert x.grad > 0
"""


class TestScalarOpsAsModuleFunctions:
    """A scalar engine's tanh and sigmoid written as functions of its module (`tanh(x)`) were
    no ops: `gradcheck` passed an engine whose sigmoid had a wrong step, and `mutate` made no
    mutant of either.  Functions of the engine's module with a known op's name, taking one
    node, are ops now, called (and written in tests) as `engine.tanh(x)`."""

    def test_they_are_checked_and_a_wrong_one_is_found(self, tmp_path: Path) -> None:
        write(tmp_path, MODULE_FUNCTIONS)
        right = minigrad(tmp_path, "gradcheck", "--engine", "engine.py")
        assert right.returncode == 0, right.stdout + right.stderr
        assert re.search(
            r"^tanh\s+engine\.tanh\(x\)\s+\(engine\.py:\d+\)\s.*ok$", right.stdout, re.M
        )
        assert re.search(
            r"^sigmoid\s+engine\.sigmoid\(x\)\s.*sigmoid_reuse\s+ok$", right.stdout, re.M
        )
        assert "_scale" not in right.stdout
        wrong = MODULE_FUNCTIONS.replace("s * (1 - s) * out.grad", "s * out.grad")
        assert wrong != MODULE_FUNCTIONS
        write(tmp_path, wrong)
        found = minigrad(tmp_path, "gradcheck", "--engine", "engine.py")
        assert found.returncode == 1, found.stdout + found.stderr
        assert "the backward of engine.sigmoid (engine.py:" in found.stdout
        assert "\nwrong: sigmoid (" in found.stdout

    def test_a_function_of_numbers_named_like_an_op_is_no_op(self, tmp_path: Path) -> None:
        """A helper of floats (`log(v)`, used by no op here) is called with a node once, fails
        there, and is said to be no op; the engine is checked as before."""
        write(tmp_path, MODULE_FUNCTIONS + "\n\ndef log(v):\n    return math.log(v)\n")
        checked = minigrad(tmp_path, "gradcheck", "--engine", "engine.py")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert not re.search(r"^log\s", checked.stdout, re.M)
        assert re.search(r"^not an op here: .*log", checked.stdout, re.M), checked.stdout

    def test_the_random_graphs_of_the_probes_call_them_as_functions(self) -> None:
        from minigrad_tool.mutation.equivalence import probes

        loaded = load_in_process(str(ENGINES / "module_functions.py"))
        lines = [line for probe in probes(loaded.profile) for line in probe.lines]
        assert any("module_functions.tanh(" in line for line in lines)
        assert not any(".tanh()" in line for line in lines)

    def test_one_that_kills_its_child_is_a_wrong_op_named_as_it_is(self, tmp_path: Path) -> None:
        """A function op that ends the process is blamed as such, and named by its module,
        not as a method of the class (it said "during calling Value.tanh")."""
        exits = "def tanh(x):\n    import os\n\n    os._exit(3)\n"
        killing = MODULE_FUNCTIONS.replace("def tanh(x):\n", exits + "\n\ndef _tanh(x):\n")
        assert killing != MODULE_FUNCTIONS
        write(tmp_path, killing)
        found = minigrad(tmp_path, "gradcheck", "--engine", "engine.py")
        assert found.returncode == 1, found.stdout + found.stderr
        assert "the op engine.tanh crashes in the engine's code: the engine exited" in found.stdout
        assert "during calling engine.tanh (engine.tanh(x))" in found.stdout
        assert "Value.tanh" not in found.stdout

    def test_a_static_method_named_like_an_op_is_one(self, tmp_path: Path) -> None:
        """`@staticmethod def sigmoid(x)` on `Value` was never called (no method of a node),
        and its wrong step went unseen: gradcheck passed.  It is called as
        `engine.Value.sigmoid(x)` now."""
        engine, _, functions = MODULE_FUNCTIONS.partition("\n\ndef _scale")
        start = functions.index("def sigmoid(x):")
        static = "    @staticmethod\n" + "".join(
            f"    {line}" if line else "" for line in functions[start:].splitlines(True)
        )
        wrong = static.replace("s * (1 - s) * out.grad", "s * out.grad")
        assert wrong != static
        write(
            tmp_path, engine.replace("    def backward(self):", wrong + "\n    def backward(self):")
        )
        found = minigrad(tmp_path, "gradcheck", "--engine", "engine.py")
        assert found.returncode == 1, found.stdout + found.stderr
        assert re.search(
            r"^sigmoid\s+engine\.Value\.sigmoid\(x\)\s+\(engine\.py:", found.stdout, re.M
        )
        assert "\nwrong: sigmoid (" in found.stdout

    def test_functions_of_another_module_of_the_package_are_ops_too(self, tmp_path: Path) -> None:
        """The lab's layout: `Value` in src/minigrad/engine.py, its activations in a
        functional.py that the package's __init__ does not import (read first, then imported
        for its `def tanh(`), called through the module that defines them.  A function of
        numbers in another file (kaitorch's `functional.sigmoid`, which its steps call) fails
        on a node and is said nowhere: it is none of the engine's ops."""
        package = tmp_path / "src" / "minigrad"
        package.mkdir(parents=True)
        engine, _, functions = MODULE_FUNCTIONS.partition("\n\ndef _scale")
        (package / "__init__.py").write_text("from .engine import Value\n")
        (package / "engine.py").write_text(engine + "\n")
        wrong = functions.replace("s * (1 - s) * out.grad", "s * out.grad")
        assert wrong != functions
        imports = "import math\n\nfrom .engine import Value\n\n\ndef _scale"
        (package / "functional.py").write_text(imports + wrong)
        (package / "numbers.py").write_text(
            "import math\n\n\ndef exp(v):\n    return math.exp(v)\n"
        )
        found = minigrad(tmp_path, "gradcheck", "--engine", "src/minigrad/engine.py")
        assert found.returncode == 1, found.stdout + found.stderr
        assert re.search(r"^tanh\s+minigrad\.functional\.tanh\(x\)\s.*ok$", found.stdout, re.M)
        assert "the backward of minigrad.functional.sigmoid (functional.py:" in found.stdout
        assert "\nwrong: sigmoid (" in found.stdout
        assert "numbers.exp" not in found.stdout and not re.search(r"^exp\s", found.stdout, re.M)

    def test_a_function_is_called_by_a_path_that_reaches_it(self, tmp_path: Path) -> None:
        """numtorch's layout: functions/tanh.py defines tanh, and functions/__init__.py runs
        `from .tanh import tanh`, which hides the module behind the function.  Called as
        `minigrad.functions.tanh.tanh(x)`, the tests --suggest wrote raised AttributeError
        (and were dropped); it is `minigrad.functions.tanh(x)` now."""
        package = tmp_path / "src" / "minigrad"
        (package / "functions").mkdir(parents=True)
        engine, _, functions = MODULE_FUNCTIONS.partition("\n\ndef _scale")
        (package / "__init__.py").write_text("from .engine import Value\n")
        (package / "engine.py").write_text(engine + "\n")
        tanh = functions[functions.index("def tanh") : functions.index("def sigmoid")]
        imports = "import math\n\nfrom minigrad.engine import Value\n\n\n"
        (package / "functions" / "tanh.py").write_text(imports + tanh)
        (package / "functions" / "__init__.py").write_text("from .tanh import tanh\n")
        found = minigrad(tmp_path, "inspect", "--engine", "src/minigrad/engine.py")
        assert found.returncode == 0, found.stdout + found.stderr
        assert re.search(r"^tanh\s+minigrad\.functions\.tanh\(x\)\s", found.stdout, re.M)

    def test_a_module_beside_a_lone_engine_that_builds_on_it_is_read(self, tmp_path: Path) -> None:
        """A flat project: engine.py, activations.py (`from engine import Value`, tanh and a
        wrong sigmoid), a training script and the tests.  activations.py is imported for its
        ops; the script (code at its top level) and the test file never run."""
        engine, _, functions = MODULE_FUNCTIONS.partition("\n\ndef _scale")
        write(tmp_path, engine + "\n")
        wrong = functions[functions.index("def tanh") :].replace(
            "s * (1 - s) * out.grad", "s * out.grad"
        )
        main = '\n\nif __name__ == "__main__":\n    print(sigmoid(Value(0.3)).data)\n'
        imports = "import math\n\nfrom engine import Value\n\n\n"
        write(tmp_path, imports + wrong + main, "activations.py")
        # a call at the top level makes it a script: imported, its exp(x) would be an op
        script = "def exp(x):\n    return x\n\n\nEPOCHS = int('3')\n"
        write(tmp_path, imports + script, "train.py")
        write(tmp_path, imports + script.replace("exp", "log"), "test_engine.py")
        found = minigrad(tmp_path, "gradcheck", "--engine", "engine.py")
        assert found.returncode == 1, found.stdout + found.stderr
        assert re.search(r"^tanh\s+activations\.tanh\(x\)\s+\(activations\.py:", found.stdout, re.M)
        assert "the backward of activations.sigmoid (activations.py:" in found.stdout
        assert "\nwrong: sigmoid (" in found.stdout
        assert not re.search(r"^(exp|log)\s", found.stdout, re.M)

    @pytest.mark.e2e
    def test_their_steps_are_mutated_and_written_tests_call_them(self, tmp_path: Path) -> None:
        write(tmp_path, MODULE_FUNCTIONS)
        (tmp_path / "test_runs.py").write_text(MODULE_FUNCTION_TESTS)
        engine = ["--engine", "engine.py"]
        first = minigrad(
            tmp_path, "mutate", *engine, "--tests", "test_runs.py", "--suggest", "s.py"
        )
        assert first.returncode == 1, first.stdout + first.stderr
        assert re.search(r"^tanh\s+\d+/\d+", first.stdout, re.M)
        assert "(engine.py:" in first.stdout and ", sigmoid): " in first.stdout  # a survivor's unit
        written = (tmp_path / "s.py").read_text()
        assert "import engine\n" in written and "out = engine.sigmoid(x)" in written
        both = minigrad(tmp_path, "mutate", *engine, "--tests", "test_runs.py", "s.py")
        assert both.returncode == 0, both.stdout + both.stderr
        assert "mutation score: 100.0%" in both.stdout


RELU_ALONE = """class Value:
    def __init__(self, data, parents=()):
        self.data = float(data)
        self.grad = 0.0
        self.parents = list(parents)
        self._backward = lambda: None

    def backward(self):
        topo, seen = [], set()

        def build(n):
            if id(n) not in seen:
                seen.add(id(n))
                for p in n.parents:
                    build(p)
                topo.append(n)

        build(self)
        self.grad = 1.0
        for n in reversed(topo):
            n._backward()


def relu(x):
    out = Value(x.data if x.data > 0 else 0.0, [x])

    def _backward():
        x.grad += (1.0 if x.data > 0 else 0.0) * out.grad

    out._backward = _backward
    return out
"""


def test_an_engine_of_one_op_with_no_add_is_checked_and_its_walk_probed(tmp_path: Path) -> None:
    """An exercise's engine: `Value` and `relu(x)`, no `+` nor `*`.  gradcheck said "no
    verdict, minigrad itself failed" (its upstream check scales the output with one of them);
    now it checks relu and says what it cannot check.  backward()'s walk in the wrong order
    was called equivalent (the probes built no graph of two nodes): `relu(relu(x))` shows it."""
    write(tmp_path, RELU_ALONE)
    checked = minigrad(tmp_path, "gradcheck", "--engine", "engine.py")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert re.search(r"^relu\s+engine\.relu\(x\)\s.*ok$", checked.stdout, re.M)
    assert "note: it has neither * nor + of nodes: no output can be scaled" in checked.stdout
    mutated = minigrad(tmp_path, "mutate", "--engine", "engine.py", "--verbose")
    assert mutated.returncode == 1, mutated.stdout + mutated.stderr
    survived = mutated.stdout.split("SURVIVED", 1)[1].split("equivalent mutants", 1)[0]
    assert "backward-topo (engine.py:" in survived
    assert "engine.relu(h) where h = engine.relu(x) at x=" in survived
    equivalent = mutated.stdout.split("equivalent mutants", 1)[1]
    assert "and each op applied to its own output;" in equivalent  # no random graph: no +


# --- engines that set gradients on each backward (mygrad), with a read-only .grad ----------

SETS = ENGINES / "tensor_sets_grads.py"


class TestEnginesThatSetGradients:
    def test_the_convention_is_measured_said_and_checked(self, tmp_path: Path) -> None:
        result = minigrad(tmp_path, "gradcheck", "--engine", str(SETS))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "backward() sets gradients, it does not add to an earlier backward's" in (
            result.stdout
        )
        assert re.search(r"\d+ passed, 0 failed", result.stdout)

    def test_an_engine_that_accumulates_is_held_to_accumulating(self, tmp_path: Path) -> None:
        source = SETS.read_text().replace("            v.null_grad()\n", "            pass\n")
        engine = write(tmp_path, source)
        result = minigrad(tmp_path, "gradcheck", "--engine", engine)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "sets gradients" not in result.stdout
        assert "accumulation is checked by a second backward" in result.stdout

    def test_a_step_that_assigns_is_still_caught(self, tmp_path: Path) -> None:
        """Setting gradients per backward is a convention; within one graph, contributions
        from two paths must still add up."""
        source = SETS.read_text().replace(
            "self._grad += unbroadcast(other.data * out._grad, self.shape)",
            "self._grad = unbroadcast(other.data * out._grad, self.shape)",
        )
        engine = write(tmp_path, source)
        result = minigrad(tmp_path, "gradcheck", "--engine", engine)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "FAILED two_products" in result.stdout

    @pytest.mark.parametrize(
        ("method", "case"),
        [
            ("reshape", "reshape_called_twice"),
            ("broadcast_to", "broadcast_to_called_twice"),
        ],
    )
    def test_a_shape_op_that_assigns_is_caught(
        self, tmp_path: Path, method: str, case: str
    ) -> None:
        """pygradproject 0.0.3 zeroes every gradient in backward(): nothing is pre-seeded, and
        its reshape's `assign` mutant (`self.grad = ...` for `+=`) was called equivalent, no
        case using one input twice through a reshape.  `x.reshape(s) + x.reshape(s)` tells it."""
        steps = {
            "reshape": (
                "    def reshape(self, shape):\n"
                "        out = Tensor(self.data.reshape(shape), (self,))\n\n"
                "        def _backward():\n"
                "            self._grad = out._grad.reshape(self.shape)\n\n"
                "        out._backward = _backward\n"
                "        return out\n\n"
            ),
            "broadcast_to": (
                "    def broadcast_to(self, shape):\n"
                "        out = Tensor(np.broadcast_to(self.data, shape), (self,))\n\n"
                "        def _backward():\n"
                "            self._grad = unbroadcast(out._grad, self.shape)\n\n"
                "        out._backward = _backward\n"
                "        return out\n\n"
            ),
        }
        source = SETS.read_text().replace("    def backward(self):\n", steps[method] + (
            "    def backward(self):\n"
        ), 1)  # fmt: skip
        engine = write(tmp_path, source)
        result = minigrad(tmp_path, "gradcheck", "--engine", engine)
        assert result.returncode == 1, result.stdout + result.stderr
        failed = re.findall(r"^FAILED (\S+)", result.stdout, re.M)
        assert failed == [case], result.stdout


# --- a scalar backward() that zeroes every gradient it reaches first (nano-autograds 1.1.1) ----

MICROSTYLE = (ENGINES / "microstyle.py").read_text()
RESETS = MICROSTYLE.replace(
    "                visited.add(v)\n",
    "                visited.add(v)\n                v.grad = 0\n",
    1,
)


def _value_class(source: str) -> type[Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "engine.py", "exec"), namespace)
    return namespace["Value"]  # type: ignore[no-any-return]


class TestScalarEnginesThatResetGradients:
    """nano-autograds' backward() sets every gradient it reaches to 0 before the pass ("to
    prevent previous values affecting the result"): its steps use `+=` and every gradient is
    right, but a pre-seeded gradient is gone.  Every op's case failed its accumulation check
    (one blame was printed for all, and `mutate` judged by the 4 cases left, calling 11 ops
    wrong).  Now the convention is measured once on the unmutated engine, blamed once on
    backward(), and the op cases are checked with it, so every mutant is judged."""

    def test_the_probe_tells_a_reset_from_accumulating(self) -> None:
        assert RESETS != MICROSTYLE
        assert backward_resets(_value_class(RESETS))
        assert not backward_resets(_value_class(MICROSTYLE))
        assert grad_is_owned(_value_class(RESETS))

    def test_one_blame_on_backward_and_every_op_checked(self, tmp_path: Path) -> None:
        result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, RESETS))
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stdout.count("FAILED ") == 1
        assert "FAILED backward_accumulates" in result.stdout
        assert "a second backward into the same inputs must set their gradients again" in (
            result.stdout
        )
        assert re.search(r"\b[1-9]\d* passed, 1 failed", result.stdout)

    def test_a_step_that_assigns_is_still_caught(self, tmp_path: Path) -> None:
        buggy = RESETS.replace(
            "self.grad += other.data * out.grad", "self.grad = other.data * out.grad", 1
        )
        assert buggy != RESETS
        result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, buggy))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "FAILED mul_reuse" in result.stdout

    def test_its_mutants_are_judged_and_every_one_killed(self, tmp_path: Path) -> None:
        engine = write(tmp_path, RESETS)
        result = minigrad(tmp_path, "mutate", "--engine", engine, "--judge", "battery")
        assert result.returncode == 1, result.stdout + result.stderr
        first = result.stdout.splitlines()[0]
        assert first.startswith("YOUR ENGINE IS WRONG") and "(backward)" in first
        assert re.search(r"mutation score: 100\.0% \([1-9]\d* killed, 0 survived", result.stdout)


# --- a backward pass named backwards() (NanoAutoGrad 0.1.2, nanograd-bgriebel 0.1.4) -----------

BACKWARDS = MICROSTYLE.replace("    def backward(self):", "    def backwards(self):", 1)


class TestABackwardPassNamedBackwards:
    """Both engines were refused ("has no backward() (found backwards(), not backward())"):
    the class gets `backward` as an alias of that very function in minigrad's processes, the
    note says so, and the tests minigrad writes call `backwards()`."""

    def test_the_alias_is_the_engines_own_function(self) -> None:
        cls = _value_class(BACKWARDS)
        assert "backward" not in vars(cls)
        assert alias_backward(cls) == "backwards" and backward_name(cls) == "backwards"
        assert cls.backward is cls.backwards  # a mutant of one is a mutant of both
        plain = _value_class(MICROSTYLE)
        assert alias_backward(plain) == "" and backward_name(plain) == "backward"

    @pytest.mark.parametrize("name", ["backprop", "backwardPropagation"])
    def test_other_names_of_a_whole_pass_are_taken_too(self, name: str) -> None:
        """delgrada 0.1.2's `backprop()`, quackgrad 0.1.0's `backwardPropagation(grad=None)`."""
        cls = _value_class(MICROSTYLE.replace("def backward(self):", f"def {name}(self):", 1))
        assert alias_backward(cls) == name and cls.backward is getattr(cls, name)

    def test_a_backwards_that_needs_arguments_is_not_taken(self) -> None:
        cls = _value_class(BACKWARDS.replace("def backwards(self):", "def backwards(self, g):"))
        assert alias_backward(cls) == ""
        assert not hasattr(cls, "backward")

    def test_checked_mutated_and_written_for_in_its_own_spelling(self, tmp_path: Path) -> None:
        # compiled code is called as any op (TestCompiledOps); a builtin is no method
        engine = write(tmp_path, BACKWARDS + "\n    exp = abs\n")
        checked = minigrad(tmp_path, "gradcheck", "--engine", engine)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "its backward pass is Value.backwards(): minigrad calls it as backward()" in (
            checked.stdout
        )
        assert "not an op here: Value.exp: x.exp() raised TypeError: abs()" in checked.stdout
        written = weak_test_then_suggest(tmp_path, engine, "Value({})", "backwards")
        assert ".backwards()" in written and ".backward()" not in written
        again = minigrad(
            tmp_path, "mutate", "--engine", engine, "--tests", "tests", "--judge", "tests"
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert "mutation score: 100.0%" in again.stdout


# --- a backward pass under a name minigrad cannot guess (updateGradients(), a clone on GitHub) -

UPDATE = MICROSTYLE.replace("    def backward(self):", "    def updateGradients(self):", 1)


class TestABackwardPassTheUserNames:
    """`updateGradients()` was refused ("has no backward()") with nothing the user could do:
    `--backward NAME` (or `backward` in [tool.minigrad]) names it, and minigrad calls it as it
    calls `backwards()`; a name that cannot be the pass is refused, saying why."""

    def test_the_named_method_alone_is_aliased(self) -> None:
        cls = _value_class(UPDATE)
        assert alias_backward(cls) == "" and not hasattr(cls, "backward")
        assert alias_backward(cls, "updateGradients") == "updateGradients"
        assert cls.backward is cls.updateGradients and backward_name(cls) == "updateGradients"
        other = _value_class(BACKWARDS)  # backwards() is found, but not in place of a name
        assert alias_backward(other, "updateGradients") == "" and not hasattr(other, "backward")

    def test_refused_until_named_then_checked_mutated_and_written_for(self, tmp_path: Path) -> None:
        engine = write(tmp_path, UPDATE)
        refused = minigrad(tmp_path, "gradcheck", "--engine", engine)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "has no backward(); where a method of another name runs the whole backward " in (
            refused.stderr
        )
        assert "name it: --backward NAME, or `backward` in [tool.minigrad]" in refused.stderr
        checked = minigrad(
            tmp_path, "gradcheck", "--engine", engine, "--backward", "updateGradients"
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "its backward pass is Value.updateGradients(): minigrad calls it as backward()" in (
            checked.stdout
        )
        assert "Value.updateGradients:" not in checked.stdout  # the pass is no op to call
        (tmp_path / "pyproject.toml").write_text(
            '[tool.minigrad]\nengine = "engine.py"\nbackward = "updateGradients"\n'
        )
        written = weak_test_then_suggest(tmp_path, engine, "Value({})", "updateGradients")
        assert ".updateGradients()" in written and ".backward()" not in written
        again = minigrad(tmp_path, "mutate", "--tests", "tests", "--judge", "tests")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "mutation score: 100.0%" in again.stdout

    @pytest.mark.parametrize(
        ("source", "name", "said"),
        [
            (UPDATE, "updateGradient", "Value has no updateGradient() (the backward pass you "
             "named); did you mean Value.updateGradients()?"),
            (UPDATE + "\n    def _backward_step(self):\n        pass\n", "updateGradient",
             "did you mean Value.updateGradients()?"),  # a node's own step is no pass to name
            (UPDATE.replace("def updateGradients(self):", "def updateGradients(self, g):"),
             "updateGradients", "Value.updateGradients() (the backward pass you named) needs "
             "arguments; minigrad calls the whole backward pass with none"),
            (MICROSTYLE + "\n    def backprop(self):\n        self.backward()\n", "backprop",
             "Value has a backward() of its own, which minigrad calls as the whole backward "
             "pass; it cannot call backprop() in its place"),
        ],
        ids=["misspelt", "beside-a-step", "needs-arguments", "not-the-pass-minigrad-calls"],
    )  # fmt: skip
    def test_a_name_that_cannot_be_the_pass_is_refused_saying_why(
        self, tmp_path: Path, source: str, name: str, said: str
    ) -> None:
        engine = write(tmp_path, source)
        result = minigrad(tmp_path, "gradcheck", "--engine", engine, "--backward", name)
        assert result.returncode == 2, result.stdout + result.stderr
        assert said in result.stderr and "Traceback" not in result.stderr


# --- no op's step found: the derivatives in a table backward() looks up -------------------------

TABLE = """
DERIVATIVES = {"+": lambda a, b: (1.0, 1.0), "*": lambda a, b: (b, a)}


class Value:
    def __init__(self, data, children=(), op=""):
        self.data, self.grad, self._prev, self._op = data, 0.0, tuple(children), op

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), "+")

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), "*")

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)

        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            if v._op:
                a, b = (c.data for c in v._prev)
                for c, local in zip(v._prev, DERIVATIVES[v._op](a, b)):
                    c.grad += local * v.grad
"""


def test_no_verdict_where_no_ops_step_is_mutated(tmp_path: Path) -> None:
    """Only backward() had mutants, every one killed: exit 0 at 100% said the tests would
    catch a wrong derivative where no op's derivative was mutated (as for engines that set
    local derivatives after making the node, `out.grad_wrt[self] = ...`, until they were read).
    Now no verdict, saying why; the battery still checks the ops."""
    engine = write(tmp_path, TABLE)
    result = minigrad(tmp_path, "mutate", "--engine", engine, "--judge", "battery")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "has no op whose backward step minigrad can mutate (add, mul)" in result.stderr
    assert "only Value.backward() has mutants" in result.stderr
    assert "mutation score" not in result.stdout
    checked = minigrad(tmp_path, "gradcheck", "--engine", engine)
    assert checked.returncode == 0, checked.stdout + checked.stderr


GRADIENTS_FUNCTION = """
from collections import defaultdict


class Variable:
    def __init__(self, value, local_gradients=()):
        self.value = value
        self.local_gradients = local_gradients

    def __mul__(self, other):
        return Variable(self.value * other.value, ((self, other.value), (other, self.value)))


def get_gradients(variable):
    gradients = defaultdict(lambda: 0)

    def walk(variable, path_value):
        for child, local in variable.local_gradients:
            gradients[child] += path_value * local
            walk(child, path_value * local)

    walk(variable, 1)
    return gradients
"""


def test_gradients_returned_by_a_function_are_refused_saying_what_would_serve(
    tmp_path: Path,
) -> None:
    """A reverse-mode tutorial's style (ten files at least a code search of GitHub finds):
    no .grad, no backward(), a function that returns every gradient.  Refused as before, now
    saying what would let minigrad check it; done so, the battery passes, and `mutate` gives
    no verdict (its steps, pairs of input and derivative, are not read)."""
    engine = write(tmp_path, GRADIENTS_FUNCTION)
    refused = minigrad(tmp_path, "gradcheck", "--engine", engine)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "its gradients seem to come back from get_gradients(...), a function" in refused.stderr
    served = GRADIENTS_FUNCTION.replace(
        "        self.local_gradients = local_gradients\n",
        "        self.local_gradients = local_gradients\n        self.grad = 0\n\n"
        "    def backward(self):\n"
        "        for node, g in get_gradients(self).items():\n"
        "            node.grad += g\n",
    )
    engine = write(tmp_path, served, "served.py")
    checked = minigrad(tmp_path, "gradcheck", "--engine", engine)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    mutated = minigrad(tmp_path, "mutate", "--engine", engine, "--judge", "battery")
    assert mutated.returncode == 2, mutated.stdout + mutated.stderr
    assert "has no op whose backward step minigrad can mutate (mul)" in mutated.stderr


# --- a gradient kept in .gradient (micrograd clones on GitHub, dragongrad on the registry) -----

GRADIENT = re.sub(r"\.grad\b", ".gradient", MICROSTYLE)


PRIVATE = re.sub(r"\.grad\b", "._grad", re.sub(r"\.data\b", "._val", MICROSTYLE))


def test_a_number_and_gradient_kept_private_are_read_there(tmp_path: Path) -> None:
    """`self._val`, `self._grad` (an engine on GitHub, no property over either): refused
    before ("has no .data, nor a number in .val, ...; has no .grad (it keeps a number in
    ._grad ...)").  Read there as `.gradient` is, and the tests minigrad writes read them."""
    assert "._grad" in PRIVATE and "._val" in PRIVATE and ".data" not in PRIVATE
    engine = write(tmp_path, PRIVATE)
    checked = minigrad(tmp_path, "gradcheck", "--engine", engine)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "its nodes keep their gradient in ._grad" in checked.stdout
    written = weak_test_then_suggest(tmp_path, engine, "Value({})", grad="_grad")
    assert "._grad" in written and ".grad " not in written and "._val" in written
    again = minigrad(tmp_path, "mutate", "--engine", engine, "--tests", "tests", "--judge", "tests")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "mutation score: 100.0%" in again.stdout


COERCING = """

def as_node(op):
    def coerced(self, other):  # no functools.wraps: nothing names the op it calls
        return op(self, other if isinstance(other, Value) else Value(other))

    return coerced
"""


def test_an_op_behind_a_decorator_that_keeps_no_wrapped_is_the_ops_own(tmp_path: Path) -> None:
    """`@force_var` on each operator (an engine on GitHub), whose wrapper closes over the op but
    keeps no `__wrapped__`: every decorated op was placed at the wrapper's line and read
    "none seen", none mutated.  The op is the function the wrapper holds under its name."""
    source = COERCING + MICROSTYLE.replace(
        "    def __add__(self, other):", "    @as_node\n    def __add__(self, other):", 1
    ).replace("    def __mul__(self, other):", "    @as_node\n    def __mul__(self, other):", 1)
    assert source.count("@as_node") == 2
    engine = write(tmp_path, source)
    profile = load_in_process(str(tmp_path / engine)).profile
    lines = source.splitlines()
    for op in ("add", "mul"):
        placed = profile.op(op)
        decorated = lines[placed.line - 1 : placed.line + 1]  # a decorated function's first
        assert [line.strip()[:11] for line in decorated] == ["@as_node", f"def __{op}__"]
        assert [s.style for s in placed.steps] == ["closure"], placed
    result = minigrad(tmp_path, "mutate", "--engine", engine, "--judge", "battery")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^add +\d/\d", result.stdout, re.M) and "not mutated" not in result.stdout


class TestAGradientKeptInGradient:
    """Such engines were refused ("has no .grad (it keeps a number in .gradient; minigrad
    reads .grad)"): the class gets a `grad` property over that very attribute in minigrad's
    processes, its steps are mutated as `.grad` steps are, and what minigrad writes and says
    reads `.gradient`."""

    def test_the_alias_reads_and_writes_the_engines_own_attribute(self) -> None:
        cls = _value_class(GRADIENT)
        assert GRADIENT.count(".gradient") == MICROSTYLE.count(".grad") > 0
        assert alias_grad(cls) == "gradient" and grad_name(cls) == "gradient"
        x = cls(2.0)
        x.grad = 0.25
        assert x.gradient == 0.25 and x.grad == 0.25 and "grad" not in vars(x)
        plain = _value_class(MICROSTYLE)
        assert alias_grad(plain) == "" and grad_name(plain) == "grad"
        assert "grad" not in vars(plain)

    def test_a_read_only_gradient_stays_read_only(self, tmp_path: Path) -> None:
        """`.gradient` a property without a setter over `._grad`, reset by `null_grad()`:
        read-only under minigrad's name too, so nothing is pre-seeded into it."""
        source = READ_ONLY.replace("    def grad(self):", "    def gradient(self):")
        assert source != READ_ONLY
        cls = _value_class(source)
        assert alias_grad(cls) == "gradient" and grad_is_read_only(cls)
        result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, source))
        assert result.returncode == 0, result.stdout + result.stderr
        assert re.search(r"\b[1-9]\d* passed, 0 failed", result.stdout)
        assert ".gradient is a read-only property: nothing is pre-seeded" in result.stdout

    def test_a_class_with_neither_is_not_given_one(self) -> None:
        cls = _value_class(MICROSTYLE.replace("self.grad = 0\n", "self.adjoint = 0\n", 1))
        assert alias_grad(cls) == "" and not hasattr(cls(1.0), "grad")

    def test_a_leaf_given_a_gradient_at_import_is_named(self) -> None:
        """What a test module computed on the unmutated engine when it was imported (a leaf's
        gradient, with no children to show it) judges no mutant: it is named as such."""
        cls = _value_class(GRADIENT)
        module = types.ModuleType("test_at_import")
        module.x, module.w = cls(0.5), cls(2.0)  # type: ignore[attr-defined]
        module.x.gradient = 0.3  # type: ignore[attr-defined]
        assert computed_at_import(module, frozenset({cls.__module__}), "_prev") == ["x"]

    def test_its_mutants_and_verdicts_are_those_of_its_grad_twin(self, tmp_path: Path) -> None:
        judged = {}
        for name, source in (("grad", MICROSTYLE), ("gradient", GRADIENT)):
            engine = write(tmp_path, source, f"{name}_engine.py")
            json_path = f"{name}.json"
            result = minigrad(
                tmp_path, "mutate", "--engine", engine, "--judge", "battery", "--json", json_path
            )
            assert result.returncode == 0, result.stdout + result.stderr
            report = json.loads((tmp_path / json_path).read_text())
            judged[name] = sorted(
                (m["id"], m["status"], m["replacement"].replace(".gradient", ".grad"))
                for f in report["files"].values()
                for m in f["mutants"]
            )
        assert len(judged["grad"]) > 50
        assert judged["gradient"] == judged["grad"]

    def test_a_wrong_step_is_told_in_its_own_spelling(self, tmp_path: Path) -> None:
        buggy = GRADIENT.replace(
            "self.gradient += other.data * out.gradient",
            "self.gradient = other.data * out.gradient",
        )
        assert buggy != GRADIENT
        result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, buggy))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "FAILED mul" in result.stdout
        assert "input pre-seeded with .gradient = " in result.stdout
        assert "its nodes keep their gradient in .gradient: minigrad reads and writes it" in (
            result.stdout
        )

    def test_a_tensor_engine_is_told_in_its_own_spelling_too(self, tmp_path: Path) -> None:
        """Our Tensor written with `.gradient`, exp's step planted as `=`."""
        source = (Path(__file__).parents[1] / "src" / "minigrad" / "tensor.py").read_text()
        step = "self.gradient += out.data * out.gradient"
        buggy = re.sub(r"\.grad\b", ".gradient", source).replace(step, step.replace("+=", "="))
        assert step.replace("+=", "=") in buggy
        result = minigrad(tmp_path, "gradcheck", "--engine", f"{write(tmp_path, buggy)}:Tensor")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "x.gradient pre-seeded with" in result.stdout and "x.grad " not in result.stdout
        assert "its nodes keep their gradient in .gradient" in result.stdout

    def test_tests_are_written_and_habits_told_in_its_own_spelling(self, tmp_path: Path) -> None:
        engine = write(tmp_path, GRADIENT)
        written = weak_test_then_suggest(tmp_path, engine, "Value({})", grad="gradient")
        assert "assert close(x.gradient, " in written and "x.gradient = " in written
        assert not re.search(r"\.grad\b", written)
        weak = "tests/test_weak.py"
        told = minigrad(tmp_path, "mutate", "--engine", engine, "--tests", weak, "--judge", "tests")
        assert told.returncode == 1, told.stdout + told.stderr
        assert "upstream-one" in told.stdout  # its habits were recorded through .gradient
        assert "set x.gradient = 0.37 before backward()" in told.stdout
        again = minigrad(
            tmp_path, "mutate", "--engine", engine, "--tests", "tests", "--judge", "tests"
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert "mutation score: 100.0%" in again.stdout


# --- binary operators that take nodes only (micrograd as its lecture first builds it) --------

NODES_ONLY = (ENGINES / "nodes_only.py").read_text()


class TestOperatorsThatTakeNodesOnly:
    """`Value(self.data + other.data, ...)` with no `Value(other)` for a number: a correct
    engine whose every case failed ("AttributeError: 'float' object has no attribute 'data'"
    in the battery's own `out * w` and `x + 2.0`), so that add and mul were said wrong.  Its
    number operands are made leaves in minigrad's processes, and in the tests it writes."""

    def test_a_number_operand_becomes_a_leaf_of_the_engine(self) -> None:
        assert (
            NODES_ONLY.count("isinstance(other, Value)")
            == 0
            < MICROSTYLE.count("isinstance(other, Value)")
        )
        cls = _value_class(NODES_ONLY)
        own = vars(cls)["__add__"]
        assert "AttributeError" in takes_nodes_only(cls, "__add__", 2.0)
        assert takes_nodes_only(cls, "__pow__", 2.0) == ""  # its exponent is a number
        assert coerce_numbers(cls, ["__add__", "__mul__"]) == ("__add__", "__mul__")
        out = cls(1.5) + 2.0
        assert isinstance(out, cls) and out.data == 3.5 and cls.__add__.__wrapped__ is own
        plain = _value_class(MICROSTYLE)
        assert takes_nodes_only(plain, "__add__", 2.0) == ""

    def test_a_number_operand_is_written_as_a_leaf(self) -> None:
        def leaf(v: str) -> str:
            return f"Value({v})"

        line = "out = x * -1.7 + 2.0 ** y"
        assert numbers_as_leaves(line, frozenset({"*"}), leaf) == "out = x * Value(-1.7) + 2.0 ** y"
        assert numbers_as_leaves("n3 = x + 1", frozenset({"+", "*"}), leaf) == "n3 = x + Value(1)"

    def test_checked_and_mutated_as_the_correct_engine_it_is(self, tmp_path: Path) -> None:
        engine = write(tmp_path, NODES_ONLY)
        checked = minigrad(tmp_path, "gradcheck", "--engine", engine)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "its +, *, / take nodes only (x + 2.0 raised AttributeError" in checked.stdout
        assert re.search(r"\b[1-9]\d* passed, 0 failed", checked.stdout)
        mutated = minigrad(tmp_path, "mutate", "--engine", engine, "--judge", "battery")
        assert mutated.returncode == 0, mutated.stdout + mutated.stderr
        assert re.search(r"mutation score: 100\.0% \([1-9]\d* killed, 0 survived", mutated.stdout)

    def test_an_op_recursing_without_end_is_found_beside_them(self, tmp_path: Path) -> None:
        """Whether `2.0 - x` works once `*` makes leaves of numbers is asked by calling it
        again, with a user's budget of frames: it recurses (float's `-` hands it back), and
        the discovery child lived to say so."""
        engine = NODES_ONLY + "\n    def __rsub__(self, other):\n        return other - self\n"
        result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, engine))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "FAILED __rsub___runs" in result.stdout and "RecursionError" in result.stdout
        assert "its +, *, / take nodes only" in result.stdout

    def test_an_operator_its_own_ops_call_with_numbers_is_judged_and_blamed(
        self, tmp_path: Path
    ) -> None:
        """`-x` as `self * -1`, `2.0 + x` as `self + other`, `2.0 - x` as `other + (-self)`
        (a clone on GitHub): those crash, as the engine's users see.  minigrad made no leaves
        of numbers for `*` and `+` then, so the battery's own `out * w` and `x + 2.0` failed
        every case of add and mul ("during the scaled (upstream) check: AttributeError"): no
        derivative of theirs was checked, and their mutants were all "not covered".  Now
        minigrad's own numbers become leaves, their derivatives are checked (their mutants
        killed), and what is wrong is said as it is: `x * 2.0` crashes, which neg calls."""
        engine = NODES_ONLY + (
            "\n    def __neg__(self):\n        return self * -1\n"
            "\n    def __radd__(self, other):\n        return self + other\n"
            "\n    def __rsub__(self, other):\n        return other + (-self)\n"
        )
        checked = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, engine))
        assert checked.returncode == 1, checked.stdout + checked.stderr
        rows = dict(
            re.findall(
                r"^(\w+) .*forward vs plain math; \S+, (?:\S+, )*\S+  +(.+)$", checked.stdout, re.M
            )
        )
        crashed = "FAILED __{}___runs (its own cases pass)"
        assert rows == {
            "add": crashed.format("add"),
            "mul": crashed.format("mul"),
            **dict.fromkeys(("pow", "div", "tanh"), "ok"),
        }, rows
        assert "x * 2.0 at x=1.5 raised AttributeError" in checked.stdout
        assert "your engine's own ops call it so: neg" in checked.stdout
        assert "it works once * takes a number operand" in checked.stdout  # neg's
        assert "it works once + and * take a number operand" in checked.stdout  # rsub's
        assert "\nwrong: add, mul (" in checked.stdout
        mutated = minigrad(tmp_path, "mutate", "--engine", "engine.py", "--judge", "battery")
        first = mutated.stdout.splitlines()[0]
        assert mutated.returncode == 1 and "(add, mul)" in first, mutated.stdout
        assert "neg (its call, crashing), radd (its call, crashing)" in mutated.stdout
        assert re.search(r"^mul +2/2 +2/2 ", mutated.stdout, re.MULTILINE), mutated.stdout

    def test_a_step_that_assigns_is_still_found_first(self, tmp_path: Path) -> None:
        step = "self.grad += other.data * out.grad"
        buggy = NODES_ONLY.replace(step, step.replace("+=", "="))
        assert buggy != NODES_ONLY
        result = minigrad(tmp_path, "mutate", "--engine", write(tmp_path, buggy))
        assert result.returncode == 1, result.stdout + result.stderr
        first = result.stdout.splitlines()[0]
        assert first.startswith("YOUR ENGINE IS WRONG") and "(mul)" in first

    def test_the_tests_it_writes_make_leaves_of_numbers(self, tmp_path: Path) -> None:
        engine = write(tmp_path, NODES_ONLY)
        written = weak_test_then_suggest(tmp_path, engine, "Value({})")
        assert "out = out * Value(-1.7)" in written and "* -1.7" not in written
        weak = "tests/test_weak.py"
        told = minigrad(tmp_path, "mutate", "--engine", engine, "--tests", weak, "--judge", "tests")
        assert "upstream-one" in told.stdout, told.stdout + told.stderr
        assert "e.g. (out * Value(-1.7)).backward()" in told.stdout
        again = minigrad(
            tmp_path, "mutate", "--engine", engine, "--tests", "tests", "--judge", "tests"
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert "mutation score: 100.0%" in again.stdout


def test_an_op_that_calls_itself_without_end_raises_what_its_users_see(tmp_path: Path) -> None:
    """`__rsub__` as `other - self` (a clone on GitHub): float's `-` hands it back, forever.
    minigrad's processes allow 20,000 frames, where the C stack ran out first and the child
    died with SIGSEGV; an op is now called with a user's budget of frames, so it raises the
    RecursionError they see, on the line that recursed."""
    engine = MICROSTYLE.replace("return other + (-self)", "return other - self")
    assert engine != MICROSTYLE
    result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, engine))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED __rsub___runs" in result.stdout and "SIGSEGV" not in result.stdout
    assert "2.0 - x at x=0.8 raised RecursionError" in result.stdout
    assert "(engine.py:82: return other - self)" in result.stdout


def test_a_class_whose_module_reads_builtins_is_still_looked_at(tmp_path: Path) -> None:
    """A C extension that names no module leaves `__module__ == "builtins"` (minigrad 0.0.6 on
    the registry): its class's methods were skipped as float's would be, so nothing was ever
    listed.  Here a Python engine says the same of itself, and its ops are found and checked."""
    engine = write(tmp_path, MICROSTYLE + '\n\nValue.__module__ = "builtins"\n')
    result = minigrad(tmp_path, "gradcheck", "--engine", f"{engine}:Value")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b[1-9]\d* passed, 0 failed", result.stdout)


# --- a leaf switched on by an enum, steps as functions of another file (clumsygrad) --------

TYPED = ENGINES / "typed"  # tensor.py: the class; grad.py: the steps; math.py: sum, exp


def typed_project(folder: Path) -> Path:
    shutil.copytree(TYPED, folder / "typed", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


class TestEnumSwitchesAndStepFunctions:
    def test_an_enum_switch_is_set_to_its_trainable_member(self) -> None:
        class Kind(enum.Enum):
            INPUT = 0
            PARAMETER = 1

        class Off:
            def __init__(self, data: float, kind: Kind = Kind.INPUT) -> None:
                self.data, self.kind = data, kind

        class On:
            def __init__(self, data: float, kind: Kind = Kind.PARAMETER) -> None:
                self.data, self.kind = data, kind

        assert leaf_enums(Off) == (("kind", Kind.PARAMETER),)
        assert make_leaf(Off, 0.5).kind is Kind.PARAMETER
        assert leaf_enums(On) == ()

    def test_steps_that_are_functions_of_another_file_are_found_and_mutated(
        self, tmp_path: Path
    ) -> None:
        folder = typed_project(tmp_path)
        engine = ["--engine", "typed.tensor:Tensor"]
        checked = minigrad(folder, "inspect", *engine)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        out = checked.stdout
        assert re.search(
            r"^exp\s+typed\.math\.exp\(x\).*function-class \(line grad\.py:", out, re.M
        )
        assert re.search(r"^add\s+x \+ y.*function-class \(line grad\.py:", out, re.M)
        result = minigrad(folder, "mutate", *engine, "--judge", "battery", "--json", "r")
        assert result.returncode == 0, result.stdout + result.stderr
        files = json.loads((folder / "r").read_text())["files"]
        ids = {m["id"] for m in files["typed/grad.py"]["mutants"]}
        assert {"grad.py:exp-sign", "grad.py:mul-swap", "grad.py:add-chain"} <= ids
        assert "mutation score: 100.0%" in result.stdout


def test_a_lone_module_among_other_distributions_owns_only_its_own_file(tmp_path: Path) -> None:
    """An engine installed as one module in site-packages: the folder holds everyone's code, so
    no function of a neighbour is taken for an op (an `exp` of another distribution)."""
    folder = tmp_path / "site-packages"
    folder.mkdir()
    source = (Path(__file__).parents[1] / "src/minigrad/tensor.py").read_text()
    (folder / "lone.py").write_text(
        source.replace("    def exp(self", "    def exp_(self") + "\nimport neighbour  # noqa\n"
    )
    (folder / "neighbour.py").write_text("def exp(x):\n    raise SystemExit('called')\n")
    result = minigrad(folder, "inspect", "--engine", "lone.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not re.search(r"^exp\s", result.stdout, re.M)
    assert "neighbour" not in result.stdout


def test_the_place_of_an_op_names_each_file_once() -> None:
    """An op in another file whose step is in the engine's (mygrad's function ops) and the
    reverse: each place is said with its file; the engine's file is "" in a profile."""
    from minigrad_tool.adapter.profile import FLOAT64, Op, Profile, Step

    def op(file: str, step_file: str) -> Op:
        step = Step("closure", "f.<locals>.g", 7, 4, "_backward", step_file)
        return Op("exp", "exp", "method", "", "exp", None, "exp", 3, (step,), (), (), file=file)

    engine, other = "/pkg/tensor_base.py", "/pkg/math/ops.py"
    profile = Profile(
        "pkg", "pkg.tensor_base", engine, "Tensor", "Tensor", 1, None, FLOAT64, (), None
    )
    assert profile.place(op(other, "")) == "Tensor.exp (math/ops.py:3; its step: tensor_base.py:7)"
    assert profile.place(op("", other)) == "Tensor.exp (tensor_base.py:3; its step: math/ops.py:7)"
    assert profile.place(op(other, other)) == "Tensor.exp (math/ops.py:3)"
    assert profile.place(op("", "")) == "Tensor.exp (tensor_base.py:3)"


def test_a_scalar_engine_whose_nodes_take_arrays_but_cannot_sum_is_checked_as_scalar(
    tmp_path: Path,
) -> None:
    """nanotorch's class: numpy carries its ops through arrays, but without sum() no case of
    the tensor battery can build its loss; a node made from a number holds a float, so it is
    checked as the scalar engine it is, and the note says why.  Its `relu` and `tanh` hand
    their work to module functions of the same file, whose closures are those ops' steps."""
    name = write(tmp_path, (ENGINES / "takes_arrays.py").read_text())
    checked = minigrad(tmp_path, "gradcheck", "--engine", name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "it cannot be checked as a tensor engine (it has no sum() method" in checked.stdout
    assert "checked as a scalar engine" in checked.stdout
    result = minigrad(tmp_path, "mutate", "--engine", name, "--judge", "battery", "--json", "r")
    assert result.returncode == 0, result.stdout + result.stderr
    (mutants,) = [f["mutants"] for f in json.loads((tmp_path / "r").read_text())["files"].values()]
    ids = {m["id"] for m in mutants}
    assert {"relu-sign", "tanh-sign", "tanh-const"} <= ids  # not the sweep's helpers
    assert "mutation score: 100.0%" in result.stdout


def test_a_dunder_that_only_calls_a_method_owns_that_methods_step(tmp_path: Path) -> None:
    """tinygrad-classroom's shape: `__pow__` returns `self.pow(exponent)`.  The closure of
    `pow` is pow's step (it was "none seen", and the report said "not mutated: pow" above a
    table of pow's mutants); `__truediv__`, which multiplies by `other.pow(-1.0)`, is built
    from mul and pow.  `__rmul__` only calls `self.__mul__`: an op's method, whose steps stay
    mul's (rmul is built from mul)."""
    name = write(tmp_path, (ENGINES / "method_alias.py").read_text())
    checked = minigrad(tmp_path, "gradcheck", "--engine", name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rows: dict[str, str] = {}
    for line in checked.stdout.splitlines():  # the ops table's row, not the cases table's
        rows.setdefault(line.partition(" ")[0], line)
    assert "closure (line 45)" in rows["pow"]
    assert "none of its own: built from mul, pow" in rows["div"]
    assert "none of its own: built from mul " in rows["rmul"]  # mul's method: mul's steps
    result = minigrad(tmp_path, "mutate", "--engine", name, "--judge", "battery")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not mutated" not in result.stdout
    assert "pow-sign" not in result.stdout  # killed: no survivor listed
    assert "mutation score: 100.0% (78 killed" in result.stdout


def test_a_needle_style_engine_is_checked_and_mutated(tmp_path: Path) -> None:
    """CMU needle's shape (gradflow's): `.grad` appears only once a backward sets it, so the
    engine owns its gradients (nothing pre-seeded; a second backward must set them again);
    `.data` is a detached node, read from `cached_data`; an op class's `gradient()` is its
    step; `transpose(axes)` swaps two axes, and is checked as the swap it is."""
    name = write(tmp_path, (ENGINES / "needle_style.py").read_text())
    engine = ["--engine", f"{name}:Tensor"]
    checked = minigrad(tmp_path, "gradcheck", *engine)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    out = checked.stdout
    assert ".grad appears only once a backward sets it: nothing is pre-seeded" in out
    assert "keep their array in .cached_data" in out
    assert "transpose: it swaps the two axes it is given" in out
    assert re.search(r"^transpose_swap_3d\s+transpose\s+pass", out, re.M)
    assert not re.search(r"^transpose_3d\s", out, re.M)  # numpy's permutation is not its op
    # sub builds EWiseAdd and Negate: add's and neg's steps, and their mutants' names (neg's
    # were named sub's, and neg read "not mutated")
    assert re.search(r"^neg\s+-x .*function-class \(line \d+\)", out, re.M)
    assert re.search(r"^sub\s+x - y .*none of its own: built from add, neg", out, re.M)
    result = minigrad(tmp_path, "mutate", *engine, "--judge", "battery", "--json", "r")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not mutated" not in result.stdout
    (mutants,) = [f["mutants"] for f in json.loads((tmp_path / "r").read_text())["files"].values()]
    ids = {m["id"] for m in mutants}
    assert {"mul-swap", "matmul-transpose", "sum-sign", "add-unbroadcast", "neg-sign"} <= ids
    assert not [i for i in ids if i.startswith("sub-")]
    assert "mutation score: 100.0%" in result.stdout


def test_a_spladtool_style_engine_has_its_layers_steps_found(tmp_path: Path) -> None:
    """spladtool's shape: inputs in `.dependency`, each op a `Layer` whose backward calls
    its inputs' own `backward(grad)`, and operators that hand their work to module
    functions building the layers, two calls deep for division (`div` returns `prod(x,
    inv(y))`).  The children read "not visible" and every op "none seen": nothing was
    mutated.  Of operators that build as many layers (`__sub__`, `__add__`), the first's
    is the step: sub is built from add, not a second owner of add's."""
    name = write(tmp_path, (ENGINES / "layer_style.py").read_text())
    engine = ["--engine", f"{name}:Tensor"]
    checked = minigrad(tmp_path, "gradcheck", *engine)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    out = checked.stdout
    assert "children in .dependency" in out
    assert "none seen" not in out
    assert re.search(r"^mul\s+x \* y .*function-class \(line 104\)", out, re.M)
    assert re.search(r"^div\s+x / y .*function-class \(line 124\)", out, re.M)  # TensorInv
    assert re.search(r"^sub\s+x - y .*none of its own: built from add, neg", out, re.M)
    result = minigrad(tmp_path, "mutate", *engine, "--judge", "battery")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not mutated" not in result.stdout
    assert "mutation score: 100.0% (62 killed" in result.stdout


def test_children_kept_in_the_record_of_the_op_are_read() -> None:
    """Old tinygrad's `_ctx.parents`, DeZero's `creator.inputs`, a GitHub minigrad's
    `ctx._prev`: the inputs are one level down, in the record of the op the node keeps.
    They read "children not visible" (8 of 57 published engines tried), so the walks that
    need them (reused nodes, what a step received, a node cut from the graph) saw none."""

    class Ctx:
        def __init__(self, *inputs: object) -> None:
            self._prev, self.function = inputs, None

    class T:
        def __init__(self, data: float, ctx: Ctx | None = None) -> None:
            self.data, self.grad, self.ctx = data, 0.0, ctx

        def backward(self) -> None:
            self.grad = 1.0

    x, y = T(1.0), T(2.0)
    out = T(3.0, Ctx(x, y))
    assert find_children_attribute(out) is None  # no known name without the operands
    assert find_children_attribute(out, (x, y)) == "ctx._prev"
    assert NodeAccess(T, "ctx._prev").children(out) == (x, y)
    assert NodeAccess(T, "ctx._prev").children(x) == ()  # a leaf's record is None
    assert read_attribute(out, "ctx._prev") == (x, y)
    assert read_attribute(x, "ctx._prev", ()) == ()
    cut = T(3.0)
    assert "keeps no children (its .ctx is None)" in cut_from_graph(cut, "ctx._prev", [x])
    assert cut_from_graph(out, "ctx._prev", [x, y]) == ""

    class Lazy:  # a record that raises when asked anything (a lazy loader's)
        @property
        def backward(self) -> None:
            raise RuntimeError("not loaded")

    odd = T(3.0)
    odd.lazy = Lazy()  # type: ignore[attr-defined]
    assert find_children_attribute(odd, (x,)) is None


def test_a_ctx_style_engine_shows_its_children_and_is_mutated(tmp_path: Path) -> None:
    """The engine of tests/engines/ctx_style.py: static `forward`/`backward` of op classes,
    a recursive pass, the inputs in `.ctx._prev`."""
    name = write(tmp_path, (ENGINES / "ctx_style.py").read_text())
    engine = ["--engine", f"{name}:Tensor"]
    checked = minigrad(tmp_path, "gradcheck", *engine)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "class Tensor, children in .ctx._prev" in checked.stdout
    result = minigrad(tmp_path, "mutate", *engine, "--judge", "battery")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mutation score: 100.0% (64 killed" in result.stdout
    # indexing that returns a fresh node, as that GitHub minigrad's does: its record is None
    cut = "    def tanh(self):\n"
    source = (ENGINES / "ctx_style.py").read_text()
    assert cut in source
    indexing = "    def __getitem__(self, key):\n        return Tensor(self.data[key])\n\n"
    name = write(tmp_path, source.replace(cut, indexing + cut), "cut.py")
    wrong = minigrad(tmp_path, "gradcheck", "--engine", f"{name}:Tensor")
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert "the output keeps no children (its .ctx is None)" in wrong.stdout


def test_a_fygrad_style_engine_is_checked_and_mutated(tmp_path: Path) -> None:
    """fygrad's shape: a leaf takes a label first, arrays live in the engine's own `Data`
    (at least 2-D), `.grad` is None until a backward puts a `Data` there (nothing can be
    pre-seeded), and each step hands a local `grad_a` to `Node._add_grad(a, ...)`: those
    contributions are mutated like `a.grad += ...` (sign, swap, drop, the upstream factor)."""
    name = write(tmp_path, (ENGINES / "wrapped.py").read_text())
    engine = ["--engine", f"{name}:Node"]
    checked = minigrad(tmp_path, "gradcheck", *engine)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    out = checked.stdout
    assert ".grad holds the engine's own Data once a backward makes one" in out
    assert "it keeps every array in at least 2 dimensions ((3,) as (1, 3))" in out
    assert re.search(r"^not run: add_trailing: the engine keeps arrays in 2-D", out, re.M)
    result = minigrad(tmp_path, "mutate", *engine, "--judge", "battery", "--json", "r")
    assert result.returncode == 0, result.stdout + result.stderr
    (mutants,) = [f["mutants"] for f in json.loads((tmp_path / "r").read_text())["files"].values()]
    described = {m["id"]: m["description"] for m in mutants}
    assert "a contribution changes sign" in described["mul-sign"]
    assert {"mul-chain", "mul-drop", "mul-swap", "add-drop-2"} <= set(described)
    assert "mutation score: 100.0%" in result.stdout


def test_a_leaf_that_takes_a_label_first_is_made_and_written_so() -> None:
    from minigrad_tool.adapter.profile import FLOAT64, Profile

    class Node:
        def __init__(self, label: str, value: float, children: tuple[()] = ()) -> None:
            self.label, self.value = label, value

    assert make_leaf(Node, 0.5).label == "x"
    profile = Profile("n", "n", "/n.py", "Node", "Node", 1, None, FLOAT64, (), None)
    labelled = dataclasses.replace(profile, leaf_label=True, leaf_keywords=("requires_grad",))
    assert labelled.leaf_call("np.array(1.0)") == "Node('x', np.array(1.0), requires_grad=True)"


def test_leaves_from_a_factory_where_the_constructor_is_internal(tmp_path: Path) -> None:
    """`Value(data, children, op)` needs every argument; the engine's leaves come from
    `value(x)`: minigrad makes them so, says it, and the tests it writes do the same."""
    name = write(tmp_path, (ENGINES / "factory.py").read_text(), "factory.py")
    checked = minigrad(tmp_path, "gradcheck", "--engine", name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Value(0.5) cannot make a leaf: leaves are made with value()" in checked.stdout
    weak = "from factory import value\n\n\ndef test_add():\n    x = value(2.0)\n"
    weak += "    (x + value(3.0)).backward()\n    assert x.grad == 1.0\n"
    (tmp_path / "test_weak.py").write_text(weak)
    result = minigrad(
        tmp_path, "mutate", "--engine", name, "--tests", "test_weak.py", "--suggest", "test_more.py"
    )
    assert result.returncode == 1, result.stdout + result.stderr  # the weak test misses most
    written = (tmp_path / "test_more.py").read_text()
    assert "from factory import value" in written and "x = value(" in written
    again = minigrad(
        tmp_path, "mutate", "--engine", name, "--tests", "test_weak.py", "test_more.py"
    )
    assert again.returncode == 0, again.stdout + again.stderr


def test_steps_a_registry_looks_up_by_name_are_the_ops(tmp_path: Path) -> None:
    """Old tinygrad's shape (slowgrad's): `register("mul", Mul)` puts a dispatcher on the class
    that looks `Mul` up by name, so no method names the step; `Mul.backward` in ops.py, which
    ran for mul alone, is mul's; a step two ops ran (mean is built from a sum and a product)
    goes to the op named like its class."""
    shutil.copytree(ENGINES / "registry", tmp_path / "registry")
    engine = ["--engine", "registry:Tensor"]
    checked = minigrad(tmp_path, "inspect", *engine)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for op, line in (("mul", 34), ("add", 19), ("exp", 65), ("mean", 80)):
        assert re.search(rf"^{op}\s.*function-class \(line ops\.py:{line}\)", checked.stdout, re.M)
    result = minigrad(tmp_path, "mutate", *engine, "--judge", "battery", "--json", "r")
    assert result.returncode == 0, result.stdout + result.stderr
    files = json.loads((tmp_path / "r").read_text())["files"]
    ids = {m["id"] for m in files["registry/ops.py"]["mutants"]}
    assert {"ops.py:mul-swap", "ops.py:add-chain", "ops.py:mean-count"} <= ids
    assert "mutation score: 100.0%" in result.stdout


def test_nodes_named_by_attribute_and_index_are_mutated(tmp_path: Path) -> None:
    """tidygrad's shape: a step adds into `self.parents[0].grad` from `self.out.grad`; those
    are nodes as much as `x` is: accumulation, receivers and operands are mutated, and a
    local that names the same node (`a, b = self.parents`) is no swap."""
    name = write(tmp_path, (ENGINES / "op_objects.py").read_text())
    result = minigrad(
        tmp_path, "mutate", "--engine", f"{name}:Tensor", "--judge", "battery", "--json", "r"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (mutants,) = [f["mutants"] for f in json.loads((tmp_path / "r").read_text())["files"].values()]
    described = {m["description"] for m in mutants}
    assert "Add.backward: accumulation becomes assignment" in described
    assert "Add.backward: the contribution goes to self.parents[1] instead" in described
    assert "Mul.backward: self.out.grad becomes self.parents[0].grad" in described
    assert not any("b.data becomes self.parents[1].data" in d for d in described)
    assert "mutation score: 100.0%" in result.stdout


def test_a_step_two_ops_ran_goes_to_the_op_named_like_its_class() -> None:
    """`mean` runs `Mul.backward` too: it is mul's; embedml's `__add__` calls its `add`
    method, so `ADD.backward` is the method's, and the operator is built from it."""
    from minigrad_tool.adapter.profile import Op
    from minigrad_tool.tensor.discovery import _claimant

    def op(name: str, method: str) -> Op:
        return Op(name, method, "method", "", name, None, name, 1, (), (), ())

    ops = {o.name: o for o in (op("mul", "__mul__"), op("mean", "mean"))}
    assert _claimant(["mul", "mean"], "Mul.backward", ops) == ["mul"]
    ops = {o.name: o for o in (op("add", "__add__"), op("add_method", "add"))}
    assert _claimant(["add", "add_method"], "ADD.backward", ops) == ["add_method"]
    assert _claimant(["add"], "Anything.backward", ops) == ["add"]


def test_a_mutant_that_differs_only_where_the_engine_is_wrong_is_not_judged(
    tmp_path: Path,
) -> None:
    """Our Tensor with a branch only wrong inputs take (a 3-D gradient summed to 1-D, and
    doubled): its mutants change only what the engine already gets wrong, so no test could be
    asked to tell them apart; they are not judged, and said so, rather than called wrong
    derivatives the battery let through."""
    source = (Path(__file__).parents[1] / "src/minigrad/tensor.py").read_text()
    broken = source.replace(
        "    extra = grad.ndim - len(shape)\n",
        "    if grad.ndim == 3 and len(shape) == 1:\n"
        "        return 2.0 * grad.sum(axis=(0, 1))\n"
        "    extra = grad.ndim - len(shape)\n",
        1,
    )
    name = write(tmp_path, broken, "t.py")
    args = ["--engine", name, "--judge", "battery", "--operators", "unbroadcast,axis"]
    result = minigrad(tmp_path, "mutate", *args, "--json", "r")
    assert result.returncode == 1, result.stdout + result.stderr  # the engine is wrong
    (mutants,) = [f["mutants"] for f in json.loads((tmp_path / "r").read_text())["files"].values()]
    on_branch = [m for m in mutants if m["location"]["start"]["line"] == 44]
    assert len(on_branch) == 2, [m["location"] for m in mutants]
    for m in on_branch:
        assert m["status"] == "Ignored", m
        assert m["statusReason"].startswith("not judged: it agrees with the original"), m
        assert "case add_trailing" in m["statusReason"] or "case add_leading" in m["statusReason"]
    assert "(not judged: it differs only where the engine already fails a case)" in result.stdout


def test_an_equivalent_mutant_of_a_wrong_op_is_not_judged(tmp_path: Path) -> None:
    """A step whose contribution never reaches the input (a GitHub `minigrad`'s tanh saves a
    new `Tensor(tanh_val)` for backward, not its input): every edit of it agrees with the
    original on every probe, and was called equivalent, though once the op is fixed most of
    them would be caught.  They are not judged, and said so."""
    source = (ENGINES / "microstyle.py").read_text()
    step = "            self.grad += (out.data > 0) * out.grad\n"
    lost = (
        "            kept = Value(self.data)\n            kept.grad += (out.data > 0) * out.grad\n"
    )
    assert step in source
    name = write(tmp_path, source.replace(step, lost))
    result = minigrad(tmp_path, "mutate", "--engine", name, "--judge", "battery", "--json", "r")
    assert result.returncode == 1, result.stdout + result.stderr  # relu is wrong
    (mutants,) = [f["mutants"] for f in json.loads((tmp_path / "r").read_text())["files"].values()]
    ignored = [m for m in mutants if m["id"].startswith("relu-") and m["status"] == "Ignored"]
    assert len(ignored) >= 10, [m["id"] for m in mutants]
    for m in ignored:
        assert m["statusReason"].startswith("not judged: relu is wrong on the unmutated"), m
    assert "relu-sign: " in result.stdout
    assert "(not judged: relu is wrong; judge it once that is fixed)" in result.stdout
    others = [m for m in mutants if not m["id"].startswith("relu-")]
    assert others and not [m for m in others if "is wrong on" in m.get("statusReason", "")]


COMPILED = (ENGINES / "compiled_value.py").read_text()
COMPILED_MUL_STEP = "other.grad += self.data * out.grad"
# micrograd with `-` replaced by compiled code (as a C extension's method), which builds the
# difference with the Python ops: the rest stays Python, stepped and mutated as ever.
MIXED = (
    MICRO
    + """

import types as _types


class instancemethod:
    def __init__(self, function):
        self._function = function

    def __get__(self, node, owner=None):
        return self if node is None else _types.MethodType(self._function, node)

    def __call__(self, *args):
        return self._function(*args)


_native = {}
exec(compile("def sub(self, other):\\n    return self + (-other)\\n", "<native>", "exec"), _native)
Value.__sub__ = instancemethod(_native["sub"])
"""
)


@pytest.fixture(scope="module")
def compiled_check(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """`gradcheck` on tests/engines/compiled_value.py, whose ops are compiled code."""
    folder = tmp_path_factory.mktemp("compiled")
    return minigrad(folder, "gradcheck", "--engine", write(folder, COMPILED))


class TestCompiledOps:
    """Ops of compiled code (nanograd-bgriebel's, in Rust) are checked as black boxes: by
    their values and gradients, the checks that need no source; nothing of them is mutated."""

    def test_each_is_checked_by_its_values_and_gradients(
        self, compiled_check: subprocess.CompletedProcess[str]
    ) -> None:
        out = compiled_check.stdout
        assert compiled_check.returncode == 0, out + compiled_check.stderr
        assert re.search(r"\b[1-9]\d* passed, 0 failed", out)
        assert "class Value, children not visible" in out
        rows = {
            line.split()[0]: line for line in out.splitlines() if "compiled: a black box" in line
        }
        assert set(rows) == {"add", "radd", "mul", "rmul", "pow", "neg", "sub", "div", "tanh"}
        assert all("(compiled)" in row and row.endswith("ok") for row in rows.values()), rows
        assert "sub, div, tanh: compiled code, checked as black boxes" in out

    def test_the_json_says_which_ops_are_compiled(self, tmp_path: Path) -> None:
        result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, COMPILED), "--json")
        report = json.loads(result.stdout)
        ops = report["ops"]
        assert ops and all(op["compiled"] and op["line"] == 0 for op in ops), ops
        assert all(op["result"] == "ok" for op in ops) and report["causes"] == [], report

    def test_a_wrong_gradient_in_compiled_code_is_found(self, tmp_path: Path) -> None:
        buggy = COMPILED.replace(COMPILED_MUL_STEP, "other.grad += out.grad")
        assert buggy != COMPILED
        result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, buggy))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "FAILED mul\n" in result.stdout
        assert "the backward of Value.__mul__ (compiled) at (1.5, -2.0) is wrong" in result.stdout

    @pytest.mark.parametrize("command", [["mutate"], ["inject", "sub-sign"], ["inject", "--list"]])
    def test_mutate_and_inject_say_there_is_nothing_to_mutate(
        self, tmp_path: Path, command: list[str]
    ) -> None:
        result = minigrad(tmp_path, *command, "--engine", write(tmp_path, COMPILED))
        assert result.returncode == 2, result.stdout + result.stderr
        assert "has no backward step minigrad can mutate; compiled code (a C extension's): " in (
            result.stderr
        )
        assert "`minigrad gradcheck` checks compiled ops as black boxes" in result.stderr

    def test_a_compiled_op_beside_python_ones_is_left_out_of_the_mutants(
        self, tmp_path: Path
    ) -> None:
        engine = write(tmp_path, MIXED)
        result = minigrad(tmp_path, "mutate", "--engine", engine, "--judge", "battery")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "not mutated: sub: compiled code (a C extension's)" in result.stdout
        assert re.search(r"^mul +\S", result.stdout, re.MULTILINE)  # the Python ops are
        injected = minigrad(tmp_path, "inject", "sub-sign", "--engine", engine)
        assert injected.returncode == 2, injected.stdout + injected.stderr
        assert "sub is compiled code (a C extension's)" in injected.stderr
        assert "there is no sub-sign to inject" in injected.stderr

    def test_a_traced_call_is_bound_as_the_compiled_method_was(self) -> None:
        """adapter.native replaces a compiled method by a Python call of it, which binds as
        the attribute did (a slot wrapper gets self; a builtin put on a class does not), and
        under which an exception raised in compiled code is the engine's, named."""
        import math

        from minigrad_tool.adapter.native import trace_compiled_calls
        from minigrad_tool.faults import compiled_call_of, engine_caused

        class Number(float):
            plus = float.__add__  # a slot wrapper: bound, gets self
            root = math.sqrt  # a builtin: not bound, gets no self

            def python(self) -> float:  # Python code: left as it is
                return 1.0

        assert Number(-2.0).root(4.0) == 2.0 and Number(2.0).plus(3.0) == 5.0
        replaced = trace_compiled_calls(Number, ["plus", "root", "python", "missing"])
        assert replaced == ["plus", "root"]
        assert Number(-2.0).root(4.0) == 2.0 and Number(2.0).plus(3.0) == 5.0
        with pytest.raises(ValueError, match="math domain error") as caught:
            Number(2.0).root(-1.0)
        assert engine_caused(caught.value)
        frames = traceback.extract_tb(caught.value.__traceback__)
        assert compiled_call_of(frames[-1].filename) == "Number.root"

    def test_an_exception_of_compiled_code_is_the_engines(self, tmp_path: Path) -> None:
        """A C++ exception in tanh's step (RuntimeError) has no frame of the engine's: it is
        traced by the call minigrad puts around each compiled method (adapter.native), and
        fails tanh's cases, not minigrad ("minigrad itself failed", exit 2)."""
        buggy = COMPILED.replace(COMPILED_TANH_STEP, TANH_RAISES)
        assert buggy != COMPILED
        result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, buggy))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "FAILED tanh\n" in result.stdout
        assert "RuntimeError: std::domain_error in compiled Value.backward" in result.stdout

    def test_a_class_that_takes_no_attribute_leaves_the_exception_minigrads(
        self, tmp_path: Path
    ) -> None:
        """A C type of its own refuses the traced calls: its exception cannot be told from
        minigrad's, so there is no verdict (exit 2), where it was raised said."""
        immutable = IMMUTABLE_COMPILED.replace(COMPILED_TANH_STEP, TANH_RAISES)
        result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, immutable))
        assert result.returncode == 2, result.stdout + result.stderr
        assert "minigrad failed while running case" in result.stderr
        assert "RuntimeError: std::domain_error" in result.stderr

    def test_after_a_crash_an_exception_in_minigrads_code_is_not_blamed_on_minigrad(
        self, tmp_path: Path
    ) -> None:
        """The same, but mul's step crashes the process (SIGSEGV) where its upstream gradient
        is not 1: the engine is known to crash, so memory it corrupts may be what minigrad's
        code met; the crash is the verdict (exit 1), and the cases say why they failed."""
        crashing = IMMUTABLE_COMPILED.replace(COMPILED_TANH_STEP, TANH_RAISES)
        crashing = crashing.replace(COMPILED_MUL_STEP, SEGFAULT_UNLESS_UPSTREAM_ONE)
        result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, crashing))
        assert result.returncode == 1, result.stdout + result.stderr
        out = result.stdout
        assert "FAILED: the engine's process died with SIGSEGV in " in out
        assert re.search(r"^mul .*FAILED \d/4, crashed$", out, re.MULTILINE)
        assert "FAILED tanh\nminigrad's own code raised in this case (RuntimeError" in out
        assert "other cases died with SIGSEGV, a crash in compiled code" in out


COMPILED_TANH_STEP = "self.grad += (1 - t * t) * out.grad"
TANH_RAISES = 'raise RuntimeError("std::domain_error")'  # a C++ exception, through pybind11
# A C type of its own (not a heap type): the class takes no new attribute, so its backward
# pass is named backward() (no alias could be given it).
IMMUTABLE_COMPILED = COMPILED.replace(
    "class Value:",
    """class Immutable(type):
    def __setattr__(cls, name, value):
        raise TypeError(f"cannot set {name!r} attribute of immutable type {cls.__name__!r}")


class Value(metaclass=Immutable):""",
).replace("    backwards = instancemethod", "    backward = instancemethod")
# mul's step crashes the process where its upstream gradient is not 1: not in discovery, which
# backpropagates from the op's own output, but in every case that scales it.
SEGFAULT_UNLESS_UPSTREAM_ONE = """if out.grad != 1.0:
            import ctypes

            ctypes.string_at(0)
        other.grad += self.data * out.grad"""


class TestCrashes:
    def test_a_system_error_after_compiled_code_is_the_engines(self, tmp_path: Path) -> None:
        """minigrad 0.0.6's C code broke the interpreter's rules, and minigrad's own reading of
        a gradient raised "SystemError: bad argument to internal function" (exit 2, "minigrad
        itself failed"). With compiled ops, a SystemError is the engine's: its cases fail and
        say why.  Here the emulated C type's `grad` getter raises once tanh's step has added to
        a gradient that was not zero."""
        broken = (
            COMPILED.replace('__slots__ = ("data", "grad")', '__slots__ = ("data", "_grad")')
            .replace(
                "    def __repr__(self):",
                "    @property\n"
                "    def grad(self):\n"
                "        if _BROKEN:\n"
                "            raise SystemError('Objects/tupleobject.c:90: bad argument to "
                "internal function')\n"
                "        return self._grad\n\n"
                "    @grad.setter\n"
                "    def grad(self, value):\n"
                "        self._grad = value\n\n"
                "    def __repr__(self):",
            )
            .replace(  # once it adds to a gradient that is not zero (a pre-seeded input)
                COMPILED_TANH_STEP,
                f"_PENDING.append(self._grad != 0)\n        {COMPILED_TANH_STEP}",
            )
            .replace(
                "            step()\n",
                "            step()\n    _BROKEN.extend(filter(None, _PENDING))\n",
            )
            .replace("_GRAPH = {}", "_GRAPH = {}\n_PENDING = []\n_BROKEN = []")
        )
        assert broken.count("_BROKEN") == 3 and "_PENDING.append" in broken
        result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, broken))
        assert result.returncode == 1, result.stdout + result.stderr
        out = result.stdout
        assert "minigrad itself failed" not in out + result.stderr
        assert re.search(r"^tanh .*FAILED 2/2$", out, re.MULTILINE), out
        assert re.search(r"^mul .* ok$", out, re.MULTILINE), out
        assert "raised in this case (SystemError: Objects/tupleobject.c:90" in out
        assert "CPython raises SystemError only when C code breaks the rules of its API" in out

    def test_cases_a_crash_killed_are_said_once(self, tmp_path: Path) -> None:
        """A Python engine whose mul's step segfaults (through ctypes) where it scales: one
        line names the crash and its cases, and the op table marks the ops it killed."""
        crashing = MICRO.replace(
            "            self.grad += other.data * out.grad\n",
            "            if out.grad != 1:\n                import ctypes\n\n"
            "                ctypes.string_at(0)\n"
            "            self.grad += other.data * out.grad\n",
            1,
        )
        assert crashing != MICRO
        engine = write(tmp_path, crashing)
        result = minigrad(tmp_path, "gradcheck", "--engine", engine, "--json", "check.json")
        assert result.returncode == 1, result.stdout + result.stderr
        out = result.stdout
        (said,) = [line for line in out.splitlines() if line.startswith("FAILED: ")]
        assert re.match(r"FAILED: the engine's process died with SIGSEGV in \d+ cases of", said)
        assert "(mul, " in said and "fix the crash first" in said
        assert re.search(r"^mul .*FAILED 4/4, crashed$", out, re.MULTILINE)
        assert re.search(r"^add .* ok$", out, re.MULTILINE)
        assert "FAILED mul\n" not in out  # each case is not said again
        report = json.loads((tmp_path / "check.json").read_text())  # the JSON says it too
        (cause,) = report["causes"]
        assert cause["blames"] == "a crash" and said == f"FAILED: {cause['why']}"
        assert "mul" in cause["cases"] and len(cause["cases"]) == report["summary"]["error"]
        results = {op["op"]: op["result"] for op in report["ops"]}
        assert results["mul"] == "FAILED 4/4, crashed" and results["add"] == "ok", results


def test_steps_of_function_classes_named_by_module_aliases_are_found(tmp_path: Path) -> None:
    """miniad's shape: `Value.__add__` calls `F.add`, which functional.py defines as
    `add = Add.forward`; the forward stores `Add.backward` on the node.  The alias leads to
    the class, so its backward is add's step (it was "none seen", and no op was mutated)."""
    shutil.copytree(
        ENGINES / "classops", tmp_path / "classops", ignore=shutil.ignore_patterns("__pycache__")
    )
    engine = ["--engine", "classops.value:Value"]
    checked = minigrad(tmp_path, "inspect", *engine)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for op in ("add", "mul", "tanh", "exp"):
        assert re.search(rf"^{op}\s.*function-class \(line functional\.py:", checked.stdout, re.M)
    assert "none seen" not in checked.stdout
    result = minigrad(tmp_path, "mutate", *engine, "--judge", "battery", "--json", "r")
    assert result.returncode == 0, result.stdout + result.stderr
    ids = {
        m["id"]
        for m in json.loads((tmp_path / "r").read_text())["files"]["classops/functional.py"][
            "mutants"
        ]
    }
    assert {"functional.py:add-sign", "functional.py:mul-swap", "functional.py:tanh-sign"} <= ids
    assert "mutation score: 100.0%" in result.stdout


def test_an_object_that_raises_when_asked_its_name_is_passed_over(tmp_path: Path) -> None:
    """An op's method names a module global that raises anything on a missing attribute (a
    lazy loader): looking for `add = Add.forward` aliases asks each global its `__qualname__`,
    and a RuntimeError there stopped discovery."""
    text = (ENGINES / "microstyle.py").read_text()
    lazy = (
        "class _Lazy:\n"
        "    def __getattr__(self, name):\n"
        "        raise RuntimeError('not loaded yet')\n\n\n"
        "lazy = _Lazy()\n\n\n"
    )
    add = "    def __add__(self, other):\n"
    assert text.count(add) == 1 and "\nclass Value" in text
    text = text.replace("\nclass Value", "\n" + lazy + "class Value", 1)
    text = text.replace(add, add + "        assert lazy is not None\n", 1)
    name = write(tmp_path, text)
    checked = minigrad(tmp_path, "gradcheck", "--engine", name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert re.search(r"^add\s+x \+ y .*closure", checked.stdout, re.M)


# --- a script at the top of the engine's file (microgpt's shape) ------------------------------


class TestAScriptAtTheTopOfTheEngine:
    """A single-file engine that is also a training script (Karpathy's microgpt: it reads
    `input.txt`, downloads it where missing, then trains) runs that script as minigrad
    imports it, in a folder of minigrad's own.  It said "could not be loaded: URLError: ...
    (raised at .../urllib/request.py:1351 in do_open)", or "no answer within 60 s", and
    nothing of the script or what to do; now it names the engine's line and the way out."""

    def test_a_script_statement_that_raises_is_named(self, tmp_path: Path) -> None:
        (tmp_path / "input.txt").write_text("emma\nava\n")  # beside it; read where minigrad runs
        engine = MICROSTYLE + "\n\ndocs = open('input.txt').read().split()\nprint(len(docs))\n"
        line = engine.splitlines().index("docs = open('input.txt').read().split()") + 1
        name = write(tmp_path, engine)
        before = sorted(p.name for p in tmp_path.iterdir())
        result = minigrad(tmp_path, "gradcheck", "--engine", name)
        assert result.returncode == 2, result.stdout + result.stderr
        said = result.stdout + result.stderr
        assert f"engine.py:{line} (docs = open('input.txt').read().split())" in said
        assert "raised FileNotFoundError" in said and "Traceback" not in said
        assert 'under `if __name__ == "__main__":`' in said
        assert sorted(p.name for p in tmp_path.iterdir()) == before

    def test_a_script_that_hangs_names_its_loop(self, tmp_path: Path) -> None:
        engine = MICROSTYLE + "\n\nwhile True:\n    pass\n"
        line = len(engine.splitlines()) - 1
        name = write(tmp_path, engine)
        result = minigrad(tmp_path, "gradcheck", "--engine", name, "--timeout", "1")
        assert result.returncode == 2, result.stdout + result.stderr
        said = result.stdout + result.stderr
        assert f"its top level runs a loop at engine.py:{line} (while True:)" in said

    def test_its_definitions_alone_are_checked_when_asked(self, tmp_path: Path) -> None:
        """`--definitions-only` (or `definitions-only = true`): the file runs without its
        script, in minigrad's processes; the engine is checked and mutated as it is, the
        lines where they are, and the file is unchanged."""
        script = (
            "\n\nn_embd = 4\nhead = n_embd // 2\n"
            "matrix = lambda n: [Value(0.1) for _ in range(n)]\n"
            "docs = open('input.txt').read().split()\nBOS = len(docs)\n"
            "params = matrix(n_embd)\nfor step in range(1000):\n"
            "    loss = sum(p * p for p in params)\n    loss.backward()\n"
        )
        name = write(tmp_path, MICROSTYLE + script)
        refused = minigrad(tmp_path, "gradcheck", "--engine", name)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        said = " ".join(refused.stderr.split())
        assert "--definitions-only (or `definitions-only = true` in [tool.minigrad])" in said
        checked = minigrad(tmp_path, "gradcheck", "--engine", name, "--definitions-only")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert re.search(r"\b[1-9]\d* passed, 0 failed", checked.stdout)
        (tmp_path / "pyproject.toml").write_text(
            f'[tool.minigrad]\nengine = "{name}"\ndefinitions-only = true\n'
        )
        mutated = minigrad(tmp_path, "mutate", "--judge", "battery")
        assert mutated.returncode == 0, mutated.stdout + mutated.stderr
        assert re.search(r"mutation score: 100\.0% \([1-9]\d* killed, 0 survived", mutated.stdout)
        assert (tmp_path / name).read_text() == MICROSTYLE + script

    def test_what_definitions_alone_keep(self) -> None:
        source = (
            "import math\nfrom typing import Any\n'doc'\nEPS = 1e-6\nHALF = EPS / 2\n"
            "f = lambda x: math.exp(x)\ndocs = open('input.txt')\nN = len(docs)\n"
            "M = N + 1\nK = [0.0] * 3\nL = [x for x in range(3)]\nprint('hi')\n"
            "try:\n    import numpy\nexcept ImportError:\n    numpy = None\n"
            "if not math.isfinite(EPS):\n    EPS = 0.0\n"
            "class A:\n    pass\nA.twice = A\nfor i in range(3):\n    pass\n"
        )
        kept = ast.unparse(definitions_alone(ast.parse(source))).splitlines()
        assert kept == [
            "import math",
            "from typing import Any",
            "'doc'",
            "EPS = 1e-06",
            "HALF = EPS / 2",
            "f = lambda x: math.exp(x)",
            "K = [0.0] * 3",
            "try:",
            "    import numpy",
            "except ImportError:",
            "    numpy = None",
            "",
            "class A:",
            "    pass",
            "A.twice = A",
        ], kept

    def test_a_failing_import_or_definition_is_no_script(self, tmp_path: Path) -> None:
        path = tmp_path / "engine.py"
        for source, script in [
            ("import no_such_module_here\n", False),
            ("class A:\n    x = 1 / 0\n", False),
            ("X = 1\nY = 1 / 0\n", True),
        ]:
            path.write_text(source)
            try:
                exec(compile(source, str(path), "exec"), {})
            except Exception as err:
                assert bool(script_failure(err, parse_spec(str(path)))) is script, source
            else:
                raise AssertionError(source)


def test_nodes_that_iterate_their_data_are_refused_for_what_they_lack(tmp_path: Path) -> None:
    """A Value that keeps a list and iterates it (`for dp in data`, a clone on GitHub) takes
    numpy vectors, so it is read as a tensor engine; making a leaf of a number (a 0-d array)
    raised "iteration over a 0-d array" as its steps were read, and discovery ended with
    "could not be loaded: TypeError ... during backward() of x * y".  Now that leaf is not
    needed there, and the refusal says what the engine lacks."""
    engine = """class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = [0 for _ in data]
        self._backward = lambda: None
        self._prev = set(_children)

    def __mul__(self, other):
        out = Value([a * b for a, b in zip(self.data, other.data)], (self, other))

        def _backward():
            for i, g in enumerate(out.grad):
                self.grad[i] += other.data[i] * g
                other.grad[i] += self.data[i] * g

        out._backward = _backward
        return out

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        self.grad = [1 for _ in self.data]
        for v in reversed(topo):
            v._backward()
"""
    result = minigrad(tmp_path, "gradcheck", "--engine", write(tmp_path, engine))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is a tensor engine minigrad cannot check: it has no sum()" in result.stderr
    assert "0-d array" not in result.stderr


# --- Cornell's MiniTorch: gradients in .derivative ---------------------------------------------


class TestMiniTorchShape:
    """MiniTorch's `Scalar` (a course many take: module 1 has students write its autodiff)
    keeps its gradient in `.derivative`, and was refused with "Scalar(0.5) has no .grad",
    nothing more.  `.derivative` is now aliased as `.gradient` is; its log adds 1e-6 inside
    (MiniTorch's own operators do), which the forward check still calls wrong, saying it is
    off by a relative 2.9e-06 only and which --rtol accepts it."""

    @pytest.fixture
    def project(self, tmp_path: Path) -> Path:
        shutil.copytree(ENGINES / "minitorch_shape" / "minitorch", tmp_path / "minitorch")
        return tmp_path

    def test_checked_with_its_log_said_as_it_is(self, project: Path) -> None:
        engine = "minitorch/scalar.py:Scalar"
        checked = minigrad(project, "gradcheck", "--engine", engine)
        assert checked.returncode == 1, checked.stdout + checked.stderr
        assert "its nodes keep their gradient in .derivative" in checked.stdout
        assert "\nwrong: log (" in checked.stdout
        assert "off by a relative 2.9e-06 only" in checked.stdout
        assert "--rtol 0.001 (the gradients' own tolerance) accepts it here too" in checked.stdout
        accepted = minigrad(project, "gradcheck", "--engine", engine, "--rtol", "0.001")
        assert accepted.returncode == 0, accepted.stdout + accepted.stderr
        assert re.search(r"\b[1-9]\d* passed, 0 failed", accepted.stdout)

    def test_its_functions_steps_are_mutated_and_written_tests_read_derivative(
        self, project: Path
    ) -> None:
        """Its ops' steps are the static `backward` of each function class, in another file
        of its package: mutated there.  A weak test of add lets most through, and the tests
        --suggest writes read `.derivative` and pass on the engine."""
        (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n')
        (project / "tests").mkdir()
        (project / "tests" / "test_weak.py").write_text(
            "from minitorch import Scalar\n\n\ndef test_add():\n"
            "    x, y = Scalar(2.0), Scalar(-3.0)\n    (x + y).backward()\n"
            "    assert x.derivative == 1.0\n"
        )
        mutated = minigrad(
            project, "mutate", "--engine", "minitorch/scalar.py:Scalar", "--tests", "tests",
            "--judge", "tests", "--rtol", "0.001", "--suggest", "tests/test_suggested.py",
        )  # fmt: skip
        assert mutated.returncode == 1, mutated.stdout + mutated.stderr
        assert "scalar_functions.py:mul-sign" in mutated.stdout  # in the file that holds it
        written = (project / "tests" / "test_suggested.py").read_text()
        assert ".derivative" in written and ".grad" not in written.replace(".derivative", "")
        passed = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert passed.returncode == 0, passed.stdout + passed.stderr


class TestTinyTorchShape:
    """TinyTorch (MLSysBook's course: students write its autograd module) sets its tracking
    ops and its backward() on `Tensor` from inside `enable_autograd()`, run once at import; each
    op's step is the `apply` of a class named for it (`AddBackward`).  Its steps were not seen
    (a method called `apply` was taken for a helper), so `mutate` refused it; and the mutants
    of backward() replaced enable_autograd, which never runs again: none ran, "not covered"."""

    @pytest.fixture
    def project(self, tmp_path: Path) -> Path:
        shutil.copytree(ENGINES / "tinytorch_shape" / "tinytorch", tmp_path / "tinytorch")
        return tmp_path

    def test_each_ops_step_is_the_apply_of_its_backward_class(self, project: Path) -> None:
        """And an op whose output keeps no graph (a `mean` not tracked) has no step: said so,
        not "its backward ran code in autograd.py" (that code was backward() itself)."""
        tensor = project / "tinytorch" / "core" / "tensor.py"
        tensor.write_text(
            tensor.read_text()
            + "\n    def mean(self):\n        return Tensor(np.mean(self._data))\n"
        )
        shown = minigrad(project, "inspect", "--engine", "tinytorch/__init__.py:Tensor")
        assert shown.returncode == 0, shown.stdout + shown.stderr
        rows = {line.split()[0]: line for line in shown.stdout.splitlines() if line.strip()}
        for op, line in (("add", 12), ("mul", 17), ("sub", 23), ("sum", 32)):
            assert f"function-class (line autograd.py:{line})" in rows[op], rows[op]
        assert "not mutated: mean: no backward step of its own was seen running" in shown.stdout

    def test_backward_set_on_the_class_is_mutated_as_itself(self, project: Path) -> None:
        """Its mutants replace backward() (and `_unbroadcast`, defined beside it and held in
        its closure), keeping the closure's cells where the edit drops the call that read one:
        every mutant runs, and the battery kills each."""
        report = project / "report.json"
        run = minigrad(
            project, "mutate", "--engine", "tinytorch/__init__.py:Tensor", "--json", str(report)
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "mutation score: 100.0% (51 killed, 0 survived, 0 not covered" in run.stdout
        mutants = {
            m["id"]: m
            for f in json.loads(report.read_text())["files"].values()
            for m in f["mutants"]
        }
        dropped = mutants["autograd.py:backward-unbroadcast"]  # the only read of a closure cell
        assert (dropped["status"], dropped["replacement"]) == ("Killed", "gradient")
        lines = {m["location"]["start"]["line"] for i, m in mutants.items() if "backward" in i}
        assert lines and lines <= set(range(65, 88)), lines  # _unbroadcast and backward() only

    def test_a_mutant_of_backward_replaces_backward_not_the_function_that_made_it(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The unit a mutant replaces is the innermost function around its edit that the
        engine keeps as an object (adapter.live): backward(), set on the class, and
        `_unbroadcast` in its closure; the ops' `op`, made by `tracked` for each op, is kept
        too; micrograd's `_backward`, made anew by each op, is not (its op's method is)."""
        from minigrad_tool.adapter import profile_engine
        from minigrad_tool.isolation import Limits
        from minigrad_tool.mutation.mutants import generate_mutants

        monkeypatch.chdir(project)
        spec, profile = profile_engine(parse_spec("tinytorch/__init__.py:Tensor"), Limits(60, None))
        kept = {qualname for _, qualname, _ in profile.live_nested}
        assert {
            "enable_autograd.<locals>.backward",
            "enable_autograd.<locals>._unbroadcast",
            "enable_autograd.<locals>.tracked.<locals>.op",
        } <= kept, kept
        units = {m.unit[0] for m in generate_mutants(spec, profile).mutants if m.op == "backward"}
        assert units == {
            "enable_autograd.<locals>.backward",
            "enable_autograd.<locals>._unbroadcast",
        }
        micro = project / "micro.py"
        micro.write_text(MICRO)
        _, plain = profile_engine(parse_spec("micro.py"), Limits(60, None))
        assert plain.live_nested == ()


class TestSeedOffset:
    """A backward(gradient=None) that adds the gradient it is given to its own node, once, and
    then walks the graph (the published `minitorch` 0.1.0, `torch.minitorch:Tensor`): 1e-6
    added to that seed scales every gradient by a relative 1e-6, below every tolerance, and
    the exact check an offset step fails (a zero upstream gradient) zeroes it too.  Its mutant
    survived the battery (minitorch: 93.8%, its one survivor); it is no longer made.  Where
    backward() runs for every node (a recursive pass), the same statement adds each node's
    upstream gradient, and its offset is still made, and killed."""

    def test_the_seed_of_a_pass_that_runs_once_gets_no_offset(self, tmp_path: Path) -> None:
        shutil.copy(ENGINES / "seeded_tensor.py", tmp_path)
        report = tmp_path / "report.json"
        run = minigrad(
            tmp_path, "mutate", "--engine", "seeded_tensor.py:Tensor",
            "--operators", "offset,sign", "--json", str(report),
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        ids = {
            m["id"] for f in json.loads(report.read_text())["files"].values() for m in f["mutants"]
        }
        assert {"add-offset", "mul-offset", "sum-offset", "backward-sign"} <= ids, ids
        assert "backward-offset" not in ids

    def test_backward_runs_once_is_measured(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from minigrad_tool.adapter import profile_engine
        from minigrad_tool.isolation import Limits

        shutil.copy(ENGINES / "seeded_tensor.py", tmp_path)
        shutil.copy(ENGINES / "recursive_pass.py", tmp_path)
        shutil.copytree(ENGINES / "tinytorch_shape" / "tinytorch", tmp_path / "tinytorch")
        (tmp_path / "micro.py").write_text(MICRO)
        monkeypatch.chdir(tmp_path)
        once = {}
        for spec in ("seeded_tensor.py:Tensor", "micro.py", "recursive_pass.py",
                     "tinytorch/__init__.py:Tensor"):  # fmt: skip
            sweep = profile_engine(parse_spec(spec), Limits(60, None))[1].sweep
            assert sweep is not None
            once[spec] = sweep.once
        assert once == {
            "seeded_tensor.py:Tensor": True,
            "micro.py": True,
            "recursive_pass.py": False,
            "tinytorch/__init__.py:Tensor": False,
        }
