"""`--since REF`: judge only the ops whose code changed since a git ref (CI on pull requests).

An op's code is the functions its mutants replace: its backward steps and its
forward.  Each is compared, as an AST (so moving code or editing a comment is
no change), with the function of the same qualified name in the engine's file
at REF.  Conservative where it cannot tell: when `backward()` itself, a helper
several ops share, code outside every op's functions (a constant, an import),
another file the run reads (a test, a conftest, the settings, another module of
the engine's package) changed, or the engine's file is new, every op is judged
and the reason is said.  git is only asked to show files as they were
(`git show REF:./file`): it writes nothing, not even its index.
"""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minigrad_tool.adapter import EngineSpec, Profile
from minigrad_tool.adapter.source import SourceIndex
from minigrad_tool.adapter.spec import parse_snapshot
from minigrad_tool.mutation.sites import Site

__all__ = ["Changes", "Code", "SinceError", "changes_since", "code_digests"]

GIT_TIMEOUT = 30.0  # seconds for one `git show`: a local object read takes milliseconds


class SinceError(Exception):
    """The ref cannot be read: not a git repository, an unknown ref, no git."""


@dataclass(frozen=True)
class Changes:
    """What changed since the ref, and so which ops a run judges."""

    ref: str
    judged: tuple[str, ...]  # the ops whose mutants are judged
    unchanged: tuple[str, ...]  # the ops not judged: their code is as it was at the ref
    everything: str = ""  # why every op is judged, if it is

    def describe(self) -> str:
        if self.everything:
            return f"--since {self.ref}: every op judged: {self.everything}"
        if not self.judged:
            return f"--since {self.ref}: no op's code changed"
        return (
            f"--since {self.ref}: judging {', '.join(self.judged)} (changed); not judged, "
            f"unchanged since {self.ref}: {', '.join(self.unchanged) or 'none'}"
        )


def at_ref(path: Path, ref: str) -> bytes | None:
    """The file's bytes at `ref` (None if it was not there then)."""
    try:
        done = subprocess.run(
            ["git", "show", f"{ref}:./{path.name}"],
            cwd=path.parent,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except FileNotFoundError:
        raise SinceError("--since needs git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise SinceError(f"--since {ref}: git show took over {GIT_TIMEOUT:g} s") from None
    if done.returncode == 0:
        return done.stdout
    said = done.stderr.decode(errors="replace").strip().splitlines()
    if any("does not exist in" in line or "exists on disk, but not in" in line for line in said):
        return None
    raise SinceError(f"--since {ref}: git cannot show {path} there: {said[0] if said else '?'}")


def _functions(index: SourceIndex) -> dict[str, list[str]]:
    """Each qualified name's functions as AST dumps (lambdas share names), line-free."""
    found: dict[str, list[str]] = defaultdict(list)
    for function in index.functions.values():
        found[function.qualname].append(ast.dump(function.node))
    return {name: sorted(dumps) for name, dumps in found.items()}


def _outside_functions(tree: ast.Module) -> str:
    """The module with every function's body emptied: its constants, imports, classes.  The
    bodies are emptied in place and put back (a copy of the module took a third of this)."""
    bodies: list[tuple[ast.AST, Any]] = []
    for node in ast.walk(tree):  # outermost first: an inner function is found before it is cut
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            bodies.append((node, node.body))
    try:
        for node, _ in bodies:
            node.body = ast.Constant(None) if isinstance(node, ast.Lambda) else [ast.Pass()]  # type: ignore[attr-defined]
        return ast.dump(tree)
    finally:
        for node, body in bodies:
            node.body = body  # type: ignore[attr-defined]


def _shown(path: Path) -> str:
    """The path from the working folder when it is below it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _changed_elsewhere(others: Sequence[Path], ref: str) -> str:
    for path in others:
        try:
            now = path.read_bytes()
        except OSError:
            continue
        if at_ref(path, ref) != now:
            return f"{_shown(path)} changed"
    return ""


def _owner(file: str, qualname: str, owner: dict[tuple[str, str], str]) -> str | None:
    """The op whose function holds this one (a step nested in the op's method is the op's)."""
    while qualname:
        if (file, qualname) in owner:
            return owner[file, qualname]
        qualname = qualname.rpartition(".")[0]
    return None


def _old_index(spec: EngineSpec, path: Path, ref: str) -> SourceIndex | str:
    """A file of the engine as it was at `ref`, parsed; or why it cannot be compared."""
    old = at_ref(path, ref)
    name = spec.name_of(str(path))
    if old is None:
        return f"{name} is new since {ref}"
    try:
        return parse_snapshot(old)
    except (SyntaxError, ValueError, UnicodeDecodeError):
        return f"{name} did not parse at {ref}"


def changes_since(
    spec: EngineSpec, profile: Profile, sites: Sequence[Site], others: Sequence[Path], ref: str
) -> Changes:
    """Which ops' code changed since `ref`, in the engine's file and the other files of its
    package that were mutated; `others`: the other files the verdict depends on."""
    op_sites = [s for s in sites if s.kind == "op" and s.op in {o.name for o in profile.ops}]
    names = tuple(dict.fromkeys(s.op for s in sites))
    olds: dict[str, SourceIndex] = {}
    for path in spec.files:
        old = _old_index(spec, path, ref)
        if isinstance(old, str):
            return Changes(ref, names, (), old)
        olds["" if path == spec.path else str(path)] = old
    why = _changed_elsewhere([p for p in others if p.resolve() not in spec.files], ref)
    if why:
        return Changes(ref, names, (), why)
    changed: set[tuple[str, str]] = set()
    for file, old_index in olds.items():
        index = spec.index_of(file)
        if _outside_functions(old_index.tree) != _outside_functions(index.tree):
            where = f" in {spec.name_of(file)}" if file else ""
            return Changes(ref, names, (), f"code outside the ops' functions changed{where}")
        before, now = _functions(old_index), _functions(index)
        changed |= {(file, q) for q in before.keys() | now.keys() if before.get(q) != now.get(q)}
    owner = _owners(op_sites)
    owners = {(f, q): _owner(f, q, owner) for f, q in sorted(changed)}
    shared = [q for (_, q), op in owners.items() if op is None]
    if shared:
        return Changes(ref, names, (), f"{', '.join(shared)} changed (no one op's code)")
    judged = tuple(dict.fromkeys(op for op in owners.values() if op is not None))
    return Changes(ref, judged, tuple(n for n in names if n not in judged))


def _owners(sites: Sequence[Site]) -> dict[tuple[str, str], str]:
    """(file, qualname) of each op's steps and forward -> the op."""
    owner: dict[tuple[str, str], str] = {}
    for site in sites:
        if site.kind == "op":
            for region in (*site.steps, *site.forward):
                owner.setdefault((region.unit.file, region.unit.qualname), site.op)
    return owner


@dataclass(frozen=True)
class Code:
    """The engine's code, split as the result cache needs it (`code_digests`)."""

    shared: str  # the code no op with a forward mutant owns, and every module's top level
    ops: dict[str, str]  # op -> its functions' code


def code_digests(spec: EngineSpec, sites: Sequence[Site], owned: set[str]) -> Code:
    """Each op's functions, for the ops in `owned`; one digest of the rest: the code outside
    every op's functions, the functions no op owns, those of the other ops.  As ASTs, like
    `changes_since`: moving code or editing a comment changes nothing."""
    owner = {k: op for k, op in _owners(sites).items() if op in owned}
    shared = hashlib.sha256()
    ops: dict[str, list[str]] = defaultdict(list)
    for path in spec.files:
        file = "" if path == spec.path else str(path)
        index = spec.index_of(file)
        shared.update(f"\0{file}\0".encode() + _outside_functions(index.tree).encode())
        for qualname, dumps in sorted(_functions(index).items()):
            op = _owner(file, qualname, owner)
            text = f"\0{file}:{qualname}\0" + "\0".join(dumps)
            if op is None:
                shared.update(text.encode())
            else:
                ops[op].append(text)
    digests = {op: hashlib.sha256("".join(texts).encode()).hexdigest() for op, texts in ops.items()}
    return Code(shared.hexdigest(), digests)
