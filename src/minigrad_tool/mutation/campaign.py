"""A mutation campaign: prove that a judge (the battery, or your tests) catches wrong derivatives.

1. **Harness.**  Each case (or test) runs on the unmutated engine in a child:
   how long it takes, and for tests, which mutants' code it runs (a marker at
   every mutant's site).  Any failure, hang or crash ends the campaign with
   exit 2: verdicts would mean nothing.
2. **Judging.**  Each mutant runs in a child forked from a host that has the
   engine loaded: its one function is swapped in memory, and the cases (or
   the tests that run its code), fastest first, up to the first failure.  No
   test runs its code: NoCoverage.  Its marker never fired: NoCoverage too.
3. **Probing.**  A mutant no case kills is compared with the original on the
   probes of :mod:`minigrad_tool.mutation.equivalence`.  Equivalent only if probes
   ran its changed code and none told it apart; otherwise it survived, with
   the input that tells it apart.

Statuses are the mutation-testing-report-schema's.  The score is
(killed + timeout) / (killed + timeout + survived + no coverage); equivalent
mutants are left out, with their evidence.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from minigrad_tool import __version__
from minigrad_tool.adapter import EngineSpec, Loaded, Profile
from minigrad_tool.adapter.loader import engine_modules
from minigrad_tool.adapter.source import SourceIndex
from minigrad_tool.battery import Battery, Settings, build_battery, run_case
from minigrad_tool.battery.cases import Case, observe
from minigrad_tool.check import engine_host
from minigrad_tool.faults import InternalError
from minigrad_tool.isolation import Host, Limits, Reporter, Request
from minigrad_tool.isolation import Outcome as ChildOutcome
from minigrad_tool.mutation import equivalence
from minigrad_tool.mutation.mutants import Generated, Mutant, generate_mutants
from minigrad_tool.mutation.patch import Patcher

__all__ = [
    "Campaign",
    "CampaignConfig",
    "HarnessError",
    "MutantResult",
    "Outcome",
    "Verdict",
    "run_campaign",
    "shard_of",
]


class Outcome(Enum):
    """What happened to a mutant; the value is the mutation-testing-report-schema status."""

    KILLED = "Killed"
    TIMEOUT = "Timeout"
    SURVIVED = "Survived"
    NO_COVERAGE = "NoCoverage"
    EQUIVALENT = "Ignored"

    @property
    def detected(self) -> bool:
        return self in (Outcome.KILLED, Outcome.TIMEOUT)

    @property
    def judged(self) -> bool:
        """Counted in the score: every status but equivalent."""
        return self is not Outcome.EQUIVALENT

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Outcome.KILLED: "killed",
    Outcome.TIMEOUT: "killed (timeout)",
    Outcome.SURVIVED: "SURVIVED",
    Outcome.NO_COVERAGE: "NOT COVERED",
    Outcome.EQUIVALENT: "equivalent",
}


class HarnessError(Exception):
    """The unmutated engine fails its judge, or cannot be run: no verdict (exit 2)."""


@dataclass(frozen=True)
class Verdict:
    """One judge's verdict on one mutant, with its evidence."""

    outcome: Outcome
    reason: str
    killed_by: tuple[str, ...] = ()
    covered_by: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True)
class MutantResult:
    """A mutant and its verdicts: the primary judge's, and each judge's side by side."""

    mutant: Mutant
    outcome: Outcome
    reason: str
    killed_by: tuple[str, ...] = ()
    covered_by: tuple[str, ...] = ()
    distinguishing: str | None = None
    witness: int | None = None  # index of the distinguishing probe
    seconds: float = 0.0
    judges: tuple[tuple[str, Verdict], ...] = ()  # ("battery", ...), ("tests", ...)


@dataclass(frozen=True)
class CampaignConfig:
    """How to run a campaign."""

    operators: tuple[str, ...] | None = None  # None: all of them
    jobs: int = 1
    timeout: float | None = None  # seconds per mutant; None: from the harness run
    memory_mib: int | None = 2048
    matrix: bool = False  # run every covering case on every mutant
    shard: tuple[int, int] = (1, 1)  # (i, n): this run takes mutants i, i+n, i+2n, ... (1-based)
    settings: Settings = field(default_factory=Settings)
    groups: tuple[str, ...] | None = None  # battery groups to use; None: all
    tests: tuple[str, ...] = ()  # the user's pytest paths: the tests judge
    judges: tuple[str, ...] = ("battery",)  # "battery", "tests"; the first decides the score
    probes: bool = True  # look for equivalence and distinguishing inputs


@dataclass
class Campaign:
    """The results of one campaign."""

    engine: str
    path: str
    source: str
    class_name: str
    cases: list[str]
    results: list[MutantResult]
    timeout: float
    seconds: float = 0.0
    judge: str = "battery"
    shard: tuple[int, int] = (1, 1)
    total_mutants: int = 0
    run_id: str = ""
    unreachable: list[tuple[str, str]] = field(default_factory=list)
    harness_seconds: float = 0.0
    tests: list[str] = field(default_factory=list)  # the test IDs that judged
    test_paths: list[str] = field(default_factory=list)  # the files and folders they came from
    findings: list[str] = field(default_factory=list)  # battery cases the unmutated engine fails

    def count(self, outcome: Outcome) -> int:
        return sum(r.outcome is outcome for r in self.results)

    @property
    def killed(self) -> int:
        return sum(r.outcome.detected for r in self.results)

    @property
    def survived(self) -> int:
        return self.count(Outcome.SURVIVED)

    @property
    def judged(self) -> int:
        return sum(r.outcome.judged for r in self.results)

    @property
    def score(self) -> float:
        """(killed + timeout) / every mutant but the equivalent ones, in percent; NaN if none."""
        return 100.0 * self.killed / self.judged if self.judged else math.nan


# --- the harness ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Harness:
    """What the unmutated engine showed under a judge: mutant sites run, time taken per item."""

    items: tuple[str, ...]  # cases or test IDs, in run order
    covers: Mapping[str, frozenset[str]]  # IDs of the mutants whose code each item ran
    seconds: Mapping[str, float]
    pinned: Mapping[str, list[list[float]]] = field(default_factory=dict)


def _failure(kind: str, item: str, outcome: ChildOutcome) -> str:
    return f"{kind} {item}: {outcome.message}"


def _raise_internal(outcome: ChildOutcome, what: str) -> None:
    if outcome.status == "internal":
        raise InternalError(f"minigrad failed during {what}: {outcome.message}")


Order = Callable[[Mutant, Harness], list[str]]


def covering(mutant: Mutant, harness: Harness) -> list[str]:
    """The items that ran the mutant's code on the unmutated engine, fastest first."""
    found = [item for item in harness.items if mutant.id in harness.covers.get(item, ())]
    return sorted(found, key=lambda item: harness.seconds.get(item, 0.0))


def _deadline(items: Sequence[str], harness: Harness, config: CampaignConfig) -> float:
    """mutmut's rule: a generous multiple of the time the original takes, plus a constant."""
    if config.timeout is not None:
        return config.timeout
    needed = sum(harness.seconds.get(i, 0.0) for i in items)
    return max(1.0, 10.0 * needed + 1.0)


def check_timeout(
    mutants: Sequence[Mutant], harness: Harness, config: CampaignConfig, order: Order
) -> None:
    """A --timeout shorter than the original needs would turn every mutant into a 'kill'."""
    if config.timeout is None:
        return
    worst = max(
        (sum(harness.seconds.get(i, 0.0) for i in order(m, harness)) for m in mutants),
        default=0.0,
    )
    if config.timeout < 2.0 * worst + 0.05:
        raise HarnessError(
            f"--timeout {config.timeout:g} s is too short: the unmutated engine needs "
            f"{worst:.2f} s "
            "for the cases of one mutant, so a timeout would show nothing; "
            f"use at least {2.0 * worst + 0.05:.2f} s, or leave --timeout out"
        )


# --- judging mutants --------------------------------------------------------------------------


def _verdict(mutant: Mutant, outcome: ChildOutcome, items: Sequence[str], what: str) -> Verdict:
    """Turn a judge child's outcome into a verdict; a failure of minigrad itself is no verdict."""
    _raise_internal(outcome, f"mutant {mutant.id}")
    if outcome.status == "timeout":
        return Verdict(Outcome.TIMEOUT, outcome.message, (), tuple(items), outcome.seconds)
    if not outcome.ok:  # the mutant made the engine raise outside a case, crash, or exit
        return Verdict(Outcome.KILLED, outcome.message, (), tuple(items), outcome.seconds)
    value: dict[str, Any] = outcome.value
    killers = tuple(value["killed_by"])
    covered = tuple(value["covered_by"])
    if value["hits"] == 0:
        reason = (
            f"none of the {len(items)} {what} run ran the changed code (line {mutant.start[0]})"
        ) + (f" ({mutant.note})" if mutant.note else "")
        if killers:
            reason += f"; {killers[0]} failed all the same: is it flaky?"
        return Verdict(Outcome.NO_COVERAGE, reason, (), (), outcome.seconds)
    if killers:
        return Verdict(Outcome.KILLED, value["reason"], killers, covered, outcome.seconds)
    return Verdict(
        Outcome.SURVIVED,
        f"no {what[:-1]} fails, though {len(covered)} ran the changed code",
        (),
        covered,
        outcome.seconds,
    )


def judge_mutants(
    host: Host,
    task: str,
    mutants: Sequence[Mutant],
    harness: Harness,
    config: CampaignConfig,
    what: str,
    order: Order = covering,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Verdict]:
    """Each mutant judged by the items `order` gives it, in the host's children."""
    verdicts: dict[str, Verdict] = {}
    requests = []
    for m in mutants:
        items = order(m, harness)
        if not items:
            verdicts[m.id] = Verdict(
                Outcome.NO_COVERAGE,
                f"no {what[:-1]} runs line {m.start[0]}" + (f" ({m.note})" if m.note else ""),
            )
            continue
        args: dict[str, Any] = {"mutant": m.id, "items": items}
        pinned = {i: harness.pinned[i] for i in items if i in harness.pinned}
        if pinned and not config.settings.any_subgradient:
            args["pinned"] = pinned  # the host forked before the harness ran: send them along
        requests.append(Request(m.id, task, args, _deadline(items, harness, config)))
    done = len(verdicts)
    total = len(mutants)
    by_id = {m.id: m for m in mutants}
    if progress is not None:
        progress(done, total)

    def finished(key: str, outcome: ChildOutcome) -> None:
        nonlocal done
        request = next(r for r in requests if r.key == key)
        verdicts[key] = _verdict(by_id[key], outcome, request.args["items"], what)
        done += 1
        if progress is not None:
            progress(done, total)

    host.run(requests, on_done=finished)
    return verdicts


# --- the battery as judge ---------------------------------------------------------------------


@dataclass
class _Context:
    """What the engine host's children share (set before the host forks)."""

    spec: EngineSpec
    profile: Profile
    battery: Battery
    mutants: dict[str, Mutant]
    config: CampaignConfig
    probes: list[equivalence.Probe] = field(default_factory=list)
    patcher: Patcher | None = None  # built in the host


def _prepare(ctx: _Context, index: SourceIndex) -> Callable[[Loaded], None]:
    """In the host, once: find the engine's live functions, for every mutant's child."""

    def prepare(engine: Loaded) -> None:
        ctx.patcher = Patcher(index, str(ctx.spec.path), engine_modules(ctx.spec.path))
        ctx.patcher.live()

    return prepare


def _harness_case(ctx: _Context) -> Callable[[Loaded, dict[str, Any], Reporter], Any]:
    def task(engine: Loaded, args: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
        case = ctx.battery.case(args["case"])
        reporter.phase(f"case {case.name} on the unmutated engine")
        result = run_case(case, engine.access, ctx.config.settings)
        pinned = observe(case, engine.access) if case.kind == "kink" and not result.failed else None
        return {"status": result.status, "detail": result.detail, "pinned": pinned}

    return task


def run_mutant(
    patcher: Patcher,
    mutant: Mutant,
    items: Sequence[str],
    failure: Callable[[str], str | None],
    reporter: Reporter,
    *,
    kind: str,
    matrix: bool,
) -> dict[str, Any]:
    """In a judge's child: swap the mutant in, run the items in order up to the first failure
    (all of them with `matrix`); which failed, which ran its code, and why the first failed.

    `failure(item)` runs one item (a `kind`: case or test) and returns why it failed, or
    None if it passed.
    """
    patcher.apply(mutant)
    killers: list[str] = []
    covered: list[str] = []
    reason = ""
    for item in items:
        reporter.phase(f"mutant {mutant.id}: {kind} {item}")
        before = patcher.hits.count
        why = failure(item)
        if patcher.hits.count > before:
            covered.append(item)
        if why is not None:
            if not killers:
                reason = why
            killers.append(item)
            if not matrix:
                break
    return {
        "killed_by": killers,
        "covered_by": covered,
        "reason": reason,
        "hits": patcher.hits.count,
    }


def _judge_case(ctx: _Context) -> Callable[[Loaded, dict[str, Any], Reporter], Any]:
    def task(engine: Loaded, args: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
        settings = replace(ctx.config.settings, pinned=args.get("pinned", {}))

        def failure(name: str) -> str | None:
            result = run_case(ctx.battery.case(name), engine.access, settings)
            return f"{name}: {result.detail.splitlines()[0]}" if result.failed else None

        assert ctx.patcher is not None
        mutant = ctx.mutants[args["mutant"]]
        return run_mutant(
            ctx.patcher,
            mutant,
            args["items"],
            failure,
            reporter,
            kind="case",
            matrix=ctx.config.matrix,
        )

    return task


def _probe_task(ctx: _Context) -> Callable[[Loaded, dict[str, Any], Reporter], Any]:
    def task(engine: Loaded, args: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
        if "mutant" not in args:
            reporter.phase("probing the unmutated engine")
            want = [equivalence.observe(engine.access, p) for p in ctx.probes]
            return {"count": len(want), "want": want}
        want = args["want"]  # the original's observations, made once by the harness
        mutant = ctx.mutants[args["mutant"]]
        patcher = ctx.patcher
        assert patcher is not None
        patcher.apply(mutant)
        rtol = equivalence.tolerance_for(ctx.profile)
        any_kink = ctx.config.settings.any_subgradient
        reporter.phase(f"probing mutant {mutant.id}")
        for i, probe in enumerate(ctx.probes):
            got = equivalence.observe(engine.access, probe)
            if not equivalence.compare(want[i], got, rtol, probe.kink if any_kink else None):
                return {
                    "witness": i,
                    "text": f"{probe.label}: original gives {equivalence.show(want[i])}; "
                    f"mutant gives {equivalence.show(got)}",
                    "hits": patcher.hits.count,
                }
        return {"witness": None, "hits": patcher.hits.count, "count": len(ctx.probes)}

    return task


def _battery_harness(
    outcomes: Mapping[str, ChildOutcome], cases: Sequence[Case]
) -> tuple[Harness, list[str]]:
    """The cases' runs on the unmutated engine: the harness of those that pass, and a finding
    for each that does not (its mutants are judged by the others)."""
    findings, seconds, pinned = [], {}, {}
    for case in cases:
        outcome = outcomes[case.name]
        _raise_internal(outcome, f"the harness run of case {case.name}")
        if not outcome.ok:
            findings.append(_failure("case", case.name, outcome))
            continue
        value = outcome.value
        if value["status"] in ("fail", "error"):
            findings.append(f"case {case.name}: {value['detail']}")
            continue
        seconds[case.name] = outcome.seconds
        if value["pinned"] is not None:
            pinned[case.name] = value["pinned"]
    passing = [c for c in cases if c.name in seconds]
    order = tuple(c.name for c in sorted(passing, key=lambda c: seconds[c.name]))
    return Harness(order, {}, seconds, pinned), findings


def _probe_harness(outcomes: Mapping[str, ChildOutcome]) -> tuple[float, list[Any]]:
    """The probes must run on the unmutated engine: how long they take, what they observe."""
    outcome = outcomes["probe-original"]
    _raise_internal(outcome, "probing the unmutated engine")
    if not outcome.ok:
        raise HarnessError(f"the probes fail on the unmutated engine: {outcome.message}")
    return outcome.seconds, outcome.value["want"]


def _probed(
    host: Host,
    ctx: _Context,
    results: list[MutantResult],
    verdicts: Mapping[str, Mapping[str, Verdict]],
    original: tuple[float, list[Any]],
) -> list[MutantResult]:
    """Probe every mutant some judge let through: for equivalence, and for the input that
    tells it apart (what a missing test should check)."""
    through = [
        r.mutant.id
        for r in results
        if any(not v[r.mutant.id].outcome.detected for v in verdicts.values())
    ]
    if not ctx.config.probes or not through:
        return results
    outcomes = _probe(host, through, original)
    results = [
        _with_probe(r, outcomes[r.mutant.id], ctx.probes) if r.mutant.id in outcomes else r
        for r in results
    ]
    return [_equivalent_for_all(r) for r in results]


def battery_order(battery: Battery) -> Callable[[Mutant, Harness], list[str]]:
    """Every case, those that call the mutant's op first; each part fastest first.

    Which mutants a case runs is not recorded for the battery: the hit
    marker shows, case by case, whether the mutated code ran.
    """

    def order(mutant: Mutant, harness: Harness) -> list[str]:
        def key(name: str) -> tuple[bool, float]:
            return mutant.op not in battery.case(name).requires, harness.seconds.get(name, 0.0)

        return sorted(harness.items, key=key)

    return order


def _probe(
    host: Host, survivors: Sequence[str], original: tuple[float, list[Any]]
) -> dict[str, ChildOutcome]:
    seconds, want = original
    deadline = max(2.0, 10.0 * 2.0 * seconds + 1.0)
    return host.run([Request(m, "probe", {"mutant": m, "want": want}, deadline) for m in survivors])


def _with_probe(
    result: MutantResult, outcome: ChildOutcome, probes: Sequence[equivalence.Probe]
) -> MutantResult:
    _raise_internal(outcome, f"probing mutant {result.mutant.id}")
    if not outcome.ok:
        reason = f"{result.reason}; probing it failed: {outcome.message}"
        return MutantResult(**{**result.__dict__, "reason": reason})
    value = outcome.value
    if value["witness"] is not None:
        return MutantResult(
            **{**result.__dict__, "distinguishing": value["text"], "witness": value["witness"]}
        )
    detected = any(v.outcome.detected for _, v in result.judges)
    if result.outcome is Outcome.SURVIVED and value["hits"] > 0 and not detected:
        reason = (
            f"equivalent: agrees with the original on all {value['count']} probes, which ran "
            "the changed code (every op at kinks, signed zeros and random points, and random "
            "graphs; forward values and plain, pre-seeded and scaled gradients)"
        )
        return MutantResult(**{**result.__dict__, "outcome": Outcome.EQUIVALENT, "reason": reason})
    if value["hits"] == 0:
        reason = f"{result.reason}; no probe ran the changed code, so equivalence is not shown"
        return MutantResult(**{**result.__dict__, "reason": reason})
    return result


def shard_of(mutants: Sequence[Mutant], shard: tuple[int, int]) -> list[Mutant]:
    """Shard I of N (1-based): mutants I, I+N, I+2N, ... of the deterministic generation order."""
    index, count = shard
    if not 1 <= index <= count:
        raise ValueError(f"shard must be I/N with 1 <= I <= N, got {index}/{count}")
    return list(mutants[index - 1 :: count])


def run_id(spec: EngineSpec, config: CampaignConfig, count: int) -> str:
    """Identifies a run across shards: same source, operators, judges and mutants."""
    parts = [
        spec.sha256,
        ",".join(config.operators or ()),
        ",".join(config.judges),
        ",".join(config.tests),
        ",".join(config.groups or ()),
        str(count),
        __version__,
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def run_campaign(
    spec: EngineSpec,
    profile: Profile,
    config: CampaignConfig,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    generated: Generated | None = None,
) -> Campaign:
    """Check the harness, then judge every mutant, then probe those no judge killed."""
    start = time.monotonic()
    generated = generated or generate_mutants(spec, profile, config.operators)
    mutants = shard_of(generated.mutants, config.shard)
    battery = build_battery(profile)
    cases = [c for c in battery.cases if config.groups is None or c.group in config.groups]
    ctx = _Context(spec, profile, battery, {m.id: m for m in mutants}, config)
    index = SourceIndex.parse(spec.source)
    if config.probes:
        ctx.probes = equivalence.all_probes(profile)
    # Setup and harness get at least a minute; each mutant gets its own deadline.
    limits = Limits(max(60.0, config.timeout or 0.0), config.memory_mib)
    tasks = {"harness": _harness_case(ctx), "judge": _judge_case(ctx), "probe": _probe_task(ctx)}
    verdicts: dict[str, dict[str, Verdict]] = {}
    tests_harness: Harness | None = None
    judge_items: dict[str, list[str]] = {}
    host = engine_host(spec, profile, tasks, limits, jobs=config.jobs, prepare=_prepare(ctx, index))
    order = battery_order(battery)
    tests_host = None
    if "tests" in config.judges:
        from minigrad_tool.mutation.pytest_judge import TestsHost

        # Collecting the user's tests takes a while: it runs beside the battery's harness.
        tests_host = TestsHost(
            spec,
            config.tests,
            limits,
            jobs=config.jobs,
            mutants=mutants,
            matrix=config.matrix,
            index=index,
        )
        tests_host.host.launch()
    try:
        with host:
            harness_start = time.monotonic()
            # Kink cases always run: their values on the unmutated engine pin its convention.
            wanted = [c for c in cases if "battery" in config.judges or c.kind == "kink"]
            requests = [Request(c.name, "harness", {"case": c.name}) for c in wanted]
            if config.probes:
                requests.append(Request("probe-original", "probe", {}, 600.0))
            outcomes = host.run(requests)
            battery_harness, findings = _battery_harness(outcomes, wanted)
            if "battery" not in config.judges:
                findings = []  # kink cases ran only to pin conventions for the tests judge
            elif not battery_harness.items and config.judges == ("battery",):
                raise HarnessError(
                    "the unmutated engine fails every case of the battery, so no mutant "
                    "verdict would mean anything:\n" + "\n".join(findings)
                )
            original = _probe_harness(outcomes) if config.probes else (0.0, [])
            harness_seconds = time.monotonic() - harness_start
            if tests_host is not None:
                from minigrad_tool.mutation.pytest_judge import judge_with_tests

                tests_harness, verdicts["tests"] = judge_with_tests(
                    tests_host, mutants, config, progress
                )
                judge_items["tests"] = list(tests_harness.items)
            if "battery" in config.judges:
                check_timeout(mutants, battery_harness, config, order)

                def tick(done: int, total: int) -> None:
                    if progress is not None:
                        progress("battery", done, total)

                verdicts["battery"] = judge_mutants(
                    host, "judge", mutants, battery_harness, config, "cases", order, tick
                )
                judge_items["battery"] = list(battery_harness.items)
            results = [_combine(m, verdicts, config.judges) for m in mutants]
            results = _probed(host, ctx, results, verdicts, original)
    finally:
        if tests_host is not None:
            tests_host.host.close()
    primary = config.judges[0]
    if spec.changed_on_disk():
        raise HarnessError(
            f"{spec.path} changed during the run: the results are for the snapshot taken at its "
            "start, not for the file as it is now; run again"
        )
    timeout = config.timeout or max(
        (_deadline(order(m, battery_harness), battery_harness, config) for m in mutants),
        default=1.0,
    )
    return Campaign(
        engine=spec.text,
        path=str(spec.path),
        source=spec.source,
        class_name=profile.class_name,
        cases=list(judge_items.get(primary, [])),
        results=results,
        timeout=timeout,
        seconds=time.monotonic() - start,
        judge=primary,
        shard=config.shard,
        total_mutants=len(generated.mutants),
        run_id=run_id(spec, config, len(generated.mutants)),
        unreachable=list(generated.unreachable),
        harness_seconds=harness_seconds,
        tests=list(tests_harness.items) if tests_harness else [],
        test_paths=list(config.tests),
        findings=findings,
    )


def _combine(
    mutant: Mutant, verdicts: Mapping[str, Mapping[str, Verdict]], judges: Sequence[str]
) -> MutantResult:
    """The primary judge's verdict first; every judge's kept side by side."""
    primary = verdicts[judges[0]][mutant.id]
    return MutantResult(
        mutant,
        primary.outcome,
        primary.reason,
        primary.killed_by,
        primary.covered_by,
        seconds=primary.seconds,
        judges=tuple((j, verdicts[j][mutant.id]) for j in judges if j in verdicts),
    )


def _equivalent_for_all(result: MutantResult) -> MutantResult:
    """An equivalent mutant is equivalent under every judge: no judge can kill it."""
    if result.outcome is not Outcome.EQUIVALENT:
        return result
    judges = tuple(
        (name, Verdict(Outcome.EQUIVALENT, result.reason, (), v.covered_by, v.seconds))
        if v.outcome is Outcome.SURVIVED
        else (name, v)
        for name, v in result.judges
    )
    return MutantResult(**{**result.__dict__, "judges": judges})
