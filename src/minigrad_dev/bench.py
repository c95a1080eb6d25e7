"""Benchmarks against their anchors, measured side by side in one run.

Every figure is printed as a ratio against its anchor measured in the same
process on the same machine (micrograd 0.1.0 for the engine, `mutmut run` for
the campaign), because absolute times on a shared 2-core machine mean little.
Run it with micrograd available:

    uv run --with micrograd==0.1.0 python scripts/bench.py

It is a development tool (the package `minigrad_dev`, not in the wheel).
"""

from __future__ import annotations

import gc
import itertools
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from minigrad import engine as ours
from minigrad import nn as our_nn
from minigrad_dev.mutmut_gate import read_results
from minigrad_dev.published import (
    PUBLISHED,
    PUBLISHED_NEEDS,
    PublishedError,
    fetch,
    venv_python,
)
from minigrad_dev.scaled import write_scaled_student
from minigrad_tool import gradcheck  # the full checker: its fast mode

__all__ = ["Figure", "run_all"]


@dataclass(frozen=True)
class Figure:
    """One benchmark line: what, the anchor's value, ours, their ratio and the goal."""

    name: str
    anchor: str
    ours: str
    ratio: float  # NaN when the anchor was not measured
    goal: float
    how: str

    @property
    def status(self) -> str:
        if math.isnan(self.ratio):
            return "skipped"
        return "met" if self.ratio >= self.goal else "MISSED"


def _best_of(repeats: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _training_step(value_cls: Any, mlp_cls: Any) -> Callable[[], object]:
    """One step of an MLP 2-16-16-1 on 100 points: forward, squared loss, backward, update."""
    random.seed(0)
    model = mlp_cls(2, [16, 16, 1])
    rng = random.Random(1)
    data = [([rng.uniform(-1, 1), rng.uniform(-1, 1)], rng.uniform(-1, 1)) for _ in range(100)]

    def step() -> object:
        loss = value_cls(0.0)
        for x, y in data:
            loss = loss + (model(x) - y) ** 2
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.001 * p.grad
        return loss

    return step


def training_step(mg: ModuleType, mg_nn: ModuleType, repeats: int) -> Figure:
    theirs = _training_step(mg.Value, mg_nn.MLP)
    mine = _training_step(ours.Value, our_nn.MLP)
    t_theirs, t_mine = float("inf"), float("inf")
    for _ in range(repeats):  # interleaved, so both see the same machine noise
        # Each step starts from a clean heap: micrograd's graphs are reference
        # cycles that only the cyclic collector frees, and left alone they are
        # collected during whichever step runs next.
        gc.collect()
        t_theirs = min(t_theirs, _best_of(1, theirs))
        gc.collect()
        t_mine = min(t_mine, _best_of(1, mine))
    return Figure(
        "training step, MLP 2-16-16-1, 100 points",
        f"{t_theirs * 1000:.0f} ms",
        f"{t_mine * 1000:.0f} ms",
        t_theirs / t_mine,
        3.0,
        f"best of {repeats}, interleaved, gc.collect() before each",
    )


def _chain_ok(value_cls: Any, n: int) -> bool:
    a, b = value_cls(1.0), value_cls(1.0)
    y = a
    for _ in range(n):
        y = y + b
    try:
        y.backward()
    except RecursionError:
        return False
    return True


def longest_chain(mg: ModuleType) -> Figure:
    """micrograd's recursive topo sort fails somewhere below 1,000 nodes; ours must reach 1e6."""
    low, high = 1, 5000
    while low < high:  # the longest chain micrograd handles at the default recursion limit
        mid = (low + high + 1) // 2
        if _chain_ok(mg.Value, mid):
            low = mid
        else:
            high = mid - 1
    start = time.perf_counter()
    gc.disable()
    try:
        ok = _chain_ok(ours.Value, 1_000_000)
    finally:
        gc.enable()
    seconds = time.perf_counter() - start
    return Figure(
        "longest chain backward() handles",
        f"{low} nodes (RecursionError at {low + 1})",
        f"1,000,000 nodes in {seconds:.1f} s" if ok else "FAILED at 1,000,000",
        (1_000_000 if ok else 0) / low,
        1_000_000 / 1000,
        "binary search for micrograd; one 1e6 chain for minigrad",
    )


def _bytes_per_node(value_cls: Any, n: int = 100_000) -> float:
    a, b = value_cls(0.5), value_cls(1.0001)
    gc.collect()
    tracemalloc.start()
    y = a
    for _ in range(n):
        y = y * b
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del y
    return current / n


def memory(mg: ModuleType) -> Figure:
    theirs, mine = _bytes_per_node(mg.Value), _bytes_per_node(ours.Value)
    return Figure(
        "memory per node (tracemalloc, chain of x * b)",
        f"{theirs:.0f} B",
        f"{mine:.0f} B",
        theirs / mine,
        688 / 250,
        "100,000-node chain; goal is <= 250 B",
    )


class _Counting:
    def __init__(self, f: Callable[..., Any]) -> None:
        self.f, self.calls = f, 0

    def __call__(self, *xs: Any) -> Any:
        self.calls += 1
        return self.f(*xs)


def mlp_loss(sizes: list[int], data: list[tuple[list[float], float]]) -> Callable[..., Any]:
    """The squared loss of an MLP (ReLU hidden layers) as a function of its flat parameters."""
    last = len(sizes) - 2

    def loss(*p: Any) -> Any:
        total: Any = 0.0
        for x, y in data:
            act: list[Any] = list(x)
            k = 0
            for layer, (nin, nout) in enumerate(itertools.pairwise(sizes)):
                nxt = []
                for _ in range(nout):
                    s = p[k + nin]  # the bias, then w . x
                    for i in range(nin):
                        s = s + p[k + i] * act[i]
                    k += nin + 1
                    nxt.append(s.relu() if layer < last else s)
                act = nxt
            total = (act[0] - y) ** 2 + total
        return total

    return loss


def fast_gradcheck() -> Figure:
    """Forward passes of per-input and fast gradcheck on an MLP 2-16-16-1 (337 parameters)."""
    sizes = [2, 16, 16, 1]
    count = sum((nin + 1) * nout for nin, nout in itertools.pairwise(sizes))
    rng = random.Random(0)
    inputs = [ours.Value(rng.uniform(-1.0, 1.0)) for _ in range(count)]
    loss = mlp_loss(sizes, [([0.3, -0.7], 0.5), ([-0.2, 0.9], -0.1), ([0.8, 0.1], 0.4)])
    slow, fast = _Counting(loss), _Counting(loss)
    gradcheck(slow, inputs)
    gradcheck(fast, inputs, fast=True)
    return Figure(
        f"gradcheck forward passes, MLP 2-16-16-1 ({count} parameters)",
        f"{slow.calls} (per input)",
        f"{fast.calls} (fast: 2 Gaussian probes, steps h and 2h)",
        slow.calls / fast.calls,
        50.0,
        "counted calls of f, property checks included",
    )


def _copy_project(root: Path, target: Path) -> None:
    """The tracked and untracked-but-not-ignored files of the checkout (no mutants/)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listed:
        if name.startswith("mutants/") and name != "mutants/README.md":
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target / name)
    (target / "mutants").mkdir(exist_ok=True)


def _timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(
        command,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # a campaign judges in full unless a row measures the result cache (`env` says)
        env={**os.environ, "MINIGRAD_RESULTS": "off", **(env or {})},
    )
    return time.perf_counter() - start


def _count(report: Path) -> int:
    data = json.loads(report.read_text())
    return sum(len(e["mutants"]) for e in data["files"].values())


def _ours(
    command: list[str], cwd: Path, runs: int = 3, python: Path | None = None
) -> tuple[int, float, float]:
    """Mutant count, best and median wall time of `minigrad mutate ... --json`, over `runs`
    (with `python`, else this environment's)."""
    executable = str(python or sys.executable)
    with tempfile.TemporaryDirectory(prefix="minigrad-bench-") as tmp:
        report = Path(tmp) / "r.json"
        times = [
            _timed([executable, "-m", "minigrad_tool", *command, "--json", str(report)], cwd)
            for _ in range(runs)
        ]
        return _count(report), min(times), statistics.median(times)


def _rate(count: int, best: float, median: float) -> str:
    return f"{count} in {best:.2f} s = {count / best:.0f}/s (median {count / median:.0f}/s)"


def _mutmut(project: Path, python: Path | None = None) -> tuple[int, float]:
    """Mutant count and wall time of one `mutmut run` in a clean project folder (the mutmut
    beside `python`, else beside this environment's)."""
    mutmut = shutil.which("mutmut", path=str(Path(python or sys.executable).parent)) or "mutmut"
    seconds = _timed([mutmut, "run"], project)
    return len(read_results(project).statuses), seconds


def battery_throughput(root: Path, skip_mutmut: bool) -> Figure:
    """`minigrad mutate` (our engine, the battery) against `mutmut run` on this repository."""
    count, best, median = _ours(["mutate", "--judge", "battery"], root)
    ours_text = _rate(count, best, median)
    if skip_mutmut:
        return Figure(
            "campaign throughput, battery judge", "skipped", ours_text, math.nan, 10.0, ""
        )
    with tempfile.TemporaryDirectory(prefix="minigrad-bench-") as tmp:
        _copy_project(root, Path(tmp))
        theirs, seconds = _mutmut(Path(tmp))
    return Figure(
        "campaign throughput, battery judge (whole command, wall clock)",
        f"mutmut run on this repository: {theirs} in {seconds:.1f} s = {theirs / seconds:.1f}/s",
        f"minigrad mutate: {ours_text}",
        (count / best) / (theirs / seconds),
        10.0,
        "minigrad best of 3; mutmut once, on a clean copy",
    )


def _two_file_project(target: Path, engine: Path, tests: Path) -> None:
    """A project with one engine file and one test file, for mutmut."""
    (target / "src").mkdir(parents=True)
    (target / "tests").mkdir()
    (target / "mutants").mkdir()
    shutil.copy2(engine, target / "src" / engine.name)
    shutil.copy2(tests, target / "tests" / tests.name)
    (target / "pyproject.toml").write_text(
        "[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f'only_mutate = ["src/{engine.name}"]\n'
        f'pytest_add_cli_args_test_selection = ["tests/{tests.name}"]\n\n'
        "[tool.pytest.ini_options]\n"
        'pythonpath = ["src"]\n'
    )


def _repository_project(root: Path, target: Path, engine: str, tests: str) -> None:
    """A copy of this repository whose mutmut mutates only `engine`, judged by `tests`."""
    _copy_project(root, target)
    pyproject = target / "pyproject.toml"
    text = pyproject.read_text()
    head, _, _ = text.partition("[tool.mutmut]")
    pyproject.write_text(
        head
        + "[tool.mutmut]\n"
        + 'source_paths = ["src"]\n'
        + f'only_mutate = ["{engine}"]\n'
        + f'pytest_add_cli_args_test_selection = ["{tests}"]\n'
    )


def tests_throughput(
    name: str,
    ours: list[str],
    cwd: Path,
    make: Callable[[Path], None],
    skip: bool,
    python: Path | None,
) -> Figure:
    """Your tests as the judge: minigrad against mutmut, same engine file, same test file,
    both with `python` (a venv as a user has it, minigrad_dev.published)."""
    count, best, median = _ours([*ours, "--judge", "tests", "--min-score", "0"], cwd, 3, python)
    ours_text = f"mutate --tests --judge tests: {_rate(count, best, median)}"
    if skip:
        return Figure(name, "skipped", ours_text, math.nan, 10.0, "")
    with tempfile.TemporaryDirectory(prefix="minigrad-bench-") as tmp:
        make(Path(tmp))
        theirs, seconds = _mutmut(Path(tmp), python)
    return Figure(
        name + " (whole command, wall clock)",
        f"mutmut run: {theirs} in {seconds:.1f} s = {theirs / seconds:.1f}/s",
        ours_text,
        (count / best) / (theirs / seconds),
        10.0,
        "minigrad best of 3; mutmut once on a clean copy, mutating only that file, "
        "judged by that test file",
    )


def student_throughput(root: Path, skip: bool, python: Path | None) -> Figure:
    engine = root / "examples" / "student" / "engine.py"
    tests = root / "examples" / "student" / "test_engine.py"
    with tempfile.TemporaryDirectory(prefix="minigrad-bench-") as tmp:
        ours = Path(tmp)
        _two_file_project(ours, engine, tests)
        return tests_throughput(
            "tests as judge: examples/student/engine.py with its test_engine.py",
            ["mutate", "--engine", "src/engine.py", "--tests", "tests/test_engine.py"],
            ours,
            lambda target: _two_file_project(target, engine, tests),
            skip,
            python,
        )


def own_tests_throughput(root: Path, skip: bool, python: Path | None) -> Figure:
    engine, tests = "src/minigrad/engine.py", "tests/test_gradcheck.py"
    return tests_throughput(
        f"tests as judge: {engine} with {tests}",
        ["mutate", "--tests", tests],
        root,
        lambda target: _repository_project(root, target, engine, tests),
        skip,
        python,
    )


def _timeouts(report: Path) -> int:
    data = json.loads(report.read_text())
    return sum(m["status"] == "Timeout" for e in data["files"].values() for m in e["mutants"])


def order_exploration_cost(root: Path, name: str, folder: Path | None, args: list[str]) -> Figure:
    """The whole `mutate --tests` command judged in the engine's graph orders (8 when it keeps
    children in a set), hung mutants confirmed alone with 5x the deadlines, against the same
    command in one order ($MINIGRAD_ORDERS=1).  `folder` None: not available here (skipped)."""
    if folder is None:
        return Figure(f"order exploration: {name}", "-", "-", math.nan, 1 / 1.5, "not set up")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "minigrad_tool", "mutate", *args, "--min-score", "0",
                   "--json", str(report)]  # fmt: skip
        one: list[float] = []
        explored: list[float] = []
        for _ in range(3):  # interleaved, so that load on the machine hits both alike
            one.append(_timed(command, folder, {"MINIGRAD_ORDERS": "1"}))
            explored.append(_timed(command, folder))
        hung = _timeouts(report)
    return Figure(
        f"order exploration and confirmation: {name} (whole command, wall clock)",
        f"1 graph order: {min(one):.2f} s",
        f"every order it needs: {min(explored):.2f} s ({hung} hung mutant(s) confirmed)",
        min(one) / min(explored),
        1 / 1.5,
        "best of 3, interleaved; 0.67 is 1.5x the time, the goal's limit",
    )


def _interleaved(
    commands: list[list[str]],
    cwd: Path,
    runs: int = 3,
    envs: list[dict[str, str]] | None = None,
) -> list[float]:
    """Best wall time of each command, run in turn `runs` times so that load hits all alike;
    `envs`: each command's extra environment."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for i, command in enumerate(commands):
            env = envs[i] if envs else None
            times[i].append(_timed([sys.executable, "-m", "minigrad_tool", *command], cwd, env))
    return [min(t) for t in times]


# The student example's command, run in a copy of its folder (or of the scaled-up suite).
_STUDENT_COMMAND = ["mutate", "--engine", "engine.py", "--tests", "test_engine.py"]
_TANH_STEP = "self.grad += (1 - t**2) * out.grad"


def jobs_payoff(folder: Path, name: str) -> Figure:
    """`mutate --jobs 2` against `--jobs 1` on a student suite in `folder` (2 cores): goal
    0.6x the time."""
    base = [*_STUDENT_COMMAND, "--min-score", "0"]
    one, two = _interleaved([[*base, "--jobs", "1"], [*base, "--jobs", "2"]], folder)
    return Figure(
        f"--jobs 2 on {name} (whole command, wall clock)",
        f"--jobs 1: {one:.2f} s",
        f"--jobs 2: {two:.2f} s",
        one / two,
        1 / 0.6,
        "best of 3, interleaved; 1.67x is 0.6 of the time, the goal",
    )


def jobs_payoff_scaled(root: Path) -> Figure:
    """`jobs_payoff` on the student suite scaled up (minigrad_dev.scaled: 18 ops, 80 tests)."""
    with tempfile.TemporaryDirectory(prefix="minigrad-bench-") as tmp:
        write_scaled_student(root, Path(tmp))
        return jobs_payoff(Path(tmp), "examples/student scaled up: 18 ops, 80 tests")


def against_pytest(
    name: str, folder: Path, tests: list[str], args: list[str], python: Path | None = None
) -> Figure:
    """The whole campaign against one plain pytest run of the same tests (the venv's python
    on both sides, `python` if given): goal at most 2x the time."""
    executable = str(python or sys.executable)
    pytest_command = [executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
    plain, campaign = [], []
    for _ in range(3):
        plain.append(_timed(pytest_command, folder))
        campaign.append(_timed([executable, "-m", "minigrad_tool", *args], folder))
    return Figure(
        f"campaign against one plain pytest run: {name} (whole commands)",
        f"pytest: {min(plain):.2f} s",
        f"{' '.join(args[:1] + args[args.index('--judge') :][:2])}: {min(campaign):.2f} s",
        min(plain) / min(campaign),
        0.5,
        "best of 3, interleaved; 0.5x is twice the time of the plain run, the goal",
    )


def against_pytest_rows(root: Path, python: Path) -> list[Figure]:
    """examples/student, the scaled-up student suite, our engine with tests/test_gradcheck.py;
    each `mutate --judge tests`, as the issue that set the goal measured it, with `python`, a
    venv as a student has it (minigrad_dev.published.venv_python)."""
    student = [*_STUDENT_COMMAND, "--judge", "tests", "--min-score", "0"]
    with tempfile.TemporaryDirectory(prefix="minigrad-bench-") as tmp:
        scaled = Path(tmp)
        write_scaled_student(root, scaled)
        return [
            against_pytest(
                "examples/student",
                root / "examples" / "student",
                ["test_engine.py"],
                student,
                python,
            ),
            against_pytest(
                "the student suite scaled up", scaled, ["test_engine.py"], student, python
            ),
            against_pytest(
                "our engine, tests/test_gradcheck.py",
                root,
                ["tests/test_gradcheck.py"],
                ["mutate", "--judge", "tests", "--min-score", "0"],
                python,
            ),
        ]


def against_pytest_published(root: Path, skip: bool) -> list[Figure]:
    """The published engines of minigrad_dev.published, each `mutate --judge tests` with its
    authors' tests against one plain pytest run of them, in a venv of their own."""
    names = [f"{p.requirement}, its authors' {p.tests}/" for p in PUBLISHED]
    if skip:
        return [_not_measured(name, "--skip-published") for name in names]
    with tempfile.TemporaryDirectory(prefix="minigrad-bench-") as tmp:
        try:
            python = venv_python(root, Path(tmp) / "venv", PUBLISHED_NEEDS)
        except PublishedError as err:
            return [_not_measured(name, str(err)) for name in names]
        figures = []
        for engine, name in zip(PUBLISHED, names, strict=True):
            folder = Path(tmp) / engine.dist
            folder.mkdir()
            try:
                project = fetch(engine, folder)
            except PublishedError as err:
                figures.append(_not_measured(name, str(err)))
                continue
            args = ["mutate", "--engine", engine.engine, "--tests", engine.tests]
            args += ["--judge", "tests", "--min-score", "0"]
            figures.append(against_pytest(name, project, [engine.tests], args, python))
        return figures


def _not_measured(name: str, why: str) -> Figure:
    return Figure(
        f"campaign against one plain pytest run: {name}", "skipped", why, math.nan, 0.5, ""
    )


def since_one_op(root: Path, suite: Suite) -> Figure:
    """`mutate --since HEAD` after a change to one op's step, against the full campaign, in a
    committed copy of a student suite: goal 0.3x the time."""
    name, write = suite
    with tempfile.TemporaryDirectory(prefix="minigrad-bench-") as tmp:
        folder = Path(tmp)
        write(root, folder)
        git = ["git", "-c", "user.email=b@b", "-c", "user.name=b"]
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
            subprocess.run([*git, *args], cwd=folder, check=True, capture_output=True)
        engine = folder / "engine.py"
        step = "self.grad += other.data * out.grad"
        engine.write_text(engine.read_text().replace(step, "self.grad += out.grad * other.data"))
        base = [*_STUDENT_COMMAND, "--min-score", "0"]
        full, since = _interleaved([base, [*base, "--since", "HEAD"]], folder)
    return Figure(
        f"--since HEAD after a one-op change, {name} (whole command, wall clock)",
        f"the full campaign: {full:.2f} s",
        f"--since HEAD (mul's mutants only): {since:.2f} s",
        full / since,
        1 / 0.3,
        "best of 3, interleaved; 3.3x is 0.3 of the time, the goal",
    )


def since_cached(root: Path, suite: Suite) -> Figure:
    """`mutate --since HEAD` after tanh's step is rewritten, with the cache of the whole run
    before the change (a pull request's CI that restores the main branch's cache), against a
    full run of the changed engine: goal 0.3x the time, the goal of a one-op rerun."""
    name, write = suite
    with tempfile.TemporaryDirectory(prefix="minigrad-bench-") as tmp:
        folder, warm = Path(tmp) / "lab", Path(tmp) / "cache"
        folder.mkdir()
        write(root, folder)
        git = ["git", "-c", "user.email=b@b", "-c", "user.name=b"]
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
            subprocess.run([*git, *args], cwd=folder, check=True, capture_output=True)
        _student_run(folder, [], warm)  # the whole run before the change, kept
        engine = folder / "engine.py"
        engine.write_text(
            engine.read_text().replace(_TANH_STEP, "self.grad += out.grad * (1 - t**2)")
        )
        full, since = [], []
        for k in range(3):  # each --since run reads the cache of the run before the change
            fresh = Path(tmp) / f"cache-{k}"
            shutil.copytree(warm, fresh)
            full.append(_student_run(folder, []))
            since.append(_student_run(folder, ["--since", "HEAD"], fresh))
    return Figure(
        f"--since HEAD after a one-op change (tanh's step), {name}, with the cache of the run "
        "before it",
        f"a full run: {min(full):.2f} s",
        f"--since HEAD (tanh's mutants only): {min(since):.2f} s",
        min(full) / min(since),
        1 / 0.3,
        "best of 3, interleaved; 3.3x is 0.3 of the time, the goal",
    )


def _student_copy(root: Path, folder: Path) -> None:
    for name in ("engine.py", "test_engine.py"):
        shutil.copy2(root / "examples" / "student" / name, folder / name)


# A student suite the reruns are measured on: its name, and what writes its engine.py and
# test_engine.py into a folder.  The goal of a one-op rerun names no suite: examples/student
# is mostly fixed cost, the scaled-up suite (minigrad_dev.scaled) less so.
Suite = tuple[str, Callable[[Path, Path], None]]
STUDENT: Suite = ("examples/student", _student_copy)
SCALED: Suite = ("the student suite scaled up (18 ops, 80 tests)", write_scaled_student)


def _student_run(folder: Path, judge: list[str], cache: Path | None = None) -> float:
    """Seconds of the student command in `folder`: with the result cache in `cache`, else
    judging in full."""
    command = [sys.executable, "-m", "minigrad_tool", *_STUDENT_COMMAND, *judge, "--min-score", "0"]
    return _timed(command, folder, {"MINIGRAD_RESULTS": str(cache)} if cache else None)


def rerun_unchanged(root: Path) -> Figure:
    """`mutate` run again with nothing changed (the result cache replays the last run),
    against a full run, on examples/student with its tests: goal 0.15x the time."""
    with tempfile.TemporaryDirectory(prefix="minigrad-bench-") as tmp:
        folder, warm = Path(tmp) / "lab", Path(tmp) / "cache"
        folder.mkdir()
        _student_copy(root, folder)
        _student_run(folder, [], warm)  # the last run, kept
        command = [*_STUDENT_COMMAND, "--min-score", "0"]
        full, again = _interleaved(
            [command, command], folder, envs=[{}, {"MINIGRAD_RESULTS": str(warm)}]
        )
    return Figure(
        "rerun with nothing changed, examples/student with its tests (whole command)",
        f"a full run: {full:.2f} s",
        f"the rerun (the last run reported again): {again:.2f} s",
        full / again,
        1 / 0.15,
        "best of 3, interleaved; 6.7x is 0.15 of the time, the goal",
    )


def rerun_one_op(root: Path, suite: Suite, judge: list[str], what: str) -> Figure:
    """`mutate` after tanh's step is rewritten (the same maths), with the cache of the run
    before the change, against a full run of the changed engine: goal 0.3x the time."""
    name, write = suite
    with tempfile.TemporaryDirectory(prefix="minigrad-bench-") as tmp:
        folder, warm = Path(tmp) / "lab", Path(tmp) / "cache"
        folder.mkdir()
        write(root, folder)
        _student_run(folder, judge, warm)  # the run before the change, kept
        engine = folder / "engine.py"
        engine.write_text(
            engine.read_text().replace(_TANH_STEP, "self.grad += out.grad * (1 - t**2)")
        )
        full, cached = [], []
        for k in range(3):  # each rerun starts from the cache of the run before the change
            fresh = Path(tmp) / f"cache-{k}"
            shutil.copytree(warm, fresh)
            full.append(_student_run(folder, judge))
            cached.append(_student_run(folder, judge, fresh))
    return Figure(
        f"rerun after a one-op change (tanh's step), {name} judged by {what}",
        f"a full run: {min(full):.2f} s",
        f"the rerun: {min(cached):.2f} s",
        min(full) / min(cached),
        1 / 0.3,
        "best of 3, interleaved; 3.3x is 0.3 of the time, the goal",
    )


_COUNTING_CONFTEST = """import os
import time

import pytest


@pytest.fixture(scope="session")
def table():
    time.sleep(0.02)  # a session fixture that loads something: 20 ms
    with open(os.environ["MINIGRAD_BENCH_FIXTURE_LOG"], "a") as log:
        log.write("setup\\n")
    return {"x": 1.5, "y": -0.5}
"""

_FIXTURE_TESTS = """from engine import Value


def test_mul(table):
    x = Value(table["x"])
    (x * 3.0).backward()
    assert abs(x.grad - 3.0) < 1e-6


def test_tanh(table):
    x = Value(table["x"])
    x.tanh().backward()
    assert abs(x.grad - (1 - x.tanh().data ** 2)) < 1e-6


def test_exp(table):
    x = Value(table["y"])
    x.exp().backward()
    assert abs(x.grad - x.exp().data) < 1e-6


def test_add(table):
    x = Value(table["x"])
    (x + 2.0).backward()
    assert x.grad == 1.0
"""


def fixtures_once(root: Path) -> Figure:
    """Session-fixture setups in one campaign, against its mutants: goal at most one each."""
    with tempfile.TemporaryDirectory(prefix="minigrad-bench-") as tmp:
        folder = Path(tmp)
        shutil.copy2(root / "examples" / "student" / "engine.py", folder / "engine.py")
        (folder / "tests").mkdir()
        (folder / "tests" / "conftest.py").write_text(_COUNTING_CONFTEST)
        (folder / "tests" / "test_ops.py").write_text(_FIXTURE_TESTS)
        log, report = folder / "setups.log", folder / "r.json"
        command = [sys.executable, "-m", "minigrad_tool", "mutate", "--engine", "engine.py"]
        command += ["--tests", "tests", "--judge", "tests", "--min-score", "0"]
        seconds = _timed(
            [*command, "--json", str(report)],
            folder,
            {"MINIGRAD_BENCH_FIXTURE_LOG": str(log)},
        )
        mutants, setups = _count(report), len(log.read_text().splitlines())
    return Figure(
        "fixtures once: a 20 ms session fixture shared by 4 tests, examples/student's engine",
        f"mutants: {mutants}",
        f"setups: {setups} ({seconds:.2f} s)",
        mutants / setups,
        1.0,
        "one campaign; 1x is one setup per mutant, the goal (set up in the host before the fork)",
    )


def _propgrad() -> Path | None:
    """propgrad 0.1.1's unpacked sdist (its tests need torch), from $MINIGRAD_BENCH_PROPGRAD:
    a set-ordered published engine with its authors' tests."""
    folder = os.environ.get("MINIGRAD_BENCH_PROPGRAD")
    if not folder or not (Path(folder) / "test").is_dir():
        return None
    try:
        import torch  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    except ImportError:
        return None
    return Path(folder)


def tensor_gradcheck() -> Figure:
    """Forward passes of one tensor case, (6,6,5,4) @ (6,6,4,3): per-element central
    differences against the directional mode (issue 19's goal: at least 100x fewer)."""
    from minigrad_tool.adapter import load_in_process
    from minigrad_tool.tensor.access import TensorAccess
    from minigrad_tool.tensor.calls import TensorCalls
    from minigrad_tool.tensor.cases import CaseRun, Input, TensorCase, _locate, run_tensor_case

    loaded = load_in_process("minigrad.tensor")
    calls = 0

    def build(c: TensorCalls, xs: Any) -> Any:
        nonlocal calls
        calls += 1
        return c.binary("matmul", xs[0], xs[1])

    case = TensorCase(
        name="matmul_bench",
        group="matmul",
        text="x @ y",
        inputs=(Input((6, 6, 5, 4)), Input((6, 6, 4, 3))),
        build=build,
        ref=lambda xs: xs[0] @ xs[1],
        requires=frozenset({"matmul"}),
        calls=TensorCalls(loaded.profile),
        macheps=loaded.profile.precision.macheps,
    )
    access = TensorAccess(loaded.cls)
    outcome = run_tensor_case(case, access)
    assert outcome.status == "pass", outcome.detail
    directional = calls
    run = CaseRun(case, access)
    out = run.output(run.leaves)
    weight = run.rng.normal(size=out.data.shape)
    run.loss(out, weight).backward()
    grads = [leaf.grad for leaf in run.leaves]
    calls = 0
    assert _locate(run, grads, weight) == ""
    per_element = calls
    return Figure(
        "tensor gradcheck forward passes, (6,6,5,4) @ (6,6,4,3) (1,152 elements)",
        f"{per_element} (per-element central differences)",
        f"{directional} (the whole case: forward, 2 directions with steps h and 2h, "
        "pre-seeded, second backward)",
        per_element / directional,
        100.0,
        "counted forward passes of the case on minigrad.tensor",
    )


def run_all(
    root: Path,
    *,
    skip_mutmut: bool,
    repeats: int,
    out: Callable[[str], None],
    skip_published: bool = False,
) -> list[Figure]:
    """Every row, in order.  The rows that time a plain pytest run, or mutmut judged by your
    tests, run in venvs as users have them (`_user_venvs`); those that compare minigrad with
    itself, and mutmut on this whole repository, run in this environment."""
    try:
        import micrograd.engine as mg  # type: ignore[import-not-found, unused-ignore]
        import micrograd.nn as mg_nn  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise SystemExit(
            "micrograd is not installed here; run:"
            " uv run --with micrograd==0.1.0 python scripts/bench.py"
        ) from None
    with tempfile.TemporaryDirectory(prefix="minigrad-bench-venvs-") as tmp:
        lean, with_mutmut = _user_venvs(root, Path(tmp), skip_mutmut)
        measures: list[Callable[[], Figure]] = [
            lambda: training_step(mg, mg_nn, repeats),
            lambda: longest_chain(mg),
            lambda: memory(mg),
            fast_gradcheck,
            tensor_gradcheck,
            lambda: battery_throughput(root, skip_mutmut),
            lambda: student_throughput(root, skip_mutmut, with_mutmut),
            lambda: own_tests_throughput(root, skip_mutmut, with_mutmut),
            *_self_comparisons(root),
        ]
        figures = []
        for measure in measures:
            figures.append(measure())
            out(_line(figures[-1]))
        rows = [*against_pytest_rows(root, lean), *against_pytest_published(root, skip_published)]
        for figure in rows:
            figures.append(figure)
            out(_line(figure))
    return figures


def _user_venvs(root: Path, folder: Path, skip_mutmut: bool) -> tuple[Path, Path | None]:
    """Two venvs as users have them: pytest and minigrad; the same with mutmut (this
    environment's version), unless mutmut is not timed."""
    from importlib.metadata import version

    try:
        lean = venv_python(root, folder / "lean")
        if skip_mutmut:
            return lean, None
        return lean, venv_python(root, folder / "mutmut", (f"mutmut=={version('mutmut')}",))
    except PublishedError as err:
        raise SystemExit(f"the bench makes venvs with uv and the package registry: {err}") from err


def _self_comparisons(root: Path) -> list[Callable[[], Figure]]:
    """The rows that compare minigrad with itself: graph orders, --jobs, fixtures, reruns."""
    return [
        lambda: order_exploration_cost(
            root,
            "examples/student, children in a set (8 orders)",
            root / "examples" / "student",
            ["--engine", "engine.py", "--tests", "test_engine.py"],
        ),
        lambda: order_exploration_cost(
            root,
            "tests/engines/microstyle.py judged by the battery (8 orders)",
            root,
            ["--engine", "tests/engines/microstyle.py", "--judge", "battery"],
        ),
        lambda: order_exploration_cost(
            root, "our engine, children in a tuple (1 order)", root, ["--judge", "tests"]
        ),
        lambda: jobs_payoff(root / "examples" / "student", "examples/student"),
        lambda: jobs_payoff_scaled(root),
        lambda: fixtures_once(root),
        lambda: since_one_op(root, STUDENT),
        lambda: since_one_op(root, SCALED),
        lambda: since_cached(root, STUDENT),
        lambda: since_cached(root, SCALED),
        lambda: rerun_unchanged(root),
        lambda: rerun_one_op(root, STUDENT, [], "its tests, the battery alongside"),
        lambda: rerun_one_op(root, STUDENT, ["--judge", "battery"], "the battery"),
        lambda: rerun_one_op(root, SCALED, [], "its tests, the battery alongside"),
        lambda: order_exploration_cost(
            root,
            "propgrad 0.1.1 with its authors' torch tests (8 orders)",
            _propgrad(),
            ["--engine", "propgrad/engine.py", "--tests", "test", "--judge", "tests"],
        ),
    ]


def _line(f: Figure) -> str:
    ratio = "" if math.isnan(f.ratio) else f"; ratio {f.ratio:.1f}x"
    how = f"   [{f.how}]" if f.how else ""
    return (
        f"{f.name}: anchor {f.anchor}; minigrad {f.ours}{ratio} "
        f"(goal >= {f.goal:g}x) {f.status}{how}"
    )
