"""`minigrad gradcheck` and `minigrad inspect`: exit codes, output, and hostile engines.

Modules: minigrad_tool.cli.arguments, minigrad_tool.cli.check_commands,
minigrad_tool.cli.common, minigrad_tool.cli.mutation_commands, minigrad_tool.report.check,
minigrad_tool.bytecode.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from minigrad_tool.cli import main

ENGINES = Path(__file__).parent / "engines"
MICRO = (ENGINES / "microstyle.py").read_text()
OURS = str(Path(__file__).parents[1] / "src" / "minigrad" / "engine.py")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(tmp_path: Path, body: str, name: str = "eng.py") -> str:
    path = tmp_path / name
    path.write_text(body)
    return str(path)


class TestGradcheckCommand:
    def test_passes_on_our_engine(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Exit 0: every op listed with how it was checked, precision and tolerances stated."""
        code, out, _ = run(["gradcheck", "--engine", "minigrad.engine"], capsys)
        assert code == 0
        assert "engine minigrad.engine" in out and "class Value, children in ._prev" in out
        assert "precision float64" in out and "eps 1e-05, atol 0.0001, rtol 0.001" in out
        assert "forward vs plain math; relu, relu_reuse, relu_kink, relu_kink_mid" in out
        assert out.rstrip().endswith("0 failed, 0 skipped")

    def test_names_the_bug(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Exit 1, and the failure names the op, its file and line, and the input."""
        code, out, _ = run(["gradcheck", "--engine", str(ENGINES / "buggy_ops.py")], capsys)
        assert code == 1
        assert "FAILED abs" in out
        assert "the backward of Value.__abs__ (buggy_ops.py:" in out
        assert "the backward of Value.logcosh (buggy_ops.py:" in out and "at x=0.3" in out

    def test_float32_engine(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A float32 engine passes at tolerances scaled to its precision, which are stated."""
        code, out, _ = run(["gradcheck", "--engine", str(ENGINES / "float32.py")], capsys)
        assert code == 0
        assert "precision float32 (machine epsilon 1.19e-07, measured)" in out

    def test_rtol_governs_the_forward_check(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--rtol and --atol loosen the forward comparison too, and are printed."""
        args = [
            "gradcheck",
            "--engine",
            str(ENGINES / "float32.py"),
            "--rtol",
            "0.5",
            "--atol",
            "0.5",
        ]
        code, out, _ = run(args, capsys)
        assert code == 0
        assert "forward values: rtol 0.5, atol 0.5" in out

    def test_kink_convention_is_a_note(self, capsys: pytest.CaptureFixture[str]) -> None:
        """relu'(0) = 1: exit 0 with the note, in words."""
        code, out, _ = run(["gradcheck", "--engine", str(ENGINES / "relu_one.py")], capsys)
        assert code == 0
        assert "not the usual convention relu'(0) = 0 (PyTorch, JAX, micrograd)" in out

    def test_json_is_clean_even_if_the_engine_prints(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--json prints JSON only: what the engine prints on import goes nowhere."""
        path = write(tmp_path, "print('hello from the engine')\n" + MICRO)
        code, out, _ = run(["gradcheck", "--json", "--engine", path], capsys)
        assert code == 0
        report = json.loads(out)
        assert report["summary"]["pass"] > 10 and "fail" not in report["summary"]
        assert {op["op"] for op in report["ops"]} >= {"add", "mul", "relu"}

    def test_json_with_a_path_writes_it_as_mutate_does(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`--json PATH` (as `mutate --json PATH`, which users type for gradcheck too; it was
        an argparse error): the JSON goes to the file, the usual report to stdout; a path
        onto the engine is refused before any work (exit 2)."""
        path = write(tmp_path, MICRO)
        report = tmp_path / "check.json"
        code, out, _ = run(["gradcheck", "--engine", path, "--json", str(report)], capsys)
        assert code == 0 and f"wrote {report}" in out and "passed, 0 failed" in out
        assert json.loads(report.read_text())["summary"]["pass"] > 10
        before = Path(path).read_bytes()
        code, _, err = run(["gradcheck", "--engine", path, "--json", path], capsys)
        assert code == 2 and "refusing to write --json onto" in err
        assert Path(path).read_bytes() == before

    def test_nothing_checked_fails(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A Value with no ops: no case can run, and that is a failure, not a pass."""
        body = (
            "class Value:\n"
            "    def __init__(self, data): self.data, self.grad = data, 0.0\n"
            "    def backward(self): self.grad = 1.0\n"
        )
        code, out, _ = run(["gradcheck", "--engine", write(tmp_path, body)], capsys)
        assert code == 1
        assert "FAILED: nothing was checked" in out

    def test_piped_output_has_no_padding(self, capsys: pytest.CaptureFixture[str]) -> None:
        """When piped, no line ends in spaces and there are no box-drawing tables."""
        _, out, _ = run(["gradcheck", "--engine", str(ENGINES / "microstyle.py")], capsys)
        assert all(line == line.rstrip() for line in out.splitlines())
        assert "┃" not in out and "│" not in out


class TestUsageErrors:
    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["gradcheck", "--engine", "missing_file.py"], "engine file not found"),
            (["gradcheck", "--engine", "no_such_module_xyz"], "no module named"),
            (["gradcheck", "--engine", OURS, "--eps", "0"], "eps must be"),
            (["gradcheck", "--engine", OURS, "--eps", "1e-300"], "--eps 1e-300 is too small"),
            (["gradcheck"], "no engine named: pass --engine"),
            (["mutate"], "no engine named: pass --engine"),
            (["inject", "sub-sign"], "no engine named: pass --engine"),
        ],
    )
    def test_exit_2_with_one_line(
        self, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Usage errors exit 2 with a message and no traceback."""
        code, _, err = run(argv, capsys)
        assert code == 2
        assert message in err
        assert "Traceback" not in err

    @pytest.mark.parametrize(
        "argv",
        [
            ["gradcheck", "--atol", "-1"],
            ["gradcheck", "--rtol", "nan"],
            ["gradcheck", "--timeout", "0"],
            ["gradcheck", "--timeout", "1e10"],
            ["gradcheck", "--timeout", "nan"],
            ["gradcheck", "--memory", "10"],
            ["gradcheck", "--bogus"],
        ],
    )
    def test_bad_values_exit_2(self, argv: list[str]) -> None:
        """argparse refuses nonsense numbers: exit 2."""
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--atol", "inf"], "argument --atol: expected a finite number, got 'inf'"),
            (["--atol", "-1"], "argument --atol: expected a number >= 0, got '-1'"),
            (["--eps", "2"], "argument --eps: expected a number in [0, 1], got '2'"),
        ],
    )
    def test_a_bad_number_is_named_for_what_it_is(
        self, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`--atol inf` read "expected a number in [0, inf]"."""
        with pytest.raises(SystemExit):
            main(["gradcheck", *argv])
        assert message in capsys.readouterr().err


HOSTILE = {
    "sys.exit at import": ("import sys\nsys.exit(0)\n", "the engine called sys.exit(0)"),
    "os._exit at import": (
        "import os\nos._exit(0)\n",
        "the engine exited with status 0 during importing the engine",
    ),
    "segfault at import": (
        "import ctypes\nctypes.string_at(0)\n",
        "the engine died with SIGSEGV during importing the engine",
    ),
    "hang at import": (
        "while True:\n    pass\n",
        "no answer within 2 s during importing the engine",
    ),
    "memory at import": (
        "hoard = []\nwhile True:\n    hoard.append(bytearray(64 << 20))\n",
        "exceeded the memory limit of 256 MiB",
    ),
}

RELU_STEP = "            self.grad += (out.data > 0) * out.grad"
# An op whose code kills the process: the op is broken (exit 1), the others are still checked.
KILLED_IN_AN_OP = {
    "exit": ("            import os\n            os._exit(0)", "exited with status 0"),
    "hang": ("            while True:\n                pass", "no answer within 2 s"),
    "segfault": ("            import ctypes\n            ctypes.string_at(0)", "SIGSEGV"),
    "memory": (
        "            hoard = []\n            while True:\n"
        "                hoard.append(bytearray(64 << 20))",
        "MemoryError",  # at 256 MiB the engine's own loop raises it: a failure in relu
    ),
}


class TestHostileEngines:
    @pytest.mark.e2e
    @pytest.mark.parametrize("name", list(HOSTILE))
    def test_named_and_exit_2(
        self, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Engine code that exits, hangs, crashes or eats memory: exit 2 saying what happened."""
        body, message = HOSTILE[name]
        path = write(tmp_path, body)
        code, _, err = run(
            ["gradcheck", "--engine", path, "--timeout", "2", "--memory", "256"], capsys
        )
        assert code == 2
        assert message in err
        assert "Traceback" not in err
        assert not (tmp_path / "__pycache__").exists()

    @pytest.mark.e2e
    @pytest.mark.parametrize("how", list(KILLED_IN_AN_OP))
    def test_an_op_that_kills_the_process_is_a_failure(
        self, how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """relu's backward exits, hangs, segfaults or eats memory: discovery goes on without
        it (or the case catches the MemoryError), relu is a failure that says what happened
        (exit 1), and add and mul pass."""
        step, said = KILLED_IN_AN_OP[how]
        body = MICRO.replace(RELU_STEP, step)
        assert body != MICRO
        code, out, err = run(
            ["gradcheck", "--engine", write(tmp_path, body), "--timeout", "2", "--memory", "256"],
            capsys,
        )
        assert code == 1, err
        failures = out.split("\nFAILED ", 1)[1]
        assert failures.startswith("relu") and said in failures.splitlines()[1]
        assert re.search(r"^add +op +pass", out, re.M) and re.search(r"^mul +op +pass", out, re.M)
        if how != "memory":  # cases that need relu say why they did not run
            assert "not run: lab_relu: relu crashed in the engine's code (see relu_runs)" in out
        assert "Traceback" not in out + err

    def test_an_engine_whose_every_op_kills_the_process_gets_no_verdict(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """add and mul exit in backward, so every op built from them does too: after a few
        such ops discovery stops, and says which (exit 2, no verdict on what is left)."""
        body = MICRO.replace(
            "            self.grad += out.grad\n            other.grad += out.grad",
            "            import os\n            os._exit(0)",
        ).replace(
            "            self.grad += other.data * out.grad\n",
            "            import os\n            os._exit(0)\n",
        )
        assert body.count("os._exit(0)") == 2
        code, _, err = run(["gradcheck", "--engine", write(tmp_path, body)], capsys)
        assert code == 2
        assert "the engine exited with status 0" in err and "(so did calling __add__" in err

    def test_an_add_that_kills_the_process_is_set_aside_not_the_whole_engine(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """add's forward exits: add is set aside and the other ops are checked.  The measures
        of the whole pass call x + 2 in phases that name add (a version of them called it
        while the node class was found, and the engine "could not be loaded")."""
        body = MICRO.replace(
            "    def __add__(self, other):\n",
            "    def __add__(self, other):\n        import os\n        os._exit(0)\n",
            1,
        )
        assert body.count("os._exit(0)") == 1
        code, out, err = run(["gradcheck", "--engine", write(tmp_path, body)], capsys)
        assert code == 1, out + err  # add's crash fails its cases; the others ran
        assert "could not be loaded" not in err
        assert re.search(r"^mul +op +pass", out, re.M) and "FAILED __add___runs" in out
        assert "the op Value.__add__ crashes in the engine's code: the engine exited" in out

    def test_markup_in_paths_and_messages_is_printed_as_is(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A path like x[red].py and an error text with brackets are not read as markup."""
        path = write(tmp_path, "raise ValueError('shape [/] mismatch [red]')\n", "x[red].py")
        code, _, err = run(["gradcheck", "--engine", path], capsys)
        assert code == 2
        assert "x[red].py" in err and "shape [/] mismatch [red]" in err

    def test_a_syntax_error_points_at_the_engine(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The file, the line and its text: not a frame inside minigrad."""
        path = write(tmp_path, "import math\n\ndef f(:\n    pass\n")
        code, _, err = run(["gradcheck", "--engine", path], capsys)
        assert code == 2
        assert f"{path}:3: syntax error in the engine" in err and "def f(:" in err
        assert "minigrad_tool" not in err and "Traceback" not in err

    def test_no_node_class_says_so_without_minigrad_internals(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = write(tmp_path, "class Thing:\n    pass\n")
        code, _, err = run(["gradcheck", "--engine", path], capsys)
        assert code == 2
        assert "has no Value class" in err
        assert "minigrad_tool" not in err and "EngineError" not in err

    def test_a_tensor_engine_gets_no_verdict(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Nodes that hold arrays: exit 2, never a pass on the scalar cases alone."""
        body = MICRO.replace(
            "        self.data = data\n",
            "        import numpy\n        self.data = numpy.asarray(data)\n",
        )
        assert body != MICRO
        code, out, err = run(["gradcheck", "--engine", write(tmp_path, body)], capsys)
        assert code == 2
        assert "is a tensor engine minigrad cannot check: it has no sum() method" in err
        assert "passed" not in out

    def test_latin1_engine(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A PEP 263 latin-1 engine loads and is checked."""
        path = tmp_path / "latin.py"
        path.write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + MICRO.encode())
        code, _, _ = run(["gradcheck", "--engine", str(path)], capsys)
        assert code == 0


class TestInspect:
    def test_lists_ops_steps_and_mutants(self, capsys: pytest.CaptureFixture[str]) -> None:
        """inspect names the class, children, precision, and each op's step and mutants."""
        code, out, _ = run(["inspect", "--engine", str(ENGINES / "local_grads.py")], capsys)
        assert code == 0
        assert "class Value, children in ._children" in out
        assert "local-grads" in out
        assert "backward()" in out
        line = next(line for line in out.splitlines() if line.startswith("mul "))
        assert "sign" in line and "swap" in line

    def test_unchecked_and_unmutated_are_named(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An op that cannot be called on scalars is listed, never silently skipped."""
        body = MICRO.replace(
            "    def __neg__(self):",
            "    def __matmul__(self, other):\n"
            "        raise ValueError('matmul needs 2-d data')\n\n"
            "    def __neg__(self):",
        )
        code, out, _ = run(["inspect", "--engine", write(tmp_path, body)], capsys)
        assert code == 0
        assert (
            "not an op here: Value.__matmul__: x @ y raised ValueError: matmul needs 2-d data"
            in out
        )

    def test_a_step_nothing_calls_is_said_and_its_mutants_count(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A binary function of the engine's module with a wrong step (`hypot(a, b)`, which no
        case calls): gradcheck and inspect say it is not checked, and mutate counts its
        mutants as not covered, so the battery's score is no 100% (before: 100%, exit 0, and
        hypot said nowhere)."""
        hypot = (
            "\n\ndef hypot(a, b):\n"
            "    out = Value(math.hypot(a.data, b.data), (a, b))\n\n"
            "    def _backward():\n"
            "        a.grad += a.data / out.data * out.grad\n"
            "        b.grad += a.data / out.data * out.grad  # wrong: b.data\n\n"
            "    out._backward = _backward\n"
            "    return out\n"
        )
        engine = write(tmp_path, "import math\n" + MICRO + hypot, "engine.py")
        said = "not checked: engine.hypot: holds a backward step (line "
        for command in ("gradcheck", "inspect"):
            code, out, _ = run([command, "--engine", engine], capsys)
            assert code == 0 and said in out, out  # what is checked passes; hypot is said
        args = ["mutate", "--engine", engine, "--judge", "battery", "--operators", "sign"]
        code, out, _ = run([*args, "--no-cache"], capsys)
        assert code == 1, out
        assert re.search(r"not covered \(\d+\)", out) and "hypot (line " in out, out
        assert re.search(r"mutation score: \S+ \(\d+ killed, 0 survived, 2 not covered", out), out


class TestTheCommand:
    def test_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--version prints the version."""
        with pytest.raises(SystemExit) as info:
            main(["--version"])
        assert info.value.code == 0
        assert capsys.readouterr().out.startswith("minigrad 0.")

    @pytest.mark.parametrize(
        ("command", "summary"),
        [
            ("gradcheck", "run the gradcheck battery on an engine."),
            ("inspect", "show what minigrad finds in an engine."),
            ("mutate", "mutate every backward step and prove the judge kills each mutant."),
            ("inject", "inject one named bug and watch your tests catch it."),
            ("merge", "combine the JSON reports of --shard runs into one report and one score."),
        ],
    )
    def test_help_describes_and_shows_defaults(
        self, command: str, summary: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each subcommand's help has a description and shows its defaults."""
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert summary in out
        assert "(default: 100.0)" in out if command in ("mutate", "merge") else True
        if command != "merge":
            assert "[tool.minigrad] of pyproject.toml" in out  # where the engine may be named
        assert "(default: None)" not in out and ") (default:" not in out  # each shown once

    def test_ctrl_c_exits_130_with_one_line(self, tmp_path: Path) -> None:
        """Ctrl-C: exit 130, one line, no traceback, no child left behind."""
        marker = tmp_path / "importing"
        body = (
            f"import time\nopen({str(marker)!r}, 'w').close()\nwhile True:\n    time.sleep(0.1)\n"
        )
        path = write(tmp_path, body)
        proc = subprocess.Popen(
            [sys.executable, "-m", "minigrad_tool", "gradcheck", "--engine", path],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "MINIGRAD_WRITABLE": str(tmp_path)},  # where its marker goes
        )
        while not marker.exists() and proc.poll() is None:  # wait until a child runs the engine
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130
        assert err.strip().count("\n") == 0
        assert "interrupted" in err and "Traceback" not in err
