"""Tests written for survivors: the tests your suite is missing, one per distinct input.

For each mutant your tests let through, the probes found the smallest input
that tells it from the engine (probes go from single ops to random graphs, so
the first one that differs is the smallest).  Mutants told apart by the same
input share one test: it builds that graph (only the nodes that reach the
output), runs `backward()` and asserts the forward value and the gradients the
*unmutated* engine gives; where a plain backward does not tell them apart, it
also asserts the pre-seeded and scaled variants.  It is named after what it
checks, lists the mutants it catches, writes numbers as short literals, and
imports the engine the way your tests do most often.

Nothing is written before it is checked: every test must pass on the engine
and fail on each of its mutants in every graph order, run by pytest in
children; a mutant its test does not catch is left out and reported.
"""

from __future__ import annotations

import ast
import re
import tempfile
import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minigrad_tool.adapter import EngineSpec, Loaded, Profile, engine_host
from minigrad_tool.adapter.nodes import GRAD_ALIASES
from minigrad_tool.adapter.profile import EngineKind
from minigrad_tool.adapter.source import SourceIndex
from minigrad_tool.adapter.traversal import PATHS_GRAPH
from minigrad_tool.battery.oracle import NoTruth
from minigrad_tool.isolation import Limits, Reporter, Request
from minigrad_tool.isolation import Outcome as ChildOutcome
from minigrad_tool.mutation import equivalence
from minigrad_tool.mutation.habits import Habit
from minigrad_tool.mutation.judges.tests import TestsHost, run_stats
from minigrad_tool.mutation.judging import DEADLINE_SLACK, CampaignConfig, MutantRun, budget_of
from minigrad_tool.mutation.mutants import Mutant
from minigrad_tool.mutation.patch import patcher_for
from minigrad_tool.mutation.probe import REGIMES, telling_regime
from minigrad_tool.mutation.probing import PROBING_FAILED
from minigrad_tool.mutation.results import Campaign, MutantResult, Status
from minigrad_tool.reads import python_files

__all__ = ["WALK_TEST", "Suggestions", "close_helper", "observe_mutants", "suggest_tests"]


@dataclass
class Suggestions:
    text: str  # the file to write ("" if no test passed the checks)
    written: list[str] = field(default_factory=list)  # mutant IDs a written test catches
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (mutant, why no test)
    tests: int = 0  # how many tests the file holds
    # Tests that fail on the engine today, by design: (test name, the wrong ops they expose)
    failing: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


def _let_through(result: MutantResult) -> bool:
    """The user's tests let it through: a test is missing."""
    verdict = result.verdict("tests")
    return verdict is not None and verdict.status.let_through


def import_line(spec: EngineSpec, class_name: str, tests: Sequence[str]) -> str:
    """How the user's tests import the engine's class, the form they use most; else the
    module's path.  A package that re-exports the class counts (`from pkg import Value`)."""
    parts = spec.module.split(".")
    accepted = {".".join(parts[:k]) for k in range(1, len(parts) + 1)} | {parts[-1]}
    forms: Counter[str] = Counter()
    for path in python_files(tests):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError, RecursionError):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.level == 0
                and node.module in accepted
                and any(alias.name == class_name for alias in node.names)
            ):
                forms[f"from {node.module} import {class_name}"] += 1
    if forms:
        return min(forms, key=lambda form: (-forms[form], form))
    return f"from {spec.module} import {class_name}"


def observe_mutants(
    spec: EngineSpec,
    profile: Profile,
    index: SourceIndex,
    probes: Sequence[equivalence.Probe],
    wanted: Sequence[tuple[Mutant, Sequence[int]]],
    limits: Limits,
) -> dict[str, tuple[int, Any, Any]]:
    """For each (mutant, probe indices): the first of those probes that tells the mutant from
    the original (else the first probe), with its observation on the original and the mutant."""
    mutants = {m.id: m for m, _ in wanted}
    rtol = equivalence.tolerance_for(profile)

    def task(engine: Loaded, args: dict[str, Any], reporter: Reporter) -> list[Any]:
        chosen = args["probes"]
        wants = [equivalence.observe(engine.access, probes[i]) for i in chosen]
        patcher = patcher_for(spec, index)
        patcher.apply(mutants[args["mutant"]])
        first: list[Any] = []
        for i, want in zip(chosen, wants, strict=True):
            got = equivalence.observe(engine.access, probes[i])
            first = first or [i, want, got]
            if not equivalence.compare(want, got, rtol):
                return [i, want, got]
        return first

    requests = [
        Request(m.id, "observe", {"mutant": m.id, "probes": list(indices)}) for m, indices in wanted
    ]
    with engine_host(spec, profile, {"observe": task}, limits) as host:
        outcomes = host.run(requests)
    return {key: (o.value[0], o.value[1], o.value[2]) for key, o in outcomes.items() if o.ok}


_HELPER = '''

def close(actual, expected):
    """Equal within a relative {rel:g} (and {abs_:g} absolute, around zero){none_doc}."""
{none}    return math.isclose(float(actual), expected, rel_tol={rel!r}, abs_tol={abs_!r})
'''


_ARRAY_HELPER = (
    '''

def close(actual, expected):
    """Equal elementwise within a relative {rel:g} (and {abs_:g} absolute, around zero)'''
    '''{none_doc}."""
{none}    actual = getattr(actual, "data", actual)  # a gradient kept as a node holds an array
    return np.allclose(np.asarray(actual, dtype=float), expected, rtol={rel!r}, atol={abs_!r})
'''
)

# Where a node no gradient reaches keeps `.grad` None (Profile.grad_starts_none), `close` reads
# it as 0: what its docstring adds, and its first line.
_NONE_DOC = ";\n    a .{grad} of None is 0: no gradient reached the node"
_NONE_LINE = "    actual = 0.0 if actual is None else actual\n"

# What a written test imports to compare, and its `close` helper, for each kind of engine.
_HELPERS: dict[EngineKind, tuple[str, str]] = {
    "scalar": ("import math", _HELPER),
    "tensor": ("import numpy as np", _ARRAY_HELPER),
}


_REGIMES = {regime.name: regime for regime in REGIMES}


@dataclass(frozen=True)
class _Written:
    """One test to write: its input, what it asserts, and the mutants it should catch."""

    probe: equivalence.Probe
    want: Any  # the truth, in an observation's form: never the engine's output
    regime: str  # the regime asserted after the plain one (mutation.probe.REGIMES)
    mutants: tuple[Mutant, ...]
    blames: tuple[str, ...] = ()  # ops it calls that the battery finds wrong in the engine
    habits: tuple[Habit, ...] = ()  # the habits of the user's tests it breaks (mutation.habits)


# The seeded regime where nothing can be pre-seeded (the engine owns .grad): scaling alone.
_UNSEEDED = ("scales", ", and that backward() scales them by the upstream gradient")


def _regime_words(regime: str, preseed: bool) -> tuple[str, str]:
    """(test name part, what it checks) of a regime (mutation.probe.REGIMES)."""
    if regime == "seeded" and not preseed:
        return _UNSEEDED
    return _REGIMES[regime].test_name, _REGIMES[regime].checks


def _what(probe: equivalence.Probe, regime: str, preseed: bool) -> tuple[str, str]:
    """(name part, docstring) saying what a test checks."""
    checks = "its value and gradients" + _regime_words(regime, preseed)[1]
    if probe.label.startswith("random graph"):
        count = len(equivalence.reaching(probe.lines))
        point = ", ".join(f"{n}={v!r}" for n, v in zip(("x", "y", "z"), probe.point, strict=False))
        return "graph", f"A graph of {count} nodes at {point}: {checks}."
    return "", f"{probe.label}: {checks}."


def _test_source(
    test: _Written,
    name: str,
    style: equivalence.TestStyle,
    *,
    spec: EngineSpec,
    exposes: str = "",
) -> str:
    _, doc = _what(test.probe, test.regime, style.preseed)
    if test.habits and not exposes:  # the habit is that of the mutants it lists
        said = "; ".join(f"{h.name}: {h.broken_by}" for h in test.habits)
        doc = f"{doc} It breaks the habit of your tests that let these mutants live ({said})."
    doc = f"{doc} {exposes}" if exposes else doc
    body = [f"    {line}" for line in test.probe.test_lines(test.want, test.regime, style)]
    wrapped = textwrap.wrap(
        doc, width=88, initial_indent="    ", subsequent_indent="    ", break_on_hyphens=False
    )
    docstring = (
        [f'    """{doc}"""']
        if len(wrapped) == 1
        else [
            f'    """{wrapped[0].strip()}',
            *wrapped[1:],
            '    """',
        ]
    )
    head = [f"def {name}():", *docstring]
    if exposes:  # it fails on the engine today: it claims no mutant (suggest_tests)
        return _hug_powers("\n".join([*head, *body]) + "\n")
    head.append("    # catches these mutants of the engine:")
    for m in test.mutants:
        head.append(f"    #   {m.id} ({spec.name_of(m.file)}:{m.start[0]}), which reads")
        head += textwrap.wrap(
            m.mutated_line(spec.source_of(m.file)),
            width=88,
            initial_indent="    #       ",
            subsequent_indent="    #         ",
            break_on_hyphens=False,
        )
    return _hug_powers("\n".join([*head, *body]) + "\n")


_SIMPLE_POWER = re.compile(r"(?<![\w.])(-?[\w.]+) \*\* (-?[\w.]+)(?![\w.(])")


def _hug_powers(source: str) -> str:
    """`x**2`, as ruff and black write a power of simple operands (not in comments)."""
    lines = [
        line if line.lstrip().startswith("#") else _SIMPLE_POWER.sub(r"\1**\2", line)
        for line in source.splitlines()
    ]
    return "\n".join(lines) + ("\n" if source.endswith("\n") else "")


def _name(test: _Written, taken: set[str], preseed: bool) -> str:
    """`test_<op>_<what it checks>`, numbered when two tests would share a name."""
    part, _ = _what(test.probe, test.regime, preseed)
    op = part or (test.mutants[0].op if test.mutants else test.blames[0])
    base = f"test_{op}_{_regime_words(test.regime, preseed)[0]}"
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


@dataclass
class _Checked:
    """What running the written tests showed."""

    caught: dict[str, list[str]] = field(default_factory=dict)  # passing test -> mutants killed
    exposing: list[str] = field(default_factory=list)  # tests failing by design: no mutant
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (mutant, why no test)


def _on_mutant(
    name: str, mutant: Mutant, item: str, seconds: float, config: CampaignConfig
) -> Request:
    """Written test `item` on `mutant`, in every graph order, each run within the judges'
    deadline for what it took on the engine (`budget_of`), of the CPU time it spends (a load
    on the machine does not spend it).  A mutant the test hangs on costs that, not the
    host's limit."""
    budget = budget_of(seconds, config)
    args = {"mutant": mutant.id, "items": [item], "budgets": {item: budget}}
    return Request(f"{name}|{mutant.id}", "judge", args, DEADLINE_SLACK + budget, cpu_time=True)


def _not_caught(outcome: ChildOutcome | None) -> str:
    """Why one written test's run on one mutant claims no catch: it did not end with a
    finding (it hung, crashed or ran out of memory), or it passed, or it failed in only some
    graph orders.  "" if the test caught the mutant in every order."""
    if outcome is None or not outcome.ok:
        # the phase is the test's node ID, in a temporary folder: named above already
        what = outcome.message.replace(f" during {outcome.phase}", "") if outcome else "no answer"
        return f"its test did not finish on the mutant: {what}"
    run = MutantRun.from_json(outcome.value)
    if run.caught_everywhere:
        return ""
    if run.killed_by:
        return f"its test catches it in only {len(run.orders_caught)} of {run.orders} orders"
    return "its test passes on the mutant too"


# A written test's own assertions of the truth: a value or gradient within its tolerance, or
# a gradient of exactly 0 under a zero upstream gradient (equivalence.ScalarProbe.test_lines).
_GRAD = "|".join(("grad", *GRAD_ALIASES))  # `.gradient`, where the engine keeps it so
_TRUTH_ASSERTION = re.compile(
    rf"assert (close\(|(\w+\.({_GRAD}) is None or )?\w+\.({_GRAD})(\.\w+)? == 0(?![\w.]))"
)


def _exposes_bug(why: str) -> bool:
    """The test failed on one of its own assertions of the truth (not a NameError, say)."""
    return _TRUTH_ASSERTION.search(why) is not None


def _verify(
    spec: EngineSpec,
    tests: dict[str, tuple[str, _Written]],
    header: str,
    limits: Limits,
    config: CampaignConfig,
) -> _Checked:
    """Run the written tests both ways, by pytest in children.  On the engine: a test passes,
    or it fails on its assertions because an op it calls is wrong (the battery says which).
    On each mutant it lists, a passing test must fail in every graph order.  A test that
    fails today claims no mutant: every mutant fails it as the engine does, so failing says
    nothing of what it would do once the op is fixed (a mutant of the wrong line itself is
    no longer there then).  Its mutants are reported, to be judged again after the fix."""
    mutants = [m for _, written in tests.values() for m in written.mutants]
    checked = _Checked()
    with tempfile.TemporaryDirectory(prefix="minigrad-suggest-") as tmp:
        path = Path(tmp) / "test_minigrad_suggested.py"
        sources = "\n\n".join(source for source, _ in tests.values())
        path.write_text(header + "\n\n" + sources, encoding="utf-8")
        with TestsHost(spec, [str(path)], limits, jobs=config.jobs, mutants=mutants) as host:
            stats = run_stats(host)
            ids = {name: next((t for t in stats if t.endswith(f"::{name}")), "") for name in tests}
            outcome_of = {name: stats[t].outcome if t else "" for name, t in ids.items()}
            why_of = {name: stats[t].text if t else "not collected" for name, t in ids.items()}

            def exposing(name: str) -> bool:
                """It fails on its own assertion of the truth, and calls an op that is wrong."""
                return (
                    outcome_of[name] == "failed"
                    and bool(tests[name][1].blames)
                    and _exposes_bug(why_of[name])
                )

            # Only tests that pass on the engine run on their mutants.
            kept = [n for n, o in outcome_of.items() if o == "passed"]
            requests = [
                _on_mutant(name, m, ids[name], stats[ids[name]].seconds, config)
                for name in sorted(kept)
                for m in tests[name][1].mutants
            ]
            outcomes = host.run(requests)
    for name, (_, written) in tests.items():
        outcome, why = outcome_of[name], why_of[name] or "not collected"
        if exposing(name):
            checked.exposing.append(name)
            wrong = _called(written.blames)
            said = (
                f"its test calls {wrong}, which your engine gets wrong: {name} exposes the "
                f"bug, and fails on every mutant as on your engine; once {wrong} is fixed, "
                "run --suggest again"
            )
            checked.dropped += [(m.id, said) for m in written.mutants]
            continue
        if outcome != "passed":
            said = (
                f"its expected values (plain math and central differences) disagree with the "
                f"engine at {written.probe.label}, where the battery finds every op right: {why}"
                if outcome == "failed" and not written.blames
                else f"its test does not run on the engine: {why}"
            )
            checked.dropped += [(m.id, said) for m in written.mutants]
            continue
        for m in written.mutants:
            why_not = _not_caught(outcomes.get(f"{name}|{m.id}"))
            if why_not:
                checked.dropped.append((m.id, why_not))
            else:
                checked.caught.setdefault(name, []).append(m.id)
    return checked


def _truths(
    profile: Profile, probes: Sequence[equivalence.Probe], indices: Sequence[int]
) -> tuple[dict[int, Any], dict[int, str]]:
    """Each probe's truth (never the engine's output), or why none can be established."""
    truths: dict[int, Any] = {}
    missing: dict[int, str] = {}
    for i in dict.fromkeys(indices):
        try:
            truths[i] = probes[i].truth(profile)
        except NoTruth as err:
            missing[i] = str(err)
    return truths, missing


def _observed_with_truths(
    spec: EngineSpec,
    profile: Profile,
    probes: Sequence[equivalence.Probe],
    chosen: Sequence[MutantResult],
    limits: Limits,
) -> tuple[dict[str, tuple[int, Any, Any]], dict[int, Any], dict[int, str]]:
    """Each survivor observed, original and mutant, at the probe that told it apart; where
    that probe has no truth (a kink, a domain error), at the first later probe off a kink
    (the random graphs last) that tells it apart.  With the truths of those probes."""
    truths, no_truth = _truths(profile, probes, [r.probe_index or 0 for r in chosen])
    later = [j for j, probe in enumerate(probes) if probe.kink is None]

    def candidates(i: int) -> list[int]:
        return [i] if i in truths else [i, *[j for j in later if j > i]]

    wanted = [(r.mutant, candidates(r.probe_index or 0)) for r in chosen]
    observed = observe_mutants(spec, profile, spec.index, probes, wanted, limits)
    found, no_truth_found = _truths(profile, probes, [i for i, _, _ in observed.values()])
    return observed, {**truths, **found}, {**no_truth, **no_truth_found}


_HEADER = """\
\"\"\"Tests written by `minigrad mutate --suggest` for mutants your tests let through.

Each builds the smallest input minigrad found that tells the mutants it lists from
the engine, runs backward(), and asserts what a correct engine gives, never what
yours gives today: values from plain math, gradients from float64 central
differences of it (Richardson-extrapolated), and {seeded}gradients
from their relation ({relation}).  Each was run before it was
written: it fails on each mutant it lists, in every graph order, and passes on
your engine, except where its docstring says it exposes a bug in an op.
\"\"\"
"""


def _untold(result: MutantResult) -> str:
    """Why no input is known that tells the mutant apart."""
    _, failed, why = result.reason.partition(PROBING_FAILED)
    if failed:  # a hang or a crash: a test of that input would hang or die, not fail
        return f"probing it failed: {why}"
    return "no probe tells it from the engine"


def suggest_tests(
    spec: EngineSpec,
    profile: Profile,
    campaign: Campaign,
    config: CampaignConfig,
    limits: Limits,
) -> Suggestions:
    """A checked pytest file with a test for each mutant the user's tests let through."""
    through = [r for r in campaign.results if _let_through(r) and r.status is not Status.EQUIVALENT]
    dropped = [(r.mutant.id, _untold(r)) for r in through if r.probe_index is None]
    chosen = [r for r in through if r.probe_index is not None]
    wrong = set(campaign.wrong_ops)
    walk = _walk_test(profile, wrong)
    probes = equivalence.all_probes(profile)
    for_ops = _wrong_op_tests(profile, probes, wrong)
    if not chosen and walk is None and not for_ops:
        return Suggestions("", [], dropped)
    observed, truths, no_truth = (
        _observed_with_truths(spec, profile, probes, chosen, limits) if chosen else ({}, {}, {})
    )
    groups = _grouped(profile, probes, chosen, observed, no_truth, dropped)
    habit_of = {m: d.habit for d in campaign.diagnosis()[0] for m in d.survivors}
    writer = _Writer(spec, profile, equivalence.tolerance_for(profile))
    tests: dict[str, tuple[str, _Written]] = {}
    taken: set[str] = set()
    # Every test runs backward(): where the battery finds it wrong, a test that fails on its
    # own assertion of the truth may do so for that alone.
    walking = ("backward",) if "backward" in wrong else ()
    for (probe_index, regime), members in groups.items():
        probe = probes[probe_index]
        blames = tuple(op for op in probe.ops(profile) if op in wrong) + walking
        habits = tuple(dict.fromkeys(habit_of[m.id] for m in members if m.id in habit_of))
        written = _Written(probe, truths[probe_index], regime, tuple(members), blames, habits)
        name = _name(written, taken, profile.grad_writable)
        tests[name] = (writer.source(written, name), written)
    if walk is not None:
        tests[WALK_TEST] = (writer.source(walk, WALK_TEST), walk)
    tried: dict[str, list[str]] = {}  # a wrong op -> the names of the tests tried for it
    for op, candidates in for_ops.items():
        for k, written in enumerate(candidates):
            name = f"test_minigrad_tries_{op}_{k}"  # the one kept is named below
            tests[name] = (writer.source(written, name), written)
            tried.setdefault(op, []).append(name)
    header = _header(spec, profile, config)
    checked = _verify(spec, tests, header, limits, config)
    kept = [name for name in tests if name in checked.caught or name in checked.exposing]
    kept = _one_per_wrong_op(kept, tried, tests, dropped, checked.exposing)
    trials = {name for names in tried.values() for name in names}
    for i, name in enumerate(kept):
        if name in trials:
            written = tests[name][1]
            kept[i] = _name(written, taken, profile.grad_writable)
            tests[kept[i]] = tests[name]
            checked.exposing.append(kept[i])
    if not kept:
        return Suggestions("", [], [*dropped, *checked.dropped])
    bodies = []
    for name in kept:
        written = tests[name][1]
        if name in checked.exposing:
            bodies.append(writer.source(written, name, _exposes(written, profile)))
        else:
            bodies.append(_only_caught(tests[name][0], checked.caught[name]))
    caught_ids = [m for name in kept for m in checked.caught.get(name, [])]
    failing = [(name, tests[name][1].blames) for name in kept if name in checked.exposing]
    text = header + "\n\n" + "\n\n".join(bodies)
    return Suggestions(text, caught_ids, [*dropped, *checked.dropped], len(kept), failing)


def _grouped(
    profile: Profile,
    probes: Sequence[equivalence.Probe],
    chosen: Sequence[MutantResult],
    observed: dict[str, tuple[int, Any, Any]],
    no_truth: dict[int, str],
    dropped: list[tuple[str, str]],
) -> dict[tuple[int, str], list[Mutant]]:
    """The survivors by the test that may catch them: the probe that told each apart, where
    it has a truth, and the regime that tells it; those left out, and why, in `dropped`."""
    groups: dict[tuple[int, str], list[Mutant]] = {}
    for r in chosen:
        if r.mutant.id not in observed:
            dropped.append((r.mutant.id, "observing its probe failed"))
            continue
        probe_index = observed[r.mutant.id][0]
        if probe_index in no_truth:
            dropped.append(
                (
                    r.mutant.id,
                    f"no expected value can be established at {probes[probe_index].label} "
                    f"({no_truth[probe_index]}), and minigrad writes no test it cannot vouch for",
                )
            )
            continue
        _, want, got = observed[r.mutant.id]
        if want[0] != "ok":
            dropped.append((r.mutant.id, "the engine raises on the input that tells it apart"))
            continue
        regime = telling_regime(probes[probe_index], want, got, written_tolerance(profile))
        groups.setdefault((probe_index, regime), []).append(r.mutant)
    return groups


def _called(blames: Sequence[str]) -> str:
    """What a test calls that the battery finds wrong: `mul and backward()`."""
    return " and ".join(f"{b}()" if b == "backward" else b for b in blames)


# The test of backward()'s walk over a reused node (_walk_test).
WALK_TEST = "test_backward_runs_a_reused_nodes_step_once"


def _walk_test(profile: Profile, wrong: set[str]) -> _Written | None:
    """Where the battery finds backward() walking a reused node wrongly (a step run once per
    path, or before every user gave its gradient: Profile.backward_reuse), a test of that
    walk: no survivor's input need reuse a node, so no other test written may expose it.
    It asserts the truth, and fails on the engine until backward() is fixed."""
    walk = profile.backward_reuse
    if walk is None or "backward" not in wrong:
        return None
    if walk.order or walk.graph not in ("", PATHS_GRAPH):
        return None  # a test at the written graph passes in the orders a run may get: none
    probe = equivalence.walk_probe(profile)
    if probe is None:
        return None
    try:
        want = probe.truth(profile)
    except NoTruth:
        return None
    return _Written(probe, want, "plain", (), ("backward",))


# How many inputs are tried for the test of one wrong op (_wrong_op_tests): its single-op
# probes come first, at the battery's own points, where the bug was found.
WRONG_OP_INPUTS = 3


# The ops a written test may call besides its probe's: those that weight the output by an
# upstream gradient other than 1 (`out * -1.7`; `(out * Tensor(w)).sum()` for arrays).
_WEIGHTING = frozenset({"mul", "sum"})


def _wrong_op_tests(
    profile: Profile, probes: Sequence[equivalence.Probe], wrong: set[str]
) -> dict[str, list[_Written]]:
    """For each op the battery finds wrong, the tests that may expose its bug, in the order
    to prefer: the op alone at its first inputs where plain math gives the truth, then in a
    graph with ops the battery finds right; each in every regime.  A survivor's test may call
    no wrong op, and an op cut from the graph has no mutant at all: without these, the file
    of missing tests would leave out the one the engine needs first.  None for an op while
    another op that weights the output is wrong, so that a failure is the op's own; none for
    backward(), which has its test of the walk (_walk_test)."""
    found: dict[str, list[_Written]] = {}
    ops = [
        op for op in sorted(wrong & profile.names - {"backward"}) if not (_WEIGHTING - {op}) & wrong
    ]
    calls = [(p, p.ops(profile)) for p in probes if p.kink is None] if ops else []
    for op in ops:
        alone = [p for p, called in calls if called == [op]]
        mixed = [
            p
            for p, called in calls
            if op in called and len(called) > 1 and not (set(called) & wrong) - {op}
        ]
        inputs = 0
        for probe in [*alone, *mixed]:
            try:
                want = probe.truth(profile)
            except NoTruth:
                continue
            parts = probe.parts(want)
            found.setdefault(op, []).extend(
                _Written(probe, want, regime, (), (op,))
                for regime, part in parts.items()
                if part is not None
            )
            inputs += 1
            if inputs == WRONG_OP_INPUTS:
                break
    return found


def _one_per_wrong_op(
    kept: list[str],
    tried: dict[str, list[str]],
    tests: dict[str, tuple[str, _Written]],
    dropped: list[tuple[str, str]],
    exposing: Sequence[str],
) -> list[str]:
    """`kept` with, for each wrong op that no other kept test exposes, the first of the tests
    tried for it that exposes its bug (first in the file: the engine's bug is the first thing
    to fix), and no other; an op none of them exposes is said in `dropped`."""
    trials = {name for names in tried.values() for name in names}
    others = [name for name in kept if name not in trials]
    exposed = {op for name in others if name in exposing for op in tests[name][1].blames}
    first: list[str] = []
    for op, names in tried.items():
        if op in exposed:
            continue
        chosen = next((name for name in names if name in exposing), None)
        if chosen is None:
            dropped.append(
                (
                    op,
                    f"the battery finds {op} wrong, and none of the {len(names)} tests tried at "
                    "its inputs fails on an assertion of the truth on your engine (its failing "
                    "cases above say how it is wrong)",
                )
            )
            continue
        first.append(chosen)
    return [*first, *others]


def _exposes(written: _Written, profile: Profile) -> str:
    """The docstring's word on a test that fails on the engine today, by design."""
    ops = {op.name: op for op in profile.ops}

    def located(name: str) -> str:
        if name == "backward":
            return profile.backward_where()[0]
        return f"{name} ({profile.where(ops[name].file, ops[name].line)})" if name in ops else name

    where = ", ".join(located(name) for name in written.blames)
    said = _called(written.blames)
    them = "them" if len(written.blames) > 1 else "it"
    return (
        f"It FAILS on your engine today, by design: the battery finds {where} wrong, and this "
        f"test exposes that bug; fix {said}, then it guards {them}."
    )


class _Writer:
    """Writes a test's source in the engine's spelling."""

    def __init__(self, spec: EngineSpec, profile: Profile, rtol: float) -> None:
        self.spec = spec
        self.style = equivalence.TestStyle(
            profile.class_name,
            profile.leaf_call,
            profile.data_attr,
            profile.grad_is_node,
            rtol,
            "out * -1.7" if "mul" in profile.names else "out + out",
            profile.grad_writable,
            "out * 0.0" if "mul" in profile.names else "",
            equivalence.parameters_of(profile),
            backward=profile.backward_name,
            none_grad=profile.grad_starts_none,
            grad=profile.grad_name,
            coerced=frozenset(op.symbol for op in profile.ops if op.method in profile.coerced),
        )

    def source(self, written: _Written, name: str, exposes: str = "") -> str:
        return _test_source(
            written,
            name,
            self.style,
            spec=self.spec,
            exposes=exposes,
        )


def written_tolerance(profile: Profile) -> float:
    """A written test compares more loosely than the probes do (1024 ulps, at least 1e-6), so
    that it still passes where libm rounds the last bits differently."""
    return max(1e-6, 1024.0 * profile.precision.macheps)


def _header(spec: EngineSpec, profile: Profile, config: CampaignConfig) -> str:
    rel = written_tolerance(profile)
    return "\n".join(
        [
            _HEADER.rstrip("\n").format(  # nothing is pre-seeded where the engine owns .grad
                seeded="pre-seeded, scaled " if profile.grad_writable else "scaled ",
                relation="seed + scale * gradient" if profile.grad_writable else "scale * gradient",
            ),
            "",
            _HELPERS[profile.kind][0],
            "",
            import_line(spec, profile.class_name, config.tests),
            *(
                [import_line(spec, profile.leaf_factory, config.tests)]
                if profile.leaf_factory and "." not in profile.leaf_factory
                else []
            ),
            *sorted(
                {f"import {op.function.partition(':')[0]}" for op in profile.ops if op.function}
            ),
            *sorted(
                {
                    f"from {module} import {member.partition('.')[0]}"
                    for _, member, module in profile.leaf_enums
                }
            ),
            close_helper(profile.kind, rel, none=profile.grad_starts_none, grad=profile.grad_name),
        ]
    )


def close_helper(kind: EngineKind, rel: float, *, none: bool, grad: str = "grad") -> str:
    """The `close` a written test compares with: within `rel`; with `none`, a gradient of None
    (in `.grad`, or the engine's own name for it) reads as 0 (where the engine keeps None for
    "no gradient": Profile.grad_starts_none)."""
    return _HELPERS[kind][1].format(
        rel=rel,
        abs_=rel * 1e-3,
        none_doc=_NONE_DOC.format(grad=grad) if none else "",
        none=_NONE_LINE if none else "",
    )


def _only_caught(source: str, caught: Sequence[str]) -> str:
    """The test, listing only the mutants it was shown to catch."""
    kept: list[str] = []
    keep = True
    for line in source.splitlines():
        if line.startswith("    #   ") and not line.startswith("    #     "):
            keep = line.split()[1] in caught  # a mutant's line, then its replacement's lines
        elif not line.startswith("    #     "):
            keep = True
        if keep:
            kept.append(line)
    return "\n".join(kept) + "\n"
