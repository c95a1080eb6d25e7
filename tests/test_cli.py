"""`minigrad gradcheck`: output, exit codes 0/1/2, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minigrad.cli import main
from minigrad.engines import load_engine

BROKEN_SUB = ("        other.grad -= out.grad\n", "        other.grad += out.grad\n")


@pytest.fixture
def broken_engine(tmp_path: Path) -> Path:
    """A copy of our engine with the lab's bug: sub's right operand loses its minus."""
    source = load_engine().source
    assert BROKEN_SUB[0] in source
    path = tmp_path / "broken.py"
    path.write_text(source.replace(*BROKEN_SUB))
    return path


class TestGradcheckCommand:
    def test_passes_on_our_engine(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Exit 0 and a table with every case passing."""
        assert main(["gradcheck"]) == 0
        out = capsys.readouterr().out
        assert "lab_diamond" in out
        assert "0 failed, 0 skipped" in out

    def test_fails_loudly_on_broken_copy(
        self, broken_engine: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Exit 1 with the diagnostic: case, input index, expected, actual."""
        assert main(["gradcheck", "--engine", str(broken_engine)]) == 1
        out = capsys.readouterr().out
        assert "FAILED sub" in out
        assert "input index: 1" in out
        assert "expected: -1.0" in out

    def test_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--json prints machine-readable results."""
        assert main(["gradcheck", "--json", "--fast"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["summary"] == {"pass": len(report["cases"])}

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["gradcheck", "--engine", "missing_file.py"], "engine file not found"),
            (["gradcheck", "--engine", "no_such_module_xyz"], "no module named"),
            (["gradcheck", "--eps", "0"], "eps must be"),
            (["gradcheck", "--atol", "-1"], "atol must be"),
        ],
    )
    def test_usage_errors_exit_2(
        self, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Usage errors exit 2 with a one-line message and no traceback."""
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err
        assert "Traceback" not in err

    def test_no_value_class_exits_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An engine file without Value is a usage error."""
        f = tmp_path / "e.py"
        f.write_text("X = 1\n")
        assert main(["gradcheck", "--engine", str(f)]) == 2
        assert "has no Value class" in capsys.readouterr().err

    def test_bad_flag_exits_2(self) -> None:
        """argparse's own usage errors exit 2 too."""
        with pytest.raises(SystemExit) as info:
            main(["gradcheck", "--bogus"])
        assert info.value.code == 2
