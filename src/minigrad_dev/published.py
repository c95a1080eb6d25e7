"""Venvs as users have them, and published engines with their authors' tests, for the
benchmarks that time a plain pytest run, or mutmut judged by your tests, beside a campaign.

Both sides of such a row run the python of a venv holding pytest (this environment's
version), minigrad's wheel built from this checkout and what the tests need (mutmut for its
rows), nothing else, compiled to bytecode: in this repository's own venv, hypothesis's pytest
plugin imports hypothesis at the end of every plain run (0.55 s on this machine), and with
$PYTHONDONTWRITEBYTECODE set a plain run compiles pytest (0.2 s), neither of which a campaign
pays, so the plain run there is no user's.

A published engine's sdist (the wheels hold no tests) is downloaded from the package
registry and unpacked.  The first venv with torch installs it (about two minutes); later
ones link it from uv's cache in about a second.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PUBLISHED",
    "PUBLISHED_NEEDS",
    "Published",
    "PublishedError",
    "fetch",
    "unpack",
    "venv_python",
]

# What the published engines' tests need beside pytest (pinned): scalargrad's addopts name
# pytest-cov's options, micrograd's tests compare with torch.
PUBLISHED_NEEDS = ("pytest-cov==7.1.0", "torch==2.15.0")


@dataclass(frozen=True)
class Published:
    """A published engine: its distribution, the engine and test folder inside its sdist."""

    dist: str
    version: str
    engine: str  # --engine, relative to the unpacked sdist
    tests: str

    @property
    def requirement(self) -> str:
        return f"{self.dist}=={self.version}"


PUBLISHED = (
    Published("backprop-lib", "0.1.0", "backprop/engine.py", "test"),
    Published("scalargrad", "1.0.5", "scalargrad/core.py:Scalar", "tests"),
    Published("micrograd", "0.1.0", "micrograd/engine.py", "test"),
)


class PublishedError(Exception):
    """A venv or a published suite could not be set up (no uv, no registry, an sdist without
    its tests)."""


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        raise PublishedError("uv is not on PATH")
    return uv


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise PublishedError(f"{what} failed: {' '.join(tail) or f'exit {done.returncode}'}")


def fetch(engine: Published, folder: Path) -> Path:
    """The engine's sdist, downloaded and unpacked in `folder`: its project folder."""
    download = [_uv(), "run", "--no-project", "--with", "pip", "python", "-m", "pip"]
    download += ["download", "-q", "--no-binary", ":all:", "--no-deps", engine.requirement]
    _run([*download, "-d", str(folder)], f"downloading {engine.requirement}'s sdist")
    return unpack(engine, folder)


def unpack(engine: Published, folder: Path) -> Path:
    """The one sdist in `folder`, unpacked in `folder`/unpacked: its project folder, which
    must hold the engine's test folder."""
    archives = sorted(folder.glob("*.tar.gz"))
    if len(archives) != 1:
        raise PublishedError(f"expected one sdist of {engine.requirement}, found {len(archives)}")
    if not hasattr(tarfile, "data_filter"):  # before Python 3.11.4: no safe extraction
        raise PublishedError("unpacking an sdist safely needs Python 3.11.4 or later")
    with tarfile.open(archives[0]) as archive:
        archive.extractall(folder / "unpacked", filter="data")
    projects = [p for p in (folder / "unpacked").iterdir() if p.is_dir()]
    if len(projects) != 1 or not (projects[0] / engine.tests).is_dir():
        raise PublishedError(f"{engine.requirement}'s sdist has no {engine.tests}/ folder")
    return projects[0]


def venv_python(root: Path, venv: Path, needs: tuple[str, ...] = ()) -> Path:
    """A venv at `venv` with pytest (this environment's version), minigrad's wheel built from
    the checkout at `root` and `needs`, nothing else: its python."""
    import pytest

    _run([_uv(), "venv", "-q", "--python", sys.executable, str(venv)], "making a venv")
    python = venv / "bin" / "python"
    # minigrad as users install it (`uv add --dev PATH`): the wheel, the tool alone; an
    # editable install would put the lab's package, src/minigrad, on every path too.
    needs = (f"pytest=={pytest.__version__}", *needs, str(root))
    # Compiled at install, as a user's imports leave them: where $PYTHONDONTWRITEBYTECODE is
    # set (this machine), a plain run would otherwise compile pytest each time (0.2 s of
    # 0.4), which a campaign never does (minigrad keeps bytecode in its cache folder).
    install = [_uv(), "pip", "install", "-q", "--compile-bytecode", "--python", str(python)]
    _run([*install, *needs], "installing")
    return python
