"""The engine adapter: everything minigrad knows about a foreign engine, in one place.

* :mod:`~minigrad_tool.adapter.spec` finds the engine's source (`PATH_OR_MODULE[:CLASS]`)
  and reads it once;
* :mod:`~minigrad_tool.adapter.loader` imports it from that snapshot, in a child;
* :mod:`~minigrad_tool.adapter.discovery` finds its node class, where nodes keep their
  children, every op, each op's backward step and the precision it computes in (its jobs:
  ``classes``, ``candidates``, ``steps``, ``points``, ``precision``, on one ``session``);
* :mod:`~minigrad_tool.adapter.nodes` reads and writes its nodes.

Nothing else in minigrad inspects or loads an engine: it asks the
:class:`Profile` found here, a :class:`Loaded` engine inside a child, or a host
made by :func:`engine_host` (the battery's cases, probes) or prepared by
:func:`serve_for_tests` (your tests).  Which frames count as the engine's, and
so whose failure an exception is, is decided here too (:func:`engine_paths`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from minigrad_tool.adapter.classes import Redirect, TensorEngine
from minigrad_tool.adapter.discovery import discover
from minigrad_tool.adapter.loader import (
    SnapshotFinder,
    forget_engine_folder,
    forget_modules,
    forget_other_engines,
    import_engine,
    install_snapshot,
    put_first_on_path,
)
from minigrad_tool.adapter.native import trace_compiled_calls
from minigrad_tool.adapter.nodes import (
    NodeAccess,
    alias_backward,
    alias_grad,
    coerce_numbers,
    install_leaf_factory,
    remember_backward_resets,
)
from minigrad_tool.adapter.profile import Op, Precision, Profile, Step, Sweep, apply_op
from minigrad_tool.adapter.script import script_failure, script_loop
from minigrad_tool.adapter.session import Progress, quiet
from minigrad_tool.adapter.spec import (
    EngineError,
    EngineSpec,
    EngineWrong,
    parse_spec,
    spec_for_module,
)
from minigrad_tool.faults import set_engine_paths
from minigrad_tool.isolation import (
    Host,
    Limits,
    Outcome,
    Reporter,
    Slots,
    Started,
    enter_scratch,
    scratch_folder,
)

__all__ = [
    "Discovery",
    "EngineError",
    "EngineSpec",
    "EngineWrong",
    "Loaded",
    "NodeAccess",
    "Op",
    "Precision",
    "Profile",
    "Step",
    "Sweep",
    "apply_op",
    "engine_host",
    "engine_paths",
    "load_in_child",
    "load_in_process",
    "parse_spec",
    "profile_engine",
    "serve_for_tests",
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
    return {str(p) for p in spec.files}, dirs


def _test_folders(paths: Sequence[str]) -> tuple[str, ...]:
    return tuple(
        str(Path(p).resolve().parent if Path(p).is_file() else Path(p).resolve()) for p in paths
    )


def serve_for_tests(spec: EngineSpec, test_paths: Sequence[str]) -> SnapshotFinder:
    """In a child that will run the user's tests: the engine from its snapshot, under whatever
    name the tests import it (the finder returned records each name); a failure in the engine
    or the tests is theirs, not minigrad's."""
    forget_modules(test_paths)  # this process may have run tests of the same names
    forget_other_engines(spec)  # the tests must import this engine, not one of the same name
    forget_engine_folder(spec)  # nor a sibling module bound to an earlier copy of it
    finder = install_snapshot(spec)
    set_engine_paths({str(p) for p in spec.files}, _test_folders(test_paths))
    return finder


def engine_host(
    spec: EngineSpec,
    profile: Profile,
    tasks: dict[str, Callable[[Loaded, dict[str, Any], Reporter], Any]],
    limits: Limits,
    *,
    jobs: int = 1,
    on_phase: Callable[[str], None] | None = None,
    prepare: Callable[[Loaded], None] | None = None,
    slots: Slots | None = None,
) -> Host:
    """A host with the engine imported from its snapshot, serving `tasks` in its children.

    `prepare(engine)` runs once in the host after the import: what it builds
    there, every task's child inherits.
    """

    scratch = scratch_folder()  # made here, in the parent, which removes it

    def setup(serve: Callable[[Any], None], reporter: Reporter) -> None:
        enter_scratch(scratch)  # what the engine writes as it runs lands there
        engine = load_in_child(spec, profile, reporter)
        if prepare is not None:
            prepare(engine)
        serve(engine)
        return None

    return Host(setup, tasks, limits, jobs=jobs, on_phase=on_phase, slots=slots)


def _discover(
    spec: EngineSpec, module: ModuleType, progress: Progress, avoid: Mapping[str, str]
) -> Profile:
    """The scalar discovery, or the tensor one for nodes that hold arrays (numpy from here).

    Nodes that take arrays but hold a plain number when made from one (an engine written for
    numbers that numpy's operators happen to carry through) are checked as a scalar engine
    when the tensor discovery cannot check them, and the note says why.
    """
    try:
        return discover(spec, module, progress, avoid)
    except TensorEngine as found:
        from minigrad_tool.tensor.discovery import discover_tensor

        try:
            return discover_tensor(spec, module, found.cls, found.data_attr, progress, avoid)
        except EngineError as refused:
            if not found.scalar_too:
                raise
            note = (
                "its nodes take arrays too, but it cannot be checked as a tensor engine "
                f"({refused.why}); "
                f"{found.cls.__name__}(0.5) holds a plain number: checked as a scalar engine"
            )
            try:
                return discover(spec, module, progress, avoid, as_scalar=note)
            except EngineError:
                raise refused from None


_IMPORTING = "importing the engine"  # the phase a child reports as it imports the engine


def _import(spec: EngineSpec, reporter: Reporter | None) -> ModuleType:
    if reporter is not None:
        reporter.phase(_IMPORTING)
    set_engine_paths(*engine_paths(spec))
    return import_engine(spec)


def load_in_child(spec: EngineSpec, profile: Profile, reporter: Reporter | None) -> Loaded:
    """Import the engine from its snapshot (call in a child): the class the profile names."""
    install_snapshot(spec)
    module = _import(spec, reporter)
    cls = getattr(module, profile.class_name)
    install_leaf_factory(module, cls, profile.leaf_factory)
    remember_backward_resets(cls, profile.backward_resets)  # the unmutated engine's convention
    alias_backward(cls, spec.backward)  # backwards(), where that is its name, as discovery found
    alias_grad(cls, profile.grad_name)  # .gradient, likewise
    everywhere = [m for m in profile.coerced if m not in profile.coerced_for_minigrad]
    # x + 2.0 as x + Value(2.0), where + takes nodes only
    coerce_numbers(cls, everywhere, profile.coerced_for_minigrad)
    # a compiled op's exception is the engine's: traced by a call of its own (adapter.native)
    trace_compiled_calls(cls, [*(op.method for op in profile.ops if op.compiled), "backward"])
    return Loaded(
        spec, module, cls, NodeAccess(cls, profile.children_attr, profile.data_attr), profile
    )


def load_in_process(text: str) -> Loaded:
    """Import and discover an engine in this process (for tests and the pytest route only).

    The command-line tools never do this: they use :func:`profile_engine`.
    """
    spec = parse_spec(text)
    set_engine_paths(*engine_paths(spec))
    put_first_on_path(spec.sys_path)
    try:
        module = import_engine(spec)
        profile = _discover(spec, module, quiet, {})
    except Redirect as moved:
        return load_in_process(f"{moved.module}:{moved.class_name}")
    except EngineError:
        raise
    except Exception as err:
        raise EngineError(f"engine {text!r} failed to load: {type(err).__name__}: {err}") from err
    cls = getattr(module, profile.class_name)
    install_leaf_factory(module, cls, profile.leaf_factory)
    return Loaded(
        spec, module, cls, NodeAccess(cls, profile.children_attr, profile.data_attr), profile
    )


def _discover_in_child(
    spec: EngineSpec,
    reporter: Reporter,
    avoid: Mapping[str, str],
    backward_budget: float | None,
    scratch: str,
) -> str:
    """Discovery in a child; `backward_budget`: the seconds an op's backward pass may take
    (once one op's backward pass has hung, the next is given half the deadline)."""
    enter_scratch(scratch)  # what the engine writes as it runs lands there, not in your tree
    install_snapshot(spec)
    try:
        module = _import(spec, reporter)
    except Exception as err:
        script = script_failure(err, spec)  # a script at the file's top level raised
        if not script:
            raise
        return json.dumps({"unusable": f"engine {spec.text!r} could not be loaded: {script}"})

    def progress(text: str, /, **data: Any) -> None:
        budget = backward_budget if data.get("stage") == "backward" else None
        reporter.phase(text, budget=budget, **data)

    try:
        return _discover(spec, module, progress, avoid).to_json()
    except Redirect as moved:
        return json.dumps({"redirect": moved.module, "class": moved.class_name})
    except EngineWrong as err:  # wrong in a way that stops every check: exit 1
        return json.dumps({"wrong": str(err)})
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
    return Discovery(spec, limits, output).result(on_phase)


class Discovery:
    """:func:`profile_engine`, its first child started at once: the caller does other work
    while the engine is discovered, then asks for the `result` (or `stop`s it)."""

    def __init__(self, spec: EngineSpec, limits: Limits, output: str | None = None) -> None:
        self.spec, self.limits, self.output = spec, limits, output
        self.scratch = scratch_folder()  # the discovery children's working folder
        self.first: Started | None = self._start(spec, {}, None)

    def _start(self, spec: EngineSpec, avoid: Mapping[str, str], budget: float | None) -> Started:
        scratch = self.scratch
        return Started(
            lambda r: _discover_in_child(spec, r, avoid, budget, scratch),
            self.limits,
            per_phase=True,
            output=self.output,
        )

    def stop(self) -> None:
        if self.first is not None:
            self.first.stop()
            self.first = None

    def result(self, on_phase: Callable[[str], None] | None = None) -> tuple[EngineSpec, Profile]:
        """The spec of the class found (it may have moved) and its profile."""
        spec, limits = self.spec, self.limits
        avoid: dict[str, str] = {}
        in_backward: list[str] = []  # methods whose backward pass killed the child
        moves = 0
        while True:
            # Once an op's backward pass has hung, the next gets half the deadline: a second
            # hang there blames backward() itself, within 1.5 deadlines of the start.
            budget = limits.timeout / 2 if in_backward else None
            child, self.first = self.first or self._start(spec, dict(avoid), budget), None
            outcome = child.wait(on_phase)
            killed = _killed_in_op(outcome)
            if killed is not None and killed[1] == "backward" and outcome.status == "timeout":
                in_backward.append(killed[0])
                if len(in_backward) == 2:  # a hang costs a deadline: blame the backward pass
                    raise EngineError(
                        f"engine {spec.text!r}: the backward pass hangs on the graphs of "
                        f"{' and '.join(in_backward)} ({outcome.message}), in backward() "
                        "itself or in steps every op's graph runs; nothing can be checked"
                    )
            if killed is not None and killed[0] not in avoid and len(avoid) < _MOST_KILLING_OPS:
                avoid[killed[0]] = outcome.message  # a broken op: discover the others without
                continue
            if not outcome.ok:
                earlier = f" (so did calling {', '.join(avoid)} before)" if avoid else ""
                hung = outcome.status == "timeout" and outcome.phase == _IMPORTING
                raise EngineError(
                    f"engine {spec.text!r} could not be loaded: {outcome.message}{earlier}"
                    + (script_loop(spec) if hung else "")
                )
            data = json.loads(outcome.value)
            if "unusable" in data:
                raise EngineError(data["unusable"])
            if "wrong" in data:
                raise EngineWrong(data["wrong"])
            if "redirect" not in data:
                found = Profile.from_dict(data)
                return spec.with_files(found.step_files), found
            moves += 1
            if moves == 2:
                raise EngineError(f"engine {spec.text!r}: the class moved twice while loading")
            spec = spec_for_module(spec, data["redirect"], data["class"])


# Ops that may kill discovery before the engine is given up as unusable: each costs a child,
# and a hang costs a whole deadline.
_MOST_KILLING_OPS = 4


def _killed_in_op(outcome: Outcome) -> tuple[str, str] | None:
    """The method whose call killed the discovery child (it exited, hung, crashed or ran out
    of memory there), and the stage ("backward" for its backward pass), from the phase's
    data: discovery names the method of every phase that runs an op's code."""
    if outcome.ok or outcome.status not in ("timeout", "died", "memory"):
        return None
    method = outcome.where.get("method")
    if not isinstance(method, str):
        return None
    return method, str(outcome.where.get("stage", ""))


def source_path(profile: Profile) -> Path:
    return Path(profile.path)
