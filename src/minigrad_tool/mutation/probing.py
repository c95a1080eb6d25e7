"""Probing: is a mutant no judge killed equivalent, and if not, which input tells it apart?

Equivalence is a property of the mutant, not of the judge: a mutant your tests
never run (NoCoverage) is probed too, and is equivalent when the probes ran its
code and none told it apart.

The probes of :mod:`minigrad_tool.mutation.equivalence` (every op at kinks,
signed zeros and random points, and random graphs; forward values and plain,
pre-seeded and scaled gradients) run once on the unmutated engine, then on
each mutant some judge let through, in the campaign's engine host.  A mutant
is equivalent only if the probes ran its changed code and none told it
apart; otherwise the first probe that does is the input a missing test
should build.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from minigrad_tool.adapter import Loaded
from minigrad_tool.adapter.trace import Tracer
from minigrad_tool.isolation import Host, Reporter, Request
from minigrad_tool.isolation import Outcome as ChildOutcome
from minigrad_tool.mutation import equivalence
from minigrad_tool.mutation.judging import (
    DEADLINE_FACTOR,
    DEADLINE_SLACK,
    HarnessError,
    Setup,
    Task,
    raise_internal,
)
from minigrad_tool.mutation.mutants import Mutant
from minigrad_tool.mutation.results import NOT_JUDGED, MutantResult, Status, wrong_op_reason

__all__ = ["PROBING_FAILED", "Original", "Probing"]

# The unmutated engine's probe run gets ten minutes: hundreds of probes on a slow engine.
ORIGINAL_DEADLINE = 600.0
# A probe on a mutant may take twice what it took on the original (a mutant can make a graph
# slower), under mutmut's rule on top, in the CPU time the child spends (a load on the
# machine changes nothing): a mutant that hangs in one probe is stopped there.  The whole
# run, before its first probe and while the lines the probes run are traced, has the same
# rule over all its probes, and never less than two seconds.
PROBE_SLOWDOWN = 2.0
PROBE_MIN_DEADLINE = 2.0

# What a result's reason says after its verdict where its probe run hung or died: + why.
PROBING_FAILED = "; probing it failed: "

# Seconds the probes took on the unmutated engine, what each observed, the probes that
# reach each mutant's code (None: not recorded, every probe runs), and each probe's seconds.
Original = tuple[float, list[Any], dict[str, list[int]] | None, list[float]]


class Probing:
    """The probes of one campaign, run in its engine host."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.probes = equivalence.all_probes(setup.profile)
        self.description = equivalence.describe_probes(setup.profile)
        # In the engine host: the original's observations and the cases it fails, kept once
        # for every probe child forked after (_keep), not sent with each mutant's request.
        self.kept: tuple[list[Any], list[str], list[float]] = ([], [], [])
        # probe index -> its last run's (observation, mutants reached, seconds): not run again
        self.last: dict[int, tuple[Any, list[str], float]] = {}

    def engine_tasks(self) -> dict[str, Task]:
        return {"probe": self._task, "probe-keep": self._keep}

    def _keep(self, engine: Loaded, args: dict[str, Any], reporter: Reporter) -> None:
        """Run in the engine host itself (no engine code runs): keep what every mutant's
        probe run compares with."""
        self.kept = (args["want"], args["broken"], args["seconds"])

    def _task(self, engine: Loaded, args: dict[str, Any], reporter: Reporter) -> Any:
        if "mutant" not in args:
            reporter.phase("probing the unmutated engine")
            skip = set(args.get("skip", ()))
            want, reached, seconds = self._observe_original(engine, skip)
            return {"count": len(want), "want": want, "reached": reached, "seconds": seconds}
        want, broken_cases, seconds = self.kept  # the original's observations, made once
        mutant = self.setup.mutants[args["mutant"]]
        patcher = self.setup.patcher
        assert patcher is not None, "the engine host prepares the patcher"
        patcher.apply(mutant)
        rtol = equivalence.tolerance_for(self.setup.profile)
        any_kink = self.setup.config.settings.any_subgradient
        reporter.phase(f"probing mutant {mutant.id}")
        broken = set(broken_cases)
        # Evidence counts only where the original computes: agreeing by both raising shows
        # nothing about the changed code.
        hits, only_broken = 0, ""
        reaching = args.get("probes")  # None: not recorded, every probe may reach it
        agreed = set(args.get("agreed", ()))
        for i in range(len(self.probes)) if reaching is None else reaching:
            if i in agreed:  # it agreed in the last run and runs the same code: it agrees
                hits += want[i][0] == "ok"  # and it ran the changed code, as it reaches it
                continue
            probe, before = self.probes[i], patcher.hits.count
            reporter.phase(f"probe {probe.label} on mutant {mutant.id}", budget=_budget(seconds[i]))
            got = equivalence.observe(engine.access, probe)
            if want[i][0] == "ok":
                hits += patcher.hits.count - before
            if not equivalence.compare(want[i], got, rtol, probe.kink if any_kink else None):
                text = equivalence.explain(probe, want[i], got)
                if probe.case_name in broken:  # the original is wrong there already
                    only_broken = only_broken or text
                    continue
                return {"probe_index": i, "text": text, "hits": patcher.hits.count}
        if hits:
            whole = _budget(sum(seconds), PROBE_MIN_DEADLINE)
            reporter.phase(f"tracing the lines the probes run on mutant {mutant.id}", budget=whole)
        ran, never = self._lines_run(engine, mutant, reaching or []) if hits else ([], [])
        return {
            "probe_index": None,
            "hits": hits,
            "count": len(self.probes),
            "lines_run": ran,
            "lines_not_run": never,
            "only_broken": only_broken,
        }

    def _observe_original(
        self, engine: Loaded, skip: set[int]
    ) -> tuple[list[Any], dict[str, list[int]] | None, list[float]]:
        """Each probe's observation of the unmutated engine (None for those in `skip`, whose
        observations the result cache keeps), for each mutant with site markers the probes
        that run its code (None: not recorded), and each probe's seconds.  A probe that never
        reaches a mutant's code runs the mutant exactly as the original, so it cannot tell
        the mutant apart: a mutant is probed by the probes that reach it alone."""
        patcher = self.setup.patcher
        marked = patcher is not None and bool(patcher.marked)
        want: list[Any] = []
        seconds: list[float] = []
        reached: dict[str, list[int]] = {m: [] for m in patcher.marked} if patcher else {}
        try:
            for i, probe in enumerate(self.probes):
                if i in skip:
                    want.append(None)
                    seconds.append(0.0)
                    continue
                record = patcher.record_sites() if marked and patcher else None
                start = time.perf_counter()
                want.append(equivalence.observe(engine.access, probe))
                seconds.append(time.perf_counter() - start)
                for m in record() if record is not None else ():
                    reached[m].append(i)
        finally:
            if marked and patcher:
                patcher.restore()
        return want, reached if marked else None, seconds

    def _lines_run(
        self, engine: Loaded, mutant: Mutant, first: Sequence[int]
    ) -> tuple[list[int], list[int]]:
        """The statement lines of the mutated function the probes ran, and those none ran: an
        equivalence claim's evidence (a branch no probe takes shows here).  The probes in
        `first` (those that reach its code) run first; once every line a probe can run has
        run, the others could add none."""
        unit = self.setup.spec.index_of(mutant.file).function(*mutant.unit)
        if unit is None:
            return [], []
        lines = {
            n.lineno
            for n in ast.walk(unit.node)
            if isinstance(n, ast.stmt) and not _is_docstring(n)
        }
        # A function of a module or class is defined at import: no probe runs its `def` line.
        runnable = lines - {unit.node.lineno} if "<locals>" not in mutant.unit[0] else lines
        skip = set(first)
        order = [*first, *(i for i in range(len(self.probes)) if i not in skip)]
        with Tracer(mutant.file or str(self.setup.spec.path), lines=True) as tracer:
            for i in order:
                equivalence.observe(engine.access, self.probes[i])
                if runnable <= tracer.lines:
                    break
        ran = lines & tracer.lines
        return sorted(ran), sorted(lines - ran - {unit.node.lineno})

    def start(self, engine: Host) -> None:
        """Start the probes on the unmutated engine, to run beside other work; `original`
        with `started` collects them.  With the result cache, a probe none of whose reached
        code changed since the last run is that run's (`_kept`): it is not run again."""
        self.last = self._kept()
        args = {"skip": sorted(self.last)} if self.last else {}
        engine.submit([Request(_AHEAD + "original", "probe", args, ORIGINAL_DEADLINE)])

    def _kept(self) -> dict[int, tuple[Any, list[str], float]]:
        """probe index -> its last run's observation, the mutants it reached, its seconds."""
        keys = self.setup.run_keys
        if keys is None:
            return {}
        kept = {}
        for i in range(len(self.probes)):
            run = keys.kept_case(_probe_name(i, self.probes[i].label))
            if run is not None:
                kept[i] = run[0]
        return kept

    def original(self, engine: Host, started: bool = False) -> Original:
        """The probes on the unmutated engine: they must run, and are observed once."""
        if started:
            outcome = engine.collect([_AHEAD + "original"])[_AHEAD + "original"]
        else:
            self.last = {}
            outcome = engine.run([Request("original", "probe", {}, ORIGINAL_DEADLINE)])["original"]
        raise_internal(outcome, "probing the unmutated engine")
        if not outcome.ok:
            raise HarnessError(f"the probes fail on the unmutated engine: {outcome.message}")
        value = outcome.value
        want, reached, seconds = list(value["want"]), value["reached"], list(value["seconds"])
        for i, (observed, reaching, took) in self.last.items():
            want[i], seconds[i] = observed, took
            if reached is not None:
                for m in reaching:
                    reached.setdefault(m, []).append(i)
        if reached is not None:
            reached = {m: sorted(probes) for m, probes in reached.items()}
            self._keep_runs(want, reached, seconds)
        # the deadline of a mutant's probe run: what its probes took here, and the fork
        spent = outcome.seconds + sum(took for _, _, took in self.last.values())
        return spent, want, reached, seconds

    def _keep_runs(
        self, want: list[Any], reached: Mapping[str, list[int]], seconds: list[float]
    ) -> None:
        """Each probe run here, for the next run's result cache, under the ops it reached."""
        keys = self.setup.run_keys
        if keys is None:
            return
        reaching: dict[int, list[str]] = {}
        for m, probes in reached.items():
            for i in probes:
                reaching.setdefault(i, []).append(m)
        op_of = {m.id: m.op for m in self.setup.mutants.values()}
        for i, probe in enumerate(self.probes):
            found = sorted(reaching.get(i, []))
            if i not in self.last:
                keys.keep_reached(
                    _probe_name(i, probe.label), found, op_of, (want[i], found, seconds[i])
                )

    def probe(
        self,
        engine: Host,
        results: list[MutantResult],
        original: Original,
        broken: Sequence[str] = (),
        done: Mapping[str, ChildOutcome] | None = None,
    ) -> list[MutantResult]:
        """Probe every mutant some judge let through: for equivalence, and for the input that
        tells it apart (what a missing test should check).  A difference on a probe of a case
        in `broken` (the unmutated engine fails it) tells nothing about the tests: a mutant
        that differs only there is not judged.  `done`: the probe runs already made (started
        while the judges went on, `submit`)."""
        through = [r.mutant.id for r in results if any(not v.status.detected for _, v in r.judges)]
        if not through:
            return results
        done = done or {}
        left = [m for m in through if m not in done]
        outcomes = {**done, **(self.run(engine, left, original, broken) if left else {})}
        return [
            _equivalent_for_all(_with_probe(r, outcomes[r.mutant.id], self.description))
            if r.mutant.id in outcomes
            else r
            for r in results
        ]

    def run(
        self,
        engine: Host,
        mutants: Sequence[str],
        original: Original,
        broken: Sequence[str] = (),
    ) -> dict[str, ChildOutcome]:
        """Each mutant's probe run: the first probe telling it apart, and whether its code ran."""
        self.keep(engine, original, broken)
        return engine.run(_requests(mutants, original, ""))

    def keep(self, engine: Host, original: Original, broken: Sequence[str]) -> None:
        """Keep the original's observations in the engine host, for every probe child after."""
        args = {"want": original[1], "broken": sorted(broken), "seconds": original[3]}
        keep = Request("keep", "probe-keep", args, in_host=True)
        kept = engine.run([keep])["keep"]
        raise_internal(kept, "keeping the probes' observations")
        if not kept.ok:
            raise HarnessError(
                f"the engine host cannot keep the probes' observations: {kept.message}"
            )

    def submit(
        self, engine: Host, mutant: str, original: Original, last: MutantResult | None = None
    ) -> tuple[int, int]:
        """Start the mutant's probe run (after `keep`), while the judges go on.  With `last`,
        its result in the last run, the probes that agreed with the original on it then and
        whose run on the unmutated engine is the last run's (`last`: they run the same code)
        are not run: each would agree again.  What a full probe run finds is found still: the
        first probe that tells it apart is among the others, and an equivalence claim rests
        on their agreement and the lines all the probes run.  How many of the probes that
        reach the mutant were so passed over, of how many."""
        agreed = self._agreed(last)
        engine.submit(_requests([mutant], original, _AHEAD, agreed))
        # the probes its run goes through, as its child reads the request (_task)
        reaching = set(_probes(mutant, original[2]).get("probes", range(len(self.probes))))
        return len(reaching & agreed), len(reaching)

    def _agreed(self, last: MutantResult | None) -> set[int]:
        """The probes whose run is the last run's that agreed on a mutant whose last result is
        `last`: every one if none told it apart and none differed (`_agreed_all`), else those
        before the one that told it apart, but a probe of a battery case (a difference on a
        case the unmutated engine failed was passed over, not an agreement)."""
        if last is None:
            return set()
        if _agreed_all(last):
            return set(self.last)
        told = last.probe_index
        if told is None:
            return set()
        return {i for i in self.last if i < told and not self.probes[i].case_name}

    def collect(self, engine: Host, mutants: Sequence[str]) -> dict[str, ChildOutcome]:
        """The probe runs `submit` started, by mutant."""
        outcomes = engine.collect([_AHEAD + m for m in mutants])
        return {m: outcomes[_AHEAD + m] for m in mutants}

    def equivalent(self, engine: Host, mutants: Sequence[str]) -> set[str]:
        """The mutants no probe tells apart though the probes ran their code: no judge needed
        (a mutant some input tells apart is not equivalent, whoever judges it)."""
        outcomes = self.run(engine, mutants, self.original(engine))
        for key, outcome in outcomes.items():
            raise_internal(outcome, f"probing mutant {key}")
        return {
            key
            for key, outcome in outcomes.items()
            if outcome.ok and outcome.value["probe_index"] is None and outcome.value["hits"] > 0
        }


# The keys of probe runs submitted ahead: apart from a judge's, which are the mutants' IDs.
_AHEAD = "probe "


def _probe_name(index: int, label: str) -> str:
    """A probe's name in the result cache, apart from every case's and every test chunk's."""
    return f"probe\0{index}\0{label}"


def _requests(
    mutants: Sequence[str], original: Original, prefix: str, agreed: Collection[int] = ()
) -> list[Request]:
    """Each mutant's probe request, its key the mutant's ID after `prefix`; the probes in
    `agreed` are passed over (Probing.submit)."""
    spent, _, reached, _ = original
    deadline = _budget(spent, PROBE_MIN_DEADLINE)
    passed = {"agreed": sorted(agreed)} if agreed else {}
    return [
        Request(
            prefix + m,
            "probe",
            {"mutant": m, **_probes(m, reached), **passed},
            deadline,
            cpu_time=True,
        )
        for m in mutants
    ]


def _budget(seconds: float, least: float = 0.0) -> float:
    """The CPU seconds a mutant may spend on what took the original `seconds` to probe."""
    return max(least, DEADLINE_FACTOR * PROBE_SLOWDOWN * seconds + DEADLINE_SLACK)


def _agreed_all(result: MutantResult) -> bool:
    """Did every probe that reaches the mutant agree with the original (an equivalent one:
    none told it apart, none differed where the unmutated engine fails a case)?"""
    return (
        result.status is Status.EQUIVALENT
        and result.probe_index is None
        and not result.reason.startswith(NOT_JUDGED)
    )


def of_wrong_ops(results: Sequence[MutantResult], wrong: Collection[str]) -> list[MutantResult]:
    """An equivalent mutant of an op the battery finds wrong is not judged: the probes agree
    with an original that is wrong (a step whose gradient never reaches the inputs agrees
    with every edit of it), and once the op is fixed the mutant may well be caught."""
    return [
        replace(
            r,
            reason=f"{wrong_op_reason(r.mutant.op)}, and the probes agree with that wrong "
            f"original; fix {r.mutant.op}, then judge it again ({r.reason})",
        )
        if r.status is Status.EQUIVALENT and not r.not_judged and r.mutant.op in wrong
        else r
        for r in results
    ]


def _probes(mutant: str, reached: Mapping[str, list[int]] | None) -> dict[str, list[int]]:
    """The probes to run on `mutant`: those that reach its code, when that was recorded."""
    return {"probes": reached[mutant]} if reached is not None and mutant in reached else {}


def _with_probe(result: MutantResult, outcome: ChildOutcome, probes: str) -> MutantResult:
    raise_internal(outcome, f"probing mutant {result.mutant.id}")
    if not outcome.ok:
        return replace(result, reason=f"{result.reason}{PROBING_FAILED}{outcome.message}")
    value = outcome.value
    if value["probe_index"] is not None:
        return replace(result, distinguishing=value["text"], probe_index=value["probe_index"])
    detected = any(v.status.detected for _, v in result.judges)
    if result.status.let_through and value["hits"] > 0 and not detected:
        reason = (
            f"equivalent: agrees with the original on all {value['count']} probes, which ran "
            f"the changed code ({probes}); {_lines_text(result, value)}"
        )
        if value.get("only_broken"):
            reason = (
                f"{NOT_JUDGED}: it agrees with the original wherever the original is right, and "
                f"differs only where the unmutated engine already fails a case ({probes}): "
                f"{value['only_broken']}; fix the engine, then judge it again"
            )
        return replace(result, status=Status.EQUIVALENT, reason=reason)
    if value["hits"] == 0:
        reason = (
            f"{result.reason}; no probe on which the original computes ran the changed code, "
            "so equivalence is not shown"
        )
        return replace(result, reason=reason)
    return result


def _is_docstring(node: ast.stmt) -> bool:
    """A string standing alone: compiled away, so never a line that runs."""
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _lines_text(result: MutantResult, value: Mapping[str, Any]) -> str:
    ran, never = value.get("lines_run", []), value.get("lines_not_run", [])
    where = result.mutant.function
    text = f"lines of {where} the probes ran: {_ranges(ran) or 'none traced'}"
    return text + (f"; never run by a probe: {_ranges(never)}" if never else "; every line ran")


def _ranges(lines: Sequence[int]) -> str:
    """`3-5, 8`: sorted line numbers, runs folded."""
    parts: list[str] = []
    for line in lines:
        if parts and line == int(parts[-1].rpartition("-")[2]) + 1:
            parts[-1] = f"{parts[-1].partition('-')[0]}-{line}"
        else:
            parts.append(str(line))
    return ", ".join(parts)


def _equivalent_for_all(result: MutantResult) -> MutantResult:
    """An equivalent mutant is equivalent under every judge: no judge can kill it."""
    if result.status is not Status.EQUIVALENT:
        return result
    judges = tuple(
        (name, replace(v, status=Status.EQUIVALENT, reason=result.reason))
        if v.status.let_through
        else (name, v)
        for name, v in result.judges
    )
    return replace(result, judges=judges)
