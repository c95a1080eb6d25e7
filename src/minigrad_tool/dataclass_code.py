"""The methods `@dataclass` writes, compiled once per interpreter, then only run.

A dataclass's ``__init__``, ``__repr__``, ``__eq__`` (and, frozen, ``__setattr__``,
``__delattr__`` and ``__hash__``) are written as source text and compiled each time the class
is defined: one compile per method, in every run.  The command's imports define 69 of them:
360 compiles, 37 ms of the 80 ms those imports took (CPython 3.11, timed by wrapping
``dataclasses._process_class``), paid by every command before it starts any child (CPython
3.13 writes a class's methods as one text: 58 texts for the same imports).  The text
is the same in every run, so its code objects are kept in minigrad's bytecode folder
(:mod:`minigrad_tool.bytecode`) and the next run executes them without compiling: the same
code, compiled from the same text with the same flags.

Only the `minigrad` command installs this (:func:`install`), at its start: the
``dataclasses`` module's own ``exec`` is shadowed there, for that process and the children it
forks.  Each role keeps its own file, so that a process loads only what it is likely to run
(loading a kept method costs about a tenth of compiling it): the command's, which it keeps
when it ends, and your tests' host's (:func:`take_role`: pytest's 47 dataclasses, 184
methods, and those of what your tests import, torch's say), which it keeps once it serves
(:func:`keep`).  The children forked to run one mutant keep nothing.
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

__all__ = ["MOST_KEPT", "Codes", "install", "keep", "take_role", "uninstall"]

# Code objects a role's file keeps at most: the command runs about 360 methods; your tests'
# host about 200 for pytest and what your tests import (a thousand more with torch).  Past
# this, the methods of other versions and other projects' tests are dropped: the file starts
# again with what the process writing it ran.
MOST_KEPT = {"command": 1024, "tests": 4096}


class Codes:
    """Source text -> the code compiled from it: those kept for a role, loaded from its file
    in `folder`, and those this process compiled."""

    def __init__(self, folder: Path, role: str) -> None:
        self.folder = folder
        self.codes: dict[str, types.CodeType] = {}
        self.take(role)

    def take(self, role: str) -> None:
        """From now on this process keeps `role`'s file: its code objects are loaded (beside
        those known already), and what it runs from now on is what it keeps."""
        self.role, self.path = role, _file(self.folder, role)
        self.codes.update(_read(self.path))
        self.used: set[str] = set()  # the texts run since
        self.compiled = 0  # texts compiled since, or since they were last kept
        self.owner = os.getpid()  # a forked copy never writes the file

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
        """Keep what this process ran, if it compiled any of it, with what its role's file
        holds (another process of the role may have written it meanwhile), whole or not at
        all; never from a forked copy."""
        if not self.compiled or os.getpid() != self.owner:
            return False
        ran = {k: self.codes[k] for k in self.used}
        kept = {**_read(self.path), **ran}
        if len(kept) > MOST_KEPT[self.role]:
            kept = ran
        self.compiled = 0
        return write_whole(self.path, marshal.dumps(kept))


def _read(path: Path) -> dict[str, types.CodeType]:
    try:
        loaded = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):  # missing, partial or foreign
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, types.CodeType)}


def _file(folder: Path, role: str) -> Path:
    # marshal's format and the bytecode inside are those of one interpreter build
    tag = f"{sys.implementation.cache_tag}-{sys.hexversion:x}"
    return folder / f"dataclass-code-{tag}-{role}.marshal"


def install(folder: Path | None = None) -> Codes | None:
    """From now on, in this process and those it forks, dataclasses run the code kept in
    `folder` (minigrad's bytecode folder by default) for the text they would compile; what
    this process ran is kept, as the command's, when it ends.  None, and nothing changed,
    where there is no folder to keep it in or dataclasses' `exec` is already someone else's."""
    folder = folder or cache_folder()
    if folder is None or "exec" in vars(dataclasses):
        return None
    codes = Codes(folder, "command")
    dataclasses.exec = codes.exec  # type: ignore[attr-defined]
    atexit.register(codes.save)
    return codes


def uninstall(codes: Codes) -> None:
    """Dataclasses compile with Python's own `exec` again; nothing is kept at exit."""
    if vars(dataclasses).get("exec") == codes.exec:
        del dataclasses.exec  # type: ignore[attr-defined]
    atexit.unregister(codes.save)


def _installed() -> Codes | None:
    codes = getattr(vars(dataclasses).get("exec"), "__self__", None)
    return codes if isinstance(codes, Codes) else None


def take_role(role: str) -> None:
    """In a host the command forked, before its own imports: load, and from now on keep,
    `role`'s code objects (where the command installed them)."""
    codes = _installed()
    if codes is not None:
        codes.take(role)


def keep() -> bool:
    """Keep now what this process ran and compiled, if it took a role: a host calls it once
    it has imported what it serves, since it ends without running exit handlers."""
    codes = _installed()
    return codes is not None and codes.save()
