"""What a rerun takes from the result cache (mutation.cache), decided in the campaign.

Each mutant's key names what its verdicts depended on in this run: per judge,
the items it ran on the mutant up to the killer and the ops whose code they
reached on the unmutated engine; for a mutant a probe told apart, the probes
that reach it up to that one and the code they ran (:class:`Keys`).  A mutant
whose key is the last run's keeps its result; one whose judges' keys are the
last run's keeps their verdicts and is probed again (:class:`Reuse`).  What the
probes reach is known only once they have run on this run's unmutated engine:
the mutants whose keys need it are decided then, while the others are judged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

from minigrad_tool.isolation import Outcome as ChildOutcome
from minigrad_tool.mutation.cache import MutantKeys, Part
from minigrad_tool.mutation.judging import Harness, Judge
from minigrad_tool.mutation.mutants import Mutant
from minigrad_tool.mutation.probing import Original, Probing
from minigrad_tool.mutation.results import MutantResult

__all__ = ["Keys", "ProbeReach", "Reuse", "in_order"]


class Keys:
    """Each mutant's key (mutation.cache) in this run: what its verdicts depended on."""

    def __init__(
        self,
        keys: MutantKeys,
        judges: Sequence[Judge],
        harnesses: Mapping[str, Harness],
        every: Sequence[Mutant],
        matrix: bool,
    ) -> None:
        self.keys = keys
        self.judges = {j.name: j for j in judges}
        self.harnesses = harnesses
        self.op_of = {m.id: m.op for m in every}
        self.mutants = {m.id: m for m in every}
        self.matrix = matrix
        self.probes: ProbeReach | None = None  # known once the probes ran on the original

    def probed_by(self, probing: Probing, original: Original, broken: Sequence[str]) -> None:
        """What this run's probes reach on the unmutated engine, for the keys of the mutants
        they told apart; `broken`: the battery's cases the unmutated engine fails."""
        reached = original[2]
        self.probes = None if reached is None else ProbeReach(probing, reached, broken, self.op_of)

    def _probe_part(self, mutant: Mutant, result: MutantResult) -> Part | None:
        """The probes that reach the mutant up to the one that told it apart, and the code
        they ran (None: none told it apart, or which probes reach it is not known)."""
        if result.probe_index is None or self.probes is None:
            return None
        return self.probes.part(mutant, result.probe_index)

    def probe_key(self, mutant: Mutant, result: MutantResult) -> str | None:
        """What the probe run that told the mutant apart depended on, alone."""
        part = self._probe_part(mutant, result)
        return None if part is None else self.keys.key(mutant, [part])

    def kept_probe(self, mutant_id: str) -> ChildOutcome | None:
        """The last run's probe run of the mutant, as a probe child's outcome, if it holds."""
        mutant = self.mutants[mutant_id]
        kept = self.keys.kept_probe(mutant, functools.partial(self.probe_key, mutant))
        if kept is None:
            return None
        value = {"probe_index": kept.probe_index, "text": kept.distinguishing, "hits": 1}
        return ChildOutcome("ok", value)

    @classmethod
    def of(
        cls,
        keys: MutantKeys | None,
        judges: Sequence[Judge],
        harnesses: Mapping[str, Harness],
        every: Sequence[Mutant],
        matrix: bool,
    ) -> Keys | None:
        return None if keys is None else cls(keys, judges, harnesses, every, matrix)

    def _ops(self, item: str, harness: Harness) -> set[str]:
        """The ops whose code an item ran on the unmutated engine: those of the mutants whose
        sites it ran (an op's forward mutant among them when its forward ran)."""
        reached = harness.covers.get(item, frozenset()) | harness.reached.get(item, frozenset())
        return {self.op_of[i] for i in reached if i in self.op_of}

    def __call__(self, mutant: Mutant, result: MutantResult) -> str | None:
        """The items each judge ran on the mutant (in its order, up to the killer, which a
        change can move) and the ops they reach; None when a judge cannot judge now."""
        parts: list[Part] = []
        for name, verdict in result.judges:
            judge, harness = self.judges.get(name), self.harnesses.get(name)
            if judge is None or harness is None or not (harness.covers or harness.reached):
                return None  # this judge cannot judge now, or did not say what its items ran
            items = judge.order(mutant, harness)
            killer = verdict.killed_by[0] if verdict.killed_by and not self.matrix else None
            if killer is not None:
                if killer not in items:
                    return None
                items = items[: items.index(killer) + 1]
            ops = set().union(*(self._ops(item, harness) for item in items))
            parts.append((name, items, ops))
        if result.probe_index is not None:  # a probe told it apart: what that depended on
            probes = self._probe_part(mutant, result)
            if probes is None:
                return None
            parts.append(probes)
        return self.keys.key(mutant, parts)


class ProbeReach:
    """Which probes reach which mutant's code on this run's unmutated engine.

    A mutant some judge let through is probed by the probes that reach its code, in order,
    up to the first that tells it apart (mutation.probing).  That one is found again as long
    as the same probes reach it up to there, and each of them runs the same code: the code
    of the ops whose sites it ran (as an item's ops, `Keys._ops`), and whether the original
    fails its battery case (a difference there is passed over).  A change to an op no such
    probe runs leaves the verdict as it was."""

    def __init__(
        self,
        probing: Probing,
        reached: Mapping[str, Sequence[int]],
        broken: Sequence[str],
        op_of: Mapping[str, str],
    ) -> None:
        self.reached = reached
        self.ops: dict[int, set[str]] = {}
        for mutant, probes in reached.items():
            for i in probes:
                self.ops.setdefault(i, set()).add(op_of.get(mutant, "?"))
        self.broken = {i for i, p in enumerate(probing.probes) if p.case_name in broken}

    def part(self, mutant: Mutant, index: int) -> Part | None:
        """None: which probes reach the mutant is not known (it has no site marker)."""
        if mutant.id not in self.reached:
            return None
        upto = [i for i in self.reached[mutant.id] if i <= index]
        items = [f"probe {i}{' (broken)' if i in self.broken else ''}" for i in upto]
        return ("probes", items, set().union(*(self.ops.get(i, set()) for i in upto)))


class Reuse:
    """Which of the last run's verdicts hold (mutation.cache), and which mutants are judged
    again.  Decided at once for most; for those a probe told apart last time, only once the
    probes' run on the unmutated engine says which probes reach them now (`settle`), which
    the judges' children need not wait for: after a one-op change judged by the battery
    alone, that run was most of what the judging waited for."""

    def __init__(
        self,
        keyed: Keys | None,
        mutants: Sequence[Mutant],
        probing: Probing | None,
        settle: Callable[[], object] | None,
    ) -> None:
        self.keyed, self.mutants, self.probing = keyed, mutants, probing
        self.wait = settle  # waits for the probes' run on the unmutated engine
        self.whole: dict[str, MutantResult] = {}  # held whole
        self.reprobed: dict[str, MutantResult] = {}  # the judges' verdicts hold; probed again
        told = keyed.keys.told_apart if keyed is not None and probing is not None else set()
        self.later = [m for m in mutants if m.id in told]
        self._decide([m for m in mutants if m.id not in told])

    def _decide(self, mutants: Sequence[Mutant]) -> None:
        if self.keyed is None:
            return
        for mutant in mutants:
            kept = self.keyed.keys.reuse(mutant, functools.partial(self.keyed, mutant))
            if kept is not None:
                (self.whole if kept[1] else self.reprobed)[mutant.id] = kept[0]

    def judged(self) -> list[Mutant]:
        """The mutants judged by this run's judges, or whose verdicts are kept but probed
        again, in generation order: so far, until `settle`."""
        later = {m.id for m in self.later}
        return [m for m in self.mutants if m.id not in self.whole and m.id not in later]

    def settle(self) -> tuple[list[Mutant], dict[str, MutantResult]]:
        """Once the probes' run on the unmutated engine is in: the mutants left to decide that
        are judged, and those whose judges' verdicts hold."""
        if self.wait is not None:
            self.wait()  # which probes reach which mutant now, for their keys
        later, self.later = self.later, []
        before = set(self.reprobed)
        self._decide(later)
        more = [m for m in later if m.id not in self.whole]
        return more, {m: r for m, r in self.reprobed.items() if m not in before}


def in_order(
    mutants: Sequence[Mutant],
    judged: Sequence[MutantResult],
    reused: Mapping[str, MutantResult],
    keyed: Keys | None,
) -> list[MutantResult]:
    """Every mutant's result in generation order; with `keyed`, each judged one is kept for
    the next run (a reused one was kept again as it was reused)."""
    if keyed is not None:
        for result in judged:
            probe = keyed.probe_key(result.mutant, result)
            keyed.keys.keep(result, keyed(result.mutant, result), probe)
    by_id = {r.mutant.id: r for r in judged} | dict(reused)
    return [by_id[m.id] for m in mutants]
