"""Run engine code in child processes, never in the caller's: with deadlines and memory limits.

Engine code can hang, exit, segfault or eat memory.  So every call into an
engine happens in a forked child that

* has a deadline: the parent (or the host, below) kills it when it passes;
  a deadline may count the child's own CPU time instead (``Request.cpu_time``),
  which no other load of the machine changes;
* has an address-space limit (``RLIMIT_AS``), so a runaway allocation ends
  in a MemoryError or a crash, reported as "exceeded N MiB";
* dies with its parent (``PR_SET_PDEATHSIG``), so killing minigrad leaves
  no orphan running; ignores Ctrl-C, which the parent handles;
* writes no core file, no bytecode, and nothing to the caller's stdout.

A child reports phases as it goes ("importing the engine", "case sub"), so a
child that dies or hangs is named by what it was doing: "the engine exited
with status 0 during import".

A :class:`Host` is a child that runs an expensive setup once (import the
engine, collect the user's tests) and then forks one grandchild per task, so
each task starts from a clean copy of the loaded engine in a millisecond.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import functools
import gc
import io
import json
import math
import os
import resource
import select
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

from minigrad_tool import dataclass_code
from minigrad_tool.bytecode import keep_bytecode_out_of_tree
from minigrad_tool.faults import engine_caused, told, where

__all__ = [
    "MAX_TIMEOUT",
    "SHOW",
    "WALL_ROOM",
    "Host",
    "HostError",
    "Limits",
    "Outcome",
    "Reporter",
    "Request",
    "Slots",
    "Started",
    "adopt_strays",
    "crash_signal",
    "enter_scratch",
    "kill_strays",
    "memory_hint",
    "run_isolated",
    "scratch_folder",
]

MAX_TIMEOUT = 86_400.0  # a day: any longer deadline is a typo
# Address space, not resident memory: importing CUDA-built torch alone maps 3.1 GiB (measured,
# torch 2.14.1), and each thread may add a 64 MiB malloc arena.  8 GiB lets such test suites run
# and still stops a runaway engine long before a 24 GiB machine swaps with two children at once.
DEFAULT_MEMORY_MIB = 8192
Status = Literal["ok", "engine", "timeout", "died", "memory", "internal"]
_DIED = "the engine died with "  # + the signal's name: how a child killed by one is reported
# The signals of a crash in compiled code (a bad pointer, a reference count gone wrong), not
# of a limit: SIGKILL and SIGABRT may be the memory limit, SIGXCPU a CPU one.
_CRASHES = ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE")
_STATUS: dict[str, Status] = {"engine": "engine", "memory": "memory", "internal": "internal"}
# A child whose deadlines count its CPU time is ended by the kernel when that time runs out
# (ITIMER_PROF: its SIGPROF ends a process that does not handle it), what else the machine
# runs changing nothing; the clock gives it WALL_ROOM times as long, for a child that blocks
# (sleeps, waits on a lock) or gets a third of a core.
WALL_ROOM = 3.0


@dataclass(frozen=True)
class Limits:
    """Deadline per task (or per phase) and address-space cap of each child."""

    timeout: float = 60.0
    memory_mib: int | None = DEFAULT_MEMORY_MIB

    def __post_init__(self) -> None:
        if not (math.isfinite(self.timeout) and 0.0 < self.timeout <= MAX_TIMEOUT):
            raise ValueError(
                f"timeout must be a number of seconds in (0, {MAX_TIMEOUT:g}], got {self.timeout!r}"
            )
        if self.memory_mib is not None and not 64 <= self.memory_mib <= 1 << 20:
            raise ValueError(f"memory limit must be 64 to 1048576 MiB, got {self.memory_mib!r}")


@dataclass(frozen=True)
class Outcome:
    """How a child ended: its value, or what went wrong and during which phase."""

    status: Status
    value: Any = None  # the task's JSON-able result, when status is "ok"
    message: str = ""  # what happened, in words
    phase: str = ""  # what the child was doing last
    seconds: float = 0.0
    where: dict[str, Any] = field(default_factory=dict)  # that phase's data: method, op, ...
    cpu_time: bool = False  # a "timeout" of the child's own CPU time, not of the clock

    @property
    def computed_too_long(self) -> bool:
        """Killed for the CPU time it spent computing, whatever else the machine ran."""
        return self.status == "timeout" and self.cpu_time

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def engine_failed(self) -> bool:
        """The engine (not minigrad) failed: raised, hung, crashed, exited or ran out of memory."""
        return self.status in ("engine", "timeout", "died", "memory")


class HostError(Exception):
    """A host could not start, or died: the outcome says why."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        super().__init__(outcome.message)


class Reporter:
    """The child's side of the pipe: phases as it goes, then one final message.  With
    `cpu_time`, a phase's budget is of the child's CPU time (`WALL_ROOM` times it on the
    clock)."""

    def __init__(self, fd: int, *, cpu_time: bool = False) -> None:
        self.fd = fd
        self.cpu_time = cpu_time

    def send(self, message: dict[str, Any]) -> None:
        data = memoryview(json.dumps(message).encode() + b"\n")
        while data:
            data = data[os.write(self.fd, data) :]

    def phase(self, text: str, *, budget: float | None = None, **data: Any) -> None:
        """What the child does now, in words and as data (the method it calls, the item and
        order it runs), which the parent reads back as fields, never by parsing the words.
        `budget`: the seconds this phase may take, from now (else the child's own limit,
        restarted at each phase when the child runs per phase)."""
        message: dict[str, Any] = {"phase": text, "data": data}
        if budget is not None:
            message["budget"] = budget
            if self.cpu_time:
                _cpu_budget(budget)
                message["budget"], message["cpu"] = budget * WALL_ROOM, budget
        self.send(message)


def _cpu_budget(seconds: float) -> None:
    """In a child (whose SIGPROF ends it, as `_fork` leaves it): end it once it has spent
    `seconds` more of CPU time (its threads' all).  Where the engine's code handles SIGPROF
    itself, the clock's deadline stops the child."""
    signal.setitimer(signal.ITIMER_PROF, seconds)


# --- the child's side ---------------------------------------------------------------------


@functools.cache
def _libc() -> Any:
    """The C library, loaded once: children forked later inherit the handle."""
    return ctypes.CDLL(None, use_errno=True)


_PR_SET_CHILD_SUBREAPER = 36
WRITABLE = "MINIGRAD_WRITABLE"  # more folders engine children may write to (os.pathsep list)
_confinement = {"on": False}  # this process's writes are confined (enter_scratch)


@functools.cache
def scratch_folder() -> str:
    """An empty folder of this run (made once, in the parent; removed when it exits) where
    children that run engine code work: an engine that writes files as it runs (a graph it
    renders, a log) writes there, never into the folder minigrad was started from."""
    import atexit
    import shutil

    from minigrad_tool import leftovers

    folder = leftovers.make("cwd")  # those of runs that were killed are removed first
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def enter_scratch(folder: str) -> bool:
    """In a child about to run engine code: imports keep working (relative entries of
    sys.path made absolute first), the working folder and the temporary folder become
    `folder`, and, where the kernel has Landlock, writes are confined to it, the bytecode
    cache and /dev (minigrad_tool.sandbox).  True if the confinement is enforced."""
    import tempfile

    from minigrad_tool.bytecode import cache_folder
    from minigrad_tool.sandbox import confine_writes

    here = os.getcwd()
    sys.path[:] = [os.path.join(here, p) if not os.path.isabs(p) else p for p in sys.path]
    os.chdir(folder)
    tempfile.tempdir = folder
    cache = cache_folder()
    allowed = [folder, "/dev", *([str(cache)] if cache is not None else [])]
    # Folders an engine must be able to write to (its own cache, say): $MINIGRAD_WRITABLE.
    allowed += [f for f in os.environ.get(WRITABLE, "").split(os.pathsep) if f]
    _confinement["on"] = confine_writes(allowed)
    return _confinement["on"]


def adopt_strays() -> None:
    """Make this process the subreaper of everything it starts (Linux): a helper an engine
    detaches into a session of its own (`start_new_session=True`) escapes its child's process
    group, but not this process, which :func:`kill_strays` then ends."""
    with contextlib.suppress(OSError, AttributeError):
        _libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid`: as the kernel lists each of its threads'
    children, else (a kernel without those lists) from every process's status."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", "rb") as listed:
                found += map(int, listed.read().split())
    except OSError:
        return _children_by_scan(pid)
    return found


def _children_by_scan(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after ")"
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def kill_strays() -> int:
    """Kill what is left of the processes this one started (helpers engines detached, adopted
    by :func:`adopt_strays`): call when every child's work is done.  How many there were."""
    killed = 0
    for _ in range(3):  # a stray may fork while it is being killed
        strays = _children_of(os.getpid())
        if not strays:
            break
        for pid in strays:
            _kill(pid)
            killed += 1
    return killed


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        _libc().prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _std_fds_open() -> None:
    """Keep fds 0, 1 and 2 taken (by /dev/null if an engine closed them): else the next pipe
    would get one of them, and redirecting a child's output would cut its report line."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def _become_child(parent: int, limits: Limits, output: int | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # A process group of its own: whatever the engine starts (a helper it forks, a
    # `sleep` it spawns) is killed with it, and never outlives the run.
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    _die_with_parent(parent)
    faulthandler.disable()  # a crash is a verdict, not a traceback to print
    keep_bytecode_out_of_tree()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits.memory_mib is not None:
        cap = limits.memory_mib << 20
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or cap <= hard:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    if output is not None:
        os.dup2(output, 1)
        os.dup2(output, 2)
        # Python-level writes follow fds 1 and 2, even where sys.stdout was replaced.
        sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), line_buffering=True)
        sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), line_buffering=True)


def _describe_engine_error(err: BaseException) -> str:
    if isinstance(err, SystemExit):
        return f"the engine called sys.exit({err.code!r})"
    if isinstance(err, PermissionError) and _confinement["on"]:
        return (
            f"{where(err)}; minigrad lets engine code write only in a scratch folder of the run "
            f"(Landlock): {_writable_hint(err.filename)}"
        )
    return where(err)


def _writable_hint(path: object) -> str:
    """How to let the engine write where it was refused: the folder to name, which must exist
    (a Landlock rule is made from an open folder)."""
    if not isinstance(path, str) or not os.path.isabs(path):
        return f"${WRITABLE}=FOLDER lets it write under FOLDER too"
    if os.path.isdir(path):
        return f"${WRITABLE}={path} lets it write there too"
    parent = os.path.dirname(path)
    if os.path.exists(path):
        return f"${WRITABLE}={parent} lets it write there too"
    return (
        f"{path} does not exist, and only a folder that exists can be let in: if it is a "
        f"folder the engine makes (a cache), make it (`mkdir -p {path}`) and set "
        f"${WRITABLE}={path}; if it is a file, ${WRITABLE}={parent}"
    )


def _over_limit(limits: Limits) -> str:
    return (
        f"exceeded the memory limit of {limits.memory_mib} MiB of address space; "
        "raise it with --memory MIB"
    )


# What a failed mmap says when the address-space limit stops an import (torch's, say).
_MAP_FAILURES = ("failed to map segment", "cannot allocate memory", "std::bad_alloc")


def hit_memory_limit(text: str, limits: Limits) -> bool:
    """Does this error text say an allocation or a library mapping failed under our limit?"""
    lowered = text.lower()
    return limits.memory_mib is not None and any(m in lowered for m in _MAP_FAILURES)


def memory_hint(text: str, limits: Limits) -> str:
    """`text`, plus how to raise the limit when the limit is what stopped it."""
    if not hit_memory_limit(text, limits):
        return text
    return f"{text}\n({_over_limit(limits)})"


def _final_message(fn: Callable[[], Any], limits: Limits) -> dict[str, Any]:
    try:
        return {"ok": fn()}
    except MemoryError:
        return {"memory": f"{_over_limit(limits)} (MemoryError)"}
    except BaseException as err:
        if hit_memory_limit(told(err), limits):
            return {"memory": f"{_over_limit(limits)} ({_describe_engine_error(err)})"}
        if engine_caused(err):
            return {"engine": _describe_engine_error(err)}
        return {"internal": where(err)}


def _run_and_exit(fn: Callable[[], Any], reporter: Reporter, limits: Limits) -> NoReturn:
    try:
        reporter.send(_final_message(fn, limits))
    finally:
        os._exit(0)


# --- the parent's side --------------------------------------------------------------------


@dataclass
class _Child:
    key: str
    pid: int
    fd: int
    limit: float  # seconds
    per_phase: bool
    memory_mib: int | None
    started: float = field(default_factory=time.monotonic)
    deadline: float = 0.0
    buffer: bytes = b""
    phase: str = ""
    final: dict[str, Any] | None = None
    on_phase: Callable[[str], None] | None = None
    where: dict[str, Any] = field(default_factory=dict)  # the phase's data
    allowed: float = 0.0  # the seconds the current deadline gave
    cpu: float | None = None  # the CPU seconds the current phase has (Request.cpu_time)

    def __post_init__(self) -> None:
        self.deadline = self.started + self.limit
        self.allowed = self.limit

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            message = json.loads(line)
            if "phase" in message:
                self.phase = message["phase"]
                self.where = dict(message.get("data") or {})
                budget = message.get("budget")
                if isinstance(budget, int | float) and budget > 0:
                    self.allowed = float(budget)
                    self.deadline = time.monotonic() + self.allowed
                    cpu = message.get("cpu")
                    self.cpu = float(cpu) if isinstance(cpu, int | float) else None
                elif self.per_phase:
                    self.allowed = self.limit
                    self.deadline = time.monotonic() + self.limit
                if self.on_phase is not None:
                    self.on_phase(self.phase)
            else:
                self.final = message

    def outcome(self, status_word: int | None) -> Outcome:
        seconds = time.monotonic() - self.started
        during = f" during {self.phase}" if self.phase else ""
        final = self.final
        where = self.where
        if final is not None:
            return _from_final(final, during, self.phase, seconds, where)
        if status_word is None:
            return Outcome(
                "timeout",
                None,
                f"no answer within {self.allowed:.3g} s{during} (killed)",
                self.phase,
                seconds,
                where,
            )
        if os.WIFSIGNALED(status_word):
            name = signal.Signals(os.WTERMSIG(status_word)).name
            if name == "SIGPROF" and self.cpu is not None:
                message = f"past its {self.cpu:.3g} s of CPU time{during} (killed)"
                return Outcome("timeout", None, message, self.phase, seconds, where, True)
            hint = ""
            if self.memory_mib is not None and name in ("SIGABRT", "SIGKILL"):
                hint = (
                    f" (perhaps at the memory limit of {self.memory_mib} MiB: "
                    "raise it with --memory MIB)"
                )
            message = f"{_DIED}{name}{during}{hint}"
            return Outcome("died", None, message, self.phase, seconds, where)
        code = os.WEXITSTATUS(status_word)
        message = f"the engine exited with status {code}{during}"
        return Outcome("died", None, message, self.phase, seconds, where)


def crash_signal(message: str) -> str:
    """The signal that crashed a child, read from its outcome's message (SIGSEGV), or ""
    where it was not killed by a crash."""
    if not message.startswith(_DIED):
        return ""
    name = message[len(_DIED) :].split(" ", 1)[0]
    return name if name in _CRASHES else ""


def _from_final(
    final: Mapping[str, Any], during: str, phase: str, seconds: float, where: dict[str, Any]
) -> Outcome:
    """The outcome a task's final message tells (`_final_message`): its value, or its failure
    with `during` (where it was) after the words."""
    if "ok" in final:
        return Outcome("ok", final["ok"], "", phase, seconds, where)
    (kind, text), *_ = final.items()
    return Outcome(_STATUS[kind], None, f"{text}{during}", phase, seconds, where)


def _kill_group(pid: int) -> None:
    """Kill what is left of a child's process group: the helpers its engine started."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _kill(pid: int) -> None:
    _kill_group(pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _fork(
    body: Callable[[Reporter], Any],
    key: str,
    limits: Limits,
    *,
    per_phase: bool,
    output: int | None,
    on_phase: Callable[[str], None] | None = None,
    timeout: float | None = None,
    cpu_time: bool = False,
) -> _Child:
    """Fork a child running `body`; with `cpu_time`, its deadlines count its CPU time (the
    clock gives it WALL_ROOM times as long)."""
    _std_fds_open()
    limit = limits.timeout if timeout is None else timeout
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    with contextlib.suppress(OSError):
        _libc()  # loaded here, not again in every child
    for stream in (sys.stdout, sys.stderr):  # an engine may have closed or replaced them
        with contextlib.suppress(Exception):
            stream.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        os.close(read_fd)
        _OPEN.clear()  # the parent's hosts: never this child's to read
        try:
            _become_child(parent, limits, output)
            reporter = Reporter(write_fd, cpu_time=cpu_time)
            if cpu_time:
                signal.signal(signal.SIGPROF, signal.SIG_DFL)
                _cpu_budget(limit)
        except BaseException:
            os._exit(3)
        _run_and_exit(lambda: body(reporter), reporter, limits)
    os.close(write_fd)
    return _Child(
        key,
        pid,
        read_fd,
        limit * WALL_ROOM if cpu_time else limit,
        per_phase,
        limits.memory_mib,
        on_phase=on_phase,
        cpu=limit if cpu_time else None,
    )


def _drive(
    children: dict[int, _Child],
    finished: Callable[[_Child, Outcome], None],
    also: list[int] | None = None,
    longest: float = 3600.0,
) -> list[int]:
    """Wait for output, a deadline, or one of `also`; finish every child that ended or timed out.

    Returns the fds of `also` that are ready to read.
    """
    watch = [*children, *(also or [])]
    wait = longest
    if children:
        wait = min(wait, max(0.0, min(c.deadline for c in children.values()) - time.monotonic()))
    ready, _, _ = select.select(watch, [], [], wait)
    for fd in ready:
        child = children.get(fd)
        if child is None:
            continue
        chunk = os.read(fd, 1 << 16)
        if chunk:
            child.feed(chunk)
            if child.final is None:
                continue
            # The report is in: the child is exiting.  Do not wait for the pipe to close: a
            # helper the engine started may hold it open for as long as it lives.
        _, status = os.waitpid(child.pid, 0)
        _kill_group(child.pid)
        del children[fd]
        os.close(fd)
        finished(child, child.outcome(status))
    now = time.monotonic()
    for fd, child in list(children.items()):
        if now >= child.deadline:
            _kill(child.pid)
            del children[fd]
            os.close(fd)
            finished(child, child.outcome(None))
    return [fd for fd in ready if fd not in children and fd in (also or [])]


SHOW = "-"  # as `output`: the child writes to the caller's terminal


def _output_fd(path: str | None) -> int:
    if path is None:
        return os.open(os.devnull, os.O_WRONLY)
    if path == SHOW:
        return os.dup(1)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


def run_isolated(
    body: Callable[[Reporter], Any],
    limits: Limits,
    *,
    per_phase: bool = False,
    output: str | None = None,
    on_phase: Callable[[str], None] | None = None,
    cpu_time: bool = False,
) -> Outcome:
    """Run `body(reporter)` in a forked child within `limits`; how it ended.

    With `per_phase`, the deadline restarts at each phase the child reports;
    with `cpu_time`, deadlines count the CPU time the child spends (Request.cpu_time).
    The child's stdout and stderr go to `output` (a file path, or SHOW for the
    caller's own stdout), or nowhere.
    """
    started = Started(body, limits, per_phase=per_phase, output=output, cpu_time=cpu_time)
    return started.wait(on_phase)


class Started:
    """`run_isolated`'s child, started now: the caller does other work while it runs, then
    `wait`s for how it ended (or `stop`s it: it is killed)."""

    def __init__(
        self,
        body: Callable[[Reporter], Any],
        limits: Limits,
        *,
        per_phase: bool = False,
        output: str | None = None,
        cpu_time: bool = False,
    ) -> None:
        self.out = _output_fd(output)
        self.children: dict[int, _Child] = {}
        try:
            child = _fork(
                body, "task", limits, per_phase=per_phase, output=self.out, cpu_time=cpu_time
            )
        except BaseException:
            os.close(self.out)
            raise
        self.children[child.fd] = child

    def wait(self, on_phase: Callable[[str], None] | None = None) -> Outcome:
        """How the child ended; its phases, as they are read, go to `on_phase`."""
        result: list[Outcome] = []
        try:
            for child in self.children.values():
                child.on_phase = on_phase
            while self.children:
                _drive(self.children, lambda _c, o: result.append(o))
        finally:
            self.stop()
        return result[0]

    def stop(self) -> None:
        """The child killed, if it still runs; its pipes closed (once)."""
        for child in self.children.values():
            _kill(child.pid)
            os.close(child.fd)
        self.children.clear()
        if self.out >= 0:
            os.close(self.out)
            self.out = -1


# --- hosts ----------------------------------------------------------------------------------


Task = Callable[[Any, dict[str, Any], Reporter], Any]  # (context, args, reporter) -> result
# Calls serve(context) once ready; returns why it could not, if it did not.
Setup = Callable[[Callable[[Any], None], Reporter], str | None]


@dataclass(frozen=True)
class Request:
    """One task for a host: which, with what arguments, within how long."""

    key: str
    task: str
    args: Mapping[str, Any] = field(default_factory=dict)
    timeout: float | None = None  # None: the host's limits
    show_output: bool = False  # let the task write to the caller's terminal
    per_phase: bool = False  # the timeout is for each phase the task reports, not the whole
    cpu_time: bool = False  # the timeout and the phases' budgets are of the child's CPU time
    # Run in the host itself, once nothing else runs, so that every child forked after it
    # inherits what it did (fixtures set up once): as soon as the children running end,
    # before any request sent earlier starts.  A hang or a crash there ends the host: the
    # caller tries the same task in a child first.
    in_host: bool = False


class Slots:
    """At most N children at once, whichever host forks them (make's jobserver): a pipe that
    holds a byte per free slot.  A host takes one before it forks a child and gives it back
    when the child ends, so two hosts of one campaign (your tests', the engine's) never run
    more children together than --jobs says."""

    def __init__(self, count: int) -> None:
        self.read, self.write = os.pipe()
        os.set_blocking(self.read, False)
        os.write(self.write, b"+" * max(1, count))

    def take(self) -> bool:
        """A slot, if one is free now."""
        try:
            return os.read(self.read, 1) == b"+"
        except BlockingIOError:
            return False

    def give(self) -> None:
        os.write(self.write, b"+")

    def close(self) -> None:
        """Close the pipe, once (a number closed twice may be another file's by then)."""
        for fd in (self.read, self.write):
            with contextlib.suppress(OSError):
                if fd >= 0:
                    os.close(fd)
        self.read = self.write = -1


def _serve(
    context: Any,
    tasks: Mapping[str, Task],
    limits: Limits,
    jobs: int,
    commands: int,
    answers: Reporter,
    terminal: int,
    output: int,
    slots: Slots | None,
) -> None:
    """In the host: fork a grandchild per request, up to `jobs` at once (and one free slot of
    `slots` each); answer each."""
    # Everything loaded so far moves to a generation the collector never visits: a
    # child's collections then leave those pages shared instead of copying them.
    gc.freeze()
    answers.send({"ready": True})
    # What its setup compiled for dataclasses, kept for the next run where the host took a
    # role (your tests': pytest's, and what your tests import): minigrad_tool.dataclass_code
    dataclass_code.keep()
    queue: deque[dict[str, Any]] = deque()
    children: dict[int, _Child] = {}
    buffer = b""
    reading = True

    def finished(child: _Child, outcome: Outcome) -> None:
        if slots is not None:
            slots.give()
        answers.send({"key": child.key, "outcome": outcome.__dict__})

    in_host = 0  # requests to run in the host itself, in the queue
    while reading or queue or children:
        waiting = False  # for a slot the other host holds
        while queue and len(children) < jobs:
            if in_host:  # one comes first: what it does, every child forked after inherits
                if children:
                    break  # it waits for the children already running; none starts meanwhile
                request = next(r for r in queue if r.get("in_host"))
                queue.remove(request)
                in_host -= 1
                outcome = _in_host(request, tasks, context, limits)
                gc.freeze()  # what it made joins what the children leave to the collector
                answers.send({"key": request["key"], "outcome": outcome})
                continue
            if slots is not None and not slots.take():
                waiting = True
                break
            request = queue.popleft()
            task = tasks[request["task"]]
            args = request["args"]

            def body(reporter: Reporter, task: Task = task, args: dict[str, Any] = args) -> Any:
                if slots is not None:  # the engine's code never touches the campaign's slots
                    slots.close()
                return task(context, args, reporter)

            child = _fork(
                body,
                request["key"],
                limits,
                per_phase=request["per_phase"],
                output=terminal if request["show_output"] else output,
                timeout=request["timeout"] or limits.timeout,
                cpu_time=bool(request.get("cpu_time")),
            )
            children[child.fd] = child
        if not children and not reading and not waiting:
            break
        also = [commands] if reading else []
        ready = _drive(children, finished, also + ([slots.read] if waiting and slots else []))
        if commands in ready:
            chunk = os.read(commands, 1 << 16)
            reading = bool(chunk)
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                queue.append(json.loads(line))
                in_host += bool(queue[-1].get("in_host"))


class _Quiet(Reporter):
    """A task run in the host says nothing until its answer: the host's own pipe carries
    only answers."""

    def __init__(self) -> None:
        super().__init__(-1)

    def send(self, message: dict[str, Any]) -> None:
        return None


def _in_host(
    request: Mapping[str, Any], tasks: Mapping[str, Task], context: Any, limits: Limits
) -> dict[str, Any]:
    """Run a request in the host itself: its outcome, as a child's would be sent."""
    task, args = tasks[request["task"]], request["args"]
    start = time.monotonic()
    final = _final_message(lambda: task(context, args, _Quiet()), limits)
    return _from_final(final, " (in the host)", "", time.monotonic() - start, {}).__dict__


def _threads_started() -> str:
    """Why forking this process would be unsafe, if it is: Python threads other than this one.

    A fork copies only the thread that calls it; a lock another thread holds stays held in
    the copy forever, so a child may hang on it, and a hang would read as a timeout, a kill.
    minigrad forks every case and mutant from a host that imported the engine, so an engine
    (or a test module) that starts a thread at import gets no verdict rather than a false one.
    Native threads of libraries (torch's pool) are not Python threads and are left alone.
    """
    threads = [t for t in threading.enumerate() if t is not threading.current_thread()]
    if not threads:
        return ""
    names = ", ".join(sorted(t.name for t in threads))
    return (
        f"the engine (or a module the tests import) started {len(threads)} thread(s) at import "
        f"({names}); forking a process with running threads can deadlock, so minigrad, which "
        "forks every case and mutant, gives no verdict on it"
    )


# Every host of this process with its answers pipe open, by that pipe's fd.  While the
# parent waits for one host, or writes a request to one, it reads what the others answer into
# their buffers: a host whose answers nobody reads blocks writing them, stops reading its
# requests, and a parent writing one more request to it would then wait forever (a campaign
# whose tests let 244 mutants through hung so: their probes' answers filled the engine host's
# pipe while the parent read your tests' host).
_OPEN: dict[int, Host] = {}


def _listening() -> list[int]:
    """The answers pipes of the hosts that may still say something."""
    return [fd for fd, host in _OPEN.items() if not host._ended]


class Host:
    """A child that sets up once, then runs each task in a grandchild forked from it.

    `setup(serve, reporter)` runs in the host; once the expensive part is done
    it must call `serve(context)`, which answers requests until the parent
    closes the host.  Each request names one of `tasks`, called in its own
    grandchild as `task(context, args, reporter)`.
    """

    def __init__(
        self,
        setup: Setup,
        tasks: Mapping[str, Task],
        limits: Limits,
        *,
        jobs: int = 1,
        output: str | None = None,
        on_phase: Callable[[str], None] | None = None,
        slots: Slots | None = None,
    ) -> None:
        self.setup = setup
        self.tasks = tasks
        self.limits = limits
        self.jobs = max(1, jobs)
        self.slots = slots  # shared with the other hosts of a campaign
        self.output = output
        self.on_phase = on_phase
        self.pid = 0
        self._commands = -1
        self._answers = -1
        self._buffer = b""
        self._outgoing = b""  # requests not yet written to the commands pipe (_send)
        self._ended = False  # its answers pipe said end-of-file: the host is gone
        # Requests sent ahead (`submit`): their seconds allowed, and the outcomes that came
        # in while other requests ran, until `collect` takes them.
        self._submitted: dict[str, float] = {}
        self._early: dict[str, Outcome] = {}

    def __enter__(self) -> Host:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Fork the host and wait until its setup is done; HostError if it fails."""
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Fork the host; its setup runs while the caller does other work."""
        command_read, command_write = os.pipe()
        terminal = os.dup(1)
        out = _output_fd(self.output)
        tasks, limits, jobs, slots = self.tasks, self.limits, self.jobs, self.slots

        def body(reporter: Reporter) -> Any:
            os.close(command_write)  # else the host never sees the parent close its end
            served = False
            unsafe = ""

            def serve(context: Any) -> None:
                nonlocal served, unsafe
                unsafe = _threads_started()
                if unsafe:
                    return
                served = True
                _serve(context, tasks, limits, jobs, command_read, reporter, terminal, out, slots)

            failure = self.setup(serve, reporter)
            if unsafe:
                return {"failed": unsafe}
            if not served:  # the setup says why (the user's tests do not collect, say)
                return {"failed": failure or "the host's setup ended without serving"}
            return None

        child = _fork(body, "host", limits, per_phase=True, output=out, on_phase=self.on_phase)
        os.close(command_read)
        os.close(terminal)
        os.close(out)
        self.pid, self._commands, self._answers = child.pid, command_write, child.fd
        os.set_blocking(command_write, False)  # written between reads (_send), never blocked on
        self._ended = False
        _OPEN[child.fd] = self
        self._child = child

    def wait_ready(self) -> None:
        """Wait for the launched host's setup to finish; HostError if it fails or times out."""
        child = self._child
        while True:
            message = self._next_message(child.deadline)
            if message is None:
                _kill(self.pid)
                raise HostError(child.outcome(None))
            if "phase" in message:
                child.feed(json.dumps(message).encode() + b"\n")
                continue
            if message.get("ready"):
                child.phase = "serving"  # a death from now on is not during its setup
                return
            if not message:  # the host is gone without a word
                _, status = os.waitpid(self.pid, 0)
                self._close_fds()
                raise HostError(child.outcome(status))
            if isinstance(message.get("ok"), dict) and "failed" in message["ok"]:
                message = {"engine": message["ok"]["failed"]}
            child.final = message
            _, status = os.waitpid(self.pid, 0)
            self._close_fds()
            raise HostError(child.outcome(status))

    def _next_message(self, deadline: float | None) -> dict[str, Any] | None:
        """The next line from the host; None at the deadline; {} when the host is gone.
        Meanwhile every host's answers are read (none waits on a full pipe for us) and its
        queued requests written."""
        while b"\n" not in self._buffer:
            if self._ended:
                return {}
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            sending = {h._commands: h for h in _OPEN.values() if h._outgoing and h._commands >= 0}
            ready, writable, _ = select.select(_listening(), list(sending), [], wait)
            if not ready and not writable:
                return None
            for fd in writable:
                sending[fd]._write_some()
            for fd in ready:
                _OPEN[fd]._take_chunk()
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message

    def _take_chunk(self) -> None:
        """What the host wrote so far, into its buffer (its end: `_ended`)."""
        chunk = os.read(self._answers, 1 << 16)
        self._buffer += chunk
        self._ended = not chunk

    def run(
        self,
        requests: Iterable[Request],
        on_done: Callable[[str, Outcome], None] | None = None,
    ) -> dict[str, Outcome]:
        """Run the requests (at most `jobs` at once); each one's outcome, by key."""
        pending = deque(requests)
        in_flight: dict[str, float] = {}  # key -> seconds allowed
        results: dict[str, Outcome] = {}
        while pending or in_flight:
            while pending and len(in_flight) < 2 * self.jobs:
                request = pending.popleft()
                in_flight[request.key] = self._send(request)
            key, outcome = self._answer(in_flight)
            in_flight.pop(key, None)
            results[key] = outcome
            if on_done is not None:
                on_done(key, outcome)
        return results

    def submit(self, requests: Iterable[Request]) -> None:
        """Send requests now, to run while the caller waits for others (`run`, here or on
        another host); `collect` gives their outcomes.  Keys must differ from those of the
        requests `run` meanwhile."""
        for request in requests:
            self._submitted[request.key] = self._send(request)

    def collect(self, keys: Iterable[str]) -> dict[str, Outcome]:
        """The outcomes of submitted requests, waiting for those not in yet."""
        wanted = list(keys)
        while any(k in self._submitted for k in wanted):
            self._answer({})
        return {k: self._early.pop(k) for k in wanted}

    def next_of(self, keys: Collection[str]) -> tuple[str, Outcome]:
        """The first of these submitted requests to finish (one finished already, if any),
        and its outcome; the others stay submitted."""
        while True:
            for key in keys:
                if key in self._early:
                    return key, self._early.pop(key)
            self._answer({})

    def _send(self, request: Request) -> float:
        """Queue the request for the host, written as the pipe takes it (never waited on:
        what does not fit now goes while answers are awaited); the seconds it is allowed.
        A host still setting up reads it once it serves."""
        timeout = request.timeout or self.limits.timeout
        line = json.dumps(
            {
                "key": request.key,
                "task": request.task,
                "args": dict(request.args),
                "timeout": timeout,
                "show_output": request.show_output,
                "per_phase": request.per_phase,
                "cpu_time": request.cpu_time,
                "in_host": request.in_host,
            }
        )
        self._outgoing += line.encode() + b"\n"
        self._write_some()
        return timeout * WALL_ROOM if request.cpu_time else timeout

    def _write_some(self) -> None:
        """As much of the queued requests as the commands pipe takes now.  A host gone
        takes none: they are dropped, and the wait for its answers says it died."""
        try:
            while self._outgoing:
                written = os.write(self._commands, self._outgoing)
                self._outgoing = self._outgoing[written:]
        except BlockingIOError:
            pass
        except OSError:
            self._outgoing = b""

    def _answer(self, in_flight: Mapping[str, float]) -> tuple[str, Outcome]:
        """The next answer to a request of `run`; the answers to submitted requests that come
        first are set aside for `collect`.  HostError if the host stops answering."""
        while True:
            # The host enforces deadlines; this one only catches a host that stopped answering.
            slack = sum(in_flight.values()) + sum(self._submitted.values()) + 30.0
            message = self._next_message(time.monotonic() + slack)
            if not message:
                status = None
                if message is not None:  # the host is gone
                    _, status = os.waitpid(self.pid, 0)
                else:
                    _kill(self.pid)
                died = self._child.outcome(status)
                raise HostError(Outcome("died", None, f"the host stopped: {died.message}"))
            if "key" not in message:
                continue
            key, outcome = message["key"], Outcome(**message["outcome"])
            if key in self._submitted and key not in in_flight:
                del self._submitted[key]
                self._early[key] = outcome
                if not in_flight:  # `collect` waits for these
                    return key, outcome
                continue
            return key, outcome

    def _close_fds(self) -> None:
        _OPEN.pop(self._answers, None)
        for fd in (self._commands, self._answers):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._commands = self._answers = -1

    def close(self, grace: float = 0.0) -> None:
        """End the host; its grandchildren die with it.  With `grace`, it may first finish
        what it holds (a fixture set up once has its teardown there) for up to that many
        seconds: it stops serving once its commands pipe closes."""
        try:
            if self.pid and grace > 0 and self._commands >= 0:
                os.close(self._commands)
                self._commands, self._outgoing = -1, b""  # what was not sent never runs
                deadline = time.monotonic() + grace
                with contextlib.suppress(OSError, ValueError):
                    while self._next_message(deadline):  # {} once it is gone, None at the deadline
                        pass
        finally:
            if self.pid:
                _kill(self.pid)
                self.pid = 0
            self._close_fds()
            self._buffer = self._outgoing = b""  # a host launched again starts anew
            self._submitted.clear()
            self._early.clear()
