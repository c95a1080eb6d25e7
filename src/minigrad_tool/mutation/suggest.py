"""Tests written for survivors: one pytest test per mutant your tests let through.

Each test is the smallest input the probes found that tells its mutant from
the engine (probes go from single ops to random graphs, so the first one
that differs is the smallest).  It builds that graph, runs `backward()` and
asserts the forward value and the gradients the *unmutated* engine gives;
where a plain backward does not tell them apart, it also asserts the
pre-seeded and scaled variants.  It imports the engine the way your tests
do, and carries the mutant's name and one-line diff in a comment.

Nothing is written before it is checked: every test must pass on the
engine and fail on its mutant, run by pytest in children; a test that does
not is left out and reported.
"""

from __future__ import annotations

import ast
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minigrad_tool.adapter import EngineSpec, Loaded, Profile, engine_host
from minigrad_tool.adapter.source import SourceIndex
from minigrad_tool.isolation import Limits, Reporter, Request
from minigrad_tool.mutation import equivalence
from minigrad_tool.mutation.judges.tests import TestsHost, run_stats
from minigrad_tool.mutation.judging import CampaignConfig
from minigrad_tool.mutation.mutants import Mutant
from minigrad_tool.mutation.patch import patcher_for
from minigrad_tool.mutation.results import Campaign, MutantResult, Status
from minigrad_tool.reads import python_files

__all__ = ["Suggestions", "suggest_tests"]


@dataclass
class Suggestions:
    text: str  # the file to write ("" if no test passed the checks)
    written: list[str] = field(default_factory=list)  # mutant IDs with a test
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (mutant, why no test)


def _let_through(result: MutantResult) -> bool:
    """The user's tests let it through: a test is missing."""
    verdict = result.verdict("tests")
    return verdict is not None and verdict.status.let_through


def import_line(spec: EngineSpec, class_name: str, tests: Sequence[str]) -> str:
    """How the user's tests import the engine's class; the module path otherwise."""
    stem = spec.module.rpartition(".")[2]
    for path in python_files(tests):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.level == 0
                and (node.module == spec.module or node.module.rpartition(".")[2] == stem)
                and any(alias.name == class_name for alias in node.names)
            ):
                return f"from {node.module} import {class_name}"
    return f"from {spec.module} import {class_name}"


def _observations(
    spec: EngineSpec,
    profile: Profile,
    index: SourceIndex,
    wanted: Sequence[tuple[Mutant, int]],
    limits: Limits,
) -> dict[str, tuple[Any, Any]]:
    """For each (mutant, probe index): the probe's observation on the original and the mutant."""
    probes = equivalence.all_probes(profile)
    mutants = {m.id: m for m, _ in wanted}

    def task(engine: Loaded, args: dict[str, Any], reporter: Reporter) -> list[Any]:
        probe = probes[args["probe"]]
        want = equivalence.observe(engine.access, probe)
        patcher = patcher_for(spec, index)
        patcher.apply(mutants[args["mutant"]])
        return [want, equivalence.observe(engine.access, probe)]

    requests = [Request(m.id, "observe", {"mutant": m.id, "probe": i}) for m, i in wanted]
    with engine_host(spec, profile, {"observe": task}, limits) as host:
        outcomes = host.run(requests)
    return {key: (o.value[0], o.value[1]) for key, o in outcomes.items() if o.ok}


_HELPER = '''

def close(actual, expected):
    """Equal within a relative {rel:g}; a zero must have the expected sign too."""
    actual = float(actual)
    if expected == 0.0:
        same_sign = math.copysign(1.0, actual) == math.copysign(1.0, expected)
        return actual == 0.0 and same_sign
    return math.isclose(actual, expected, rel_tol={rel!r}, abs_tol={abs_!r})
'''


def _assertions(names: Sequence[str], observed: Sequence[Any], what: str) -> list[str]:
    _, value, plain, seeded = observed
    lines = []
    if what == "plain":
        lines.append(f"    assert close(out.data, {value!r})")
        grads = plain
    else:
        grads = seeded
    lines += [f"    assert close({n}.grad, {g!r})" for n, g in zip(names, grads, strict=True)]
    return lines


def _test_source(
    mutant: Mutant,
    probe: equivalence.Probe,
    want: Any,
    got: Any,
    class_name: str,
    *,
    scale: str,
    path: str,
    rtol: float,
) -> str:
    names = ("x", "y", "z")[: len(probe.point)]
    body = [f"    {line}" for line in equivalence.probe_source(probe, class_name)]
    body.append("    out.backward()")
    body += _assertions(names, want, "plain")
    plain_differs = got[0] != "ok" or not equivalence.compare(
        ("ok", want[1], want[2], []), ("ok", got[1], got[2], []), rtol
    )
    if not plain_differs:
        body.append("    # pre-seeded gradients must be added to; the upstream gradient is not 1")
        body += [
            f"    {line}" for line in equivalence.probe_source(probe, class_name)[: len(names)]
        ]
        body += [f"    {n}.grad = {equivalence.SEED!r}" for n in names]
        body += [f"    {line}" for line in probe.lines]
        body.append(f"    out = {scale}")
        body.append("    out.backward()")
        body += _assertions(names, want, "seeded")
    diff = f"{mutant.original.strip()}  ->  {mutant.replacement.strip()}"
    head = [
        f"def test_{mutant.id.replace('-', '_')}():",
        f'    """{probe.label[:90]}: catches mutant {mutant.id}."""',
        f"    # mutant {mutant.id} ({mutant.function}, {path}:{mutant.start[0]}): "
        f"{mutant.description}",
        f"    #   {diff}",
    ]
    return "\n".join([*head, *body]) + "\n"


def _verify(
    spec: EngineSpec,
    sources: dict[str, str],
    header: str,
    mutants: dict[str, Mutant],
    limits: Limits,
    jobs: int,
) -> tuple[list[str], list[tuple[str, str]]]:
    """Which suggested tests pass on the engine and fail on their mutant, run by pytest."""
    kept: list[str] = []
    dropped: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="minigrad-suggest-") as tmp:
        path = Path(tmp) / "test_minigrad_suggested.py"
        path.write_text(header + "\n\n" + "\n\n".join(sources.values()), encoding="utf-8")
        with TestsHost(
            spec, [str(path)], limits, jobs=jobs, mutants=list(mutants.values())
        ) as host:
            stats = run_stats(host)
            ids = {
                m: next((t for t in stats if t.endswith(f"::test_{m.replace('-', '_')}")), "")
                for m in sources
            }
            passing = {m for m, t in ids.items() if t and stats[t][0] == "passed"}
            outcomes = host.run(
                [Request(m, "judge", {"mutant": m, "items": [ids[m]]}) for m in sorted(passing)]
            )
    for mutant in sources:
        if mutant not in passing:
            text = stats.get(ids[mutant], ("", "not collected", {}))[1]
            lines = [line for line in text.splitlines() if line.strip()] or ["?"]
            dropped.append((mutant, f"its test fails on the unmutated engine: {lines[-1].strip()}"))
            continue
        outcome = outcomes.get(mutant)
        if outcome is not None and outcome.ok and outcome.value["killed_by"]:
            kept.append(mutant)
        else:
            dropped.append((mutant, "its test passes on the mutant too"))
    return kept, dropped


def suggest_tests(
    spec: EngineSpec,
    profile: Profile,
    campaign: Campaign,
    config: CampaignConfig,
    limits: Limits,
    index: SourceIndex | None = None,
) -> Suggestions:
    """A checked pytest file with a test for each mutant the user's tests let through.

    `index`: the engine's source as the mutants were made from it (parsed again if not given).
    """
    through = [r for r in campaign.results if _let_through(r) and r.status is not Status.EQUIVALENT]
    dropped = [
        (r.mutant.id, "no probe tells it from the engine") for r in through if r.probe_index is None
    ]
    chosen = [r for r in through if r.probe_index is not None]
    if not chosen:
        return Suggestions("", [], dropped)
    probes = equivalence.all_probes(profile)
    index = index or SourceIndex.parse(spec.source)
    wanted = [(r.mutant, r.probe_index or 0) for r in chosen]
    observed = _observations(spec, profile, index, wanted, limits)
    scale = "out * -1.7" if "mul" in profile.names else "out + out"
    name = Path(spec.path).name
    sources = {}
    for r in chosen:
        if r.mutant.id not in observed:
            dropped.append((r.mutant.id, "observing its probe failed"))
            continue
        want, got = observed[r.mutant.id]
        if want[0] != "ok":
            dropped.append((r.mutant.id, "the engine raises on the input that tells it apart"))
            continue
        probe = probes[r.probe_index or 0]
        sources[r.mutant.id] = _test_source(
            r.mutant,
            probe,
            want,
            got,
            profile.class_name,
            scale=scale,
            path=name,
            rtol=equivalence.tolerance_for(profile),
        )
    # A written test compares more loosely than the probes do (1024 ulps, at least 1e-6), so
    # that it still passes where libm rounds the last bits differently.
    rel = max(1e-6, 1024.0 * profile.precision.macheps)
    header = "\n".join(
        [
            '"""Tests written by `minigrad mutate --suggest` for mutants your tests let through.',
            "",
            "Each builds the smallest input minigrad found that tells its mutant from the engine,",
            "runs backward(), and checks the values and gradients of the unmutated engine.",
            "Each was run before it was written: it passes on the engine and fails on its mutant.",
            '"""',
            "",
            "import math",
            "",
            import_line(spec, profile.class_name, config.tests),
            _HELPER.format(rel=rel, abs_=rel * 1e-3),
        ]
    )
    mutants = {r.mutant.id: r.mutant for r in chosen}
    kept, failed = _verify(spec, sources, header, mutants, limits, config.jobs)
    text = header + "\n\n" + "\n\n".join(sources[m] for m in kept) if kept else ""
    return Suggestions(text, kept, [*dropped, *failed])
