"""In the campaign's process: each mutant's child started, its outcome made a verdict.

A judge's mutants are given to it as a batch (the scoring judge's: every one)
or one by one as they come (a judge after the first takes each mutant the
scoring judge lets through as soon as it does, so its children run beside the
scoring judge's instead of after them).  Every mutant's child starts when a
slot is free, whichever judge it is for; the verdict of each depends on its
child alone, never on when it ran or what ran beside it.  A child that hangs is
run again at once, with CPU_CONFIRM_FACTOR times the deadlines counted in the
CPU time it spends: only if it spends them all is it a Timeout, so a busy
machine cannot turn a survivor into a kill.  A confirmation stopped by the
clock instead (it blocked, or got little of a core) is run again alone, once
the other children are done, with CONFIRM_FACTOR times the deadlines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from minigrad_tool.isolation import Host, Request
from minigrad_tool.isolation import Outcome as ChildOutcome
from minigrad_tool.mutation.judging import (
    CONFIRM_FACTOR,
    CPU_CONFIRM_FACTOR,
    DEADLINE_SLACK,
    Ahead,
    CampaignConfig,
    Harness,
    MutantRun,
    Order,
    Progress,
    budget_for,
    check_timeout,
    covering,
    raise_internal,
)
from minigrad_tool.mutation.mutants import Mutant
from minigrad_tool.mutation.results import Status, Verdict

__all__ = ["Judging", "Streaming", "costliest_first"]

# How a hang's confirmation ran, as its verdict says.
BY_CPU_TIME = f"with {CPU_CONFIRM_FACTOR:g}x the deadline, of the CPU time it spent"
ALONE = f"alone with {CONFIRM_FACTOR:g}x the deadline"


@runtime_checkable
class Streaming(Protocol):
    """A judge that takes mutants as they come (minigrad's own judges): a judge after the
    first is given each mutant the scoring judge lets through as soon as it does.  A judge
    without it (`Judge.judge` alone) is given them all once the scoring judge is done."""

    def judging(
        self, engine: Host, harness: Harness, progress: Progress, ahead: Ahead | None
    ) -> Judging: ...


class Judging:
    """One judge's verdicts on the mutants `add` gives it: their children are sent to the
    host a few at a time, as the host's `run` does (two per job: a child starts the moment a
    slot frees up, and what other work is sent to the host meanwhile, probes or another
    judge's children, is not queued behind all of them); `finish` waits for them all,
    confirms the hangs alone, and gives every verdict (each told to `ahead` as it comes)."""

    def __init__(
        self,
        host: Host,
        task: str,
        harness: Harness,
        config: CampaignConfig,
        item: str,
        order: Order = covering,
        progress: Progress | None = None,
        ahead: Ahead | None = None,
    ) -> None:
        self.host, self.task, self.harness, self.config = host, task, harness, config
        self.item, self.order, self.progress, self.ahead = item, order, progress, ahead
        self.verdicts: dict[str, Verdict] = {}
        self.requests: dict[str, Request] = {}
        self.mutants: dict[str, Mutant] = {}
        self.queue: list[Request] = []  # not sent yet
        self.running: list[str] = []  # sent, not answered yet
        self.confirming: dict[str, ChildOutcome] = {}  # hung once: the first outcome
        self.hung: dict[str, ChildOutcome] = {}  # confirmed alone by `finish`

    def add(self, mutants: Sequence[Mutant]) -> None:
        """Judge these too, costliest first among them; HarnessError first if --timeout
        leaves the unmutated engine no room."""
        check_timeout(mutants, self.harness, self.config, self.order)
        new: list[Request] = []
        for m in mutants:
            self.mutants[m.id] = m
            items = self.order(m, self.harness)
            if not items:
                reason = _with_note(_uncovered(m, self.harness, self.item), m)
                self._found(m.id, Verdict(Status.NO_COVERAGE, reason))
                continue
            new.append(_request(m, self.task, items, self.harness, self.config, 1.0))
        self.requests.update((r.key, r) for r in new)
        if self.progress is not None:
            self.progress(len(self.verdicts), len(self.mutants))
        self.queue += costliest_first(new, self.harness)
        self._send()

    def _send(self) -> None:
        room = 2 * self.host.jobs - len(self.running)
        sent, self.queue = self.queue[:room], self.queue[room:]
        self.host.submit(sent)
        self.running += [r.key for r in sent]

    def all(self, mutants: Sequence[Mutant]) -> dict[str, Verdict]:
        """These mutants' verdicts, judged as one batch (a judge's `judge`)."""
        self.add(mutants)
        return self.finish()

    def wait(self) -> None:
        """Every child given so far, finished; a hang is set aside for `finish`."""
        while self.running:
            key, outcome = self.host.next_of(self.running)
            self.running.remove(key)
            self._finished(key, outcome)
            self._send()

    def finish(self) -> dict[str, Verdict]:
        """Every mutant's verdict, once each child has finished and each hang the clock
        stopped twice has been run again alone (what `ahead` started is finished first:
        nothing runs beside it)."""
        self.wait()
        if self.hung and self.ahead is not None:
            self.ahead.drain()
        for key in sorted(self.hung, key=list(self.requests).index):
            items = self.requests[key].args["items"]
            again = _request(
                self.mutants[key], self.task, items, self.harness, self.config, CONFIRM_FACTOR
            )
            outcome = self.host.run([again])[key]
            self._found(key, self._second(key, self.hung[key], outcome, ALONE))
        self.hung = {}
        return self.verdicts

    def _finished(self, key: str, outcome: ChildOutcome) -> None:
        first = self.confirming.pop(key, None)
        if first is None and outcome.status == "timeout":
            # Run again at once by its CPU time, ahead of the children not started yet.
            self.confirming[key] = outcome
            items = self.requests[key].args["items"]
            mutant, scale = self.mutants[key], CPU_CONFIRM_FACTOR
            again = _request(mutant, self.task, items, self.harness, self.config, scale, cpu=True)
            self.queue.insert(0, again)
        elif first is not None and outcome.status == "timeout" and not outcome.computed_too_long:
            self.hung[key] = first  # the clock stopped it again: confirmed alone, by `finish`
        elif first is not None:
            self._found(key, self._second(key, first, outcome, BY_CPU_TIME))
        else:
            items = self.requests[key].args["items"]
            self._found(key, _verdict(self.mutants[key], outcome, items, self.item))

    def _second(self, key: str, first: ChildOutcome, second: ChildOutcome, how: str) -> Verdict:
        """The verdict of a mutant that hung once, from its confirmation (`how` it ran)."""
        mutant, items = self.mutants[key], self.requests[key].args["items"]
        if second.status == "timeout":
            return _timeout(mutant, first, second, items, self.item, how)
        return _verdict(mutant, outcome=second, items=items, item=self.item)

    def _found(self, key: str, verdict: Verdict) -> None:
        self.verdicts[key] = verdict
        if self.ahead is not None:
            self.ahead.verdict(key, verdict)
        if self.progress is not None:
            self.progress(len(self.verdicts), len(self.mutants))


def _uncovered(mutant: Mutant, harness: Harness, item: str) -> str:
    """Why no item judges the mutant: none ran its code, or those that do are its op's own
    cases and fail on the unmutated engine (a wrong op: its findings say why)."""
    line = mutant.start[0]
    failing = [f.case for f in harness.findings if f.case and f.op == mutant.op]
    if not failing:
        return f"no {item} runs line {line}"
    return (
        f"no passing {item} runs line {line}: {mutant.op}'s own {item}s "
        f"({', '.join(failing)}) fail on the unmutated engine, so none can judge a change to "
        f"it; fix {mutant.op} first"
    )


def _with_note(text: str, mutant: Mutant) -> str:
    return text + (f" ({mutant.note})" if mutant.note else "")


def _timeout(
    mutant: Mutant,
    first: ChildOutcome,
    second: ChildOutcome,
    items: Sequence[str],
    item: str,
    how: str,
) -> Verdict:
    """A hang seen twice, the second time as `how` says (BY_CPU_TIME or ALONE): a Timeout,
    unless the mutant had already survived in some graph order (then Survived)."""
    where = second.where
    missed = [int(o) for o in where.get("missed", [])]
    caught = [int(o) for o in where.get("caught", [])]
    said = f"{first.message}; again {how}: {second.message}"
    if missed:
        return Verdict(
            Status.SURVIVED,
            f"it survived in graph order(s) {', '.join(map(str, missed))} before it hung: {said}",
            (),
            tuple(items),
            second.seconds,
        )
    return Verdict(
        Status.TIMEOUT,
        f"hung where the unmutated engine finished ({item} {where.get('item', '?')}, graph "
        f"order {where.get('order', 0)}; caught in order(s) "
        f"{', '.join(map(str, caught)) or 'none'} before): {said}",
        (),
        tuple(items),
        second.seconds,
    )


def _verdict(mutant: Mutant, outcome: ChildOutcome, items: Sequence[str], item: str) -> Verdict:
    """Turn a judge child's outcome into a verdict; a failure of minigrad itself is no verdict."""
    raise_internal(outcome, f"mutant {mutant.id}")
    if outcome.status == "timeout":
        return Verdict(Status.TIMEOUT, outcome.message, (), tuple(items), outcome.seconds)
    if not outcome.ok:  # the mutant made the engine raise outside an item, crash, or exit
        return Verdict(Status.KILLED, outcome.message, (), tuple(items), outcome.seconds)
    run = MutantRun.from_json(outcome.value)
    killers, covered, unreliable = run.killed_by, run.covered_by, run.unreliable
    flaky = (
        f"; {', '.join(unreliable)} failed on it but also failed on the unmutated engine, run "
        f"again in the same process: flaky, or dependent on an earlier {item}'s state, so no kill"
        if unreliable
        else ""
    )
    if run.hits == 0:
        reason = _with_note(
            f"none of the {len(items)} {item}s run ran the changed code (line {mutant.start[0]})",
            mutant,
        )
        if killers:
            reason += f"; {killers[0]} failed all the same: is it flaky?"
        return Verdict(Status.NO_COVERAGE, reason + flaky, (), (), outcome.seconds)
    caught, orders = run.orders_caught, run.orders
    if killers and len(caught) < orders:
        return Verdict(
            Status.SURVIVED,
            f"caught in only {len(caught)} of {orders} graph orders (orders "
            f"{', '.join(map(str, caught))}; {killers[0]} in order 0): the {item}s catch it by "
            "luck of the order in which backward() visits nodes, so it is not counted as killed"
            + flaky,
            (),
            covered,
            outcome.seconds,
            orders=(len(caught), orders),
        )
    if killers:
        return Verdict(
            Status.KILLED,
            run.reason + flaky,
            killers,
            covered,
            outcome.seconds,
            orders=(len(caught), orders),
        )
    return Verdict(
        Status.SURVIVED,
        f"no {item} fails, though {len(covered)} ran the changed code" + flaky,
        (),
        covered,
        outcome.seconds,
    )


def costliest_first(requests: Sequence[Request], harness: Harness) -> list[Request]:
    """The requests by what their items took on the unmutated engine, longest first (in
    generation order among equals): a long one started last would leave the other slots
    idle at the end (the longest-processing-time-first rule).  The order they run in
    changes no verdict: each runs in a fresh child."""

    def cost(request: Request) -> float:
        return sum(harness.seconds.get(i, 0.0) for i in request.args["items"])

    return sorted(requests, key=lambda r: -cost(r))


def _request(
    mutant: Mutant,
    task: str,
    items: Sequence[str],
    harness: Harness,
    config: CampaignConfig,
    scale: float,
    *,
    cpu: bool = False,
) -> Request:
    """A judge child's request: the items, each one's deadline per run (`scale` times the
    usual; with `cpu`, of the CPU time it spends), and the kink pins the host forked
    before."""
    budgets = {i: budget_for(i, harness, config, scale) for i in items}
    args: dict[str, Any] = {"mutant": mutant.id, "items": list(items), "budgets": budgets}
    pinned = {i: harness.pinned[i] for i in items if i in harness.pinned}
    if pinned and not config.settings.any_subgradient:
        args["pinned"] = pinned  # the host forked before the harness ran: send them along
    if harness.dependent:  # fixtures the stats run saw depend on the engine (judges.fixtures)
        args["dependent"] = harness.dependent
    # Until the child's first phase starts the first item's deadline: the fork and the swap.
    timeout = scale * DEADLINE_SLACK + max(budgets.values())
    return Request(mutant.id, task, args, timeout, cpu_time=cpu)
