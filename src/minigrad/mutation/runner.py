"""Run the battery against every mutant: isolated, timed out, in parallel, cheapest case first.

Each mutant runs in a forked child (see :mod:`minigrad.mutation.isolation`)
that swaps the one mutated method into its own copy of the engine's class.
Nothing is ever written to the engine's file, so a Ctrl-C or a SIGKILL at any
moment leaves the source tree as it was.  A child that hangs is killed at its
deadline (Timeout); one that dies without a verdict (a segfault, ``os._exit``)
is a RuntimeError.  Both count as killed.
"""

from __future__ import annotations
import __future__

import ast
import os
import sys
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from minigrad.battery import BATTERY, Case, Settings, engine_ops, run_case
from minigrad.engines import Engine
from minigrad.mutation.equivalence import find_difference
from minigrad.mutation.isolation import run_isolated, run_pooled
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
    "shard_of",
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


def _patchable(mutant: Mutant) -> bool:
    """Can the mutated method be compiled on its own, outside the class body?

    Not when it needs the class body's compiler magic: `super()` (the __class__
    cell) or private names (mangled to _Value__x).
    """
    if not mutant.patch_source:
        return False
    tree = ast.parse(mutant.patch_source)
    for node in ast.walk(tree):
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
        if name == "super" or (name.startswith("__") and not name.endswith("__")):
            return False
    return True


def mutant_class(mutant: Mutant, engine: Engine) -> type:
    """The engine's Value with the one mutated method swapped in (call in a child only).

    Compiling one method costs a tenth of compiling the whole engine, and each
    child has its own copy of the class, so the original stays untouched.
    Falls back to executing the whole mutated source when patching cannot work.
    """
    if not _patchable(mutant):
        value_cls: type = load_source(mutant.source, engine).Value
        return value_cls
    flags = __future__.annotations.compiler_flag  # annotations stay strings, as in the engine
    code = compile(mutant.patch_source, str(engine.path), "exec", flags=flags, dont_inherit=True)
    namespace: dict[str, Any] = {}
    exec(code, engine.module.__dict__, namespace)
    function = namespace[mutant.patch_name]
    cls = engine.value_cls
    original = cls.__dict__[mutant.patch_name]
    if isinstance(original, staticmethod):
        function = staticmethod(function)
    elif isinstance(original, classmethod):
        function = classmethod(function)
    setattr(cls, mutant.patch_name, function)
    return cls


def _cases_for(mutant: Mutant, cases: Sequence[Case]) -> list[Case]:
    """The cases that use the mutated op first, then the rest; each part cheapest first."""
    return sorted(cases, key=lambda c: mutant.op not in c.requires)


def _judge(
    mutant: Mutant, engine: Engine, cases: Sequence[Case], config: CampaignConfig
) -> dict[str, Any]:
    value_cls = mutant_class(mutant, engine)
    ops = engine_ops(value_cls)
    killers: list[str] = []
    reason = ""
    for case in _cases_for(mutant, cases):
        result = run_case(case, value_cls, config.settings, ops)
        if result.failed:
            if not killers:
                reason = f"{case.name}: {result.detail.splitlines()[0]}"
            killers.append(case.name)
            if not config.matrix:
                break
    if killers:
        return {"outcome": "Killed", "reason": reason, "killed_by": killers}
    original = load_source(engine.source, engine, "original").Value
    witness, count = find_difference(original, value_cls)
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
    failed = [r for r in results if r.failed]
    return {
        "failed": [f"{r.case}: {r.detail}" for r in failed],
        "case_seconds": {r.case: r.seconds for r in results if r.status != "skip"},
    }


def shard_of(mutants: Sequence[Mutant], shard: tuple[int, int]) -> list[Mutant]:
    """Shard I of N (1-based): mutants I, I+N, I+2N, ... of the deterministic generation order."""
    index, count = shard
    if not 1 <= index <= count:
        raise ValueError(f"shard must be I/N with 1 <= I <= N, got {index}/{count}")
    return list(mutants[index - 1 :: count])


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


HARNESS = "harness (the unmutated engine)"
HARNESS_TIMEOUT = 120.0


def _check_harness(verdict: dict[str, Any]) -> None:
    """The unmutated engine must pass every case: else no verdict would mean anything."""
    if "failed" not in verdict:
        raise HarnessError(f"the unmutated engine could not run the battery: {verdict['reason']}")
    if verdict["failed"]:
        raise HarnessError(
            "the unmutated engine fails the battery, so no mutant verdict would mean anything:\n"
            + "\n".join(verdict["failed"])
        )


def run_campaign(
    engine: Engine,
    config: CampaignConfig | None = None,
    *,
    cases: Sequence[Case] = BATTERY,
    progress: Callable[[int, int], None] | None = None,
) -> Campaign:
    """Check the harness, then judge every mutant of the engine's backward steps."""
    config = config or CampaignConfig()
    start = time.monotonic()
    source = engine.source
    mutants = shard_of(generate_mutants(source, config.operators), config.shard)

    have = engine_ops(engine.value_cls)
    # Cheapest first, by a static cost: the order, and so `killed_by`, is the same every run.
    ordered = sorted((c for c in cases if c.requires <= have), key=lambda c: c.cost)
    harness = run_isolated(
        [(HARNESS, lambda: _harness(engine, ordered, config.settings))],
        jobs=1,
        timeout=HARNESS_TIMEOUT,
    )[HARNESS]
    _check_harness(harness)
    timeout = config.timeout or max(2.0, 10.0 * sum(harness["case_seconds"].values()))

    done = 0

    def tick(key: str, verdict: dict[str, Any]) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(mutants))

    verdicts = run_pooled(
        [(m.id, lambda m=m: _judge(m, engine, ordered, config)) for m in mutants],  # type: ignore[misc]
        jobs=config.jobs,
        timeout=timeout,
        on_done=tick,
    )
    results = [
        MutantResult(
            m,
            Outcome(verdicts[m.id]["outcome"]),
            verdicts[m.id].get("reason", ""),
            tuple(verdicts[m.id].get("killed_by", ())),
            verdicts[m.id].get("distinguishing"),
            verdicts[m.id].get("seconds", 0.0),
        )
        for m in mutants
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
