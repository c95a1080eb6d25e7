"""Installed code inside a user's folder: a project's `.venv` (uv's default place for it), a
`venv/` or `env/` made by `python -m venv`, a site-packages.

Where a folder counts as the user's (the folder of a lone `engine.py`, or of the tests: in a
flat project, both are its root), what is installed below it is not theirs: pytest, the
engine's dependencies and minigrad itself are neither the engine's code nor the tests'.
"""

from __future__ import annotations

import functools
import os
import site
import sys
from collections.abc import Collection, Iterable
from pathlib import Path

__all__ = ["UserFolders", "installed_below", "source_files"]

# The folders no walk of a user's folder enters (beside hidden ones and environments): those
# pytest's `norecursedirs` leaves out by default, and caches.
SKIPPED = frozenset({"__pycache__", "node_modules", "site-packages", "dist-packages", "venv"})


@functools.cache
def _installed() -> tuple[str, ...]:
    """The interpreter's prefixes (a virtual environment's root among them) and every folder of
    installed packages it knows, each as written and with its links followed, ending in a
    separator."""
    folders = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    folders.update(site.getsitepackages())
    folders.add(site.getusersitepackages())
    folders.update(p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages"))
    found = {os.path.join(f, "") for f in folders if f}
    found |= {os.path.join(os.path.realpath(f), "") for f in folders if f}
    return tuple(sorted(found))


def installed_below(folders: Iterable[str]) -> tuple[str, ...]:
    """The folders of installed code strictly inside one of `folders`: what code in `folders`
    is not the user's.  Empty where `folders` are themselves installed code (an engine
    installed into site-packages: its package folder is all its own)."""
    mine = [os.path.join(f, "") for f in folders if f]
    mine += [os.path.join(os.path.realpath(f), "") for f in mine]
    return tuple(p for p in _installed() if any(p.startswith(f) and p != f for f in mine))


class UserFolders:
    """Folders of a user's code (an engine's package, the tests' folders), less the installed
    code below them: `holds(file)` says whether a file is theirs."""

    def __init__(self, folders: Iterable[str]) -> None:
        self.prefixes = tuple(os.path.join(f, "") for f in folders if f)
        self.installed = installed_below(self.prefixes)

    def holds(self, file: str) -> bool:
        return file.startswith(self.prefixes) and not file.startswith(self.installed)


def _is_environment(folder: Path) -> bool:
    """Is this folder a Python environment (`pyvenv.cfg` at its root)?"""
    return (folder / "pyvenv.cfg").is_file()


def source_files(
    root: Path, pattern: str = "*.py", leaving_out: Collection[Path] = ()
) -> list[Path]:
    """The files below `root` matching `pattern`, sorted, that a user wrote: none hidden, none
    in a hidden folder, in one of SKIPPED, in an environment or in a folder of `leaving_out`
    (real paths)."""
    found = []
    for where, dirs, files in os.walk(root):
        here = Path(where)
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".")
            and d not in SKIPPED
            and not _is_environment(here / d)
            and not (leaving_out and (here / d).resolve() in leaving_out)
        ]
        found += [
            here / name
            for name in files
            if not name.startswith(".") and (here / name).match(pattern)
        ]
    return sorted(found)
