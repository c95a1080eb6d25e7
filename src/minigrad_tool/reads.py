"""The files a run reads: what an output path must never land on.

A run reads the engine's file and, when the engine is a module of a package,
the package's other modules; the user's test files, every module in their
folders (helpers they import) and every `conftest.py` from those folders up
to the project's root; the `pyproject.toml` the settings came from; and, for
`merge`, its input shards.  minigrad reads these without running them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from minigrad_tool.installed import source_files

__all__ = ["python_files", "read_by_run"]


def python_files(paths: Iterable[str | Path]) -> list[Path]:
    """The .py files under the given files and folders, each once, in a stable order: of a
    folder, those the user wrote (not a `.venv` inside it: installed.source_files)."""
    found: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found += source_files(path)
        elif path.is_file():
            found.append(path)
    return list(dict.fromkeys(found))


def _conftests(folder: Path, root: Path | None) -> list[Path]:
    """conftest.py files pytest would load for tests in `folder`: up to `root`, or to /."""
    found = []
    for parent in [folder, *folder.parents]:
        candidate = parent / "conftest.py"
        if candidate.is_file():
            found.append(candidate)
        if root is not None and parent == root:
            break
    return found


def read_by_run(
    engine: Path | None,
    engine_package: Path | None = None,
    tests: Sequence[str] = (),
    root: Path | None = None,
    others: Sequence[Path] = (),
) -> list[Path]:
    """Every file the run reads or imports, as far as can be known without running it."""
    reads: list[Path] = [p for p in (engine, *others) if p is not None]
    if engine_package is not None:
        reads += python_files([engine_package])
    test_files = python_files(tests)
    folders = {p.resolve().parent for p in test_files}
    folders |= {Path(t).resolve() for t in tests if Path(t).is_dir()}
    for folder in sorted(folders):
        reads += python_files([folder])
        reads += _conftests(folder, root.resolve() if root else None)
    return list(dict.fromkeys(reads))
