"""Benchmarks against their anchors, measured side by side in one run.

Every figure is printed as a ratio against its anchor measured in the same
process on the same machine (micrograd 0.1.0 for the engine, `mutmut run` for
the campaign), because absolute times on a shared 2-core machine mean little.
Run it with micrograd available:

    uv run --with micrograd==0.1.0 python scripts/bench.py
"""

from __future__ import annotations

import gc
import itertools
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

from minigrad.engines import load_engine
from minigrad.mutation.runner import CampaignConfig, run_campaign
from minigrad.mutmut_gate import read_results

from minigrad import engine as ours
from minigrad import nn as our_nn
from minigrad.battery import BATTERY, Settings, engine_ops, run_case
from minigrad.gradcheck import gradcheck

__all__ = ["Figure", "run_all"]


@dataclass(frozen=True)
class Figure:
    """One benchmark line: what, the anchor's value, ours, their ratio and the goal."""

    name: str
    anchor: str
    ours: str
    ratio: float
    goal: float
    how: str

    @property
    def met(self) -> bool:
        return self.ratio >= self.goal


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
        f"{fast.calls} (fast, 4 probes)",
        slow.calls / fast.calls,
        50.0,
        "counted calls of f, property checks included",
    )


def fast_kills(engine_spec: str = "minigrad.engine") -> tuple[int, int, list[str]]:
    """Killed mutants per-input and fast; the ones only per-input mode kills."""
    engine = load_engine(engine_spec)
    slow = run_campaign(engine, CampaignConfig())
    fast = run_campaign(engine, CampaignConfig(settings=Settings(fast=True)))
    killed_slow = {r.mutant.id for r in slow.results if r.outcome.counts_as_killed}
    killed_fast = {r.mutant.id for r in fast.results if r.outcome.counts_as_killed}
    return len(killed_slow), len(killed_fast), sorted(killed_slow - killed_fast)


def _copy_project(root: Path, target: Path) -> None:
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


def campaign_throughput(root: Path, skip_mutmut: bool) -> tuple[Figure, float]:
    """Mutants per second of `minigrad mutate` and of `mutmut run` on a clean copy."""
    python = sys.executable
    runs = []
    for _ in range(3):  # a one-second command on a noisy machine: best of three, median shown
        start = time.perf_counter()
        command = [python, "-m", "minigrad", "mutate", "--json", os.devnull]
        subprocess.run(command, cwd=root, stdout=subprocess.DEVNULL, check=True)
        runs.append(time.perf_counter() - start)
    ours_seconds, ours_median = min(runs), statistics.median(runs)
    ours_count = len(run_campaign_ids())
    ours_rate = ours_count / ours_seconds
    if skip_mutmut:
        return Figure(
            "campaign throughput",
            "skipped",
            f"{ours_rate:.0f} mutants/s",
            float("nan"),
            10.0,
            "--skip-mutmut",
        ), ours_seconds / ours_count
    mutmut = shutil.which("mutmut", path=str(Path(python).parent)) or "mutmut"
    with tempfile.TemporaryDirectory(prefix="minigrad-bench-") as tmp:
        copy = Path(tmp)
        _copy_project(root, copy)
        start = time.perf_counter()
        subprocess.run(
            [mutmut, "run"],
            cwd=copy,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        theirs_seconds = time.perf_counter() - start
        theirs_count = len(read_results(copy).statuses)
    theirs_rate = theirs_count / theirs_seconds
    figure = Figure(
        "campaign throughput (whole command, wall clock)",
        f"mutmut run: {theirs_count} in {theirs_seconds:.1f} s = {theirs_rate:.1f}/s",
        f"minigrad mutate: {ours_count} in {ours_seconds:.2f} s = {ours_rate:.0f}/s"
        f" (median of 3: {ours_count / ours_median:.0f}/s)",
        ours_rate / theirs_rate,
        10.0,
        "mutmut once on a clean copy of the repository; minigrad best of 3",
    )
    return figure, ours_seconds / ours_count


def run_campaign_ids() -> list[str]:
    from minigrad.mutation.mutants import generate_mutants

    return [m.id for m in generate_mutants(load_engine().source)]


def per_mutant_floor() -> tuple[float, float]:
    """The floor (compile the engine + fork + run 30 cases) and our mean cost per mutant."""
    engine = load_engine()
    source = engine.source
    compile_s = _best_of(20, lambda: compile(source, str(engine.path), "exec"))

    def fork_once() -> None:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)

    fork_s = _best_of(20, fork_once)
    ops = engine_ops(engine.value_cls)
    cheap = sorted(BATTERY, key=lambda c: c.depth or len(c.points[0]))[:30]
    battery_s = _best_of(5, lambda: [run_case(c, engine.value_cls, Settings(), ops) for c in cheap])
    campaign = run_campaign(engine, CampaignConfig(jobs=1))
    killed = [r.seconds for r in campaign.results if r.outcome.counts_as_killed]
    return compile_s + fork_s + battery_s, statistics.mean(killed)


def run_all(
    root: Path, *, skip_mutmut: bool, repeats: int, out: Callable[[str], None]
) -> list[Figure]:
    try:
        import micrograd.engine as mg  # type: ignore[import-not-found, unused-ignore]
        import micrograd.nn as mg_nn  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise SystemExit(
            "micrograd is not installed here; run:"
            " uv run --with micrograd==0.1.0 python scripts/bench.py"
        ) from None
    figures = []
    measures: list[Callable[[], Figure]] = [
        lambda: training_step(mg, mg_nn, repeats),
        lambda: longest_chain(mg),
        lambda: memory(mg),
        fast_gradcheck,
    ]
    for measure in measures:
        figures.append(measure())
        out(_line(figures[-1]))
    slow, fast, missed = fast_kills()
    out(
        f"fast mode in the campaign: kills {fast} mutants, per-input mode {slow}; "
        f"killed only per-input: {', '.join(missed) or 'none'}"
    )
    figure, _ = campaign_throughput(root, skip_mutmut)
    figures.append(figure)
    out(_line(figure))
    floor, cost = per_mutant_floor()
    out(
        f"per-mutant cost: {cost * 1000:.1f} ms against a floor of {floor * 1000:.1f} ms "
        f"(compile engine + fork + 30 cases, measured now): {cost / floor:.2f}x the floor "
        f"(goal <= 3x) {'ok' if cost <= 3 * floor else 'MISSED'}"
    )
    return figures


def _line(f: Figure) -> str:
    verdict = "ok" if f.met else "MISSED"
    return (
        f"{f.name}: anchor {f.anchor}; minigrad {f.ours}; ratio {f.ratio:.1f}x "
        f"(goal >= {f.goal:g}x) {verdict}   [{f.how}]"
    )
