"""`minigrad gradcheck` and `minigrad inspect`: call the library, print, choose the exit code."""

from __future__ import annotations

import argparse
from collections import Counter

from minigrad_tool.cli import common
from minigrad_tool.cli.common import FAILED, OK
from minigrad_tool.cli.outputs import Outputs, write_file
from minigrad_tool.report.output import Output

__all__ = ["gradcheck", "inspect"]


def gradcheck(args: argparse.Namespace, out: Output) -> int:
    from minigrad_tool.check import check_engine
    from minigrad_tool.report.check import check_json, print_check

    path = None if args.json in (None, "-") else args.json  # `--json` alone: stdout
    outputs = Outputs.check([("--json", path)], common.reads_of(args, common.engine_spec(args), []))
    spec, profile = common.profile(args, out)
    settings = common.settings(args, profile)
    with common.status(out, "running the battery"):
        report = check_engine(spec, profile, settings, common.limits(args), jobs=args.jobs)
    if args.json == "-":
        out.line(check_json(report))
    else:
        print_check(out, report)
    json_path = outputs.get("--json")
    if json_path is not None:
        write_file(json_path, check_json(report) + "\n")
        out.line(f"wrote {json_path} (the results as JSON)")
    if report.checked == 0:
        out.line(
            f"FAILED: nothing was checked: {profile.class_name} has none of the ops the "
            "battery's cases need, so no gradient was compared",
            "bold red",
        )
        return FAILED
    return FAILED if report.failed else OK


def inspect(args: argparse.Namespace, out: Output) -> int:
    from minigrad_tool.battery import build_battery
    from minigrad_tool.mutation.mutants import generate_mutants
    from minigrad_tool.mutation.results import NO_MUTATE
    from minigrad_tool.report.check import print_profile

    spec, profile = common.profile(args, out)
    settings = common.settings(args, profile)
    generated = generate_mutants(spec, profile)
    counts: dict[str, Counter[str]] = {}
    for mutant in generated.mutants:
        counts.setdefault(mutant.op, Counter())[mutant.operator] += 1
    print_profile(out, profile, build_battery(profile), settings, counts, generated.unreachable)
    if generated.no_mutate:
        keys = ", ".join(m.id for m in generated.no_mutate)
        out.line(f"left out by `{NO_MUTATE}` ({len(generated.no_mutate)}): {keys}", "yellow")
    return OK
