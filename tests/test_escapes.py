"""Nothing escapes, round 3 (in part): settings of odd shapes, Ctrl-C at start-up, a path that is
not UTF-8, merge integrity, and pytest refusing to start.

Each class of failure gets a clear error with the right exit code, the real cause named,
valid files only.

Modules: minigrad_tool.__main__, minigrad_tool._entry, minigrad_tool.interrupt,
minigrad_tool.sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from minigrad_tool.cli.config import find_config
from minigrad_tool.report.merge import MergeError, merge_reports, read_report

ROOT = Path(__file__).resolve().parents[1]
STUDENT = ROOT / "examples" / "student"
ENGINE = str(ROOT / "src" / "minigrad" / "engine.py")


def command(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minigrad_tool", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


class TestSettingsOfOddShapes:
    @pytest.mark.parametrize(
        "text",
        ['tool = "see docs"\n', '[[tool]]\nname = "x"\n'],
        ids=["tool is a string", "tool is an array of tables"],
    )
    def test_no_minigrad_table_there(self, tmp_path: Path, text: str) -> None:
        """Valid TOML whose `tool` is no table: no settings, no traceback."""
        (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n' + text)
        assert find_config(tmp_path).values == {}

    def test_another_tools_deep_table_leaves_ours_readable(self, tmp_path: Path) -> None:
        """A 15,000-deep array under another tool: [tool.minigrad] is still read."""
        deep = "[" * 15_000 + "]" * 15_000
        (tmp_path / "pyproject.toml").write_text(
            f'[tool.other]\ndeep = {deep}\n\n[tool.minigrad]\nengine = "{ENGINE}"\n\n'
            "[tool.after]\nx = 1\n"
        )
        result = command(tmp_path, "gradcheck")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "nested too deeply" not in result.stderr


@pytest.mark.campaign
class TestCtrlCAtStartUp:
    def test_before_the_command_is_up_one_line_and_130(self, tmp_path: Path) -> None:
        """The entry point's handler: a SIGINT while the command is being imported ends the
        process with one line (sent here at a known moment, not raced)."""
        code = (
            "import os, signal, time\n"
            "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "import minigrad_tool._entry\n"
            "os.kill(os.getpid(), signal.SIGINT)\n"
            "time.sleep(10)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 130
        assert result.stderr == "error: interrupted before the command started; nothing was run\n"

    def test_the_command_takes_ctrl_c_over(self) -> None:
        """Once the command runs, Ctrl-C raises KeyboardInterrupt again: its own handling
        (children stopped, exit 130) applies."""
        code = (
            "import signal\n"
            "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "import minigrad_tool._entry\n"
            "from minigrad_tool import interrupt\n"
            "assert signal.getsignal(signal.SIGINT) is interrupt._before_start\n"
            "interrupt.started()\n"
            "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler\n"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                timeout=60, check=False)  # fmt: skip
        assert result.returncode == 0, result.stderr


@pytest.mark.e2e
@pytest.mark.campaign
def test_engine_code_hashes_strings_alike_in_every_run(tmp_path: Path) -> None:
    """Python salts str hashes per process, so a set of op names iterates in another order
    on every run: the command runs itself again with $PYTHONHASHSEED fixed, and the engine's
    children hash alike from one run to the next (they differed on the old code)."""
    seen = tmp_path / "hashes.txt"
    engine = tmp_path / "eng.py"
    engine.write_text(
        f"open({str(seen)!r}, 'a').write(repr(hash('minigrad')) + '\\n')\n"
        + (STUDENT / "engine.py").read_text()
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "minigrad_tool", "gradcheck", "--engine", str(engine)],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
            env={**env, "MINIGRAD_WRITABLE": str(tmp_path)},  # where the engine writes
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
    hashes = set(seen.read_text().split())
    assert len(seen.read_text().split()) >= 2 and len(hashes) == 1, hashes


@pytest.mark.e2e
@pytest.mark.campaign
def test_an_engine_path_that_is_not_utf8_still_gets_its_reports(tmp_path: Path) -> None:
    """`eng\\xff.py`: the HTML and the JSON are written, valid UTF-8, naming the file."""
    name = os.fsdecode(b"eng\xff.py")
    shutil.copy(STUDENT / "engine.py", tmp_path / name)
    result = command(tmp_path, "mutate", "--engine", name, "--judge", "battery",
                     "--html", "r.html", "--json", "r.json")  # fmt: skip
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "eng\\udcff.py" in html
    json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("merge")
    shutil.copy(STUDENT / "engine.py", root)
    shutil.copy(STUDENT / "test_engine.py", root)
    paths = []
    for k in (1, 2):
        path = root / f"s{k}.json"
        result = command(root, "mutate", "--engine", "engine.py", "--tests", "test_engine.py",
                         "--operators", "sign", "--shard", f"{k}/2", "--json", str(path),
                         "--min-score", "0", env={"MINIGRAD_ORDERS": "1"})  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        paths.append(path)
    return root, paths


@pytest.mark.campaign
class TestMergeIntegrity:
    @pytest.mark.e2e
    def test_a_test_file_edited_between_shards_is_another_run(
        self, shards: tuple[Path, list[Path]], tmp_path: Path
    ) -> None:
        """The run ID covers the tests' contents: shard 2 after an edit does not merge."""
        root, (first, _) = shards
        edited = tmp_path / "edited"
        shutil.copytree(root, edited)
        with (edited / "test_engine.py").open("a") as f:
            f.write("\n# edited\n")
        second = edited / "s2.json"
        result = command(edited, "mutate", "--engine", "engine.py", "--tests", "test_engine.py",
                         "--operators", "sign", "--shard", "2/2", "--json", str(second),
                         "--min-score", "0", env={"MINIGRAD_ORDERS": "1"})  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        with pytest.raises(MergeError, match="is not from the same run"):
            merge_reports([(p, read_report(p)) for p in (first, second)])

    def test_a_mutant_twice_in_one_shard_is_refused(
        self, shards: tuple[Path, list[Path]], tmp_path: Path
    ) -> None:
        """The same mutant Killed and Survived in one shard: refused, naming the shard."""
        _, (first, second) = shards
        report = json.loads(second.read_text())
        mutants = next(iter(report["files"].values()))["mutants"]
        mutants.append({**mutants[0], "status": "Survived"})
        doubled = tmp_path / "doubled.json"
        doubled.write_text(json.dumps(report))
        with pytest.raises(MergeError, match=r"in the reports twice \(again in .*doubled.json"):
            merge_reports([(p, read_report(p)) for p in (first, doubled)])

    @pytest.mark.parametrize("number", ["NaN", "Infinity", "1e999"])
    def test_numbers_that_are_not_finite_are_refused(
        self, shards: tuple[Path, list[Path]], tmp_path: Path, number: str
    ) -> None:
        """A duration of NaN, Infinity or 1e999 is no JSON a merge may write back out."""
        _, (_, second) = shards
        text = second.read_text()
        bad = tmp_path / "bad.json"
        bad.write_text(text.replace('"duration": ', f'"duration": {number}, "was": ', 1))
        with pytest.raises(MergeError, match=f"holds the number {number}, not finite"):
            read_report(bad)


@pytest.mark.campaign
def test_pytest_refusing_to_start_is_quoted(tmp_path: Path) -> None:
    """addopts = "-n 2" without xdist in minigrad's runs: pytest's own words, and why."""
    shutil.copy(STUDENT / "engine.py", tmp_path)
    shutil.copy(STUDENT / "test_engine.py", tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-n 2"\n')
    result = command(tmp_path, "mutate", "--engine", "engine.py", "--tests", "test_engine.py")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "unrecognized arguments: -n" in result.stderr
    assert "`-n` comes from pytest-xdist, which pytest does not load here" in result.stderr


# A stand-in for pytest-xdist, installed by entry point: its `-n`, its `worker_id` fixture,
# and a refusal where real xdist would start workers.
FAKE_XDIST = """import pytest


def pytest_addoption(parser):  # as xdist does: lowercase short options are pytest's own
    parser.getgroup("xdist")._addoption("-n", "--numprocesses", dest="numprocesses")


def pytest_configure(config):
    if config.getoption("numprocesses") not in (None, "0"):
        raise pytest.UsageError("workers would start here")


@pytest.fixture
def worker_id():
    return "master"
"""


@pytest.mark.campaign
def test_xdist_in_addopts_stays_loaded_with_no_workers(tmp_path: Path) -> None:
    """addopts = "-n 2" where pytest-xdist loads by entry point: minigrad's runs add `-n 0`
    (the later option wins), so the addopts parse, no worker starts, and a test that takes
    xdist's `worker_id` fixture still gets it."""
    site = tmp_path / "site"
    (site / "fake_xdist-1.0.dist-info").mkdir(parents=True)
    (site / "fake_xdist.py").write_text(FAKE_XDIST)
    (site / "fake_xdist-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-xdist\nVersion: 1.0\n"
    )
    (site / "fake_xdist-1.0.dist-info" / "entry_points.txt").write_text(
        "[pytest11]\nxdist = fake_xdist\n"
    )
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(STUDENT / "engine.py", project)
    tests = (STUDENT / "test_engine.py").read_text()
    tests += "\n\ndef test_with_worker_id(worker_id):\n    assert worker_id == 'master'\n"
    (project / "test_engine.py").write_text(tests)
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-n 2"\n')
    env = {"PYTHONPATH": str(site)}
    plain = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, **env},
    )  # fmt: skip
    assert "workers would start here" in plain.stdout + plain.stderr  # the stand-in is loaded
    result = command(project, "mutate", "--engine", "engine.py", "--tests", "test_engine.py",
                     env=env)  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr  # the student's score < 100%
    assert "mutation score: " in result.stdout


@pytest.mark.campaign
def test_a_helper_the_engine_detaches_is_ended_with_the_command(tmp_path: Path) -> None:
    """A helper started with start_new_session=True at import leaves the child's process
    group, but not the command: none is alive once it returns."""
    pids = tmp_path / "pids.txt"
    engine = tmp_path / "eng.py"
    engine.write_text(
        "import subprocess\n"
        f"_helper = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        f"open({str(pids)!r}, 'a').write(f'{{_helper.pid}}\\n')\n"
        + (STUDENT / "engine.py").read_text()
    )
    result = subprocess.run(
        [sys.executable, "-c", "from minigrad_tool._entry import main; raise SystemExit(main())",
         "gradcheck", "--engine", str(engine)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "MINIGRAD_WRITABLE": str(tmp_path)},  # where it records the pids
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    started = [int(line) for line in pids.read_text().split()]
    assert started  # the engine was imported, and started its helpers
    alive = [pid for pid in started if Path(f"/proc/{pid}").exists()]
    assert alive == []


TENSOR = (ROOT / "src" / "minigrad" / "tensor.py").read_text()


@pytest.mark.e2e
@pytest.mark.campaign
@pytest.mark.parametrize(
    ("engine", "said"),
    [
        (
            TENSOR.replace(
                "np.maximum(self.data, 0.0), (self,)",
                "np.maximum(self.data, 0.0, out=self.data), (self,)",
            ),
            "the forward changed the data of input x in place",
        ),
        (
            (STUDENT / "engine.py")
            .read_text()
            .replace(
                '        out = Value(math.exp(self.data), (self,), "exp")\n',
                '        out = Value(math.exp(self.data), (self,), "exp")\n'
                "        self.data = 0.0\n",
            ),
            "changed input 0's data in place",
        ),
    ],
    ids=["tensor relu out=x", "scalar exp zeroes its input"],
)
def test_an_op_that_writes_into_its_input_is_named(tmp_path: Path, engine: str, said: str) -> None:
    """Inputs are never changed by an op: the battery checks them after forward and backward."""
    assert engine not in (TENSOR, (STUDENT / "engine.py").read_text())
    (tmp_path / "eng.py").write_text(engine)
    result = command(tmp_path, "gradcheck", "--engine", "eng.py")
    assert result.returncode == 1, result.stdout + result.stderr
    assert said in result.stdout


@pytest.mark.campaign
def test_tests_that_reload_the_engine_still_get_the_mutant(tmp_path: Path) -> None:
    """An autouse fixture that calls importlib.reload(engine): the same statuses as without
    it, not 'not covered' everywhere (a reload is no new engine)."""
    statuses = []
    for reload in (False, True):
        folder = tmp_path / f"reload_{reload}"
        folder.mkdir()
        shutil.copy(STUDENT / "engine.py", folder)
        shutil.copy(STUDENT / "test_engine.py", folder)
        if reload:
            (folder / "conftest.py").write_text(
                "import importlib\n\nimport pytest\n\nimport engine\n\n\n"
                "@pytest.fixture(autouse=True)\ndef fresh_engine():\n"
                "    importlib.reload(engine)\n    yield\n"
            )
        result = command(folder, "mutate", "--engine", "engine.py", "--tests", "test_engine.py",
                         "--judge", "tests", "--operators", "sign,chain", "--json", "r.json",
                         "--min-score", "0", env={"MINIGRAD_ORDERS": "1"})  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        data = json.loads((folder / "r.json").read_text())
        statuses.append(
            {m["id"]: m["status"] for e in data["files"].values() for m in e["mutants"]}
        )
    assert statuses[0] == statuses[1]
    assert "Killed" in statuses[1].values() and "NoCoverage" not in statuses[1].values()


@pytest.mark.campaign
def test_nodes_too_big_for_the_memory_limit_say_so(tmp_path: Path) -> None:
    """Every node reserves 1 GiB, under --memory 512: the limit is named, with how to raise it,
    not "no Value class"."""
    engine = TENSOR.replace(
        "        self._op = _op\n",
        "        self._op = _op\n        self._reserve = np.ones(1 << 27)\n",
        1,
    )
    assert engine != TENSOR
    (tmp_path / "eng.py").write_text(engine)
    result = command(tmp_path, "gradcheck", "--engine", "eng.py", "--memory", "512")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "exceeded the memory limit of 512 MiB" in result.stderr
    assert "raise it with --memory MIB" in result.stderr and "no Value class" not in result.stderr


@pytest.mark.e2e
@pytest.mark.campaign
def test_an_engine_that_writes_files_as_it_runs_writes_none_into_your_folder(
    tmp_path: Path,
) -> None:
    """An op that renders a graph file: discovery, the battery and the probes run in a scratch
    folder, so the folder minigrad runs from stays as it was."""
    (tmp_path / "eng.py").write_text(
        (STUDENT / "engine.py").read_text()
        + "\n    def graph(self):\n"
        + '        with open("Digraph.gv", "w") as f:\n'
        + '            f.write("digraph {}")\n'
        + "        return self\n"
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    for args in (["gradcheck"], ["mutate", "--judge", "battery"]):
        result = command(tmp_path, *args, "--engine", "eng.py")
        assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before == ["eng.py"]


def _landlock() -> bool:
    """Does this kernel enforce Landlock?  Asked in a child, which stays confined."""
    code = (
        "import os, sys\nfrom minigrad_tool.sandbox import confine_writes\n"
        "sys.exit(0 if confine_writes([os.getcwd()]) else 3)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    return result.returncode == 0


@pytest.mark.campaign
@pytest.mark.skipif(not _landlock(), reason="this kernel has no Landlock: only the cwd is moved")
def test_an_engine_cannot_write_into_your_tree_by_an_absolute_path(tmp_path: Path) -> None:
    """Confined by Landlock, an op that writes to an absolute path in your folder gets a
    PermissionError (it is then no op), and the folder stays as it was."""
    target = tmp_path / "Digraph.gv"
    (tmp_path / "eng.py").write_text(
        (STUDENT / "engine.py").read_text()
        + "\n    def graph(self):\n"
        + f"        with open({str(target)!r}, 'w') as f:\n"
        + '            f.write("digraph {}")\n'
        + "        return self\n"
    )
    result = command(tmp_path, "gradcheck", "--engine", "eng.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "x.graph() raised PermissionError" in result.stdout
    assert not target.exists()


@pytest.mark.campaign
@pytest.mark.skipif(not _landlock(), reason="this kernel has no Landlock: only the cwd is moved")
def test_a_folder_the_engine_makes_is_named_in_the_hint(tmp_path: Path) -> None:
    """An engine whose import makes a cache folder that does not exist yet (CuPy's ~/.cupy):
    $MINIGRAD_WRITABLE can only let in a folder that exists, and the hint says so."""
    cache = tmp_path / "home" / ".kernels"
    (tmp_path / "home").mkdir()
    (tmp_path / "eng.py").write_text(
        f"import os\nos.makedirs({str(cache)!r}, exist_ok=True)\n"
        + (STUDENT / "engine.py").read_text()
    )
    result = command(tmp_path, "gradcheck", "--engine", "eng.py")
    assert result.returncode == 2, result.stdout + result.stderr
    said = " ".join(result.stderr.split())
    assert f"{cache} does not exist, and only a folder that exists can be let in" in said
    assert f"(`mkdir -p {cache}`) and set $MINIGRAD_WRITABLE={cache}" in said
    assert not cache.exists()
    cache.mkdir()  # as the hint says: then the import works
    again = command(
        tmp_path, "gradcheck", "--engine", "eng.py", env={"MINIGRAD_WRITABLE": str(cache)}
    )
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.campaign
@pytest.mark.parametrize(("fault", "code"), [("", 0), ("out.grad * 2.0", 1)])
def test_the_command_ends_with_its_output_its_code_and_no_scratch_left(
    tmp_path: Path, fault: str, code: int
) -> None:
    """The command ends its process itself once its work is done (_entry._end): all it
    printed reaches the reader, the exit code is the verdict's, and the exit handlers ran
    (the scratch folder its children worked in is gone)."""
    engine = tmp_path / "engine.py"
    source = (STUDENT / "engine.py").read_text()
    engine.write_text(
        source.replace("self.grad += out.grad", f"self.grad += {fault}", 1) if fault else source
    )
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = command(tmp_path, "gradcheck", "--engine", str(engine), env={"TMPDIR": str(scratch)})
    assert result.returncode == code, result.stdout + result.stderr
    last = result.stdout.rstrip().splitlines()[-1]
    assert ("passed" in last) if code == 0 else ("failed" in last), result.stdout
    assert list(scratch.iterdir()) == []
