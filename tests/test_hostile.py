"""Engines that misbehave at import: a clear verdict each, never a false one, nothing left over."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ENGINES = Path(__file__).parent / "engines"
MICRO = (ENGINES / "microstyle.py").read_text()

pytestmark = pytest.mark.campaign


def minigrad(folder: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minigrad_tool", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def engine(folder: Path, prelude: str) -> str:
    path = folder / "eng.py"
    path.write_text(prelude + "\n" + MICRO)
    return str(path)


def running(marker: str) -> list[int]:
    """Processes whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(entry.name))
    return found


def test_an_engine_that_closes_stdout_and_stderr_is_judged_right(tmp_path: Path) -> None:
    """fds 1 and 2 closed at import: every case still reports; a correct engine passes."""
    path = engine(tmp_path, "import os\nos.close(1)\nos.close(2)\n")
    result = minigrad(tmp_path, "gradcheck", "--engine", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout


def test_a_thread_at_import_gets_no_verdict(tmp_path: Path) -> None:
    """A background thread holding a lock would deadlock forked children: exit 2, said."""
    prelude = (
        "import threading, time\n"
        "_lock = threading.Lock()\n"
        "def _hold():\n"
        "    with _lock:\n"
        "        time.sleep(60)\n"
        "threading.Thread(target=_hold, name='holder', daemon=True).start()\n"
    )
    path = engine(tmp_path, prelude)
    for command in ("gradcheck", "mutate"):
        result = minigrad(tmp_path, command, "--engine", path)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "started 1 thread(s) at import (holder)" in result.stderr
        assert "killed" not in result.stdout


@pytest.mark.parametrize(
    "prelude",
    [
        "import subprocess\nsubprocess.Popen(['sleep', '{marker}'])\n",
        "import os, time\nif os.fork() == 0:\n    time.sleep({marker})\n    os._exit(0)\n",
    ],
    ids=["spawns sleep", "forks a helper"],
)
def test_helpers_started_at_import_never_outlive_the_run(tmp_path: Path, prelude: str) -> None:
    """The run neither waits for them nor leaves them running."""
    marker = "617.25"  # a sleep no other process on the machine is likely to have
    path = engine(tmp_path, prelude.format(marker=marker))
    result = minigrad(tmp_path, "mutate", "--engine", path, "--operators", "sign", timeout=200)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mutation score: 100.0%" in result.stdout
    assert running(f"sleep {marker}") == []
    assert running(path) == []  # a forked helper carries minigrad's command line, and the path


LOG_WITHOUT_IMPORT = MICRO.replace(
    "\n    def backward(self):",
    "\n    def log(self):\n"
    "        out = Value(log(self.data), (self,), 'log')\n\n"
    "        def _backward():\n"
    "            self.grad += out.grad / self.data\n\n"
    "        out._backward = _backward\n"
    "        return out\n\n"
    "    def backward(self):",
    1,
)
SUB_NEEDS_RMUL = MICRO.replace(
    "        return self + (-other)", "        return self + (-1 * other)"
).replace("    def __rmul__(self, other):\n        return self * other\n", "")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (LOG_WITHOUT_IMPORT, "Value.log crashes in the engine's code: x.log() at x="),
        (SUB_NEEDS_RMUL, "Value.__sub__ crashes in the engine's code: x - y at x="),
    ],
    ids=["log: NameError", "sub: TypeError"],
)
def test_an_op_that_crashes_is_a_failure_not_an_absent_op(
    tmp_path: Path, body: str, said: str
) -> None:
    """An exception inside the engine's own code names the op, the exception and the line."""
    path = tmp_path / "eng.py"
    path.write_text(body)
    assert body != MICRO
    result = minigrad(tmp_path, "gradcheck", "--engine", str(path))
    assert result.returncode == 1, result.stdout
    assert said in result.stdout and "(eng.py:" in result.stdout
    assert "NameError" in result.stdout or "unsupported operand" in result.stdout


VAL_ENGINE = (
    MICRO.replace("self.data", "self.val")
    .replace("other.data", "other.val")
    .replace("out.data", "out.val")
)


def test_a_number_kept_in_val_is_found_and_used(tmp_path: Path) -> None:
    """The attribute that holds the number is discovered, as the children attribute is."""
    path = tmp_path / "eng.py"
    path.write_text(VAL_ENGINE)
    result = minigrad(tmp_path, "gradcheck", "--engine", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "numbers in .val" in result.stdout and " 0 failed" in result.stdout
    mutate = minigrad(tmp_path, "mutate", "--engine", str(path), "--operators", "sign,assign")
    assert mutate.returncode == 0 and "mutation score: 100.0%" in mutate.stdout


SHAPES = {
    "no number at all": (
        "class Value:\n"
        "    def __init__(self, x):\n        self.grad = 0.0\n"
        "    def backward(self):\n        pass\n",
        "Value(0.5) has no .data",
    ),
    "backwards(g)": (  # backwards() alone is aliased (nodes.alias_backward); this needs g
        MICRO.replace("def backward(self):", "def backwards(self, g):"),
        "Value(0.5) has no backward() (found backwards(), not backward())",
    ),
    "data a compiled object": (
        "class Box:\n    pass\n\n"
        + MICRO.replace("        self.data = data\n", "        self.data = Box()\n", 1),
        "Value(0.5).data is Box",
    ),
    "runBackwardStep()": (  # sounds like one, though no known name: not aliased
        MICRO.replace("def backward(self):", "def runBackwardStep(self):"),
        "Value(0.5) has no backward() (found runBackwardStep(), not backward())",
    ),
    "data and grad as methods": (
        "class Value:\n"
        "    def __init__(self, x):\n        self._x = x\n"
        "    def data(self):\n        return self._x\n"
        "    def grad(self):\n        return 0.0\n"
        "    def backward(self):\n        pass\n",
        "Value(0.5) has .data as a method, not a number",
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_an_engine_of_another_shape_is_told_what_is_missing(tmp_path: Path, shape: str) -> None:
    """Exit 2 with exactly what is missing, and no minigrad internals in the message."""
    body, said = SHAPES[shape]
    path = tmp_path / "eng.py"
    path.write_text(body)
    result = minigrad(tmp_path, "gradcheck", "--engine", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert said in result.stderr
    assert "minigrad_tool" not in result.stderr and "EngineError" not in result.stderr


def test_a_step_that_sums_hundreds_of_terms(tmp_path: Path) -> None:
    """Python runs it; so must every walk minigrad makes over its AST (no RecursionError)."""
    terms = " + ".join(["out.grad * 0.004"] * 250)
    body = MICRO.replace(
        "            self.grad += out.grad\n            other.grad += out.grad",
        f"            self.grad += ({terms}) * 0 + out.grad\n            other.grad += out.grad",
        1,
    )
    assert body != MICRO
    path = tmp_path / "eng.py"
    path.write_text(body)
    result = minigrad(tmp_path, "mutate", "--engine", str(path), "--operators", "assign")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mutation score: 100.0%" in result.stdout and "Traceback" not in result.stderr


def test_the_reader_going_away_loses_no_report(tmp_path: Path) -> None:
    """`minigrad mutate --json r.json | true`: no traceback, the verdict's exit code, r.json."""
    path = engine(tmp_path, "")
    report = tmp_path / "r.json"
    command = ["mutate", "--engine", path, "--json", str(report), "--operators", "sign"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "minigrad_tool", *command],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert report.is_file() and report.read_text().startswith("{")


def test_text_a_terminal_cannot_encode_is_escaped(tmp_path: Path) -> None:
    """An engine message with a lone surrogate, on a strict UTF-8 stdout: escaped, no traceback."""
    body = MICRO.replace(
        "\n    def backward(self):",
        "\n    def tanh(self):\n        raise ValueError('bad byte \\udcff here')\n\n"
        "    def backward(self):",
        1,
    )
    path = tmp_path / "eng.py"
    path.write_text(body)
    result = subprocess.run(
        [sys.executable, "-m", "minigrad_tool", "gradcheck", "--engine", str(path)],
        cwd=tmp_path,
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},
        timeout=120,
        check=False,
    )
    out, err = result.stdout.decode(), result.stderr.decode()
    assert "Traceback" not in err and "UnicodeEncodeError" not in err
    assert result.returncode in (0, 1), err
    assert "bad byte \\udcff here" in out


def _numpy_grads(accumulate_in_place_everywhere: bool) -> str:
    body = "import numpy as np\n" + MICRO.replace(
        "        self.grad = 0\n", "        self.grad = np.array(0.0)\n"
    ).replace("        self.grad = 1\n", "        self.grad = np.array(1.0)\n")
    if accumulate_in_place_everywhere:
        return re.sub(r"(\w+)\.grad \+= (.+)", r"\1.grad.__iadd__(\2)", body)
    return body


def test_grads_in_the_engines_own_number_type(tmp_path: Path) -> None:
    """0-d numpy grads added to in place: minigrad pre-seeds with a 0-d array too, so a
    correct engine passes (no `'float' object has no attribute '__iadd__'`)."""
    body = _numpy_grads(accumulate_in_place_everywhere=True)
    assert "__iadd__" in body
    path = tmp_path / "eng.py"
    path.write_text(body)
    result = minigrad(tmp_path, "gradcheck", "--engine", str(path))
    assert result.returncode == 0, result.stdout
    assert "__iadd__" not in result.stdout


@pytest.mark.e2e
@pytest.mark.campaign
def test_in_place_accumulation_is_mutated(tmp_path: Path) -> None:
    """`x.grad.__iadd__(v)` is `x.grad += v` spelled out: its steps are mutation sites (sign,
    assign, swap, drop), and the battery kills them all."""
    path = tmp_path / "eng.py"
    path.write_text(_numpy_grads(accumulate_in_place_everywhere=True))
    report = tmp_path / "r.json"
    result = minigrad(
        tmp_path, "mutate", "--engine", str(path), "--judge", "battery", "--json", str(report)
    )
    assert result.returncode == 0, result.stdout[-3000:]
    mutants = [m for f in json.loads(report.read_text())["files"].values() for m in f["mutants"]]
    assert any(m["replacement"] == "self.grad.__isub__" for m in mutants)
    assert "mutation score: 100.0%" in result.stdout
    killed = int(result.stdout.split("mutation score: 100.0% (")[1].split()[0])
    assert killed > 40  # each op's contributions, not only its forward


def test_an_exception_in_a_case_names_the_op_the_check_and_the_line(tmp_path: Path) -> None:
    body = MICRO.replace(
        "            self.grad += other.data * out.grad",
        "            self.grad.__iadd__(other.data * out.grad)",
    )
    assert body != MICRO
    path = tmp_path / "eng.py"
    path.write_text(body)
    result = minigrad(tmp_path, "gradcheck", "--engine", str(path))
    assert result.returncode == 1
    assert "FAILED mul\n" in result.stdout
    assert "mul in Value.__mul__ (eng.py:" in result.stdout
    assert "during the plain backward check: AttributeError" in result.stdout
    assert "(self.grad.__iadd__(other.data * out.grad))" in result.stdout


def test_backward_that_zeroes_every_grad_is_blamed_once(tmp_path: Path) -> None:
    body = MICRO.replace(
        "        build_topo(self)\n        self.grad = 1\n",
        "        build_topo(self)\n        for v in topo:\n            v.grad = 0\n"
        "        self.grad = 1\n",
    )
    assert body != MICRO
    path = tmp_path / "eng.py"
    path.write_text(body)
    result = minigrad(tmp_path, "gradcheck", "--engine", str(path))
    assert result.returncode == 1
    # measured once, blamed once; the op cases are checked with its convention, and pass
    assert result.stdout.count("FAILED backward_accumulates") == 1
    assert "Value.backward() sets .grad to zero on every node it reaches" in result.stdout
    assert re.search(r"\b[1-9]\d* passed, 1 failed", result.stdout), result.stdout
    assert "FAILED add\n" not in result.stdout  # not one blame per op


@pytest.mark.parametrize("command", ["gradcheck", "inspect"])
def test_a_reader_gone_before_gradcheck_or_inspect_prints(tmp_path: Path, command: str) -> None:
    path = engine(tmp_path, "")
    proc = subprocess.Popen(
        [sys.executable, "-m", "minigrad_tool", command, "--engine", path],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_gradcheck_blames_each_crash_on_its_own_case(tmp_path: Path) -> None:
    """gradcheck runs a chunk of cases per child (minigrad_tool.battery.chunks): backward()
    exiting the process on graphs of more than 40 nodes fails the three cases that build one,
    each with its own words, and every other case passes, as when each case had a child."""
    body = MICRO.replace(
        "        build_topo(self)\n",
        "        build_topo(self)\n        if len(topo) > 40:\n            os._exit(7)\n",
    )
    assert body != MICRO
    (tmp_path / "eng.py").write_text("import os\n" + body)
    result = minigrad(tmp_path, "gradcheck", "--engine", "eng.py", "--json", "out.json")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    failed = {r["case"]: r["detail"] for r in report["cases"] if r["status"] != "pass"}
    assert set(failed) == {"deep_chain", "mlp_gradcheck", "mlp_learns"}
    for case, detail in failed.items():
        assert f"the engine exited with status 7 during case {case}" in detail
    assert "60 passed, 3 failed" in result.stdout


def test_compiled_engines_keep_a_case_per_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled code that breaks its process may corrupt what the next case reads: where an
    op is compiled, no case shares a child with another."""
    from minigrad_tool import check
    from minigrad_tool.adapter import load_in_process
    from minigrad_tool.isolation import Outcome

    loaded = load_in_process(str(ENGINES / "microstyle.py"))
    asked: list[int] = []

    def recorded(
        host: object, task: str, cases: list[str], chunks: int, on_done: Any
    ) -> dict[str, Any]:
        asked.append(chunks)
        for case in cases:  # each passes: no child needed to know how many chunks were asked
            on_done(case, Outcome("ok", check.CaseResult(case, "pass").to_json()))
        return {}

    monkeypatch.setattr(check, "run_in_chunks", recorded)
    settings = check.settings_for(loaded.profile)
    limits = check.Limits(60.0)
    check.check_engine(loaded.spec, loaded.profile, settings, limits, jobs=2)
    compiled_ops = [dataclasses.replace(op, compiled=True) for op in loaded.profile.ops]
    compiled = dataclasses.replace(loaded.profile, ops=tuple(compiled_ops))
    check.check_engine(loaded.spec, compiled, settings, limits, jobs=2)
    cases = len(check.build_battery(loaded.profile).cases)
    assert asked == [8, cases] and cases > 8
