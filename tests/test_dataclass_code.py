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

from minigrad_tool.dataclass_code import MOST_KEPT, Codes, install, keep, take_role, uninstall

# Texts dataclasses compiles for a frozen class: one per method (__init__, __repr__, __eq__,
# __setattr__, __delattr__, __hash__) up to CPython 3.12; from 3.13 one text holds them all.
TEXTS_PER_FROZEN_CLASS = 1 if sys.version_info >= (3, 13) else 5
# Texts the command's own imports compile (`mutate --help`): 297 on 3.11 and 3.12, 58 on 3.13.
COMMAND_TEXTS = 50 if sys.version_info >= (3, 13) else 100


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
        assert first.compiled >= TEXTS_PER_FROZEN_CLASS
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
        assert codes.compiled >= TEXTS_PER_FROZEN_CLASS
    finally:
        uninstall(codes)


def test_nothing_is_installed_without_a_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIGRAD_CACHE", "off")
    assert install() is None
    assert "exec" not in vars(dataclasses)


def test_a_forked_copy_keeps_nothing(kept_in: Path) -> None:
    codes = _installed(kept_in)
    try:
        _point_class()
    finally:
        uninstall(codes)
    codes.owner = os.getpid() + 1  # as in a child forked after install
    assert not codes.save()
    assert not codes.path.exists()


def _source(name: str) -> str:
    return f"def __create_fn__():\n def {name}(self): return 1\n return {name}"


def test_each_role_keeps_what_it_ran_in_its_own_file(kept_in: Path) -> None:
    """The command keeps what it ran; a host that takes a role keeps what it ran from then on
    in that role's file (pytest's methods in your tests' host), not what it inherited; two
    processes of one role keep each other's."""
    codes = _installed(kept_in)
    try:
        codes.code_of(_source("command_method"))
        take_role("tests")  # as your tests' host does, forked from the command
        codes.code_of(_source("pytest_method"))
        assert keep()
        assert not keep()  # nothing new since
    finally:
        uninstall(codes)
    tests_file = codes.path
    assert list(Codes(kept_in, "tests").codes) == [_source("pytest_method")]
    other = Codes(kept_in, "tests")  # another host of the role, which read the file before
    other.code_of(_source("conftest_method"))
    assert other.save()
    assert len(Codes(kept_in, "tests").codes) == 2
    assert tests_file.name.endswith("-tests.marshal")
    assert not Codes(kept_in, "command").codes  # the command's process never saved here


def test_a_file_past_its_size_starts_again_with_what_one_process_ran(
    kept_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(MOST_KEPT, "tests", 3)
    first = Codes(kept_in, "tests")
    for name in ("a", "b", "c"):
        first.code_of(_source(name))
    assert first.save()
    second = Codes(kept_in, "tests")
    second.code_of(_source("d"))
    assert second.save()
    assert list(Codes(kept_in, "tests").codes) == [_source("d")]


def test_the_command_keeps_the_code_and_finds_it_the_next_time(tmp_path: Path) -> None:
    env = {**os.environ, "MINIGRAD_CACHE": str(tmp_path)}
    command = [sys.executable, "-m", "minigrad_tool", "mutate", "--help"]
    subprocess.run(command, env=env, check=True, capture_output=True)
    (kept,) = tmp_path.glob("dataclass-code-*.marshal")
    assert kept.name.endswith("-command.marshal")
    written = kept.stat().st_mtime_ns
    subprocess.run(command, env=env, check=True, capture_output=True)
    assert kept.stat().st_mtime_ns == written  # all found: nothing compiled, nothing written
    assert len(Codes(tmp_path, "command").codes) >= COMMAND_TEXTS  # the command's dataclasses
