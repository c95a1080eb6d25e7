"""The methods `@dataclass` writes, compiled once per interpreter, then only run.

A dataclass's ``__init__``, ``__repr__``, ``__eq__`` (and, frozen, ``__setattr__``,
``__delattr__`` and ``__hash__``) are written as source text and compiled each time the class
is defined: one compile per method, in every run.  The command's imports define 69 of them:
360 compiles, 37 ms of the 80 ms those imports took (CPython 3.11, timed by wrapping
``dataclasses._process_class``), paid by every command before it starts any child.  The text
is the same in every run, so its code objects are kept in minigrad's bytecode folder
(:mod:`minigrad_tool.bytecode`), one file per interpreter build, and the next run executes
them without compiling: the same code, compiled from the same text with the same flags.

Only the `minigrad` command installs this (:func:`install`), at its start: the
``dataclasses`` module's own ``exec`` is shadowed there, for that process and the children it
forks.  What the command compiles is kept when it ends, what a host compiles once it serves
(:func:`keep`: your tests' host defines pytest's 47 dataclasses, 184 methods); the children
forked to run one mutant keep nothing.
"""

from __future__ import annotations

import atexit
import builtins
import dataclasses
import marshal
import os
import sys
import types
from pathlib import Path
from typing import Any

from minigrad_tool.bytecode import cache_folder, write_whole

__all__ = ["MOST_KEPT", "Codes", "install", "keep", "uninstall"]

# Code objects kept at most: a run's classes are a few hundred; past this many (the methods of
# many versions of minigrad and of your tests' classes), the file starts again with one run's.
MOST_KEPT = 4096


class Codes:
    """Source text -> the code compiled from it, loaded from `path` (none where unreadable)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.codes = _read(path)
        self.used: set[str] = set()
        self.compiled = 0  # texts compiled in this process (none found in the file)
        self.owner = os.getpid()

    def code_of(self, source: str) -> types.CodeType:
        code = self.codes.get(source)
        if code is None:
            # dont_inherit: compiled with dataclasses' flags (none), not this module's
            # `from __future__ import annotations`, as its own exec would compile it.
            code = self.codes[source] = compile(source, "<string>", "exec", dont_inherit=True)
            self.compiled += 1
        self.used.add(source)
        return code

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:
        """`exec`, for dataclasses: the same, with the text's code compiled once."""
        if isinstance(source, str):
            source = self.code_of(source)
        builtins.exec(source, globals, locals)

    def save(self) -> bool:
        """Keep the code objects, if this process compiled any since it last kept them, with
        those another process kept meanwhile (whole or not at all)."""
        if not self.compiled:
            return False
        kept = {**_read(self.path), **self.codes}
        if len(kept) > MOST_KEPT:
            kept = {k: v for k, v in kept.items() if k in self.used}
        self.compiled = 0
        return write_whole(self.path, marshal.dumps(kept))

    def _save_at_exit(self) -> None:
        if os.getpid() == self.owner:  # never from a forked copy, however it ends
            self.save()


def _read(path: Path) -> dict[str, types.CodeType]:
    try:
        loaded = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):  # missing, partial or foreign
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, types.CodeType)}


def _file(folder: Path) -> Path:
    # marshal's format and the bytecode inside are those of one interpreter build
    return folder / f"dataclass-code-{sys.implementation.cache_tag}-{sys.hexversion:x}.marshal"


def install(folder: Path | None = None) -> Codes | None:
    """From now on, in this process and those it forks, dataclasses run the code kept in
    `folder` (minigrad's bytecode folder by default) for the text they would compile; what
    they compile is kept when this process ends.  None, and nothing changed, where there is
    no folder to keep it in or dataclasses' `exec` is already someone else's."""
    folder = folder or cache_folder()
    if folder is None or "exec" in vars(dataclasses):
        return None
    codes = Codes(_file(folder))
    dataclasses.exec = codes.exec  # type: ignore[attr-defined]
    atexit.register(codes._save_at_exit)
    return codes


def uninstall(codes: Codes) -> None:
    """Dataclasses compile with Python's own `exec` again; nothing is kept at exit."""
    if vars(dataclasses).get("exec") == codes.exec:
        del dataclasses.exec  # type: ignore[attr-defined]
    atexit.unregister(codes._save_at_exit)


def keep() -> bool:
    """Keep now what this process compiled, where the command installed the cache: a host
    calls it once it has imported what it serves (pytest's own dataclasses, in your tests'
    host), since it ends without running exit handlers."""
    codes = getattr(vars(dataclasses).get("exec"), "__self__", None)
    return isinstance(codes, Codes) and codes.save()
