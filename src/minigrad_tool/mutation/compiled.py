"""Compiled mutants, kept in minigrad's bytecode cache folder as Python keeps a module's
bytecode: a child that swaps a mutant in loads its code object instead of compiling it again
(about 1.3 ms a mutant: 374 children of the scaled-up student suite compiled for 0.5 s of CPU).

A code object is kept under everything its compilation reads: the engine's files (their
digest, EngineSpec.sha256, names the folder: each version has one), and in the key the Python
(marshal's format and the bytecode are the interpreter's), this module's and the patcher's
source, the file name the code reports, the function (file, qualified name, first line) and
the mutant's edit.  Anything else gives another key; a file that cannot be read, or that does
not hold a code object, is compiled again.  ``MINIGRAD_CACHE=off`` keeps none.  The
KEPT_VERSIONS folders used last are kept (`used`), so the folder never grows past a few tens
of MB.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import CodeType

from minigrad_tool.bytecode import ENV, cache_folder, write_whole

__all__ = ["keep", "key_of", "load", "used", "warm"]

FOLDER = "minigrad-mutants"  # under the bytecode cache: no mirror of a source path has it
# Versions of engines kept: each some hundreds of KB (1.7 MB on disk, in 4 KB blocks, for the
# 269 mutants of the scaled-up student suite).
KEPT_VERSIONS = 32


@functools.cache
def _base() -> hashlib._Hash:
    """The digest of the Python and of this module's, the patcher's and the graph order's
    source (which serves set displays in what the patcher compiles): a change to any changes
    every key.  Hashed once per process, or once in a host for all its children."""
    here = Path(__file__).resolve().parent
    sources = b"".join(
        (here / name).read_bytes() for name in ("compiled.py", "patch.py", "../adapter/order.py")
    )
    return hashlib.sha256(sys.version.encode() + b"\0" + sources)


def warm(version: str) -> None:
    """Hash the Python and the sources every key holds, and find the version's folder, now
    (in a host, once for its children: about a millisecond each would spend on the hash, and
    0.2 ms on the folder, which pathlib works out from the environment)."""
    _base()
    _folder(version)


def key_of(parts: Sequence[str]) -> str:
    digest = _base().copy()
    for part in parts:
        digest.update(b"\0" + part.encode("utf-8", "surrogatepass"))  # a path's undecodable bytes
    return digest.hexdigest()


def _folder(version: str) -> Path | None:
    """The version's folder, under the cache folder the environment names now."""
    names = (os.environ.get(ENV), os.environ.get("XDG_CACHE_HOME"), os.environ.get("HOME"))
    return _folder_under(version, names)


@functools.lru_cache(maxsize=64)
def _folder_under(version: str, names: tuple[str | None, ...]) -> Path | None:
    """The version's folder while `names` (what bytecode.cache_folder reads) hold: worked out
    once per process, not for each mutant a child loads (cProfile of the student example's
    children: 0.08 s of their 1.7 s went to building this path, 155 times)."""
    folder = cache_folder()
    return None if folder is None else folder / FOLDER / version[:32]


def _path(version: str, key: str) -> Path | None:
    folder = _folder(version)
    return None if folder is None else folder / f"{key}.marshal"


def used(version: str) -> None:
    """A campaign on this version of the engine's files (EngineSpec.sha256) starts: its folder
    counts as the one used last, and the folders of the versions used longest ago go."""
    folder = _folder(version)
    if folder is None:
        return
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)
        kept = sorted(folder.parent.iterdir(), key=lambda f: f.stat().st_mtime_ns, reverse=True)
        for old in kept[KEPT_VERSIONS:]:
            shutil.rmtree(old, ignore_errors=True)


def load(version: str, key: str) -> CodeType | None:
    """The code object kept under `key`, if any."""
    path = _path(version, key)
    if path is None:
        return None
    try:
        code = marshal.loads(path.read_bytes())
    except Exception:  # missing, partial or foreign: compiled again
        return None
    return code if isinstance(code, CodeType) else None


def keep(version: str, key: str, code: CodeType) -> None:
    """Keep the code object; a folder that cannot be written keeps nothing, and says nothing."""
    path = _path(version, key)
    if path is not None:
        write_whole(path, marshal.dumps(code))  # whichever child writes it first
