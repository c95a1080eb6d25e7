"""Children: deadlines, memory limits, deaths named by phase, hosts, and whose failure it is.

Modules: minigrad_tool.leftovers.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from minigrad_tool import leftovers
from minigrad_tool.faults import engine_caused, set_engine_paths, told
from minigrad_tool.isolation import Host, HostError, Limits, Reporter, Request, run_isolated

QUICK = Limits(timeout=5.0, memory_mib=512)


def _engine_file(tmp_path: Path, body: str) -> dict[str, Any]:
    """Code compiled under an engine file name, so its frames count as the engine's."""
    path = tmp_path / "engine_code.py"
    path.write_text(textwrap.dedent(body))
    namespace: dict[str, Any] = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    set_engine_paths({str(path)})
    return namespace


class TestOutcomes:
    def test_value(self) -> None:
        """A task's JSON-able value comes back."""
        outcome = run_isolated(lambda r: {"x": [1, 2.5]}, QUICK)
        assert (outcome.status, outcome.value) == ("ok", {"x": [1, 2.5]})

    def test_exit_is_named_with_its_phase(self) -> None:
        """os._exit(0) without a verdict: the message names the status and the phase."""

        def body(reporter: Reporter) -> None:
            reporter.phase("importing the engine")
            os._exit(0)

        outcome = run_isolated(body, QUICK)
        assert outcome.status == "died"
        assert outcome.message == "the engine exited with status 0 during importing the engine"

    def test_hang_is_killed_at_the_deadline(self) -> None:
        """A child that never answers is killed: status timeout, phase named."""

        def body(reporter: Reporter) -> None:
            reporter.phase("case deep_chain")
            while True:
                pass

        outcome = run_isolated(body, Limits(timeout=0.5))
        assert outcome.status == "timeout"
        assert outcome.message == "no answer within 0.5 s during case deep_chain (killed)"

    def test_per_phase_deadline_restarts(self) -> None:
        """With per_phase, each phase gets the whole deadline."""

        def body(reporter: Reporter) -> str:
            for phase in range(4):
                reporter.phase(f"step {phase}")
                time.sleep(0.2)
            return "done"

        assert run_isolated(body, Limits(timeout=0.5), per_phase=True).value == "done"
        assert run_isolated(body, Limits(timeout=0.5)).status == "timeout"

    def test_segfault(self) -> None:
        """A crash of the interpreter is a death by signal, named."""
        outcome = run_isolated(lambda r: ctypes.string_at(0), QUICK)
        assert outcome.status == "died"
        assert "SIGSEGV" in outcome.message

    def test_memory_limit(self) -> None:
        """Allocating without end hits the address-space limit: 'exceeded N MiB'."""

        def body(reporter: Reporter) -> None:
            hoard = []
            while True:
                hoard.append(bytearray(32 << 20))

        outcome = run_isolated(body, Limits(timeout=20, memory_mib=256))
        assert outcome.status == "memory"
        assert outcome.message.startswith("exceeded the memory limit of 256 MiB")

    def test_stdout_stays_clean(self, capfd: pytest.CaptureFixture[str]) -> None:
        """What a child prints goes nowhere, not to the caller's stdout."""
        run_isolated(lambda r: print("engine chatter"), QUICK)
        assert "engine chatter" not in capfd.readouterr().out

    @pytest.mark.parametrize(
        ("timeout", "memory"), [(0.0, 100), (float("nan"), 100), (1e10, 100), (1.0, 10)]
    )
    def test_limits_are_validated(self, timeout: float, memory: int) -> None:
        """A deadline must be in (0, a day], memory 64 MiB or more."""
        with pytest.raises(ValueError):
            Limits(timeout=timeout, memory_mib=memory)


class TestStarted:
    def test_the_caller_works_while_the_child_runs_then_waits_for_it(self, tmp_path: Path) -> None:
        """`Started`: the child runs from the start; `wait` gives its outcome and its phases."""
        from minigrad_tool.isolation import Started

        go = tmp_path / "go"

        def body(reporter: Reporter) -> int:
            reporter.phase("waiting")
            while not go.exists():  # only once the caller has come back from starting it
                time.sleep(0.005)
            return os.getpid()

        started = Started(body, QUICK, per_phase=True)
        go.touch()
        phases: list[str] = []
        outcome = started.wait(phases.append)
        assert outcome.ok and outcome.value != os.getpid()
        assert phases == ["waiting"]

    def test_a_child_not_waited_for_is_stopped(self, tmp_path: Path) -> None:
        """`stop`: the child is killed and reaped (the run it served ended another way: the
        result cache replayed it); stopping again does nothing."""
        from minigrad_tool.isolation import Started

        marks = tmp_path / "pid"

        def body(reporter: Reporter) -> None:
            marks.write_text(str(os.getpid()))
            while True:
                time.sleep(0.01)

        started = Started(body, QUICK)
        while not marks.exists() or not marks.read_text():
            time.sleep(0.005)
        pid = int(marks.read_text())
        started.stop()
        started.stop()
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # gone, and reaped: no longer this process's child


class TestBlame:
    def test_engine_exception_is_the_engines(self, tmp_path: Path) -> None:
        """Raised in engine code: the engine failed."""
        ns = _engine_file(tmp_path, "def f():\n    return 1 / 0\n")
        outcome = run_isolated(lambda r: ns["f"](), QUICK)
        assert outcome.status == "engine"
        assert "ZeroDivisionError" in outcome.message and "engine_code.py:2" in outcome.message

    def test_minigrad_exception_is_internal(self) -> None:
        """Raised with no engine code on the stack: minigrad's own failure, not a verdict."""
        set_engine_paths(set())
        outcome = run_isolated(lambda r: {}["missing"], QUICK)
        assert outcome.status == "internal"
        assert "KeyError" in outcome.message

    def test_sys_exit_in_engine(self, tmp_path: Path) -> None:
        """sys.exit(0) in engine code is named as such."""
        ns = _engine_file(tmp_path, "import sys\ndef f():\n    sys.exit(0)\n")
        outcome = run_isolated(lambda r: ns["f"](), QUICK)
        assert (outcome.status, outcome.message) == ("engine", "the engine called sys.exit(0)")

    def test_an_exception_whose_message_raises_is_still_named(self, tmp_path: Path) -> None:
        """whalegrad 0.0.2 raises KeyError(node) where the node's __repr__ raises: the
        exception and the engine's line are said, never the error its message raised."""
        source = (
            "class Node:\n"
            "    def __repr__(self):\n"
            "        raise ValueError('only size-1 arrays')\n"
            "def f():\n"
            "    return {}.pop(Node())\n"
        )
        ns = _engine_file(tmp_path, source)
        outcome = run_isolated(lambda r: ns["f"](), QUICK)
        assert outcome.status == "engine"
        assert outcome.message.startswith(
            "KeyError (its message cannot be shown: str() of it raised ValueError)"
        ), outcome.message
        assert "engine_code.py:5" in outcome.message
        assert told(KeyError("k")) == "KeyError: 'k'" and told(ValueError()) == "ValueError: "

    def test_chained_cause_counts(self, tmp_path: Path) -> None:
        """An exception raised from an engine exception is the engine's."""
        ns = _engine_file(tmp_path, "def f():\n    raise ValueError('x')\n")
        set_engine_paths({str(tmp_path / "engine_code.py")})
        try:
            try:
                ns["f"]()
            except ValueError as err:
                raise RuntimeError("wrapped") from err
        except RuntimeError as wrapped:
            assert engine_caused(wrapped)


class TestHost:
    def test_setup_once_then_a_child_per_task(self) -> None:
        """The setup runs once; each task sees its context in its own process."""

        def setup(serve: Any, reporter: Reporter) -> None:
            serve({"pid": os.getpid(), "base": 10})

        def task(ctx: Any, args: dict[str, Any], reporter: Reporter) -> list[int]:
            return [ctx["base"] + args["x"], ctx["pid"], os.getpid()]

        with Host(setup, {"task": task}, QUICK, jobs=2) as host:
            out = host.run([Request(str(i), "task", {"x": i}) for i in range(20)])
        values = [out[str(i)].value for i in range(20)]
        assert [v[0] for v in values] == list(range(10, 30))
        assert len({v[1] for v in values}) == 1  # one host
        assert len({v[2] for v in values}) == 20  # a child each

    def test_requests_submitted_ahead_run_beside_others_and_are_collected_apart(self) -> None:
        """`submit` sends requests that run while `run` serves others; their answers, however
        they interleave with the others', are set aside for `collect`, by key, and `run`
        returns only its own."""

        def setup(serve: Any, reporter: Reporter) -> None:
            serve({})

        def task(ctx: Any, args: dict[str, Any], reporter: Reporter) -> int:
            return int(args["x"]) * 10

        with Host(setup, {"task": task}, QUICK, jobs=2) as host:
            host.submit([Request(f"ahead {i}", "task", {"x": i}) for i in range(5)])
            own = host.run([Request(str(i), "task", {"x": i}) for i in range(5)])
            host.submit([Request("ahead 5", "task", {"x": 5})])
            ahead = host.collect([f"ahead {i}" for i in range(6)])
            assert host.collect([]) == {}
        assert {k: o.value for k, o in own.items()} == {str(i): i * 10 for i in range(5)}
        assert {k: o.value for k, o in ahead.items()} == {f"ahead {i}": i * 10 for i in range(6)}

    def test_two_hosts_sharing_slots_run_no_more_children_together_than_the_slots(
        self, tmp_path: Path
    ) -> None:
        """A campaign's hosts (your tests', the engine's) share --jobs slots (isolation.Slots):
        with one slot, no child of either host runs while another does, though each host
        may run two; every request is still answered."""
        from minigrad_tool.isolation import Slots

        def setup(serve: Any, reporter: Reporter) -> None:
            serve({})

        def task(ctx: Any, args: dict[str, Any], reporter: Reporter) -> int:
            mark = tmp_path / f"running-{os.getpid()}"
            mark.touch()
            seen = len(list(tmp_path.glob("running-*")))
            time.sleep(0.02)  # long enough for a second child to start, were it allowed to
            mark.unlink()
            return seen

        slots = Slots(1)
        first = Host(setup, {"task": task}, QUICK, jobs=2, slots=slots)
        second = Host(setup, {"task": task}, QUICK, jobs=2, slots=slots)
        with first, second:
            second.submit([Request(f"b{i}", "task") for i in range(6)])
            ours = first.run([Request(f"a{i}", "task") for i in range(6)])
            theirs = second.collect([f"b{i}" for i in range(6)])
        slots.close()
        seen = [o.value for o in (*ours.values(), *theirs.values())]
        assert len(seen) == 12 and all(o.ok for o in (*ours.values(), *theirs.values()))
        assert max(seen) == 1
        reused = os.open(os.devnull, os.O_RDONLY)  # may get a number the slots had
        slots.close()  # again (the early tests' owner closes them too): nothing else closed
        os.fstat(reused)
        os.close(reused)

    def test_a_host_whose_answers_wait_unread_never_stops_the_parent(self, tmp_path: Path) -> None:
        """While the parent waits for one host (or writes to one), it reads what the others
        answer.  Here host A's first answer alone overfills a pipe; unread, A would block on it
        and never run its second request, which B's request waits for; and a 300 KB request
        written to A then would wait forever for A to read it (a campaign whose tests let 244
        mutants through hung so).  The alarm turns such a hang into this test's failure."""
        answer_text = "x" * 100_000  # a pipe holds 64 KiB

        def setup(serve: Any, reporter: Reporter) -> None:
            serve({})

        def answer(ctx: Any, args: dict[str, Any], reporter: Reporter) -> str:
            (tmp_path / f"done-{args['i']}").touch()
            return answer_text

        def wait(ctx: Any, args: dict[str, Any], reporter: Reporter) -> int:
            while not (tmp_path / "done-1").exists():  # A's second request ran
                time.sleep(0.005)
            return 1

        def size(ctx: Any, args: dict[str, Any], reporter: Reporter) -> int:
            return len(args["text"])

        def hung(signum: int, frame: Any) -> None:
            raise AssertionError("the parent and a host wait for each other")

        first = Host(setup, {"answer": answer, "size": size}, QUICK)
        second = Host(setup, {"wait": wait}, QUICK)
        before = signal.signal(signal.SIGALRM, hung)
        signal.alarm(30)
        try:
            with first, second:
                first.submit([Request(f"a{i}", "answer", {"i": i}) for i in range(2)])
                waited = second.run([Request("b", "wait")])["b"]
                first.submit([Request("big", "size", {"text": "y" * 300_000})])
                got = first.collect(["a0", "a1", "big"])
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, before)
        assert waited.ok and waited.value == 1, waited.message
        assert [got[k].value for k in ("a0", "a1")] == [answer_text] * 2
        assert got["big"].value == 300_000

    def test_requests_sent_before_the_host_serves_never_stop_the_parent(
        self, tmp_path: Path
    ) -> None:
        """Requests may go to a host still setting up (your tests' host, sent the mutants as
        soon as they are known): what the pipe cannot take yet (here 300 KB, a pipe holds 64
        KiB) waits in the parent, which goes on, and is written as the host reads.  The host
        here serves only once the parent has come back and said so: had the parent waited
        for the write, the alarm would fail the test."""
        go = tmp_path / "go"

        def setup(serve: Any, reporter: Reporter) -> None:
            while not go.exists():
                time.sleep(0.005)
            serve({})

        def size(ctx: Any, args: dict[str, Any], reporter: Reporter) -> int:
            return len(args["text"])

        def hung(signum: int, frame: Any) -> None:
            raise AssertionError("the parent waited for a host that was not reading")

        host = Host(setup, {"size": size}, QUICK)
        before = signal.signal(signal.SIGALRM, hung)
        signal.alarm(30)
        try:
            host.launch()
            host.submit([Request("big", "size", {"text": "y" * 300_000}, in_host=True)])
            host.submit([Request("small", "size", {"text": "z" * 10})])
            go.touch()  # only now: the parent came back from sending
            host.wait_ready()
            got = host.collect(["big", "small"])
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, before)
            host.close()
        assert (got["big"].value, got["small"].value) == (300_000, 10)

    def test_a_task_run_in_the_host_is_inherited_by_the_children_forked_after_it(
        self, tmp_path: Path
    ) -> None:
        """`in_host`: the host itself runs it, once nothing else runs; what it did is in every
        later child.  One that raises is an outcome, and the host keeps serving; closing with
        a grace lets the host finish what it holds (here, write a file) before it ends."""
        done = tmp_path / "torn-down"

        def setup(serve: Any, reporter: Reporter) -> None:
            context: dict[str, Any] = {"warm": None}
            serve(context)
            done.write_text(str(context["warm"]))  # after serving: the host's own teardown

        def warm(ctx: Any, args: dict[str, Any], reporter: Reporter) -> int:
            if args.get("fail"):
                raise RuntimeError("cannot warm")
            ctx["warm"] = os.getpid()
            return os.getpid()

        def read(ctx: Any, args: dict[str, Any], reporter: Reporter) -> list[Any]:
            return [ctx["warm"], os.getpid()]

        host = Host(setup, {"warm": warm, "read": read}, QUICK, jobs=2)
        with host:
            before = host.run([Request(str(i), "read") for i in range(3)])
            failed = host.run([Request("bad", "warm", {"fail": True}, in_host=True)])["bad"]
            warmed = host.run([Request("w", "warm", in_host=True)])["w"]
            after = host.run([Request(str(i), "read") for i in range(3)])
            host.close(grace=5.0)
        assert (
            not failed.ok and "cannot warm" in failed.message and "(in the host)" in failed.message
        )
        assert all(o.value[0] is None for o in before.values())
        assert warmed.ok and all(o.value[0] == warmed.value for o in after.values())
        assert all(o.value[1] != warmed.value for o in after.values())  # each in its own child
        assert done.read_text() == str(warmed.value)

    def test_failed_setup_is_a_host_error(self) -> None:
        """A setup that dies names what happened."""

        def setup(serve: Any, reporter: Reporter) -> None:
            reporter.phase("importing the engine")
            os._exit(3)

        with pytest.raises(HostError, match="exited with status 3 during importing the engine"):
            Host(setup, {}, QUICK).start()

    def test_setup_can_say_why_it_did_not_serve(self) -> None:
        """A setup that returns a reason instead of serving: that reason."""
        with pytest.raises(HostError, match="your tests do not collect"):
            Host(lambda serve, r: "your tests do not collect", {}, QUICK).start()


STRAYS_SCRIPT = """
import subprocess, sys
from minigrad_tool.isolation import kill_strays

helpers = [subprocess.Popen(["sleep", "300"]) for _ in range(3)]
print(kill_strays(), [helper.poll() is not None for helper in helpers])
"""


def test_every_child_left_is_killed_when_the_command_ends() -> None:
    """kill_strays finds this process's children (as the kernel lists them, or by scanning
    every process) and ends each one."""
    result = subprocess.run(
        [sys.executable, "-c", STRAYS_SCRIPT], capture_output=True, text=True, check=True
    )
    assert result.stdout.split(maxsplit=1) == ["3", "[True, True, True]\n"]


ORPHAN_SCRIPT = """
import os, sys, time
from minigrad_tool.isolation import Limits, run_isolated

def body(reporter):
    print(os.getpid(), file=open(sys.argv[1], "w"), flush=True)
    while True:
        time.sleep(1)

run_isolated(body, Limits(timeout=600))
"""


@pytest.mark.e2e
def test_children_die_with_their_parent(tmp_path: Path) -> None:
    """SIGKILL the parent: its busy child goes too (no orphan runs to its deadline)."""
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT, str(pid_file)])
    try:
        for _ in range(300):  # wait for the child to say it runs
            if pid_file.exists() and pid_file.read_text().strip():
                break
            time.sleep(0.05)
        child = int(pid_file.read_text())
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        for _ in range(300):  # wait for the child to be gone
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        with pytest.raises(ProcessLookupError):
            os.kill(child, 0)
    finally:
        parent.kill()


def test_the_scratch_folders_of_killed_runs_are_removed_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGKILL skips a run's clean-up: the next run removes the scratch folders whose maker
    is gone, and nothing else (a live maker's, a file, a link, another name)."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = int(gone.stdout)
    stale = [tmp_path / f"minigrad-cwd-{dead}-abc123", tmp_path / f"minigrad-pytest-{dead}-x"]
    for folder in stale:
        (folder / "inner").mkdir(parents=True)
        (folder / "inner" / "graph.dot").write_text("digraph {}")
    live = tmp_path / f"minigrad-cwd-{os.getpid()}-mine"
    live.mkdir()
    not_a_folder = tmp_path / f"minigrad-cwd-{dead}-file"
    not_a_folder.write_text("")
    link = tmp_path / f"minigrad-cwd-{dead}-link"
    link.symlink_to(live)
    other = tmp_path / f"minigrad-cache-{dead}-x"
    other.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    made = Path(leftovers.make("cwd"))
    assert made.parent == tmp_path and made.name.startswith(f"minigrad-cwd-{os.getpid()}-")
    assert not any(folder.exists() for folder in stale)
    assert live.is_dir() and not_a_folder.is_file() and link.is_symlink() and other.is_dir()
    assert leftovers.sweep(str(tmp_path)) == []  # nothing left to remove
