"""Load a micrograd-style engine: its `Value` class and the source file it came from."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

__all__ = ["DEFAULT_ENGINE", "Engine", "EngineError", "load_engine"]

DEFAULT_ENGINE = "minigrad.engine"


class EngineError(Exception):
    """The engine could not be loaded: a usage error (exit code 2 on the command line)."""


@dataclass(frozen=True)
class Engine:
    """A loaded engine: its module, its Value class and where its source lives."""

    spec: str
    module: ModuleType
    value_cls: type
    path: Path

    @property
    def source(self) -> str:
        return self.path.read_text(encoding="utf-8")


def _import_file(path: Path) -> ModuleType:
    name = f"_minigrad_engine_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise EngineError(f"cannot load {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    spec.loader.exec_module(module)
    return module


def _failed_import(spec: str, err: BaseException) -> EngineError:
    last = traceback.format_exception_only(type(err), err)[-1].strip()
    return EngineError(f"engine {spec!r} failed to import: {last}")


def load_engine(spec: str = DEFAULT_ENGINE) -> Engine:
    """Load `Value` from a `.py` path or an importable module name like `micrograd.engine`."""
    is_path = spec.endswith(".py") or "/" in spec or "\\" in spec
    try:
        if is_path:
            path = Path(spec)
            if not path.is_file():
                raise EngineError(f"engine file not found: {spec}")
            module = _import_file(path)
        else:
            module = importlib.import_module(spec)
    except EngineError:
        raise
    except ModuleNotFoundError as err:
        if not is_path and err.name is not None and spec.startswith(err.name):
            raise EngineError(
                f"no module named {spec!r}; pass a .py path or an importable module"
            ) from err
        raise _failed_import(spec, err) from err
    except Exception as err:  # the engine's own code raised while importing
        raise _failed_import(spec, err) from err
    except SystemExit as err:
        raise _failed_import(spec, err) from err
    value_cls = getattr(module, "Value", None)
    if not isinstance(value_cls, type):
        raise EngineError(f"engine {spec!r} has no Value class")
    source = getattr(module, "__file__", None)
    if source is None or not source.endswith(".py"):
        raise EngineError(f"engine {spec!r} has no Python source file")
    return Engine(spec, module, value_cls, Path(source))
