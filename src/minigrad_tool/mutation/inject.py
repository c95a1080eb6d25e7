"""Break and confirm: inject one named mutant and see whether your tests catch it.

The lab's step, automated and made honest.  It is a mutation campaign of one
mutant, run through the same judges as `minigrad mutate --tests`, so the two
commands cannot disagree:

1. your tests must pass on the unmutated engine (else HarnessError: a catch
   would mean nothing), and there must be tests: the battery never stands in
   for them;
2. your tests run against the mutant, swapped in memory in a child: every
   test that runs its code, so the result lists each test that catches it;
3. the battery runs alongside, and says which of its cases catch it; the
   probes say whether anything could (an equivalent mutant).

Nothing is written to the source tree.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from minigrad_tool.adapter import EngineSpec, Profile, engine_host
from minigrad_tool.adapter.profile import COMPILED, Op
from minigrad_tool.adapter.source import SourceIndex
from minigrad_tool.battery import build_battery
from minigrad_tool.invocation import command
from minigrad_tool.isolation import Limits
from minigrad_tool.mutation import equivalence
from minigrad_tool.mutation.campaign import run_campaign
from minigrad_tool.mutation.judging import SETUP_DEADLINE, CampaignConfig, Setup, prepare_patcher
from minigrad_tool.mutation.mutants import Generated, Mutant, parse_key
from minigrad_tool.mutation.probing import Probing
from minigrad_tool.mutation.results import Campaign, MutantResult, Status
from minigrad_tool.mutation.suggest import observe_mutants

__all__ = ["Catch", "Composite", "Injection", "composite_bug", "equivalent_ids", "inject"]


class Catch(Enum):
    """What happened to the injected bug, by your tests."""

    CAUGHT = "caught"
    ESCAPED = "escaped"
    EQUIVALENT = "equivalent"


@dataclass(frozen=True)
class Injection:
    """The injected mutant, your tests' verdict on it, and the battery's alongside."""

    mutant: Mutant
    catch: Catch
    result: MutantResult
    campaign: Campaign

    def killers(self, judge: str) -> tuple[str, ...]:
        verdict = self.result.verdict(judge)
        return verdict.killed_by if verdict else ()

    def reason(self, judge: str) -> str:
        verdict = self.result.verdict(judge)
        return verdict.reason if verdict else ""


def inject(
    spec: EngineSpec,
    profile: Profile,
    mutant: Mutant,
    tests: Sequence[str],
    config: CampaignConfig,
) -> Injection:
    """Run `tests` (and the battery alongside) against `mutant`; HarnessError if no verdict."""
    if not tests:
        raise ValueError("inject needs the tests that must catch the bug")
    config = CampaignConfig(
        jobs=config.jobs,
        timeout=config.timeout,
        memory_mib=config.memory_mib,
        settings=config.settings,
        matrix=True,  # every test that runs the bug's code: the output names each catcher
        tests=tuple(tests),
        judges=("tests", "battery"),
    )
    campaign = run_campaign(spec, profile, config, generated=Generated([mutant]))
    result = campaign.results[0]
    if result.status.detected:
        catch = Catch.CAUGHT
    elif result.status is Status.EQUIVALENT:
        catch = Catch.EQUIVALENT
    else:
        catch = Catch.ESCAPED
    return Injection(mutant, catch, result, campaign)


def equivalent_ids(
    spec: EngineSpec, profile: Profile, generated: Generated, config: CampaignConfig
) -> set[str]:
    """The mutants the probes show equivalent (their code ran, nothing told them apart):
    probes alone, no campaign."""
    index = spec.index
    limits = Limits(SETUP_DEADLINE, config.memory_mib)
    mutants = {m.id: m for m in generated.mutants}
    setup = Setup(spec, profile, index, build_battery(profile), mutants, config, limits)
    probing = Probing(setup)
    host = engine_host(
        spec,
        profile,
        probing.engine_tasks(),
        limits,
        jobs=config.jobs,
        prepare=prepare_patcher(setup),
    )
    with host:
        return probing.equivalent(host, list(mutants))


@dataclass(frozen=True)
class Composite:
    """A bug asked for in an op that has no backward step of its own (micrograd's `sub` is
    `self + (-other)`): where its gradient lives, and the mutants that break it there."""

    bug: str
    text: str  # the explanation, with the mutants to inject instead
    instead: tuple[str, ...]  # mutants of the ops it is built from that change its gradient


def _returned(index: SourceIndex, op: Op) -> ast.expr | None:
    """The expression the op's method returns (its last `return`)."""
    function = index.function(op.qualname, op.line)
    if function is None or isinstance(function.node, ast.Lambda):
        return None
    returns = [n for n in ast.walk(function.node) if isinstance(n, ast.Return) and n.value]
    return returns[-1].value if returns else None


def _built(spec: EngineSpec, op: Op) -> str:
    """`sub is `self + (-other)` (engine.py:48)`, or the op's place alone."""
    expression = _returned(spec.index_of(op.file), op)
    source, file = spec.source_of(op.file), spec.name_of(op.file)
    text = ast.get_source_segment(source, expression) if expression is not None else None
    return f"`{text}` ({file}:{op.line})" if text else f"defined at {file}:{op.line}"


def composite_bug(
    spec: EngineSpec,
    profile: Profile,
    generated: Generated,
    bug: str,
    limits: Limits,
) -> Composite | None:
    """When `bug` names an op with no step of its own (`sub-sign` on a micrograd-style
    engine): where that op's gradient comes from, and which mutants of the steps it is
    built from change it, shown on the op's own input.  None if the op has a step, or is
    not the engine's."""
    try:
        op_name, operator, _ = parse_key(bug)
    except ValueError:
        return None
    ops = {op.name: op for op in profile.ops}
    op = ops.get(op_name)
    if op is not None and op.compiled:
        return Composite(bug, f"{op.name} is {COMPILED}: there is no {bug} to inject", ())
    if op is None or not op.composite:
        return None
    parts = [
        f"{op.name} has no backward step of its own: {op.describe_call()} is "
        f"{_built(spec, op)}, built from {', '.join(op.uses) or 'other ops'}"
    ]
    expression = _returned(spec.index_of(op.file), op)
    negates = expression is not None and any(
        isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub) for n in ast.walk(expression)
    )
    neg = ops.get("neg")
    if negates and neg is not None and neg is not op:
        parts.append(
            f"its sign lives in neg, which is {_built(spec, neg)}"
            + (f", built from {', '.join(neg.uses)}" if neg.composite and neg.uses else "")
        )
    used = [m for m in generated.mutants if m.op in op.uses]
    candidates = [m for m in used if m.operator == operator] or used
    point = op.points[0] if op.points else (1.5, -2.0)[: op.arity]
    probe = equivalence.op_probe(op, point)
    wanted = [(m, [0]) for m in candidates]
    observed = observe_mutants(spec, profile, spec.index, [probe], wanted, limits)
    instead: list[str] = []
    shown: list[str] = []
    flips: list[str] = []  # those that flip the sign of the last input's gradient alone
    for m in candidates:
        if m.id not in observed:
            continue
        _, want, got = observed[m.id]
        if want[0] == got[0] == "ok" and not equivalence.compare(
            ("ok", want[1], want[2], [], 1.0), ("ok", got[1], got[2], [], 1.0), 1e-9
        ):
            instead.append(m.id)
            flipped = [*want[2][:-1], -want[2][-1]]
            if equivalence.compare(
                ("ok", want[1], flipped, [], 1.0), ("ok", got[1], got[2], [], 1.0), 1e-9
            ):
                flips.append(m.id)
            shown.append(
                f"  {m.id} ({m.function}, {spec.name_of(m.file)}:{m.start[0]}: {m.one_line()}): "
                f"{probe.label} gives gradients {_numbers(got[2])} instead of "
                f"{_numbers(want[2])}"
            )
    text = "; ".join(parts) + "."
    if instead:
        text += (
            f"\nThere is no {bug} to inject: its gradient is computed by those steps, and "
            f"these bugs in them break it (and every other op that uses them):\n"
            + "\n".join(shown)
            + (
                f"\n{', '.join(flips)} flip{'s' if len(flips) == 1 else ''} the sign of "
                f"{'y' if op.arity == 2 else 'x'}'s gradient alone, as {bug} would: "
                f"run `{command('inject ' + flips[0])}` instead."
                if flips
                else f"\nInject one of them instead, e.g. `{command('inject ' + instead[0])}`."
            )
        )
    else:
        text += f"\nThere is no {bug} to inject, and no {operator} bug in {', '.join(op.uses)}"
        text += " changes its gradient."
    return Composite(bug, text, tuple(instead))


def _numbers(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"
