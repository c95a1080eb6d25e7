"""The eps sweep (a development tool): both error regimes, the optimum, the plot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from minigrad_dev.eps_sweep import FUNCTIONS, OPTIMUM, eps_grid, slope, sweep

ROOT = Path(__file__).resolve().parents[1]


def test_both_regimes() -> None:
    """Truncation gives slope 2 at large eps; cancellation about -1 at tiny eps."""
    result = sweep(FUNCTIONS[:3])
    for errors in result.errors.values():
        assert slope(result.eps, errors, 1e-3, 1e-1) == pytest.approx(2.0, abs=0.1)
        assert -1.6 < slope(result.eps, errors, 1e-14, 1e-9) < -0.6


def test_default_eps_near_optimum() -> None:
    """The default eps sits near (3 macheps)^(1/3), where the error is smallest."""
    assert pytest.approx(8.7e-6, rel=0.01) == OPTIMUM
    result = sweep(FUNCTIONS[:1])
    errors = result.errors[FUNCTIONS[0].label]
    best = result.eps[errors.index(min(errors))]
    assert 1e-7 <= best <= 1e-4


def test_grid_and_table() -> None:
    """The grid spans 1e-1 to 1e-14; the table marks the default."""
    grid = eps_grid()
    assert grid[0] == pytest.approx(1e-1) and grid[-1] == pytest.approx(1e-14)
    assert len(grid) == 27
    table = sweep(FUNCTIONS[:1], [1e-3, 1e-5]).table()
    assert "1.0e-05" in table and "<- default" in table


def test_slope_needs_points() -> None:
    """A fit over fewer than two points is an error."""
    with pytest.raises(ValueError, match="need two or more eps"):
        slope([1e-3], [1e-7], 1e-4, 1e-2)


@pytest.mark.e2e
@pytest.mark.slow
def test_script_writes_png(tmp_path: Path) -> None:
    """scripts/eps_sweep.py prints the table and writes a PNG."""
    out = tmp_path / "eps.png"
    proc = subprocess.run(
        [sys.executable, "scripts/eps_sweep.py", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "truncation +2.00" in proc.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
