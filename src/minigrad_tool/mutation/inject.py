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

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from minigrad_tool.adapter import EngineSpec, Profile, engine_host
from minigrad_tool.adapter.source import SourceIndex
from minigrad_tool.battery import build_battery
from minigrad_tool.isolation import Limits
from minigrad_tool.mutation.campaign import SETUP_DEADLINE, run_campaign
from minigrad_tool.mutation.judging import CampaignConfig, Setup, prepare_patcher
from minigrad_tool.mutation.mutants import Generated, Mutant
from minigrad_tool.mutation.probing import Probing
from minigrad_tool.mutation.results import Campaign, MutantResult, Status

__all__ = ["Catch", "Injection", "equivalent_ids", "inject"]


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
    index = generated.index or SourceIndex.parse(spec.source)
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
