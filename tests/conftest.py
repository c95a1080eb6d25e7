"""Shared fixtures, and the pytest route: `pytest tests/test_gradcheck.py --engine SPEC`.

SPEC is a .py path or a module name, with `:CLASS` when the class is not `Value`.
`--engine` points the battery at another engine.  A bad value is one usage
error before any test runs; the header names the engine under test; and the
self-tests that never use the engine are deselected, so that they are not
counted as passes of the user's engine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from minigrad.adapter import DEFAULT_ENGINE, EngineError, Loaded, load_in_process
from minigrad.battery import build_battery

ENGINE = pytest.StashKey[Loaded]()
BROKEN = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine",
        default=None,
        metavar="PATH|MODULE[:CLASS]",
        help=f"run the battery against this engine (default: {DEFAULT_ENGINE})",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Load the engine once: a bad --engine is one usage error; a broken default, failing tests."""
    chosen = config.getoption("--engine")
    try:
        config.stash[ENGINE] = load_in_process(chosen or DEFAULT_ENGINE)
    except EngineError as err:
        if chosen is not None:
            raise pytest.UsageError(f"--engine {chosen}: {err}") from None
        config.stash[BROKEN] = str(err)  # minigrad's own engine is broken: the tests say so


def _engine_line(config: pytest.Config) -> str:
    if BROKEN in config.stash:
        return f"engine under test: {DEFAULT_ENGINE} FAILED TO LOAD: {config.stash[BROKEN]}"
    loaded = config.stash[ENGINE]
    return (
        f"engine under test: {loaded.spec.text} ({loaded.spec.path}), class {loaded.cls.__name__}"
    )


def pytest_report_header(config: pytest.Config) -> str:
    return _engine_line(config)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """With --engine, the summary names the engine too: `-q` (our default) hides the header."""
    if terminalreporter.config.getoption("--engine") is not None:
        terminalreporter.write_line(_engine_line(terminalreporter.config))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --engine, only the tests that use the engine fixture run: the rest test minigrad."""
    if config.getoption("--engine") is None:
        return
    kept = [i for i in items if "engine" in getattr(i, "fixturenames", ())]
    deselected = [i for i in items if i not in kept]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "battery_case" in metafunc.fixturenames:
        if BROKEN in metafunc.config.stash:
            metafunc.parametrize("battery_case", [None], ids=["engine-failed-to-load"])
            return
        cases = build_battery(metafunc.config.stash[ENGINE].profile).cases
        metafunc.parametrize("battery_case", cases, ids=[c.name for c in cases])


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest) -> Loaded:
    """The engine under test: ours, or the one --engine names."""
    if BROKEN in request.config.stash:
        pytest.fail(f"{DEFAULT_ENGINE} failed to load: {request.config.stash[BROKEN]}")
    return request.config.stash[ENGINE]


@pytest.fixture
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    """Run the test from an empty folder, so that nothing it writes lands in the checkout."""
    old = Path.cwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(old)
