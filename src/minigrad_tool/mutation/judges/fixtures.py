"""Fixtures once: a child keeps the fixtures wider than a test between the tests it runs.

pytest tears down a test's function fixtures after it, and its module's, class's
and session's only when the next test needs other ones.  A judge's child runs
one mutant's covering tests, then, to confirm a kill, the killer on the
unmutated engine and in other graph orders: run with pytest's own `nextitem=None`,
every run would set up every session fixture again (a fixture that loads a model
or a dataset, once per test per order).  Here a run tears down only what the
next test does not share, so a session fixture is set up once per child.

Across a switch of engine (mutant or original) or of graph order, the fixtures
are kept only if none may depend on the engine: no kept value holds the
engine's objects, and no engine code ran while a test's fixtures were set up
(a number the engine computed is the engine's too).  Otherwise they are set
up again, under the engine and order at hand.

A session fixture the stats run showed independent of the engine is set up
once for the whole campaign, in the host before it forks the judging children
(`set_up_once`): every child inherits its value, none sets it up or tears it
down, and the host tears it down at the end.  Not when it is parametrized, needs
a narrower or engine-dependent fixture, or starts a thread or keeps a file open
(a trial in a child counts them first: forked children would share those), or,
unless it is autouse, changes the environment or the working folder.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Collection, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from minigrad_tool.adapter.nodes import GRAD_ALIASES, read_attribute
from minigrad_tool.adapter.trace import runs

__all__ = [
    "KeptFixtures",
    "Warmed",
    "computed_at_import",
    "engine_module_names",
    "plan_warm",
    "set_up_once",
]

_WIDE = frozenset({"session", "package", "module", "class"})
# How far a value is searched for the engine's objects: containers and instance attributes,
# this deep and this many objects (a fixture holding a dataset is not walked to its end).
_DEPTH = 4
_MAX_OBJECTS = 2000


@dataclass(frozen=True)
class _Parents:
    """pytest's `nextitem`, standing for "a test of the same parents": the item's own
    (function) fixtures are torn down, its module's, class's and session's are kept."""

    item: Any

    def listchain(self) -> list[Any]:
        chain: list[Any] = self.item.listchain()
        return chain[:-1]


def _objects(value: Any) -> Iterator[Any]:
    """Value, then what it holds, breadth first, bounded (_DEPTH, _MAX_OBJECTS)."""
    seen: set[int] = set()
    layer = [value]
    for _ in range(_DEPTH):
        below: list[Any] = []
        for obj in layer:
            if id(obj) in seen or len(seen) >= _MAX_OBJECTS:
                continue
            seen.add(id(obj))
            yield obj
            if isinstance(obj, dict):
                below += [*obj.keys(), *obj.values()]
            elif isinstance(obj, list | tuple | set | frozenset):
                below += list(obj)
            elif hasattr(obj, "__dict__") and not isinstance(obj, type):
                below += list(vars(obj).values())
        layer = below


def _engine_made(value: Any, modules: frozenset[str]) -> bool:
    """Does the value hold an object of a class from the engine's modules?"""
    return any(type(obj).__module__ in modules for obj in _objects(value))


def _computed(obj: Any, modules: frozenset[str], children: str | None) -> bool:
    """Is it a node of the engine that an op made (it has children), or whose gradient a
    backward() set (a `.grad` other than zero)?  A leaf or a model's parameters are not."""
    if type(obj).__module__ not in modules:
        return False
    with contextlib.suppress(Exception):  # whatever the engine keeps there (in __slots__ too)
        if children is not None and len(read_attribute(obj, children, ())):
            return True
    for name in ("grad", *GRAD_ALIASES):  # `.gradient`, where the engine keeps it so
        with contextlib.suppress(Exception):  # a number, an array, a node, or None
            grad = getattr(obj, name, None)
            grad = getattr(grad, "data", grad)  # a gradient kept as a node
            if grad is not None and bool((grad != 0).any() if hasattr(grad, "any") else grad):
                return True
    return False


def computed_at_import(module: Any, modules: frozenset[str], children: str | None) -> list[str]:
    """The names of a test module's globals that hold what the engine computed while the
    module was imported (an op's result, a gradient): that ran on the unmutated engine,
    before any mutant was put in, so a test that checks it cannot judge a mutant."""
    found = []
    for name, value in list(vars(module).items()):
        if isinstance(value, type | ModuleType) or name.startswith("__"):
            continue  # its classes and the modules it imported are not walked into
        if any(_computed(obj, modules, children) for obj in _objects(value)):
            found.append(name)
    return found


@contextlib.contextmanager
def _unwatched() -> Iterator[list[bool]]:
    yield [False]


@contextlib.contextmanager
def _fresh_request(item: Any) -> Iterator[None]:
    """A test's fixture request made anew for a run, and dropped after it (with the values
    it filled in), so that the test can run again: pytest-rerunfailures does the same."""
    if hasattr(item, "_request") and not item._request:
        item._initrequest()
    try:
        yield
    finally:
        if hasattr(item, "_request"):
            item._request = False
            item.funcargs = None


@dataclass
class KeptFixtures:
    """Which wide fixtures a child keeps between the tests it runs, and when to drop them."""

    modules: frozenset[str]  # the engine's module names (a value holding their objects)
    engine_file: str  # the engine's file, as its code objects name it
    mode: Hashable = None  # the engine and graph order the kept fixtures were set up under
    # A kept fixture may depend on the engine: its value holds the engine's objects, or the
    # engine ran while it was set up (a number it computed is the engine's too)
    engine_made: bool = False
    dependent: set[str] = field(default_factory=set)  # wide fixtures that may depend on it
    # Watch each wide fixture's setup for engine code (the stats run, once per child, on the
    # unmutated engine); a judging child is told the stats run's answer instead, as a profile
    # hook slows a heavy fixture's setup in every child.
    watch: bool = True

    def run(self, item: Any, mode: Hashable) -> list[Any]:
        """pytest's run of one test (runtestprotocol's steps), under `mode` (the engine and
        graph order): its reports."""
        from _pytest.runner import call_and_report

        self._before(item, mode)
        with _fresh_request(item):
            # Watched only when a wide fixture is set up now: a profile hook slows every call
            watching = self.watch and self._unset(item)
            before = set(self._wide(item)) if watching else set()
            with runs(self.engine_file) if watching else _unwatched() as ran:
                reports = [call_and_report(item, "setup", log=False)]
            if ran[0]:
                self.engine_made = True
                self.dependent |= set(self._wide(item)) - before  # set up while it ran
            if reports[0].passed:
                reports.append(call_and_report(item, "call", log=False))
            stop = item.session.shouldfail or item.session.shouldstop
            nextitem = None if stop else _Parents(item)
            reports.append(call_and_report(item, "teardown", log=False, nextitem=nextitem))
        self._after(item)
        return reports

    def _before(self, item: Any, mode: Hashable) -> None:
        """Drop what `item` does not share, and everything if the mode changed and a kept
        fixture may depend on the engine."""
        state = item.session._setupstate
        if mode != self.mode and self.engine_made:
            state.teardown_exact(None)
            self.engine_made = False
        else:
            state.teardown_exact(_Parents(item))
        self.mode = mode

    def _after(self, item: Any) -> None:
        """Does a wide fixture `item` kept hold the engine's objects?"""
        for name, (_, value) in self._wide(item).items():
            if name in self.dependent or _engine_made(value, self.modules):
                self.engine_made = True
                self.dependent.add(name)

    @staticmethod
    def _wide(item: Any) -> dict[str, tuple[str, Any]]:
        """The wide fixtures `item` uses that are set up now: name -> (scope, value)."""
        info = getattr(item, "_fixtureinfo", None)  # a doctest item has none
        found = {}
        for name, defs in info.name2fixturedefs.items() if info is not None else ():
            fixture = defs[-1]
            cached = getattr(fixture, "cached_result", None)
            if fixture.scope in _WIDE and cached is not None:
                found[name] = (str(fixture.scope), cached[0])
        return found

    @staticmethod
    def _unset(item: Any) -> bool:
        """Will the setup of `item` set up a wide fixture (one it uses is not set up now)?"""
        info = getattr(item, "_fixtureinfo", None)
        return any(
            defs[-1].scope in _WIDE and getattr(defs[-1], "cached_result", None) is None
            for defs in (info.name2fixturedefs.values() if info is not None else ())
        )

    def kept(self, item: Any) -> tuple[tuple[str, str, bool], ...]:
        """The wide fixtures `item` shares with the tests after it: (name, scope, whether it
        may depend on the engine, so is set up again at a switch of engine or order)."""
        wide = self._wide(item)
        return tuple((n, wide[n][0], n in self.dependent) for n in sorted(wide))

    @staticmethod
    def release(session: Any) -> None:
        """Tear everything down (the end of a task): the kept fixtures' finalizers run."""
        session._setupstate.teardown_exact(None)


def engine_module_names(engine_file: str) -> frozenset[str]:
    """The loaded modules whose file is in the engine's folder (its package's `nn` too): an
    object of one of their classes may hold the engine's nodes."""
    folder = os.path.dirname(os.path.realpath(engine_file))
    names = set()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and os.path.dirname(file) == folder:
            names.add(name)
    return frozenset(names)


@dataclass(frozen=True)
class _SessionOnly:
    """pytest's SetupState sets up an item's chain of nodes; this stands for the session."""

    session: Any

    def listchain(self) -> list[Any]:
        return [self.session]


@dataclass(frozen=True)
class _State:
    """What of this process a fixture set up before the fork must leave as it found it:
    threads and open files (Linux's /proc; None where they cannot be counted), which forked
    children would lose or share, and the environment and working folder, which tests that
    do not ask for the fixture would otherwise see changed too."""

    counts: tuple[int, int] | None  # threads, open files
    environ: frozenset[tuple[str, str]]
    cwd: str

    @classmethod
    def now(cls) -> _State:
        try:
            counts = len(os.listdir("/proc/self/task")), len(os.listdir("/proc/self/fd"))
        except OSError:
            counts = None
        return cls(counts, frozenset(os.environ.items()), os.getcwd())

    def left_by(self, before: _State, autouse: bool) -> str:
        """What changed since `before`, in words ("" if nothing).  An autouse fixture's change
        of environment or folder is no change for any test: every test sees it in pytest too."""
        if self.counts is None or before.counts is None:
            return "threads and open files cannot be counted here"
        threads, files = (now - then for now, then in zip(self.counts, before.counts, strict=True))
        said = [f"{threads} thread(s) started"] * (threads > 0) + [f"{files} file(s) open"] * (
            files > 0
        )
        if autouse:
            return " and ".join(said)
        changed = sorted({k for k, _ in self.environ ^ before.environ})
        said += [f"the environment changed ({', '.join(changed)})"] * bool(changed)
        said += ["the working folder changed"] * (self.cwd != before.cwd)
        return " and ".join(said)


def plan_warm(
    items: Mapping[str, Any], order: Sequence[str], names: Collection[str]
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Which of `names` (session fixtures independent of the engine) can be set up once before
    the fork, each through the first test in `order` that uses it: (test, fixture) pairs in
    set-up order, and the others with why not."""
    plan: list[tuple[str, str]] = []
    why_not: dict[str, str] = {}
    planned: set[int] = set()
    for nodeid in order:
        info = getattr(items[nodeid], "_fixtureinfo", None)
        if info is None:  # a doctest item has none
            continue
        params = getattr(getattr(items[nodeid], "callspec", None), "params", {})
        for name in info.names_closure:
            defs = info.name2fixturedefs.get(name) if name in names else None
            if not defs or id(defs[-1]) in planned:
                continue
            fixture = defs[-1]
            why = _not_once(fixture, name in params, info.name2fixturedefs, names)
            if why:
                why_not[name] = why
                continue
            planned.add(id(fixture))
            plan.append((nodeid, name))
    return plan, {n: w for n, w in why_not.items() if n not in {name for _, name in plan}}


def _not_once(
    fixture: Any, parametrized: bool, defs: Mapping[str, Sequence[Any]], names: Collection[str]
) -> str:
    """Why this fixture cannot be set up once for every child ("" if it can)."""
    if fixture.scope != "session":
        return f"{fixture.scope} scope"
    if fixture.params is not None or parametrized:
        return "parametrized"
    for arg in fixture.argnames:
        if arg != "request" and arg not in names:
            return f"it needs {arg}, which cannot be"
        if arg != "request" and defs.get(arg) and defs[arg][-1].scope != "session":
            return f"it needs {arg}, which is narrower"
    return ""


@dataclass
class Warmed:
    """Fixtures set up once in this process: what tears them down, and what each left
    behind that forked children could not share (fixture -> words)."""

    finalizers: list[Callable[[], object]]
    left: dict[str, str]

    def tear_down(self) -> None:
        """The fixtures' finalizers, last set up first; a failing one does not stop the rest."""
        while self.finalizers:
            with contextlib.suppress(Exception):
                self.finalizers.pop()()


def set_up_once(items: Mapping[str, Any], plan: Sequence[tuple[str, str]]) -> Warmed:
    """Set up the planned fixtures here, outside any test: their values stay cached in their
    FixtureDefs, and their finalizers leave pytest's stack (a child tearing down its tests
    never reaches them), held by the result instead."""
    session = items[plan[0][0]].session
    state = session._setupstate
    state.setup(_SessionOnly(session))
    mark = len(state.stack[session][0])
    warmed = Warmed([], {})
    try:
        for nodeid, name in plan:
            item = items[nodeid]
            before = _State.now()
            with _fresh_request(item):
                item._request.getfixturevalue(name)
            fixture = item._fixtureinfo.name2fixturedefs[name][-1]
            autouse = bool(getattr(fixture, "_autouse", False))  # pytest's flag; else stricter
            if why := _State.now().left_by(before, autouse):
                warmed.left[name] = why
    except BaseException:
        warmed.finalizers = _detached(state, session, mark)
        warmed.tear_down()  # what was set up before the failure
        raise
    warmed.finalizers = _detached(state, session, mark)
    return warmed


def _detached(state: Any, session: Any, mark: int) -> list[Callable[[], object]]:
    """The finalizers added since `mark`, off pytest's stack, and the session off it too
    (as collection left it)."""
    finalizers: list[Callable[[], object]] = state.stack[session][0][mark:]
    del state.stack[session][0][mark:]
    state.stack.pop(session)
    return finalizers
