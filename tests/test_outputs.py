"""Report paths: only a new regular file, or a regular file the user named, is ever written.

Modules: minigrad_tool.reads.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from minigrad_tool.cli import main
from minigrad_tool.cli.outputs import OutputError, Outputs, write_file

ENGINES = Path(__file__).parent / "engines"


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """An engine, a test folder with a helper module, and conftest.py files above and beside."""
    (tmp_path / "eng.py").write_text((ENGINES / "microstyle.py").read_text())
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_eng.py").write_text("from helpers import one\n\ndef test_one():\n    one()\n")
    (tests / "helpers.py").write_text("def one():\n    return 1\n")
    (tests / "conftest.py").write_text("")
    (tmp_path / "conftest.py").write_text("")
    return tmp_path


def mutate(lab: Path, *args: str) -> list[str]:
    return ["mutate", "--engine", str(lab / "eng.py"), "--tests", str(lab / "tests"), *args]


def refused(argv: list[str], capsys: pytest.CaptureFixture[str], said: str) -> None:
    """Exit 2 before any work, with one line that says why."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert said in err, err
    assert "Traceback" not in err


class TestRefused:
    @pytest.mark.parametrize(
        "target",
        ["eng.py", "tests/test_eng.py", "tests/helpers.py", "tests/conftest.py", "conftest.py"],
    )
    def test_a_file_the_run_reads(
        self, lab: Path, target: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The engine, a test, a helper the tests import, any conftest.py pytest would load."""
        before = (lab / target).read_bytes()
        refused(mutate(lab, "--json", str(lab / target)), capsys, "the run reads it")
        assert (lab / target).read_bytes() == before

    def test_a_fifo(self, lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
        fifo = lab / "fifo"
        os.mkfifo(fifo)
        refused(mutate(lab, "--json", str(fifo)), capsys, "is not a regular file")
        assert stat.S_ISFIFO(fifo.lstat().st_mode)

    def test_a_socket(self, lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
        path = lab / "sock"
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
            refused(mutate(lab, "--html", str(path)), capsys, "is not a regular file")
        assert stat.S_ISSOCK(path.lstat().st_mode)

    def test_a_device(self, lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """/dev/null stays /dev/null, even for root, who could replace it."""
        refused(mutate(lab, "--json", "/dev/null"), capsys, "is not a regular file")
        assert stat.S_ISCHR(Path("/dev/null").lstat().st_mode)

    def test_a_symlink(self, lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
        target = lab / "real.json"
        target.write_text("{}")
        link = lab / "link.json"
        link.symlink_to(target)
        refused(mutate(lab, "--json", str(link)), capsys, "is a symbolic link")
        assert link.is_symlink() and target.read_text() == "{}"

    def test_two_outputs_on_one_path(self, lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
        report = str(lab / "r.out")
        refused(mutate(lab, "--json", report, "--html", report), capsys, "both name")

    def test_suggest_onto_an_existing_file(
        self, lab: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--suggest never replaces a file unless the user says --overwrite."""
        mine = lab / "test_mine.py"
        mine.write_text("# my work\n")
        refused(mutate(lab, "--suggest", str(mine)), capsys, "add --overwrite")
        assert mine.read_text() == "# my work\n"

    def test_an_input_shard_of_merge(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        shard = tmp_path / "s.json"
        shard.write_text("{}")
        refused(["merge", str(shard), "--json", str(shard)], capsys, "the run reads it")
        assert shard.read_text() == "{}"

    def test_a_missing_folder(self, lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
        refused(mutate(lab, "--json", str(lab / "no" / "r.json")), capsys, "does not exist")


class TestWritten:
    def test_the_users_umask(self, tmp_path: Path) -> None:
        """A new report gets 0666 less the umask, as any file the user makes (not 0600)."""
        old = os.umask(0o022)
        try:
            path = tmp_path / "r.json"
            write_file(path, "{}\n")
        finally:
            os.umask(old)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        assert path.read_text() == "{}\n"

    def test_a_replaced_report_keeps_its_mode(self, tmp_path: Path) -> None:
        path = tmp_path / "r.json"
        path.write_text("old")
        path.chmod(0o640)
        write_file(path, "new")
        assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_text() == "new"

    def test_a_path_that_changed_kind_meanwhile(self, tmp_path: Path) -> None:
        """Checked at the start, and again just before writing."""
        path = tmp_path / "r.json"
        outputs = Outputs.check([("--json", str(path))], [])
        os.mkfifo(path)
        with pytest.raises(OutputError, match="no longer a regular file"):
            write_file(outputs.paths["--json"], "{}")
        assert stat.S_ISFIFO(path.lstat().st_mode)
