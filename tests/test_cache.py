"""The result cache (issue 30): a rerun judges only what changed and reports the rest, with the
statuses a full run gives; a run that changed nothing is the last one, reported again.

Each comparison runs the same command with the cache and with `--no-cache` on the same files
and requires identical statuses, killers and reasons for every mutant.

Modules: minigrad_tool.mutation.cache, minigrad_tool.cli.cached, minigrad_tool.mutation.compiled,
minigrad_tool.mutation.reuse.
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

from minigrad_tool.mutation import cache

STUDENT = Path(__file__).parents[1] / "examples" / "student"
TANH_STEP = "self.grad += (1 - t**2) * out.grad"
REPLAYED = "nothing this run reads changed since the last one"

pytestmark = pytest.mark.campaign

Statuses = dict[str, tuple[str, object, object]]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of examples/student: the engine and the student's tests."""
    folder = tmp_path / "lab"
    folder.mkdir()
    for name in ("engine.py", "test_engine.py"):
        shutil.copy2(STUDENT / name, folder / name)
    return folder


def mutate(
    folder: Path, *args: str, cache_in: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], Statuses]:
    """`minigrad mutate --engine engine.py ARGS`, the cache in `cache_in`, else in the folder's
    sibling `cache`; the output and each mutant's (status, killers, reason)."""
    report = folder.parent / "report.json"
    more = ("--min-score", "0", "--json", str(report))
    done = subprocess.run(
        [sys.executable, "-m", "minigrad_tool", "mutate", "--engine", "engine.py", *args, *more],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, cache.ENV: str(cache_in or folder.parent / "cache")},
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: an engine made wrong
    data = json.loads(report.read_text())
    statuses = {
        m["id"]: (m["status"], m.get("killedBy"), m.get("statusReason"))
        for entry in data["files"].values()
        for m in entry["mutants"]
    }
    assert statuses
    return done, statuses


def reused(out: str) -> int:
    """How many verdicts the run says it took from the last one (0 if it says nothing)."""
    for line in out.splitlines():
        if " verdicts from the last run" in line:
            return int(line.split()[0])
    return 0


def reprobed(out: str) -> int:
    """Of the verdicts not reused whole, how many kept their judges' verdicts and were only
    probed again (0 if the run says nothing of it)."""
    found = re.search(r"; (\d+) more whose judges' verdicts hold were only probed again", out)
    return int(found.group(1)) if found else 0


def passed_over(out: str) -> tuple[int, int]:
    """Of the probes that reach the mutants probed again, how many the run did not run on
    them (they agreed in the last run, and run no changed code), of how many."""
    found = re.search(r"\n(\d+) of the (\d+) probes that reach the mutants probed again", out)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def kept_runs(out: str, what: str = "battery cases'") -> tuple[int, int]:
    """How many battery cases' runs on the unmutated engine (or your tests' first runs there,
    `what` "tests' first", or the probes', "probes'") the run took from the last one, of how
    many."""
    for line in out.splitlines():
        if f" {what} runs on the unmutated engine from the last run" in line:
            words = line.split()
            return int(words[0]), int(words[2])
    return 0, 0


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_run_that_changed_nothing_is_the_last_one_reported_again(project: Path) -> None:
    first, statuses = mutate(project, "--judge", "battery")
    assert REPLAYED not in first.stdout and not reused(first.stdout)
    again, same = mutate(project, "--judge", "battery")
    assert REPLAYED in again.stdout
    assert same == statuses
    # the report below the cache line is the same, line for line
    assert again.stdout.replace(REPLAYED, "").count("\n") >= first.stdout.count("\n")


def test_the_cache_and_reports_kept_in_the_test_folder_are_no_input(project: Path) -> None:
    """`MINIGRAD_RESULTS=cache` in the project, each report written there and a hidden file:
    the files the first run leaves are not data the tests read, and the next runs are the
    first reported again, with or without the reports (a report is no input whoever names
    it); a data file is."""
    tests = ("--tests", "test_engine.py")
    reports = ("--html", "report.html", "--junit", "junit.xml")
    _, statuses = mutate(project, *tests, *reports, cache_in=project / "cache")
    assert any((project / "cache").iterdir())
    shutil.copy2(project.parent / "report.json", project / "report.json")
    for args in (reports, ()):
        (project / ".engine.py.swp").write_bytes(os.urandom(64))  # an editor's, hidden
        again, same = mutate(project, *tests, *args, cache_in=project / "cache")
        assert REPLAYED in again.stdout
        assert same == statuses
    (project / "notes.txt").write_text("a data file a test may read\n")
    changed, _ = mutate(project, *tests, cache_in=project / "cache")
    assert REPLAYED not in changed.stdout


def test_no_cache_neither_reads_nor_keeps(project: Path) -> None:
    mutate(project, "--judge", "battery", "--no-cache")
    assert not (project.parent / "cache").exists()


@pytest.mark.e2e
def test_one_op_changed_the_rest_is_reused_with_the_statuses_of_a_full_run(
    project: Path,
) -> None:
    """tanh's step rewritten (same maths), then broken: each time the cached run reuses the
    verdicts of mutants whose cases never reach tanh and judges the others, runs again the
    cases and probes that reach tanh on the unmutated engine, and every status, killer and
    reason is the full run's."""
    mutate(project, "--judge", "battery")
    rewritten = "self.grad += out.grad * (1 - t**2)"
    broken = "self.grad += (1 - t) * out.grad"
    for old, new in ((TANH_STEP, rewritten), (rewritten, broken)):
        edit(project / "engine.py", old, new)
        cached, statuses = mutate(project, "--judge", "battery")
        assert 0 < reused(cached.stdout) < len(statuses), cached.stdout
        kept, cases = kept_runs(cached.stdout)
        assert 0 < kept < cases, cached.stdout  # the cases that reach tanh ran again
        kept, probes = kept_runs(cached.stdout, "probes'")
        assert 0 < kept < probes, cached.stdout  # and the probes that do
        done, full = mutate(project, "--judge", "battery", "--no-cache")
        assert statuses == full
        assert cached.returncode == done.returncode == (0 if new == rewritten else 1)


@pytest.mark.e2e
def test_your_tests_judge_a_changed_op_and_a_changed_test_judges_everything(
    project: Path,
) -> None:
    """After tanh's step changed, the tests that reach tanh run again on the unmutated engine
    and the others' first runs are the last run's, as are the probe runs of mutants judged
    again whose telling probe runs no tanh; a changed test file runs them all."""
    mutate(project, "--tests", "test_engine.py")
    edit(project / "engine.py", TANH_STEP, "self.grad += out.grad * (1 - t**2)")
    cached, statuses = mutate(project, "--tests", "test_engine.py")
    assert 0 < reused(cached.stdout) < len(statuses), cached.stdout
    kept, tests = kept_runs(cached.stdout, "tests' first")
    assert 0 < kept < tests, cached.stdout
    # judged again (a test that covers them runs tanh), yet the probe that told them apart
    # runs no tanh: its run is the last run's
    assert re.search(r"\n(\d+) mutants? judged again kept the probe", cached.stdout), cached.stdout
    _, full = mutate(project, "--tests", "test_engine.py", "--no-cache")
    assert statuses == full
    with (project / "test_engine.py").open("a") as f:
        f.write("\n# a comment changes the file: every verdict may depend on it\n")
    cached, statuses = mutate(project, "--tests", "test_engine.py")
    assert REPLAYED not in cached.stdout and not reused(cached.stdout)
    assert kept_runs(cached.stdout, "tests' first") == (0, 0), cached.stdout
    assert statuses == full


@pytest.mark.e2e
def test_a_survivor_is_reused_when_the_probes_that_told_it_apart_never_ran_the_changed_op(
    project: Path,
) -> None:
    """Your tests and the battery: the survivors your tests let through were probed, and the
    probe that tells one apart rarely runs tanh.  A change to tanh's step, then to exp's (the
    same maths), judges again the mutants whose tests, cases or probes run that op, reuses the
    other survivors too (before, every survivor was judged again after any change), and every
    status, killer and reason is the full run's.  A mutant no probe told apart (relu's
    equivalent ones) keeps its judges' verdicts, whose tests and cases never run the changed
    op, and is only probed again: the probes mix every op.  A mutant probed again is not
    probed by the probes that agreed on it in the last run and run no changed code."""
    mutate(project, "--tests", "test_engine.py")
    exp = "self.grad += out.data * out.grad"
    for old, new in (
        (TANH_STEP, "self.grad += out.grad * (1 - t**2)"),
        (exp, "self.grad += out.grad * out.data"),
    ):
        edit(project / "engine.py", old, new)
        cached, statuses = mutate(project, "--tests", "test_engine.py")
        _, full = mutate(project, "--tests", "test_engine.py", "--no-cache")
        assert statuses == full
        killed = sum(status == "Killed" for status, _, _ in full.values())
        assert killed < reused(cached.stdout) < len(full), cached.stdout
        equivalent = sum(status == "Ignored" for status, _, _ in full.values())  # Stryker
        assert 0 < reprobed(cached.stdout) <= len(full) - reused(cached.stdout), cached.stdout
        assert equivalent > 0  # what the probes decide, again after each change
        skipped, reaching = passed_over(cached.stdout)
        assert 0 < skipped < reaching, cached.stdout


class TestKeys:
    def test_the_inputs_digest_follows_a_module_byte_for_byte(self, tmp_path: Path) -> None:
        module = tmp_path / "helper.py"
        module.write_text("X = 1\n")
        before = cache.inputs_digest("settings", [module])
        assert cache.inputs_digest("settings", [module]) == before
        assert cache.inputs_digest("other settings", [module]) != before
        module.write_text("X = 2\n")
        assert cache.inputs_digest("settings", [module]) != before

    def test_where_the_caches_live_is_no_input(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A verdict does not depend on the cache folders: a rerun with the cache copied
        elsewhere reuses it; a setting of minigrad's in the environment is an input."""
        before = cache.inputs_digest("s", [])
        monkeypatch.setenv(cache.ENV, str(tmp_path / "elsewhere"))
        monkeypatch.setenv("MINIGRAD_CACHE", str(tmp_path / "bytecode"))
        assert cache.inputs_digest("s", []) == before
        monkeypatch.setenv("MINIGRAD_ORDERS", "1")
        assert cache.inputs_digest("s", []) != before

    def test_where_the_interpreter_lives_is_no_input(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """`uv run --with` builds the same environment in a new folder for each run: a verdict
        does not depend on the python's path, only on what it is and what is installed."""
        before = cache.inputs_digest("s", [])
        monkeypatch.setattr(sys, "executable", "/elsewhere/.tmpAbC123/bin/python")
        assert cache.inputs_digest("s", []) == before
        monkeypatch.setattr(sys, "version", sys.version + " (another build)")
        assert cache.inputs_digest("s", []) != before

    def test_a_checkout_that_only_touches_a_settings_file_changes_no_key(
        self, tmp_path: Path
    ) -> None:
        """CI checks out every file anew: pyproject.toml's time changes, its bytes do not.
        A data file larger than WHOLE_BYTES counts by size and time, unread."""
        settings, data = tmp_path / "pyproject.toml", tmp_path / "data.bin"
        settings.write_text("[tool.pytest.ini_options]\n")
        data.write_bytes(b"\0" * (cache.WHOLE_BYTES + 1))
        before = cache.inputs_digest("s", [settings, data])
        os.utime(settings, (1, 1))
        assert cache.inputs_digest("s", [settings, data]) == before
        settings.write_text("[tool.pytest.ini_options]\naddopts = '-x'\n")
        changed = cache.inputs_digest("s", [settings, data])
        assert changed != before
        os.utime(data, (1, 1))
        assert cache.inputs_digest("s", [settings, data]) != changed

    def test_a_missing_file_counts_as_missing(self, tmp_path: Path) -> None:
        gone = tmp_path / "gone.py"
        before = cache.inputs_digest("s", [gone])
        gone.write_text("")
        assert cache.inputs_digest("s", [gone]) != before

    def test_a_corrupt_or_foreign_cache_file_is_no_cache(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(cache.ENV, str(tmp_path))
        assert cache.load("a run") is None
        cache.save("a run", cache.Stored("key", campaign=None))  # type: ignore[arg-type]
        assert cache.load("a run") is not None
        for path in tmp_path.iterdir():
            path.write_bytes(b"not a pickle")
        assert cache.load("a run") is None

    def test_what_cannot_be_kept_is_not_kept_and_no_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A value that does not pickle, a folder that cannot be made: nothing kept, nothing
        left behind, nothing raised."""
        monkeypatch.setenv(cache.ENV, str(tmp_path))
        cache.save("a run", cache.Stored("key", campaign=lambda: None))  # type: ignore[arg-type]
        assert list(tmp_path.iterdir()) == []
        (tmp_path / "file").write_text("")
        monkeypatch.setenv(cache.ENV, str(tmp_path / "file" / "below"))
        cache.save("a run", cache.Stored("key", campaign=None))  # type: ignore[arg-type]
        assert cache.load("a run") is None

    def test_the_folder_keeps_the_latest_runs_only(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(cache.ENV, str(tmp_path))
        monkeypatch.setattr(cache, "KEPT_RUNS", 3)
        for k in range(5):
            cache.save(f"run {k}", cache.Stored(f"key {k}", campaign=None))  # type: ignore[arg-type]
            newest = max(tmp_path.iterdir(), key=lambda f: f.stat().st_mtime_ns)
            os.utime(newest, ns=(k * 10**9, k * 10**9))  # written in this order, a second apart
        assert len(list(tmp_path.iterdir())) == 3
        assert cache.load("run 0") is None and cache.load("run 1") is None
        assert cache.load("run 4") is not None

    def test_off_keeps_nothing(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(cache.ENV, "off")
        assert cache.folder() is None
        cache.save("a run", cache.Stored("key", campaign=None))  # type: ignore[arg-type]
        assert cache.load("a run") is None


def test_with_a_shard_an_op_counts_apart_only_if_its_forward_mutant_is_in_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the shard's mutants carry site markers, so a test is seen to run an op's forward
    only through a forward mutant of this shard: an op whose forward mutant is in another
    shard counts as code every verdict depends on (it counted apart, so a change to its
    forward was invisible to a test that runs nothing else of it)."""
    import argparse

    from minigrad_tool.adapter import parse_spec, profile_engine
    from minigrad_tool.cli.cached import RunCache
    from minigrad_tool.isolation import Limits
    from minigrad_tool.mutation.campaign import shard_of
    from minigrad_tool.mutation.judging import CampaignConfig
    from minigrad_tool.mutation.mutants import generate_mutants

    monkeypatch.chdir(project)
    monkeypatch.setenv(cache.ENV, str(project.parent / "cache"))
    spec, profile = profile_engine(parse_spec("engine.py"), Limits(60.0, None))
    generated = generate_mutants(spec, profile)
    owned = {}
    for shard in ((1, 1), (1, 2), (2, 2)):
        kept = RunCache(argparse.Namespace(shard=shard), spec, [], [])
        keys = kept.mutant_keys(spec, generated, profile, CampaignConfig(shard=shard))
        owned[shard] = set(keys.code.ops)
        marked = shard_of(generated.mutants, shard)
        assert owned[shard] == {m.op for m in marked if m.operator == "forward"}
    assert owned[1, 2] | owned[2, 2] == owned[1, 1] != owned[1, 2]


class TestCompiledMutants:
    """Mutants compiled once are loaded by the children of later runs (mutation.compiled)."""

    def test_a_code_object_is_kept_under_what_its_compilation_read(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from minigrad_tool.mutation import compiled

        monkeypatch.setenv("MINIGRAD_CACHE", str(tmp_path / "pycache"))
        code = compile("def f(x):\n    return x * 2\n", "engine.py", "exec")
        key = compiled.key_of(["engine.py", "()", "dump", "edit"])
        assert key == compiled.key_of(["engine.py", "()", "dump", "edit"])
        assert key != compiled.key_of(["engine.py", "()", "dump", "another edit"])
        assert compiled.load("v1", key) is None
        compiled.keep("v1", key, code)
        assert compiled.load("v1", key) == code
        assert compiled.load("v2", key) is None  # another version of the engine's files
        (path,) = (tmp_path / "pycache" / compiled.FOLDER / "v1").iterdir()
        path.write_bytes(b"not marshal")  # a partial or foreign file: compiled again
        assert compiled.load("v1", key) is None
        monkeypatch.setenv("MINIGRAD_CACHE", "off")
        compiled.keep("v1", key, code)
        assert compiled.load("v1", key) is None

    def test_only_the_versions_used_last_are_kept(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from minigrad_tool.mutation import compiled

        monkeypatch.setenv("MINIGRAD_CACHE", str(tmp_path))
        monkeypatch.setattr(compiled, "KEPT_VERSIONS", 3)
        for version in ("a", "b", "c", "d"):
            os.utime(tmp_path, None)
            compiled.used(version)
            folder = tmp_path / compiled.FOLDER / version
            os.utime(folder, ns=(1, 10**18 + ord(version)))  # later ones used later
        compiled.used("b")  # used again: the latest
        assert sorted(p.name for p in (tmp_path / compiled.FOLDER).iterdir()) == ["b", "c", "d"]

    def test_a_child_loads_the_kept_code_of_its_mutant_and_compiles_nothing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The code an earlier patcher compiled and kept is what a new one (a child of a
        host, whose patcher is `warm`) swaps in, without compiling or looking for the cache
        folder again; a mutant never kept is compiled."""
        from minigrad_tool.adapter import load_in_process
        from minigrad_tool.adapter.loader import engine_modules
        from minigrad_tool.adapter.source import SourceIndex
        from minigrad_tool.mutation import compiled
        from minigrad_tool.mutation.mutants import generate_mutants
        from minigrad_tool.mutation.patch import Patcher

        monkeypatch.setenv("MINIGRAD_CACHE", str(tmp_path))
        loaded = load_in_process("minigrad.engine")
        mutants = generate_mutants(loaded.spec, loaded.profile).mutants[:3]

        def patcher() -> Patcher:
            index = SourceIndex.parse(loaded.spec.source)
            path = loaded.spec.path
            return Patcher(index, str(path), engine_modules(path), version=loaded.spec.sha256)

        first = patcher()
        codes = [first.compile(m) for m in mutants[:2]]  # compiled, and kept
        second = patcher()
        second.warm()
        monkeypatch.setattr(second, "_compile_unit", None)  # compiling now would fail
        # and so would working out the cache folder again: the host did, once for its children
        monkeypatch.setattr(compiled, "cache_folder", None)
        assert [second.compile(m) for m in mutants[:2]] == codes
        with pytest.raises(TypeError):
            second.compile(mutants[2])  # never kept: it is compiled

    @pytest.mark.e2e
    def test_a_second_run_loads_the_mutants_the_first_compiled(
        self, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The same statuses, and every mutant's code kept once (nothing more written)."""
        monkeypatch.setenv("MINIGRAD_CACHE", str(tmp_path / "pycache"))
        from minigrad_tool.mutation import compiled

        _, first = mutate(project, "--tests", "test_engine.py", "--no-cache")
        kept = sorted((tmp_path / "pycache" / compiled.FOLDER).rglob("*.marshal"))
        assert len(kept) == len(first)
        stamps = [p.stat().st_mtime_ns for p in kept]
        _, second = mutate(project, "--tests", "test_engine.py", "--no-cache")
        assert second == first
        assert [p.stat().st_mtime_ns for p in kept] == stamps
