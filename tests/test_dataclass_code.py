"""The methods `@dataclass` writes, compiled once per interpreter build, then only run.

Modules: minigrad_tool.dataclass_code.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from minigrad_tool.dataclass_code import Codes, install, keep, uninstall


def _point_class() -> Any:
    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: float = 0.5
        tags: tuple[str, ...] = ()

    return Point


@pytest.fixture
def kept_in(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    assert "exec" not in vars(dataclasses)  # every test leaves dataclasses as it found them


def _installed(folder: Path) -> Codes:
    codes = install(folder)
    assert codes is not None
    return codes


def _behaviour(cls: Any) -> tuple[Any, ...]:
    point = cls(1, tags=("a",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 2
    return (
        repr(point).split(".")[-1],
        point == cls(1, 0.5, ("a",)),
        point != cls(2),
        hash(point) == hash(cls(1, tags=("a",))),
        cls.__init__.__annotations__,  # compiled with dataclasses' flags, not this module's
        cls.__match_args__,
    )


def test_a_class_defined_again_runs_the_code_kept_and_behaves_the_same(kept_in: Path) -> None:
    first = _installed(kept_in)
    try:
        made_first = _point_class()
        assert first.compiled >= 5  # __init__, __repr__, __eq__, __setattr__, __delattr__...
    finally:
        uninstall(first)
    assert first.save()
    again = _installed(kept_in)
    try:
        made_again = _point_class()
        assert again.compiled == 0  # every method's code came from the file
        assert not again.save()  # nothing new: the file is not written again
    finally:
        uninstall(again)
    plain = _point_class()
    assert _behaviour(made_first) == _behaviour(made_again) == _behaviour(plain)
    assert plain.__init__.__annotations__["x"] == "int"  # not the name of a generated local


def test_an_unreadable_file_is_no_cache_and_no_error(kept_in: Path) -> None:
    first = _installed(kept_in)
    uninstall(first)
    first.path.write_bytes(b"\x00 not marshal")
    codes = _installed(kept_in)
    try:
        assert _behaviour(_point_class()) == _behaviour(_point_class())
        assert codes.compiled >= 5
    finally:
        uninstall(codes)


def test_nothing_is_installed_without_a_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIGRAD_CACHE", "off")
    assert install() is None
    assert "exec" not in vars(dataclasses)


def test_a_forked_copy_keeps_nothing_at_exit(kept_in: Path) -> None:
    codes = _installed(kept_in)
    try:
        _point_class()
    finally:
        uninstall(codes)
    codes.owner = os.getpid() + 1  # as in a child forked after install
    codes._save_at_exit()
    assert not codes.path.exists()


def test_what_two_processes_compiled_is_kept_together(kept_in: Path) -> None:
    """The command and its host each keep what they compiled (the host with `keep`, once it
    serves): whichever writes last keeps the other's too."""
    command = _installed(kept_in)
    uninstall(command)
    host = _installed(kept_in)  # both read the file before either wrote it
    try:
        _point_class()
        assert keep()
        assert not keep()  # nothing new since
    finally:
        uninstall(host)
    command.code_of("def __create_fn__():\n def f(self): return 1\n return f")
    assert command.save()
    assert len(Codes(command.path).codes) == len(host.codes) + 1


def test_the_command_keeps_the_code_and_finds_it_the_next_time(tmp_path: Path) -> None:
    env = {**os.environ, "MINIGRAD_CACHE": str(tmp_path)}
    command = [sys.executable, "-m", "minigrad_tool", "mutate", "--help"]
    subprocess.run(command, env=env, check=True, capture_output=True)
    (kept,) = tmp_path.glob("dataclass-code-*.marshal")
    written = kept.stat().st_mtime_ns
    subprocess.run(command, env=env, check=True, capture_output=True)
    assert kept.stat().st_mtime_ns == written  # all found: nothing compiled, nothing written
    codes = Codes(kept)
    assert len(codes.codes) >= 100  # the command's own dataclasses, a few hundred methods
