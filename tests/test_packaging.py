"""What `pip install` or `uv add` of this repository gives another project: the tool alone."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.campaign


@pytest.mark.skipif(shutil.which("uv") is None, reason="builds the wheel with uv")
def test_the_wheel_holds_the_tool_and_never_a_minigrad_package(tmp_path: Path) -> None:
    """Installed beside a project whose package is `minigrad`, nothing can shadow it."""
    subprocess.run(
        ["uv", "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("*.whl")
    assert wheel.name.startswith("minigrad_tool-")
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.split("/")[0] for name in names if not name.split("/")[0].endswith("info")}
    assert packages == {"minigrad_tool"}
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "minigrad = minigrad_tool._entry:main" in text
    assert "minigrad-tool = minigrad_tool._entry:main" in text
    assert "[pytest11]\nminigrad = minigrad_tool.pytest_plugin" in text
