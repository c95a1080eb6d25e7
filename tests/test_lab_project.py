"""The tool inside a student's lab project, whose own package is also called `minigrad`.

The project is laid out as the course prescribes: `src/minigrad/engine.py`
(micrograd-style closures, children in a `set`, plus a `sigmoid` the
student's tests never check), `src/minigrad/gradcheck.py`, and
`tests/test_gradcheck.py`.  The tool runs from the project's root in this
repository's environment, where *our* lab package `minigrad` is importable
too: every command must check the student's engine, never ours.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.campaign

STUDENT = Path(__file__).parents[1] / "examples" / "student"
TOOL = Path(__file__).parents[1] / "src" / "minigrad_tool"

ENGINE = '''"""The student's engine."""

import math


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data))
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += SIGMOID_STEP * out.grad

        out._backward = _backward
        return out

    def backward(self):
        topo = []
        visited = set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
'''
RIGHT = "s * (1 - s)"
WRONG = "s * (1 + s)"

GRADCHECK = '''"""The student's gradcheck: central differences."""


def gradcheck(f, inputs, eps=1e-6, tol=1e-4):
    out = f(*inputs)
    for x in inputs:
        x.grad = 0.0
    out.backward()
    for x in inputs:
        x0 = x.data
        x.data = x0 + eps
        plus = f(*inputs).data
        x.data = x0 - eps
        minus = f(*inputs).data
        x.data = x0
        assert abs((plus - minus) / (2 * eps) - x.grad) < tol
    return True
'''

TESTS = """from minigrad.engine import Value
from minigrad.gradcheck import gradcheck


def test_add():
    assert gradcheck(lambda a, b: a + b, [Value(1.5), Value(-2.0)])


def test_mul():
    assert gradcheck(lambda a, b: a * b, [Value(1.5), Value(-2.0)])


def test_sub():
    assert gradcheck(lambda a, b: a - b, [Value(1.5), Value(-2.0)])
"""

PYPROJECT = """[project]
name = "minigrad"
version = "0.1.0"

[tool.minigrad]
engine = "src/minigrad/engine.py"
tests = ["tests/test_gradcheck.py"]
"""


def make_project(root: Path, *, step: str = RIGHT, config: bool = True) -> Path:
    package = root / "src" / "minigrad"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""The student\'s minigrad."""\n')
    (package / "engine.py").write_text(ENGINE.replace("SIGMOID_STEP", step))
    (package / "gradcheck.py").write_text(GRADCHECK)
    (root / "tests").mkdir()
    (root / "tests" / "test_gradcheck.py").write_text(TESTS)
    (root / "pyproject.toml").write_text(PYPROJECT if config else PYPROJECT.split("[tool")[0])
    return root


def minigrad(
    project: Path, *args: str, path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The command, run from the project's root, as the student runs it; `path`: where
    their package is installed (else src/, as an editable install puts it)."""
    env = {**os.environ, "PYTHONPATH": str(path or project / "src")}
    return subprocess.run(
        [sys.executable, "-m", "minigrad_tool", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def correct(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("lab"))


@pytest.fixture(scope="module")
def wrong_sigmoid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("lab"), step=WRONG)


class TestTheStudentsEngineIsChecked:
    def test_gradcheck_passes_the_correct_engine(self, correct: Path) -> None:
        """A bare `minigrad gradcheck` checks the configured engine: the student's, by path."""
        result = minigrad(correct, "gradcheck")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "engine src/minigrad/engine.py" in result.stdout
        assert str(correct) in result.stdout and "sigmoid" in result.stdout

    def test_gradcheck_names_the_wrong_derivative(self, wrong_sigmoid: Path) -> None:
        """A wrong sigmoid derivative: exit 1, naming the op in the student's file."""
        result = minigrad(wrong_sigmoid, "gradcheck")
        assert result.returncode == 1, result.stdout
        assert "FAILED sigmoid" in result.stdout
        assert "the backward of Value.sigmoid (engine.py:" in result.stdout

    def test_the_pytest_plugin_names_it_too(self, wrong_sigmoid: Path) -> None:
        """`pytest --minigrad-engine`: the student's tests pass, sigmoid's cases fail."""
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-o",
                "addopts=",
                "--minigrad-engine",
                "src/minigrad/engine.py",
                "tests",
            ],
            cwd=wrong_sigmoid,
            env={**os.environ, "PYTHONPATH": str(wrong_sigmoid / "src")},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert "minigrad case sigmoid failed" in result.stdout
        assert "tests/test_gradcheck.py ..." in result.stdout  # their own tests ran and passed

    def test_mutate_reports_on_the_students_file(self, correct: Path) -> None:
        """A bare `minigrad mutate`: the configured engine, judged by the configured tests."""
        before = files_of(correct)
        result = minigrad(correct, "mutate", "--operators", "sign,drop")
        assert result.returncode == 1, result.stdout + result.stderr  # sigmoid is never tested
        assert f"mutants of src/minigrad/engine.py ({correct}" in result.stdout
        assert "judged by your tests" in result.stdout
        assert "sigmoid" in result.stdout
        assert files_of(correct) == before  # nothing written, bytecode included
        assert "another copy" not in result.stdout  # their pytest imports src/ too


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A project, and its package copied into a folder of its own, as an install copies it."""
    root = tmp_path_factory.mktemp("installed")
    project = make_project(root / "lab")
    site = root / "site-packages"
    shutil.copytree(project / "src" / "minigrad", site / "minigrad")
    return project, site


class TestAnInstalledCopy:
    """The package installed as a copy (`pip install .`, not editable), then edited: a plain
    `pytest` runs the copy, minigrad runs the tests against src/, and says so."""

    def test_the_tests_pass_on_the_copy(self, installed: tuple[Path, Path]) -> None:
        """What the student sees: plain pytest passes, whatever src/ says since."""
        project, site = installed
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts="],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(site)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0 and "3 passed" in result.stdout, result.stdout

    def test_the_run_says_which_copy_plain_pytest_imports(
        self, installed: tuple[Path, Path]
    ) -> None:
        project, site = installed
        page = site.parent / "report.html"
        args = ["mutate", "--operators", "sign", "--no-cache", "--html", str(page)]
        result = minigrad(project, *args, "--min-score", "0", path=site)
        assert result.returncode == 0, result.stdout + result.stderr  # a note fails nothing
        said = f"plain `pytest` imports `minigrad` from {site / 'minigrad'}, another copy, "
        assert said in " ".join(result.stdout.split())
        assert f"mutants of src/minigrad/engine.py ({project}" in result.stdout
        assert said in page.read_text()  # the page says it too, below the score

    def test_merge_says_so_once(self, installed: tuple[Path, Path]) -> None:
        project, site = installed
        shards = [site.parent / f"shard-{k}.json" for k in (1, 2)]
        for k, shard in enumerate(shards, 1):
            args = ["mutate", "--operators", "sign", "--shard", f"{k}/2", "--json", str(shard)]
            result = minigrad(project, *args, "--min-score", "0", path=site)
            assert result.returncode == 0, result.stdout + result.stderr
        merged = minigrad(project, "merge", *map(str, shards), "--min-score", "0", path=site)
        assert merged.returncode == 0, merged.stdout + merged.stderr  # a note fails nothing
        assert " ".join(merged.stdout.split()).count("another copy, not from") == 1

    def test_inject_says_so_too(self, installed: tuple[Path, Path]) -> None:
        project, site = installed
        result = minigrad(project, "inject", "mul-sign", path=site)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"imports `minigrad` from {site / 'minigrad'}, another copy" in (
            " ".join(result.stdout.split())
        )

    def test_a_test_failing_on_src_is_explained(self, installed: tuple[Path, Path]) -> None:
        """mul's step broken in src/ after the install: the student's test_mul fails on the
        engine minigrad checks, and plain pytest passes; exit 2 says why they differ."""
        project, site = installed
        engine = project / "src" / "minigrad" / "engine.py"
        right = engine.read_text()
        engine.write_text(right.replace("other.grad += self.data", "other.grad -= self.data"))
        try:
            result = minigrad(project, "mutate", "--no-cache", path=site)
        finally:
            engine.write_text(right)
        assert result.returncode == 2, result.stdout + result.stderr
        said = " ".join(result.stderr.split())
        assert "must pass on the unmutated engine" in said and "test_mul" in said
        assert f"imports `minigrad` from {site / 'minigrad'}, another copy" in said
        assert "Install your project editable" in said


class TestBreakAndConfirm:
    def test_a_bug_the_tests_catch(self, correct: Path) -> None:
        """mul-sign breaks `*`, which the student's tests check: caught, exit 0."""
        result = minigrad(correct, "inject", "mul-sign")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "caught by your tests:" in result.stdout
        assert "tests/test_gradcheck.py::test_mul" in result.stdout

    def test_a_bug_the_tests_miss(self, correct: Path) -> None:
        """A broken sigmoid step, which no test of theirs runs: ESCAPED, exit 1."""
        listed = minigrad(correct, "inject", "--list").stdout.split()
        bug = next(word for word in listed if word.startswith("sigmoid-"))
        result = minigrad(correct, "inject", bug)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "ESCAPED your tests" in result.stdout


class TestNoConfiguration:
    @pytest.mark.parametrize("command", ["gradcheck", "mutate", "inspect"])
    def test_no_engine_named_is_exit_2(self, tmp_path: Path, command: str) -> None:
        """Without --engine or [tool.minigrad], nothing is checked: exit 2 says how to name it."""
        project = make_project(tmp_path, config=False)
        result = minigrad(project, command)
        assert result.returncode == 2
        assert "no engine named" in result.stderr and "[tool.minigrad]" in result.stderr

    def test_inject_without_tests_is_exit_2(self, tmp_path: Path) -> None:
        """inject with an engine but no tests: no verdict, never 'caught'."""
        project = make_project(tmp_path, config=False)
        result = minigrad(project, "inject", "mul-sign", "--engine", "src/minigrad/engine.py")
        assert result.returncode == 2
        assert "inject needs your tests" in result.stderr


def test_a_long_lived_process_never_mixes_up_two_minigrads(tmp_path: Path) -> None:
    """With our `minigrad` already imported, serving the student's engine imports theirs."""
    project = make_project(tmp_path)
    script = f"""
import minigrad.engine  # ours, from this repository
from minigrad_tool.adapter import parse_spec, serve_for_tests
from minigrad_tool.adapter.loader import import_engine
spec = parse_spec({str(project / "src" / "minigrad" / "engine.py")!r})
serve_for_tests(spec, [{str(project / "tests")!r}])
module = import_engine(spec)
import minigrad
print(module.__file__, minigrad.__file__, hasattr(module.Value, "sigmoid"))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    engine_file, package_file, has_sigmoid = result.stdout.split()
    assert engine_file == str(project / "src" / "minigrad" / "engine.py")
    assert package_file == str(project / "src" / "minigrad" / "__init__.py")
    assert has_sigmoid == "True"


ONLY_ADD = """from mlstack_q.autograd import Value


def test_add():
    x, y = Value(2.0), Value(3.0)
    (x + y).backward()
    assert x.grad == 1.0 and y.grad == 1.0
"""


def _flat_project(root: Path, pythonpath: bool) -> Path:
    """A package beside its tests, no install, no conftest: a plain `pytest` imports it only if
    its settings put the folder on the path (tinygrad-classroom has none: its author runs
    `python -m pytest`)."""
    package = root / "mlstack_q"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "autograd.py").write_text(
        (Path(__file__).parent / "engines" / "microstyle.py").read_text()
    )
    (root / "tests").mkdir()
    (root / "tests" / "test_engine.py").write_text(ONLY_ADD)
    settings = '[tool.pytest.ini_options]\npythonpath = ["."]\n' if pythonpath else ""
    (root / "pyproject.toml").write_text(f'[project]\nname = "q"\n\n{settings}')
    return root


def _script(
    project: Path, env: dict[str, str], name: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """One of the venv's scripts (`pytest`, `minigrad`), run from the project as users do."""
    command = [str(Path(sys.executable).parent / name), *args]
    return subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.parametrize("pythonpath", [False, True], ids=["no-pythonpath", "pythonpath"])
def test_a_package_plain_pytest_cannot_import_is_said(tmp_path: Path, pythonpath: bool) -> None:
    """The `minigrad` and `pytest` scripts, as a user runs them: where plain `pytest` cannot
    collect the tests (the package is on no path of its own), minigrad's run, which puts the
    engine's folder first on the path, says so and how to make them agree."""
    project = _flat_project(tmp_path / "project", pythonpath)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    plain = _script(project, env, "pytest", "-q", "-p", "no:cacheprovider", "tests")
    assert (plain.returncode == 0) is pythonpath, plain.stdout  # the premise, as users see it
    args = ["--engine", "mlstack_q/autograd.py", "--tests", "tests", "--operators", "sign"]
    env["MINIGRAD_RESULTS"] = "off"
    result = _script(project, env, "minigrad", "mutate", *args, "--min-score", "0")
    assert result.returncode == 0, result.stdout + result.stderr  # a note fails nothing
    said = "a plain `pytest` run here finds no `mlstack_q` to import"
    assert (said in " ".join(result.stdout.split())) is not pythonpath, result.stdout
    assert "mutation score: " in result.stdout


def test_tests_that_import_the_package_by_a_longer_name_are_not_said_to_miss_it(
    tmp_path: Path,
) -> None:
    """Tests that put the project's root on the path and import `src.mlstack_q.autograd`
    (clumsygrad 0.2.1's): a plain `pytest` runs them, so nothing is said of `mlstack_q`,
    which no plain run imports (before, minigrad said it finds no `mlstack_q` to import)."""
    project = _flat_project(tmp_path / "project", pythonpath=False)
    (project / "src").mkdir()
    (project / "mlstack_q").rename(project / "src" / "mlstack_q")
    rooted = (
        "import os\nimport sys\n\nsys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))\n"
    )
    longer = rooted + ONLY_ADD.replace("from mlstack_q.", "from src.mlstack_q.")
    (project / "tests" / "test_engine.py").write_text(longer)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    plain = _script(project, env, "pytest", "-q", "-p", "no:cacheprovider", "tests")
    assert plain.returncode == 0, plain.stdout  # the premise: a plain run imports it
    args = ["--engine", "src/mlstack_q/autograd.py", "--tests", "tests", "--operators", "sign"]
    env["MINIGRAD_RESULTS"] = "off"
    result = _script(project, env, "minigrad", "mutate", *args, "--min-score", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    score = re.search(r"mutation score: \S+ \((\d+) killed", result.stdout)
    assert score is not None and int(score[1]) > 0, result.stdout  # they judged the engine
    assert "plain `pytest`" not in " ".join(result.stdout.split()), result.stdout


def _with_its_environment(root: Path) -> Path:
    """examples/student as a flat project with its `.venv` at its root (uv's default) holding
    the tool and pytest, as `uv add --dev` installs them: copies below the project's folder
    (what else they import is reached by a .pth, from this environment).  Its python."""
    for name in ("engine.py", "test_engine.py"):
        shutil.copy2(STUDENT / name, root / name)
    venv = root / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    inner = subprocess.run([python, "-c", where], capture_output=True, text=True, check=True)
    site = Path(inner.stdout.strip())
    outer = Path(pytest.__file__).parents[1]
    shutil.copytree(TOOL, site / "minigrad_tool")
    for name in ("_pytest", "pytest", "pluggy"):
        shutil.copytree(outer / name, site / name)
    (site / "outer.pth").write_text(f"{outer}\n")
    return python


def test_a_flat_project_with_its_environment_inside(tmp_path: Path) -> None:
    """engine.py and its tests at the root of a project whose `.venv` is there too: what is
    installed in it is neither the engine's code nor the tests' (the tool's own ControlledSet
    was mutated as the engine's, and pytest's `_py/path.py` made its host forget `os.path`:
    exit 2, "'os' is not a package")."""
    python = _with_its_environment(tmp_path)
    args = ["mutate", "--engine", "engine.py", "--tests", "test_engine.py", "--operators", "sign"]
    report = tmp_path.parent / f"{tmp_path.name}-report.json"
    for judge in ("tests", "battery"):
        result = subprocess.run(
            [python, "-m", "minigrad_tool", *args, "--judge", judge, "--json", str(report)],
            cwd=tmp_path,
            env={**os.environ, "MINIGRAD_RESULTS": "off"},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode in (0, 1), result.stdout + result.stderr  # 1: a survivor
        assert "mutation score: " in result.stdout
        assert list(json.loads(report.read_text())["files"]) == ["engine.py"]
