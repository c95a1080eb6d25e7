"""The pytest plugin: `pytest --minigrad-engine SPEC` adds the battery beside the user's tests.

Each test runs pytest in a child, in a folder of its own that holds a
user's test file, as a user would run it.

Modules: minigrad_tool.pytest_plugin.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ENGINES = Path(__file__).parent / "engines"
MICRO = (ENGINES / "microstyle.py").read_text()

USER_TESTS = """
import sys


def test_users_own_test():
    assert 1 + 1 == 2


def test_the_engine_never_runs_in_pytest():
    assert not any(name.startswith("eng_under_check") for name in sys.modules)
"""

pytestmark = pytest.mark.campaign


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (folder / "test_user.py").write_text(USER_TESTS)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "test_user.py", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def engine(folder: Path, body: str) -> str:
    path = folder / "eng_under_check.py"
    path.write_text(body)
    return str(path)


def test_inactive_unless_asked(tmp_path: Path) -> None:
    """Without --minigrad-engine the run is the user's alone."""
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "collected 2 items" in result.stdout and "2 passed" in result.stdout
    assert "minigrad battery" not in result.stdout and "minigrad[" not in result.stdout


def test_a_missing_engine_is_one_usage_error(tmp_path: Path) -> None:
    """Not one error per test: pytest's usage error (exit 4), one line, no traceback."""
    result = run_pytest(tmp_path, "--minigrad-engine", "missing.py")
    assert result.returncode == 4
    assert "--minigrad-engine missing.py: no such file from here" in result.stderr
    assert "nor from pytest's rootdir" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "passed" not in result.stdout


def test_a_path_from_the_project_root_works_from_a_subfolder(tmp_path: Path) -> None:
    """`pytest --minigrad-engine src/eng.py` run from tests/: the path is taken from pytest's
    rootdir (where pyproject.toml is), as the CLI takes the configured engine."""
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "eng_under_check.py").write_text(MICRO)
    tests = tmp_path / "tests"
    tests.mkdir()
    result = run_pytest(tests, "--minigrad-engine", "src/eng_under_check.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"minigrad battery on {tmp_path / 'src' / 'eng_under_check.py'}" in result.stdout


def test_the_battery_runs_beside_the_users_tests(tmp_path: Path) -> None:
    """A correct engine: the user's tests and every case pass; the engine is named."""
    result = run_pytest(tmp_path, "--minigrad-engine", engine(tmp_path, MICRO))
    assert result.returncode == 0, result.stdout
    passed = int(result.stdout.rsplit(" passed", 1)[0].split()[-1])
    assert passed > 40  # the user's 2 tests and the battery's cases
    assert "minigrad battery on " in result.stdout and "class Value" in result.stdout


def test_a_backward_pass_of_another_name_is_named_with_its_own_flag(tmp_path: Path) -> None:
    """`updateGradients()`: refused, saying this plugin's flag; checked once named by it."""
    body = MICRO.replace("    def backward(self):", "    def updateGradients(self):", 1)
    path = engine(tmp_path, body)
    refused = run_pytest(tmp_path, "--minigrad-engine", path)
    assert refused.returncode == 4 and "Traceback" not in refused.stderr
    assert "name it: --minigrad-backward NAME" in refused.stderr
    named = run_pytest(
        tmp_path, "--minigrad-engine", path, "--minigrad-backward", "updateGradients"
    )
    assert named.returncode == 0, named.stdout + named.stderr
    assert int(named.stdout.rsplit(" passed", 1)[0].split()[-1]) > 40


def test_a_wrong_derivative_fails_its_case(tmp_path: Path) -> None:
    """A buggy op: its cases fail and name it; pytest exits 1."""
    body = (ENGINES / "buggy_ops.py").read_text()
    result = run_pytest(tmp_path, "--minigrad-engine", engine(tmp_path, body))
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "minigrad case abs failed" in result.stdout
    assert "the backward of Value.__abs__" in result.stdout


EXITS_IN_DEEP_GRAPHS = MICRO.replace(
    "        build_topo(self)\n",
    "        build_topo(self)\n        if len(topo) > 50:\n            import os\n"
    "            os._exit(0)\n",
)
HANGS_IN_DEEP_GRAPHS = MICRO.replace(
    "        build_topo(self)\n",
    "        build_topo(self)\n        while len(topo) > 50:\n            pass\n",
)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("body", "said"),
    [
        (EXITS_IN_DEEP_GRAPHS, "the engine exited with status 0"),
        (HANGS_IN_DEEP_GRAPHS, "no answer within 1.5 s"),
    ],
    ids=["os._exit(0)", "hang"],
)
def test_an_engine_cannot_pass_by_leaving(tmp_path: Path, body: str, said: str) -> None:
    """os._exit(0) or a hang in backward(): those cases fail, saying why; the run goes on."""
    path = engine(tmp_path, body)
    result = run_pytest(tmp_path, "--minigrad-engine", path, "--minigrad-timeout", "1.5", "-v")
    assert result.returncode == 1, result.stdout
    assert said in result.stdout
    assert "test_user.py::test_users_own_test PASSED" in result.stdout
    assert "test_user.py::test_the_engine_never_runs_in_pytest PASSED" in result.stdout
    assert "::add PASSED" in result.stdout  # the shallow cases still ran


def test_nothing_checked_is_no_pass(tmp_path: Path) -> None:
    """An engine with none of the battery's ops: the run fails, saying nothing was checked."""
    body = (
        "class Value:\n"
        "    def __init__(self, data):\n        self.data = data\n        self.grad = 0.0\n"
        "    def backward(self):\n        self.grad = 1.0\n"
    )
    result = run_pytest(tmp_path, "--minigrad-engine", engine(tmp_path, body))
    assert result.returncode == 1, result.stdout
    assert "minigrad: nothing was checked" in result.stdout


def test_an_op_that_crashes_fails_its_item(tmp_path: Path) -> None:
    body = MICRO.replace(
        "\n    def backward(self):",
        "\n    def log(self):\n        return Value(log(self.data), (self,), 'log')\n\n"
        "    def backward(self):",
        1,
    )
    result = run_pytest(tmp_path, "--minigrad-engine", engine(tmp_path, body))
    assert result.returncode == 1, result.stdout
    assert "minigrad case log_runs failed" in result.stdout and "NameError" in result.stdout


def test_a_package_that_sets_the_engine_up_on_import(tmp_path: Path) -> None:
    """TinyTorch's shape (tests/engines/tinytorch_shape): importing the package sets the
    tracking ops on `Tensor`.  The user's tests import it in pytest's process; the battery's
    children reloaded the engine's file alone from its snapshot, the package left as it was,
    so their `Tensor` had no `sum`: minigrad failed (a traceback) in the first case's item and
    raised KeyError in each of the 190 others.  Its package runs again there too, and every
    case that can pass passes."""
    import shutil

    shutil.copytree(ENGINES / "tinytorch_shape" / "tinytorch", tmp_path / "tinytorch")
    (tmp_path / "test_uses_it.py").write_text(
        "from tinytorch import Tensor\n\n\ndef test_add():\n"
        "    x = Tensor([2.0], requires_grad=True)\n    (x + x).backward()\n"
        "    assert x.grad.tolist() == [2.0]\n"
    )
    result = run_pytest(
        tmp_path, "test_uses_it.py", "--minigrad-engine", "tinytorch/__init__.py:Tensor"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KeyError" not in result.stdout and "InternalError" not in result.stdout
    assert re.search(r"\b[1-9]\d* passed", result.stdout), result.stdout


def test_minigrad_failing_fails_every_item_saying_so(tmp_path: Path) -> None:
    """Where minigrad's own code fails (InternalError, planted here by a conftest), no case
    has a verdict: each item fails saying so, once per item, no traceback; the first item
    raised it and every other one raised KeyError."""
    (tmp_path / "conftest.py").write_text(
        "import minigrad_tool.check\nfrom minigrad_tool.faults import InternalError\n\n\n"
        "def planted(*args, **kwargs):\n"
        "    raise InternalError(\"minigrad failed while running case 'add': planted\")\n\n\n"
        "minigrad_tool.check.check_engine = planted\n"
    )
    result = run_pytest(tmp_path, "--minigrad-engine", engine(tmp_path, MICRO))
    assert result.returncode == 1, result.stdout
    said = "no verdict, minigrad itself failed: minigrad failed while running case 'add': planted"
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED ")]
    assert failed and all("minigrad" in line for line in failed), failed
    assert result.stdout.count(said) >= len(failed) - 1, result.stdout[-3000:]
    assert "KeyError" not in result.stdout and "Traceback" not in result.stdout
    assert "2 passed" in result.stdout  # the user's own tests
