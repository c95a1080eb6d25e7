"""A wrong engine: the finding first, in every report; suggested tests assert the truth.

The scenario of the lab, as a student meets it: package `minigrad`, children
in a `set`, `sub` built as `self + (-other)`, and a sigmoid whose step drops
`* out.grad`; the student's tests never scale the upstream gradient, so they
pass.  One `mutate` run (with --json, --html and --suggest) is shared by the
tests of this file; the fixed engine is judged once by the written tests.
Also here: the Finding record, the truth oracle, tests that cannot judge the
engine named, and `inject sub-sign` on an engine whose sub has no step.

Modules: minigrad_tool.invocation.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_lab_project import ENGINE as LAB_ENGINE
from test_lab_project import PYPROJECT

from minigrad_tool.battery.oracle import NoTruth, truth
from minigrad_tool.findings import Finding, blame_backward, wrong_ops

# A mutate run whose assertions read the battery's findings on the unmutated engine (its
# headline, what it blames) needs the mutants of one operator only: all took seconds each.
ONE_OPERATOR = ("--operators", "sign")

pytestmark = pytest.mark.campaign

STUDENT = Path(__file__).parent.parent / "examples" / "student"

# The lab project's engine (test_lab_project.py), its sigmoid step left to each test here.
ENGINE = LAB_ENGINE.replace("SIGMOID_STEP * out.grad", "STEP")
assert ENGINE.count("STEP") == 1
BUGGY = "s * (1 - s)"  # the upstream factor out.grad is missing
FIXED = "s * (1 - s) * out.grad"
SIGMOID_LINE = ENGINE.splitlines().index("    def sigmoid(self):") + 1

# Tests that pass on the buggy engine: they never scale the upstream gradient.
TESTS = """import math

from minigrad.engine import Value


def test_add():
    a, b = Value(2.0), Value(3.0)
    (a + b).backward()
    assert a.grad == 1.0 and b.grad == 1.0


def test_sub():
    a, b = Value(2.0), Value(3.0)
    (a - b).backward()
    assert a.grad == 1.0 and b.grad == -1.0


def test_sigmoid():
    x = Value(0.5)
    x.sigmoid().backward()
    s = 1 / (1 + math.exp(-0.5))
    assert abs(x.grad - s * (1 - s)) < 1e-9
"""


def make_lab(root: Path, step: str) -> Path:
    package = root / "src" / "minigrad"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""The student\'s minigrad."""\n')
    (package / "engine.py").write_text(ENGINE.replace("STEP", step))
    (root / "tests").mkdir()
    (root / "tests" / "test_gradcheck.py").write_text(TESTS)
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


def run(
    cwd: Path, *args: str, module: str = "minigrad_tool", before: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """A command from the project's root, with the student's package importable (`before`: a
    folder on $PYTHONPATH ahead of it)."""
    import os

    path = [str(cwd / "src")] if before is None else [str(before), str(cwd / "src")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    env.pop("UV_RUN_RECURSION_DEPTH", None)  # hints as a plain shell shows them
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


class Trial:
    """The buggy lab, its one shared `mutate` run, and the files it wrote."""

    def __init__(self, root: Path) -> None:
        self.root = make_lab(root, BUGGY)
        self.result = run(
            self.root,
            "mutate",
            "--json",
            "report.json",
            "--html",
            "report.html",
            "--suggest",
            "tests/test_suggested.py",
            "--junit",
            "junit.xml",
            "--format",
            "github",
        )
        self.out = self.result.stdout
        self.report = json.loads((self.root / "report.json").read_text())
        self.html = (self.root / "report.html").read_text()
        self.suggested = (self.root / "tests" / "test_suggested.py").read_text()


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> Trial:
    return Trial(tmp_path_factory.mktemp("lab"))


class TestTheFindingIsTheHeadline:
    @pytest.mark.e2e
    def test_the_first_lines_name_the_wrong_op(self, trial: Trial) -> None:
        """Before any table or survivor: sigmoid, its line, the input, expected against got."""
        assert trial.result.returncode == 1, trial.out + trial.result.stderr
        first = trial.out.splitlines()[:3]
        assert first[0].startswith("YOUR ENGINE IS WRONG") and "sigmoid" in first[0]
        assert f"engine.py:{SIGMOID_LINE}" in first[1]
        assert "at x=0.5" in first[2] and "expected" in first[2] and "got" in first[2]

    def test_survivors_in_the_wrong_op_come_under_fix_it_first(self, trial: Trial) -> None:
        """The sigmoid survivors are grouped apart: they were judged against a wrong original."""
        lines = trial.out.splitlines()
        heading = next(i for i, line in enumerate(lines) if line.startswith("fix sigmoid first"))
        assert lines[heading + 1].startswith("  sigmoid-")

    def test_one_line_per_survivor_and_the_score_says_the_engine_is_wrong(
        self, trial: Trial
    ) -> None:
        """No diffs without --verbose; the score is of tests on an engine wrong in 1 op."""
        assert "--- engine.py (original)" not in trial.out
        assert "--verbose" in trial.out
        score = next(line for line in trial.out.splitlines() if line.startswith("mutation score"))
        assert "wrong in 1 op(s) (sigmoid)" in score

    def test_the_json_keeps_the_finding(self, trial: Trial) -> None:
        """config.findings: the op, the case, the input, expected, actual and the line."""
        findings = [Finding.from_json(f) for f in trial.report["config"]["findings"]]
        assert wrong_ops(findings) == ["sigmoid"]
        first = findings[0]
        assert first.line == SIGMOID_LINE and first.input == "x=0.5" and first.case
        assert first.expected is not None and first.actual is not None
        assert not math.isclose(first.expected, first.actual)

    def test_the_html_shows_it_in_red_before_the_score(self, trial: Trial) -> None:
        """The findings block comes before the score line."""
        assert '<div class="findings">' in trial.html
        assert trial.html.index('class="findings"') < trial.html.index('class="score')
        assert "sigmoid" in trial.html[trial.html.index('class="findings"') :][:400]

    def test_ci_sees_it_too(self, trial: Trial) -> None:
        """--format github annotates sigmoid's line first; --junit has a failed finding case."""
        notes = [line for line in trial.out.splitlines() if line.startswith("::error ")]
        assert notes[0].startswith(f"::error file=src/minigrad/engine.py,line={SIGMOID_LINE},")
        assert "title=engine wrong%3A sigmoid::" in notes[0]
        junit = (trial.root / "junit.xml").read_text()
        assert 'classname="engine" name="finding sigmoid"' in junit

    @pytest.mark.e2e
    def test_merge_keeps_the_finding_and_fails(self, trial: Trial, tmp_path: Path) -> None:
        """Shards of one run merge with their findings, and a wrong engine fails the merge."""
        for k in (1, 2):
            result = run(
                trial.root, "mutate", "--judge", "battery", "--shard", f"{k}/2", "--json",
                str(tmp_path / f"s{k}.json"),
            )  # fmt: skip
            assert result.returncode == 1, result.stdout + result.stderr
        merged = tmp_path / "merged.json"
        result = run(
            trial.root, "merge", str(tmp_path / "s1.json"), str(tmp_path / "s2.json"),
            "--json", str(merged), "--min-score", "0",
        )  # fmt: skip
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stdout.startswith("YOUR ENGINE IS WRONG")
        kept = [Finding.from_json(f) for f in json.loads(merged.read_text())["config"]["findings"]]
        assert wrong_ops(kept) == ["sigmoid"]


class TestSuggestedTestsAssertTheTruth:
    def test_a_failed_assertion_of_the_truth_exposes_the_bug(self) -> None:
        """A written test that fails on its own assertion of the truth exposes a bug: a value
        or gradient within its tolerance, or a gradient of exactly 0 under a zero upstream
        gradient (before, that one read as "its test does not run on the engine"); an error,
        or another assertion, does not."""
        from minigrad_tool.mutation.suggest import _exposes_bug

        assert _exposes_bug("test_s.py:12: assert close(x.grad, 2) (assert False)")
        assert _exposes_bug("test_s.py:145: assert x.grad == 0 (assert -2.0 == 0)")
        assert _exposes_bug("test_s.py:9: assert x.grad is None or x.grad == 0 (assert ...)")
        assert _exposes_bug("test_s.py:9: assert x.grad.data == 0 (assert 0.5 == 0)")
        assert not _exposes_bug("test_s.py:3: NameError: name 'Value' is not defined")
        assert not _exposes_bug("test_s.py:9: assert x.grad == 0.5 (assert 1 == 0.5)")

    def test_the_sigmoid_test_asserts_the_true_value_and_fails_today(self, trial: Trial) -> None:
        """The pre-seeded, scaled gradient is 0.37 - 1.7 s(1-s) = -0.0295, not the bug's 0.605;
        the test says it fails by design, and the command says so."""
        s = 1 / (1 + math.exp(-0.5))
        true = 0.37 - 1.7 * s * (1 - s)
        assert f"{true:.10g}"[:8] in trial.suggested
        assert "0.605" not in trial.suggested
        words = " ".join(trial.suggested.replace('"""', " ").split())
        assert "It FAILS on your engine today, by design" in words
        assert "fail on your engine today: they expose sigmoid's bug" in trial.out
        result = run(trial.root, "-q", "-p", "no:cacheprovider",
                     "tests/test_suggested.py", module="pytest")  # fmt: skip
        failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
        assert failed and all("test_sigmoid" in line for line in failed), result.stdout

    def test_the_first_line_counts_every_test_in_the_file(self, trial: Trial) -> None:
        """The tests that guard mutants and the one that fails by design add up to the file's
        tests (the first line counted the guarding ones alone, one short of the file)."""
        written = trial.suggested.count("\ndef test_")
        said = re.search(
            r"wrote \S+: (\d+) tests for \d+ mutants, .*? and (\d+) more that fails on your "
            r"engine today; add it to --tests",
            trial.out,
        )
        assert said is not None, trial.out
        assert int(said[1]) + int(said[2]) == written and int(said[2]) == 1

    def test_the_failing_test_vouches_for_no_mutant(self, trial: Trial) -> None:
        """Every mutant fails it as the buggy engine does, which says nothing of the fixed
        engine (sigmoid-assign's line is not even there then): it lists none, and the command
        names sigmoid's mutants with why, for --suggest after the fix."""
        start = trial.suggested.index("def test_sigmoid_accumulates_and_scales")
        body = trial.suggested[start:].split("\n\n\ndef ")[0]
        assert "FAILS on your engine today" in body
        assert "mutants" not in body, body
        named = [line for line in trial.out.splitlines() if line.startswith("  no test for ")]
        assert any(
            "sigmoid-assign" in line and "which your engine gets wrong" in line for line in named
        ), trial.out

    @pytest.mark.e2e
    def test_every_suggested_test_passes_on_the_fixed_engine(
        self, trial: Trial, tmp_path: Path
    ) -> None:
        """Fix sigmoid: every written test passes, and they judge the fixed engine together
        with the student's tests."""
        fixed = tmp_path / "fixed"
        shutil.copytree(trial.root, fixed)
        engine = fixed / "src" / "minigrad" / "engine.py"
        engine.write_text(engine.read_text().replace(BUGGY, FIXED))
        result = run(fixed, "-q", "-p", "no:cacheprovider", "tests",
                     module="pytest")  # fmt: skip
        assert result.returncode == 0, result.stdout
        judged = run(fixed, "mutate", "--tests", "tests", "--judge", "tests")
        assert judged.returncode in (0, 1), judged.stdout + judged.stderr
        assert "YOUR ENGINE IS WRONG" not in judged.stdout
        score = next(line for line in judged.stdout.splitlines() if line.startswith("mutation"))
        assert "0 survived" in score, judged.stdout


# abs as lilgrad 0.6.0 (PyPI) writes it: a node cut from the graph, with no step of its own.
ABS_CUT = """    def __abs__(self):
        return Value(abs(self.data))

"""
ABS_OP = """    def __abs__(self):
        out = Value(abs(self.data), (self,), "abs")

        def _backward():
            self.grad += (1.0 if self.data > 0 else -1.0) * out.grad

        out._backward = _backward
        return out

"""


@pytest.mark.e2e
def test_a_wrong_op_with_no_mutant_gets_the_test_that_exposes_it(tmp_path: Path) -> None:
    """abs is cut from the graph: no step, so no mutant, and no survivor's test calls it.
    --suggest still writes a test of it, first in the file: it fails on the engine today on
    its assertion of the truth (x.grad is 1 at x=1.5), and passes once abs is an op."""
    root = make_lab(tmp_path / "lab", FIXED)
    engine = root / "src" / "minigrad" / "engine.py"
    sigmoid = "    def sigmoid(self):"
    engine.write_text(engine.read_text().replace(sigmoid, ABS_CUT + sigmoid))
    result = run(root, "mutate", "--suggest", "tests/test_suggested.py")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "they expose abs's bug; fix it, then they guard it" in result.stdout, result.stdout
    first = (root / "tests" / "test_suggested.py").read_text().split("\n\n\ndef ")[2]
    assert first.startswith("test_abs_value_and_gradients():"), first
    assert "It FAILS on your engine today" in " ".join(first.split())
    assert "assert close(x.grad, 1)" in first
    today = run(root, "-q", "-p", "no:cacheprovider", "tests/test_suggested.py", module="pytest")
    failed = [line for line in today.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "::test_abs_value_and_gradients" in failed[0], today.stdout
    engine.write_text(engine.read_text().replace(ABS_CUT, ABS_OP))
    fixed = run(root, "-q", "-p", "no:cacheprovider", "tests/test_suggested.py", module="pytest")
    assert fixed.returncode == 0, fixed.stdout


# A test that catches the lab's sigmoid bug, and one that fails for a reason of its own.
CATCHING = """import math

from minigrad.engine import Value


def test_sigmoid_scales():
    x = Value(0.5)
    (x.sigmoid() * 2.0).backward()
    s = 1 / (1 + math.exp(-0.5))
    assert abs(x.grad - 2 * s * (1 - s)) < 1e-9
"""
OWN_ERROR = """from minigrad.engine import Value


def test_against_torch():
    x = Value(0.5)
    y = torch.tensor([0.5])
    assert x.data == y.item()
"""


@pytest.mark.parametrize(("tests", "blamed"), [(CATCHING, True), (OWN_ERROR, False)])
def test_failing_tests_are_blamed_on_the_wrong_op_only_when_it_can_be_why(
    tmp_path: Path, tests: str, blamed: bool
) -> None:
    """Tests that fail on the unmutated engine cannot judge (exit 2).  With sigmoid wrong,
    one that fails on its assertion most likely fails for sigmoid, and the error says so; one
    that fails on a name it never imported (nano-autograds' tests: `torch` is not defined)
    fails for that alone, and the error blames no op."""
    root = make_lab(tmp_path / "lab", BUGGY)
    (root / "tests" / "test_gradcheck.py").write_text(tests)
    result = run(root, "mutate")
    assert result.returncode == 2, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert "must pass on the unmutated engine" in said
    assert ("The battery finds the unmutated engine wrong in sigmoid" in said) is blamed, said


class TestTestsThatCannotJudge:
    def test_tests_of_another_engine_are_refused(self, trial: Trial) -> None:
        """The configured tests never run other.py: exit 2 naming them and their origin."""
        (trial.root / "other.py").write_text(ENGINE.replace("STEP", FIXED))
        for command in (["mutate"], ["inject", "add-sign"]):
            result = run(trial.root, *command, "--engine", "other.py")
            assert result.returncode == 2, result.stdout + result.stderr
            said = result.stderr
            assert "none of your tests (tests/test_gradcheck.py, from pyproject.toml" in said
            assert "ran code of other.py" in said
            assert "ESCAPED" not in result.stdout and "0.0%" not in result.stdout


def test_a_package_of_the_engines_name_earlier_on_the_path_is_not_checked_in_its_place(
    tmp_path: Path,
) -> None:
    """Another `minigrad` (right) before the project's `src` (wrong sigmoid) on sys.path, as
    $PYTHONPATH or an installed package puts one: the named file is checked, not that one
    (which gave exit 0 and "0 failed" under the named file's header)."""
    root = make_lab(tmp_path / "lab", BUGGY)
    shadow = tmp_path / "shadow" / "minigrad"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    (shadow / "engine.py").write_text(ENGINE.replace("STEP", FIXED))
    result = run(root, "gradcheck", "--engine", "src/minigrad/engine.py", before=shadow.parent)
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED ")]
    assert failed and all("sigmoid" in line for line in failed), result.stdout


def test_tests_that_put_a_namesake_first_on_the_path_are_refused_naming_both(
    tmp_path: Path,
) -> None:
    """A conftest.py that puts a folder with another `minigrad` first on sys.path: the tests
    would test that one, so they cannot judge the engine named; exit 2 names both files."""
    root = make_lab(tmp_path / "lab", FIXED)
    other = root / "reference" / "minigrad"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")
    (other / "engine.py").write_text(ENGINE.replace("STEP", FIXED))
    (root / "tests" / "conftest.py").write_text(
        "import pathlib, sys\n"
        "sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / 'reference'))\n"
    )
    result = run(root, "mutate")
    assert result.returncode == 2, result.stdout + result.stderr
    said = " ".join(result.stderr.split())
    assert "they would test another module than the engine" in said, said
    assert f"gives {other / 'engine.py'}, not the engine's file {root / 'src'}" in said, said


class TestBreakAndConfirm:
    def test_sub_sign_explains_where_the_sign_lives(self, trial: Trial) -> None:
        """sub is `self + (-other)`: its sign lives in neg, `self * -1`; exit 2 naming the
        mutants that flip y's gradient instead."""
        result = run(trial.root, "inject", "sub-sign")
        assert result.returncode == 2, result.stdout + result.stderr
        said = result.stderr
        assert "sub has no backward step of its own" in said
        assert "`self + (-other)`" in said and "`self * -1`" in said
        assert "flip the sign of y's gradient alone" in said
        assert "run `minigrad inject " in said

    def test_inject_names_the_wrong_op_first(self, trial: Trial) -> None:
        """A bug injected into a wrong engine: the finding comes before the verdict."""
        result = run(trial.root, "inject", "sigmoid-assign")
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stdout.startswith("YOUR ENGINE IS WRONG")


class TestFinding:
    def test_round_trip(self) -> None:
        """to_json and from_json are inverses; NaN evidence becomes None."""
        f = Finding("sigmoid", "m", "sigmoid", "Value.sigmoid (e.py:3)", 3, "upstream", "x=0.5",
                    0, 0.3, math.nan, "why")  # fmt: skip
        assert f.actual is None
        assert Finding.from_json(json.loads(json.dumps(f.to_json()))) == f

    @pytest.mark.parametrize(
        ("data", "said"),
        [
            ({"case": 3}, "finding.case"),
            ({"line": "7"}, "finding.line"),
            ({"expected": "1"}, "finding.expected"),
            ({"op": ["x"]}, "finding.op"),
            ([1], "an object"),
        ],
    )
    def test_a_bad_record_is_refused(self, data: object, said: str) -> None:
        """Each wrong type is named."""
        with pytest.raises(ValueError, match=said):
            Finding.from_json(data)  # type: ignore[arg-type]


def test_an_op_that_fails_only_beside_a_wrong_op_is_not_called_wrong() -> None:
    """A wrong mul fails tanh_reuse (tanh(x) * tanh(x) + ...) whatever tanh does: tanh is
    left out of the wrong ops and named apart, as failing only cases that call mul too.  An op
    whose failing case calls only right ops (or itself alone) is wrong."""
    import io

    from minigrad_tool.findings import by_op, explained
    from minigrad_tool.report.output import Output
    from minigrad_tool.report.terminal import print_findings

    def found(case: str, op: str, *also: str) -> Finding:
        return Finding(case, f"{case} fails", op, f"Value.{op}", also=also)

    findings = [
        found("mul", "mul"),
        found("tanh_reuse", "tanh", "add", "mul"),
        found("exp_reuse", "exp", "add", "mul"),
        found("exp", "exp"),  # exp is wrong on its own too
        found("pow_reuse", "pow", "add"),  # add passes all its cases: pow is wrong
    ]
    assert wrong_ops(findings) == ["mul", "exp", "pow"]
    assert list(by_op(findings)) == ["mul", "exp", "pow"]
    assert {op: [f.case for f in fs] for op, fs in explained(findings).items()} == {
        "tanh": ["tanh_reuse"]
    }
    assert wrong_ops([found("tanh_reuse", "tanh", "add", "mul")]) == ["tanh"]
    assert Finding.from_json(json.loads(json.dumps(findings[1].to_json()))) == findings[1]
    stream = io.StringIO()
    print_findings(Output(stream), findings)
    text = stream.getvalue()
    assert "finds 3 op(s) (mul, exp, pow) wrong" in text
    assert "1 more op(s) fail only cases that call mul too" in text
    assert "tanh (tanh_reuse)" in text


def test_gradchecks_op_table_names_the_wrong_op_apart_from_those_it_drags_down(
    tmp_path: Path,
) -> None:
    """examples/student with mul's step dropping `* out.grad` for its second operand: the
    op table says FAILED for mul, and for tanh, exp, ... whose only failing cases (`*_reuse`)
    call mul too, says so, as `mutate`'s first screen does; so for div, built from mul (its
    own cases call only div, but mul's step runs for it: findings.blame_constituents)."""
    engine = (STUDENT / "engine.py").read_text()
    buggy = engine.replace("other.grad += self.data * out.grad", "other.grad += out.grad")
    assert buggy != engine
    (tmp_path / "engine.py").write_text(buggy)
    result = run(tmp_path, "gradcheck", "--engine", "engine.py")
    assert result.returncode == 1, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if "FAILED " in line}
    assert rows["mul"].endswith("FAILED 3/4"), rows["mul"]
    for op in ("tanh", "exp", "pow", "div"):  # div is self * other**-1: built from mul
        assert rows[op].endswith(", in cases that call mul too"), rows[op]
    # said first, as mutate says it, and last, above the counts, where a terminal's reader
    # starts: mul alone
    lines = result.stdout.splitlines()
    assert lines[0] == "YOUR ENGINE IS WRONG: mul (each failure below)", lines[0]
    assert lines[-2] == "wrong: mul (the ops table and each failure above)"
    mutate = run(tmp_path, "mutate", "--engine", "engine.py", "--judge", "battery", *ONE_OPERATOR)
    first = mutate.stdout.splitlines()[0]
    assert first.startswith("YOUR ENGINE IS WRONG: the battery finds 1 op(s) (mul)"), first


def test_an_op_whose_cases_fail_in_another_ops_code_is_that_ops(tmp_path: Path) -> None:
    """mul that takes no plain number (its `other = ... Value(other)` line left out): neg,
    sub, ... crash in it when called.  One op is wrong: mul, the others fail only in its code
    (findings.blame_raisers), in gradcheck's table and in mutate's first screen.  Every op's
    derivative is still checked: the battery's own numbers (`out * 2.5`) become leaves of the
    engine, where they crashed in mul and failed every case of every op (2026-12-07)."""
    engine = (STUDENT / "engine.py").read_text()
    start = engine.index("    def __mul__(self, other):")
    wrap = "        other = other if isinstance(other, Value) else Value(other)\n"
    kept = engine.index(wrap, start)
    (tmp_path / "engine.py").write_text(engine[:kept] + engine[kept + len(wrap) :])
    result = run(tmp_path, "gradcheck", "--engine", "engine.py")
    assert result.returncode == 1, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if "closure" in line}
    assert rows["mul"].endswith("FAILED __mul___runs (its own cases pass)"), rows["mul"]
    for op in ("add", "tanh", "exp"):
        assert rows[op].endswith(" ok"), rows[op]
    assert "your engine's own ops call it so: neg, sub, rsub, rmul, rdiv" in result.stdout
    assert result.stdout.splitlines()[-2] == "wrong: mul (the ops table and each failure above)"
    mutate = run(tmp_path, "mutate", "--engine", "engine.py", "--judge", "battery", *ONE_OPERATOR)
    lines = mutate.stdout.splitlines()
    assert lines[0].startswith("YOUR ENGINE IS WRONG: the battery finds 1 op(s) (mul)"), lines[0]
    assert any("neg (its call, crashing)" in line for line in lines), mutate.stdout


def test_blame_raisers_adds_the_op_whose_code_raised() -> None:
    from minigrad_tool.findings import blame_raisers

    methods = {"Value.__mul__": {"mul"}, "Value.exp": {"exp"}, "Value.__add__": {"add", "radd"}}
    findings = [
        Finding("add", "add fails", "add", raised="Value.__mul__"),
        Finding("mul", "mul fails", "mul", raised="Value.__mul__"),  # its own code
        Finding("tanh", "tanh fails", "tanh", raised="Value.exp.<locals>._backward"),
        Finding("relu", "relu fails", "relu"),  # no exception
        Finding("radd", "radd fails", "radd", raised="Value.__add__"),  # __radd__ = __add__
    ]
    found = blame_raisers(findings, methods)
    assert [f.also for f in found] == [("mul",), (), ("exp",), (), ()]


class TestAFaultOfBackwardItself:
    """backward()'s walk of the graph raising whatever op it walks (a topo sort whose cycle
    check removes a node on each visit: KeyError on a node reached twice) is blamed once, on
    backward(), not on every op whose cases reuse a node."""

    WHERE = ("Value.backward (engine.py:78)", 78)

    @staticmethod
    def raised(case: str, op: str | None, at: str) -> Finding:
        return Finding(case, f"{case}: KeyError", op, f"Value.{op}", also=("add",), raised=at)

    def test_in_the_cases_of_two_ops_it_is_backwards(self) -> None:
        findings = [
            self.raised("mul_reuse", "mul", "Value.backward.<locals>.build"),
            self.raised("tanh_reuse", "tanh", "Value.backward"),
            self.raised("paths", None, "Value.backward.<locals>.build"),  # a graph case
            self.raised("exp", "exp", "Value.exp.<locals>._backward"),  # in exp's own step
            Finding("relu", "relu: wrong gradient", "relu"),  # a check that failed
        ]
        blamed = blame_backward(findings, ["Value.backward", ""], *self.WHERE)
        assert [f.op for f in blamed] == ["backward", "backward", "backward", "exp", "relu"]
        assert blamed[0].where == self.WHERE[0] and blamed[0].line == 78 and not blamed[0].also
        assert wrong_ops(blamed) == ["backward", "exp", "relu"]
        assert Finding.from_json(json.loads(json.dumps(blamed[0].to_json()))) == blamed[0]

    def test_in_one_ops_cases_it_stays_that_ops(self) -> None:
        """The op may hand backward() what it cannot use (local derivatives of a wrong type):
        one op's cases only do not show a fault of backward()."""
        findings = [
            self.raised("exp", "exp", "Value.backward"),
            self.raised("exp_reuse", "exp", "Value.backward"),
            self.raised("paths", None, "Value.backward"),
        ]
        assert blame_backward(findings, ["Value.backward"], *self.WHERE) == findings
        other = [self.raised("a", "mul", "Value.backwards_helper"), self.raised("b", "add", "x")]
        assert blame_backward(other, ["Value.backward"], *self.WHERE) == other  # not nested

    def test_gradcheck_and_mutate_name_backward_first(self, tmp_path: Path) -> None:
        walk = (
            "        def build(v):\n"
            "            if v not in visited:\n"
            "                visited.add(v)\n"
            "                for child in v._prev:\n"
            "                    build(child)\n"
            "                topo.append(v)\n"
        )
        engine = (STUDENT / "engine.py").read_text()
        assert engine.count(walk) == 1
        checked = (
            "        active = set()\n\n"
            "        def build(v):\n"
            "            if v not in visited:\n"
            "                active.add(v)\n"
            "                visited.add(v)\n"
            "                for child in v._prev:\n"
            "                    build(child)\n"
            "            active.remove(v)  # on every visit: KeyError on the second\n"
            "            topo.append(v)\n"
        )
        (tmp_path / "engine.py").write_text(engine.replace(walk, checked))
        gradcheck = run(tmp_path, "gradcheck", "--engine", "engine.py")
        assert gradcheck.returncode == 1, gradcheck.stdout + gradcheck.stderr
        said = " ".join(gradcheck.stdout.split())
        assert "FAILED backward(): all " in said
        assert "raise in Value.backward (engine.py:" in said and "not in an op's step" in said
        add = next(line for line in gradcheck.stdout.splitlines() if line.startswith("add "))
        assert add.endswith("FAILED 1/4, raised in backward()"), add  # add_reuse, in the table
        mutate = run(
            tmp_path, "mutate", "--engine", "engine.py", "--judge", "battery", *ONE_OPERATOR
        )
        first = mutate.stdout.splitlines()[0]
        assert first.startswith("YOUR ENGINE IS WRONG: the battery finds 1 op(s) (backward)"), (
            mutate.stdout
        )

    def test_a_backward_that_wraps_what_a_step_raises_blames_the_step(self, tmp_path: Path) -> None:
        """backward() raises its own error from whatever a step raised (clumsygrad 0.2.1:
        "Error in backward pass at tensor ..."): the exception comes from the step, so the
        op is wrong, not backward(); before, two ops' steps raising made it backward's."""
        engine = (STUDENT / "engine.py").read_text()
        loop = "        for v in reversed(topo):\n            v._backward()\n"
        wrapping = (
            "        for v in reversed(topo):\n"
            "            try:\n"
            "                v._backward()\n"
            "            except Exception as err:\n"
            "                raise RuntimeError(f'backward failed at {v._op}: {err}') from err\n"
        )
        steps = {
            "self.grad += (1 - t**2) * out.grad": "self.grad += (1 - t**2) * out.gradient",
            "self.grad += out.data * out.grad": "self.grad += out.data * out.gradient",
        }
        for old, new in {loop: wrapping, **steps}.items():
            assert engine.count(old) == 1, old
            engine = engine.replace(old, new)
        (tmp_path / "engine.py").write_text(engine)
        gradcheck = run(tmp_path, "gradcheck", "--engine", "engine.py")
        assert gradcheck.returncode == 1, gradcheck.stdout + gradcheck.stderr
        first = gradcheck.stdout.splitlines()[0]
        assert first == "YOUR ENGINE IS WRONG: tanh, exp (each failure below)", gradcheck.stdout
        assert "FAILED backward()" not in gradcheck.stdout
        mutate = run(
            tmp_path, "mutate", "--engine", "engine.py", "--judge", "battery", *ONE_OPERATOR
        )
        first = mutate.stdout.splitlines()[0]
        assert first.startswith("YOUR ENGINE IS WRONG: the battery finds 2 op(s) (tanh, exp)"), (
            mutate.stdout
        )


STORED = "        self._backward = _backward\n"
Runs = tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str], Path]


@pytest.fixture(scope="module")
def stored_runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """The student's engine with exp's step stored on its input: gradcheck, and mutate with
    the op cases only, whose exp cases fail, so no passing case runs exp's mutants."""
    engine = (STUDENT / "engine.py").read_text()
    kept = engine.index("        out._backward = _backward\n", engine.index("    def exp(self):"))
    changed = engine[:kept] + STORED + engine[kept + len(STORED) - 1 :]
    root = tmp_path_factory.mktemp("stored")
    (root / "engine.py").write_text(changed)
    gradcheck = run(root, "gradcheck", "--engine", "engine.py")
    mutate = run(
        root, "mutate", "--engine", "engine.py", "--groups", "op", "--json", "r.json", "--no-cache"
    )
    return gradcheck, mutate, root


class TestAStepStoredOnTheInput:
    """exp's forward stores its step on its input (`self._backward = _backward`, NanoAutoGrad
    0.1.2): an exp used once still gets its gradient, but a second graph on the same input
    replaces the step.  The checks measure the failure; the cause, read from the source, is
    said with it, and exp's mutants are not "not covered" for want of a case."""

    def test_each_failing_case_of_exp_says_the_cause(self, stored_runs: Runs) -> None:
        gradcheck, _, root = stored_runs
        assert gradcheck.returncode == 1, gradcheck.stdout + gradcheck.stderr
        line = (root / "engine.py").read_text().splitlines().index(STORED.rstrip("\n")) + 1
        cause = (
            "  cause: Value.exp stores its backward step on its input, not on the node it "
            f"returns (engine.py:{line}: self._backward = _backward)"
        )
        blocks = gradcheck.stdout.split("\nFAILED ")[1:]
        assert {b.split("\n")[0] for b in blocks} >= {"exp", "exp_reuse"}, gradcheck.stdout
        for block in blocks:
            said = cause in block and "(out._backward = _backward)" in block
            assert said == block.startswith("exp"), block  # exp's own cases, and only they

    def test_mutate_leads_with_it_and_says_why_exp_is_not_judged(self, stored_runs: Runs) -> None:
        _, mutate, root = stored_runs
        assert mutate.returncode == 1, mutate.stdout + mutate.stderr
        lines = mutate.stdout.splitlines()
        assert lines[0].startswith("YOUR ENGINE IS WRONG: the battery finds 1 op(s) (exp)")
        assert "Value.exp stores its backward step on its input" in lines[2], lines[:3]
        report = json.loads((root / "r.json").read_text())
        found = [f for f in report["config"]["findings"] if f["op"] == "exp"]
        assert found and all(f["reason"].startswith("Value.exp stores its") for f in found)
        exp = [m for f in report["files"].values() for m in f["mutants"] if m["id"][:4] == "exp-"]
        assert exp and all(m["status"] == "NoCoverage" for m in exp)
        for m in exp:
            assert m["statusReason"].startswith("no passing case runs line "), m
            assert (
                "exp's own cases (exp, exp_reuse) fail on the unmutated engine"
                in (m["statusReason"])
            )
        assert "    exp is wrong (above): fix it first, then judge them" in lines


NEVER_RUN = {  # exp's `out._backward = _backward` becomes: (that, the cause's words)
    "forgotten": (
        "",
        "Value.exp defines its backward step, _backward (engine.py:{step}), but never stores "
        "it on the node it returns, so backward() never runs it and the op passes no gradient "
        "to its inputs; store it (out._backward = _backward, as the other ops do)",
    ),
    "misspelt": (
        "        out._backwards = _backward\n",
        "Value.exp stores its backward step in ._backwards (engine.py:{stored}: "
        "out._backwards = _backward), where the other ops store theirs in ._backward: "
        "backward() never runs it, so the op passes no gradient to its inputs",
    ),
    "called": (
        "        out._backward = _backward()\n",
        "Value.exp stores what its backward step returns, not the step (engine.py:{stored}: "
        "out._backward = _backward()): the step ran once, as the op's forward ran (its "
        "output's gradient still 0), and backward() finds None where it calls it; store the "
        "function itself (out._backward = _backward)",
    ),
}


@pytest.mark.parametrize("fault", sorted(NEVER_RUN))
def test_a_step_that_never_runs_is_named_as_the_cause(tmp_path: Path, fault: str) -> None:
    """The assignment a student forgets, misspells, or writes as a call: exp's step never runs
    in a backward pass (gradient 0, or None called).
    Its failing cases say why, with the lines and the name the other ops use; the cases of
    the other ops say nothing of it."""
    engine = (STUDENT / "engine.py").read_text()
    stored = "        out._backward = _backward\n"
    kept = engine.index(stored, engine.index("    def exp(self):"))
    instead, words = NEVER_RUN[fault]
    changed = engine[:kept] + instead + engine[kept + len(stored) :]
    (tmp_path / "engine.py").write_text(changed)
    lines = changed.splitlines()
    step = lines.index("        def _backward():", changed[:kept].count("\n") - 4) + 1
    gradcheck = run(tmp_path, "gradcheck", "--engine", "engine.py")
    assert gradcheck.returncode == 1, gradcheck.stdout + gradcheck.stderr
    cause = "  cause: " + words.format(step=step, stored=changed[:kept].count("\n") + 1)
    blocks = gradcheck.stdout.split("\nFAILED ")[1:]
    assert {b.split("\n")[0] for b in blocks} >= {"exp", "exp_reuse"}, gradcheck.stdout
    for block in blocks:
        assert (cause in block) == block.startswith("exp"), block


# backward() wrong for every op at once: no seed (every gradient 0), its steps run in
# topological order (inputs first), not reversed, or only the output's step runs (no walk):
# (what is changed, into what, the blame).
WHOLE_PASS_BUGS = {
    "no seed": ("        self.grad = 1.0\n", "", "does not set the gradient of the node it "),
    "steps in topological order": (
        "        for v in reversed(topo):\n",
        "        for v in topo:\n",
        "runs a node's backward step before the nodes that use it have given it its gradient",
    ),
    "appended before its children": (
        "                for child in v._prev:\n                    build(child)\n"
        "                topo.append(v)\n",
        "                topo.append(v)\n                for child in v._prev:\n"
        "                    build(child)\n",
        "runs a node's backward step before the nodes that use it have given it its gradient "
        "(measured with the engine's add: x + 2 gives x the gradient 1, but (x + 2) + 3 gives "
        "0): it walks the nodes in topological order, inputs first, where the pass needs the "
        "reverse, so every op's step past the first level adds nothing and every op's gradient "
        "check fails for that alone: append each node to topo after its children",
    ),
    "no walk": (
        "        for v in reversed(topo):\n            v._backward()\n",
        "        self._backward()\n",
        "runs only the backward step of the node it is called on (measured with the engine's "
        "add: x + 2 gives x the gradient 1, but in (x + 2) + 3 the inner node's step never "
        "runs, and x gets 0): it never walks the graph",
    ),
}


class TestABackwardWrongForEveryOp:
    """A backward() that forgets `self.grad = 1`, or runs the steps inputs first, gives 0 for
    every gradient past the output: one fault, measured once on the unmutated engine and
    blamed on backward(), not on every op."""

    def test_the_seed_and_the_order_are_measured(self, tmp_path: Path) -> None:
        from minigrad_tool.adapter import load_in_process
        from minigrad_tool.adapter.nodes import backward_seeds

        right = load_in_process(str(STUDENT / "engine.py"))
        assert backward_seeds(right.cls) and right.profile.backward_in_order
        for name, (old, new, _) in WHOLE_PASS_BUGS.items():
            source = (STUDENT / "engine.py").read_text()
            assert source.count(old) == 1
            path = tmp_path / f"{name.replace(' ', '_')}.py"
            path.write_text(source.replace(old, new))
            profile = load_in_process(str(path)).profile
            assert (profile.backward_seeds, profile.backward_in_order) == (
                name != "no seed",
                name == "no seed",  # no seed: add's own step looks wrong too, no order blame
            ), name
            assert profile.backward_walks == (name != "no walk"), name

        class NoChildren:  # the probe cannot be built: no blame
            def __init__(self, data: float) -> None:
                self.data, self.grad = data, 0.0

            def backward(self) -> None:
                return None

        assert backward_seeds(NoChildren)

    @pytest.mark.parametrize("bug", list(WHOLE_PASS_BUGS))
    def test_gradcheck_and_mutate_blame_backward_once(self, bug: str, tmp_path: Path) -> None:
        old, new, blame = WHOLE_PASS_BUGS[bug]
        (tmp_path / "engine.py").write_text((STUDENT / "engine.py").read_text().replace(old, new))
        gradcheck = run(tmp_path, "gradcheck", "--engine", "engine.py", "--json", "check.json")
        assert gradcheck.returncode == 1, gradcheck.stdout + gradcheck.stderr
        said = " ".join(gradcheck.stdout.split())
        assert f"FAILED backward(): Value.backward() {blame}" in said
        assert "the cases: backward_" in said  # one result of its own, first
        add = next(line for line in gradcheck.stdout.splitlines() if line.startswith("add "))
        assert add.endswith(", backward() first"), add  # the table says it too
        report = json.loads((tmp_path / "check.json").read_text())  # and the JSON
        (cause,) = report["causes"]
        assert cause["blames"] == "backward()" and cause["why"].startswith("Value.backward() ")
        (add_op,) = [op for op in report["ops"] if op["op"] == "add"]
        assert add_op["result"].endswith(", backward() first"), add_op
        argv = ["mutate", "--engine", "engine.py", "--judge", "battery", *ONE_OPERATOR]
        lines = run(tmp_path, *argv).stdout.splitlines()
        assert lines[0].startswith("YOUR ENGINE IS WRONG: the battery finds 1 op(s) (backward)")
        assert any("more op(s) fail only cases that call backward too" in line for line in lines)


# backward() sorting with a module function whose default arguments keep the first graph
REMEMBERING = (
    "        topo, visited = [], set()\n\n"
    "        def build(v):\n"
    "            if v not in visited:\n"
    "                visited.add(v)\n"
    "                for child in v._prev:\n"
    "                    build(child)\n"
    "                topo.append(v)\n\n"
    "        build(self)\n",
    "        topo = topo_sort(self)\n",
)
TOPO_SORT = """

def topo_sort(v, topo=[], visited=set()):
    if v not in visited:
        visited.add(v)
        for child in v._prev:
            topo_sort(child, topo, visited)
        topo.append(v)
    return topo
"""


def test_a_backward_that_remembers_its_first_graph_is_the_one_finding(tmp_path: Path) -> None:
    """`def topo_sort(v, topo=[], visited=set())` (a file on GitHub): its defaults are made once,
    so every pass runs the earlier graphs' steps again.  Every op read wrong ("a backward step
    overwrites (=) instead of accumulating"), and discovery mistook steps; now the pass is the
    one finding, measured, and nothing else is judged on top of it."""
    source = (STUDENT / "engine.py").read_text()
    assert source.count(REMEMBERING[0]) == 1
    (tmp_path / "engine.py").write_text(source.replace(*REMEMBERING) + TOPO_SORT)
    for command in ("gradcheck", "mutate"):
        result = run(tmp_path, command, "--engine", "engine.py")
        assert result.returncode == 1, result.stdout + result.stderr
        first = result.stdout.splitlines()[0]
        assert first.startswith(
            "YOUR ENGINE IS WRONG: Value.backward() runs the backward steps of earlier passes "
            "again (measured with the engine's +: x + 2 and its backward pass give x the "
            "gradient 1; x's gradient set back to 0, x + 3 and its backward pass give it 2, "
            "not 1)"
        ), first
        assert "a default argument `topo=[]`" in first and "Traceback" not in result.stderr


# each node's step kept in .backward, which hides the class's pass (a GitHub autograd.py)
SHADOWING = (
    ("self._backward = lambda: None", "self.backward = lambda: None"),
    ("out._backward = _backward", "out.backward = _backward"),
    ("v._backward()", "v.backward()"),
)


def _shadowed(source: str) -> str:
    for old, new in SHADOWING:
        assert old in source, old
        source = source.replace(old, new)
    return source


def test_a_step_kept_in_backward_that_hides_the_pass_is_the_one_finding(tmp_path: Path) -> None:
    """`self.backward = lambda: None` beside `def backward(self)`: x.backward() runs the node's
    step, never the pass.  It read "Value.backward() does not set the gradient of the node it
    is called on to 1", a fault of a method that never ran; now the hiding is the finding.
    Where the pass has another name, the engine is refused saying why."""
    (tmp_path / "engine.py").write_text(_shadowed((STUDENT / "engine.py").read_text()))
    result = run(tmp_path, "gradcheck", "--engine", "engine.py")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith(
        "YOUR ENGINE IS WRONG: Value(0.5) keeps its own backward step in .backward, an "
        "attribute of the node (Value.__init__.<locals>.<lambda>), which hides the class's "
        "Value.backward() method"
    ), result.stdout
    ops_only = _shadowed((STUDENT / "engine.py").read_text()).replace(
        "self.backward = lambda: None", "self._backward = lambda: None"
    )  # a leaf's backward() is the pass; an op's output hides it
    (tmp_path / "engine.py").write_text(ops_only)
    result = run(tmp_path, "gradcheck", "--engine", "engine.py")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith(
        "YOUR ENGINE IS WRONG: Value(0.5) + 2 keeps its own backward step in .backward"
    ), result.stdout
    renamed = _shadowed((STUDENT / "engine.py").read_text()).replace(
        "    def backward(self):", "    def backprop(self):"
    )
    (tmp_path / "engine.py").write_text(renamed)
    refused = run(tmp_path, "gradcheck", "--engine", "engine.py")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "minigrad calls the whole backward pass, Value.backprop() here, as x.backward()" in (
        refused.stderr
    )
    (tmp_path / "engine.py").write_text(renamed.replace("backprop(", "propagate_backward("))
    unguessed = run(tmp_path, "gradcheck", "--engine", "engine.py")  # no name minigrad aliases
    assert unguessed.returncode == 2, unguessed.stdout + unguessed.stderr
    assert "name the step otherwise (micrograd's `_backward`), then name the pass: --backward " in (
        unguessed.stderr
    ) and unguessed.stderr.rstrip().endswith("--backward propagate_backward")


class TestTruth:
    def test_gradients_are_those_of_the_maths(self) -> None:
        """sigmoid' = s(1 - s); d(xy)/dx = y; from plain math, never from an engine."""
        s = 1 / (1 + math.exp(-0.5))
        value, grads, ops = truth(lambda x: x.sigmoid(), (0.5,), {})
        assert math.isclose(value, s) and math.isclose(grads[0], s * (1 - s), rel_tol=1e-9)
        assert ops == ["sigmoid"]
        _, grads, _ = truth(lambda x, y: x * y + x.tanh(), (0.7, -1.3), {})
        assert math.isclose(grads[0], -1.3 + 1 - math.tanh(0.7) ** 2, rel_tol=1e-9)
        assert math.isclose(grads[1], 0.7, rel_tol=1e-9)

    @pytest.mark.parametrize(
        ("fn", "point"),
        [
            (lambda x: x.relu(), (0.0,)),  # a kink: no single truth
            (lambda x: x.log(), (-1.0,)),  # a domain error
            (lambda x: x.frobnicate(), (1.0,)),  # no oracle
        ],
    )
    def test_no_truth_where_none_can_be_established(self, fn: object, point: tuple[float]) -> None:
        """A kink, a domain error, an op without an oracle: NoTruth, so no test is written."""
        with pytest.raises(NoTruth):
            truth(fn, point, {})  # type: ignore[arg-type]


def test_blame_constituents_explains_gradients_not_a_wrong_forward() -> None:
    """neg built from mul (mul's step ran for it): its wrong gradient may be mul's; a wrong
    forward value of rsub built from sub (`2.0 - x` computed as x - 2.0) is its own."""
    from minigrad_tool.findings import blame_constituents

    uses = {"neg": ("mul",), "rsub": ("sub",)}
    findings = [
        Finding("neg", "neg fails", "neg", check="gradient"),
        Finding("rsub", "rsub fails", "rsub", check="forward"),
        Finding("mul", "mul fails", "mul", check="gradient"),
    ]
    found = blame_constituents(findings, uses)
    assert [f.also for f in found] == [("mul",), (), ()]


def test_an_op_with_no_place_is_blamed_by_its_name_alone() -> None:
    """An op that killed a discovery child (mdgrad 0.3's `2.0 - x`, a SIGSEGV) has no method
    and line to show: the error names it alone, not as "rsub ()"."""
    from minigrad_tool.mutation.campaign import _blame_wrong_ops
    from minigrad_tool.mutation.judging import HarnessError

    findings = [
        Finding("rsub_runs", "rsub crashes", "rsub"),
        Finding("add_same", "add fails", "add", "Tensor.__add__ (tensor.py:17)"),
    ]
    said = str(_blame_wrong_ops(HarnessError("your tests fail"), findings))
    assert "wrong in rsub, add (Tensor.__add__ (tensor.py:17)): fix rsub and add first" in said
    assert "()" not in said
