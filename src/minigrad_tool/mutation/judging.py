"""The judge protocol and the loop every judge shares.

A judge is a row in :data:`minigrad_tool.mutation.judges.JUDGES`: a name, what
one of its items is called (a case, a test), and two steps.

1. **Harness.**  Each item runs on the unmutated engine: how long it takes,
   and (where the judge can tell) which mutants' code it runs.  An item that
   fails there cannot judge anything: the judge either leaves it out, as a
   finding, or refuses with :class:`HarnessError` (exit 2).
2. **Judging.**  Each mutant runs in a child forked from a host that has the
   engine loaded: its one function is swapped in memory, and the items that
   may run its code, in the judge's order (never by measured time), up to the
   first failure
   (:func:`run_mutant`, in the child; :mod:`minigrad_tool.mutation.judgement`,
   in the parent).

A judge may also add tasks to the campaign's engine host (the battery does:
its cases run there) and run hosts of its own (your tests do).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from minigrad_tool.adapter import EngineSpec, Loaded, Profile
from minigrad_tool.adapter.order import Served, repeats, served, set_order
from minigrad_tool.adapter.source import SourceIndex
from minigrad_tool.battery import Battery, Settings
from minigrad_tool.faults import InternalError
from minigrad_tool.findings import Finding
from minigrad_tool.isolation import Host, Limits, Reporter, Slots
from minigrad_tool.isolation import Outcome as ChildOutcome
from minigrad_tool.mutation.mutants import Mutant
from minigrad_tool.mutation.patch import Patcher, patcher_for
from minigrad_tool.mutation.results import Verdict

if TYPE_CHECKING:  # the cache imports the results this module does: no cycle at run time
    from minigrad_tool.mutation.cache import MutantKeys

__all__ = [
    "Ahead",
    "CampaignConfig",
    "Failure",
    "Harness",
    "HarnessError",
    "Judge",
    "JudgeClass",
    "MutantRun",
    "Progress",
    "Setup",
    "Task",
    "budget_for",
    "budget_of",
    "check_timeout",
    "covering",
    "deadline_for",
    "host_limits",
    "prepare_patcher",
    "raise_internal",
    "run_mutant",
]

Task = Callable[[Loaded, dict[str, Any], Reporter], Any]  # a task of the engine host
Progress = Callable[[int, int], None]  # mutants done, of total

# mutmut's rule for a mutant's deadline: a generous multiple of what the unmutated engine
# needs for the same items, plus a constant for the fork and the swap.
DEADLINE_FACTOR = 10.0
DEADLINE_SLACK = 1.0
# A mutant that hangs is run again at once, beside the others, with this many times its
# deadlines counted in its own CPU time (isolation's Request.cpu_time): only if it spends
# them all is it a Timeout.  A load on the machine slows the clock, never the CPU time a
# child spends, so a mutant that finishes within the first deadline on a quiet machine
# finishes within twice it on a busy one.
CPU_CONFIRM_FACTOR = 2.0
# A confirmation that the clock stops first (isolation.WALL_ROOM times its CPU time) blocked
# or was starved of a core: it is run again, alone, with this many times the deadlines on
# the clock; only a hang there too counts.  Five times covers a machine whose other core is
# busy (a run there takes about twice as long) with room to spare.
CONFIRM_FACTOR = 5.0
# A --timeout must leave the unmutated engine twice its time, plus 50 ms of fork and
# swap, else every mutant would "time out" and count as killed.
TIMEOUT_ROOM = 2.0
TIMEOUT_SLACK = 0.05


class HarnessError(Exception):
    """The unmutated engine fails its judge, or cannot be run: no verdict (exit 2).
    `own_errors`: every failure is the tests' own, whatever the engine computes (a name they
    never imported, a module not installed): no op the battery finds wrong is why."""

    def __init__(self, message: str, *, own_errors: bool = False) -> None:
        super().__init__(message)
        self.own_errors = own_errors


@dataclass(frozen=True)
class CampaignConfig:
    """How to run a campaign."""

    operators: tuple[str, ...] | None = None  # None: all of them
    jobs: int = 1
    timeout: float | None = None  # seconds per mutant; None: from the harness run
    memory_mib: int | None = 8192
    matrix: bool = False  # run every covering item on every mutant
    shard: tuple[int, int] = (1, 1)  # (i, n): this run takes mutants i, i+n, i+2n, ... (1-based)
    settings: Settings = field(default_factory=Settings)
    groups: tuple[str, ...] | None = None  # battery groups to use; None: all
    tests: tuple[str, ...] = ()  # the user's pytest paths: the tests judge
    judges: tuple[str, ...] = ("battery",)  # rows of JUDGES; the first decides the score
    probes: bool = True  # look for equivalence and distinguishing inputs
    record_code: bool = False  # record the mutant sites each harness item runs (result cache)

    def orders_for(self, judge: str, orders: int) -> int:
        """Graph orders a verdict of `judge` must hold in, of the engine's `orders`: all for
        the judge that scores; the others judge alongside, in order 0 only, which keeps them
        cheap and still reproducible (a test `--suggest` writes from their findings is
        checked in every order)."""
        return orders if judge == self.judges[0] else 1


# Loading the engine and running a harness get at least a minute, whatever --timeout says
# (that is each mutant's deadline).
SETUP_DEADLINE = 60.0


def host_limits(config: CampaignConfig) -> Limits:
    """The limits of a campaign's hosts: a minute at least to set up, and --memory."""
    return Limits(max(SETUP_DEADLINE, config.timeout or 0.0), config.memory_mib)


@dataclass(frozen=True)
class Harness:
    """What the unmutated engine showed under a judge: mutant sites run, time taken per item."""

    items: tuple[str, ...]  # cases or test IDs, in run order
    covers: Mapping[str, frozenset[str]]  # IDs of the mutants whose code each item ran
    seconds: Mapping[str, float]
    pinned: Mapping[str, list[list[float]]] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()  # items the unmutated engine fails, left out, and why
    excluded: tuple[str, ...] = ()  # items that cannot judge (flaky, order-dependent), and why
    # test -> (op, habit) pairs it showed on the unmutated engine (mutation.habits), for the
    # tests that ran a survivor's code (Judge.explain)
    habits: Mapping[str, frozenset[tuple[str, str]]] = field(default_factory=dict)
    # the wide fixtures a child keeps between tests: name -> (scope, may depend on the engine)
    fixtures: Mapping[str, tuple[str, bool]] = field(default_factory=dict)
    # item -> IDs of the mutants whose sites it ran, where a judge that needs no `covers`
    # records them for the result cache (the battery, with `record_code`)
    reached: Mapping[str, frozenset[str]] = field(default_factory=dict)
    kept: tuple[int, int] = (0, 0)  # items whose run is the last run's (result cache), of all
    # session fixtures that could be set up once before the fork: name -> "" if they were,
    # else why not (judges.fixtures)
    warmed: Mapping[str, str] = field(default_factory=dict)
    # test file -> its globals holding what the engine computed when the file was imported
    # (judges.fixtures.computed_at_import): no mutant was in then
    imported: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def dependent(self) -> list[str]:
        """The wide fixtures that may depend on the engine: set up again whenever the engine
        or the graph order changes in a child (judges.fixtures)."""
        return sorted(name for name, (_, depends) in self.fixtures.items() if depends)


@dataclass
class Setup:
    """What a campaign gives each judge: parsed once, shared by all."""

    spec: EngineSpec
    profile: Profile
    index: SourceIndex  # the engine's source, parsed once
    battery: Battery
    mutants: dict[str, Mutant]
    config: CampaignConfig
    limits: Limits
    patcher: Patcher | None = None  # made in the engine host after the import; children inherit
    keys: MutantKeys | None = None  # the result cache's keys: the battery reuses cases' runs
    slots: Slots | None = None  # --jobs children at once, across the campaign's hosts
    # your tests' host, launched before discovery (judges.tests.EarlyTests), for their judge
    early_tests: object = None

    def orders_for(self, judge: str) -> int:
        """Graph orders a verdict of `judge` must hold in (CampaignConfig.orders_for)."""
        return self.config.orders_for(judge, self.spec.orders)

    @property
    def run_keys(self) -> MutantKeys | None:
        """The result cache's keys, where this run records the code each of its runs reaches
        (what a kept run is keyed by): None without the cache, or where the engine host could
        not mark the sites (prepare_patcher)."""
        return self.keys if self.config.record_code else None


class Ahead(Protocol):
    """Told each verdict as it comes, to start work on it meanwhile (the probes of a mutant a
    judge lets through); asked to finish what it started before a hang is run again alone."""

    def verdict(self, mutant: str, verdict: Verdict) -> None: ...

    def drain(self) -> None: ...


class Judge(Protocol):
    """A judge of mutants: the battery, your tests, the next one.  One module and a row."""

    name: str  # "battery", "tests": the judge's row in JUDGES and its name in reports
    item: str  # what one unit of judgement is called: "case", "test"

    def engine_tasks(self) -> dict[str, Task]:
        """Tasks this judge runs in the campaign's engine host (none, for its own hosts)."""
        ...

    def start(self) -> None:
        """Begin slow set-up (collecting tests) while the engine host runs other work."""
        ...

    def harness(self, engine: Host) -> Harness:
        """Run every item on the unmutated engine; HarnessError if none can judge."""
        ...

    def order(self, mutant: Mutant, harness: Harness) -> list[str]:
        """The items that may judge `mutant`, in the order to run them."""
        ...

    def judge(
        self,
        engine: Host,
        mutants: Sequence[Mutant],
        harness: Harness,
        progress: Progress,
        ahead: Ahead | None = None,
    ) -> dict[str, Verdict]:
        """Every mutant's verdict (each told to `ahead` as it comes)."""
        ...

    def explain(self, harness: Harness, survivors: Sequence[Mutant]) -> Harness:
        """After judging: the harness with what its items did that lets `survivors` live (your
        tests' habits), recorded only for the items that ran their code."""
        ...

    def close(self) -> None:
        """Stop whatever `start` began."""
        ...


class JudgeClass(Protocol):
    """What a row of JUDGES holds: the judge's class, which names its items."""

    item: str

    def __call__(self, setup: Setup) -> Judge: ...


def raise_internal(outcome: ChildOutcome, what: str) -> None:
    """A failure of minigrad's own code in a child is no verdict: exit 2, with where it was."""
    if outcome.status == "internal":
        raise InternalError(f"minigrad failed during {what}: {outcome.message}")


Order = Callable[[Mutant, Harness], list[str]]


def covering(mutant: Mutant, harness: Harness) -> list[str]:
    """The items that ran the mutant's code on the unmutated engine, in the harness's order
    (for tests, the order pytest collected them in): never by measured time, which changes
    from run to run, and with it which item is named as the killer."""
    return [item for item in harness.items if mutant.id in harness.covers.get(item, ())]


def budget_for(item: str, harness: Harness, config: CampaignConfig, scale: float = 1.0) -> float:
    """How long one run of `item` may take, in one graph order (budget_of what the harness
    measured for it)."""
    return budget_of(harness.seconds.get(item, 0.0), config, scale)


def budget_of(seconds: float, config: CampaignConfig, scale: float = 1.0) -> float:
    """How long one run of what took the unmutated engine `seconds` may take: --timeout,
    else mutmut's rule (a multiple of that, plus slack); `scale` widens it (a timeout's
    confirmation)."""
    if config.timeout is not None:
        return config.timeout * scale
    return scale * (DEADLINE_FACTOR * seconds + DEADLINE_SLACK)


def deadline_for(items: Sequence[str], harness: Harness, config: CampaignConfig) -> float:
    """The longest any one run of these items may take (the report's "timeout")."""
    return max((budget_for(i, harness, config) for i in items), default=DEADLINE_SLACK)


def check_timeout(
    mutants: Sequence[Mutant], harness: Harness, config: CampaignConfig, order: Order
) -> None:
    """A --timeout shorter than the original needs would turn every mutant into a 'kill'."""
    if config.timeout is None:
        return
    worst = max(
        (harness.seconds.get(i, 0.0) for m in mutants for i in order(m, harness)),
        default=0.0,
    )
    least = TIMEOUT_ROOM * worst + TIMEOUT_SLACK
    if config.timeout < least:
        raise HarnessError(
            f"--timeout {config.timeout:g} s is too short: the unmutated engine needs "
            f"{worst:.2f} s for one item, so a timeout would show nothing; "
            f"use at least {least:.2f} s, or leave --timeout out"
        )


@dataclass(frozen=True)
class MutantRun:
    """What a judge's child found for one mutant: what crosses the pipe, with one reader."""

    killed_by: tuple[str, ...] = ()  # items that failed on it (and pass on the original)
    covered_by: tuple[str, ...] = ()  # items that ran its changed code
    reason: str = ""  # why the first killer failed
    hits: int = 0  # times its changed code ran
    unreliable: tuple[str, ...] = ()  # items that failed on the original too, run again
    orders_caught: tuple[int, ...] = ()  # graph orders some item caught it in
    orders: int = 1  # graph orders explored

    def to_json(self) -> dict[str, Any]:
        return {f: list(v) if isinstance(v, tuple) else v for f, v in self.__dict__.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MutantRun:
        return cls(
            tuple(data["killed_by"]),
            tuple(data["covered_by"]),
            str(data["reason"]),
            int(data["hits"]),
            tuple(data["unreliable"]),
            tuple(int(o) for o in data["orders_caught"]),
            int(data["orders"]),
        )

    @property
    def caught_everywhere(self) -> bool:
        """Killed, in every graph order explored."""
        return bool(self.killed_by) and len(self.orders_caught) == self.orders


# Runs one item: why it failed (in words when the second argument asks for them), or None.
Failure = Callable[[str, bool], str | None]


class _Runner:
    """In a judge's child: runs items on the mutant or the original, each in a phase with its
    own deadline (the item's budget, in the graph order at hand), saying where it is as data:
    the item, the order, and the orders caught and missed so far."""

    def __init__(
        self,
        patcher: Patcher,
        mutant: Mutant,
        failure: Failure,
        reporter: Reporter,
        item: str,
        budgets: Mapping[str, float],
    ) -> None:
        self.patcher, self.mutant, self.failure = patcher, mutant, failure
        self.reporter, self.item, self.budgets = reporter, item, budgets
        self.caught: list[int] = []
        self.missed: list[int] = []
        self.served: Served = None  # the sets the last run iterated (adapter.order.served)

    def run(
        self,
        name: str,
        order: int,
        *,
        original: bool = False,
        budget: float = 0.0,
        reason: bool = False,
    ) -> str | None:
        """Why `name` fails (on the original with `original`), or None if it passes; the
        why is in words only with `reason` (else any text: only the outcome counts)."""
        on = "the unmutated engine" if original else f"mutant {self.mutant.id}"
        in_order = f", graph order {order}" if order else ""
        self.reporter.phase(
            f"{self.item} {name} on {on}{in_order}",
            budget=budget or self.budgets.get(name) or None,
            mutant=self.mutant.id,
            item=name,
            order=order,
            original=original,
            caught=list(self.caught),
            missed=list(self.missed),
        )
        if not original:
            return self._failure(name, reason)
        self.patcher.restore()
        try:
            return self._failure(name, reason)
        finally:
            self.patcher.apply(self.mutant)

    def _failure(self, name: str, reason: bool) -> str | None:
        try:
            return self.failure(name, reason)
        finally:
            self.served = served()


def run_mutant(
    patcher: Patcher,
    mutant: Mutant,
    items: Sequence[str],
    failure: Failure,
    reporter: Reporter,
    *,
    item: str,
    matrix: bool,
    orders: int = 1,
    budgets: Mapping[str, float] | None = None,
    passes_in_every_order: bool | AbstractSet[str] = False,
) -> dict[str, Any]:
    """In a judge's child: swap the mutant in, run the items in order up to the first failure
    (all of them with `matrix`); which failed, which ran its code, and why the first failed
    (a :class:`MutantRun`, as JSON).

    `failure(name, reason)` runs one item and returns why it failed, or None if it passed;
    only the first killer's why is read, so the others' may skip the words.  A kill
    is confirmed: the failing item must pass on the unmutated engine, run again here (else
    it is flaky, or depends on an earlier item's state, and kills nothing).  With `orders`
    > 1 the mutant must also be caught in every other graph order (adapter.order).
    `budgets`: each item's deadline for one run, from the unmutated engine's time.
    `passes_in_every_order`: the harness ran every item (True), or those named, in every
    graph order on the unmutated engine and kept only those that pass in all, their time in
    `budgets` at least the slowest order's: no other order runs the original again for them
    (the kill's confirmation in order 0, after the mutant failed, still does).
    """
    patcher.apply(mutant)
    set_order(0)
    runner = _Runner(patcher, mutant, failure, reporter, item, budgets or {})
    killers: list[str] = []
    covered: list[str] = []
    unreliable: list[str] = []
    reason = ""
    kill: _Kill | None = None  # the sets the first kill's runs iterated, in order 0
    for name in items:
        before = patcher.hits.count
        why = runner.run(name, 0, reason=not killers)
        if patcher.hits.count > before:
            covered.append(name)
        if why is None:
            continue
        on_mutant = runner.served
        if runner.run(name, 0, original=True) is not None:
            unreliable.append(name)
            continue
        if not killers:
            reason = why
            kill = _Kill(name, {0: (on_mutant, runner.served)})
        killers.append(name)
        if not matrix:
            break
    if kill is not None:
        runner.caught.append(0)
        _other_orders(runner, items, kill, orders, passes_in_every_order)
    return MutantRun(
        tuple(killers),
        tuple(covered),
        reason,
        patcher.hits.count,
        tuple(unreliable),
        tuple(runner.caught),
        orders,
    ).to_json()


@dataclass
class _Kill:
    """The first killer, and the sets (adapter.order.served) its runs iterated in each order
    it caught the mutant in: (on the mutant, on the original)."""

    killer: str
    runs: dict[int, tuple[Served, Served]]

    def repeated(self, order: int, known: bool) -> bool:
        """Would the killer's runs in `order` be the very runs of an order it caught the
        mutant in (each set it iterates comes out the same)?  Then it catches it there too;
        its pass on the original needs the same of the original's run, unless `known`."""
        on_mutant = repeats({o: mutant for o, (mutant, _) in self.runs.items()}, order)
        if known or not on_mutant:
            return bool(on_mutant)
        on_original = repeats({o: original for o, (_, original) in self.runs.items()}, order)
        return any(o in on_original for o in on_mutant)


def _other_orders(
    runner: _Runner,
    items: Sequence[str],
    kill: _Kill,
    orders: int,
    passes: bool | AbstractSet[str],
) -> None:
    """Each other graph order: is the mutant caught there, by an item that passes on the
    unmutated engine in that same order?  Unless the harness showed it does (`known`), the
    original runs first, and its time there sets the mutant's deadline in that order (it
    hangs only where the original finished).  An order in which the killer's runs would be
    those of an order it caught the mutant in is caught without running them again."""
    killer = kill.killer
    first_tried = [killer, *[i for i in items if i != killer]]

    def known(name: str) -> bool:  # passes on the original in every order: the harness's
        return passes is True or (not isinstance(passes, bool) and name in passes)

    for order in range(1, orders):
        set_order(order)
        if kill.repeated(order, known(killer)):
            runner.caught.append(order)
            continue
        for name in first_tried:
            original: Served = None
            if not known(name):
                start = time.monotonic()
                if runner.run(name, order, original=True) is not None:
                    continue  # fails on the original in this order: it cannot judge here
                original = runner.served
                needed = time.monotonic() - start
                budget = max(
                    runner.budgets.get(name, 0.0), DEADLINE_FACTOR * needed + DEADLINE_SLACK
                )
            else:
                budget = 0.0
            if runner.run(name, order, budget=budget) is not None:
                runner.caught.append(order)
                if name == killer:
                    kill.runs[order] = (runner.served, original)
                break
        else:
            runner.missed.append(order)
    set_order(0)


def prepare_patcher(setup: Setup) -> Callable[[Loaded], None]:
    """For an engine host: once, after the import, the patcher every child inherits."""

    def prepare(engine: Loaded) -> None:
        setup.patcher = patcher_for(setup.spec, setup.index)
        setup.patcher.live()
        # Site markers record the code a case or a probe runs: for the result cache's keys,
        # and so that a mutant is probed only by the probes that reach its code.
        if setup.config.record_code or setup.config.probes:
            try:
                setup.patcher.prepare_sites(setup.mutants.values())
            except InternalError:  # no record, so no verdict of this run's is reused
                setup.config = replace(setup.config, record_code=False)
        setup.patcher.warm()

    return prepare
