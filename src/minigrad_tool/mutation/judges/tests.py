"""Your tests as the judge: each mutant runs against the pytest tests you point at.

A host process installs the engine's snapshot as an import hook, runs pytest
once to collect your tests (any style pytest runs, unittest included), and
then serves: each test runs once on the unmutated engine in a child of its
own, with a marker at every mutant's site (which mutants' code it runs, how
long it takes: mutmut's stats run); then each mutant runs in a child forked from the collected
session, its one function swapped into the engine module your tests
imported, with only the tests that run its lines, in collection order, up to the
first failure.  Collection happens once; no file is ever written.

A mutant is killed when a test that passes on the original fails or errors
on it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import linecache
import math
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minigrad_tool import dataclass_code, leftovers
from minigrad_tool.adapter import EngineSpec, serve_for_tests
from minigrad_tool.adapter.loader import (
    STARTUP_PATH,
    NotTheEngine,
    import_engine,
    importable_on,
    installed_elsewhere,
    plain_path,
    top_of,
)
from minigrad_tool.adapter.order import (
    Served,
    current_order,
    fresh,
    repeats,
    served,
    set_order,
)
from minigrad_tool.adapter.profile import step_owners
from minigrad_tool.adapter.trace import runs
from minigrad_tool.findings import Finding
from minigrad_tool.isolation import (
    Host,
    HostError,
    Limits,
    Reporter,
    Request,
    Slots,
    memory_hint,
)
from minigrad_tool.isolation import Outcome as ChildOutcome
from minigrad_tool.mutation.habits import (
    ANY_OP,
    NO_GRADIENT,
    HabitWatch,
    backward_undone,
    record_habits,
)
from minigrad_tool.mutation.judgement import Judging
from minigrad_tool.mutation.judges.fixtures import (
    KeptFixtures,
    Warmed,
    computed_at_import,
    engine_module_names,
    plan_warm,
    set_up_once,
)
from minigrad_tool.mutation.judging import (
    Ahead,
    CampaignConfig,
    Harness,
    HarnessError,
    Progress,
    Setup,
    Task,
    covering,
    deadline_for,
    host_limits,
    raise_internal,
    run_mutant,
)
from minigrad_tool.mutation.mutants import Mutant
from minigrad_tool.mutation.patch import Patcher, patcher_for
from minigrad_tool.mutation.results import Verdict

if TYPE_CHECKING:  # the cache imports what judging does: no cycle at run time
    from minigrad_tool.mutation.cache import MutantKeys

__all__ = [
    "EarlyTests",
    "KeptRuns",
    "NoEngineCode",
    "TestRun",
    "TestsHost",
    "TestsJudge",
    "elsewhere_note",
    "pytest_args",
    "run_stats",
    "run_tests_harness",
    "tests_started_early",
]

_BLOCKED_PLUGINS = ("cacheprovider", "randomly", "random_order", "faulthandler")
_MAX_REPORT = 4000


def pytest_args(paths: Sequence[str], loaded: Collection[str]) -> list[str]:
    """Collect and run quietly; no cache written, no parallel or random plugins.

    Output is not captured (it goes nowhere anyway), and a failure is reported
    in one line: building pytest's long failure report costs more than most tests.
    pytest-xdist, where it loads by entry point (`loaded`), stays loaded with `-n 0`: no
    worker starts (each mutant's tests run in a child of their own, --jobs of them side by
    side), yet a `-n auto` in the user's addopts still parses (the later `-n` wins) and
    xdist's fixtures (`worker_id`) are there, as in their own `pytest -n 0`.
    """
    blocked = [arg for name in _BLOCKED_PLUGINS for arg in ("-p", f"no:{name}")]
    serial = ["-n", "0"] if "xdist" in loaded else ["-p", "no:xdist"]
    return [*paths, *blocked, *serial, "-q", "--no-header", "-rN", "-s", "--tb=line"]


def _autoloaded_plugins() -> set[str]:
    """The pytest plugins installed with an entry point, which pytest loads by itself."""
    import importlib.metadata  # 12 ms of imports: here, in the host pytest runs in

    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return set()
    return {ep.name for ep in importlib.metadata.entry_points(group="pytest11")}


def scratch_args(scratch: Path, loaded: Collection[str]) -> list[str]:
    """Options that point plugins which write into the folder pytest runs in at `scratch`, so
    a campaign leaves the user's tree as it found it (call where pytest will run).

    pytest-benchmark makes `.benchmarks/` at start-up (its fixture still works, run once), and
    pytest-cov writes `.coverage` when the user's addopts ask for it.  Hypothesis's
    `.hypothesis/` is moved by :func:`_hypothesis_home` (it has no option).  A plugin is only
    named when it is installed and loaded by entry point (`loaded`), or pytest would refuse
    the option.
    """
    args = []
    if "benchmark" in loaded:
        args += ["--benchmark-disable", f"--benchmark-storage=file://{scratch / 'benchmarks'}"]
    if "pytest_cov" in loaded:
        args.append("--no-cov")
    return args


def _hypothesis_home(scratch: Path) -> None:
    """Hypothesis keeps its example database in `.hypothesis/` below the current folder: here
    it goes to `scratch` (and a run does not replay examples saved by the user's own runs).

    Hypothesis reads `HYPOTHESIS_STORAGE_DIRECTORY` when it first touches its storage, which
    can be at pytest's configure: so this is called before pytest starts.  An older one that
    does not read it is told directly, once the collected tests have imported it (importing it
    here would cost every campaign a third of a second)."""
    home = scratch / "hypothesis"
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(home)
    configuration = sys.modules.get("hypothesis.configuration")
    if configuration is not None:
        configuration.set_hypothesis_home_dir(home)


# Hypothesis draws a test's examples from a fresh random seed in every process, and replays
# examples that earlier runs saved in its database: a mutant that some draws catch and others
# do not would get its verdict by luck (on a lab project, relu's sign mutant was killed in
# three runs of four).  A forced seed, which `--hypothesis-seed` sets, draws the same examples
# in every child of every run, and leaves the database alone; a test with an @seed of its own,
# or derandomize, keeps it.  Set in the host once the tests imported hypothesis.
HYPOTHESIS_SEED = 0


def _hypothesis_seeded() -> None:
    core = sys.modules.get("hypothesis.core")
    if core is not None:
        vars(core)["global_force_seed"] = HYPOTHESIS_SEED  # what --hypothesis-seed sets


def _hypothesis_untimed(items: Iterable[Any]) -> None:
    """In a judging child: no hypothesis deadline (200 ms an example by default) and no
    too_slow health check for these tests.  Either fails a test on a busy machine, which
    would be a kill by load; a mutant that hangs meets minigrad's own deadline, confirmed
    alone.  Your tests' first run on the unmutated engine keeps them, as your own runs do."""
    hypothesis = sys.modules.get("hypothesis")
    if hypothesis is None:
        return
    for item in items:
        obj = getattr(item, "obj", None)
        test: Any = getattr(obj, "__func__", obj)  # a method's function holds the settings
        current = getattr(test, "_hypothesis_internal_use_settings", None)
        if current is None:
            continue
        with contextlib.suppress(Exception):  # a hypothesis too old or too new to ask
            slow = hypothesis.HealthCheck.too_slow
            suppressed = [*current.suppress_health_check, slow]
            untimed = hypothesis.settings(current, deadline=None, suppress_health_check=suppressed)
            test._hypothesis_internal_use_settings = untimed  # read at each call


@dataclass
class _Session:
    """What the host keeps after collection; every task's child inherits it."""

    items: dict[str, Any] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    patcher: Patcher | None = None
    mutants: dict[str, Mutant] = field(default_factory=dict)
    matrix: bool = False
    orders: int = 1  # graph orders a verdict must hold in (adapter.order)
    engine_file: str = ""  # the engine's file, as its code objects name it
    habits: HabitWatch | None = None  # what the habit recorder watches (_habits_task)
    kept: KeptFixtures | None = None  # the wide fixtures a child keeps between its runs
    # Only a test's outcome counts now, not why it failed: pytest's failure report (the
    # traceback cut and formatted, about a millisecond) is left unmade (_Plugin).
    quiet: bool = False
    warmed: Warmed | None = None  # session fixtures the host set up once, for every child
    # Where a plain `pytest` run imports the engine's package from, when that is another
    # copy than the engine's own file (an install into site-packages); "" if it is not.
    elsewhere: str = ""
    # A plain `pytest` run finds no copy of the engine's package to import at all: your tests
    # import it only because minigrad put its folder first on the path.
    unfound: bool = False
    # The name your tests import the engine's file under, where the two above are told by it
    # (`src.clumsygrad.tensor` from a test that puts the project's root on the path).
    imported_as: str = ""


# A frame of pytest's short traceback: `path:line: in function`, then its code, indented.
_FRAME = re.compile(r"^(?P<path>\S[^\n]*?):(?:\d+|\?+): in \S+$")
# Frames of the machinery that imports a test module, never of what the user wrote: pytest's,
# pluggy's, importlib's, and the parse of the module that pytest's assertion rewriting calls.
_MACHINERY = re.compile(
    r"[/\\](_pytest|pluggy)[/\\]|^<frozen "
    + "|^"
    + re.escape(os.path.dirname(os.__file__))
    + r"[/\\](importlib[/\\]|ast\.py$)"
)


def _without_machinery(text: str) -> str:
    """A collection error as pytest words it, less the frames of its own import machinery: a
    syntax error in a test module came with eight of them before the line at fault."""
    kept: list[str] = []
    dropping = False
    for line in text.splitlines():
        frame = _FRAME.match(line)
        if frame is not None:
            dropping = _MACHINERY.search(frame["path"]) is not None
        elif not line.startswith(" "):
            dropping = False  # the exception's own lines (`E   ...`), or pytest's words
        if not dropping:
            kept.append(line)
    return "\n".join(kept)


class _Plugin:
    """Takes over pytest's run loop: the host serves tasks inside the collected session."""

    def __init__(
        self, serve: Callable[[Any], None], session: _Session, prepare: Callable[[], None]
    ) -> None:
        self.serve = serve
        self.session = session
        self.prepare = prepare
        self.errors: list[str] = []
        self.served = False
        self.refused = ""  # why the session cannot judge the engine (NotTheEngine)

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            text = _without_machinery(report.longreprtext)
            self.errors.append(f"{report.nodeid}: {text[-_MAX_REPORT:]}")

    def pytest_runtest_makereport(self, item: Any, call: Any) -> Any:
        """A failure's report without its formatted traceback: while the session is quiet,
        nothing but its outcome; else only where it failed (`_crash_only`).  None (pytest's
        own report) for a skip, and where pytest's own would say it otherwise.  pytest's
        hook wrappers (xfail's among them) still see and amend this report."""
        from _pytest.outcomes import skip
        from _pytest.reports import TestReport

        excinfo = call.excinfo
        if excinfo is None or isinstance(excinfo.value, skip.Exception | BaseExceptionGroup):
            return None
        longrepr: Any = f"{excinfo.typename} (not formatted: only the outcome counts here)"
        if not self.session.quiet:
            longrepr = _crash_only(item, excinfo)
            if longrepr is None:
                return None
        return TestReport(
            item.nodeid,
            item.location,
            dict.fromkeys(item.keywords, 1),
            "failed",
            longrepr,
            call.when,
            duration=call.duration,
            start=call.start,
            stop=call.stop,
            user_properties=item.user_properties,
        )

    def pytest_runtestloop(self, session: Any) -> bool:
        if self.errors or session.testsfailed:
            return True  # the host reports the collection errors
        for item in session.items:
            self.session.items[item.nodeid] = item
            self.session.order.append(item.nodeid)
            # Each report reads it; worked out here, once, it is every child's (a cached
            # property, about 0.2 ms per item per child otherwise).
            with contextlib.suppress(Exception):  # pytest says it, if it fails there too
                _ = item.location
        try:
            self.prepare()
        except NotTheEngine as err:
            self.refused = (
                f"they would test another module than the engine: {err} (a conftest.py or a "
                "test module put its folder there)"
            )
            return True
        self.served = True
        self.serve(self.session)
        if self.session.warmed is not None:  # the end of the campaign: their teardown runs
            self.session.warmed.tear_down()
        return True


class _CrashOnly:
    """A failure's report reduced to where it failed: what `_quote` reads (`reprcrash`), as
    pytest's own report has it, without the traceback pytest would format (a couple of
    milliseconds a failure, 11% of the judging children's time on the scaled-up student
    suite, cProfile), which a killer's reason never shows."""

    def __init__(self, crash: Any) -> None:
        self.reprcrash = crash

    def __str__(self) -> str:
        return f"{self.reprcrash.path}:{self.reprcrash.lineno}: {self.reprcrash.message}"


def _crash_only(item: Any, excinfo: Any) -> _CrashOnly | None:
    """Where the test failed, as pytest's report would say it: the last frame not hidden
    (`ExceptionInfo._getreprcrash`, whatever the traceback style, but "value", which says
    none).  None where pytest's report says it otherwise (an error it words itself, an
    import of a conftest, a pytest too old or too new to ask)."""
    from _pytest.fixtures import FixtureLookupError
    from _pytest.outcomes import fail

    value = excinfo.value
    if isinstance(value, FixtureLookupError) or (
        isinstance(value, fail.Exception) and not value.pytrace
    ):
        return None
    if type(value).__name__ == "ConftestImportFailure":
        return None
    try:
        if item.config.getoption("tbstyle", "auto") == "value":
            return None
        crash = excinfo._getreprcrash()
    except Exception:  # private in pytest: where it is missing, pytest's report
        return None
    return None if crash is None else _CrashOnly(crash)


def _quote(report: Any) -> str:
    """Where a test failed, in the user's words: `file:line: the line` and the message's first
    line (an assert shows its values there), not the last line of pytest's long report."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is None or not crash.lineno:
        text: str = report.longreprtext
        lines = [line for line in text.splitlines() if line.strip()] or ["?"]
        return lines[-1].strip()
    source = linecache.getline(crash.path, crash.lineno).strip()
    message = (crash.message.splitlines() or [""])[0].strip()
    said = f" ({message})" if message and message != source else ""
    return f"{os.path.basename(crash.path)}:{crash.lineno}: {source}{said}"


def _outcome(reports: Sequence[Any]) -> tuple[str, str]:
    """passed / failed / skipped, and where it failed."""
    for report in reports:
        if report.failed:
            where = "" if report.when == "call" else f"in {report.when}: "
            return "failed", where + _quote(report)[-_MAX_REPORT:]
    if any(r.skipped for r in reports):
        return "skipped", ""
    return "passed", ""


def _run_item(session: _Session, nodeid: str) -> tuple[str, str]:
    """One test, keeping the wide fixtures it shares with the next (judges.fixtures)."""
    fresh()  # the same sets, in the same order, and the same random draws, in any child
    assert session.kept is not None, "the host prepares it"
    applied = session.patcher.applied if session.patcher is not None else None
    return _outcome(session.kept.run(session.items[nodeid], (applied, current_order())))


def _list_task(session: _Session, args: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
    """The tests in collection order, and, by test file, the globals that hold what the
    engine computed when it was imported (judges.fixtures.computed_at_import)."""
    assert session.kept is not None, "the host prepares it"
    children = session.habits.children if session.habits is not None else None
    imported: dict[str, list[str]] = {}
    seen: set[int] = set()
    for nodeid in session.order:
        module = getattr(session.items[nodeid], "module", None)
        if module is None or id(module) in seen:
            continue
        seen.add(id(module))
        names = computed_at_import(module, session.kept.modules, children)
        if names:
            imported[nodeid.split("::")[0]] = names
    return {
        "order": session.order,
        "imported": imported,
        "elsewhere": session.elsewhere,
        "unfound": session.unfound,
        "imported_as": session.imported_as,
    }


def _stats_task(session: _Session, args: dict[str, Any], reporter: Reporter) -> list[Any]:
    """Tests in collection order on the unmutated engine: outcome, sites run, seconds; and,
    for an engine whose graph order can vary, the outcome in every other order too.  With
    `engine`, whether a test ran any code of the engine's file, sites or not (a profile hook
    until it does, which slows every call before); else only whether it ran a site."""
    assert session.patcher is not None
    results = []
    for nodeid in args["tests"]:
        reporter.phase(f"test {nodeid} on the unmutated engine")
        ran = session.patcher.record_sites()
        set_order(0)
        watch = runs(session.engine_file, threads=True) if args.get("engine") else None
        with watch or contextlib.nullcontext([False]) as engine:
            start = time.perf_counter()
            outcome, text = _run_item(session, nodeid)
            seconds = time.perf_counter() - start
        covers = tuple(sorted(ran()))
        ran_engine = engine[0] or bool(covers)
        runs_in: dict[int, tuple[str, Served]] = {0: (outcome, served())}
        for order in range(1, session.orders):
            set_order(order)
            same = repeats({o: sets for o, (_, sets) in runs_in.items()}, order)
            if same:  # the very run of an order already run: it ends the same
                runs_in[order] = runs_in[same[0]]
                continue
            start = time.perf_counter()
            runs_in[order] = (_run_item(session, nodeid)[0], served())
            seconds = max(seconds, time.perf_counter() - start)  # the slowest order sets deadlines
        differs = [o for o, (got, _) in runs_in.items() if got != outcome]
        set_order(0)
        assert session.kept is not None, "the host prepares it"
        kept = session.kept.kept(session.items[nodeid])
        results.append(
            TestRun(
                outcome,
                text,
                covers,
                ran_engine,
                seconds,
                tuple(differs),
                kept,
            )
        )
    _release(session)  # a wide fixture's teardown that fails is the tests' failure here
    return [r.to_json() for r in results]


def _habits_task(
    session: _Session, args: dict[str, Any], reporter: Reporter
) -> dict[str, list[list[str]]]:
    """Each test's habits on the unmutated engine, in graph order 0 (mutation.habits): what
    it did that lets a survivor live.  A test that does not pass here shows none.  Its wide
    fixtures are kept as when the survivors were judged.  With `undone`, only whether each
    passes with backward() doing nothing (NO_GRADIENT, for any op)."""
    _keep_as_judging(session, args)
    watch = session.habits or HabitWatch({})
    if args.get("undone"):  # only the runs with backward() doing nothing
        backward = watch.backward
        passing = _pass_undone(session, backward, args["tests"], reporter) if backward else []
        _release(session)
        return {nodeid: [[ANY_OP, NO_GRADIENT]] for nodeid in passing}
    found: dict[str, list[list[str]]] = {}
    for nodeid in args["tests"]:
        reporter.phase(f"test {nodeid}: what it does on the unmutated engine")
        set_order(0)
        with record_habits(watch) as seen:
            outcome, _ = _run_item(session, nodeid)
        if outcome == "passed":
            found[nodeid] = [[op, h] for op, names in seen["habits"].items() for h in names]
    _release(session)
    return found


def _pass_undone(
    session: _Session, backward: tuple[str, str, str], tests: list[str], reporter: Reporter
) -> list[str]:
    """The tests that still pass with the engine's backward() doing nothing, having called it
    (mutation.habits.backward_undone): they compare no gradient."""
    passing = []
    for nodeid in tests:
        reporter.phase(f"test {nodeid}: with backward() doing nothing")
        set_order(0)
        with backward_undone(backward) as calls:
            outcome, _ = _run_item(session, nodeid)
        if outcome == "passed" and calls[0]:
            passing.append(nodeid)
    return passing


def _warm_task(session: _Session, args: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
    """Session fixtures set up once (judges.fixtures): with `names`, plan which can be and try
    them here, in a child, counting the threads and open files each leaves; with `plan`, in
    the host, for good unless one leaves any (then they are torn down again)."""
    why_not: dict[str, str] = {}
    if "plan" in args:
        plan = [(str(t), str(n)) for t, n in args["plan"]]
    else:
        plan, why_not = plan_warm(session.items, args["order"], set(args["names"]))
    left: dict[str, str] = {}
    if plan:
        reporter.phase(f"setting up {', '.join(n for _, n in plan)} once")
        warmed = set_up_once(session.items, plan)
        left = warmed.left
        if "plan" in args and not left:
            session.warmed = warmed
        else:
            warmed.tear_down()
    return {"plan": plan, "why_not": why_not, "left": left}


def _prepare_sites(session: _Session) -> None:
    """The patcher's site markers for the mutants; what loading their kept code needs."""
    assert session.patcher is not None, "the host prepares it"
    session.patcher.prepare_sites(session.mutants.values())
    session.patcher.warm()


def _assign_task(session: _Session, args: dict[str, Any], reporter: Reporter) -> None:
    """In a host started before the mutants were generated: them, and what the habit
    recorder watches (TestsHost.assign)."""
    session.mutants = {m["id"]: Mutant.from_json(m) for m in args["mutants"]}
    session.habits = HabitWatch.from_json(args["habits"]) if args["habits"] else None
    _prepare_sites(session)


def _release(session: _Session) -> None:
    """The end of a task: the kept fixtures are torn down, their finalizers run."""
    if session.kept is not None and session.items:
        KeptFixtures.release(next(iter(session.items.values())).session)


def _keep_as_judging(session: _Session, args: Mapping[str, Any]) -> None:
    """A child after the stats run keeps wide fixtures as it found: which may depend on the
    engine is sent along (`dependent`), so no profile hook watches their set-up here."""
    assert session.kept is not None, "the host prepares it"
    session.kept.watch = False
    session.kept.dependent |= set(args.get("dependent", ()))


def _judge_task(session: _Session, args: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
    def failure(nodeid: str, reason: bool) -> str | None:
        session.quiet = not reason
        outcome, text = _run_item(session, nodeid)
        return f"{nodeid} fails at {text}" if outcome == "failed" else None

    assert session.patcher is not None
    _keep_as_judging(session, args)
    _hypothesis_untimed(session.items[nodeid] for nodeid in args["items"])
    mutant = session.mutants[args["mutant"]]
    run = run_mutant(
        session.patcher,
        mutant,
        args["items"],
        failure,
        reporter,
        item="test",
        matrix=session.matrix,
        orders=session.orders,
        budgets=args.get("budgets"),
        passes_in_every_order=True,  # run_tests_harness excludes a test the order changes
    )
    with contextlib.suppress(Exception):  # a teardown's failure here says nothing of the mutant
        _release(session)
    return run


@contextlib.contextmanager
def _said_on_stderr(path: Path) -> Iterator[Callable[[], str]]:
    """While pytest starts, what it writes to stderr (fd 2) goes to `path` too, so that a
    refusal to start (a usage error) can be quoted; after, fd 2 is what it was."""
    saved = os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 2)
    os.close(fd)
    try:
        yield lambda: path.read_text(encoding="utf-8", errors="replace")
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _refused(code: int, said: str) -> str:
    """Why pytest stopped before any test: its own words, and what minigrad's options do."""
    lines = [line for line in said.splitlines() if line.strip()][-4:]
    why = f"pytest stopped with exit code {code} before running any test"
    if lines:
        why += ", saying:\n" + "\n".join(f"  {line}" for line in lines)
    if "unrecognized arguments" in said and " -n" in said:
        why += (
            "\n`-n` comes from pytest-xdist, which pytest does not load here (not installed in "
            "this environment, or not loaded by its entry point); minigrad would run it with "
            "-n 0 anyway (each mutant's tests run in a child of their own, and --jobs runs "
            "children side by side): install it beside minigrad, or move `-n` out of addopts"
        )
    return why


class TestsHost:
    """A host holding a collected pytest session, with the engine served from its snapshot."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(
        self,
        spec: EngineSpec,
        paths: Sequence[str],
        limits: Limits,
        *,
        jobs: int = 1,
        mutants: Sequence[Mutant] = (),
        matrix: bool = False,
        extra: dict[str, Callable[[Any, dict[str, Any], Reporter], Any]] | None = None,
        orders: int | None = None,
        habits: HabitWatch | None = None,
        slots: Slots | None = None,
    ) -> None:
        self.spec = spec
        self.paths = list(paths)
        self.session = _Session(
            mutants={m.id: m for m in mutants},
            matrix=matrix,
            orders=spec.orders if orders is None else orders,
            engine_file=str(spec.path),
            habits=habits,
        )
        self.index = spec.index
        tasks: dict[str, Callable[[Any, dict[str, Any], Reporter], Any]] = {
            "list": _list_task,
            "stats": _stats_task,
            "judge": _judge_task,
            "warm": _warm_task,
            "habits": _habits_task,
            "assign": _assign_task,
            **(extra or {}),
        }
        self.limits = limits
        # where plugins write what they would write into the user's folder (scratch_args)
        self.scratch = Path(leftovers.make("pytest"))
        self.host = Host(self._setup, tasks, limits, jobs=jobs, slots=slots)
        self.warmed = False  # the host holds fixtures set up once (warm_fixtures)
        # test file -> its globals that hold what the engine computed at import (`tests`)
        self.imported: dict[str, tuple[str, ...]] = {}
        self.elsewhere = ""  # where a plain pytest run imports another copy of the engine
        self.unfound = False  # a plain pytest run finds no copy of it at all
        self.imported_as = ""  # the name your tests import the engine under
        # The host started before `assign`: the mutants, and the listing of your tests after
        # them, were sent to it; their answers are not read yet.
        self.unassigned = self.listing = False

    def assign(self, mutants: Sequence[Mutant], habits: HabitWatch | None) -> None:
        """The mutants to judge, and what the habit recorder watches: a host launched
        before they were known is sent them at once, and takes them in the host itself (so
        every child inherits them) as soon as it serves; one launched later (a restart)
        starts with them."""
        self.session.mutants = {m.id: m for m in mutants}
        self.session.habits = habits
        if self.host.pid:  # sent now, read once it serves, before the listing sent after it
            self.host.submit([self._assign_request(), Request("list", "list")])
            self.unassigned = self.listing = True

    def _setup(self, serve: Callable[[Any], None], reporter: Reporter) -> str | None:
        # The dataclasses pytest and your tests' imports define: compiled by an earlier run
        dataclass_code.take_role("tests")
        import pytest

        spec = self.spec
        before = list(sys.path)
        finder = serve_for_tests(spec, self.paths)

        def prepare() -> None:
            # what pytest put on the path, then the path as this process started (less what a
            # long-lived caller put on it since: another engine's folder, say)
            plain = plain_path(before, sys.path, spec.sys_path)
            plain = [p for p in plain if p not in before or p in STARTUP_PATH]
            # by each name your tests imported the engine under (else its own): found by any,
            # it is found; another copy found by one is said with that name
            names = list(dict.fromkeys(finder.names)) or [spec.module]
            elsewhere = [(installed_elsewhere(spec, plain, n), n) for n in names]
            self.session.elsewhere, self.session.imported_as = next(
                (found for found in elsewhere if found[0]), ("", names[0])
            )
            self.session.unfound = not any(importable_on(spec, plain, name) for name in names)
            _hypothesis_home(self.scratch)  # again: an older hypothesis the tests imported
            _hypothesis_seeded()
            import_engine(spec)  # tests that import it inside a test get the same module
            self.session.patcher = patcher_for(spec, self.index)
            _prepare_sites(self.session)  # none yet when the host started early: `assign`
            # once, here: every child inherits it (reading sys.modules per child costs)
            self.session.kept = KeptFixtures(engine_module_names(str(spec.path)), str(spec.path))

        plugin = _Plugin(serve, self.session, prepare)
        reporter.phase("collecting your tests")
        _hypothesis_home(self.scratch)  # its pytest plugin stores examples from configure on
        loaded = _autoloaded_plugins()
        args = [*pytest_args(self.paths, loaded), *scratch_args(self.scratch, loaded)]
        with _said_on_stderr(self.scratch / "pytest-stderr.txt") as said:
            code = pytest.main(args, plugins=[plugin])
        if plugin.served:
            return None
        if plugin.refused:
            return plugin.refused
        if plugin.errors:
            return "they fail to collect:\n" + "\n".join(plugin.errors)
        return _refused(int(code), said())

    def __enter__(self) -> TestsHost:
        return self.ready()

    def launch(self) -> None:
        """Start collecting, unless it started already; `ready` waits for it."""
        if not self.host.pid:
            self.host.launch()
            self.unassigned = self.listing = False  # forked with the mutants it judges

    def ready(self) -> TestsHost:
        """The tests collected and served; HarnessError if they cannot be run at all."""
        self.launch()
        try:
            self.host.wait_ready()
            if self.unassigned:
                self.unassigned = False
                outcome = self.host.collect(["assign"])["assign"]
                if not outcome.ok:  # as when the host's own preparation fails: it cannot judge
                    raise HostError(outcome)
        except HostError as err:
            raise HarnessError(
                memory_hint(
                    f"your tests in {' '.join(self.paths)} cannot be run: {err}", self.limits
                )
            ) from err
        return self

    def _assign_request(self) -> Request:
        session = self.session
        habits = session.habits.to_json() if session.habits is not None else None
        mutants = [m.to_json() for m in session.mutants.values()]
        return Request("assign", "assign", {"mutants": mutants, "habits": habits}, in_host=True)

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        # Fixtures set up in the host are torn down there, once it stops serving.
        self.host.close(grace=self.limits.timeout if self.warmed else 0.0)
        shutil.rmtree(self.scratch, ignore_errors=True)

    def restart(self) -> None:
        """A new host, collecting again: the last one died (nothing it held is kept)."""
        self.host.close()
        self.warmed = False
        self.ready()

    def run(self, requests: Sequence[Request]) -> dict[str, ChildOutcome]:
        """Serve requests (list, stats, judge) in children of the collected session."""
        return self.host.run(list(requests))

    def tests(self) -> list[str]:
        """The collected tests, in collection order; `imported` is set too."""
        if self.listing:  # sent with the mutants (assign)
            self.listing = False
            outcome = self.host.collect(["list"])["list"]
        else:
            outcome = self.run([Request("list", "list")])["list"]
        if not outcome.ok:
            raise HarnessError(f"listing your tests failed: {outcome.message}")
        self.imported = {str(f): tuple(map(str, n)) for f, n in outcome.value["imported"].items()}
        self.elsewhere = str(outcome.value["elsewhere"])
        self.unfound = bool(outcome.value["unfound"])
        self.imported_as = str(outcome.value["imported_as"])
        return [str(nodeid) for nodeid in outcome.value["order"]]


@dataclass(frozen=True)
class TestRun:
    """One test on the unmutated engine, as the stats child saw it: what crosses the pipe,
    with one reader."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    outcome: str  # passed, failed, skipped; "depends": passes only after the tests before it
    text: str = ""  # where it failed
    covers: tuple[str, ...] = ()  # the mutants whose sites it ran
    engine: bool = False  # it ran code of the engine's file
    seconds: float = 0.0  # its slowest run, over the graph orders
    differs_in_orders: tuple[int, ...] = ()  # orders whose outcome differs from order 0
    # (name, scope, may depend on the engine): the wide fixtures kept after it (judges.fixtures)
    fixtures: tuple[tuple[str, str, bool], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TestRun:
        return cls(
            str(data["outcome"]),
            str(data["text"]),
            tuple(map(str, data["covers"])),
            bool(data["engine"]),
            float(data["seconds"]),
            tuple(map(int, data["differs_in_orders"])),
            tuple((str(n), str(scope), bool(d)) for n, scope, d in data.get("fixtures", ())),
        )


Stats = dict[str, TestRun]


def _stats(
    tests: TestsHost, chunks: Sequence[Sequence[str]], *, engine: bool = False
) -> tuple[Stats, list[str]]:
    """Each chunk's tests in one child; the tests of chunks that did not finish.  With
    `engine`, each says whether it ran any code of the engine (_stats_task)."""
    requests = [
        Request(str(k), "stats", {"tests": list(chunk), "engine": engine}, per_phase=True)
        for k, chunk in enumerate(chunks)
    ]
    results: Stats = {}
    unfinished: list[str] = []
    for key, outcome in tests.run(requests).items():
        chunk = chunks[int(key)]
        if outcome.status == "internal":
            raise HarnessError(f"minigrad failed while running your tests: {outcome.message}")
        if not outcome.ok:
            if len(chunk) == 1:
                results[chunk[0]] = TestRun("failed", outcome.message)
            else:
                unfinished += chunk
            continue
        for nodeid, value in zip(chunk, outcome.value, strict=True):
            results[nodeid] = TestRun.from_json(value)
    return results, unfinished


class KeptRuns:
    """What chunks of your tests did on the unmutated engine in the last run (the result
    cache, mutation.cache.MutantKeys): their first runs, or their habits.  Each chunk is
    kept under `kind`, its tests and the code of the ops whose sites they ran: the same tests
    run the same code in a child forked from the same collected session, so a chunk is run
    again only when that code changed."""

    def __init__(self, keys: MutantKeys, op_of: Mapping[str, str], kind: Sequence[str]) -> None:
        self.keys, self.op_of, self.kind = keys, op_of, list(kind)
        self.reused = 0  # tests whose run was the last run's

    @classmethod
    def of(cls, setup: Setup, *kind: str) -> KeptRuns | None:
        """None without the result cache."""
        keys = setup.run_keys
        if keys is None:
            return None
        return cls(keys, {m.id: m.op for m in setup.mutants.values()}, kind)

    def _name(self, chunk: Sequence[str]) -> str:
        return "\0".join([*self.kind, "", *chunk])  # apart from every battery case's name

    def take(self, chunk: Sequence[str]) -> Any:
        """The chunk's last run, if it holds (else None)."""
        kept = self.keys.kept_case(self._name(chunk))
        if kept is None:
            return None
        self.reused += len(chunk)
        return kept[0]

    def keep(self, chunk: Sequence[str], reached: Iterable[str], value: Any) -> None:
        self.keys.keep_reached(self._name(chunk), reached, self.op_of, value)


def run_stats(tests: TestsHost, kept: KeptRuns | None = None) -> Stats:
    """Every collected test once on the unmutated engine: (outcome, text, sites and seconds).

    Tests run in chunks, in collection order, a child per chunk (a child per
    test costs more than most tests).  A test that fails, or a chunk that hangs
    or dies, is run again alone, from the collected state: that is how each
    mutant's tests start, and it names the test to blame.  With `kept`, a chunk
    none of whose reached code changed since the last run is that run's.
    """
    ids = tests.tests()
    size = max(1, math.ceil(len(ids) / (4 * tests.host.jobs)))
    results: Stats = {}
    chunks: list[list[str]] = []
    for chunk in (ids[i : i + size] for i in range(0, len(ids), size)):
        runs = kept.take(chunk) if kept is not None else None
        if runs is None:
            chunks.append(chunk)
        else:
            results.update(zip(chunk, runs, strict=True))
    fresh, again = _stats(tests, chunks)
    results.update(fresh)
    if kept is not None:
        for chunk in chunks:
            if all(n in fresh for n in chunk):
                runs = [fresh[n] for n in chunk]
                kept.keep(chunk, (m for run in runs for m in run.covers), runs)
    again += [nodeid for nodeid, run in results.items() if run.outcome == "failed"]
    if again:
        alone, _ = _stats(tests, [[nodeid] for nodeid in again])
        results.update(alone)
    for nodeid in [n for n in again if results[n].outcome == "failed" and ids.index(n) > 0]:
        # Run alone it fails; after the tests before it, in collection order, does it pass?
        prefix = ids[: ids.index(nodeid) + 1]
        ordered, _ = _stats(tests, [prefix])
        if nodeid in ordered and ordered[nodeid].outcome == "passed":
            results[nodeid] = dataclasses.replace(ordered[nodeid], outcome="depends")
    return {nodeid: results[nodeid] for nodeid in ids}


def warm_fixtures(tests: TestsHost, harness: Harness) -> Harness:
    """The session fixtures the stats run showed independent of the engine, set up once in the
    host before it forks the judging children (judges.fixtures), after a trial in a child;
    the harness says which were, and why the others were not (`warmed`)."""
    names = sorted(
        n for n, (scope, dep) in harness.fixtures.items() if scope == "session" and not dep
    )
    warmed: dict[str, str] = {}
    for _ in range(2):  # a second trial without those that leave a thread or a file open
        if not names:
            break
        args = {"names": names, "order": list(harness.items)}
        trial = tests.run([Request("warm", "warm", args, per_phase=True)])["warm"]
        if not trial.ok:
            return dataclasses.replace(
                harness, warmed={n: f"its trial set-up failed: {trial.message}" for n in names}
            )
        warmed.update(trial.value["why_not"])
        left = trial.value["left"]
        warmed.update({n: f"it leaves {why}" for n, why in left.items()})
        names = [n for n in names if n not in warmed]
        if left:
            continue
        said = _set_up_in_host(tests, trial.value["plan"])
        warmed.update({n: said for _, n in trial.value["plan"]})
        break
    return dataclasses.replace(harness, warmed=warmed)


def _set_up_in_host(tests: TestsHost, plan: list[list[str]]) -> str:
    """Set the planned fixtures up in the host itself: "" if they are, else why not.  A host
    that dies there (the trial in a child did not) is started again, collecting afresh."""
    tests.warmed = True  # even a failed set-up may have left a teardown to run
    try:
        outcome = tests.run([Request("warm-host", "warm", {"plan": plan}, in_host=True)])
    except HostError as err:
        tests.restart()
        return f"its set-up ended the host: {err}"
    if not outcome["warm-host"].ok:
        return f"its set-up in the host failed: {outcome['warm-host'].message}"
    left = outcome["warm-host"].value["left"]  # the trial left nothing; the host's own run did
    return "; ".join(f"in the host it leaves {why}" for why in left.values())


# Errors a test raises for reasons of its own, whatever the engine computes: a name it never
# imported, a module that is not installed, code that does not parse (as _quote says them:
# `test_x.py:28: the line (NameError: ...)`).
_OWN_ERROR = re.compile(r"\((NameError|ModuleNotFoundError|ImportError|SyntaxError): ")


def _own_error(text: str, engine_files: Collection[str]) -> bool:
    """A failure the test raised itself, in its own file, not in the engine's."""
    return _OWN_ERROR.search(text) is not None and not text.startswith(tuple(engine_files))


def run_tests_harness(
    tests: TestsHost, what: str = "your tests", last: KeptRuns | None = None
) -> Harness:
    """Every test once on the unmutated engine, sites recorded (the result cache's runs, with
    `last`, where they hold); HarnessError naming the failures."""
    stats = run_stats(tests, last)
    if not stats:
        raise HarnessError(f"{what} in {' '.join(tests.paths)} collect no test")
    differs = {n: run.differs_in_orders for n, run in stats.items() if run.differs_in_orders}
    depends = [n for n, run in stats.items() if run.outcome == "depends"]
    excluded = tuple(
        f"{nodeid}: its result on the unmutated engine changes with the graph order "
        f"(orders {', '.join(map(str, orders))} differ from order 0): it cannot judge"
        for nodeid, orders in differs.items()
    ) + tuple(
        f"{nodeid}: it passes only after the tests before it (it uses state they leave), "
        "and fails alone: it cannot judge a mutant by itself"
        for nodeid in depends
    )
    failed = [
        (nodeid, run.text)
        for nodeid, run in stats.items()
        if run.outcome == "failed" and nodeid not in differs
    ]
    if failed:
        engine_files = {f"{path.name}:" for path in tests.spec.files}
        raise HarnessError(
            f"{what} must pass on the unmutated engine; these do not:\n"
            + "\n".join(f"{nodeid}: {text}" for nodeid, text in failed)
            + (f"\n{elsewhere_note(tests)}" if tests.elsewhere else ""),
            own_errors=all(_own_error(text, engine_files) for _, text in failed),
        )
    kept = [n for n, run in stats.items() if run.outcome == "passed" and n not in differs]
    if not kept:
        raise HarnessError(
            f"no test in {' '.join(tests.paths)} can judge: each was skipped"
            + (" or depends on the graph order" if differs else "")
        )
    covers = {n: frozenset(stats[n].covers) for n in kept}
    if not any(covers.values()) and not _run_engine_code(tests, kept):
        raise NoEngineCode(tests.paths, tests.spec)
    seconds = {n: stats[n].seconds for n in kept}
    fixtures: dict[str, tuple[str, bool]] = {}
    for name, scope, dependent in (f for n in kept for f in stats[n].fixtures):
        fixtures[name] = (scope, dependent or fixtures.get(name, ("", False))[1])
    return Harness(
        tuple(kept),
        covers,
        seconds,
        excluded=excluded,
        fixtures=fixtures,
        imported=tests.imported,
        findings=tuple(Finding("", note, check="note") for note in _path_notes(tests)),
        kept=(last.reused, len(stats)) if last is not None else (0, 0),
    )


def _path_notes(tests: TestsHost) -> list[str]:
    """What a plain `pytest` run would import differently from minigrad's run: said."""
    if tests.elsewhere:
        return [elsewhere_note(tests)]
    return [unfound_note(tests)] if tests.unfound else []


def unfound_note(tests: TestsHost) -> str:
    """Your tests import the engine's package only because minigrad put its folder first on
    the path: a plain `pytest` run here finds no copy of it (TestsHost.unfound)."""
    top, shown = _imported_top(tests), _shown_folder(tests)
    where = "this folder" if shown == "." else shown
    return (
        f"a plain `pytest` run here finds no `{top}` to import: your tests import it only "
        f"because minigrad puts {where}, which holds it, first on the path (as `python -m "
        f'pytest` run from {where} does). Add `pythonpath = ["{shown}"]` to '
        "[tool.pytest.ini_options], or install your project editable (`uv sync`, `pip "
        "install -e .`), so that a plain `pytest` runs the tests judged here"
    )


def _imported_top(tests: TestsHost) -> str:
    """The top-level package your tests import the engine from (`minigrad`, or `src` where
    they import `src.minigrad.engine`)."""
    return (tests.imported_as or tests.spec.module).split(".")[0]


def _shown_folder(tests: TestsHost) -> str:
    """The folder that holds the package your tests import the engine from (the one minigrad
    puts first on the path, unless they import it by a longer name), as a user would type it."""
    folder = top_of(tests.spec, tests.imported_as).parent
    return os.path.relpath(folder) if folder.is_relative_to(Path.cwd()) else str(folder)


def elsewhere_note(tests: TestsHost) -> str:
    """Why a plain `pytest` run can pass or fail where minigrad's run of the same tests does
    not: it imports another copy of the engine's package (TestsHost.elsewhere)."""
    top, own, shown = (
        _imported_top(tests),
        top_of(tests.spec, tests.imported_as),
        _shown_folder(tests),
    )
    return (
        f"plain `pytest` imports `{top}` from {tests.elsewhere}, another copy, not from "
        f"{own}, the engine checked here: minigrad runs your tests against {own}, plain "
        "pytest against that copy (an install that is not editable copies your files once, "
        "so it misses every edit since). Install your project editable (`uv sync`, or `pip "
        f'install -e .`), or put {shown} first on pytest\'s path (`pythonpath = ["{shown}"]` '
        "in [tool.pytest.ini_options])"
    )


def _run_engine_code(tests: TestsHost, kept: Sequence[str]) -> bool:
    """Does any of the tests run code of the engine's file?  Asked only when none ran a
    mutant's site: whether they test another module, or only code no operator changes."""
    watched, _ = _stats(tests, [kept], engine=True)
    return any(run.engine for run in watched.values())


class NoEngineCode(HarnessError):
    """The tests pass, but none runs a line of the engine named: they test another module,
    so they cannot judge this one (no 0% made of 'not covered')."""

    def __init__(self, paths: Sequence[str], spec: EngineSpec) -> None:
        self.paths = tuple(paths)
        self.engine = spec.path.name
        super().__init__(self.explain())

    def explain(self, origin: str = "", remedy: str = "") -> str:
        """`origin`: where the paths came from ("from pyproject.toml"); `remedy`: what to do."""
        said = ", ".join(self.paths) + (f", {origin}" if origin else "")
        return (
            f"none of your tests ({said}) ran code of {self.engine}: they test another "
            f"module, so they cannot judge this one; "
            + (remedy or "name its tests with --tests, or use --judge battery")
        )


def _habit_watch(setup: Setup) -> HabitWatch:
    """The steps and forwards of the engine's ops, wherever in its files (mutation.habits).
    Code that ops share (`__radd__ = __add__`) is the first op's, as its mutants are: the
    habits of add's survivors were recorded as radd's, and no habit explained them."""
    engine = str(setup.spec.path)
    forwards: dict[tuple[str, str, int], str] = {}
    for op in setup.profile.ops:
        forwards.setdefault((op.file or engine, op.qualname, op.line), op.name)
    return HabitWatch(
        steps=step_owners(  # a local-grads step runs no code of its own
            setup.profile.ops,
            lambda s: None if s.style == "local-grads" else (s.file or engine, s.qualname, s.line),
        ),
        forwards=forwards,
        children=setup.profile.children_attr,
        backward=(engine, setup.profile.class_qualname, setup.profile.backward_name),
        grad=setup.profile.grad_name,
    )


def _host_for(spec: EngineSpec, config: CampaignConfig, slots: Slots | None) -> TestsHost:
    """The tests host of a campaign run with `config` (its graph orders: those of its judge)."""
    return TestsHost(
        spec,
        config.tests,
        host_limits(config),
        jobs=config.jobs,
        matrix=config.matrix,
        orders=config.orders_for(TestsJudge.name, spec.orders),
        slots=slots,
    )


class EarlyTests:
    """Your tests' host, launched before the engine is profiled and its mutants generated:
    pytest's import and your tests' collection run beside that work (the host was ready
    about 0.2 s after its launch on the scaled-up student suite, measured with timestamps).
    The campaign takes it when discovery kept the engine's spec as the user named it (no
    re-export followed, no other file of its package holding steps) and runs with the same
    settings for it; else it is closed unused, and the campaign launches its own."""

    def __init__(self, spec: EngineSpec, config: CampaignConfig) -> None:
        self.spec, self.config = spec, config
        self.slots = Slots(config.jobs)  # the campaign's: the host holds them from its fork
        self.launched = _host_for(spec, config, self.slots)
        self.launched.launch()
        self.taken = False

    def take(self, spec: EngineSpec, config: CampaignConfig) -> TestsHost | None:
        """The host, if it serves this spec and config (else closed); once."""

        def kept(c: CampaignConfig) -> tuple[Any, ...]:
            return (c.tests, c.jobs, c.matrix, c.judges, c.timeout, c.memory_mib)

        if self.taken:
            return None
        self.taken = True
        if spec != self.spec or kept(config) != kept(self.config):
            self.launched.close()
            return None
        return self.launched

    def close(self) -> None:
        """The host closed, taken or not (the campaign closes it too, unless it failed
        before it could), and the slots."""
        self.taken = True
        self.launched.close()
        self.slots.close()


@contextlib.contextmanager
def tests_started_early(spec: EngineSpec, config: CampaignConfig) -> Iterator[EarlyTests | None]:
    """EarlyTests when your tests judge, closed at the end of the block; else None."""
    if TestsJudge.name not in config.judges:
        yield None
        return
    early = EarlyTests(spec, config)
    try:
        yield early
    finally:
        early.close()


class TestsJudge:
    """Judges by the user's pytest tests, in a host of their own that collects them once."""

    name = "tests"
    item = "test"

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        early = setup.early_tests
        self.tests = (
            early
            if isinstance(early, TestsHost)
            else _host_for(setup.spec, setup.config, setup.slots)
        )
        self.tests.assign(list(setup.mutants.values()), _habit_watch(setup))

    def engine_tasks(self) -> dict[str, Task]:
        return {}

    def start(self) -> None:
        self.tests.launch()  # collecting takes a while: it runs beside other work

    def close(self) -> None:
        self.tests.close()

    def harness(self, engine: Host) -> Harness:
        last = KeptRuns.of(self.setup, "tests")
        return warm_fixtures(self.tests, run_tests_harness(self.tests.ready(), last=last))

    def order(self, mutant: Mutant, harness: Harness) -> list[str]:
        return covering(mutant, harness)

    def explain(self, harness: Harness, survivors: Sequence[Mutant]) -> Harness:
        """The habits of the tests that ran a survivor's code (mutation.habits), recorded now,
        each test run again in a child of the collected session: the recorder's profile hook
        slows every call, so only the tests that explain something pay for it.  The runs with
        backward() doing nothing go in children of their own, each test within a mutant's
        deadline: a test that never ends so (training until a loss falls) costs only that
        claim.  With the result cache, a chunk of tests none of whose reached code changed
        since the last run shows the habits it showed then."""
        wanted = {t for m in survivors for t in covering(m, harness)}
        tests = [t for t in harness.items if t in wanted]
        if not tests:
            return harness
        size = max(1, math.ceil(len(tests) / (2 * self.tests.host.jobs)))
        chunks = [tests[i : i + size] for i in range(0, len(tests), size)]
        kinds = ("habits", "habits-undone")
        found: dict[str, dict[str, Any]] = {kind: {} for kind in kinds}
        todo: list[tuple[str, list[str], KeptRuns | None]] = []
        for kind in kinds:
            last = KeptRuns.of(self.setup, kind, *harness.dependent)
            for chunk in chunks:
                kept = last.take(chunk) if last is not None else None
                if kept is None:
                    todo.append((kind, chunk, last))
                else:
                    found[kind].update(kept)
        outcomes = self.tests.run(
            [
                Request(
                    str(k),
                    "habits",
                    {"tests": c, "dependent": harness.dependent, "undone": kind != "habits"},
                    # a mutant's deadline for each: a test need not end with no gradients
                    timeout=deadline_for(c, harness, self.setup.config)
                    if kind != "habits"
                    else None,
                    per_phase=True,
                )
                for k, (kind, c, _) in enumerate(todo)
            ]
        )
        for key, outcome in outcomes.items():
            kind, chunk, last = todo[int(key)]
            raise_internal(outcome, f"recording what tests {', '.join(chunk)} do")
            if outcome.ok:  # a chunk that hung or died shows no habit: no claim is made
                found[kind].update(outcome.value)
                if last is not None:
                    reached = (m for t in chunk for m in harness.covers.get(t, ()))
                    last.keep(chunk, reached, outcome.value)
        pairs = {n: [*p, *found["habits-undone"].get(n, ())] for n, p in found["habits"].items()}
        habits = {n: frozenset((op, h) for op, h in p) for n, p in pairs.items()}
        return dataclasses.replace(harness, habits=habits)

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
            self.tests.host,
            "judge",
            harness,
            self.setup.config,
            self.item,
            self.order,
            progress,
            ahead,
        )
