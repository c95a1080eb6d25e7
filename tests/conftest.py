"""Shared fixtures: our own engine, loaded once, and an empty folder to run in.

The battery's cases run here on our engine in this process: these are the
repository's own tests.  The tool itself never does that (`pytest
--minigrad-engine SPEC`, its plugin, runs each case in a child).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from minigrad_tool.adapter import Loaded, load_in_process
from minigrad_tool.battery import build_battery

ROOT = Path(__file__).resolve().parents[1]
# Every campaign here judges in full and keeps nothing in the user's cache folder; the tests of
# the result cache (test_cache.py) point it at a folder of their own.
os.environ["MINIGRAD_RESULTS"] = "off"
OUR_ENGINE = str(ROOT / "src" / "minigrad" / "engine.py")


@pytest.fixture(scope="session")
def engine() -> Loaded:
    """Our engine, src/minigrad/engine.py, as the adapter sees it."""
    return _our_engine()


_loaded: list[Loaded] = []


def _our_engine() -> Loaded:
    if not _loaded:
        _loaded.append(load_in_process(OUR_ENGINE))
    return _loaded[0]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "battery_case" in metafunc.fixturenames:
        cases = build_battery(_our_engine().profile).cases
        metafunc.parametrize("battery_case", cases, ids=[c.name for c in cases])


@pytest.fixture(scope="session", autouse=True)
def _outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test runs from an empty folder: nothing it writes lands in the checkout, and the
    command never picks up this repository's own [tool.minigrad] settings unless a test asks."""
    old = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(old)


@pytest.fixture
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    """Run the test from an empty folder, so that nothing it writes lands in the checkout."""
    old = Path.cwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(old)
