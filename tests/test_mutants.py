"""Mutant generation: operators, coverage, exclusions, IDs, dedupe."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from minigrad.engines import load_engine
from minigrad.mutation.mutants import (
    MutationError,
    find_sites,
    generate_mutants,
    make_key,
    parse_key,
)
from minigrad.mutation.operators import OPERATORS, REQUIRED

MICROSTYLE = Path(__file__).parent / "engines" / "microstyle.py"
OUR_SOURCE = load_engine().source
OUR_MUTANTS = generate_mutants(OUR_SOURCE)


class TestCoverage:
    def test_every_op_gets_every_required_operator(self) -> None:
        """Each op with a _backward has sign, assign and swap mutants."""
        ops = {site.op for site in find_sites(ast.parse(OUR_SOURCE)) if site.kind == "op"}
        assert ops == {"add", "sub", "mul", "div", "pow", "neg", "relu", "tanh", "exp", "log"}
        for op in ops:
            have = {m.operator for m in OUR_MUTANTS if m.op == op}
            assert set(REQUIRED) <= have, f"{op} lacks {set(REQUIRED) - have}"

    def test_every_operator_is_used(self) -> None:
        """Each registered operator produces mutants on our engine."""
        assert {m.operator for m in OUR_MUTANTS} == set(OPERATORS)

    def test_backward_sweep_is_mutated(self) -> None:
        """topo mutants reverse the order, drop the visited check and reseed."""
        topo = {m.replacement for m in OUR_MUTANTS if m.operator == "topo"}
        assert {"topo", "True", "2.0"} <= topo


class TestExclusions:
    def test_labels_and_repr_never_mutated(self) -> None:
        """No mutant touches an op label or __repr__."""
        tree = ast.parse(OUR_SOURCE)
        repr_lines = {
            line
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name == "__repr__"
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
        }
        for m in OUR_MUTANTS:
            assert m.function != "__repr__"
            assert m.start[0] not in repr_lines
            assert '"' not in m.original and "'" not in m.original, m.id


class TestIdentity:
    def test_sub_sign_is_the_lab_bug(self) -> None:
        """sub-sign: the right operand of __sub__ loses its minus."""
        m = next(m for m in OUR_MUTANTS if m.id == "sub-sign")
        assert (m.function, m.original, m.replacement) == (
            "__sub__",
            "other.grad -= out.grad",
            "other.grad += out.grad",
        )
        assert "-        other.grad -= out.grad" in m.diff(OUR_SOURCE)
        assert "+        other.grad += out.grad" in m.diff(OUR_SOURCE)

    def test_ids_are_unique_and_stable(self) -> None:
        """IDs are unique and the same on a second generation."""
        ids = [m.id for m in OUR_MUTANTS]
        assert len(ids) == len(set(ids))
        assert ids == [m.id for m in generate_mutants(OUR_SOURCE)]
        assert {"add-sign", "mul-swap-2", "backward-topo"} <= set(ids)

    @pytest.mark.parametrize(
        ("key", "parts"), [("sub-sign", ("sub", "sign", 1)), ("mul-swap-12", ("mul", "swap", 12))]
    )
    def test_key_round_trip(self, key: str, parts: tuple[str, str, int]) -> None:
        """make_key and parse_key are inverses."""
        assert parse_key(key) == parts
        assert make_key(*parts) == key

    @pytest.mark.parametrize("bad", ["sub", "a-b-c-d", "sub-sign-x"])
    def test_parse_key_rejects(self, bad: str) -> None:
        """Malformed IDs are rejected with the expected form."""
        with pytest.raises(ValueError, match="expected <op>-<operator>"):
            parse_key(bad)

    def test_no_duplicates_or_identity(self) -> None:
        """No mutant equals the original or another mutant after normalization."""
        forms = [ast.dump(ast.parse(m.source)) for m in OUR_MUTANTS]
        assert len(forms) == len(set(forms))
        assert ast.dump(ast.parse(OUR_SOURCE)) not in forms

    def test_span_patch_keeps_everything_else(self) -> None:
        """A mutant differs from the source only on its own lines."""
        for m in OUR_MUTANTS[:40]:
            before, after = OUR_SOURCE.splitlines(), m.source.splitlines()
            assert len(before) == len(after)
            changed = [i + 1 for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
            assert changed == [m.start[0]], m.id

    def test_commutative_operands_are_not_swapped(self) -> None:
        """Swapping the operands of + or * would be equivalent, so only -, / and ** swap."""
        swapped = [m for m in OUR_MUTANTS if m.description == "operands swap"]
        assert swapped
        for m in swapped:
            node = ast.parse(m.original, mode="eval").body
            assert isinstance(node, ast.BinOp)
            assert isinstance(node.op, ast.Sub | ast.Div | ast.Pow), m.id


class TestOtherEngines:
    def test_microstyle_engine(self) -> None:
        """A micrograd-style engine gets mutants for each of its closures and its sweep."""
        mutants = generate_mutants(MICROSTYLE.read_text())
        assert {m.op for m in mutants} == {"add", "mul", "pow", "relu", "backward"}
        assert {m.replacement for m in mutants if m.operator == "topo"} >= {"topo", "True", "2"}

    @pytest.mark.parametrize(
        ("source", "message"),
        [
            ("x = 1\n", "no top-level `class Value`"),
            (
                "class Value:\n    def __add__(self, o):\n        return o\n",
                "no `_backward` closures or `_<op>_backward` steps",
            ),
            ("class Value(:\n", "does not parse"),
        ],
    )
    def test_unmutatable_engines(self, source: str, message: str) -> None:
        """Engines without closures to mutate are a clear MutationError."""
        with pytest.raises(MutationError, match=message):
            generate_mutants(source)

    def test_unknown_operator(self) -> None:
        """An unknown operator name lists the valid ones."""
        with pytest.raises(MutationError, match=r"unknown operator.*bogus.*choose from sign"):
            generate_mutants(OUR_SOURCE, ["sign", "bogus"])
