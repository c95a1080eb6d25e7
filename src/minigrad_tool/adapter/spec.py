"""`--engine PATH_OR_MODULE[:CLASS]`: find the engine's source file without running it.

The parent process never imports an engine: it reads the source once (the
snapshot every child then runs) and locates modules through the import
system's finders, which look at files but execute nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from minigrad_tool.adapter.source import SourceIndex

__all__ = [
    "EngineError",
    "EngineSpec",
    "EngineWrong",
    "file_name",
    "module_of_file",
    "parse_snapshot",
    "parse_spec",
    "spec_file",
]

MAX_SOURCE_BYTES = 8 << 20  # an engine file larger than this is not an engine


class EngineError(Exception):
    """The engine cannot be used: a usage error (exit code 2 on the command line).  `why` is
    the reason alone, without the advice around it (the whole message by default)."""

    def __init__(self, message: str, why: str = "") -> None:
        super().__init__(message)
        self.why = why or message


class EngineWrong(EngineError):
    """The engine is wrong in a way that stops every check (its backward pass runs an earlier
    pass's steps again): a failed check, exit code 1 on the command line."""


@dataclass(frozen=True)
class EngineSpec:
    """An engine's identity: where its source is, how to import it, which class to use."""

    text: str  # as the user wrote it
    module: str  # the name a child imports it under
    path: Path  # the source file, resolved
    sys_path: str | None  # a folder to put first on sys.path (a file outside any package)
    class_name: str | None  # from `:CLASS`, else discovered
    snapshot: bytes  # the source as read, once
    # Other files of the engine's package that hold steps of its ops (DeZero's functions.py),
    # each with its snapshot: they are mutated too.  Found by discovery (`with_files`).
    others: tuple[tuple[Path, bytes], ...] = ()
    # The user's name for the whole backward pass (`--backward updateGradients`), where it is
    # not one minigrad finds itself (adapter.nodes.alias_backward); None: found.
    backward: str | None = None
    # `--definitions-only`: the engine's file runs without its script (adapter.definitions)
    definitions_only: bool = False

    @property
    def source(self) -> str:
        """The snapshot decoded as Python decodes it (PEP 263 cookie, BOM)."""
        return importlib.util.decode_source(self.snapshot)

    @functools.cached_property
    def index(self) -> SourceIndex:
        """The snapshot parsed, once per run: every reader of the engine's source (discovery,
        mutant generation, the judges, the reports) shares this index."""
        return parse_snapshot(self.snapshot)

    @functools.cached_property
    def order_sensitive(self) -> bool:
        """Does its graph order follow object addresses (it calls set())?  See adapter.order."""
        from minigrad_tool.adapter.order import order_sensitive

        return order_sensitive(self.source)

    @property
    def orders(self) -> int:
        """How many graph orders a verdict must hold in: 1 unless the order can vary."""
        from minigrad_tool.adapter.order import orders_to_explore

        return orders_to_explore() if self.order_sensitive else 1

    @property
    def sha256(self) -> str:
        """Of every file's snapshot, with the other files' paths."""
        digest = hashlib.sha256(self.snapshot)
        for path, snapshot in self.others:
            digest.update(f"\0{path}\0".encode())
            digest.update(snapshot)
        return digest.hexdigest()

    def with_class(self, class_name: str) -> EngineSpec:
        return dataclasses.replace(self, class_name=class_name)

    def with_files(self, files: Sequence[str]) -> EngineSpec:
        """The spec with snapshots of these other files of the package (read now)."""
        others = tuple((Path(f), _read(Path(f))) for f in files if Path(f) != self.path)
        return dataclasses.replace(self, others=others)

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file mutated: the engine's, then the others."""
        return (self.path, *(path for path, _ in self.others))

    def source_of(self, file: str) -> str:
        """The snapshot of the engine's file (""), or of another file it holds."""
        if not file or Path(file) == self.path:
            return self.source
        return importlib.util.decode_source(self._snapshot_of(file))

    def _snapshot_of(self, file: str) -> bytes:
        for path, snapshot in self.others:
            if str(path) == file:
                return snapshot
        raise KeyError(file)

    def index_of(self, file: str) -> SourceIndex:
        """`index`, for any file of the spec: parsed once."""
        if not file or Path(file) == self.path:
            return self.index
        found = self._indexes.get(file)
        if found is None:
            found = self._indexes[file] = parse_snapshot(self._snapshot_of(file), file)
        return found

    @functools.cached_property
    def _indexes(self) -> dict[str, SourceIndex]:
        return {}

    def name_of(self, file: str) -> str:
        """How a file is shown (`file_name`)."""
        return file_name(file or str(self.path), str(self.path))

    def changed_on_disk(self) -> list[Path]:
        """The files that changed since their snapshots were taken (or are gone)."""
        return [
            path
            for path, snapshot in ((self.path, self.snapshot), *self.others)
            if _bytes_or_none(path) != snapshot
        ]


def parse_snapshot(snapshot: bytes, file: str = "") -> SourceIndex:
    """A file's bytes, decoded as Python does and parsed (SyntaxError, UnicodeDecodeError)."""
    return SourceIndex.parse(importlib.util.decode_source(snapshot), file)


def _bytes_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def file_name(file: str, engine: str) -> str:
    """How a file is shown: the engine's by its name, another of its package by its path from
    the folder both are in (`functions.py` beside `core.py`; `ops/sum.py` for a
    `core/variable.py` engine)."""
    if file == engine:
        return Path(engine).name
    common = os.path.commonpath([file, str(Path(engine).parent)])
    return Path(os.path.relpath(file, common)).as_posix()


def _split_class(text: str) -> tuple[str, str | None]:
    """`module:Class` -> ("module", "Class"); a Windows drive letter is not a class."""
    target, colon, name = text.rpartition(":")
    if colon and target and name.isidentifier():
        return target, name
    return text, None


# A student's engine is often a notebook's cells: it is said so, not "no module named".
NOTEBOOK = ".ipynb"


def _looks_like_path(target: str) -> bool:
    return target.endswith((".py", NOTEBOOK)) or "/" in target or "\\" in target


def spec_file(text: str) -> str | None:
    """The file a spec names (`path/engine.py`, `engine.py:Value`), without its class; None
    for a module name (`pkg.engine:Value`), which is imported, not looked up as a path."""
    target, _ = _split_class(text)
    return target if _looks_like_path(target) else None


def module_of_file(path: Path) -> tuple[str, str]:
    """The dotted name a file imports as, and the folder that must be on sys.path.

    A file in a package (folders with `__init__.py`) imports as `pkg.sub.mod`
    from the folder above the package, so its relative imports work; a
    stand-alone file imports as its stem, from its own folder.
    """
    parts = [path.stem] if path.name != "__init__.py" else []
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        parts.insert(0, folder.name)
        folder = folder.parent
    if not parts:  # a bare __init__.py outside a package
        parts = [path.parent.name]
        folder = path.parent.parent
    return ".".join(parts), str(folder)


def _find_spec(name: str, search: list[str] | None) -> importlib.machinery.ModuleSpec | None:
    """Ask each finder on sys.meta_path, as `import` would, without loading anything."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        try:
            spec = find(name, search)
        except (ImportError, ValueError, AttributeError, TypeError):
            continue
        if spec is not None:
            return spec  # type: ignore[no-any-return]
    return None


# Folders, from where the command runs, where a module that is not on the import path is
# looked for, only to say which path to pass: the folder itself (the `minigrad` script does not
# put it on sys.path, as `python -m` does) and a src layout not installed (pytest's
# `pythonpath = ["src"]` puts it there for the tests alone).
_FOLDERS_TO_HINT = (".", "src")
_PASS_A_PATH = "pass a .py path or an importable module"


def _what_to_pass(module: str, class_name: str | None) -> str:
    """What to do about a module not found: pass the path of the file of those folders that is
    `module`'s (`src/pkg/core.py is here, but ...: --engine src/pkg/core.py:Value`), if any."""
    parts = module.split(".")
    for folder in _FOLDERS_TO_HINT:
        base = Path(folder).joinpath(*parts)
        for file in (base.with_name(f"{parts[-1]}.py"), base / "__init__.py"):
            if file.is_file():
                suffix = f":{class_name}" if class_name else ""
                return (
                    f"{file.as_posix()} is here, but not on this environment's import path; "
                    f"pass its path: --engine {file.as_posix()}{suffix}"
                )
    return _PASS_A_PATH


def _locate_module(module: str, first: str | None = None, class_name: str | None = None) -> Path:
    """The source file of `module`, found the way `import` would find it.

    `first` is a folder searched before sys.path, as a child will put it there; `class_name`
    the class the spec names, for the hint of a module not found.
    """
    search: list[str] | None = [first, *sys.path] if first else None
    spec = None
    parts = module.split(".")
    if not all(part.isidentifier() for part in parts):
        raise EngineError(f"{module!r} is neither a .py file nor a module name")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        spec = _find_spec(name, search)
        if spec is None:
            raise EngineError(
                f"no module named {name!r} (looking for {module!r}); "
                + (_what_to_pass(module, class_name) if depth == 1 else _PASS_A_PATH)
            )
        locations = spec.submodule_search_locations
        search = list(locations) if locations is not None else None
        if depth < len(parts) and search is None:
            raise EngineError(f"{name!r} is a module, not a package: cannot find {module!r} in it")
    assert spec is not None
    origin = spec.origin
    if origin is None or not origin.endswith(".py"):
        raise EngineError(_not_source(module, origin))
    return Path(origin)


def _not_source(module: str, origin: str | None) -> str:
    """Why a module cannot be the engine: minigrad reads an engine's Python source.  A
    compiled module's class is checked through a Python module that imports it."""
    if origin is None or not origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
        return f"engine {module!r} has no Python source file (found {origin})"
    package = module.rpartition(".")[0]
    through = f" (its package, --engine {package}, if it does)" if package else ""
    return (
        f"engine {module!r} is compiled code ({origin}), not Python source: name a Python "
        f"module that imports its class{through}. `minigrad gradcheck` checks a compiled "
        "class's ops as black boxes; `minigrad mutate` needs backward steps written in Python"
    )


def _read(path: Path) -> bytes:
    if path.is_dir():
        raise EngineError(
            f"engine {path} is a folder: pass the .py file that defines the class, or its "
            f"package's {(path / '__init__.py').as_posix()} with :CLASS after it"
        )
    if not path.is_file():
        raise EngineError(f"engine file not found: {path}")
    if path.suffix == NOTEBOOK:
        raise EngineError(
            f"engine {path} is a notebook: minigrad reads a Python module; export its code "
            f"(`jupyter nbconvert --to script {path.name}` writes {path.stem}.py: take out the "
            "`%` and `!` lines it keeps) and pass that file, with --definitions-only if its "
            "cells also train or plot"
        )
    if path.suffix != ".py":
        raise EngineError(f"engine file must be a .py source file, got {path}")
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            raise EngineError(f"engine file {path} is larger than {MAX_SOURCE_BYTES >> 20} MiB")
        data = path.read_bytes()
    except OSError as err:
        raise EngineError(f"cannot read engine file {path}: {err.strerror}") from None
    try:
        source = importlib.util.decode_source(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as err:
        raise EngineError(f"cannot decode engine file {path}: {err}") from None
    _check_syntax(source, path)
    return data


def _check_syntax(source: str, path: Path) -> None:
    """A syntax error names the engine's file, line and text: compiling runs nothing."""
    try:
        compile(source, str(path), "exec", dont_inherit=True, flags=0x400)  # PyCF_ONLY_AST
    except SyntaxError as err:
        line = (err.text or "").rstrip("\n")
        where = f"{path}:{err.lineno}" if err.lineno else str(path)
        shown = f"\n    {line.strip()}" if line.strip() else ""
        raise EngineError(f"{where}: syntax error in the engine: {err.msg}{shown}") from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise EngineError(f"{path} cannot be compiled: {type(err).__name__}: {err}") from None


def parse_spec(
    text: str, backward: str | None = None, definitions_only: bool = False
) -> EngineSpec:
    """Resolve `PATH_OR_MODULE[:CLASS]` to a source snapshot; EngineError if impossible.
    `backward`: the user's name for the whole backward pass (EngineSpec.backward);
    `definitions_only`: its file runs without its script (EngineSpec.definitions_only)."""
    spec = _parsed(text, backward)
    return dataclasses.replace(spec, definitions_only=True) if definitions_only else spec


def _parsed(text: str, backward: str | None) -> EngineSpec:
    if not text.strip():
        raise EngineError("--engine needs a .py path or a module name")
    target, class_name = _split_class(text)
    if _looks_like_path(target):
        path = Path(target)
        snapshot = _read(path)
        resolved = path.resolve()
        module, sys_path = module_of_file(resolved)
        return EngineSpec(text, module, resolved, sys_path, class_name, snapshot, (), backward)
    path = _locate_module(target, class_name=class_name)
    return EngineSpec(text, target, path.resolve(), None, class_name, _read(path), (), backward)


def spec_for_module(spec: EngineSpec, module: str, class_name: str) -> EngineSpec:
    """The spec of the module where `class_name` is really defined (a package re-exports it)."""
    path = _locate_module(module, spec.sys_path)
    return EngineSpec(
        f"{module}:{class_name}",
        module,
        path.resolve(),
        spec.sys_path,
        class_name,
        _read(path),
        backward=spec.backward,
        definitions_only=spec.definitions_only,
    )
