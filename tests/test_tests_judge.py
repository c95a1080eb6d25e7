"""Your tests as the judge: `mutate --tests`, both judges side by side, and `--suggest`.

Modules: minigrad_tool.mutation.judges.tests, minigrad_tool.mutation.judges.fixtures,
minigrad_tool.mutation.suggest.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from minigrad_tool.cli import main

STUDENT = Path(__file__).parents[1] / "examples" / "student"

pytestmark = pytest.mark.campaign


@pytest.fixture
def student(tmp_path: Path) -> Path:
    """A copy of the worked example: the student's engine and weak tests."""
    target = tmp_path / "student"
    shutil.copytree(
        STUDENT, target, ignore=shutil.ignore_patterns("__pycache__", "test_suggested.py")
    )
    return target


def mutate(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["mutate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


class TestWeakTests:
    @pytest.mark.e2e
    def test_survivors_and_missing_tests(
        self, student: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Weak tests let mutants through; those the battery kills are named as missing tests."""
        report = student / "report.json"
        code, out, _ = mutate(
            [
                "--engine",
                str(student / "engine.py"),
                "--tests",
                str(student / "test_engine.py"),
                "--json",
                str(report),
            ],
            capsys,
        )
        assert code == 1
        assert "judged by your tests" in out
        assert "killed by minigrad's battery but not by your tests" in out
        assert "  add-assign (engine.py:" in out
        assert "--suggest" in out
        data = json.loads(report.read_text())
        mutants = {m["id"]: m for e in data["files"].values() for m in e["mutants"]}
        killed = mutants["add-sign"]
        assert killed["status"] == "Killed"
        # a - b is a + (-b) in this engine: test_sub runs add's step too, and is as fast
        assert killed["killedBy"][0].rpartition("::")[2] in ("test_add", "test_sub")
        assert set(killed["killedBy"]) <= set(killed["coveredBy"])
        # the killer's reason quotes where it failed, as pytest's report has it (the line and
        # the assertion's values), though no traceback was formatted (judges.tests._CrashOnly)
        assert re.fullmatch(
            r".*test_engine\.py::test_(add|sub) fails at test_engine\.py:21: "
            r"assert abs\(v\.grad - expected\) < 1e-4 \(assert [0-9.e-]+ < 0\.0001\)",
            killed["statusReason"],
        ), killed["statusReason"]
        assert "battery: Killed" in mutants["add-assign"]["description"]
        # what your tests kill, the battery is not asked about (campaign._judge_all)
        assert "battery" not in killed["description"]
        assert mutants["add-assign"]["status"] == "Survived"
        assert any(
            t.endswith("::test_add")
            for f in data["testFiles"].values()
            for t in (x["id"] for x in f["tests"])
        )

    @pytest.mark.e2e
    def test_suggested_tests_close_the_loop(
        self, student: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--suggest writes checked tests; with them added, every non-equivalent mutant dies."""
        engine, tests = str(student / "engine.py"), str(student / "test_engine.py")
        out_file = student / "test_suggested.py"
        code, out, _ = mutate(
            ["--engine", engine, "--tests", tests, "--suggest", str(out_file), "--judge", "tests"],
            capsys,
        )
        assert code == 1
        assert f"wrote {out_file}:" in out
        text = out_file.read_text()
        tree = ast.parse(text)
        tests_written = [
            n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
        ]
        said = re.search(r"wrote .*?: (\d+) tests for (\d+) mutants", out)
        assert said is not None and int(said[1]) == len(tests_written) >= 8
        assert len(tests_written) <= int(said[2]) // 2  # one per distinct input, not per mutant
        bodies = [ast.dump(ast.Module(n.body, [])) for n in tests_written]
        assert len(set(bodies)) == len(bodies)  # no two tests alike
        assert all(ast.get_docstring(n) for n in tests_written)
        assert "from engine import Value" in text
        assert "#   add-assign (engine.py:" in text and "test_add_accumulates_and_scales" in text
        assert "out = out * -1.7" in text  # the scaled variant, where it is what tells them apart
        code, out, _ = mutate(
            ["--engine", engine, "--tests", tests, str(out_file), "--judge", "tests"], capsys
        )
        assert code == 0, out
        assert "mutation score: 100.0%" in out


class TestEarlyHost:
    """Your tests' host launched before discovery (EarlyTests): taken by the campaign only
    when discovery keeps the spec it was launched with."""

    def test_it_is_taken_for_its_own_spec_and_closed_for_another(self, student: Path) -> None:
        import dataclasses

        from minigrad_tool.adapter import parse_spec
        from minigrad_tool.mutation.judges.tests import EarlyTests
        from minigrad_tool.mutation.judging import CampaignConfig

        spec = parse_spec(str(student / "engine.py"))
        config = CampaignConfig(tests=(str(student / "test_engine.py"),), judges=("tests",))
        early = EarlyTests(spec, config)
        try:
            host = early.take(spec, dataclasses.replace(config, record_code=True))
            assert host is not None and host.host.pid and early.take(spec, config) is None
            host.close()
        finally:
            early.close()
        other = spec.with_files([str(student / "test_engine.py")])  # a file with steps found
        early = EarlyTests(spec, config)
        try:
            launched = early.launched
            assert launched.host.pid
            assert early.take(other, config) is None and not launched.host.pid  # closed
        finally:
            early.close()

    def test_the_mutants_it_is_assigned_once_ready_are_the_campaigns(
        self, student: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The same statuses, killers and reasons from an early host as from one launched
        with its mutants (the campaign's own, as for an engine whose steps are in another
        file): the mutants reach it as JSON, in the host, before any child."""
        from minigrad_tool.mutation.judges import tests as judge

        def unused(self: judge.EarlyTests, *_: object) -> None:
            assert not self.taken
            self.taken = True
            self.launched.close()

        args = ["--engine", str(student / "engine.py"), "--tests", str(student / "test_engine.py")]
        reports = []
        for early in (True, False):
            report = student / f"report-{early}.json"
            with pytest.MonkeyPatch.context() as patch:
                if not early:  # every early host closed unused: the campaign launches its own
                    patch.setattr(judge.EarlyTests, "take", unused)
                code, _, _ = mutate([*args, "--no-cache", "--json", str(report)], capsys)
            assert code == 1
            mutants = json.loads(report.read_text())["files"]
            reports.append(
                [
                    (m["id"], m["status"], m.get("killedBy"), m.get("statusReason"))
                    for f in mutants.values()
                    for m in f["mutants"]
                ]
            )
        assert reports[0] == reports[1] and len(reports[0]) > 50


class TestHarness:
    def test_failing_tests_are_named(
        self, student: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Tests that fail on the unmutated engine: exit 2, naming them."""
        bad = student / "test_bad.py"
        bad.write_text(
            "from engine import Value\n\ndef test_wrong():\n    assert Value(1.0).data == 2.0\n"
        )
        code, _, err = mutate(["--engine", str(student / "engine.py"), "--tests", str(bad)], capsys)
        assert code == 2
        assert "must pass on the unmutated engine" in err and "test_bad.py::test_wrong" in err

    def test_a_test_that_ends_its_process_is_named(
        self, student: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Tests run in chunks; a chunk that dies is run again test by test, to name the one."""
        bad = student / "test_exits.py"
        passing = "".join(
            f"def test_ok_{i}():\n    assert (Value(1.0) + {i}).data == {1 + i}\n\n"
            for i in range(12)
        )
        bad.write_text(
            "import os\nfrom engine import Value\n\n"
            + passing
            + "def test_exits():\n    os._exit(0)\n"
        )
        code, _, err = mutate(["--engine", str(student / "engine.py"), "--tests", str(bad)], capsys)
        assert code == 2
        assert "test_exits.py::test_exits" in err and "exited with status 0" in err
        assert "test_ok_" not in err

    def test_collection_errors_are_named(
        self, student: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A test file that does not import: exit 2 with pytest's reason."""
        bad = student / "test_broken.py"
        bad.write_text("import no_such_module_here\n")
        code, _, err = mutate(["--engine", str(student / "engine.py"), "--tests", str(bad)], capsys)
        assert code == 2
        assert "fail to collect" in err and "no_such_module_here" in err
        assert "test_broken.py:1: in <module>\n    import no_such_module_here" in err
        assert "importlib" not in err  # the frames of the machinery that imported it

    def test_a_syntax_error_is_shown_without_pytests_frames(
        self, student: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The line at fault and the error, not the eight frames of pytest's import that came
        before them."""
        bad = student / "test_typo.py"
        bad.write_text("def test_x(:\n    pass\n")
        code, _, err = mutate(["--engine", str(student / "engine.py"), "--tests", str(bad)], capsys)
        assert code == 2
        assert f'File "{bad}", line 1' in err and "SyntaxError: invalid syntax" in err
        assert "_pytest" not in err and "importlib" not in err and " in parse" not in err

    def test_unittest_style_tests_judge_too(
        self, student: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """unittest.TestCase tests are run by pytest as judges."""
        unit = student / "test_unit.py"
        unit.write_text(
            "import unittest\nfrom engine import Value\n\n"
            "class TestMul(unittest.TestCase):\n"
            "    def test_mul(self):\n"
            "        a, b = Value(2.0), Value(-3.0)\n"
            "        (a * b).backward()\n"
            "        self.assertEqual((a.grad, b.grad), (-3.0, 2.0))\n"
        )
        report = student / "unit.json"
        mutate(
            [
                "--engine",
                str(student / "engine.py"),
                "--tests",
                str(unit),
                "--judge",
                "tests",
                "--operators",
                "sign",
                "--json",
                str(report),
            ],
            capsys,
        )
        data = json.loads(report.read_text())
        mutants = {m["id"]: m for e in data["files"].values() for m in e["mutants"]}
        assert mutants["mul-sign"]["status"] == "Killed"
        assert mutants["mul-sign"]["killedBy"][0].endswith("test_unit.py::TestMul::test_mul")


@pytest.mark.e2e
def test_a_campaign_leaves_the_tests_folder_as_it_was(student: Path) -> None:
    """Tests that use hypothesis would leave `.hypothesis/` in the folder pytest runs in: the
    campaign points it at a scratch folder, so the student's tree is byte-identical after."""
    (student / "test_hyp.py").write_text(
        "from hypothesis import given, strategies as st\n\nfrom engine import Value\n\n\n"
        "@given(st.floats(-3, 3), st.floats(-3, 3))\n"
        "def test_mul(x, y):\n"
        "    a, b = Value(x), Value(y)\n"
        "    (a * b).backward()\n"
        "    assert (a.grad, b.grad) == (y, x)\n"
    )

    def tree() -> dict[str, bytes]:
        return {
            str(p.relative_to(student)): p.read_bytes() for p in student.rglob("*") if p.is_file()
        }

    before = tree()
    command = ["mutate", "--engine", "engine.py", "--tests", "test_hyp.py", "--judge", "tests"]
    result = subprocess.run(
        [sys.executable, "-m", "minigrad_tool", *command, "--operators", "sign"],
        cwd=student,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "judged by your tests" in result.stdout, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert tree() == before
    assert sorted(p.name for p in student.iterdir() if p.name.startswith(".")) == []


@pytest.mark.e2e
def test_hypothesis_draws_the_same_examples_in_every_run(student: Path, tmp_path: Path) -> None:
    """Hypothesis seeds each process at random: a mutant caught by some draws only got its
    verdict by luck (a lab project's relu-sign: killed in three runs of four).  With the seed
    forced, two campaigns draw the same examples, and give the same verdicts."""
    draws = tmp_path / "draws.txt"
    (student / "test_hyp.py").write_text(
        "from hypothesis import given, settings, strategies as st\n\nfrom engine import Value\n\n\n"
        "@settings(max_examples=3)\n"
        "@given(st.floats(-3, 3))\n"
        "def test_relu(x):\n"
        f"    with open({str(draws)!r}, 'a') as log:\n"
        "        log.write(repr(x) + '\\n')\n"
        "    a = Value(x)\n"
        "    a.relu().backward()\n"
        "    assert a.grad == (1.0 if x > 0 else 0.0)\n"
    )
    command = ["mutate", "--engine", "engine.py", "--tests", "test_hyp.py", "--judge", "tests"]
    seen, reports = [], []
    for k in range(2):
        draws.write_text("")
        report = tmp_path / f"run{k}.json"
        result = subprocess.run(
            [sys.executable, "-m", "minigrad_tool", *command, "--operators", "sign", "--json",
             str(report), "--min-score", "0"],
            cwd=student, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        seen.append(sorted(set(draws.read_text().split())))
        mutants = json.loads(report.read_text())["files"]["engine.py"]["mutants"]
        reports.append({m["id"]: m["status"] for m in mutants})
    assert len(seen[0]) >= 3 and seen[0] == seen[1]
    assert reports[0] == reports[1] and "relu-sign" in reports[0]


def test_judging_children_run_hypothesis_without_its_deadline() -> None:
    """A hypothesis deadline fails a test on a busy machine (a kill by load): a judging child
    turns it off, and the too_slow health check, in the tests it runs, methods included."""
    import time
    from datetime import timedelta
    from types import SimpleNamespace

    from hypothesis import HealthCheck, errors, given, settings
    from hypothesis import strategies as st

    from minigrad_tool.mutation.judges.tests import _hypothesis_untimed

    @settings(deadline=timedelta(milliseconds=1), max_examples=1, database=None)
    @given(st.just(0))
    def slow(x: int) -> None:
        time.sleep(0.02)  # always beyond its 1 ms deadline

    class Tests:
        @settings(deadline=timedelta(milliseconds=1), max_examples=1, database=None)
        @given(st.just(0))
        def test_slow(self, x: int) -> None:
            time.sleep(0.02)

    with pytest.raises((errors.DeadlineExceeded, errors.FlakyFailure)):
        slow()
    method = Tests().test_slow
    _hypothesis_untimed([SimpleNamespace(obj=slow), SimpleNamespace(obj=method), object()])
    slow()  # no deadline now
    method()
    used = slow._hypothesis_internal_use_settings  # type: ignore[attr-defined]
    assert used.deadline is None and HealthCheck.too_slow in used.suppress_health_check
    assert used.max_examples == 1  # the test's own settings are kept


def test_values_computed_at_import_are_named(
    student: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A test file that runs backward() when it is imported checks what the unmutated engine
    computed, whatever the mutant (its plain pytest run catches a wrong tanh; minigrad saw
    "no test ran their changed code"): the report names the file and its globals.  A leaf, a
    list of leaves and the student's own file are not named."""
    (student / "test_at_import.py").write_text(
        "from engine import Value\n\n"
        "x = Value(0.5)\n"
        "y = x.tanh() * x\n"
        "y.backward()\n"
        "w = Value(2.0)\n"
        "leaves = [Value(1.0), Value(-1.0)]\n\n\n"
        "def test_tanh_times_x():\n"
        "    assert abs(x.grad - 0.8553410237) < 1e-6\n\n\n"
        "def test_leaf():\n"
        "    assert (w * w).data == 4.0 and leaves[0].data == 1.0\n"
    )
    tests = [str(student / "test_engine.py"), str(student / "test_at_import.py")]
    report, page = student / "report.json", student / "report.html"
    _, out, _ = mutate(
        ["--engine", str(student / "engine.py"), "--tests", *tests, "--judge", "tests",
         "--operators", "sign", "--min-score", "0", "--json", str(report), "--html", str(page)],
        capsys,
    )  # fmt: skip
    said = out[out.index("computed at import") :].split("\n\n")[0]
    named = [line.strip() for line in said.splitlines()[1:]]
    assert len(named) == 1 and named[0].endswith("test_at_import.py: x, y"), out
    kept = json.loads(report.read_text())["config"]["diagnosis"]["computedAtImport"]
    assert [names for file, names in kept.items() if file.endswith("test_at_import.py")] == [
        ["x", "y"]
    ] and len(kept) == 1
    html = page.read_text()
    assert "Computed at import" in html and "test_at_import.py: x, y" in html


class TestOutputs:
    def test_report_onto_a_source_is_refused_before_work(
        self, student: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--json onto the engine, --suggest onto a test: refused at once, nothing written."""
        engine = student / "engine.py"
        before = engine.read_bytes()
        code, _, err = mutate(["--engine", str(engine), "--json", str(engine)], capsys)
        assert code == 2 and "refusing to write --json onto" in err
        tests = student / "test_engine.py"
        code, _, err = mutate(
            ["--engine", str(engine), "--tests", str(tests), "--suggest", str(tests)], capsys
        )
        assert code == 2 and "refusing to write --suggest onto" in err
        assert engine.read_bytes() == before

    @pytest.mark.parametrize("target", ["missing_dir/r.json", "."])
    def test_unwritable_report_path(
        self, target: str, student: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A report path whose folder is missing, or a directory: exit 2 before any work."""
        code, _, err = mutate(
            ["--engine", str(student / "engine.py"), "--json", str(student / target)], capsys
        )
        assert code == 2
        assert "does not exist" in err or "is a directory" in err

    def test_pytest_missing_is_a_usage_error(
        self, student: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Where minigrad runs without pytest, --tests says how to get it, not a traceback."""
        import importlib.util

        real = importlib.util.find_spec
        monkeypatch.setattr(
            importlib.util,
            "find_spec",
            lambda name, *a: None if name == "pytest" else real(name, *a),
        )
        code, _, err = mutate(
            ["--engine", str(student / "engine.py"), "--tests", str(student / "test_engine.py")],
            capsys,
        )
        assert code == 2
        assert "pytest, which is not installed beside minigrad" in err
        assert "Traceback" not in err

    def test_suggest_needs_tests(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--suggest without --tests: a usage error that says what is missing."""
        code, _, err = mutate(["--suggest", "x.py"], capsys)
        assert code == 2 and "it needs --tests" in err


class TestOurOwnTests:
    @pytest.mark.e2e
    def test_gradcheck_tests_kill_every_mutant_of_our_engine(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """tests/test_gradcheck.py as the judge of our engine: 100%, the time printed."""
        tests = str(Path(__file__).parent / "test_gradcheck.py")
        engine = str(Path(__file__).parents[1] / "src" / "minigrad" / "engine.py")
        code, out, err = mutate(["--engine", engine, "--tests", tests, "--judge", "tests"], capsys)
        assert code == 0, out + err
        assert "mutation score: 100.0%" in out and "judged by your tests in " in out


COUNTING_CONFTEST = """import os
import pytest
from engine import Value


@pytest.fixture(scope="{scope}")
def table():
    with open(os.environ["MINIGRAD_TEST_FIXTURE_LOG"], "a") as log:
        log.write("setup\\n")
    return {value}
"""

FIXTURE_TESTS = """from engine import Value


def number(k):
    return getattr(k, "data", k)


def test_mul(table):
    x = Value(1.5)
    (x * table["k"]).backward()
    assert abs(x.grad - number(table["k"])) < 1e-6


def test_tanh(table):
    x = Value(0.5)
    x.tanh().backward()
    assert abs(x.grad - (1 - x.tanh().data ** 2)) < 1e-6


def test_add(table):
    x = Value(1.5)
    (x + table["k"]).backward()
    assert x.grad == 1.0
"""


class TestFixturesOnce:
    """A child keeps the session fixtures its tests share (judges.fixtures): set up once per
    mutant, not once per test per graph order; the statuses those of function fixtures."""

    def campaign(
        self, folder: Path, scope: str, value: str, monkeypatch: pytest.MonkeyPatch
    ) -> tuple[dict[str, tuple[str, list[str]]], int]:
        (folder / "tests").mkdir(exist_ok=True)
        conftest = COUNTING_CONFTEST.format(scope=scope, value=value)
        (folder / "tests" / "conftest.py").write_text(conftest)
        (folder / "tests" / "test_ops.py").write_text(FIXTURE_TESTS)
        log = folder / f"setups-{scope}.log"
        monkeypatch.setenv("MINIGRAD_TEST_FIXTURE_LOG", str(log))
        report = folder / f"{scope}.json"
        args = ["--engine", str(folder / "engine.py"), "--tests", str(folder / "tests")]
        main(["mutate", *args, "--judge", "tests", "--min-score", "0", "--json", str(report), "-v"])
        mutants = [
            m for f in json.loads(report.read_text())["files"].values() for m in f["mutants"]
        ]
        statuses = {m["id"]: (m["status"], m.get("killedBy", [])) for m in mutants}
        return statuses, len(log.read_text().splitlines())

    @pytest.mark.e2e
    @pytest.mark.parametrize(
        "value",
        ['{"k": Value(3.0)}', '{"k": Value(3.0).data}', '{"k": 3.0}'],
        ids=["holds-a-node", "a-number-the-engine-computed", "plain-number"],
    )
    def test_a_session_fixture_is_set_up_once_per_child_and_judges_as_a_function_one(
        self,
        student: Path,
        value: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A fixture holding one of the engine's nodes, or a number the engine computed, is set
        up again when the child switches between the mutant and the original, or graph
        orders; one holding a plain number is not."""
        per_test, each = self.campaign(student, "function", value, monkeypatch)
        kept, setups = self.campaign(student, "session", value, monkeypatch)
        said = capsys.readouterr().out  # --verbose says which fixtures are kept, and how
        if "Value" in value:
            assert "as they may depend on the engine: table (session)" in said
        else:
            assert "set up once, before the children fork: table (session)" in said
        assert kept == per_test  # the same statuses and killers as fixtures set up per test
        assert any(status == "Killed" for status, _ in kept.values())
        if "Value" in value:  # set up again at each switch, kept between a child's tests
            assert setups < each
        else:  # once in each stats child (3 tests: at most 3), in a trial child and the host
            assert setups <= 3 + 2 < each


WARM_CONFTEST = """import os
import threading

import pytest


def log(word):
    with open(os.environ["MINIGRAD_TEST_FIXTURE_LOG"], "a") as f:
        f.write(word + "\\n")


@pytest.fixture(scope="session")
def table():
    log("setup table")
    yield {"k": 3.0}
    log("teardown table")


@pytest.fixture(scope="session")
def handle():
    log("setup handle")
    with open(os.environ["MINIGRAD_TEST_FIXTURE_LOG"]) as f:
        yield f


@pytest.fixture(scope="session")
def worker():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    yield thread
    stop.set()


@pytest.fixture(scope="session", params=[1.0, 2.0])
def scale(request):
    return request.param


@pytest.fixture(scope="session", autouse=True)
def everywhere():
    os.environ["MINIGRAD_TEST_EVERYWHERE"] = "1"  # every test sees it, in pytest too
    yield
    del os.environ["MINIGRAD_TEST_EVERYWHERE"]


@pytest.fixture(scope="session")
def precise():
    os.environ["MINIGRAD_TEST_PRECISION"] = "double"
    yield
    del os.environ["MINIGRAD_TEST_PRECISION"]
"""

WARM_TESTS = """from engine import Value


def test_mul(table, handle):
    x = Value(1.5)
    (x * table["k"]).backward()
    assert abs(x.grad - table["k"]) < 1e-6


def test_tanh(table, worker):
    x = Value(0.5)
    x.tanh().backward()
    assert abs(x.grad - (1 - x.tanh().data ** 2)) < 1e-6


def test_add(table, scale, precise):
    x = Value(1.5)
    (x * scale + table["k"]).backward()
    assert x.grad == scale
"""


@pytest.mark.e2e
def test_session_fixtures_are_set_up_before_the_fork_only_where_forked_children_can_share_them(
    student: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plain session fixture is set up once in the host and torn down there at the end; one
    that keeps a file open, starts a thread, changes the environment (unless autouse: then
    every test sees the change in pytest too) or is parametrized is set up in each child, and
    --verbose says why.  The statuses are those of a campaign judging
    the same tests with function fixtures."""
    tests = student / "tests"
    tests.mkdir()
    (tests / "test_ops.py").write_text(WARM_TESTS)
    log = student / "fixtures.log"
    monkeypatch.setenv("MINIGRAD_TEST_FIXTURE_LOG", str(log))
    runs = {}
    for scope in ("function", "session"):
        (tests / "conftest.py").write_text(
            WARM_CONFTEST.replace('scope="session"', f'scope="{scope}"')
        )
        report = student / f"{scope}.json"
        args = ["--engine", str(student / "engine.py"), "--tests", str(tests), "--judge", "tests"]
        main(["mutate", *args, "--min-score", "0", "--json", str(report), "-v"])
        mutants = [
            m for f in json.loads(report.read_text())["files"].values() for m in f["mutants"]
        ]
        runs[scope] = {m["id"]: (m["status"], m.get("killedBy", [])) for m in mutants}
        if scope == "function":
            log.unlink()
    assert runs["session"] == runs["function"]
    assert any(status == "Killed" for status, _ in runs["session"].values())
    said = capsys.readouterr().out
    assert "set up once, before the children fork: everywhere (session), table (session)" in said
    assert "handle (session; not before the fork: it leaves 1 file(s) open)" in said
    assert "worker (session; not before the fork: it leaves 1 thread(s) started)" in said
    assert "scale (session; not before the fork: parametrized)" in said
    assert "the environment changed (MINIGRAD_TEST_PRECISION)" in said
    lines = log.read_text().splitlines()
    # table: in each stats child (4 tests: at most 4), two trials and the host; each torn down
    assert 4 <= lines.count("setup table") <= 4 + 3
    assert lines.count("teardown table") == lines.count("setup table")
    assert lines.count("setup handle") > lines.count("setup table")  # in each judging child


HOST_KILLING_CONFTEST = """import os
import pytest


@pytest.fixture(scope="session")
def table():
    if os.getppid() == int(os.environ["MINIGRAD_TEST_TOOL_PID"]):
        os._exit(3)  # only in the host: its parent is the tool; a child's is the host
    return {"k": 3.0}
"""


@pytest.mark.e2e
def test_a_fixture_that_ends_the_host_is_set_up_per_child_by_a_new_host(
    student: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fixture whose set-up passes its trial in a child but kills the host: the host is
    started again, the fixture stays per child, --verbose says why, and the verdicts are
    those of the same tests with the fixture in function scope."""
    tests = student / "tests"
    tests.mkdir()
    (tests / "test_ops.py").write_text(FIXTURE_TESTS)
    monkeypatch.setenv("MINIGRAD_TEST_TOOL_PID", str(os.getpid()))
    runs = {}
    for scope in ("function", "session"):
        conftest = HOST_KILLING_CONFTEST.replace('scope="session"', f'scope="{scope}"')
        (tests / "conftest.py").write_text(conftest)
        report = student / f"{scope}.json"
        args = ["--engine", str(student / "engine.py"), "--tests", str(tests), "--judge", "tests"]
        code = main(["mutate", *args, "--min-score", "0", "--json", str(report), "-v"])
        assert code == 0
        mutants = [
            m for f in json.loads(report.read_text())["files"].values() for m in f["mutants"]
        ]
        runs[scope] = {m["id"]: (m["status"], m.get("killedBy", [])) for m in mutants}
    assert runs["session"] == runs["function"]
    assert any(status == "Killed" for status, _ in runs["session"].values())
    said = capsys.readouterr().out
    assert "set up once per child: table (session; not before the fork: its set-up ended" in said


def test_a_fixture_value_holding_the_engines_objects_is_told_apart() -> None:
    """Searched through containers and attributes: a node three levels down is found."""
    from minigrad.engine import Value
    from minigrad_tool.mutation.judges.fixtures import _engine_made

    engine = frozenset({Value.__module__})

    class Holder:
        def __init__(self, inside: object) -> None:
            self.inside = inside

    assert _engine_made({"model": Holder([Value(1.0)])}, engine)
    assert not _engine_made({"model": Holder([1.0, "x"]), "h": 1e-6}, engine)
    assert not _engine_made(Value, engine)  # the class itself makes nothing


def test_tests_that_run_no_mutant_site_are_told_apart_by_whether_they_run_the_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first run of the tests watches only mutant sites; when none ran, a second look
    says whether any engine code ran: a test of a helper with no mutant judges (every
    mutant not covered), a test of another module is refused (exit 2)."""
    engine = (Path(__file__).parent / "engines" / "microstyle.py").read_text()
    (tmp_path / "eng.py").write_text(engine + '\n\ndef version():\n    return "1.0"\n')
    (tmp_path / "test_helper.py").write_text(
        'from eng import version\n\n\ndef test_version():\n    assert version() == "1.0"\n'
    )
    (tmp_path / "test_other.py").write_text(
        'import json\n\n\ndef test_json():\n    assert json.loads("1") == 1\n'
    )
    engine_args = ["--engine", str(tmp_path / "eng.py"), "--judge", "tests"]
    code, out, err = mutate([*engine_args, "--tests", str(tmp_path / "test_helper.py")], capsys)
    assert code == 1, out + err
    assert "0 killed, 0 survived" in out and "not covered" in out
    code, out, err = mutate([*engine_args, "--tests", str(tmp_path / "test_other.py")], capsys)
    assert code == 2, out + err
    assert "none of your tests" in err and "ran code of eng.py" in err
