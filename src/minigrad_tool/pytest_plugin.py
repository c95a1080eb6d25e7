"""The pytest plugin: `pytest --minigrad-engine SPEC` adds minigrad's battery to your own run.

Registered through the `pytest11` entry point and inactive unless asked: a
run without `--minigrad-engine` is untouched.  With it, each case of the
battery built for the engine becomes one test item beside your own tests.

Engine code never runs in pytest's process.  The engine is discovered in a
child, and the selected cases run, the first time one is needed, each in a
child with a deadline and a memory limit (as `minigrad gradcheck` runs them).
An engine that calls `os._exit(0)`, segfaults or hangs fails its cases with
that reason; it cannot pass them, end the run or hang it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = ["BatteryCase", "BatteryCollector"]

DEFAULT_TIMEOUT = 60.0


@dataclass
class _State:
    """The engine under test and, once run, every selected case's result."""

    spec: Any
    profile: Any
    settings: Any
    limits: Any
    jobs: int
    results: dict[str, Any] = field(default_factory=dict)
    ran: bool = False
    failed: str = ""  # why the battery could not be run: every item fails saying it

    def result(self, name: str, selected: list[str]) -> Any:
        if not self.ran:
            from minigrad_tool.check import check_engine
            from minigrad_tool.faults import InternalError

            self.ran = True
            try:
                report = check_engine(
                    self.spec,
                    self.profile,
                    self.settings,
                    self.limits,
                    jobs=self.jobs,
                    only=selected,
                )
            except InternalError as err:  # minigrad's own failure: no case has a verdict
                self.failed = f"no verdict, minigrad itself failed: {err}"
            else:
                self.results = {r.case: r for r in report.results}
        if self.failed:
            raise CaseFailed(self.failed)
        return self.results[name]

    def describe(self) -> str:
        return (
            f"minigrad battery on {self.spec.text} ({self.spec.path}), "
            f"class {self.profile.class_name}"
        )


STATE = pytest.StashKey[_State]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("minigrad", "minigrad's gradcheck battery")
    group.addoption(
        "--minigrad-engine",
        default=None,
        metavar="PATH|MODULE[:CLASS]",
        help="add minigrad's battery of gradient checks for this engine to the run",
    )
    group.addoption(
        "--minigrad-backward",
        default=None,
        metavar="NAME",
        help="the method of a node that runs the whole backward pass, where it is not "
        "backward() nor a name minigrad finds (backwards(), backprop(), ...)",
    )
    group.addoption(
        "--minigrad-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"deadline of loading the engine and of each case (default: {DEFAULT_TIMEOUT:g})",
    )
    group.addoption(
        "--minigrad-memory",
        type=int,
        default=None,
        metavar="MIB",
        help="address-space limit of each child that runs engine code",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Discover the engine (in a child): a bad spec is one usage error before any test runs."""
    text = config.getoption("minigrad_engine")
    if text is None:
        return
    from minigrad_tool.adapter import EngineError, parse_spec, profile_engine
    from minigrad_tool.check import settings_for
    from minigrad_tool.isolation import DEFAULT_MEMORY_MIB, Limits

    memory = config.getoption("minigrad_memory") or DEFAULT_MEMORY_MIB
    text = _resolved(text, Path.cwd(), config.rootpath)
    backward = config.getoption("minigrad_backward")
    if backward is not None:  # checked as the command's --backward is
        from minigrad_tool.cli.arguments import method_name

        try:
            backward = method_name(backward)
        except argparse.ArgumentTypeError as err:
            raise pytest.UsageError(f"--minigrad-backward: {err}") from None
    try:
        limits = Limits(config.getoption("minigrad_timeout"), memory)
        spec, profile = profile_engine(parse_spec(text, backward), limits)
    except (EngineError, ValueError) as err:
        said = str(err).replace(  # this plugin's flag, where the CLI's is named
            "--backward NAME, or `backward` in [tool.minigrad]", "--minigrad-backward NAME"
        )
        raise pytest.UsageError(f"--minigrad-engine {text}: {said}") from None
    jobs = os.cpu_count() or 1
    config.stash[STATE] = _State(spec, profile, settings_for(profile), limits, jobs)


def _resolved(text: str, here: Path, root: Path) -> str:
    """A path as the CLI takes it, from the folder pytest runs in; from a subfolder of the
    project, a path that exists from pytest's rootdir (where pyproject.toml is) instead."""
    from minigrad_tool.adapter.spec import spec_file

    target = spec_file(text)
    if target is None:
        return text  # a module name: imported as the CLI imports it
    if (here / target).exists() or Path(target).is_absolute():
        return text
    if (root / target).exists():
        return str(root / text)
    raise pytest.UsageError(
        f"--minigrad-engine {text}: no such file from here ({here}) nor from pytest's "
        f"rootdir ({root}); give the path from one of them"
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    state = config.stash.get(STATE, None)
    return state.describe() if state is not None else None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The summary names the engine too (`-q` hides the header), and first what the battery
    finds wrong in it: the op, the input, expected against actual, the line."""
    state = terminalreporter.config.stash.get(STATE, None)
    if state is None:
        return
    findings = [r.finding for r in state.results.values() if r.finding is not None]
    if findings:
        from minigrad_tool.findings import by_op

        grouped = by_op(findings)
        ops = ", ".join(grouped) if grouped else "graph cases"
        terminalreporter.section("minigrad: your engine is wrong", sep="=", red=True, bold=True)
        terminalreporter.write_line(
            f"the battery finds {state.spec.text} wrong in {ops}; fix that first", red=True
        )
        for op, found in grouped.items():
            terminalreporter.write_line(f"  {op}: {found[0].where}: {found[0].evidence()}")
        for f in findings:
            if not f.op:
                terminalreporter.write_line(f"  case {f.case}: {f.reason or f.first_line}")
    terminalreporter.write_line(state.describe())


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    collector = BatteryCollector.from_parent(session, name=f"minigrad[{state.spec.text}]")
    collector.state = state
    items.extend(collector.collect())


class CaseFailed(Exception):
    """A battery case failed on the engine: its detail is the report."""


class BatteryCollector(pytest.Collector):
    """The battery's cases for one engine, as test items."""

    state: _State

    def collect(self) -> Iterator[pytest.Item]:
        from minigrad_tool.battery import build_battery
        from minigrad_tool.check import crashed

        for result in crashed(self.state.profile):  # ops that crash in the engine's code
            yield BatteryCase.from_parent(self, name=result.case)
        for case in build_battery(self.state.profile).cases:
            yield BatteryCase.from_parent(self, name=case.name)
        yield SomethingChecked.from_parent(self, name=CHECKED)


CHECKED = "something_was_checked"


class SomethingChecked(pytest.Item):
    """Fails when no case of the battery ran to a verdict: a pass that checked nothing is none."""

    def runtest(self) -> None:
        state: _State = self.parent.state  # type: ignore[union-attr]
        selected = [i.name for i in self.session.items if isinstance(i, BatteryCase)]
        results = [state.result(name, selected) for name in selected]
        if not any(r.status != "skip" for r in results):
            raise CaseFailed(
                f"nothing was checked: {state.profile.class_name} has none of the ops the "
                "battery's cases need (or every case was deselected), so no gradient was compared"
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CaseFailed):
            return f"minigrad: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        state: _State = self.parent.state  # type: ignore[union-attr]
        return state.spec.path, None, "minigrad: something was checked"


class BatteryCase(pytest.Item):
    """One case of the battery; its verdict comes from a child that ran it."""

    def runtest(self) -> None:
        state: _State = self.parent.state  # type: ignore[union-attr]
        selected = [i.name for i in self.session.items if isinstance(i, BatteryCase)]
        result = state.result(self.name, selected)
        if result.status == "skip":
            pytest.skip(result.detail)
        if result.failed:
            raise CaseFailed(result.detail)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        state: _State = self.parent.state  # type: ignore[union-attr]
        if isinstance(excinfo.value, CaseFailed) and state.failed:
            return f"minigrad case {self.name}: {excinfo.value}"
        if isinstance(excinfo.value, CaseFailed):
            return f"minigrad case {self.name} failed:\n{excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        state: _State = self.parent.state  # type: ignore[union-attr]
        return state.spec.path, None, f"minigrad case {self.name}"
