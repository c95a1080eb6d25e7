"""Break and confirm: inject one named mutant and watch the tests catch it.

The lab's step, automated and made honest:

1. the unmutated engine must pass the battery and your tests (else exit 2:
   a catch would mean nothing);
2. your tests run against the mutant, in a child that imports the engine
   from the mutated source held in memory: pytest's exit code is the answer
   (1: caught; 0: escaped; anything else: no verdict);
3. the battery says which of its cases catch it too, and the probes say
   whether anything could: an equivalent mutant is "equivalent", not
   "escaped".

Nothing is written to the source tree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from minigrad.adapter import EngineSpec, Profile
from minigrad.adapter.loader import forget_modules, install_snapshot
from minigrad.faults import set_engine_paths
from minigrad.isolation import SHOW, Limits, Reporter, run_isolated
from minigrad.isolation import Outcome as ChildOutcome
from minigrad.mutation.campaign import (
    Campaign,
    CampaignConfig,
    HarnessError,
    Outcome,
    run_campaign,
)
from minigrad.mutation.mutants import Generated, Mutant
from minigrad.output import Output

__all__ = ["Injection", "default_tests", "equivalent_ids", "run_injection"]

TESTS = Path("tests") / "test_gradcheck.py"
_PYTEST_MEANING = {
    2: "pytest was interrupted",
    3: "pytest had an internal error",
    4: "pytest could not use its arguments",
    5: "pytest collected no test",
}


def default_tests() -> list[str] | None:
    """tests/test_gradcheck.py of the folder minigrad runs in: the lab's deliverable."""
    return [str(TESTS)] if TESTS.is_file() else None


@dataclass(frozen=True)
class Injection:
    spec: EngineSpec
    profile: Profile
    mutant: Mutant
    tests: Sequence[str] | None
    limits: Limits
    jobs: int


def _campaign(injection: Injection, generated: Generated, matrix: bool) -> Campaign:
    config = CampaignConfig(
        jobs=injection.jobs, memory_mib=injection.limits.memory_mib, matrix=matrix
    )
    return run_campaign(injection.spec, injection.profile, config, generated=generated)


def equivalent_ids(
    spec: EngineSpec, profile: Profile, generated: Generated, limits: Limits, jobs: int
) -> set[str]:
    """The mutants a battery campaign calls equivalent (with evidence)."""
    config = CampaignConfig(jobs=jobs, memory_mib=limits.memory_mib)
    campaign = run_campaign(spec, profile, config, generated=generated)
    return {r.mutant.id for r in campaign.results if r.outcome is Outcome.EQUIVALENT}


def _pytest(
    spec: EngineSpec, source: str, tests: Sequence[str], limits: Limits, show: bool
) -> ChildOutcome:
    """pytest's exit code, in a child whose engine is `source` (the mutant's, or the original)."""
    mutated = dataclasses.replace(spec, snapshot=source.encode("utf-8"))

    def body(reporter: Reporter) -> int:
        import pytest

        forget_modules(tests)
        install_snapshot(mutated)
        set_engine_paths({str(spec.path)})
        reporter.phase(f"pytest {' '.join(tests)}")
        args = [*tests, "-q", "--tb=short", "--no-header", "-p", "no:cacheprovider"]
        return int(pytest.main(args))

    return run_isolated(body, limits, output=SHOW if show else None)


def _pytest_verdict(outcome: ChildOutcome, what: str) -> int:
    """pytest's exit code; HarnessError when there is none to trust."""
    if not outcome.ok:
        raise HarnessError(f"running your tests {what} ended badly: {outcome.message}")
    code: int = outcome.value
    if code in _PYTEST_MEANING:
        raise HarnessError(f"running your tests {what}: {_PYTEST_MEANING[code]} (exit {code})")
    return code


def run_injection(injection: Injection, out: Output) -> int:
    from minigrad.cli import UsageError

    spec, mutant = injection.spec, injection.mutant
    out.line(f"Injecting {mutant.id} into {mutant.function}: {mutant.description}", "bold")
    out.diff(mutant.diff(spec.source, spec.path.name))
    try:
        battery = _campaign(injection, Generated([mutant]), matrix=True).results[0]
        caught_by_tests: bool | None = None
        if injection.tests:
            tests = list(injection.tests)
            original = _pytest(spec, spec.source, tests, injection.limits, show=False)
            if _pytest_verdict(original, "on the unmutated engine") != 0:
                raise HarnessError(
                    f"your tests ({' '.join(tests)}) fail on the unmutated engine: fix them "
                    f"first (run `pytest {' '.join(tests)}` to see why)"
                )
            out.line()
            out.line(f"Running pytest {' '.join(tests)} against the mutant, held in memory", "bold")
            out.flush()
            mutated = _pytest(
                spec, mutant.mutated_source(spec.source), tests, injection.limits, True
            )
            caught_by_tests = _pytest_verdict(mutated, "on the mutant") == 1
    except HarnessError as err:
        raise UsageError(str(err)) from err
    out.line()
    killers = list(battery.killed_by)
    battery_text = (
        f"battery cases that catch it ({len(killers)}): {', '.join(killers)}"
        if killers
        else "no battery case catches it"
    )
    if caught_by_tests:
        out.line(f"caught by your tests (pytest exited 1); {battery_text}", "bold green")
        out.line(f"the source file {spec.path} was not modified")
        return 0
    if battery.outcome is Outcome.EQUIVALENT:
        out.line(f"equivalent: nothing can catch {mutant.id}: {battery.reason}", "bold")
        return 0
    if caught_by_tests is None:  # no tests to run: the battery is the judge
        if killers:
            out.line(f"caught: {battery_text}", "bold green")
            return 0
        out.line(f"ESCAPED: no battery case catches {mutant.id}", "bold red")
        if battery.distinguishing:
            out.line(f"  distinguishing input: {battery.distinguishing}")
        return 1
    out.line(f"ESCAPED your tests: pytest passed on {mutant.id}", "bold red")
    out.line(f"  {battery_text}")
    if battery.distinguishing:
        out.line(f"  distinguishing input: {battery.distinguishing}")
    out.line(
        "  to write the missing test: minigrad mutate --engine "
        f"{spec.text} --tests {' '.join(injection.tests or [])} --suggest tests/test_suggested.py"
    )
    return 1
