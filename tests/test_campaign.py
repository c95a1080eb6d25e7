"""Campaigns judged by the battery: statuses with evidence, gates that can fail, honest exits.

Modules: minigrad_tool.mutation.equivalence, minigrad_tool.mutation.probe.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from minigrad_tool.adapter import load_in_process
from minigrad_tool.check import settings_for
from minigrad_tool.cli import main
from minigrad_tool.isolation import Outcome as ChildOutcome
from minigrad_tool.mutation.campaign import run_campaign, shard_of
from minigrad_tool.mutation.judging import CampaignConfig
from minigrad_tool.mutation.mutants import generate_mutants
from minigrad_tool.mutation.probing import _with_probe
from minigrad_tool.mutation.results import Campaign, MutantResult, Status, Verdict
from minigrad_tool.report.terminal import minimal_killing_set

ENGINES = Path(__file__).parent / "engines"
MICRO = (ENGINES / "microstyle.py").read_text()

pytestmark = pytest.mark.campaign


def campaign(spec: str = "minigrad.engine", **config: object) -> Campaign:
    loaded = load_in_process(spec)
    settings = settings_for(
        loaded.profile, any_subgradient=bool(config.pop("any_subgradient", False))
    )
    return run_campaign(
        loaded.spec, loaded.profile, CampaignConfig(jobs=2, settings=settings, **config)
    )  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def ours() -> Campaign:
    return campaign()


class TestOurEngine:
    @pytest.mark.e2e
    def test_every_non_equivalent_mutant_is_killed(self, ours: Campaign) -> None:
        """The battery kills every mutant of our engine that some input tells apart."""
        assert ours.score == 100.0
        assert ours.survived == 0 and ours.count(Status.NO_COVERAGE) == 0
        assert len(ours.results) > 150

    def test_equivalents_carry_their_evidence(self, ours: Campaign) -> None:
        """Each equivalent mutant says its changed code ran under probes that agreed."""
        equivalent = {r.mutant.id: r for r in ours.results if r.status is Status.EQUIVALENT}
        assert set(equivalent) == {"relu-swap-2", "backward-topo-2", "relu-forward-2"}
        for r in equivalent.values():
            assert "probes, which ran the changed code" in r.reason
            # the evidence names the lines of the mutated function the probes ran (issue 27)
            assert f"lines of {r.mutant.function} the probes ran: " in r.reason
            assert "every line ran" in r.reason or "never run by a probe: " in r.reason
        assert "lines of Value._topo the probes ran: " in equivalent["backward-topo-2"].reason

    @pytest.mark.e2e
    def test_a_line_no_probe_runs_is_named_in_an_equivalents_evidence(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """relu's step raises on a NaN upstream gradient, which no probe sends: its equivalent
        mutant (`out.data` -> `self.data`) names that line as never run.  The probes stop
        once every line a probe can run has run, never before."""
        engine = tmp_path / "nan_guard.py"
        body = MICRO.replace(
            "        def _backward():\n            self.grad += (out.data > 0) * out.grad\n",
            "        def _backward():\n"
            "            if out.grad != out.grad:\n"
            '                raise FloatingPointError("a NaN upstream gradient")\n'
            "            self.grad += (out.data > 0) * out.grad\n",
        )
        assert body != MICRO
        engine.write_text(body)
        report = tmp_path / "r.json"
        main(["mutate", "--engine", str(engine), "--min-score", "0", "--json", str(report)])
        capsys.readouterr()
        mutants = json.loads(report.read_text())["files"].popitem()[1]["mutants"]
        guard = (
            body.splitlines().index(
                '                raise FloatingPointError("a NaN upstream gradient")'
            )
            + 1
        )
        reasons = [
            m["statusReason"] for m in mutants if m["status"] == "Ignored" and "relu" in m["id"]
        ]
        assert reasons and all(f"never run by a probe: {guard}" in r for r in reasons)

    def test_the_sign_of_a_zero_is_no_difference(self, ours: Campaign) -> None:
        """relu's forward `> 0.0` -> `>= 0.0` only makes relu(-0.0) -0.0, which == 0.0: no case
        pins it, and the mutant is equivalent, with its evidence."""
        result = next(r for r in ours.results if r.mutant.id == "relu-forward-2")
        assert result.status is Status.EQUIVALENT
        assert "agrees with the original on all" in result.reason

    def test_kink_convention_is_pinned(self, ours: Campaign) -> None:
        """relu'(0) = 1 is a valid subgradient, but not this engine's: the campaign kills it."""
        result = next(r for r in ours.results if r.mutant.id == "relu-compare")
        assert result.status is Status.KILLED

    @pytest.mark.parametrize(
        ("any_subgradient", "expected"), [(False, "Killed"), (True, "Ignored")]
    )
    def test_any_subgradient_lets_the_convention_go(
        self, any_subgradient: bool, expected: str
    ) -> None:
        """`self.data > 0` -> `>= 0` changes only relu'(0): pinned by default, free on request."""
        from minigrad_tool.mutation.mutants import Generated

        loaded = load_in_process(str(ENGINES / "local_grads.py"))
        mutants = generate_mutants(loaded.spec, loaded.profile).mutants
        compare = [m for m in mutants if m.id == "relu-compare"]
        assert compare[0].original == "self.data > 0"
        settings = settings_for(loaded.profile, any_subgradient=any_subgradient)
        result = run_campaign(
            loaded.spec,
            loaded.profile,
            CampaignConfig(jobs=2, settings=settings),
            generated=Generated(compare),
        )
        assert result.results[0].status.value == expected

    def test_killers_are_cases_that_ran_the_code(self, ours: Campaign) -> None:
        """A killed mutant's killer also ran its changed code (it is in coveredBy)."""
        killed = [r for r in ours.results if r.status is Status.KILLED and r.killed_by]
        assert len(killed) > 150
        for r in killed:
            assert set(r.killed_by) <= set(r.covered_by), r.mutant.id


@pytest.mark.e2e
@pytest.mark.parametrize(
    "name",
    [
        "closure_named.py",
        "lambda_setattr.py",
        "local_grads.py",
        "grad_wrt.py",
        "function_class.py",
        "keyword_forward.py",
        "float32.py",
        "relu_one.py",
    ],
)
def test_every_style_reaches_100(name: str) -> None:
    """Every style of engine: each backward step mutated, every non-equivalent mutant killed."""
    result = campaign(str(ENGINES / name))
    assert result.score == 100.0
    steps = {op.name for op in load_in_process(str(ENGINES / name)).profile.ops if op.steps}
    assert steps <= {r.mutant.op for r in result.results}


class TestGates:
    @pytest.mark.e2e
    def test_a_weak_judge_leaves_survivors_and_exits_1(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Judged by the edge cases alone, mutants survive; the command says how to catch them."""
        args = ["mutate", "--groups", "edge", "--engine", str(ENGINES / "microstyle.py")]
        code = main(args)
        brief = capsys.readouterr().out
        assert code == 1
        assert "SURVIVED (" in brief and "distinguishing input:" not in brief
        assert "--verbose" in brief  # one line per survivor; the rest behind the flag
        code = main([*args, "--verbose"])
        out = capsys.readouterr().out
        assert "SURVIVED (" in out and "distinguishing input:" in out
        assert "--tests" in out and "--suggest" in out
        assert "is below --min-score 100%" in out

    def test_failing_cases_are_findings(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Cases the unmutated engine fails are listed; the rest judge the mutants; exit 1."""
        code = main(["mutate", "--engine", str(ENGINES / "buggy_ops.py")])
        out = capsys.readouterr().out
        assert code == 1
        assert out.startswith("YOUR ENGINE IS WRONG") and "abs:" in out.split("mutants of")[0]
        assert "mutation score:" in out

    def test_a_survivor_whose_ops_cases_fail_says_fix_the_op_first(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """sub's own step has the wrong sign, so sub's cases fail and judge nothing: its
        survivors point there, not at a case the battery lacks."""
        engine = tmp_path / "sub_wrong.py"
        body = MICRO.replace(
            "    def __sub__(self, other):\n        return self + (-other)\n",
            "    def __sub__(self, other):\n"
            "        other = other if isinstance(other, Value) else Value(other)\n"
            '        out = Value(self.data - other.data, (self, other), "-")\n\n'
            "        def _backward():\n"
            "            self.grad -= out.grad\n"
            "            other.grad += out.grad\n\n"
            "        out._backward = _backward\n"
            "        return out\n",
        )
        assert body != MICRO
        engine.write_text(body)
        code = main(["mutate", "--engine", str(engine), "--operators", "swap", "--verbose"])
        out = capsys.readouterr().out
        assert code == 1 and "fix sub first" in out and "\n  sub-swap" in out
        assert "how to catch it: the battery's cases for sub (" in out
        assert "fail on the unmutated engine and judge no mutant; fix sub first" in out
        assert "the battery needs a case for it" not in out

    def test_an_engine_failing_every_case_exits_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """No case passes: nothing could judge a mutant, so no verdict at all."""
        engine = tmp_path / "no_backward.py"
        engine.write_text(
            MICRO.replace("        self.grad = 1\n", '        self.grad = float("nan")\n')
        )
        code = main(["mutate", "--engine", str(engine)])
        err = capsys.readouterr().err
        assert code == 2
        assert "fails every case of the battery" in err

    def test_timeout_below_the_harness_exits_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--timeout too short to let the unmutated engine pass would fake kills: refused."""
        code = main(["mutate", "--timeout", "0.001", "--engine", str(ENGINES / "microstyle.py")])
        assert code == 2
        assert "--timeout 0.001 s is too short" in capsys.readouterr().err

    def test_never_run_code_is_not_covered(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A step no case can run is NoCoverage, counts against the score, and is listed."""
        body = MICRO.replace(
            "    def __neg__(self):",
            "    def __matmul__(self, other):\n"
            "        raise ValueError('needs 2-d data')\n"
            "        out = Value(0.0, (self, other))\n\n"
            "        def _backward():\n"
            "            self.grad += other.data * out.grad\n\n"
            "        out._backward = _backward\n"
            "        return out\n\n"
            "    def __neg__(self):",
        )
        path = tmp_path / "mm.py"
        path.write_text(body)
        report_path = str(tmp_path / "r.json")
        code = main(["mutate", "--engine", str(path), "--operators", "sign", "--json", report_path])
        out = capsys.readouterr().out
        assert code == 1
        assert "not covered (" in out and "matmul-sign" in out
        report = json.loads((tmp_path / "r.json").read_text())
        statuses = {m["id"]: m["status"] for e in report["files"].values() for m in e["mutants"]}
        assert statuses["matmul-sign"] == "NoCoverage"

    def test_branches_of_an_op_are_reached(self, tmp_path: Path) -> None:
        """propgrad's stable sigmoid: `if x < -50: s = 0.0`.  The adapter finds a point past the
        branch, so its mutants are judged, not left uncovered."""
        extra = (ENGINES / "extra_ops.py").read_text()
        body = extra.replace(
            "        s = 1.0 / (1.0 + math.exp(-self.data))\n",
            "        if self.data < -50:\n"
            "            s = 0.0\n"
            "        else:\n"
            "            s = 1.0 / (1.0 + math.exp(-self.data))\n",
        )
        assert body != extra
        path = tmp_path / "stable.py"
        path.write_text(body)
        points = load_in_process(str(path)).profile.op("sigmoid").points
        assert any(x < -50 for (x,) in points)
        result = campaign(str(path))
        assert result.count(Status.NO_COVERAGE) == 0
        assert result.score == 100.0

    def test_engine_edited_during_the_run_exits_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The file changed under the run: the results belong to the snapshot, say so, exit 2."""
        path = tmp_path / "selfedit.py"
        path.write_text(f"open(__file__, 'a').write('# edited\\n')\n{MICRO}")
        with pytest.MonkeyPatch.context() as patch:  # an engine may write there: it edits itself
            patch.setenv("MINIGRAD_WRITABLE", str(tmp_path))
            code = main(["mutate", "--engine", str(path)])
        assert code == 2
        assert "changed during the run" in capsys.readouterr().err

    def test_minigrad_failure_is_no_verdict(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A crash inside minigrad's own code while judging mutants is exit 2, never a 'kill'."""
        from minigrad_tool.mutation.patch import Patcher

        def broken(self: Patcher, mutant: object) -> None:
            raise KeyError("__add__")

        monkeypatch.setattr(Patcher, "apply", broken)
        code = main(["mutate", "--engine", str(ENGINES / "microstyle.py")])
        err = capsys.readouterr().err
        assert code == 2
        assert "no verdict, minigrad itself failed" in err and "KeyError: '__add__'" in err
        assert "(raised at " in err


class TestStatuses:
    def _result(self) -> MutantResult:
        loaded = load_in_process("minigrad.engine")
        mutant = generate_mutants(loaded.spec, loaded.profile).mutants[0]
        verdict = Verdict(Status.SURVIVED, "no case fails")
        return MutantResult(
            mutant, Status.SURVIVED, "no case fails", judges=(("battery", verdict),)
        )

    def test_equivalent_needs_the_code_to_have_run(self) -> None:
        """Probes that agree but never ran the changed code prove nothing: still a survivor."""
        outcome = ChildOutcome("ok", {"probe_index": None, "hits": 0, "count": 500})
        result = _with_probe(self._result(), outcome, "probes")
        assert result.status is Status.SURVIVED
        assert "no probe on which the original computes ran the changed code" in result.reason

    def test_equivalent_with_evidence(self) -> None:
        """Probes ran the code and agree: equivalent, with the count in the reason."""
        outcome = ChildOutcome("ok", {"probe_index": None, "hits": 3, "count": 500})
        assert _with_probe(self._result(), outcome, "probes").status is Status.EQUIVALENT

    def test_score(self) -> None:
        """(killed + timeout) / every status but equivalent; no judged mutant has no score."""
        assert [o.detected for o in Status] == [True, True, False, False, False]
        assert [o.judged for o in Status] == [True, True, True, True, False]


class TestShards:
    @pytest.mark.parametrize("count", [1, 2, 3, 7])
    def test_shards_partition_the_mutants(self, count: int) -> None:
        """Every mutant is in exactly one shard, and shards differ in size by one at most."""
        loaded = load_in_process("minigrad.engine")
        mutants = generate_mutants(loaded.spec, loaded.profile).mutants
        shards = [shard_of(mutants, (i, count)) for i in range(1, count + 1)]
        ids = [m.id for shard in shards for m in shard]
        assert sorted(ids) == sorted(m.id for m in mutants)
        assert max(map(len, shards)) - min(map(len, shards)) <= 1

    def test_minimal_killing_set(self) -> None:
        """Greedy cover then pruning keeps a set that kills every killed mutant."""
        killed_by = {"a": ["x", "y"], "b": ["y"], "c": ["z", "x"], "d": []}
        chosen = minimal_killing_set(killed_by)
        assert set(chosen) in ({"y", "z"}, {"y", "x"})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.e2e
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_midway_leaves_everything_as_it_was(tmp_path: Path, sig: signal.Signals) -> None:
    """Kill the campaign while mutants run: source byte-identical, no bytecode, no child left."""
    marks = tmp_path / "marks"
    marks.mkdir()
    engine = tmp_path / "engine.py"
    engine.write_text(
        f"import os\nopen(os.path.join({str(marks)!r}, str(os.getpid())), 'w').close()\n" + MICRO
    )
    before = engine.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-m", "minigrad_tool", "mutate", "--engine", str(engine)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MINIGRAD_WRITABLE": str(marks)},  # where the engine leaves marks
    )
    while len(list(marks.iterdir())) < 2 and proc.poll() is None:  # the host has the engine
        time.sleep(0.02)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    assert engine.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["engine.py", "marks"]
    pids = [int(p.name) for p in marks.iterdir()]
    for _ in range(200):
        if not any(_alive(pid) for pid in pids):
            break
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids)
    if sig is signal.SIGINT:
        assert proc.returncode == 130


def test_line_ranges_are_folded() -> None:
    from minigrad_tool.mutation.probing import _ranges

    assert _ranges([3, 4, 5, 8, 10, 11]) == "3-5, 8, 10-11"
    assert _ranges([]) == ""


def test_what_a_judge_lets_through_is_probed_while_the_judges_go_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each mutant your tests or the battery let through is probed once, its probe run
    started as its verdict came, or as the probes' run on the unmutated engine came in for
    those let through before it (campaign._ProbeAhead), and the results are those of probing
    after judging, mutant for mutant."""
    from minigrad_tool.adapter import parse_spec, profile_engine
    from minigrad_tool.isolation import Limits
    from minigrad_tool.mutation import campaign as module

    student = Path(__file__).parents[1] / "examples" / "student"
    sent: list[str] = []

    class Recording(module._ProbeAhead):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            submit = self.probing.submit

            def recorded(host: Any, mutant: str, original: Any, last: Any) -> tuple[int, int]:
                sent.append(mutant)  # each probe run started, as it starts
                return submit(host, mutant, original, last)

            self.probing.submit = recorded  # type: ignore[method-assign]

    class Late(module._ProbeAhead):
        def verdict(self, mutant: str, verdict: Verdict) -> None:
            return None  # nothing ahead: every probe run after judging

    def run() -> list[tuple[object, ...]]:
        # discovered in a child: no engine module named `engine` left in this process
        spec, profile = profile_engine(parse_spec(str(student / "engine.py")), Limits(60.0, None))
        config = CampaignConfig(
            jobs=2,
            settings=settings_for(profile),
            tests=(str(student / "test_engine.py"),),
            judges=("tests", "battery"),
        )
        done = run_campaign(spec, profile, config)
        return [
            (
                r.mutant.id,
                r.status,
                r.reason,
                r.probe_index,
                r.distinguishing,
                *((n, v.status, v.reason, v.killed_by, v.orders) for n, v in r.judges),
            )
            for r in done.results
        ]

    monkeypatch.setattr(module, "_ProbeAhead", Recording)
    ahead = run()
    monkeypatch.setattr(module, "_ProbeAhead", Late)
    assert run() == ahead
    through = [r[0] for r in ahead if any(not v[1].detected for v in r[5:])]
    assert through and sorted(sent) == sorted(through) and len(set(sent)) == len(sent)


class TestCasesInChunks:
    """Battery cases run a chunk of them per child, in the campaign's harness and in
    gradcheck (a child per case cost more than most cases; minigrad_tool.battery.chunks); a
    chunk whose child dies runs again a case per child, so a crash is still blamed on its own
    case, and one that hangs is the running case's own, never waited for twice."""

    class Engine:
        """A host that answers each chunk as its cases would; a chunk holding a case named
        in `dies` dies as its child would, one holding a case named in `hangs` is killed at
        its deadline while that case runs."""

        def __init__(
            self,
            dies: set[str],
            hangs: frozenset[str] = frozenset(),
            fails: frozenset[str] = frozenset(),
        ) -> None:
            self.dies, self.hangs, self.fails = dies, hangs, fails
            self.requests: list[list[str]] = []

        def run(
            self, requests: list[Any], on_done: Callable[[str, ChildOutcome], None]
        ) -> dict[str, ChildOutcome]:
            answers = {}
            for request in requests:
                cases = request.args["cases"]
                self.requests.append(cases)
                assert request.per_phase  # each case has the whole deadline
                hung = [c for c in cases if c in self.hangs]
                if hung:
                    phase = f"case {hung[0]} on the unmutated engine"
                    answers[request.key] = ChildOutcome("timeout", None, "no answer", phase)
                elif self.dies & set(cases):
                    answers[request.key] = ChildOutcome("died", None, "exited with status 7")
                else:  # as each_until_failure answers: up to the first case that fails
                    value = {}
                    for c in cases:
                        failed = c in self.fails
                        status = "fail" if failed else "pass"
                        value[c] = {"status": status, "reached": None, "seconds": 0.5}
                        if failed:
                            break
                    answers[request.key] = ChildOutcome("ok", value)
                on_done(request.key, answers[request.key])
            return answers

    def test_cases_share_children(self) -> None:
        from minigrad_tool.battery.chunks import CHUNKS_PER_JOB
        from minigrad_tool.mutation.judges.battery import _run_in_chunks

        names = [f"case{i}" for i in range(67)]
        engine = self.Engine(set())
        runs = _run_in_chunks(engine, names, jobs=2)  # type: ignore[arg-type]
        assert len(engine.requests) == 2 * CHUNKS_PER_JOB == 8
        assert sorted(c for chunk in engine.requests for c in chunk) == sorted(names)
        assert engine.requests[0][:2] == ["case0", "case8"]  # dealt out in turn
        assert runs["case5"] == ({"status": "pass", "reached": None}, 0.5)

    def test_a_compiled_engine_keeps_a_case_per_child(self) -> None:
        """Compiled code that breaks its process may corrupt what the next case reads: the
        harness, as gradcheck, runs no case beside another there."""
        from minigrad_tool.mutation.judges.battery import _run_in_chunks

        names = [f"case{i}" for i in range(67)]
        engine = self.Engine(set())
        _run_in_chunks(engine, names, jobs=2, compiled=True)  # type: ignore[arg-type]
        assert engine.requests == [[name] for name in names]

    def test_a_chunk_that_dies_runs_again_a_case_per_child(self) -> None:
        from minigrad_tool.mutation.judges.battery import _run_in_chunks

        names = [f"case{i}" for i in range(20)]
        engine = self.Engine({"case3"})
        runs = _run_in_chunks(engine, names, jobs=1)  # type: ignore[arg-type]
        chunk = next(c for c in engine.requests if "case3" in c)
        assert len(chunk) == 5 and engine.requests[-5:] == [[c] for c in chunk]
        died = runs["case3"]
        assert isinstance(died, ChildOutcome) and died.message == "exited with status 7"
        assert all(isinstance(runs[c], tuple) for c in names if c != "case3")

    def test_a_chunk_that_hangs_is_its_running_cases_own(self) -> None:
        from minigrad_tool.battery.chunks import run_in_chunks

        names = [f"case{i}" for i in range(20)]
        engine = self.Engine(set(), hangs=frozenset({"case7"}))
        heard: list[str] = []
        outcomes = run_in_chunks(
            engine,  # type: ignore[arg-type]
            "battery-harness",
            names,
            4,
            on_done=lambda case, _: heard.append(case),
        )
        assert outcomes["case7"].status == "timeout"
        assert ["case7"] not in engine.requests  # not waited for a second time
        others = [c for c in next(c for c in engine.requests if "case7" in c) if c != "case7"]
        assert engine.requests[-4:] == [[c] for c in others]  # the rest of its chunk, alone
        assert sorted(heard) == sorted(names) and all(outcomes[c].ok for c in others)

    def test_the_cases_after_a_failure_run_in_another_child(self) -> None:
        """A case that fails may leave its process as no other case should find it (a
        MemoryError caught half-way): its chunk stops there, and the cases it did not reach
        run in new chunks."""
        from minigrad_tool.battery.chunks import run_in_chunks

        names = [f"case{i}" for i in range(12)]
        engine = self.Engine(set(), fails=frozenset({"case0", "case4"}))
        outcomes = run_in_chunks(engine, "battery-harness", names, 2)  # type: ignore[arg-type]
        assert engine.requests[:2] == [names[0::2], names[1::2]]
        # after case0's failure the rest of its chunk is dealt again, then after case4's
        assert engine.requests[2:] == [["case2", "case6", "case10"], ["case4", "case8"], ["case8"]]
        assert sorted(outcomes) == sorted(names)
        assert [c for c in names if outcomes[c].value["status"] == "fail"] == ["case0", "case4"]

    def test_each_crash_is_its_own_cases(self, tmp_path: Path) -> None:
        """backward() exits the process on graphs of more than 40 nodes: the three cases
        that build one (the costliest, each dealt into a chunk of its own with cheap ones)
        are the findings, each named, and no other case is."""
        body = MICRO.replace(
            "        build_topo(self)\n",
            "        build_topo(self)\n"
            "        if len(topo) > 40:\n"
            "            import os\n\n"
            "            os._exit(7)\n",
        )
        assert body != MICRO
        (tmp_path / "long_graphs_exit.py").write_text(body)
        result = campaign(str(tmp_path / "long_graphs_exit.py"))
        died = {f.case: f.message for f in result.findings}
        assert set(died) == {"deep_chain", "mlp_gradcheck", "mlp_learns"}
        for case, message in died.items():
            assert f"the engine exited with status 7 during case {case}" in message
        assert result.score == 100.0 and result.survived == 0 and len(result.results) > 70
