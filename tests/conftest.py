"""Shared fixtures: `--engine PATH|MODULE` points the battery at a user's own engine."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from minigrad.engines import DEFAULT_ENGINE, Engine, load_engine

# Deterministic property tests: the same examples on every run, no example database.
settings.register_profile(
    "deterministic",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("deterministic")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine",
        default=DEFAULT_ENGINE,
        metavar="PATH|MODULE",
        help="a .py file or module with a micrograd-style Value to run the battery against",
    )


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest) -> Engine:
    return load_engine(str(request.config.getoption("--engine")))
