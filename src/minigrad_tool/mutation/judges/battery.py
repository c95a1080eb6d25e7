"""minigrad's battery as a judge: its cases run in the campaign's engine host.

Each case's run on the unmutated engine records, with site markers, which
mutants' code it ran; a mutant is judged by those cases only (any other runs
it exactly as the original, so cannot tell them apart), those that call the
mutant's op first.  Without markers every case is a candidate, and the hit
marker shows, case by case, whether the mutated code ran.  A case the
unmutated engine fails is left out, as a finding; kink cases pin the engine's
own convention (its slope at relu(0), say), so that a mutant that changes it
is caught.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from minigrad_tool.adapter import Loaded
from minigrad_tool.adapter.order import set_order
from minigrad_tool.battery import run_case, run_case_in_orders
from minigrad_tool.battery.cases import BatteryCase, ordered, pinned_values
from minigrad_tool.battery.chunks import (
    chunks_for,
    costliest_first,
    each_until_failure,
    run_in_chunks,
)
from minigrad_tool.findings import Finding, blame_backward, raised_outside
from minigrad_tool.isolation import Host, Reporter
from minigrad_tool.isolation import Outcome as ChildOutcome
from minigrad_tool.mutation.judgement import Judging
from minigrad_tool.mutation.judging import (
    Ahead,
    Harness,
    HarnessError,
    Progress,
    Setup,
    Task,
    raise_internal,
    run_mutant,
)
from minigrad_tool.mutation.mutants import Mutant
from minigrad_tool.mutation.results import Verdict

__all__ = ["BatteryJudge"]


def _run_in_chunks(
    engine: Host, cases: Sequence[str], jobs: int, compiled: bool = False
) -> dict[str, tuple[Any, float] | ChildOutcome]:
    """Each case's run on the unmutated engine, a chunk of cases per child (battery.chunks; a
    case each where the engine runs compiled code): its answer and the seconds it took, or
    the outcome of its child, run again alone, where it hung or died; InternalError where
    minigrad's own code raised."""
    runs: dict[str, tuple[Any, float] | ChildOutcome] = {}
    chunks = chunks_for(compiled, jobs, len(cases))
    outcomes = run_in_chunks(engine, "battery-harness", cases, chunks)
    for name, outcome in outcomes.items():
        raise_internal(outcome, f"the harness run of case {name}")
        if not outcome.ok:
            runs[name] = outcome
            continue
        answer = dict(outcome.value)
        runs[name] = (answer, answer.pop("seconds"))
    return runs


class BatteryJudge:
    """Judges by the battery's cases; the campaign's engine host runs them."""

    name = "battery"
    item = "case"

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.orders = setup.orders_for(self.name)
        groups = setup.config.groups
        cases = [c for c in setup.battery.cases if groups is None or c.group in groups]
        self.cases = sorted(cases, key=lambda c: c.cost)  # stable: ties keep the battery's order
        self.marked: frozenset[str] = frozenset()  # the mutants whose sites the harness saw
        # the cases the harness runs in every graph order (run_case_in_orders): one that is
        # judged passed in all of them on the unmutated engine
        self.explored = frozenset(c.name for c in cases if ordered(c))

    def engine_tasks(self) -> dict[str, Task]:
        return {"battery-harness": self._harness_task, "battery-judge": self._judge_task}

    def start(self) -> None:
        return None

    def close(self) -> None:
        return None

    # --- in the engine host's children ------------------------------------------------------

    def _harness_task(self, engine: Loaded, args: dict[str, Any], reporter: Reporter) -> Any:
        """Each case of a chunk on the unmutated engine, in turn, until one does not pass
        (battery.chunks): case -> its answer, with the seconds it took."""
        set_order(0)  # each case passes in every order, or fails (run_case_in_orders)

        def one(name: str) -> dict[str, Any]:
            start = time.monotonic()
            answer = self._harness_case(self.setup.battery.case(name), engine)
            return {**answer, "seconds": time.monotonic() - start}

        return each_until_failure(args["cases"], one, reporter, " on the unmutated engine")

    def _harness_case(self, case: BatteryCase, engine: Loaded) -> dict[str, Any]:
        patcher = self.setup.patcher
        # the markers are there for the result cache's keys or for the probes (prepare_patcher)
        record = patcher.record_sites() if patcher is not None and patcher.marked else None
        settings = self.setup.config.settings
        try:  # the child ends after its chunk: its graphs are freed whole (run_case's `last`)
            # in every graph order a user's run may walk: a failure in one is the engine's
            result = run_case_in_orders(case, engine.access, settings, self.orders, last=True)
        finally:
            reached = sorted(record()) if record is not None else None  # None: not recorded
            marked = sorted(patcher.marked) if record is not None and patcher else None
            if patcher is not None:
                patcher.restore()
        kink = case.kind == "kink" and result.status == "pass"  # a skipped one judges nothing
        pinned = pinned_values(case, engine.access) if kink else None
        finding = result.finding.to_json() if result.finding is not None else None
        return {
            "status": result.status,
            "detail": result.detail,
            "pinned": pinned,
            "finding": finding,
            "reached": reached,
            "marked": marked,
        }

    def _judge_task(self, engine: Loaded, args: dict[str, Any], reporter: Reporter) -> Any:
        settings = replace(self.setup.config.settings, pinned=args.get("pinned", {}))

        def failure(name: str, reason: bool) -> str | None:  # the detail is made anyway
            result = run_case(self.setup.battery.case(name), engine.access, settings)
            # Every case judged passed on the unmutated engine: one the mutant makes
            # unsupported (its forward now refuses the shapes) has caught it too.
            caught = result.failed or result.status == "skip"
            return f"{name}: {result.detail.splitlines()[0]}" if caught else None

        assert self.setup.patcher is not None, "the engine host prepares the patcher"
        mutant = self.setup.mutants[args["mutant"]]
        return run_mutant(
            self.setup.patcher,
            mutant,
            args["items"],
            failure,
            reporter,
            item=self.item,
            matrix=self.setup.config.matrix,
            orders=self.orders,
            budgets=args.get("budgets"),
            passes_in_every_order=self.explored,  # the harness ran them in every order
        )

    # --- in the campaign's process ----------------------------------------------------------

    def _ops(self, reached: Sequence[str]) -> list[str]:
        return [self.setup.mutants[i].op for i in reached if i in self.setup.mutants]

    def _runs(self, engine: Host) -> tuple[dict[str, tuple[Any, float] | ChildOutcome], int]:
        """Each case's run on the unmutated engine: its answer and seconds, or the outcome
        of a child it killed; and how many were the last run's.  With the result cache, a
        case none of whose reached code changed is the last run's (the same code runs the
        same way), and every new run is kept."""
        keys = self.setup.run_keys
        kept = {c.name: k for c in self.cases if keys and (k := keys.kept_case(c.name))}
        runs: dict[str, tuple[Any, float] | ChildOutcome] = dict(kept)
        todo = costliest_first(c for c in self.cases if c.name not in kept)
        compiled = self.setup.profile.runs_compiled_code
        for name, run in _run_in_chunks(engine, todo, self.setup.config.jobs, compiled).items():
            runs[name] = run
            if not isinstance(run, tuple) or keys is None:
                continue
            answer, seconds = run
            if answer["reached"] is not None:
                keys.keep_case(name, self._ops(answer["reached"]), answer, seconds)
        return runs, len(kept)

    def harness(self, engine: Host) -> Harness:
        runs, kept = self._runs(engine)
        findings: list[Finding] = []
        seconds: dict[str, float] = {}
        pinned: dict[str, Any] = {}
        reached: dict[str, frozenset[str]] = {}
        for case in self.cases:
            run = runs[case.name]
            if not isinstance(run, tuple):  # the case killed its child: hung, exited, crashed
                findings.append(
                    Finding(case.name, run.message, case.op, case.where, case.line, run.status)
                )
                continue
            value, took = run
            if value["status"] in ("fail", "error"):
                findings.append(Finding.from_json(value["finding"]))
                continue
            if value["status"] == "skip":  # the engine does not support it: it judges nothing
                continue
            seconds[case.name] = took
            if value["reached"] is not None:
                reached[case.name] = frozenset(value["reached"])
                self.marked = self.marked.union(value["marked"])
            if value["pinned"] is not None:
                pinned[case.name] = value["pinned"]
        if not seconds:
            raise HarnessError(
                "the unmutated engine fails every case of the battery, so no mutant "
                "verdict would mean anything:\n" + "\n".join(f.message for f in findings)
            )
        passing = [c.name for c in self.cases if c.name in seconds]  # cheapest first, by cost
        if not all(name in reached for name in passing):  # a case said nothing: no reuse
            reached = {}
        return Harness(
            tuple(passing),
            {},
            seconds,
            pinned,
            tuple(self._blamed(findings)),
            reached=reached,
            kept=(kept, len(self.cases)),
        )

    def _blamed(self, findings: Sequence[Finding]) -> list[Finding]:
        """The findings, those backward() itself raised in blamed on it (blame_backward); where
        it starts the pass from gradient 0 (check.unseeded) or runs the steps out of order
        (check.out_of_order), each op's told apart as one that fault may explain
        (findings.explained), not called wrong on its own; where it walks a reused node wrongly
        (check.walks_reuse_wrong), those of the cases that reuse one (Battery.reusing)."""
        profile = self.setup.profile
        where, line = profile.backward_where()
        found = blame_backward(findings, profile.backward_functions(), where, line)
        found = profile.attributed(found)
        if profile.backward_zeroes_every_op:
            walked = {f.case for f in found}
        elif profile.backward_reuse:
            walked = set(self.setup.battery.reusing(profile))
        else:
            return found
        backward = profile.backward_functions()  # an exception of an op's code is the op's
        return [
            replace(f, also=(*f.also, "backward"))
            if f.op != "backward" and f.case in walked and not raised_outside(f, backward)
            else f
            for f in found
        ]

    def explain(self, harness: Harness, survivors: Sequence[Mutant]) -> Harness:
        return harness  # a case's checks say why it passes: nothing more to record

    def order(self, mutant: Mutant, harness: Harness) -> list[str]:
        """The passing cases that ran the mutant's code on the unmutated engine (every passing
        case, if that was not recorded), those that call the mutant's op first; each part
        cheapest first by the cases' static cost, so the same case is named the killer on
        every run."""

        def key(name: str) -> tuple[bool, int]:
            case = self.setup.battery.case(name)
            return mutant.op not in case.requires, case.cost

        reached = harness.reached if mutant.id in self.marked else {}
        items = [n for n in harness.items if not reached or mutant.id in reached[n]]
        return sorted(items, key=key)

    def judge(
        self,
        engine: Host,
        mutants: Sequence[Mutant],
        harness: Harness,
        progress: Progress,
        ahead: Ahead | None = None,
    ) -> dict[str, Verdict]:
        return self.judging(engine, harness, progress, ahead).all(mutants)

    def judging(
        self, engine: Host, harness: Harness, progress: Progress, ahead: Ahead | None
    ) -> Judging:
        return Judging(
            engine,
            "battery-judge",
            harness,
            self.setup.config,
            self.item,
            self.order,
            progress,
            ahead,
        )
