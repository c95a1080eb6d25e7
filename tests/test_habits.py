"""Why your tests miss it (issue 29): the weak habit behind survivors, read from what the tests
did on the unmutated engine, and the fix it prints, applied by hand, kills those survivors.

Modules: minigrad_tool.mutation.habits.
"""

from __future__ import annotations

import cProfile
import json
from pathlib import Path
from typing import Any

import pytest
from test_hostile import minigrad as run_minigrad

from minigrad.engine import Value
from minigrad_tool.adapter import load_in_process
from minigrad_tool.check import settings_for
from minigrad_tool.mutation.campaign import run_campaign
from minigrad_tool.mutation.habits import (
    HABITS,
    HabitWatch,
    Spelling,
    backward_undone,
    diagnose,
    record_habits,
)
from minigrad_tool.mutation.judging import CampaignConfig
from minigrad_tool.mutation.results import Status

ENGINES = Path(__file__).parent / "engines"
TENSOR = Path(__file__).parents[1] / "src" / "minigrad" / "tensor.py"

pytestmark = pytest.mark.campaign

WEAK = """from engine import Value


def test_mul():
    x, y = Value({x}), Value({y})
    out = x * y
    out.backward()
    assert abs(x.grad - {y}) < {tol} and abs(y.grad - {x}) < {tol}
"""

_FIRST_THREE = ("upstream-one", "no-accumulation", "equal-operands")

# The fix each habit prints, applied by hand: one more test.
FIXES = {
    "upstream-one": """

def test_mul_scaled():
    x, y = Value(1.3), Value(-0.7)
    (x * y * -1.7).backward()
    assert abs(x.grad - -1.7 * -0.7) < 1e-9 and abs(y.grad - -1.7 * 1.3) < 1e-9
""",
    "no-accumulation": """

def test_mul_accumulates():
    x, y = Value(1.3), Value(-0.7)
    x.grad, y.grad = 0.37, 0.37
    (x * y).backward()
    assert abs(x.grad - (0.37 - 0.7)) < 1e-9 and abs(y.grad - (0.37 + 1.3)) < 1e-9
""",
    "nonzero-upstream": """

def test_mul_zero_upstream():
    x, y = Value(1.3), Value(-0.7)
    (x * y * 0.0).backward()
    assert x.grad == 0 and y.grad == 0
""",
    "one-graph-at-a-time": """

def test_mul_second_graph():
    x, y = Value(1.3), Value(-0.7)
    first = x * y
    Value(0.4) * Value(2.5)
    first.backward()
    assert abs(x.grad - -0.7) < 1e-9 and abs(y.grad - 1.3) < 1e-9
""",
    "equal-operands": """

def test_mul_distinct():
    x, y = Value(1.3), Value(-0.7)
    (x * y).backward()
    assert abs(x.grad - -0.7) < 1e-9 and abs(y.grad - 1.3) < 1e-9
""",
}


def campaign(folder: Path, operators: str, *extra: str) -> dict[str, object]:
    engine = "engine.py:Tensor" if "transpose" in operators else "engine.py"
    done = run_minigrad(
        folder, "mutate", "--engine", engine, "--tests", "tests", "--judge", "tests",
        "--operators", operators, "--min-score", "0", "--json", "r.json", *extra,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((folder / "r.json").read_text())
    statuses = {m["id"]: m["status"] for f in report["files"].values() for m in f["mutants"]}
    return {"statuses": statuses, "config": report["config"], "stdout": done.stdout}


def project(tmp_path: Path, x: float, y: float, tol: float) -> Path:
    (tmp_path / "engine.py").write_text((ENGINES / "microstyle.py").read_text())
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_weak.py").write_text(WEAK.format(x=x, y=y, tol=tol))
    return tmp_path


# The habits of scalar tests (the tensor ones, no-broadcast and square-shapes, need arrays).
SCALAR_HABITS = [h for h in HABITS if h.name in FIXES]


@pytest.mark.e2e
@pytest.mark.parametrize("habit", [h.name for h in SCALAR_HABITS])
def test_the_habit_is_named_and_its_fix_kills_its_survivors(tmp_path: Path, habit: str) -> None:
    """The weak test compares within 1e-4 for nonzero-upstream (a 1e-6 offset passes it, as it
    passes any tolerance), within 1e-9 otherwise."""
    operators = (
        "chain,assign,swap"
        if habit in _FIRST_THREE
        else next(h.operator for h in HABITS if h.name == habit)
    )
    y = 2.0 if habit == "equal-operands" else -3.0
    folder = project(tmp_path, 2.0, y, 1e-4 if habit == "nonzero-upstream" else 1e-9)
    before = campaign(folder, operators, "--suggest", "suggested.py", "--html", "r.html")
    diagnosis = before["config"]["diagnosis"]  # type: ignore[index]
    named = {d["habit"]: d for d in diagnosis["habits"]}
    assert habit in named, diagnosis
    explained = named[habit]["survivors"]
    assert explained and all(i.startswith("mul-") for i in explained)
    assert [t.rpartition("::")[2] for t in named[habit]["tests"]] == ["test_mul"]
    assert "fix: " in str(before["stdout"]) and habit in str(before["stdout"])
    broken_by = next(h.broken_by for h in HABITS if h.name == habit)
    suggested = " ".join((folder / "suggested.py").read_text().split())
    assert f"{habit}: {broken_by}" in suggested  # the tests say which habit they break
    page = (folder / "r.html").read_text()
    assert '<div class="diagnosis">' in page and f"<b>{habit}</b>" in page
    with (folder / "tests" / "test_weak.py").open("a") as tests:
        tests.write(FIXES[habit])
    after = campaign(folder, operators)
    statuses = after["statuses"]
    assert {statuses[i] for i in explained} == {"Killed"}, statuses  # type: ignore[index]


TENSOR_WEAK = """import numpy as np
from engine import Tensor


def test_add():
    a, b = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([[0.3, 0.7], [-1.1, 2.0]])
    w = np.array([[0.5, -1.5], [2.0, 0.25]])
    x, y = Tensor(a), Tensor(b)
    ((x + y) * Tensor(w)).sum().backward()
    assert np.allclose(x.grad, w) and np.allclose(y.grad, w)


def test_matmul():
    a, b = np.array([[1.0, -2.0], [-2.0, 3.0]]), np.array([[0.3, 0.7], [0.7, 2.0]])
    w = np.array([[0.5, -1.5], [-1.5, 0.25]])
    x, y = Tensor(a), Tensor(b)
    ((x @ y) * Tensor(w)).sum().backward()
    assert np.allclose(x.grad, w @ b.T) and np.allclose(y.grad, a.T @ w)


def check(op, a, b):
    w = np.cos(np.arange(np.size(op(a, b)))).reshape(np.shape(op(a, b)))
    x, y = Tensor(a), Tensor(b)
    (op(x, y) * Tensor(w)).sum().backward()
    for got, at, f in ((x.grad, a, lambda t: op(t, b)), (y.grad, b, lambda t: op(a, t))):
        want = np.zeros_like(at)
        for i in np.ndindex(at.shape):
            up, down = at.copy(), at.copy()
            up[i] += 1e-6
            down[i] -= 1e-6
            want[i] = ((f(up) - f(down)) * w).sum() / 2e-6
        assert np.allclose(got, want, atol=1e-5)
"""

# The fix each tensor habit prints, applied by hand.
TENSOR_FIXES = {
    "no-broadcast": """

def test_broadcast():
    rng = np.random.default_rng(0)
    for op in (lambda p, q: p + q, lambda p, q: p * q):  # the loss's * is the tests' too
        check(op, rng.normal(size=(3, 4)), rng.normal(size=(4,)))
        check(op, rng.normal(size=(4,)), rng.normal(size=(3, 4)))
    check(lambda p, q: p @ q, rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)))
    check(lambda p, q: p @ q, rng.normal(size=(3, 4)), rng.normal(size=(2, 4, 5)))
""",
    "square-shapes": """

def test_matmul_not_square():
    rng = np.random.default_rng(2)
    check(lambda p, q: p @ q, rng.normal(size=(2, 3)), rng.normal(size=(3, 4)))
""",
    "two-d-only": """

def test_batched_matmul():
    rng = np.random.default_rng(1)
    check(lambda p, q: p @ q, rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 5)))
""",
}


@pytest.mark.e2e
@pytest.mark.parametrize("habit", list(TENSOR_FIXES))
def test_a_tensor_habit_is_named_and_its_fix_kills_its_survivors(
    tmp_path: Path, habit: str
) -> None:
    """On our Tensor, 2-D tests of + and of @ on square symmetric matrices: the diagnosis
    names the habit, the suggested tests say they break it, and the fix appended by hand
    kills what it explained."""
    (tmp_path / "engine.py").write_text(TENSOR.read_text())
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_weak.py").write_text(TENSOR_WEAK)
    before = campaign(tmp_path, "unbroadcast,transpose", "--suggest", "suggested.py")
    named = {d["habit"]: d for d in before["config"]["diagnosis"]["habits"]}  # type: ignore[index]
    assert habit in named
    explained = named[habit]["survivors"]
    assert explained and all(i.startswith(("add-", "mul-", "matmul-")) for i in explained)
    broken_by = next(h.broken_by for h in HABITS if h.name == habit)
    assert f"{habit}: {broken_by}" in " ".join((tmp_path / "suggested.py").read_text().split())
    with (tmp_path / "tests" / "test_weak.py").open("a") as tests:
        tests.write(TENSOR_FIXES[habit])
    statuses = campaign(tmp_path, "unbroadcast,transpose")["statuses"]
    assert {statuses[i] for i in explained} == {"Killed"}, statuses  # type: ignore[index]


def test_a_habit_explains_only_when_every_test_that_ran_the_code_shows_it() -> None:
    habits = {"t1": {"mul": ["upstream-one"]}, "t2": {"mul": []}}
    found, unexplained = diagnose(
        [
            ("mul-chain", "mul", "chain", "", ["t1"]),
            ("mul-chain-2", "mul", "chain", "", ["t1", "t2"]),
            ("mul-sign", "mul", "sign", "", ["t1"]),
            ("add-chain", "add", "chain", "", []),
        ],
        habits,
    )
    assert [(d.habit.name, d.survivors, d.tests) for d in found] == [
        ("upstream-one", ("mul-chain",), ("t1",))
    ]
    assert unexplained == ["mul-chain-2", "mul-sign", "add-chain"]


def test_the_recorder_reads_each_step_call() -> None:
    """Our engine's mul step, watched: upstream 1 (never 0), nothing to accumulate into and one
    forward per step when backward() is called on x * y; none of these once the output is
    scaled, x used twice and a second graph built before the backward; and a zero upstream
    gradient clears the last."""
    step, forward = Value._mul_backward.__code__, Value.__mul__.__code__  # type: ignore[attr-defined]
    watch = HabitWatch(
        steps={(step.co_filename, step.co_qualname, step.co_firstlineno): "mul"},
        forwards={(forward.co_filename, forward.co_qualname, forward.co_firstlineno): "mul"},
        children="_prev",
    )
    with record_habits(watch) as plain:
        (Value(2.0) * Value(-3.0)).backward()
    assert plain["habits"] == {
        "mul": ["no-accumulation", "nonzero-upstream", "one-graph-at-a-time", "upstream-one"]
    }
    with record_habits(watch) as weighted:
        x = Value(2.0)
        first = x * Value(-3.0) * x * -1.7
        x * Value(1.5)  # a second graph, built before the first's backward
        first.backward()
    assert weighted["habits"] == {"mul": ["nonzero-upstream"]}
    with record_habits(watch) as zeroed:
        (Value(2.0) * Value(-3.0) * 0.0).backward()
    assert "nonzero-upstream" not in zeroed["habits"]["mul"]
    sent = json.loads(json.dumps(watch.to_json()))  # to a host launched before discovery
    assert HabitWatch.from_json(sent) == watch


class _Named:
    """A node whose steps call the node they give their gradient from `output`, not `out`
    (tardigrad 0.1.0): the recorder reads its upstream gradient all the same."""

    def __init__(self, data: float) -> None:
        self.data, self.grad = data, 0.0
        self.grad_fn: Any = lambda: None

    def __mul__(self, other: _Named) -> _Named:
        output = _Named(self.data * other.data)

        def grad_fn() -> None:
            self.grad += other.data * output.grad
            other.grad += self.data * output.grad

        output.grad_fn = grad_fn
        return output


def test_the_recorder_finds_an_output_not_named_out() -> None:
    code = next(c for c in _Named.__mul__.__code__.co_consts if hasattr(c, "co_qualname"))
    watch = HabitWatch({(code.co_filename, code.co_qualname, code.co_firstlineno): "mul"})
    found = {}
    for upstream in (1.0, -1.7):
        with record_habits(watch) as seen:
            out = _Named(2.0) * _Named(-3.0)
            out.grad = upstream
            out.grad_fn()
        found[upstream] = seen["habits"]["mul"]
    assert "upstream-one" in found[1.0] and "upstream-one" not in found[-1.7]
    assert "nonzero-upstream" in found[-1.7]


def test_the_recorder_runs_under_a_profiler_written_in_c() -> None:
    """cProfile's hook is no function: recording under it (`python -m cProfile -m
    minigrad_tool mutate`) failed with "'Profile' object is not callable"."""
    step = Value._mul_backward.__code__  # type: ignore[attr-defined]
    watch = HabitWatch(
        {(step.co_filename, step.co_qualname, step.co_firstlineno): "mul"}, {}, "_prev"
    )
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        with record_habits(watch) as found:
            (Value(2.0) * Value(-3.0)).backward()
    finally:
        profiler.disable()
    assert "upstream-one" in found["habits"]["mul"]


def test_merge_joins_the_shards_diagnoses() -> None:
    """Each shard explains its own survivors: the merged report holds them all, as the
    unsharded run would (measured on examples/student: the same habits and survivors)."""
    from minigrad_tool.report.merge import _merged_diagnosis

    def shard(survivors: list[str], tests: list[str], unexplained: list[str]) -> dict[str, object]:
        habit = {"habit": "upstream-one", "shows": "", "fix": "", "survivors": survivors,
                 "tests": tests}  # fmt: skip
        return {"config": {"diagnosis": {"habits": [habit], "unexplained": unexplained}}}

    merged = _merged_diagnosis(
        [shard(["mul-chain"], ["t::a"], ["mul-sign"]), shard(["add-chain"], ["t::b"], [])]
    )
    assert merged is not None
    assert merged["habits"][0]["survivors"] == ["mul-chain", "add-chain"]
    assert merged["habits"][0]["tests"] == ["t::a", "t::b"]
    assert merged["unexplained"] == ["mul-sign"]
    assert _merged_diagnosis([{"config": {}}]) is None
    at_import = {"config": {"diagnosis": {"computedAtImport": {"tests/test_a.py": ["x"]}}}}
    merged = _merged_diagnosis([at_import, shard([], [], [])])
    assert merged is not None and merged["computedAtImport"] == {"tests/test_a.py": ["x"]}


STRONG_ADD_WEAK_MUL = """from engine import Value


def test_add():
    x, y = Value(2.0), Value(-3.0)
    (x + y).backward()
    assert x.grad == 1.0 and y.grad == 1.0


def test_mul():
    x, y = Value(2.0), Value(-3.0)
    (x * y).backward()
    assert x.grad == -3.0
"""


def test_only_the_tests_that_ran_a_survivors_code_are_recorded(tmp_path: Path) -> None:
    """The recorder's hook slows every call: it runs after judging, on the tests that ran a
    survivor's code alone.  test_add kills every sign flip of add though its upstream is
    always 1 (a habit it has), so nothing of it is recorded; test_mul misses the flip of
    y's gradient, and shows that habit for mul."""
    (tmp_path / "engine.py").write_text((ENGINES / "microstyle.py").read_text())
    (tmp_path / "test_engine.py").write_text(STRONG_ADD_WEAK_MUL)
    loaded = load_in_process(str(tmp_path / "engine.py"))
    config = CampaignConfig(
        operators=("sign",),
        jobs=2,
        tests=(str(tmp_path / "test_engine.py"),),
        judges=("tests",),
        settings=settings_for(loaded.profile),
    )
    campaign = run_campaign(loaded.spec, loaded.profile, config)
    status = {r.mutant.id: r.status for r in campaign.results}
    assert {status[i] for i in status if i.startswith("add-")} == {Status.KILLED}, status
    survivors = [r for r in campaign.results if r.status is Status.SURVIVED]
    assert survivors and {r.mutant.op for r in survivors} == {"mul"}, status
    recorded = {test.rpartition("::")[2]: ops for test, ops in campaign.habits.items()}
    assert list(recorded) == ["test_mul"], campaign.habits
    assert "upstream-one" in recorded["test_mul"]["mul"]


BLIND = """from engine import Value


def test_mul():
    x, y = Value(2.0), Value(-3.0)
    out = x * y
    out.backward()
    assert out.data == -6.0  # the value only: no gradient is compared
"""


def test_a_test_that_compares_no_gradient_is_named_so(tmp_path: Path) -> None:
    """It passes with backward() doing nothing (run once more so): every survivor it alone
    ran is its habit's, whatever the operator, rather than upstream-one's and the others'."""
    (tmp_path / "engine.py").write_text((ENGINES / "microstyle.py").read_text())
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_blind.py").write_text(BLIND)
    report = campaign(tmp_path, "chain,assign,sign")
    diagnosis = report["config"]["diagnosis"]  # type: ignore[index]
    (named,) = diagnosis["habits"]
    assert named["habit"] == "no-gradient-checked", diagnosis
    assert sorted(named["survivors"]) == sorted(
        m
        for m, s in report["statuses"].items()
        if s == "Survived"  # type: ignore[attr-defined]
    )
    assert named["tests"] == ["tests/test_blind.py::test_mul"]
    assert "pass with the engine's backward() doing nothing" in str(report["stdout"])


def test_no_gradient_explains_any_operator_and_only_where_every_test_shows_it() -> None:
    habits = {"t1": {"": ["no-gradient-checked"], "mul": ["upstream-one"]}, "t2": {"mul": []}}
    found, unexplained = diagnose(
        [
            ("mul-sign", "mul", "sign", "", ["t1"]),
            ("mul-chain", "mul", "chain", "", ["t1"]),
            ("mul-sign-2", "mul", "sign", "", ["t1", "t2"]),
        ],
        habits,
    )
    assert [(d.habit.name, d.survivors) for d in found] == [
        ("no-gradient-checked", ("mul-sign", "mul-chain"))
    ]
    assert unexplained == ["mul-sign-2"]
    assert "assert each input's .grad against" in found[0].habit.fix
    spelled, _ = diagnose([("mul-sign", "mul", "sign", "", ["t1"])], habits, Spelling("gradient"))
    assert "assert each input's .gradient against" in spelled[0].habit.fix  # the engine's name
    named = Spelling(backward="updateGradients")  # and its backward pass's, in every fix
    for habit in HABITS:
        assert "backward()" not in named.fix(habit)
    upstream = next(h for h in HABITS if h.name == "upstream-one")
    assert "e.g. (out * -1.7).updateGradients()" in named.fix(upstream)
    habits["t2"]["mul"] = ["upstream-one"]  # where it does not hold, the next habit may
    habits["t1"][""] = []
    found, _ = diagnose([("mul-chain", "mul", "chain", "", ["t1", "t2"])], habits)
    assert [d.habit.name for d in found] == ["upstream-one"]


def test_backward_undone_does_nothing_and_puts_backward_back(tmp_path: Path) -> None:
    import importlib.util
    import sys

    path = tmp_path / "blind_engine.py"
    path.write_text((ENGINES / "microstyle.py").read_text() + "\n\nclass Child(Value):\n    pass\n")
    spec = importlib.util.spec_from_file_location("blind_engine", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["blind_engine"] = module
    try:
        spec.loader.exec_module(module)
        own = module.Value.__dict__["backward"]
        with backward_undone((str(path), "Value", "backward")) as calls:  # its own
            x = module.Value(2.0)
            (x * 3.0).backward()
            assert x.grad == 0 and calls == [1]
        with backward_undone((str(path), "Child", "backward")) as calls:  # an inherited one
            leaf = module.Child(2.0)
            leaf.backward()
            assert leaf.grad == 0 and calls == [1]
        x, leaf = module.Value(2.0), module.Child(2.0)
        (x * 3.0).backward()
        leaf.backward()
        assert x.grad == 3.0 and leaf.grad == 1.0
        assert module.Value.__dict__["backward"] is own and "backward" not in vars(module.Child)
    finally:
        del sys.modules["blind_engine"]


WAITS = """from engine import Value


def test_mul():
    x, y = Value(2.0), Value(-3.0)
    (x * y).backward()
    assert x.grad == -3.0 and y.grad == 2.0


def test_waits():
    x = Value(2.0)
    out = x * 4.0
    out.backward()
    while x.grad == 0:  # never ends when no gradient arrives
        pass
    assert out.data == 8.0
"""


def test_a_test_that_never_ends_without_gradients_costs_only_that_claim(tmp_path: Path) -> None:
    """With backward() doing nothing, test_waits never ends: its run is stopped at a mutant's
    deadline, in a child of its own, and the habits both tests showed in their plain runs
    still explain mul's chain mutants (upstream 1 everywhere)."""
    (tmp_path / "engine.py").write_text((ENGINES / "microstyle.py").read_text())
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_waits.py").write_text(WAITS)
    report = campaign(tmp_path, "chain")
    diagnosis = report["config"]["diagnosis"]  # type: ignore[index]
    named = {d["habit"]: d for d in diagnosis["habits"]}
    assert "no-gradient-checked" not in named, diagnosis
    assert "mul-chain" in named["upstream-one"]["survivors"], diagnosis


@pytest.mark.e2e
def test_a_habit_explains_the_survivors_of_a_step_an_alias_shares(tmp_path: Path) -> None:
    """`__rmul__ = __mul__`, a common spelling: rmul's steps are mul's, and so are its
    mutants' names; the habits were recorded as rmul's, and no habit explained mul's
    survivors ("8 survivor(s) no habit explains" on the student example so spelt)."""
    folder = project(tmp_path, 2.0, -3.0, 1e-9)
    engine = folder / "engine.py"
    rmul = "    def __rmul__(self, other):\n        return self * other\n"
    assert rmul in engine.read_text()
    engine.write_text(engine.read_text().replace(rmul, "    __rmul__ = __mul__\n"))
    diagnosis = campaign(folder, "chain")["config"]["diagnosis"]  # type: ignore[index]
    named = {d["habit"]: d["survivors"] for d in diagnosis["habits"]}
    assert "upstream-one" in named, diagnosis
    assert named["upstream-one"] and all(i.startswith("mul-") for i in named["upstream-one"])
