"""Engines that misbehave at import: a clear verdict each, never a false one, nothing left over."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
