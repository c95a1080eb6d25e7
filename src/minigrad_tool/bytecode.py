"""Compiled bytecode goes to minigrad's own cache folder, never next to your files.

A child that imports your code (the engine's package, your tests) would
otherwise write ``__pycache__`` folders into your tree.  Writing no bytecode
at all is safe but slow: every run compiles pytest, and pytest's rewritten
test modules, again.  Python's ``sys.pycache_prefix`` sends every ``.pyc`` to
a mirror tree under one folder instead: ``$MINIGRAD_CACHE`` if set (``off``
writes none), else ``$XDG_CACHE_HOME/minigrad/pycache``, else
``~/.cache/minigrad/pycache``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["ENV", "cache_folder", "keep_bytecode_out_of_tree", "minigrad_folder", "write_whole"]

ENV = "MINIGRAD_CACHE"


def minigrad_folder(env: str, name: str) -> Path | None:
    """One of minigrad's cache folders: `$env` if set (``off`` or empty: none), else `name`
    under ``$XDG_CACHE_HOME/minigrad``, else under ``~/.cache/minigrad``."""
    value = os.environ.get(env)
    if value is not None:
        return None if value in ("", "off") else Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "minigrad" / name


def cache_folder() -> Path | None:
    """Where bytecode goes; None: write none."""
    return minigrad_folder(ENV, "pycache")


_settled = False  # set once per process tree: forked children inherit the choice


def keep_bytecode_out_of_tree() -> None:
    """From now on, in this process: bytecode only under the cache folder, or none at all."""
    global _settled
    if _settled:
        return
    _settled = True
    folder = cache_folder()
    try:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK):
                sys.pycache_prefix = str(folder.resolve())
                sys.dont_write_bytecode = False
                # numba's compiled functions (`@njit(cache=True)`) are bytecode too: beside
                # their source they would land in your tree, and a confined child may write
                # neither there nor in ~/.cache, so the engine's import failed ("cannot cache
                # function ...: no locator available", eazygrad 0.0.2).  So are CuPy's
                # kernels, whose folder `import cupy` makes in ~/.cupy ("Permission denied:
                # '/root/.cupy'", minigrad-python 0.1.1).  Set before any child starts, so
                # every process of the run inherits them; yours win if set.
                for name, sub in (("NUMBA_CACHE_DIR", "numba"), ("CUPY_CACHE_DIR", "cupy")):
                    os.environ.setdefault(name, str(folder.resolve() / sub))
                return
    except OSError:
        pass
    sys.dont_write_bytecode = True


def write_whole(path: Path, data: bytes) -> bool:
    """Write `data` to `path` whole or not at all: into a temporary file beside it, renamed
    over it (a reader, or another process writing the same file, never sees half of it).
    False, and nothing left behind, where it cannot be written: minigrad's caches are an
    optimisation, never a reason for an error."""
    temp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temp, path)
        temp = None
        return True
    except Exception:
        return False
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)
