"""The engine adapter: everything minigrad knows about a foreign engine, in one place.

* :mod:`~minigrad_tool.adapter.spec` finds the engine's source (`PATH_OR_MODULE[:CLASS]`)
  and reads it once;
* :mod:`~minigrad_tool.adapter.loader` imports it from that snapshot, in a child;
* :mod:`~minigrad_tool.adapter.discovery` finds its node class, where nodes keep their
  children, every op, each op's backward step and the precision it computes in;
* :mod:`~minigrad_tool.adapter.nodes` reads and writes its nodes.

Nothing else in minigrad inspects an engine: it asks the :class:`Profile`
found here, or a :class:`Loaded` engine inside a child.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from minigrad_tool.adapter.discovery import Redirect, discover
from minigrad_tool.adapter.loader import import_engine, install_snapshot
from minigrad_tool.adapter.nodes import NodeAccess
from minigrad_tool.adapter.profile import Op, Precision, Profile, Step, Sweep, apply_op
from minigrad_tool.adapter.spec import (
    EngineError,
    EngineSpec,
    parse_spec,
    spec_for_module,
)
from minigrad_tool.faults import set_engine_paths
from minigrad_tool.isolation import Limits, Reporter, run_isolated

__all__ = [
    "EngineError",
    "EngineSpec",
    "Loaded",
    "NodeAccess",
    "Op",
    "Precision",
    "Profile",
    "Step",
    "Sweep",
    "apply_op",
    "engine_paths",
    "load_in_child",
    "load_in_process",
    "parse_spec",
    "profile_engine",
]


@dataclass
class Loaded:
    """An engine imported in this process: its module, node class and how to reach its nodes."""

    spec: EngineSpec
    module: ModuleType
    cls: type
    access: NodeAccess
    profile: Profile


def engine_paths(spec: EngineSpec) -> tuple[set[str], tuple[str, ...]]:
    """The files whose frames count as the engine's: its file, and its package."""
    dirs: tuple[str, ...] = ()
    if "." in spec.module:
        top = spec.module.count(".")
        dirs = (str(spec.path.parents[top - 1] if top else spec.path.parent),)
    return {str(spec.path)}, dirs


def _import(spec: EngineSpec, reporter: Reporter | None) -> ModuleType:
    if reporter is not None:
        reporter.phase("importing the engine")
    set_engine_paths(*engine_paths(spec))
    return import_engine(spec)


def load_in_child(spec: EngineSpec, profile: Profile, reporter: Reporter | None) -> Loaded:
    """Import the engine from its snapshot (call in a child): the class the profile names."""
    install_snapshot(spec)
    module = _import(spec, reporter)
    cls = getattr(module, profile.class_name)
    return Loaded(spec, module, cls, NodeAccess(cls, profile.children_attr), profile)


def load_in_process(text: str) -> Loaded:
    """Import and discover an engine in this process (for tests and the pytest route only).

    The command-line tools never do this: they use :func:`profile_engine`.
    """
    spec = parse_spec(text)
    set_engine_paths(*engine_paths(spec))
    if spec.sys_path is not None and spec.sys_path not in sys.path:
        sys.path.insert(0, spec.sys_path)
    try:
        module = import_engine(spec)
        profile = discover(spec, module)
    except Redirect as moved:
        return load_in_process(f"{moved.module}:{moved.class_name}")
    except EngineError:
        raise
    except Exception as err:
        raise EngineError(f"engine {text!r} failed to load: {type(err).__name__}: {err}") from err
    cls = getattr(module, profile.class_name)
    return Loaded(spec, module, cls, NodeAccess(cls, profile.children_attr), profile)


def _discover_in_child(spec: EngineSpec, reporter: Reporter) -> str:
    install_snapshot(spec)
    module = _import(spec, reporter)
    try:
        return discover(spec, module, reporter.phase).to_json()
    except Redirect as moved:
        return json.dumps({"redirect": moved.module, "class": moved.class_name})
    except EngineError as err:  # what discovery found unusable: said as it is, exit 2
        return json.dumps({"unusable": str(err)})


def profile_engine(
    spec: EngineSpec,
    limits: Limits,
    on_phase: Callable[[str], None] | None = None,
    output: str | None = None,
) -> tuple[EngineSpec, Profile]:
    """Discover the engine in a child; EngineError (exit 2) if it cannot be used.

    A spec naming a package that re-exports the class is followed to the module
    that defines it, since that is the source to check and mutate.
    """
    for _ in range(2):
        outcome = run_isolated(
            lambda r, spec=spec: _discover_in_child(spec, r),  # type: ignore[misc]
            limits,
            per_phase=True,
            on_phase=on_phase,
            output=output,
        )
        if not outcome.ok:
            raise EngineError(f"engine {spec.text!r} could not be loaded: {outcome.message}")
        data = json.loads(outcome.value)
        if "unusable" in data:
            raise EngineError(data["unusable"])
        if "redirect" not in data:
            return spec, Profile.from_dict(data)
        spec = spec_for_module(spec, data["redirect"], data["class"])
    raise EngineError(f"engine {spec.text!r}: the class moved twice while loading")


def source_path(profile: Profile) -> Path:
    return Path(profile.path)
