"""Run the battery against every mutant: isolated, timed out, in parallel, cheapest case first.

Isolation: each mutant runs in a forked child process that execs the mutated
source in memory.  Nothing is ever written to the engine's file, so a Ctrl-C
or a SIGKILL at any moment leaves the source tree as it was.  A child that
hangs is killed at its deadline (Timeout); one that dies without a verdict
(a segfault, ``os._exit``) is a RuntimeError.  Both count as killed.
"""

from __future__ import annotations

import faulthandler
import json
import os
import select
import signal
import sys
import time
import types
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from minigrad.battery import BATTERY, Case, Settings, engine_ops, run_case
from minigrad.engines import Engine
from minigrad.mutation.equivalence import find_difference
from minigrad.mutation.mutants import Mutant, generate_mutants

__all__ = [
    "Campaign",
    "CampaignConfig",
    "HarnessError",
    "MutantResult",
    "Outcome",
    "minimal_killing_set",
    "run_campaign",
    "run_isolated",
]


class Outcome(Enum):
    """What happened to a mutant; the value is the mutation-testing-report-schema status."""

    KILLED = "Killed"
    SURVIVED = "Survived"
    TIMEOUT = "Timeout"
    CRASHED = "RuntimeError"
    EQUIVALENT = "Ignored"

    @property
    def counts_as_killed(self) -> bool:
        return self in (Outcome.KILLED, Outcome.TIMEOUT, Outcome.CRASHED)

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Outcome.KILLED: "killed",
    Outcome.SURVIVED: "SURVIVED",
    Outcome.TIMEOUT: "killed (timeout)",
    Outcome.CRASHED: "killed (crash)",
    Outcome.EQUIVALENT: "equivalent",
}


class HarnessError(Exception):
    """The unmutated engine fails the battery: mutation verdicts would mean nothing."""


@dataclass(frozen=True)
class MutantResult:
    mutant: Mutant
    outcome: Outcome
    reason: str
    killed_by: tuple[str, ...] = ()
    distinguishing: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class CampaignConfig:
    """How to run a campaign."""

    operators: tuple[str, ...] | None = None  # None: all of them
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout: float | None = None  # seconds per mutant; None: derived from the harness run
    matrix: bool = False  # run every case on every mutant
    shard: tuple[int, int] = (1, 1)  # (i, n): this run takes mutants i, i+n, i+2n, ... (1-based)
    settings: Settings = field(default_factory=Settings)


@dataclass
class Campaign:
    """The results of one campaign."""

    engine: str
    path: str
    source: str
    cases: list[str]
    results: list[MutantResult]
    timeout: float
    seconds: float = 0.0

    @property
    def killed(self) -> int:
        return sum(r.outcome.counts_as_killed for r in self.results)

    @property
    def survived(self) -> int:
        return sum(r.outcome is Outcome.SURVIVED for r in self.results)

    @property
    def score(self) -> float:
        """killed / (killed + survived), in percent; equivalent mutants are left out."""
        judged = self.killed + self.survived
        return 100.0 * self.killed / judged if judged else 100.0


# --- isolation ---------------------------------------------------------------------


Task = Callable[[], dict[str, Any]]


def _child(task: Task, fd: int) -> None:
    """Run `task` in the forked child, send its JSON verdict down `fd`, and exit at once."""
    try:
        faulthandler.disable()  # a crashing mutant is a verdict, not a traceback to print
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        payload = task()
    except BaseException as err:  # the mutant broke the child: that is the verdict
        payload = {"outcome": "RuntimeError", "reason": f"{type(err).__name__}: {err}"}
    data = memoryview(json.dumps(payload).encode())
    while data:
        data = data[os.write(fd, data) :]
    os._exit(0)


@dataclass
class _Running:
    key: str
    pid: int
    deadline: float
    started: float
    chunks: list[bytes] = field(default_factory=list)


def _verdict_of_dead_child(job: _Running, status: int) -> dict[str, Any]:
    if job.chunks:
        result: dict[str, Any] = json.loads(b"".join(job.chunks))
        return result
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        return {"outcome": "RuntimeError", "reason": f"the interpreter died with {name}"}
    code = os.WEXITSTATUS(status)
    return {
        "outcome": "RuntimeError",
        "reason": f"the interpreter exited with {code} without a verdict",
    }


def run_isolated(
    tasks: Iterable[tuple[str, Task]],
    *,
    jobs: int,
    timeout: float,
    on_done: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run each task in its own forked child, `jobs` at a time, each within `timeout` seconds."""
    pending = deque(tasks)
    running: dict[int, _Running] = {}
    results: dict[str, dict[str, Any]] = {}

    def finish(fd: int, verdict: dict[str, Any]) -> None:
        job = running.pop(fd)
        os.close(fd)
        verdict["seconds"] = time.monotonic() - job.started
        results[job.key] = verdict
        if on_done is not None:
            on_done(job.key, verdict)

    try:
        while pending or running:
            while pending and len(running) < max(1, jobs):
                key, task = pending.popleft()
                read_fd, write_fd = os.pipe()
                pid = os.fork()
                if pid == 0:  # pragma: no cover - the child never returns
                    os.close(read_fd)
                    _child(task, write_fd)
                os.close(write_fd)
                now = time.monotonic()
                running[read_fd] = _Running(key, pid, now + timeout, now)
            wait = max(0.0, min(job.deadline for job in running.values()) - time.monotonic())
            ready, _, _ = select.select(list(running), [], [], wait)
            for fd in ready:
                chunk = os.read(fd, 1 << 16)
                if chunk:
                    running[fd].chunks.append(chunk)
                    continue
                _, status = os.waitpid(running[fd].pid, 0)
                finish(fd, _verdict_of_dead_child(running[fd], status))
            now = time.monotonic()
            for fd, job in list(running.items()):
                if now >= job.deadline:
                    os.kill(job.pid, signal.SIGKILL)
                    os.waitpid(job.pid, 0)
                    finish(
                        fd, {"outcome": "Timeout", "reason": f"no verdict within {timeout:.1f} s"}
                    )
    finally:  # interrupted: take every child down with us
        for fd, job in running.items():
            try:
                os.kill(job.pid, signal.SIGKILL)
                os.waitpid(job.pid, 0)
            except ProcessLookupError:
                pass
            os.close(fd)
    return results


# --- judging one mutant ------------------------------------------------------------


def load_source(source: str, engine: Engine, suffix: str = "mutant") -> types.ModuleType:
    """Execute engine source in a fresh in-memory module; nothing touches the disk."""
    name = f"{engine.module.__name__}__{suffix}"
    module = types.ModuleType(name)
    module.__file__ = str(engine.path)
    module.__package__ = engine.module.__package__
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    exec(compile(source, str(engine.path), "exec"), module.__dict__)
    return module


def _judge(
    mutant: Mutant, engine: Engine, cases: Sequence[Case], config: CampaignConfig
) -> dict[str, Any]:
    value_cls = load_source(mutant.source, engine).Value
    ops = engine_ops(value_cls)
    killers: list[str] = []
    reason = ""
    for case in cases:
        result = run_case(case, value_cls, config.settings, ops)
        if result.status in ("fail", "error"):
            if not killers:
                reason = f"{case.name}: {result.detail.splitlines()[0]}"
            killers.append(case.name)
            if not config.matrix:
                break
    if killers:
        return {"outcome": "Killed", "reason": reason, "killed_by": killers}
    witness, count = find_difference(engine.value_cls, value_cls)
    if witness is None:
        return {
            "outcome": "Ignored",
            "reason": f"equivalent: agrees with the original on all {count} probes (every op "
            "at kinks, zeros and random points, and random graphs; forward values and plain, "
            "pre-seeded and scaled gradients)",
        }
    return {
        "outcome": "Survived",
        "reason": "no battery case fails, yet an input tells it from the original",
        "distinguishing": witness,
    }


def _harness(engine: Engine, cases: Sequence[Case], settings: Settings) -> dict[str, Any]:
    """The unmutated engine must pass every case it has the ops for; time each case."""
    value_cls = load_source(engine.source, engine, "original").Value
    ops = engine_ops(value_cls)
    results = [run_case(case, value_cls, settings, ops) for case in cases]
    failed = [r for r in results if r.status in ("fail", "error")]
    return {
        "failed": [f"{r.case}: {r.detail}" for r in failed],
        "case_seconds": {r.case: r.seconds for r in results if r.status != "skip"},
    }


def minimal_killing_set(killed_by: dict[str, Sequence[str]]) -> list[str]:
    """A small set of cases that still kills every killed mutant: greedy cover, then pruning."""
    uncovered = {m for m, cases in killed_by.items() if cases}
    kills: dict[str, set[str]] = {}
    for mutant, cases in killed_by.items():
        for case in cases:
            kills.setdefault(case, set()).add(mutant)
    chosen: list[str] = []
    while uncovered:
        best = max(sorted(kills), key=lambda c: len(kills[c] & uncovered))
        chosen.append(best)
        uncovered -= kills[best]
    for case in list(chosen):  # drop any case the others already cover
        rest = set().union(*(kills[c] for c in chosen if c != case))
        if kills[case] <= rest:
            chosen.remove(case)
    return chosen


def run_campaign(
    engine: Engine,
    config: CampaignConfig | None = None,
    *,
    cases: Sequence[Case] = BATTERY,
    progress: Callable[[int, int], None] | None = None,
) -> Campaign:
    """Check the harness, then judge every mutant of the engine's `_backward` closures."""
    config = config or CampaignConfig()
    start = time.monotonic()
    source = engine.source
    mutants = generate_mutants(source, config.operators)
    index, count = config.shard
    mutants = mutants[index - 1 :: count]

    harness_timeout = 120.0
    harness = run_isolated(
        [("harness", lambda: _harness(engine, cases, config.settings))],
        jobs=1,
        timeout=harness_timeout,
    )["harness"]
    if "failed" not in harness:
        raise HarnessError(f"the unmutated engine could not run the battery: {harness['reason']}")
    if harness["failed"]:
        raise HarnessError(
            "the unmutated engine fails the battery, so no mutant verdict would mean anything:\n"
            + "\n".join(harness["failed"])
        )
    seconds: dict[str, float] = harness["case_seconds"]
    ordered = sorted((c for c in cases if c.name in seconds), key=lambda c: seconds[c.name])
    timeout = config.timeout or max(2.0, 10.0 * sum(seconds.values()))

    by_id = {m.id: m for m in mutants}
    done = 0

    def tick(key: str, verdict: dict[str, Any]) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(mutants))

    verdicts = run_isolated(
        [(m.id, lambda m=m: _judge(m, engine, ordered, config)) for m in mutants],  # type: ignore[misc]
        jobs=config.jobs,
        timeout=timeout,
        on_done=tick,
    )
    results = [
        MutantResult(
            by_id[key],
            Outcome(v["outcome"]),
            v.get("reason", ""),
            tuple(v.get("killed_by", ())),
            v.get("distinguishing"),
            v.get("seconds", 0.0),
        )
        for key, v in ((m.id, verdicts[m.id]) for m in mutants)
    ]
    return Campaign(
        engine=engine.spec,
        path=str(engine.path),
        source=source,
        cases=[c.name for c in ordered],
        results=results,
        timeout=timeout,
        seconds=time.monotonic() - start,
    )
