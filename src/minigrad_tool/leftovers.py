"""Scratch folders a run leaves when it is killed, removed by the next run.

A run makes its scratch folders under the system's temporary folder and removes
them as it ends, but a SIGKILL (the out-of-memory killer, `timeout -s KILL`, a
CI job cancelled) skips that.  Each folder's name carries the ID of the process
that made it (`minigrad-cwd-4242-k3x9q1`); the next run removes those of
processes that are gone.  Only folders of this user's, named so, are touched:
never a file, a link, or a folder whose maker still runs.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
from pathlib import Path

__all__ = ["KINDS", "make", "sweep"]

KINDS = ("cwd", "pytest")  # the children's working folder; the tests host's plugin scratch
_NAME = re.compile(rf"minigrad-({'|'.join(KINDS)})-(\d+)-[^/]+")


def make(kind: str) -> str:
    """A new scratch folder of this process, after the leftovers of dead ones are gone."""
    _sweep_once(tempfile.gettempdir())
    return tempfile.mkdtemp(prefix=f"minigrad-{kind}-{os.getpid()}-")


@functools.cache
def _sweep_once(where: str) -> None:
    """Sweep `where` once per process: a run makes several scratch folders."""
    sweep(where)


def sweep(where: str | None = None) -> list[str]:
    """Remove the scratch folders in `where` (the temporary folder) whose maker is gone;
    their paths."""
    root = Path(where or tempfile.gettempdir())
    removed: list[str] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        found = _NAME.fullmatch(entry.name)
        if found is None or _alive(int(found.group(2))):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


def _alive(pid: int) -> bool:
    """Does process `pid` exist (a zombie counts: it is not gone yet)?"""
    if pid <= 0:
        return True  # no such maker: never ours to remove
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
