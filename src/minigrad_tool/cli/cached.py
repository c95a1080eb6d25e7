"""`mutate`'s use of the result cache (mutation.cache): what a run's verdicts depend on.

The run is named by the command's settings and the engine's path; its key adds
the bytes of everything it reads.  The files counted go beyond those no output
may land on (`reads`): every file in the test folders (data a test loads), the
modules beside an engine that is not in a package (it may import them), and
pytest's configuration files where pytest looks for them.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
from collections.abc import Sequence
from pathlib import Path

from minigrad_tool.adapter import EngineSpec, Profile
from minigrad_tool.bytecode import cache_folder
from minigrad_tool.installed import source_files
from minigrad_tool.mutation import cache
from minigrad_tool.mutation.campaign import shard_of
from minigrad_tool.mutation.judging import CampaignConfig
from minigrad_tool.mutation.mutants import Generated
from minigrad_tool.mutation.results import Campaign
from minigrad_tool.mutation.since import code_digests

__all__ = ["RunCache"]

# The options a verdict depends on; output paths, --format, --verbose and --jobs do not
# change one (a verdict never depends on how many children ran at once).
VERDICT_OPTIONS = (
    "engine",
    "backward",
    "definitions_only",
    "tests",
    "judge",
    "operators",
    "timeout",
    "memory",
    "matrix",
    "shard",
    "groups",
    "eps",
    "atol",
    "rtol",
    "fast",
    "any_subgradient",
)
PYTEST_CONFIGS = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


# A folder under a test folder that holds no test input (beside those installed.SKIPPED
# names, and environments): mutmut's copies of the project.
MUTMUT_FOLDER = "mutants"


# How the reports `mutate` and `merge` write begin (report.schema's JSON, report.html,
# report.ci's JUnit XML): one left in a test folder (`--json report.json` in a flat lab
# project, the folder its tests are in) is no test's data, and counting it would make the
# inputs of every run after the one that wrote it new (tests/test_cache.py writes each).
REPORT_HEADS = (
    b'{\n  "$schema": "https://git.io/mutation-testing-schema",',
    b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>minigrad mutation ',
    b'<?xml version="1.0" encoding="utf-8"?>\n<testsuite name="minigrad mutate ',
)


def _a_report(head: bytes) -> bool:
    return head.startswith(REPORT_HEADS)


def _own_folders() -> set[Path]:
    """minigrad's cache folders (verdicts, bytecode): set inside a test folder
    (`MINIGRAD_RESULTS=cache`), they change with every run, and no run would find its
    verdicts again if they counted."""
    folders = (cache.folder(), cache_folder())
    return {f.resolve() for f in folders if f is not None}


def _test_folder_files(tests: Sequence[str]) -> list[Path]:
    """Every file under the test folders (a test may load data) but what a user did not write
    there (installed.source_files: hidden files, an editor's swap file and coverage's data
    among them; environments), mutmut's copies and minigrad's own folders."""
    found: list[Path] = []
    own = _own_folders()
    for text in tests:
        path = Path(text)
        folder = path if path.is_dir() else path.parent
        leaving_out = own | {(folder / MUTMUT_FOLDER).resolve()}
        found += source_files(folder, "*", leaving_out)
    return found


def _inputs(reads: Sequence[Path], spec: EngineSpec, tests: Sequence[str]) -> list[Path]:
    files = [*reads, *spec.files, *_test_folder_files(tests)]
    if not (spec.path.parent / "__init__.py").exists():
        files += sorted(spec.path.parent.glob("*.py"))
    for folder in {Path.cwd(), *(Path(t).resolve().parent for t in tests)}:
        files += [folder / name for name in PYTEST_CONFIGS if (folder / name).is_file()]
    return files


class RunCache:
    """The kept run of this command, and how to keep this one."""

    def __init__(
        self,
        args: argparse.Namespace,
        spec: EngineSpec,
        reads: Sequence[Path],
        tests: Sequence[str],
    ) -> None:
        settings = repr([(name, getattr(args, name, None)) for name in VERDICT_OPTIONS])
        settings += f"\0{Path.cwd()}\0{spec.path}\0{spec.class_name}\0{spec.orders}"
        self.name = settings
        files = _inputs(reads, spec, tests)
        self.run, self.inputs = cache.inputs_digests(settings, files, spec.files, _a_report)
        self.stored = cache.load(self.name)
        self.keys: cache.MutantKeys | None = None

    @staticmethod
    def wanted(args: argparse.Namespace) -> bool:
        """--no-cache and --suggest (it probes the engine again) run in full; --since reads
        the cache (`reads_only`)."""
        return not (args.no_cache or args.suggest) and cache.folder() is not None

    @staticmethod
    def reads_only(args: argparse.Namespace) -> bool:
        """--since judges some ops, and says what it did not: its campaign is no whole run to
        report again, nor to keep in the place of the last whole one (whose runs and verdicts
        the next run reuses), so it only reads."""
        return bool(args.since)

    def replay(self) -> Campaign | None:
        """The last campaign, if nothing this run reads changed since."""
        if self.stored is None or self.stored.run != self.run:
            return None
        return dataclasses.replace(
            self.stored.campaign, replayed=True, reused=len(self.stored.campaign.results)
        )

    def mutant_keys(
        self, spec: EngineSpec, generated: Generated, profile: Profile, config: CampaignConfig
    ) -> cache.MutantKeys:
        """The keys of this run's mutants.  An op's code counts apart only when the op has a
        forward mutant: a test that runs the op's forward then covers one, so the op is
        among those the test reaches; any other op's code counts for every mutant.
        What discovery found (`profile`) and the settings it gave count too: the battery's
        cases and tolerances come from them, whichever op's code changed them."""
        # Only this shard's mutants carry site markers: an op's forward mutant in another
        # shard would never show that a test runs the op.
        owned = {m.op for m in shard_of(generated.mutants, config.shard) if m.operator == "forward"}
        code = code_digests(spec, generated.sites, owned)
        discovered = f"{profile!r}\0{config.settings!r}"
        inputs = hashlib.sha256(f"{self.inputs}\0{discovered}".encode()).hexdigest()
        self.keys = cache.MutantKeys(inputs, code, self.stored)
        return self.keys

    def save(self, campaign: Campaign) -> None:
        if self.keys is None:  # no campaign was run with this cache's keys
            return
        cache.save(self.name, cache.Stored(self.run, campaign, self.keys.entries, self.keys.cases))
