"""The README's examples work as written: Python blocks run, commands parse, settings load."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from minigrad_tool.cli.config import Config, find_config
from minigrad_tool.cli.parser import build_parser

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def command_lines() -> list[list[str]]:
    """Every `minigrad ...` command of the shell blocks, as its arguments (synopses skipped)."""
    found = []
    for block in blocks("sh"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if "minigrad" not in words or "[" in line:
                continue
            found.append(words[words.index("minigrad") + 1 :])
    return found


def test_there_are_examples() -> None:
    assert len(blocks("python")) >= 4 and len(command_lines()) >= 10 and blocks("toml")


@pytest.mark.parametrize("code", blocks("python"), ids=lambda c: c.splitlines()[0][:40])
def test_python_block_runs(code: str, tmp_path: Path) -> None:
    """Each block, alone, in a fresh interpreter of this project's environment."""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("argv", command_lines(), ids=" ".join)
def test_command_parses(argv: list[str]) -> None:
    """Every flag and subcommand the README shows exists, with values the command accepts."""
    args = build_parser(Config(), lambda name: lambda *_: 0).parse_args(argv)
    assert callable(args.run)


def test_settings_block_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The [tool.minigrad] example is accepted as it is written."""
    (tmp_path / "pyproject.toml").write_text(blocks("toml")[0])
    monkeypatch.chdir(tmp_path)
    assert find_config().values["engine"] == "src/minigrad/engine.py"
