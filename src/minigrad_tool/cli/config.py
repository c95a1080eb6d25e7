"""`[tool.minigrad]` in pyproject.toml: the project's settings, read as ruff and pytest read theirs.

The nearest `pyproject.toml` at or above the working folder is the project's;
if it has no `[tool.minigrad]` table, there are no settings (minigrad never
reads a settings table of a project above the one the user is in).  Paths in
it are relative to its folder.  Flags override every value.

    [tool.minigrad]
    engine = "src/minigrad/engine.py"     # or "pkg.module:Class"
    backward = "updateGradients"          # the whole backward pass, where not backward()
    tests = ["tests/test_gradcheck.py"]
    judge = "both"                        # both, tests or battery
    min-score = 100
    operators = ["sign", "assign"]
    timeout = 30                          # seconds
    memory = 8192                         # MiB
    jobs = 2
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minigrad_tool.adapter.spec import spec_file
from minigrad_tool.cli import arguments

__all__ = ["KEYS", "Config", "ConfigError", "find_config"]


class ConfigError(Exception):
    """The settings cannot be used: a usage error."""


class _Refused(ValueError):
    """A value a flag's parser refused with its own words."""


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError("a non-empty string")
    return value


def _texts(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
        raise TypeError("a list of strings")
    return tuple(items)


def _via(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    """A value checked by the flag's own parser, so a setting and a flag accept the same."""

    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise TypeError("a number, not true or false")
        if isinstance(value, list):
            value = ",".join(map(str, value))
        try:
            return parse(str(value))
        except argparse.ArgumentTypeError as err:
            text = str(err)
            if not text.startswith("expected "):
                raise _Refused(text) from None
            raise TypeError(text.removeprefix("expected ").rsplit(", got ", 1)[0]) from None

    return check


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


def _judge(value: Any) -> str:
    from minigrad_tool.mutation.judges import JUDGES

    choices = ("both", *JUDGES)
    if value not in choices:
        raise TypeError("one of " + ", ".join(f'"{c}"' for c in choices))
    return str(value)


def _operators(value: Any) -> tuple[str, ...]:
    from minigrad_tool.mutation.operators import OPERATORS

    return _via(arguments.names("operator", tuple(OPERATORS)))(value)  # type: ignore[no-any-return]


# key -> (the argparse destination, how to check the value).  Paths are resolved later.
KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "engine": ("engine", _text),
    "backward": ("backward", _via(arguments.method_name)),
    "definitions-only": ("definitions_only", _flag),
    "tests": ("tests", _texts),
    "judge": ("judge", _judge),
    "min-score": ("min_score", _via(arguments.percentage)),
    "operators": ("operators", _operators),
    "timeout": ("timeout", _via(arguments.seconds)),
    "memory": ("memory", _via(arguments.memory)),
    "jobs": ("jobs", _via(arguments.jobs)),
}


@dataclass(frozen=True)
class Config:
    """Settings from one pyproject.toml: values by argparse destination."""

    path: Path | None = None
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    @property
    def origin(self) -> str:
        return f"{_shown(self.path)} [tool.minigrad]" if self.path else ""

    def path_value(self, text: str) -> str:
        """A path from the settings, relative to the pyproject's folder, shown from here.

        A module name (`pkg.engine`, `pkg.engine:Class`) is left as it is.
        """
        if spec_file(text) is None:
            return text
        return _shown(self.folder / text)


def _shown(path: Path) -> str:
    """A path as short as it can be said from the working folder."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _nearest_pyproject(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


_OUR_TABLE = re.compile(r"^\s*\[\s*tool\s*\.\s*minigrad\s*\]\s*(#.*)?$", re.MULTILINE)
_NEXT_TABLE = re.compile(r"^\s*\[", re.MULTILINE)


def _parsed(text: str, path: Path) -> dict[str, Any]:
    """The TOML document; when another tool's table nests deeper than the parser can recurse,
    our table alone (from its `[tool.minigrad]` header to the next header)."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        pass
    header = _OUR_TABLE.search(text)
    if header is None:
        return {}
    rest = text[header.end() :]
    end = _NEXT_TABLE.search(rest)
    try:
        return {"tool": {"minigrad": tomllib.loads(rest[: end.start()] if end else rest)}}
    except RecursionError:
        raise ConfigError(f"{_shown(path)}: [tool.minigrad] is nested too deeply to read") from None


def find_config(start: Path | None = None) -> Config:
    """The `[tool.minigrad]` settings of the project the working folder is in."""
    path = _nearest_pyproject((start or Path.cwd()).resolve())
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
        data = _parsed(text, path)
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read {_shown(path)}: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{_shown(path)} is not valid TOML: {err}") from None
    tool = data.get("tool", {})
    # `tool = "see docs"` or `[[tool]]`: valid TOML, and no [tool.minigrad] table in it.
    table = tool.get("minigrad") if isinstance(tool, dict) else None
    if table is None:
        return Config()
    if not isinstance(table, dict):
        raise ConfigError(f"{_shown(path)}: [tool.minigrad] must be a table")
    config = Config(path)
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"{config.origin}: unknown key {key!r}{hint} (known: {', '.join(KEYS)})"
            )
        dest, check = KEYS[key]
        try:
            checked = check(value)
        except _Refused as err:
            raise ConfigError(f"{config.origin}: {key}: {err}") from None
        except TypeError as err:
            raise ConfigError(f"{config.origin}: {key} must be {err}, got {value!r}") from None
        if key == "engine":
            checked = config.path_value(checked)
        elif key == "tests":
            checked = tuple(_shown(config.folder / t) for t in checked)
        values[dest] = checked
    return Config(path, values)
