"""Import an engine from its snapshot, in a child process, writing nothing to disk.

An import hook serves the snapshot whenever anything imports the engine's
file, under whatever name: minigrad itself, the user's tests, the engine's
own package.  So every judge sees the same source, read once, even if the
file is edited during a run; and no bytecode is ever written beside it.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from minigrad_tool.adapter.definitions import definitions_alone
from minigrad_tool.adapter.order import served_displays, served_names
from minigrad_tool.adapter.spec import EngineSpec, module_of_file
from minigrad_tool.bytecode import keep_bytecode_out_of_tree
from minigrad_tool.installed import UserFolders, source_files

__all__ = [
    "STARTUP_PATH",
    "NotTheEngine",
    "SnapshotFinder",
    "engine_modules",
    "forget_modules",
    "forget_other_engines",
    "import_engine",
    "import_others",
    "importable_on",
    "install_snapshot",
    "installed_elsewhere",
    "plain_path",
    "put_first_on_path",
    "top_of",
]

# sys.path as this process started, before any engine was put on it (`put_first_on_path`):
# what a plain `pytest` started beside it would have.  A process that imports minigrad late
# (a test session) has it as it was then.
STARTUP_PATH = tuple(sys.path)

# Engine modules imported before the hook (from disk) and replaced by the snapshot's:
# objects other modules took from them still run, so mutants are swapped into them too.
_replaced: list[ModuleType] = []


def _same_file(a: str, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# Called with the module each time the snapshot runs again in this process (a test that
# reloads or re-imports the engine): the mutation patcher swaps its code into the new functions.
RELOADED: list[Callable[[ModuleType], None]] = []


class SnapshotLoader(importlib.abc.Loader):
    """Executes the snapshot in place of the file; never reads or writes bytecode.

    `served`: names put into the module's globals before it runs (a `set` whose
    order minigrad controls, for an engine whose graph order follows addresses).
    """

    def __init__(
        self,
        path: Path,
        source: str,
        served: dict[str, Any] | None = None,
        definitions_only: bool = False,
    ) -> None:
        self.path = path
        self.source = source
        self.served = served or {}
        self.definitions_only = definitions_only  # its script left out (adapter.definitions)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module object

    def get_code(self, fullname: str) -> CodeType:
        if not self.served and not self.definitions_only:
            return compile(self.source, str(self.path), "exec", dont_inherit=True)
        tree = ast.parse(self.source, str(self.path))
        if self.definitions_only:
            tree = definitions_alone(tree)
        if self.served:
            tree = served_displays(tree)
        return compile(tree, str(self.path), "exec", dont_inherit=True)

    def get_source(self, fullname: str) -> str:
        return self.source

    def exec_module(self, module: ModuleType) -> None:
        module.__cached__ = None  # type: ignore[attr-defined]
        module.__dict__.update(self.served)
        exec(self.get_code(module.__name__), module.__dict__)
        for hook in list(RELOADED):  # a test reloaded or re-imported the engine: new functions
            hook(module)


class SnapshotFinder(importlib.abc.MetaPathFinder):
    """Finds modules as the other finders do, but loads the engine's file from the snapshot
    (with `loader`, which holds the file's path and snapshot)."""

    def __init__(self, loader: SnapshotLoader) -> None:
        self.loader = loader
        self.path = loader.path
        stem = self.path.parent.name if self.path.name == "__init__.py" else self.path.stem
        self._stem = stem
        self.names: list[str] = []  # every name the engine was imported under

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.rpartition(".")[2] != self._stem:
            return None  # cheap: only a module of the engine's name can be the engine
        for finder in sys.meta_path:
            # every snapshot finder is skipped, not only this one: two files of the package
            # with one name (`a/ops.py`, `b/ops.py`) would otherwise ask each other forever
            if isinstance(finder, SnapshotFinder) or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            if spec.origin is None or not _same_file(spec.origin, self.path):
                return None  # another module of the same name: leave it alone
            spec.loader = self.loader
            spec.cached = None
            spec.has_location = True
            self.names.append(fullname)
            return spec
        return None


def put_first_on_path(folder: str | None) -> None:
    """The engine's folder first on sys.path, also where it is there already but later (a
    project's own editable install adds it after site-packages and $PYTHONPATH): a package
    of the engine's name found earlier would be imported, and checked, in its place."""
    if folder is None:
        return
    while folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)


def plain_path(original: Sequence[str], current: Sequence[str], folder: str | None) -> list[str]:
    """sys.path as a plain `pytest` has it: `current` (pytest configured, the tests collected)
    less the engine's folder minigrad put first (`put_first_on_path`), which stays only where
    it was on `original` (sys.path before) or where pytest put it too (its `pythonpath`)."""
    before = set(original)
    front = [p for p in current if p not in before]  # what pytest (or the tests) put in
    if folder is not None and folder in front:
        del front[len(front) - 1 - front[::-1].index(folder)]  # minigrad's: after pytest's
    return [*front, *original]


def top_of(spec: EngineSpec, name: str = "") -> Path:
    """The engine's top-level package folder (`src/minigrad` for `minigrad.engine`), or its
    file when it is a module of its own; for the engine imported as `name` (`src.minigrad.
    engine`: `src`), that name's."""
    depth = (name or spec.module).count(".")
    return spec.path if depth == 0 else spec.path.parents[depth - 1]


def _find_top(
    spec: EngineSpec, path: Sequence[str], name: str = ""
) -> tuple[bool, importlib.machinery.ModuleSpec | None]:
    """What `import` finds for the engine's top-level package (or module) on `path`, nothing
    imported, by the name it is imported under (`name`, else its own): (whether that can be
    told, its spec or None).  Not for an engine named as an installed module (that install
    is the engine), nor where a broken path entry raises: no reason to say anything, nor to
    fail a run."""
    if spec.sys_path is None:
        return False, None
    top = (name or spec.module).split(".")[0]
    try:
        return True, importlib.machinery.PathFinder.find_spec(top, list(path))
    except Exception:
        return False, None


def importable_on(spec: EngineSpec, path: Sequence[str], name: str = "") -> bool:
    """Does `import` find the engine's top-level package (or module) on `path`, any copy of
    it, by the name it is imported under (`name`, else its own)?  Always, where that cannot
    be told (_find_top)."""
    told, found = _find_top(spec, path, name)
    return not told or found is not None


def installed_elsewhere(spec: EngineSpec, path: Sequence[str], name: str = "") -> str:
    """Where `import` finds the engine's top-level package (or module) on `path`, by the name
    it is imported under (`name`, else its own), when that is another copy than the
    engine's own (an install that copied it into site-packages, stale once the file
    changes): its folder or file; "" where it finds the engine's own, nothing, or a
    namespace package, or where that cannot be told (_find_top)."""
    _, found = _find_top(spec, path, name)
    if found is None or found.origin is None:
        return ""
    where = Path(found.origin)
    if found.submodule_search_locations is not None:
        where = where.parent
    return "" if _same_file(str(where), top_of(spec, name)) else str(where)


def install_snapshot(spec: EngineSpec) -> SnapshotFinder:
    """Serve the snapshot for the engine's file from now on, in this process."""
    keep_bytecode_out_of_tree()
    put_first_on_path(spec.sys_path)
    served = served_names() if spec.order_sensitive else None
    finder = SnapshotFinder(SnapshotLoader(spec.path, spec.source, served, spec.definitions_only))
    sys.meta_path.insert(0, finder)
    for path, _ in spec.others:  # the package's other files that hold steps: snapshots too
        sys.meta_path.insert(1, SnapshotFinder(SnapshotLoader(path, spec.source_of(str(path)))))
    # An engine imported before the hook (our own engine, in a test run) is
    # imported again, from the snapshot, on next use; and so are the packages around it, as
    # a fresh process imports them: TinyTorch's `__init__` sets the tracking ops on the class
    # the engine's file defines (imported by the user's tests in pytest's process, where the
    # plugin's children are forked, the package kept would leave the new class without them).
    for name, module in list(sys.modules.items()):
        if any(_same_file(getattr(module, "__file__", None) or "", p) for p in spec.files):
            _replaced.append(sys.modules.pop(name))
    for name in _packages_of(spec):
        sys.modules.pop(name, None)
    importlib.invalidate_caches()
    return finder


def _packages_of(spec: EngineSpec) -> list[str]:
    """The packages the engine's module is in (`tinytorch`, `tinytorch.core` for
    `tinytorch.core.tensor`), where loaded from the engine's folders: their `__init__` runs
    before the engine's file does, wherever the engine is imported."""
    return [name for name, ours in _loaded_packages(spec) if ours]


def _loaded_packages(spec: EngineSpec) -> Iterator[tuple[str, bool]]:
    """Each package the engine's module is in that is loaded now, outermost first, and
    whether it was loaded from the engine's own folder for it (else from elsewhere)."""
    parts = spec.module.split(".")
    for depth in range(1, len(parts)):
        name = ".".join(parts[:depth])
        package = sys.modules.get(name)
        if package is None:
            continue
        folder = spec.path.parents[len(parts) - 1 - depth]
        locations = list(getattr(package, "__path__", None) or [])
        yield name, any(_same_file(loc, folder) for loc in locations)


def forget_other_engines(spec: EngineSpec) -> None:
    """Drop modules of the engine's name, or of its packages' names, loaded from elsewhere
    (an earlier engine of a long-lived process; another package called `minigrad`), else
    `import` would return them."""
    cached = sys.modules.get(spec.module)
    if cached is not None and not _same_file(getattr(cached, "__file__", None) or "", spec.path):
        del sys.modules[spec.module]
    for name, ours in _loaded_packages(spec):
        if not ours:
            for other in [n for n in sys.modules if n == name or n.startswith(name + ".")]:
                del sys.modules[other]
            return


def forget_engine_folder(spec: EngineSpec) -> None:
    """Drop every module loaded from the engine's folder (its package's other modules, the
    package itself): a sibling imported earlier in this process (a lab's `gradcheck.py`)
    would keep the engine's old classes, which the tests' fresh import no longer matches."""
    inside = _Inside([spec.path.resolve().parent])
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not name.startswith("minigrad_tool") and isinstance(file, str) and inside(file):
            del sys.modules[name]


class NotTheEngine(ImportError):
    """The engine's module name gives another file: it would be checked in the engine's place."""

    def __init__(self, name: str, found: str, path: Path) -> None:
        super().__init__(
            f"`import {name}` gives {found or 'a module with no file'}, not the engine's file "
            f"{path}: another package of that name comes first on sys.path"
        )


def import_engine(spec: EngineSpec) -> ModuleType:
    """Import the engine module (its package's __init__ first, as `import` does); NotTheEngine
    if that name gives another file than the engine's."""
    forget_other_engines(spec)
    module = importlib.import_module(spec.module)
    found = getattr(module, "__file__", None) or ""
    if not _same_file(found, spec.path):
        raise NotTheEngine(spec.module, found, spec.path)
    return module


def import_others(spec: EngineSpec) -> None:
    """Import the other files of the package that hold steps, if nothing has yet (an ops
    module the engine's file does not import, `F` that only tests import): their functions
    must be there to swap mutants into."""
    for path, _ in spec.others:
        if not engine_modules(path):
            name, _ = module_of_file(path)
            with contextlib.suppress(Exception):  # judging it says the mutant cannot run
                importlib.import_module(name)


def engine_modules(path: Path) -> list[ModuleType]:
    """Every module object whose source is the engine's file, loaded now or replaced."""
    engine = _identity(str(path))
    found: list[ModuleType] = []
    for module in [*sys.modules.values(), *_replaced] if engine is not None else ():
        file: Any = getattr(module, "__file__", None)
        if isinstance(file, str) and _identity(file) == engine and module not in found:
            found.append(module)
    return found


# A file as os.path.samefile tells it (device and inode, links followed), looked up once per
# process: engine_modules runs for every test a campaign records habits of, and statting the
# ~380 modules' files of a tests host each time took 0.23 s of the scaled-up student suite's
# campaign (cProfile of its children: 30,208 samefile calls, 80 scans).  What a file is does
# not change during a run (the engine's own file is checked unchanged at its end).
@functools.lru_cache(maxsize=4096)
def _identity(file: str) -> tuple[int, int] | None:
    try:
        status = os.stat(file)
    except (OSError, ValueError):
        return None
    return status.st_dev, status.st_ino


def forget_modules(paths: Sequence[str]) -> None:
    """Drop modules a fresh pytest run must import itself: those from the test folders, and
    any module named like one of the test files (a caller's own `test_engine`, say)."""
    folders = [Path(p).resolve() if Path(p).is_dir() else Path(p).resolve().parent for p in paths]
    stems = {f.stem for folder in folders for f in source_files(folder)} | {"conftest"}
    inside = _Inside(folders)
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if (isinstance(file, str) and inside(file)) or (
            name.rpartition(".")[2] in stems and not name.startswith("minigrad_tool")
        ):
            del sys.modules[name]


class _Inside:
    """Is a module's file, its links followed, inside one of `folders`, and not in installed
    code below them (a flat project's `.venv`: pytest's own modules are no test's)?  Each
    folder of the files asked about is resolved once: a host that has imported pytest holds
    about 300 modules from a few dozen folders, and resolving every file with pathlib took
    25 ms of the tests' host's start (forget_modules and forget_engine_folder, timestamps on
    examples/student), on the way to its first test."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = UserFolders(os.path.realpath(f) for f in folders)
        self.resolved: dict[str, str] = {}  # a folder as written -> its real path

    def __call__(self, file: str) -> bool:
        head, tail = os.path.split(file)
        try:
            real = self.resolved.get(head)
            if real is None:
                real = self.resolved[head] = os.path.realpath(head)
            path = os.path.join(real, tail)
            if os.path.islink(path):  # the file itself is a link: where it points counts
                path = os.path.realpath(path)
        except (OSError, ValueError):  # a name no path can be (a NUL in it): not inside
            return False
        return self.folders.holds(path)
