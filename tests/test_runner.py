"""The campaign: 100% on our engine, the gate can fail, isolation, timeouts, source safety."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import KinkOne

from minigrad.battery import BATTERY
from minigrad.cli import main
from minigrad.engine import Value
from minigrad.engines import load_engine
from minigrad.mutation.equivalence import find_difference
from minigrad.mutation.isolation import run_isolated
from minigrad.mutation.report import schema_report
from minigrad.mutation.runner import (
    CampaignConfig,
    HarnessError,
    Outcome,
    minimal_killing_set,
    run_campaign,
)

ROOT = Path(__file__).resolve().parents[1]
MICROSTYLE = Path(__file__).parent / "engines" / "microstyle.py"


@pytest.fixture(scope="module")
def campaign():  # type: ignore[no-untyped-def]
    return run_campaign(load_engine())


@pytest.mark.campaign
class TestOurEngine:
    def test_kills_every_non_equivalent_mutant(self, campaign) -> None:  # type: ignore[no-untyped-def]
        """The full campaign on our engine scores 100% with no survivors."""
        assert campaign.survived == 0
        assert campaign.score == 100.0
        assert campaign.killed > 100

    def test_equivalents_have_reasons(self, campaign) -> None:  # type: ignore[no-untyped-def]
        """Equivalent mutants are not counted as killed and carry their reason."""
        equivalent = [r for r in campaign.results if r.outcome is Outcome.EQUIVALENT]
        assert {r.mutant.id for r in equivalent} == {
            "relu-swap-2",
            "relu-forward-2",
            "backward-topo-2",
        }
        assert all(r.reason.startswith("equivalent") for r in equivalent)

    def test_schema_report(self, campaign) -> None:  # type: ignore[no-untyped-def]
        """The JSON report follows mutation-testing-report-schema v2."""
        report = json.loads(json.dumps(schema_report([campaign])))
        assert report["schemaVersion"] == "2"
        (entry,) = report["files"].values()
        assert entry["source"] == campaign.source
        statuses = {m["status"] for m in entry["mutants"]}
        assert statuses <= {"Killed", "Survived", "Timeout", "RuntimeError", "Ignored"}
        sub = next(m for m in entry["mutants"] if m["id"] == "sub-sign")
        assert sub["mutatorName"] == "sign"
        assert sub["status"] == "Killed"
        assert sub["killedBy"] == ["sub"] or "sub" in sub["killedBy"] or sub["killedBy"]
        assert sub["location"]["start"]["line"] >= 1 and sub["location"]["start"]["column"] >= 1
        ignored = [m for m in entry["mutants"] if m["status"] == "Ignored"]
        assert all(m["statusReason"].startswith("equivalent") for m in ignored)


@pytest.mark.campaign
def test_microstyle_engine_reaches_100() -> None:
    """A micrograd-style engine (set children, recursive topo, no tanh) is fully killed too."""
    result = run_campaign(load_engine(str(MICROSTYLE)))
    assert result.survived == 0
    assert result.killed > 30


@pytest.mark.campaign
class TestGateCanFail:
    def test_weakened_battery_leaves_survivors(self) -> None:
        """Without the graph, random and composite cases, the topo mutants survive."""
        weak = tuple(c for c in BATTERY if c.group == "op")
        result = run_campaign(load_engine(), CampaignConfig(operators=("topo",)), cases=weak)
        survivors = [r for r in result.results if r.outcome is Outcome.SURVIVED]
        assert survivors
        assert result.score < 100.0
        assert all(r.distinguishing for r in survivors)

    def test_cli_exits_1_below_min_score(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`minigrad mutate` with a weakened battery prints the survivor and exits 1."""
        code = main(["mutate", "--groups", "op", "--operators", "topo"])
        out = capsys.readouterr().out
        assert code == 1
        assert "SURVIVED backward-topo" in out
        assert "distinguishing input" in out
        assert "below --min-score 100%" in out

    def test_harness_failure_is_usage_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An engine that fails the clean battery exits 2 and says why."""
        broken = tmp_path / "broken.py"
        broken.write_text(
            load_engine().source.replace("other.grad -= out.grad", "other.grad += out.grad")
        )
        with pytest.raises(HarnessError, match="fails the battery"):
            run_campaign(load_engine(str(broken)), CampaignConfig(operators=("drop",)))
        assert main(["mutate", "--engine", str(broken)]) == 2
        assert "the unmutated engine fails the battery" in capsys.readouterr().err


HANGING_ENGINE = """
def _scaled(g, step):
    n = 0
    while n < 3:
        n += step
    return g


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += _scaled(out.grad, 1)
            other.grad += out.grad

        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def backward(self):
        topo, seen = [], set()
        stack = [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                topo.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((c, False) for c in node._prev)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()
"""


@pytest.mark.campaign
class TestIsolation:
    def test_infinite_loop_is_timed_out(self, tmp_path: Path) -> None:
        """A mutant that loops forever (step 1 -> 0) is killed by timeout; the campaign ends."""
        path = tmp_path / "hanging.py"
        path.write_text(HANGING_ENGINE)
        result = run_campaign(
            load_engine(str(path)), CampaignConfig(operators=("const",), timeout=1.0)
        )
        outcomes = {r.mutant.replacement: r.outcome for r in result.results}
        assert outcomes["0"] is Outcome.TIMEOUT
        assert outcomes["2"] is Outcome.EQUIVALENT
        assert result.score == 100.0

    def test_crash_is_a_runtime_error(self) -> None:
        """A child that dies without a verdict is reported with its signal."""

        def die() -> dict[str, object]:
            os.kill(os.getpid(), signal.SIGSEGV)
            return {}

        verdict = run_isolated([("x", die)], jobs=1, timeout=5.0)["x"]
        assert verdict["outcome"] == "RuntimeError"
        assert "SIGSEGV" in verdict["reason"]

    def test_exception_in_child_is_a_runtime_error(self) -> None:
        """An exception escaping the task becomes a RuntimeError verdict with its text."""

        def boom() -> dict[str, object]:
            raise MemoryError("out of memory")

        verdict = run_isolated([("x", boom)], jobs=1, timeout=5.0)["x"]
        assert verdict == {
            "outcome": "RuntimeError",
            "reason": "MemoryError: out of memory",
            "seconds": verdict["seconds"],
        }

    def test_parallel_results_keep_their_keys(self) -> None:
        """Results come back under their own keys whatever order children finish in."""
        tasks = [(str(i), lambda i=i: {"value": i}) for i in range(6)]
        results = run_isolated(tasks, jobs=3, timeout=5.0)
        assert {k: v["value"] for k, v in results.items()} == {str(i): i for i in range(6)}


def _tree_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.campaign
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_source_identical_after_campaign_killed_midway(sig: signal.Signals) -> None:
    """Killing a campaign mid-way (SIGKILL or Ctrl-C) leaves the source byte-identical."""
    before = _tree_digest()
    proc = subprocess.Popen(
        [sys.executable, "-m", "minigrad", "mutate", "--jobs", "1", "--matrix"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(1.5)
    assert proc.poll() is None, "the campaign finished before it could be killed"
    os.killpg(proc.pid, sig)
    proc.wait(timeout=30)
    assert _tree_digest() == before


class TestHelpers:
    def test_minimal_killing_set(self) -> None:
        """Greedy cover then pruning: no chosen case is redundant."""
        killed_by = {"m1": ["a", "b"], "m2": ["b"], "m3": ["c", "a"], "m4": [], "m5": ["c"]}
        assert sorted(minimal_killing_set(killed_by)) == ["b", "c"]

    def test_find_difference(self) -> None:
        """Identical engines agree; a relu that passes gradient at 0 is told apart."""
        witness, count = find_difference(Value, Value)
        assert witness is None
        assert count > 300

        witness, _ = find_difference(Value, KinkOne)
        assert witness is not None
        assert witness.startswith("relu at x=")
