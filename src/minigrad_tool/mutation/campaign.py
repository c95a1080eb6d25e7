"""A mutation campaign: prove that a judge (your tests, the battery) catches wrong derivatives.

Orchestration only.  The campaign makes the mutants, gives every judge the
same :class:`~minigrad_tool.mutation.judging.Setup` (the source parsed once,
the battery built once), starts one engine host for the tasks the judges and
the probes run there, and then, for each judge in `config.judges` (rows of
:data:`~minigrad_tool.mutation.judges.JUDGES`):

1. the harness: the unmutated engine under that judge.  The first judge
   (whose score it is) must be able to judge, else :class:`HarnessError`;
   another judge that cannot is left out, as a finding.  Items the engine
   fails are findings too;
2. the verdicts: the first judge's on every mutant, another's on those the
   first lets through (on every mutant with `matrix`);

then probes each mutant some judge let through
(:mod:`~minigrad_tool.mutation.probing`), and returns the
:class:`~minigrad_tool.mutation.results.Campaign`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from minigrad_tool import __version__
from minigrad_tool.adapter import EngineSpec, Profile, engine_host
from minigrad_tool.battery import build_battery
from minigrad_tool.check import backward_faults, crash_findings
from minigrad_tool.findings import Finding, by_op, wrong_ops
from minigrad_tool.isolation import Host, Slots
from minigrad_tool.isolation import Outcome as ChildOutcome
from minigrad_tool.mutation import compiled
from minigrad_tool.mutation.cache import MutantKeys
from minigrad_tool.mutation.judgement import Streaming
from minigrad_tool.mutation.judges import JUDGES
from minigrad_tool.mutation.judges.tests import EarlyTests
from minigrad_tool.mutation.judging import (
    Ahead,
    CampaignConfig,
    Harness,
    HarnessError,
    Judge,
    Setup,
    Task,
    deadline_for,
    host_limits,
    prepare_patcher,
)
from minigrad_tool.mutation.mutants import Generated, Mutant, generate_mutants
from minigrad_tool.mutation.probing import Original, Probing, of_wrong_ops
from minigrad_tool.mutation.results import Campaign, MutantResult, Status, Verdict
from minigrad_tool.mutation.reuse import Keys, Reuse, in_order
from minigrad_tool.reads import python_files

__all__ = ["run_campaign", "run_id", "shard_of"]

JudgeProgress = Callable[[str, int, int], None]  # judge name, mutants done, of total


def shard_of(mutants: Sequence[Mutant], shard: tuple[int, int]) -> list[Mutant]:
    """Shard I of N (1-based): mutants I, I+N, I+2N, ... of the deterministic generation order."""
    index, count = shard
    if not 1 <= index <= count:
        raise ValueError(f"shard must be I/N with 1 <= I <= N, got {index}/{count}")
    return list(mutants[index - 1 :: count])


def run_id(spec: EngineSpec, config: CampaignConfig, count: int) -> str:
    """Identifies a run across shards: the same engine source, test files (their contents,
    not only their paths), operators, judges and mutants."""
    tests = hashlib.sha256()
    for path in python_files(config.tests):
        tests.update(str(path).encode() + b"\0")
        with contextlib.suppress(OSError):
            tests.update(path.read_bytes())
    parts = [
        spec.sha256,
        tests.hexdigest(),
        ",".join(config.operators or ()),
        ",".join(config.judges),
        ",".join(config.tests),
        ",".join(config.groups or ()),
        str(count),
        __version__,
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _combine(
    mutant: Mutant, verdicts: Mapping[str, Mapping[str, Verdict]], judges: Sequence[str]
) -> MutantResult:
    """The primary judge's verdict first; those of the judges that judged it beside it."""
    primary = verdicts[judges[0]][mutant.id]
    return MutantResult(
        mutant,
        primary.status,
        primary.reason,
        primary.killed_by,
        primary.covered_by,
        seconds=primary.seconds,
        judges=tuple(
            (j, verdicts[j][mutant.id]) for j in judges if mutant.id in verdicts.get(j, {})
        ),
    )


def _blame_wrong_ops(err: HarnessError, findings: Sequence[Finding]) -> HarnessError:
    """When the battery has found ops wrong, a judge that fails on the unmutated engine most
    likely fails for them (a suggested test that exposes one does, by design): say so."""
    blamed = by_op(findings)
    if not blamed or type(err) is not HarnessError or err.own_errors:
        return err
    where = ", ".join(
        f"{op} ({found[0].where})" if found[0].where else op for op, found in blamed.items()
    )
    return HarnessError(
        f"{err}\nThe battery finds the unmutated engine wrong in {where}: fix "
        f"{' and '.join(blamed)} first; a test that fails because of it cannot judge mutants"
    )


def _longest_deadline(
    judge: Judge, harness: Harness, mutants: Sequence[Mutant], config: CampaignConfig
) -> float:
    """The longest deadline any item run of the scoring judge had (the report's timeout)."""
    return config.timeout or max(
        (deadline_for(judge.order(m, harness), harness, config) for m in mutants), default=1.0
    )


def _not_made(generated: Generated) -> dict[str, Any]:
    """What the report says was not mutated: ops no operator reaches, edits that are no
    Python where they stand, and the mutants of lines marked `# pragma: no mutate`."""
    return {
        "unreachable": list(generated.unreachable),
        "left_out": list(generated.left_out),
        "no_mutate": [(m.id, m.file, generated.marked_lines[m.id]) for m in generated.no_mutate],
    }


def _spelling(profile: Profile) -> dict[str, Any]:
    """How the report writes the engine's own names: its gradient's (`gradient`), its backward
    pass's (`backwards`), and a number multiplying a node where its `*` takes nodes only
    (`Value({})`)."""
    leaf = profile.leaf_call("{}") if "__mul__" in profile.coerced else ""
    return {
        "grad_name": profile.grad_name,
        "backward_name": profile.backward_name,
        "number_leaf": leaf,
    }


def _crashed_ops(profile: Profile) -> list[Finding]:
    """Ops whose call crashed in the engine's code while it was discovered, and the faults of
    backward() itself (check.backward_faults): findings."""
    where, line = profile.backward_where()
    return crash_findings(profile) + [
        Finding("", why, "backward", where, line, check=check, reason=why)
        for _, check, why in backward_faults(profile)
    ]


def _run_harnesses(
    host: Host,
    judges: Sequence[Judge],
    harnesses: dict[str, Harness],
    findings: list[Finding],
    excluded: list[str],
) -> None:
    """Each judge's harness, the later judges first (the battery's findings are known when
    the scoring judge's harness fails, so its error can blame a wrong op); a judge other than
    the first that cannot judge is left out, as a finding."""
    for judge in reversed(judges):
        try:
            harnesses[judge.name] = harness = judge.harness(host)
        except HarnessError as err:
            if judge is judges[0]:
                raise _blame_wrong_ops(err, findings) from err
            findings.append(Finding("", f"{judge.name} cannot judge: {err}", check="judge"))
            continue
        findings += harness.findings
        excluded += harness.excluded


def _explain(
    judges: Sequence[Judge], harnesses: dict[str, Harness], results: Sequence[MutantResult]
) -> None:
    """What the scoring judge's items did that lets its survivors live (your tests' habits),
    recorded once the survivors are known: only the items that ran their code pay for it."""
    scoring = judges[0]
    if scoring.name in harnesses:
        survivors = [r.mutant for r in results if r.status is Status.SURVIVED]
        harnesses[scoring.name] = scoring.explain(harnesses[scoring.name], survivors)


def _ticker(progress: JudgeProgress | None, name: str) -> Callable[[int, int], None]:
    def tick(done: int, total: int) -> None:
        if progress is not None:
            progress(name, done, total)

    return tick


def _judge_all(
    host: Host,
    judges: Sequence[Judge],
    harnesses: Mapping[str, Harness],
    reuse: Reuse,
    progress: JudgeProgress | None,
    ahead: _ProbeAhead | None = None,
    every: bool = False,
) -> dict[str, dict[str, Verdict]]:
    """judge -> mutant ID -> verdict.  The scoring judge judges every mutant; the others,
    those it lets through (each a missing test when another judge catches it; a mutant your
    tests kill needs no second verdict), each as soon as it does, or every mutant with
    `every` (--matrix).  The mutants whose verdicts the last run gave and still hold
    (`reuse`) are not judged; those whose judges' verdicts hold are only probed again.  The
    mutants whose reuse waits for the probes' run on the unmutated engine follow once it is
    in (`reuse.settle`), the others' children running meanwhile."""
    verdicts: dict[str, dict[str, Verdict]] = {}
    _known(verdicts, reuse.reprobed, ahead)
    left = [m for m in reuse.judged() if m.id not in reuse.reprobed]
    scoring, *others = [j for j in judges if j.name in harnesses]  # the first always has one
    followers = [_Follower(j, host, harnesses[j.name], progress, ahead) for j in others]
    relay = _Relay(followers, ahead)
    first = _Follower(scoring, host, harnesses[scoring.name], progress, relay)
    _give(first, relay, left, every)
    more, more_known = reuse.settle()
    _known(verdicts, more_known, ahead)
    later = [m for m in more if m.id not in more_known]
    _give(first, relay, later, every)
    left += later
    verdicts.setdefault(scoring.name, {}).update(first.finish())
    relay.release([m for m in left if not verdicts[scoring.name][m.id].status.detected])
    for judge, follower in zip(others, followers, strict=True):
        verdicts.setdefault(judge.name, {}).update(follower.finish())
    return verdicts


def _known(
    verdicts: dict[str, dict[str, Verdict]],
    known: Mapping[str, MutantResult],
    ahead: _ProbeAhead | None,
) -> None:
    """The verdicts kept from the last run, each judge's; their probes run again."""
    for mutant, result in known.items():
        for name, verdict in result.judges:
            verdicts.setdefault(name, {})[mutant] = verdict
            if ahead is not None:
                ahead.verdict(mutant, verdict)  # probed again, beside the judging


def _give(first: _Follower, relay: _Relay, mutants: Sequence[Mutant], every: bool) -> None:
    """The scoring judge's mutants; with `every` (--matrix), every judge's, all at once."""
    relay.by_id.update((m.id, m) for m in mutants)
    if mutants:
        first.add(mutants)
        if every:
            relay.release(mutants)


class _Follower:
    """A judge's mutants, given as they come: a streaming judge starts each one's child at
    once (judgement.Judging); any other judges them all when asked to finish."""

    def __init__(
        self,
        judge: Judge,
        host: Host,
        harness: Harness,
        progress: JudgeProgress | None,
        ahead: Ahead | None,
    ) -> None:
        self.judge, self.host, self.harness, self.ahead = judge, host, harness, ahead
        self.tick = _ticker(progress, judge.name)
        self.stream = (
            judge.judging(host, harness, self.tick, ahead) if isinstance(judge, Streaming) else None
        )
        self.given: list[Mutant] = []

    def add(self, mutants: Sequence[Mutant]) -> None:
        if self.stream is not None:
            self.stream.add(mutants)
        else:
            self.given += mutants

    def wait(self) -> None:
        if self.stream is not None:
            self.stream.wait()

    def finish(self) -> dict[str, Verdict]:
        if self.stream is not None:
            return self.stream.finish()
        if not self.given:
            return {}
        return self.judge.judge(self.host, self.given, self.harness, self.tick, self.ahead)


class _Relay:
    """The scoring judge's `ahead`: each mutant it lets through goes to the other judges at
    once (their children run beside its own), and to the probes.  Before the scoring judge
    runs a hang again alone, the others finish what they started, and what it lets through
    from then on waits for `release`, after its last verdict."""

    def __init__(self, followers: Sequence[_Follower], probes: _ProbeAhead | None) -> None:
        self.by_id: dict[str, Mutant] = {}  # the scoring judge's mutants
        self.followers, self.probes = followers, probes
        self.given: set[str] = set()
        self.held = False

    def verdict(self, mutant: str, verdict: Verdict) -> None:
        if self.probes is not None:
            self.probes.verdict(mutant, verdict)
        if not verdict.status.detected and not self.held:
            self.release([self.by_id[mutant]])

    def release(self, mutants: Sequence[Mutant]) -> None:
        """Give the followers these mutants, those not given already."""
        new = [m for m in mutants if m.id not in self.given]
        self.given.update(m.id for m in new)
        if new:
            for follower in self.followers:
                follower.add(new)

    def drain(self) -> None:
        self.held = True
        for follower in self.followers:
            follower.wait()
        if self.probes is not None:
            self.probes.drain()


class _ProbeAhead:
    """Probes each mutant a judge lets through as soon as it does, while the judges go on:
    the probes run in the engine host, beside your tests' children in theirs (on the scaled-up
    student suite, judging left a core idle 12% of the time, and probing after it 25%).  A
    probe run's outcome does not depend on when it runs: a fresh child, the same probes.
    Until the probes' run on the unmutated engine is in (`settle`), which the judges' first
    children need not wait for, what they let through waits."""

    def __init__(self, host: Host, probing: Probing, broken: list[str], keyed: Keys | None):
        self.host, self.probing, self.keyed = host, probing, keyed
        self.broken = broken  # the battery's cases the unmutated engine fails
        self.original: Original | None = None
        self.held: list[str] = []  # let through before the original's probes were in
        self.kept = 0  # probe runs that were the last run's
        # of the probes reaching the mutants probed again, those not run (they agreed in the
        # last run, and run the same code), of all
        self.passed_over = (0, 0)
        self.sent: set[str] = set()
        self.done: dict[str, ChildOutcome] = {}

    def settle(self) -> Original:
        """The probes' run on the unmutated engine (started beside the harnesses), waited
        for; its observations kept in the engine host for every probe child after."""
        if self.original is None:
            self.original = self.probing.original(self.host, started=True)
            self.probing.keep(self.host, self.original, self.broken)
            if self.keyed is not None:  # which probes reach which mutant now: for their keys
                self.keyed.probed_by(self.probing, self.original, self.broken)
            held, self.held = self.held, []
            for mutant in held:
                self._start(mutant)
        return self.original

    def verdict(self, mutant: str, verdict: Verdict) -> None:
        if not verdict.status.detected and mutant not in self.sent:
            self.sent.add(mutant)
            if self.original is None:
                self.held.append(mutant)
            else:
                self._start(mutant)

    def _start(self, mutant: str) -> None:
        """The mutant's probe run: the last run's where it holds (mutation.cache), else sent."""
        assert self.original is not None, "settled first"
        kept = self.keyed.kept_probe(mutant) if self.keyed is not None else None
        if kept is not None:
            self.done[mutant] = kept
            self.kept += 1
        else:
            last = self.keyed.keys.last_result(mutant) if self.keyed is not None else None
            passed, reaching = self.probing.submit(self.host, mutant, self.original, last)
            if last is not None:
                self.passed_over = (self.passed_over[0] + passed, self.passed_over[1] + reaching)

    def drain(self) -> None:
        """Every probe run started so far, finished (a hang is confirmed alone)."""
        self.settle()
        waiting = [m for m in self.sent if m not in self.done]
        self.done.update(self.probing.collect(self.host, waiting))

    def probe(self, results: list[MutantResult]) -> list[MutantResult]:
        """Each mutant some judge let through, probed: most as their verdicts came."""
        self.drain()
        return self.probing.probe(self.host, results, self.settle(), self.broken, self.done)


def _engine_tasks(parts: Sequence[Judge | Probing]) -> dict[str, Task]:
    tasks: dict[str, Task] = {}
    for part in parts:
        tasks.update(part.engine_tasks())
    return tasks


def _parts(
    spec: EngineSpec,
    profile: Profile,
    config: CampaignConfig,
    mutants: Sequence[Mutant],
    keys: MutantKeys | None,
    early: EarlyTests | None,
) -> tuple[list[Judge], Probing | None, Host, Slots]:
    """The judges (started), the probes and the engine host they share, over one Setup;
    their hosts run --jobs children at once between them (the slots)."""
    slots = early.slots if early is not None else Slots(config.jobs)
    limits = host_limits(config)
    setup = Setup(
        spec,
        profile,
        spec.index,
        build_battery(profile),
        {m.id: m for m in mutants},
        config,
        limits,
        keys=keys,
        slots=slots,
        early_tests=early.take(spec, config) if early is not None else None,
    )
    judges = [JUDGES[name].judge(setup) for name in config.judges]
    probing = Probing(setup) if config.probes else None
    tasks = _engine_tasks([*judges, *([probing] if probing else [])])
    host = engine_host(
        spec,
        profile,
        tasks,
        limits,
        jobs=config.jobs,
        prepare=prepare_patcher(setup),
        slots=setup.slots,
    )
    for judge in judges:
        judge.start()  # your tests' collection runs beside the rest
    return judges, probing, host, slots


def run_campaign(
    spec: EngineSpec,
    profile: Profile,
    config: CampaignConfig,
    *,
    progress: JudgeProgress | None = None,
    generated: Generated | None = None,
    keys: MutantKeys | None = None,
    early: EarlyTests | None = None,
) -> Campaign:
    """Each judge's harness, then every mutant's verdicts, then probes of what got through.
    `keys`: the verdicts kept from the last run, by key (mutation.cache): a mutant whose key
    is unchanged is reported as it was.  `early`: your tests' host, launched before
    discovery with `config`: the campaign takes it (if it serves `spec`) and its slots."""
    start = time.monotonic()
    generated = generated or generate_mutants(spec, profile, config.operators)
    if keys is not None:  # a kept verdict's key holds the code its items ran: record it
        config = dataclasses.replace(config, record_code=True)
    mutants = shard_of(generated.mutants, config.shard)
    compiled.used(spec.sha256)  # its children load the mutants compiled by an earlier run
    judges, probing, host, slots = _parts(spec, profile, config, mutants, keys, early)
    harnesses: dict[str, Harness] = {}
    findings = _crashed_ops(profile)
    excluded: list[str] = []
    try:
        with host:
            harness_start = time.monotonic()
            if probing is not None:  # the probes on the unmutated engine run beside the harnesses
                probing.start(host)
            _run_harnesses(host, judges, harnesses, findings, excluded)
            harness_seconds = time.monotonic() - harness_start
            keyed = Keys.of(keys, judges, harnesses, generated.mutants, config.matrix)
            ahead = _probes_ahead(host, probing, findings, keyed)
            reuse = Reuse(keyed, mutants, probing, ahead.settle if ahead else None)
            verdicts = _judge_all(host, judges, harnesses, reuse, progress, ahead, config.matrix)
            reused, reprobed = reuse.whole, reuse.reprobed
            results = [_combine(m, verdicts, config.judges) for m in reuse.judged()]
            if ahead is not None:
                results = ahead.probe(results)
            _explain(judges, harnesses, [*results, *reused.values()])
    finally:
        for judge in judges:
            judge.close()
        slots.close()
    results = of_wrong_ops(in_order(mutants, results, reused, keyed), wrong_ops(findings))
    _require_unchanged(spec)
    primary, harness = judges[0], harnesses[judges[0].name]
    yours, cases = harnesses.get("tests"), harnesses.get("battery")  # the harnesses that ran
    return Campaign(
        engine=spec.text,
        path=str(spec.path),
        source=spec.source,
        others={str(path): spec.source_of(str(path)) for path, _ in spec.others},
        class_name=profile.class_name,
        **_spelling(profile),
        cases=list(harness.items),
        results=results,
        timeout=_longest_deadline(primary, harness, mutants, config),
        seconds=time.monotonic() - start,
        judge=primary.name,
        shard=config.shard,
        total_mutants=len(generated.mutants),
        run_id=run_id(spec, config, len(generated.mutants)),
        **_not_made(generated),
        harness_seconds=harness_seconds,
        test_paths=list(config.tests),
        findings=findings,
        excluded=excluded,
        orders=spec.orders,
        habits=_habits(harnesses),
        **_of_your_tests(yours),
        reused=len(reused),
        reprobed=len(reprobed),
        kept_cases=cases.kept if cases else (0, 0),
        kept_tests=yours.kept if yours else (0, 0),
        kept_probes=(len(probing.last), len(probing.probes)) if probing else (0, 0),
        kept_probe_runs=ahead.kept if ahead else 0,
        agreeing_probes=ahead.passed_over if ahead else (0, 0),
    )


def _probes_ahead(
    host: Host, probing: Probing | None, findings: Sequence[Finding], keyed: Keys | None
) -> _ProbeAhead | None:
    """The probes of each mutant a judge lets through, sent as its verdict comes (None
    without probes)."""
    if probing is None:
        return None
    return _ProbeAhead(host, probing, [f.case for f in findings if f.case], keyed)


def _of_your_tests(harness: Harness | None) -> dict[str, Any]:
    """What a campaign reports of your tests' harness: the tests that judged, the fixtures
    kept wider than a test and those set up before the fork (nothing if they did not judge)."""
    if harness is None:
        return {}
    return {
        "tests": list(harness.items),
        "fixtures": dict(harness.fixtures),
        "warmed": dict(harness.warmed),
        "imported": {file: list(names) for file, names in harness.imported.items()},
    }


def _require_unchanged(spec: EngineSpec) -> None:
    changed = spec.changed_on_disk()
    if changed:
        raise HarnessError(
            f"{', '.join(map(str, changed))} changed during the run: the results are for the "
            "snapshot taken at its start, not for the file as it is now; run again"
        )


def _habits(harnesses: dict[str, Harness]) -> dict[str, dict[str, list[str]]]:
    """test -> op -> the habits the tests judge's stats run saw (none without that judge)."""
    found: dict[str, dict[str, list[str]]] = {}
    for test, pairs in (harnesses["tests"].habits if "tests" in harnesses else {}).items():
        for op, habit in sorted(pairs):
            found.setdefault(test, {}).setdefault(op, []).append(habit)
    return found
