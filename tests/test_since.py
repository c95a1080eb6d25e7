"""`mutate --since REF` (issue 30): only the ops whose code changed since a git ref are judged,
what was skipped is said, and git is asked to show files only (its index is left as it was).

Modules: minigrad_tool.mutation.since.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from test_cache import STUDENT, TANH_STEP, kept_runs, mutate
from test_hostile import minigrad as run_minigrad

ENGINES = Path(__file__).parent / "engines"
MUL_STEP = "self.grad += other.data * out.grad"

pytestmark = pytest.mark.campaign


def git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def minigrad(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`minigrad mutate --engine engine.py ARGS` in the folder."""
    return run_minigrad(folder, "mutate", "--engine", "engine.py", *args, timeout=300)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed lab project: the engine and one test of mul."""
    (tmp_path / "engine.py").write_text((ENGINES / "microstyle.py").read_text())
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_mul.py").write_text(
        "from engine import Value\n\n\ndef test_mul():\n"
        "    x, y = Value(2.0), Value(-3.0)\n    (x * y).backward()\n"
        "    assert x.grad == -3.0 and y.grad == 2.0\n"
    )
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "lab")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_only_the_changed_op_is_judged_and_the_rest_is_named(repo: Path) -> None:
    index = hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest()
    edit(repo / "engine.py", MUL_STEP, "self.grad += out.grad * other.data")
    result = minigrad(repo, "--judge", "battery", "--since", "HEAD", "--json", "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--since HEAD: judging mul (changed); not judged, unchanged since HEAD: add" in (
        result.stdout
    )
    report = json.loads((repo / "r.json").read_text())
    ops = {m["id"].split("-")[0] for f in report["files"].values() for m in f["mutants"]}
    assert ops == {"mul"}
    assert report["config"]["since"]["ref"] == "HEAD"
    assert "add" in report["config"]["since"]["notJudged"]
    assert hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest() == index


def test_a_change_to_backward_judges_every_op(repo: Path) -> None:
    edit(repo / "engine.py", "for v in reversed(topo):", "for v in list(reversed(topo)):")
    result = minigrad(repo, "--judge", "battery", "--since", "HEAD")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--since HEAD: every op judged: Value.backward" in result.stdout


def test_a_changed_test_judges_every_op(repo: Path) -> None:
    edit(repo / "tests" / "test_mul.py", "Value(2.0)", "Value(2.5)")
    edit(repo / "tests" / "test_mul.py", "x.grad == -3.0 and y.grad == 2.0", "y.grad == 2.5")
    result = minigrad(repo, "--tests", "tests", "--judge", "tests", "--since", "HEAD")
    assert "every op judged: tests/test_mul.py changed" in result.stdout, result.stderr


def test_nothing_changed_is_no_verdict(repo: Path) -> None:
    result = minigrad(repo, "--judge", "battery", "--since", "HEAD")
    assert result.returncode == 2
    assert "nothing to judge, so no verdict" in result.stderr


def test_an_unknown_ref_or_no_repository_is_a_clear_error(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    result = minigrad(repo, "--judge", "battery", "--since", "no-such-ref")
    assert result.returncode == 2 and "--since no-such-ref: git cannot show" in result.stderr
    bare = tmp_path_factory.mktemp("norepo")
    (bare / "engine.py").write_text((ENGINES / "microstyle.py").read_text())
    result = minigrad(bare, "--judge", "battery", "--since", "HEAD")
    assert result.returncode == 2 and "git cannot show" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_engine_new_since_the_ref_is_judged_whole(repo: Path) -> None:
    git(repo, "rm", "-q", "--cached", "engine.py")
    git(repo, "commit", "-qm", "without the engine")
    result = minigrad(repo, "--judge", "battery", "--since", "HEAD")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every op judged: engine.py is new since HEAD" in result.stdout


def test_since_reads_the_cache_and_keeps_nothing(tmp_path: Path) -> None:
    """After a whole run, `--since` takes the runs on the unmutated engine that reach no
    changed code from the cache, gives the statuses `--since --no-cache` gives, and leaves the
    cache as the whole run left it (its campaign judged some ops only: no run to report again,
    nor to keep in the place of the whole one)."""
    folder = tmp_path / "lab"
    folder.mkdir()
    for name in ("engine.py", "test_engine.py"):
        shutil.copy2(STUDENT / name, folder / name)
    git(folder, "init", "-q")
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", "lab")
    mutate(folder, "--tests", "test_engine.py")
    kept = {p.name: p.read_bytes() for p in (tmp_path / "cache").iterdir()}
    assert kept
    edit(folder / "engine.py", TANH_STEP, "self.grad += out.grad * (1 - t**2)")
    cached, statuses = mutate(folder, "--tests", "test_engine.py", "--since", "HEAD")
    assert {m.split("-")[0] for m in statuses} == {"tanh"}
    ran, cases = kept_runs(cached.stdout)
    assert 0 < ran < cases, cached.stdout  # the cases that reach tanh ran again
    ran, first = kept_runs(cached.stdout, "tests' first")
    assert 0 < ran < first, cached.stdout
    assert {p.name: p.read_bytes() for p in (tmp_path / "cache").iterdir()} == kept
    full, same = mutate(folder, "--tests", "test_engine.py", "--since", "HEAD", "--no-cache")
    assert statuses == same and not kept_runs(full.stdout)[0]
    assert cached.returncode == full.returncode == 0
