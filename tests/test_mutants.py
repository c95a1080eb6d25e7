"""Mutant generation and patching: sites in every style, operators, IDs, dedupe, the hit marker.

Modules: minigrad_tool.mutation.sites.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_hostile import minigrad as run_minigrad

from minigrad_tool.adapter import Loaded, load_in_process
from minigrad_tool.adapter.loader import engine_modules
from minigrad_tool.adapter.order import ControlledSet
from minigrad_tool.adapter.source import SourceIndex
from minigrad_tool.mutation.mutants import (
    Generated,
    MutationError,
    generate_mutants,
    make_key,
    parse_key,
)
from minigrad_tool.mutation.operators import OPERATORS
from minigrad_tool.mutation.patch import Patcher
from minigrad_tool.mutation.results import Campaign
from minigrad_tool.mutation.sites import Site
from minigrad_tool.mutation.tensor_operators import TENSOR_OPERATORS
from minigrad_tool.report.terminal import left_out_line

ENGINES = Path(__file__).parent / "engines"
ROOT = Path(__file__).resolve().parents[1]
OURS = load_in_process("minigrad.engine")
OUR_MUTANTS = generate_mutants(OURS.spec, OURS.profile).mutants


def generated(name: str) -> tuple[Loaded, Generated]:
    loaded = load_in_process(str(ENGINES / name))
    return loaded, generate_mutants(loaded.spec, loaded.profile)


def patcher(loaded: Loaded) -> Patcher:
    index = SourceIndex.parse(loaded.spec.source)
    return Patcher(index, str(loaded.spec.path), engine_modules(loaded.spec.path))


@pytest.mark.parametrize(
    "engine", ["microstyle.py", "needle_style.py", "local_grads.py", "function_class.py"]
)
def test_reading_each_site_once_changes_no_edit(engine: str) -> None:
    """Generation reads a site's contributions once for every operator (`reading_once`):
    each operator's edits, and each edit's path from its function, are those it gives
    reading them afresh."""
    from minigrad_tool.mutation.mutants import path_to
    from minigrad_tool.mutation.operators import reading_once
    from minigrad_tool.mutation.sites import find_sites

    loaded = load_in_process(str(ENGINES / engine))
    sites, _ = find_sites(loaded.spec.index_of, loaded.profile)

    def edits() -> list[tuple[str, str, str, object]]:
        return [
            (name, ast.dump(e.node), e.description, path_to(e.unit.node, e.node))
            for site in sites
            for name, operator in OPERATORS.items()
            for e in operator(site)
        ]

    afresh = edits()
    with reading_once():
        once = edits()
    assert once == afresh and len(afresh) > 30


def test_a_mutant_sent_as_json_is_the_same_mutant() -> None:
    """What a host launched before generation gets (TestsHost.assign): equal mutants."""
    import json

    from minigrad_tool.mutation.mutants import Mutant

    sent = [Mutant.from_json(json.loads(json.dumps(m.to_json()))) for m in OUR_MUTANTS]
    assert sent == OUR_MUTANTS and len(sent) > 100


class TestOurEngine:
    def test_every_op_with_a_step_has_the_core_operators(self) -> None:
        """Each op with its own backward step has sign, assign and swap mutants."""
        ops = {op.name for op in OURS.profile.ops if not op.composite}
        assert ops == {
            "add",
            "sub",
            "mul",
            "div",
            "pow",
            "vpow",
            "rpow",
            "neg",
            "relu",
            "tanh",
            "exp",
            "log",
        }
        for op in ops:
            have = {m.operator for m in OUR_MUTANTS if m.op == op}
            assert {"sign", "assign", "swap"} <= have, f"{op} lacks {set(OPERATORS) - have}"

    def test_every_operator_is_used(self) -> None:
        """Each registered operator produces mutants on our engine; the tensor operators, which
        edit array code only, none (tests/test_tensor.py runs them on our tensor engine), nor
        `stale`: our steps are static methods that read the output's children, nothing a
        forward saved (it is tested on a closure engine below)."""
        every = generate_mutants(OURS.spec, OURS.profile, list(OPERATORS)).mutants
        assert {m.operator for m in every} == set(OPERATORS) - set(TENSOR_OPERATORS) - {"stale"}

    def test_every_operator_runs_by_default(self) -> None:
        """With no --operators, every row of the registry runs (offset, stale and dtype, for
        the bugs only torch's extra checks find, included)."""
        default = generate_mutants(OURS.spec, OURS.profile).mutants
        named = generate_mutants(OURS.spec, OURS.profile, list(OPERATORS)).mutants
        assert [m.id for m in default] == [m.id for m in named]
        assert {"offset", "sign"} <= {m.operator for m in default}

    def test_offset_adds_a_constant_to_each_contribution(self) -> None:
        """`x.grad += v` becomes `x.grad += (v + 1e-06)`, one mutant per contribution."""
        named = generate_mutants(OURS.spec, OURS.profile, ["offset"]).mutants
        offsets = [m for m in named if m.op == "mul"]
        assert [m.replacement for m in offsets] == [
            "(other.data * out.grad + 1e-06)",
            "(self.data * out.grad + 1e-06)",
        ]


@pytest.mark.parametrize(
    ("value", "reads_a_gradient"),
    [
        ("other.data * out.grad", True),  # micrograd's contribution
        ("gy * cos(x)", True),  # DeZero's
        ("gx0", True),
        ("g * b", True),  # vizgrad's binary lambdas get the upstream gradient as g
        ("1.0 / x", False),  # ... its unary ones return the local derivative only
        ("1 - r ** 2", False),
        ("n", False),  # mean's scale factor
    ],
)
def test_offset_adds_only_to_values_that_read_a_gradient(
    value: str, reads_a_gradient: bool
) -> None:
    """A value that reads no gradient is a local derivative the engine scales by out.grad
    later: 1e-6 added there is a slightly wrong derivative, not the bug offset models."""
    from minigrad_tool.mutation.operators import _mentions_upstream

    assert _mentions_upstream(ast.parse(value, mode="eval")) is reads_a_gradient


class TestStale:
    """A closure step reads a value its op's latest forward saved on the class."""

    def test_reads_of_data_and_of_locals_computed_from_data_are_saved(self) -> None:
        """microstyle's mul reads other.data and self.data, relu out.data, pow self.data; add
        reads only out.grad (the upstream gradient, never saved), and pow's exponent (a
        parameter, the same in a second graph of a case) is left alone."""
        loaded = load_in_process(str(ENGINES / "microstyle.py"))
        found = generate_mutants(loaded.spec, loaded.profile, ["stale"])
        stale = {m.id: m for m in found.mutants}
        assert sorted(stale) == ["mul-stale", "mul-stale-2", "pow-stale", "relu-stale"]
        lines = stale["relu-stale"].replacement.splitlines()
        assert lines[:2] == ["if True:", "            type(self)._minigrad_saved_out = out"]
        assert "(type(self)._minigrad_saved_out.data > 0) * out.grad" in lines[-1]

    def test_its_one_line_is_the_line_it_changes_and_what_it_does(self) -> None:
        """The survivors list shows a mutant on one line; a stale mutant wraps the whole step
        (five lines, one of them blank), so the line it changes is shown, with its reason."""
        loaded = load_in_process(str(ENGINES / "microstyle.py"))
        found = generate_mutants(loaded.spec, loaded.profile, ["stale"])
        relu = next(m for m in found.mutants if m.id == "relu-stale")
        shown = relu.one_line()
        assert "\n" not in shown
        before, _, after = shown.partition("  ->  ")
        assert "_minigrad_saved_out.data" in after and "_minigrad_saved" not in before
        assert before in relu.original and after.endswith(f"({relu.description})")

    def test_the_mutant_compiles_and_reads_the_latest_forward(self) -> None:
        """relu-stale, patched in: a graph whose relu input is negative backpropagates the
        gradient of a later graph's positive one."""
        loaded = load_in_process(str(ENGINES / "microstyle.py"))
        found = generate_mutants(loaded.spec, loaded.profile, ["stale"])
        mutant = next(m for m in found.mutants if m.id == "relu-stale")
        value, p = loaded.cls, patcher(loaded)
        p.apply(mutant)
        try:
            x, later = value(-1.0), value(2.0)
            first = x.relu()
            later.relu()
            first.backward()
        finally:
            p.restore()
        assert x.grad == 1  # the later graph's out.data > 0, not its own

    def test_backward_sweep_and_its_helper_are_mutated(self) -> None:
        """topo mutants reverse the order, drop the visited check and reseed, in _topo too."""
        topo = {(m.function, m.replacement) for m in OUR_MUTANTS if m.operator == "topo"}
        assert ("Value.backward", "topo") in topo and ("Value.backward", "2.0") in topo
        assert ("Value._topo", "True") in topo

    def test_labels_and_repr_never_mutated(self) -> None:
        """No mutant touches an op label or __repr__."""
        for m in OUR_MUTANTS:
            assert not m.function.endswith("__repr__")
            assert '"' not in m.original and "'" not in m.original, m.id

    def test_sub_sign_is_the_lab_bug(self) -> None:
        """sub-sign: the right operand of `-` loses its minus, in Value._sub_backward."""
        m = next(m for m in OUR_MUTANTS if m.id == "sub-sign")
        assert (m.function, m.original, m.replacement) == (
            "Value._sub_backward",
            "other.grad -= out.grad",
            "other.grad += out.grad",
        )
        diff = m.diff(OURS.spec.source)
        assert (
            "-        other.grad -= out.grad" in diff and "+        other.grad += out.grad" in diff
        )

    def test_ids_are_unique_and_stable(self) -> None:
        """IDs are unique and the same on a second generation."""
        ids = [m.id for m in OUR_MUTANTS]
        assert len(ids) == len(set(ids))
        assert ids == [m.id for m in generate_mutants(OURS.spec, OURS.profile).mutants]
        assert {"add-sign", "mul-swap-2", "backward-topo"} <= set(ids)

    def test_no_duplicates_or_identity(self) -> None:
        """No mutant equals the original or another mutant after normalization."""
        forms = [ast.dump(ast.parse(m.mutated_source(OURS.spec.source))) for m in OUR_MUTANTS]
        assert len(forms) == len(set(forms))
        assert ast.dump(ast.parse(OURS.spec.source)) not in forms

    def test_one_line_changes(self) -> None:
        """A mutant's text differs from the source on its own line only."""
        before = OURS.spec.source.splitlines()
        for m in OUR_MUTANTS:
            after = m.mutated_source(OURS.spec.source).splitlines()
            changed = [i + 1 for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
            assert changed == [m.start[0]], m.id

    def test_commutative_operands_are_not_swapped(self) -> None:
        """Swapping the operands of + or * would be equivalent, so only -, / and ** swap."""
        swapped = [m for m in OUR_MUTANTS if m.description == "operands swap"]
        assert swapped
        for m in swapped:
            node = ast.parse(m.original, mode="eval").body
            assert isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub | ast.Div | ast.Pow)

    def test_forward_of_the_output_only(self) -> None:
        """Forward mutants edit the value of the output node, not `Value(other)` coercions."""
        forward = [m for m in OUR_MUTANTS if m.operator == "forward"]
        assert forward and all("Value(" not in m.original for m in forward)

    def test_forward_helpers_get_their_arguments_swapped(self) -> None:
        """A forward computed by a two-argument helper, `_power(base, exponent)`, is mutated
        too; commuting helpers like `max(a, b)` are not (that would only make equivalents)."""
        swaps = {
            (m.id, m.replacement)
            for m in OUR_MUTANTS
            if "the forward function's argu" in m.description
        }
        assert ("rpow-forward", "_power(self.data, base.data)") in swaps
        assert ("pow-forward", "_power(other, self.data)") in swaps
        _, g = generated("local_grads.py")  # relu's forward is max(0, self.data)
        relu = {(m.original, m.replacement) for m in g.mutants if m.id.startswith("relu-forward")}
        assert ("0", "1") in relu  # its constant is mutated; its arguments are not swapped
        assert not any("max(self.data, 0)" in r for _, r in relu)


@pytest.mark.parametrize(
    ("name", "example", "original", "replacement"),
    [
        (
            "closure_named.py",
            "mul-sign",
            "self.grad += other.data * out.grad",
            "self.grad -= other.data * out.grad",
        ),
        ("lambda_setattr.py", "add-sign", "self.grad + out.grad", "(self.grad - out.grad)"),
        ("local_grads.py", "mul-swap", "(other.data, self.data)", "(self.data, other.data)"),
        ("function_class.py", "mul-chain", "grad_output", "1.0"),
        ("keyword_forward.py", "add-forward", "self.data + other.data", "(self.data - other.data)"),
        ("float32.py", "add-assign", "self.grad + out.grad", "out.grad"),
    ],
)
def test_each_style_gets_mutants(name: str, example: str, original: str, replacement: str) -> None:
    """Steps of every style, and forwards computed into locals, get the operators' mutants."""
    _, g = generated(name)
    op, operator = example.split("-")
    found = {(m.original, m.replacement) for m in g.mutants if (m.op, m.operator) == (op, operator)}
    assert (original, replacement) in found


class TestPatching:
    def test_swap_in_and_back(self) -> None:
        """Applying a mutant changes the live function; restoring puts the original back."""
        loaded, g = generated("closure_named.py")
        p = patcher(loaded)
        mutant = next(m for m in g.mutants if m.id == "add-sign-2")

        def grads() -> tuple[float, float]:
            a, b = loaded.cls(1.5), loaded.cls(-2.0)
            (a + b).backward()
            return a.grad, b.grad

        assert grads() == (1.0, 1.0)
        p.apply(mutant)
        assert grads() == (1.0, -1.0)
        assert p.hits.count == 1
        p.restore()
        assert grads() == (1.0, 1.0)

    def test_a_mutant_keeps_the_served_set_of_a_set_display(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An op that keeps its children in a set display (`out._prev = {self, other}`)
        runs, as the engine's file does, with the display made by the served `set`: a
        mutant of that op, compiled anew, keeps it (adapter.order.served_displays)."""
        body = (ENGINES / "microstyle.py").read_text()
        made = '        out = Value(self.data * other.data, (self, other), "*")\n'
        assert made in body
        body = body.replace(made, made + "        out._prev = {self, other}\n")
        (tmp_path / "displays.py").write_text(body)
        loaded, g = generated(str(tmp_path / "displays.py"))
        # what the loader serves the engine's globals
        monkeypatch.setattr(sys.modules[loaded.cls.__module__], "set", ControlledSet, False)
        index = SourceIndex.parse(loaded.spec.source)
        p = Patcher(index, str(loaded.spec.path), engine_modules(loaded.spec.path), served=True)
        mutant = next(m for m in g.mutants if m.id == "mul-sign")
        a, b = loaded.cls(1.5), loaded.cls(-2.0)
        assert type((a * b)._prev) is set  # loaded in this process, not served
        p.apply(mutant)
        try:
            assert type((a * b)._prev) is ControlledSet
        finally:
            p.restore()

    def test_marker_fires_before_a_raising_expression(self) -> None:
        """A mutated expression that raises still counts as executed."""
        p = patcher(OURS)
        mutant = next(m for m in OUR_MUTANTS if m.id == "log-forward")
        p.apply(mutant)
        try:
            with pytest.raises(ValueError):
                OURS.cls(2.0).log()
            assert p.hits.count == 1
        finally:
            p.restore()

    def test_every_mutant_compiles(self) -> None:
        """Each mutant of each style engine compiles to a code object for its unit."""
        for name in ("microstyle.py", "local_grads.py", "function_class.py", "lambda_setattr.py"):
            loaded, g = generated(name)
            p = patcher(loaded)
            assert len(g.mutants) > 20, name
            for m in g.mutants:
                assert p.compile(m).co_name == m.function.rpartition(".")[2]


class TestSiteMarkers:
    """The tests judge's stats run: a marker at every mutant's site records what a test runs."""

    def test_a_product_runs_the_sites_of_mul_and_backward_only(self) -> None:
        p = patcher(OURS)
        p.prepare_sites(OUR_MUTANTS)
        try:
            ran = p.record_sites()
            a, b = OURS.cls(2.0), OURS.cls(-3.0)
            (a * b).backward()
            assert (a.grad, b.grad) == (-3.0, 2.0)
            seen = ran()
        finally:
            p.restore()
        ops = {m.op for m in OUR_MUTANTS if m.id in seen}
        assert {"mul", "backward"} <= ops
        assert not ops & {"add", "sub", "div", "log", "tanh", "relu"}
        assert {"mul-sign", "mul-assign", "mul-swap"} <= seen
        assert OURS.cls.__mul__.__code__.co_names.count("__minigrad_site__") == 0  # restored

    @pytest.mark.e2e
    @pytest.mark.parametrize(
        "name", ["microstyle.py", "local_grads.py", "function_class.py", "lambda_setattr.py"]
    )
    def test_markers_change_no_result(self, name: str) -> None:
        """With every site marked at once, the engine passes the whole battery as before."""
        from minigrad_tool.battery import build_battery, run_case
        from minigrad_tool.check import settings_for

        loaded, g = generated(name)
        p = patcher(loaded)
        p.prepare_sites(g.mutants)
        battery = build_battery(loaded.profile)
        settings = settings_for(loaded.profile)
        try:
            ran = p.record_sites()
            failed = [c.name for c in battery.cases if run_case(c, loaded.access, settings).failed]
            seen = ran()
        finally:
            p.restore()
        assert failed == []
        assert len(seen) > len(g.mutants) // 2  # the markers did run


class TestKeys:
    @pytest.mark.parametrize(
        ("key", "parts"),
        [
            ("sub-sign", ("sub", "sign", 1)),
            ("mul-swap-12", ("mul", "swap", 12)),
            ("gamma_actual-const", ("gamma_actual", "const", 1)),
        ],
    )
    def test_round_trip(self, key: str, parts: tuple[str, str, int]) -> None:
        """make_key and parse_key are inverses."""
        assert parse_key(key) == parts
        assert make_key(*parts) == key

    @pytest.mark.parametrize("bad", ["sub", "a-b-c-d", "sub-sign-x"])
    def test_parse_key_rejects(self, bad: str) -> None:
        """Malformed IDs are rejected with the expected form."""
        with pytest.raises(ValueError, match="expected <op>-<operator>"):
            parse_key(bad)

    def test_unknown_operator(self) -> None:
        """An unknown operator name lists the valid ones."""
        with pytest.raises(MutationError, match=r"unknown operator.*bogus.*choose from sign"):
            generate_mutants(OURS.spec, OURS.profile, ["sign", "bogus"])


def test_steps_of_ops_that_never_run_still_get_mutants(tmp_path: Path) -> None:
    """An op that raises on scalars keeps its closure's mutants: they can only be not covered."""
    body = (
        (ENGINES / "microstyle.py")
        .read_text()
        .replace(
            "    def __neg__(self):",
            "    def __matmul__(self, other):\n"
            "        if not isinstance(self.data, list):\n"
            "            raise ValueError('needs 2-d data')\n"
            "        out = Value(0.0, (self, other))\n\n"
            "        def _backward():\n"
            "            self.grad += other.data * out.grad\n\n"
            "        out._backward = _backward\n"
            "        return out\n\n"
            "    def __neg__(self):",
        )
    )
    (tmp_path / "mm.py").write_text(body)
    loaded = load_in_process(str(tmp_path / "mm.py"))
    matmul = [m for m in generate_mutants(loaded.spec, loaded.profile).mutants if m.op == "matmul"]
    assert matmul and all("needs 2-d data" in m.note for m in matmul)


def test_a_gradient_passed_to_an_inputs_own_backward_is_a_contribution() -> None:
    """A recursive pass (gradzero 0.1.0): each step calls `x.backward(g)` on its inputs.
    Those calls are the steps' contributions: flipped, deleted and cut from the upstream
    gradient like any `x.grad += g`; before, only the forwards had mutants."""
    loaded, made = generated("recursive_pass.py")
    by_op: dict[str, set[str]] = {}
    for m in made.mutants:
        by_op.setdefault(m.op, set()).add(m.operator)
    for op in ("add", "mul", "tanh"):
        assert {"sign", "drop", "chain"} <= by_op[op], (op, by_op[op])
    texts = {m.id: (m.original, m.replacement) for m in made.mutants}
    assert texts["add-sign"] == ("g", "(-g)") and texts["add-drop"][1] == "pass"
    assert texts["mul-chain"] == ("g", "1.0")
    assert made.unreachable == [] and loaded.profile.class_name == "Value"


def _mutated(path: Path, prefix: str) -> list[tuple[str, str]]:
    """An engine's mutants of one op, as (original, replacement) pairs."""
    loaded = load_in_process(str(path))
    made = generate_mutants(loaded.spec, loaded.profile).mutants
    return [(m.original, m.replacement) for m in made if m.id.startswith(prefix)]


def test_the_gradient_a_step_adds_to_is_no_upstream_gradient(tmp_path: Path) -> None:
    """pygradproject's `other.grad += self._broadcast_addgrad(other.grad, new.grad.copy())`
    hands the receiving node's own gradient to a helper, for its shape: `chain` made it 1 as
    if it were the upstream gradient, and each such mutant was equivalent.  Only the output's
    gradient is dropped now."""
    source = (ENGINES / "microstyle.py").read_text()
    helper = "def _fit(current, g):\n    return g\n\n\nclass Value"
    fitted = source.replace("class Value", helper, 1).replace(
        "            self.grad += out.grad\n            other.grad += out.grad\n",
        "            self.grad += _fit(self.grad, out.grad)\n"
        "            other.grad += _fit(other.grad, out.grad)\n",
    )
    assert fitted.count("_fit(") == 3
    (tmp_path / "fitted.py").write_text(fitted)
    chained = _mutated(tmp_path / "fitted.py", "add-chain")
    assert chained == [("out.grad", "1.0"), ("out.grad", "1.0")]


def test_a_gradient_computed_in_locals_is_mutated_where_it_is_computed(tmp_path: Path) -> None:
    """A Function's backward written as PyTorch's are (`grad_a = b * grad_output`, then
    `return grad_a, grad_b`) computes its gradients in locals: before, only the returned
    names were mutated, so no mutant dropped the upstream gradient and tanh's `1 - t * t`
    had none at all.  What the locals were assigned, and what those read, is mutated now."""
    source = (ENGINES / "function_class.py").read_text()
    in_locals = source.replace(
        "        return b * grad_output, a * grad_output\n",
        "        grad_a = b * grad_output\n        grad_b = a * grad_output\n"
        "        return grad_a, grad_b\n",
    ).replace(
        "        return ((1 - t * t) * grad_output,)\n",
        "        local = 1 - t * t\n        g = local * grad_output\n        return (g,)\n",
    )
    assert in_locals.count("grad_a") == 2 and in_locals.count("local") == 2
    (tmp_path / "function_locals.py").write_text(in_locals)
    tanh = _mutated(tmp_path / "function_locals.py", "tanh")
    assert sorted(pair for pair in tanh if pair[0] != "g") == [
        ("1", "0"),
        ("1", "2"),
        ("1 - t * t", "(1 + t * t)"),
        ("1 - t * t", "(t * t - 1)"),
        ("grad_output", "1.0"),
    ]
    mul = _mutated(tmp_path / "function_locals.py", "mul")
    assert [pair for pair in mul if pair[1] == "1.0"] == [("grad_output", "1.0")] * 2


_GETITEM = """
class GetItem(Op):
    def __init__(self, key):
        self.key = key

    def compute(self, a):
        return a[self.key]

    def gradient(self, out_grad, node):
        grad = numpy.zeros(node.inputs[0].shape)
        FILL
        return Tensor(grad)


"""


@pytest.mark.parametrize(
    "fill",
    ["numpy.add.at(grad, self.key, out_grad.cached_data)", "grad[self.key] = out_grad.cached_data"],
)
def test_a_gradient_written_into_a_local_array_is_mutated_there(tmp_path: Path, fill: str) -> None:
    """numpygrad 0.1.1's getitem step fills an array of zeros (`grad_a[ctx.key] = grad`) and
    returns it: the upstream gradient was read only in the filling statement, which no mutant
    touched; a call that fills a local it is handed (`np.add.at(grad, key, g)`) is the same."""
    source = (ENGINES / "needle_style.py").read_text()
    with_getitem = source.replace(
        "class Tensor:\n", _GETITEM.replace("FILL", fill) + "class Tensor:\n"
    ).replace(
        "    def exp(self):\n",
        "    def __getitem__(self, key):\n        return GetItem(key)(self)\n\n"
        "    def exp(self):\n",
    )
    assert with_getitem.count("GetItem") == 2
    (tmp_path / "needle_getitem.py").write_text(with_getitem)
    getitem = _mutated(tmp_path / "needle_getitem.py", "getitem")
    assert ("out_grad", "(out_grad * 0 + 1)") in getitem


def test_an_upstream_gradient_named_first_is_dropped_where_it_is_read(tmp_path: Path) -> None:
    """miniad 0.1.1's steps name the upstream gradient first (`out_grad = out.grad`, then
    `left.grad = ... + out_grad`): no contribution read `out.grad` itself, so its add and mul
    had no `chain` mutant.  The local's assignment is mutated now, once for both inputs."""
    source = (ENGINES / "microstyle.py").read_text()
    named = source.replace(
        "            self.grad += other.data * out.grad\n"
        "            other.grad += self.data * out.grad\n",
        "            g = out.grad\n            self.grad += other.data * g\n"
        "            other.grad += self.data * g\n",
    )
    assert named != source
    (tmp_path / "named_upstream.py").write_text(named)
    mul = _mutated(tmp_path / "named_upstream.py", "mul")
    assert [pair for pair in mul if pair[1] == "1.0"] == [("out.grad", "1.0")]


def test_the_upstream_gradients_metadata_is_not_dropped(tmp_path: Path) -> None:
    """`out_grad.shape` reads no number of the upstream gradient: ones of its shape have the
    same, so dropping it there was an equivalent mutant (nanograd 1.0.4 had 16 such, on
    `device=grad_output.device`).  Its numbers' read still is."""
    source = (ENGINES / "needle_style.py").read_text()
    reshaped = source.replace(
        "        return Tensor(-out_grad.cached_data)\n",
        "        return Tensor(-out_grad.cached_data.reshape(out_grad.shape))\n",
    )
    assert reshaped != source
    (tmp_path / "needle_reshaped.py").write_text(reshaped)
    neg = _mutated(tmp_path / "needle_reshaped.py", "neg")
    dropped = [pair for pair in neg if pair[1] == "(out_grad * 0 + 1)"]
    assert dropped == [("out_grad", "(out_grad * 0 + 1)")]


def test_a_function_lent_to_an_input_is_a_contribution() -> None:
    """whalegrad 0.0.2's steps hand each input `lambda ug: local * ug`: its body is the
    contribution, `ug` its upstream gradient; before, its ops' steps had no mutant."""
    _, made = generated("lent_functions.py")
    texts = {m.id: (m.original, m.replacement) for m in made.mutants}
    assert texts["mul-sign"] == ("other.data * ug", "(-(other.data * ug))")
    assert texts["mul-chain"] == ("ug", "1.0") and texts["tanh-chain"] == ("ug", "1.0")
    assert {"mul-swap", "mul-drop", "add-sign", "tanh-const"} <= set(texts)
    assert made.unreachable == []


# How an engine that keeps torch's None for "no gradient" adds one: a method of the node.
_ADDS = {
    "ternary": "self.grad = g if self.grad is None else self.grad + g",
    "if-else": (
        "if self.grad is None:\n            self.grad = g\n"
        "        else:\n            self.grad += g"
    ),
    "plus-equals": "self.grad += g",
}
_TERNARY = "        self.grad = g if self.grad is None else self.grad + g\n"


@pytest.mark.parametrize("form", sorted(_ADDS))
def test_a_gradient_added_through_a_method_of_the_node_is_a_contribution(
    tmp_path: Path, form: str
) -> None:
    """A step that adds through a method of the node that only adds its argument to the
    gradient (`x._acc(g)`, however the method is written): its calls are the contributions,
    mutated as `+=` is: flipped, made an assignment (`x.grad = g`), sent to another node,
    deleted, cut from the upstream gradient.  Before, every such op was "not mutated"."""
    body = (ENGINES / "none_grad.py").read_text()
    assert body.count(_TERNARY) == 1
    (tmp_path / "adds.py").write_text(body.replace(_TERNARY, f"        {_ADDS[form]}\n"))
    loaded = load_in_process(str(tmp_path / "adds.py"))
    made = generate_mutants(loaded.spec, loaded.profile)
    texts = {m.id: (m.original, m.replacement) for m in made.mutants}
    assert made.unreachable == []
    assert texts["mul-sign"] == ("other.data * out.grad", "(-(other.data * out.grad))")
    assert texts["mul-assign-2"] == (
        "other._acc(self.data * out.grad)",
        "other.grad = self.data * out.grad",
    )
    assert texts["mul-swap-5"] == ("self._acc", "other._acc")
    assert texts["mul-drop"] == ("self._acc(other.data * out.grad)", "pass")
    assert texts["mul-chain"] == ("out.grad", "1.0")
    for op in ("add", "mul", "pow", "tanh", "exp", "relu"):
        assert {"sign", "assign", "swap", "drop"} <= {
            m.operator for m in made.mutants if m.op == op
        }


# sum's step written as vizgrad 0.1.2 writes neg's: a lambda whose body adds in place
_SUM_STEP = """        def _backward():
            self.grad += np.broadcast_to(out.grad, self.data.shape)

        out._backward = _backward
"""
_SUM_LAMBDA = (
    "        out._backward = lambda: "
    + "self.grad.__iadd__(np.broadcast_to(out.grad, self.data.shape))\n"
)


def test_a_lambda_that_adds_in_place_is_a_contribution(tmp_path: Path) -> None:
    """`out._backward = lambda: self.grad.__iadd__(g)`: the lambda's body is the call a step's
    statement would be.  Mutated as that statement is, in forms a lambda's body can hold: made
    an assignment as `setattr(self, 'grad', g)`, deleted as `None`.  Before, the op was "not
    mutated" (vizgrad's neg)."""
    body = (ENGINES / "tensor_one_element.py").read_text()
    assert body.count(_SUM_STEP) == 1
    (tmp_path / "lam.py").write_text(body.replace(_SUM_STEP, _SUM_LAMBDA))
    loaded = load_in_process(str(tmp_path / "lam.py"))
    made = generate_mutants(loaded.spec, loaded.profile)
    assert "sum" not in {op for op, _ in made.unreachable}
    texts = {m.id: m.replacement for m in made.mutants if m.op == "sum"}
    upstream = "np.broadcast_to(out.grad, self.data.shape)"
    assert texts["sum-assign"] == f"setattr(self, 'grad', {upstream})"
    assert texts["sum-drop"] == "None"
    assert "self.grad.__isub__" in texts.values()
    p = patcher(loaded)
    for mutant in (m for m in made.mutants if m.op == "sum"):  # each compiles
        p.apply(mutant)
        p.restore()
    p.apply(next(m for m in made.mutants if m.id == "sum-drop"))
    try:
        x = loaded.cls([1.0, 2.0])
        x.sum().backward()
    finally:
        p.restore()
    assert x.grad.tolist() == [0.0, 0.0]  # the lambda ran, and added nothing


def test_a_lambda_that_adds_through_a_method_is_not_read_as_returning(tmp_path: Path) -> None:
    """`out._backward = lambda: self._acc(g)` adds g, as the statement `self._acc(g)` does;
    before, its body was read as a returned gradient, and its sign flip `-(self._acc(g))`
    was "killed" by a TypeError (negating None), not by a wrong gradient."""
    body = (ENGINES / "none_grad.py").read_text()
    step = re.compile(
        r"\n        def _backward\(\):\n            self\._acc\((.*)\)\n\n"
        r"        out\._backward = _backward\n"
    )
    lam = "\n        out._backward = lambda: self._acc({})\n"
    body, count = step.subn(lambda m: lam.format(m[1]), body)
    assert count == 4  # pow, tanh, exp, relu
    (tmp_path / "lam.py").write_text(body)
    loaded = load_in_process(str(tmp_path / "lam.py"))
    made = generate_mutants(loaded.spec, loaded.profile)
    texts = {m.id: (m.original, m.replacement) for m in made.mutants if m.op == "exp"}
    assert texts["exp-sign"] == ("e * out.grad", "(-(e * out.grad))")
    assert texts["exp-assign"] == ("self._acc(e * out.grad)", "setattr(self, 'grad', e * out.grad)")
    assert texts["exp-drop"][1] == "None"
    assert not any("-(self._acc" in replacement for _, replacement in texts.values())


@pytest.mark.parametrize(
    "inline",
    [
        "{x}.grad = {g} if {x}.grad is None else {x}.grad + {g}",
        "{x}.grad = {x}.grad + {g} if {x}.grad is not None else {g}",
    ],
)
def test_a_gradient_added_unless_none_in_the_step_is_a_contribution(
    tmp_path: Path, inline: str
) -> None:
    """The same test written in each step (miniad's `left.grad = out_grad if left.grad is
    None else left.grad + out_grad`): its adding branch is mutated as the `else: x.grad += g`
    of an if statement is.  Before, five of the six ops were "not mutated" and the score
    counted relu alone."""
    body = (ENGINES / "none_grad.py").read_text()
    calls = re.findall(r"(\w+)\._acc\((.*)\)\n", body)
    assert len(calls) == 8  # every op's step: add, mul, pow, tanh, exp, relu
    for x, g in calls:
        body = body.replace(f"{x}._acc({g})\n", inline.format(x=x, g=g) + "\n", 1)
    (tmp_path / "inline.py").write_text(body)
    loaded = load_in_process(str(tmp_path / "inline.py"))
    made = generate_mutants(loaded.spec, loaded.profile)
    texts = {m.id: (m.original, m.replacement) for m in made.mutants}
    assert made.unreachable == []
    assert texts["mul-sign"] == (
        "self.grad + other.data * out.grad",
        "(self.grad - other.data * out.grad)",
    )
    assert texts["mul-assign"] == ("self.grad + other.data * out.grad", "(other.data * out.grad)")
    for op in ("add", "mul", "pow", "tanh", "exp", "relu"):
        assert {"sign", "assign", "swap", "drop"} <= {
            m.operator for m in made.mutants if m.op == op
        }


@pytest.mark.parametrize(
    "held",
    [
        "(0.0 if {x}.grad is None else {x}.grad)",
        "({x}.grad if {x}.grad is not None else 0.0)",
        "({x}.grad or 0.0)",
    ],
)
def test_a_gradient_read_as_zero_while_none_and_added_to_is_a_contribution(
    tmp_path: Path, held: str
) -> None:
    """tinydiff's steps (GitHub, 2026-12-06): `a.grad = (np.zeros_like(a.data) if a.grad is
    None else a.grad) + out.grad * out.data`, and `(a.grad or 0) + g`, common there too.
    Before, exp, log, tanh, sigmoid, neg and pow were "not mutated: no operator reads a
    gradient contribution", and add, mul and div had their unbroadcast and forward mutants
    alone."""
    body = (ENGINES / "none_grad.py").read_text()
    calls = re.findall(r"(\w+)\._acc\((.*)\)\n", body)
    assert len(calls) == 8  # every op's step: add, mul, pow, tanh, exp, relu
    for x, g in calls:
        line = f"{x}.grad = {held.format(x=x)} + {g}"
        body = body.replace(f"{x}._acc({g})\n", line + "\n", 1)
    (tmp_path / "held.py").write_text(body)
    loaded = load_in_process(str(tmp_path / "held.py"))
    made = generate_mutants(loaded.spec, loaded.profile)
    texts = {m.id: (m.original, m.replacement) for m in made.mutants}
    assert made.unreachable == []
    grad = held.format(x="self")
    assert texts["mul-sign"] == (
        f"{grad} + other.data * out.grad",
        f"({grad} - other.data * out.grad)",
    )
    assert texts["mul-assign"] == (f"{grad} + other.data * out.grad", "(other.data * out.grad)")
    for op in ("add", "mul", "pow", "tanh", "exp", "relu"):
        assert {"sign", "assign", "swap", "drop"} <= {
            m.operator for m in made.mutants if m.op == op
        }


@pytest.mark.parametrize(
    "method",
    [
        "def _acc(self, g):\n        self.grad = g",  # sets: no accumulation
        "def _acc(self, g):\n        self.grad += float(g)",  # a call on the way
        "def _acc(self, g):\n        self.other = self.grad + g",  # not the gradient
    ],
)
def test_a_method_that_does_more_or_less_than_add_is_no_contribution(
    tmp_path: Path, method: str
) -> None:
    """Only a method that does nothing but add its argument to the gradient stands for `+=`:
    one that sets it, calls anything, or writes elsewhere leaves its callers' ops said not
    mutated, as before."""
    body = (ENGINES / "none_grad.py").read_text()
    original = "def _acc(self, g):\n" + _TERNARY.rstrip("\n")
    assert body.count(original) == 1
    (tmp_path / "other.py").write_text(body.replace(original, method))
    loaded = load_in_process(str(tmp_path / "other.py"))
    made = generate_mutants(loaded.spec, loaded.profile)
    assert "mul" in {op for op, _ in made.unreachable}
    assert {m.operator for m in made.mutants if m.op == "mul"} <= {"forward", "offset", "stale"}


def test_a_node_method_named_for_gradients_that_does_more_than_add_is_handed_one(
    tmp_path: Path,
) -> None:
    """nabla's steps (GitHub, 2026-12-06) call `self._add_grad(e * out.grad)`, a method that
    adds g to the sweep's own table while backward() runs and to `.grad` otherwise: no plain
    accumulator, so every op but two read "not mutated".  Such a method, named for
    gradients and called on a node, is handed a contribution, as a helper named so is: its
    value is mutated, never the call turned into an assignment; a constant is no gradient."""
    body = (ENGINES / "none_grad.py").read_text()
    method = "def _acc(self, g):\n" + _TERNARY.rstrip("\n")
    assert body.count(method) == 1
    routed = "def _add_grad(self, g):\n        self.grad = _added(self.grad, g)"
    # two settings of a node named for gradients, which hand it no gradient
    routed += "\n\n    def requires_grad_(self, flag):\n        self.wants = flag"
    routed += "\n\n    def set_grad_fn(self, fn):\n        self.fn = fn"
    body = body.replace(method, routed).replace("._acc(", "._add_grad(")
    body += "\n\ndef _added(held, g):\n    return g if held is None else held + g\n"
    assert body.count("    def backward(self):\n") == 1 and body.count("self.grad = 1.0\n") == 1
    body = body.replace("    def backward(self):\n", "    def backward(self, g=1.0):\n")
    body = body.replace("self.grad = 1.0\n", "self._add_grad(g)\n")  # the seed, read as before
    body = body.replace(
        "self._add_grad(e * out.grad)",
        "self._add_grad(e * out.grad)\n            out.requires_grad_(True)"
        "\n            out.set_grad_fn(_backward)",
    )
    (tmp_path / "routed.py").write_text(body)
    loaded = load_in_process(str(tmp_path / "routed.py"))
    made = generate_mutants(loaded.spec, loaded.profile)
    texts = {m.id: (m.original, m.replacement) for m in made.mutants}
    assert made.unreachable == []
    assert texts["exp-sign"] == ("e * out.grad", "(-(e * out.grad))")
    assert texts["exp-drop"] == ("self._add_grad(e * out.grad)", "pass")
    for op in ("add", "mul", "pow", "tanh", "exp", "relu"):
        operators = {m.operator for m in made.mutants if m.op == op}
        assert {"sign", "drop"} <= operators and "assign" not in operators, op
    handed = {"True", "out.requires_grad_(True)", "_backward", "out.set_grad_fn(_backward)"}
    handed |= {"g", "self._add_grad(g)"}
    assert [i for i, (original, _) in texts.items() if original in handed] == []


G = "reduce_to(b.data * out.grad, a.data.shape)"  # mul's contribution to a, in tensor_table


@pytest.mark.parametrize(
    ("form", "sign", "assign"),
    [
        (
            r"\1np.add(\2.grad, \3, out=\2.grad)",
            f"np.subtract(a.grad, {G}, out=a.grad)",
            f"a.grad = {G}",
        ),
        (r"\1np.add(\3, \2.grad, \2.grad)", f"np.subtract(a.grad, {G}, a.grad)", f"a.grad = {G}"),
        (r"\1\2.grad = np.add(\2.grad, \3)", f"np.subtract(a.grad, {G})", G),
    ],
    ids=["in-place", "in-place-positional", "assigned"],
)
def test_numpys_add_into_a_gradient_is_a_contribution(
    tmp_path: Path, form: str, sign: str, assign: str
) -> None:
    """`np.add(x.grad, g, out=x.grad)` (in place, as several engines on GitHub write it),
    `np.add(g, x.grad, x.grad)` and `x.grad = np.add(x.grad, g)` add as `x.grad += g` does:
    the same mutants, the sign flip a `np.subtract`.  Before, the in-place steps were not
    even seen ("none seen": no `.grad` written), and the assigned ones were not mutated."""
    original = (ENGINES / "tensor_table.py").read_text()
    body, count = re.subn(r"^(\s+)(\w+)\.grad \+= (.*)$", form, original, flags=re.M)
    assert count == 8
    (tmp_path / "ufunc.py").write_text(body)
    loaded = load_in_process(str(tmp_path / "ufunc.py"))
    made = generate_mutants(loaded.spec, loaded.profile)
    assert made.unreachable == []
    texts = {m.id: m.replacement for m in made.mutants}
    assert (texts["mul-sign"], texts["mul-assign"]) == (sign, assign)
    plain = load_in_process(str(ENGINES / "tensor_table.py"))
    expected = generate_mutants(plain.spec, plain.profile).mutants
    assert sorted(m.id for m in made.mutants) == sorted(m.id for m in expected)


def test_a_scatter_into_a_gradient_is_a_contribution() -> None:
    """Our tensor engine's getitem, `np.add.at(self.grad, index, out.grad)` (as many engines
    on GitHub write theirs): its sign flip is `np.subtract.at`, its assignment `self.grad[index]
    = out.grad`; before, the scatter operator's was its only mutant."""
    loaded = load_in_process(str(ROOT / "src/minigrad/tensor.py"))
    made = generate_mutants(loaded.spec, loaded.profile)
    texts = {m.id: m.replacement for m in made.mutants if m.op == "getitem"}
    assert texts["getitem-sign"] == "np.subtract.at(self.grad, index, out.grad)"
    assert texts["getitem-assign"] == "self.grad[index] = out.grad"
    assert {"getitem-drop", "getitem-chain", "getitem-offset", "getitem-scatter"} <= set(texts)


TABLE_SWEEP = """
class Value:
    def __init__(self, data, _children=(), _local=()):
        self.data, self.grad = data, 0.0
        self._prev, self._local = tuple(_children), tuple(_local)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if id(v) not in seen:
                seen.add(id(v))
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        grads = {id(self): 1.0}
        for v in reversed(topo):
            g = grads.get(id(v), 0.0)
            v.grad = g
            for child, local in zip(v._prev, v._local):
                ADD
"""


@pytest.mark.parametrize(
    "add",
    [
        "grads[id(child)] = grads.get(id(child), 0.0) + local * g",
        "grads[id(child)] = grads[id(child)] + local * g if id(child) in grads else local * g",
        "grads.setdefault(id(child), 0.0)\n                grads[id(child)] += local * g",
    ],
    ids=["get", "in", "augmented"],
)
def test_a_gradient_added_into_the_sweeps_table_is_a_contribution(tmp_path: Path, add: str) -> None:
    """A sweep that sums each node's gradient in a table of its own (tinytorch's `pending[key]
    = pending[key] + g`, nabla's `active[self] = active.get(self, ...) + grad`): that sum is
    the accumulation every reused node needs, flipped, made an assignment and deleted like
    `x.grad += g`.  Before, the sweep's table had no mutant."""
    (tmp_path / "table.py").write_text(TABLE_SWEEP.replace("ADD", add))
    loaded = load_in_process(str(tmp_path / "table.py"))
    made = generate_mutants(loaded.spec, loaded.profile)
    sweep = {m.operator: m.replacement for m in made.mutants if m.op == "backward"}
    assert {"sign", "assign", "drop"} <= set(sweep)
    assert sweep["assign"].endswith("local * g)") or sweep["assign"].endswith("= local * g")
    assert "+" not in sweep["assign"]
    assert "-" in sweep["sign"].replace("local * g", "")


def test_a_step_that_sets_grad_outright_is_said_not_mutated(tmp_path: Path) -> None:
    """milligrad 1.2.0's exp sets `self.grad = x * out.grad`: no operator edits such a step,
    so the op is listed as not mutated, with the statement, never left out without a word."""
    body = (ENGINES / "microstyle.py").read_text()
    step = "            self.grad += (other * self.data ** (other - 1)) * out.grad\n"
    assert body.count(step) == 1
    (tmp_path / "set.py").write_text(body.replace(step, step.replace("+=", "=")))
    loaded = load_in_process(str(tmp_path / "set.py"))
    made = generate_mutants(loaded.spec, loaded.profile)
    assert {m.operator for m in made.mutants if m.op == "pow"} <= {"forward"}
    assert [op for op, _ in made.unreachable] == ["pow"]
    assert made.unreachable[0][1].startswith(
        "its step sets .grad outright (line 42: self.grad = other * self.data ** (other - 1) "
        "* out.grad)"
    )
    plain = generate_mutants(OURS.spec, OURS.profile)
    assert plain.unreachable == [] and {m.op for m in plain.mutants} >= {"relu", "add"}


def test_a_step_no_operator_reads_is_said_not_mutated(tmp_path: Path) -> None:
    """whalegrad 0.0.2's steps hand each input a function (`x.set_grad_fn(lambda ug: ug)`),
    here `vars(self)["grad"] += g`: no operator reads such a step, and its op is listed as
    not mutated, with why, in words every such op shares (said once for all)."""
    body = (ENGINES / "microstyle.py").read_text()
    changed = body
    for node, other in (("self", "other"), ("other", "self")):
        step = f"            {node}.grad += {other}.data * out.grad\n"
        assert changed.count(step) == 1
        changed = changed.replace(
            step, f'            vars({node})["grad"] += {other}.data * out.grad\n'
        )
    (tmp_path / "kept.py").write_text(changed)
    loaded = load_in_process(str(tmp_path / "kept.py"))
    made = generate_mutants(loaded.spec, loaded.profile)
    assert {m.operator for m in made.mutants if m.op == "mul"} <= {"forward"}
    assert made.unreachable == [
        (
            "mul",
            "no operator reads a gradient contribution in its step: minigrad knows "
            "`x.grad += g`, a returned gradient, and one handed to a helper, to x.backward(g), "
            "to a method of the node that only adds it (x._acc(g)) or as a function of the "
            "upstream gradient",
        )
    ]


def test_a_mutant_that_deletes_the_only_super_call_keeps_the_class_cell() -> None:
    """mygrad's `Mean.backward_var` is `return super().backward_var(grad / n, ...)`: a mutant
    that drops that statement must still compile to code with the `__class__` cell the live
    method has, or it could not be swapped in (minigrad failed on it before)."""
    from minigrad_tool.mutation.patch import _keeps_class_cell

    tree = ast.parse("class A:\n    def f(self, g):\n        return super().f(g)\n")
    cls = tree.body[0]
    assert isinstance(cls, ast.ClassDef)
    method = cls.body[0]
    dropped = ast.parse("def f(self, g):\n    pass\n").body[0]
    ast.increment_lineno(dropped, 1)
    for kept, has_cell in ((dropped, False), (_keeps_class_cell(method, dropped), True)):
        source = "class A:\n" + textwrap.indent(ast.unparse(kept), "    ") + "\n"
        code = compile(source, "<test>", "exec")
        f = next(c for c in code.co_consts[0].co_consts if hasattr(c, "co_freevars"))
        assert ("__class__" in f.co_freevars) is has_cell
    assert method.body[0].__class__ is ast.Return  # the original is untouched


def test_a_forward_call_with_an_unpacked_argument_gets_no_negated_or_swapped_one(
    tmp_path: Path,
) -> None:
    """quackgrad 0.1.0's `self.data.reshape(*shape)` became `reshape(-*shape)`, no Python:
    minigrad failed on that mutant ("no verdict").  Every forward mutant is Python."""
    body = (
        (ENGINES / "microstyle.py")
        .read_text()
        .replace(
            'out = Value(0 if self.data < 0 else self.data, (self,), "ReLU")',
            'out = Value(max(*(0, self.data)), (self,), "ReLU")',
        )
    )
    assert "max(*(0, self.data))" in body
    (tmp_path / "star.py").write_text(body)
    loaded = load_in_process(str(tmp_path / "star.py"))
    forward = [
        m
        for m in generate_mutants(loaded.spec, loaded.profile).mutants
        if m.op == "relu" and m.operator == "forward"
    ]
    assert forward
    for m in forward:
        ast.parse(m.replacement, mode="eval")  # raises on `max(-*(0, self.data))`


def test_a_sweep_that_spreads_children_into_a_step_gets_no_mutant_of_them(
    tmp_path: Path,
) -> None:
    """A miniad-style backward() calls `node.grad_fn(node, *node.children)`: a call named
    for gradients with two arguments, once read as handing `*node.children` over as a
    gradient; its sign mutant `-*node.children` is no Python, and the campaign stopped
    ("the engine could not be served").  Every mutant of the engine is Python."""
    package = ENGINES / "classops"
    functional = (package / "functional.py").read_text()
    classes = functional[functional.index("class Function") :].replace("value.Value", "Value")
    node = (package / "value.py").read_text()
    for line in ("from . import functional as F\n", "from __future__ import annotations\n"):
        node = node.replace(line, "")
    node = node.replace("F.", "")
    text = node + "\n\ndef _node(x):\n    return x if isinstance(x, Value) else Value(x)\n\n\n"
    (tmp_path / "spread.py").write_text("import math\n" + text + classes)
    loaded = load_in_process(str(tmp_path / "spread.py"))
    made = generate_mutants(loaded.spec, loaded.profile).mutants
    assert {"add-sign", "mul-swap", "tanh-sign"} <= {m.id for m in made}
    assert not [m.id for m in made if "*node.children" in m.original]
    for m in made:
        ast.parse(textwrap.dedent(m.replacement), mode="exec" if m.statement else "eval")


def test_an_edit_that_is_not_python_is_no_mutant(monkeypatch: pytest.MonkeyPatch) -> None:
    """An operator's edit that cannot be compiled where it stands (`-*xs`, as one once made of
    `node.grad_fn(node, *node.children)`) would stop every campaign on the engine ("the
    engine could not be served", exit 2): it is left out, and the others are kept."""
    from minigrad_tool.mutation.operators import Edit

    sign = OPERATORS["sign"]
    starred = ast.UnaryOp(ast.USub(), ast.Starred(ast.Name("xs", ast.Load()), ast.Load()))

    def spreading(site: Site) -> Iterator[Edit]:
        for edit in sign(site):
            yield Edit(edit.node, starred, edit.description, edit.unit)

    monkeypatch.setitem(OPERATORS, "sign", spreading)
    loaded = load_in_process(str(ENGINES / "microstyle.py"))
    generated = generate_mutants(loaded.spec, loaded.profile, ["sign", "swap"])
    made = generated.mutants
    assert made and {m.operator for m in made} == {"swap"}
    # said in `mutate --verbose`, so that an operator meeting code it does not expect is seen
    assert generated.left_out and {e[1] for e in generated.left_out} == {"sign"}
    assert all(where == "" and line > 0 for _, _, where, line in generated.left_out)
    campaign = Campaign(
        "e", "/x/engine.py", "", "Value", [], [], 1.0, left_out=[("mul", "sign", "", 7)]
    )
    assert (
        left_out_line(campaign)
        == "left out, not Python where they stand (1): mul-sign (engine.py:7)"
    )


def _marked_line(path: Path) -> int:
    return next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "pragma" in text)


class TestPragmaNoMutate:
    """`# pragma: no mutate` (mutmut's comment) on a line keeps its mutants from being made,
    as a maintainer marks code no test here can reach (nanograd 1.0.4's OpenCL path); the
    score line says how many were left out, the JSON lists them, and no other mutant is
    renamed."""

    MARKED = "            self.grad += other.data * out.grad  # pragma: no mutate\n"

    @pytest.fixture
    def marked(self, tmp_path: Path) -> Path:
        source = (ENGINES / "microstyle.py").read_text()
        text = source.replace("            self.grad += other.data * out.grad\n", self.MARKED)
        assert text != source
        (tmp_path / "marked.py").write_text(text)
        return tmp_path / "marked.py"

    def test_a_marked_lines_mutants_are_not_made_and_the_others_keep_their_ids(
        self, marked: Path
    ) -> None:
        whole = load_in_process(str(ENGINES / "microstyle.py"))
        every = {m.id: m for m in generate_mutants(whole.spec, whole.profile).mutants}
        loaded = load_in_process(str(marked))
        made = generate_mutants(loaded.spec, loaded.profile)
        line = _marked_line(marked)
        assert made.no_mutate and {m.changed_lines()[0] for m in made.no_mutate} == {line}
        assert all(line not in m.changed_lines() for m in made.mutants)
        assert {m.id for m in made.mutants} | {m.id for m in made.no_mutate} == set(every)
        for m in made.mutants:
            assert (m.start, m.replacement) == (every[m.id].start, every[m.id].replacement)
        # stale wraps the whole step: the mutant that changes the other line is still made
        assert "mul-stale-2" in {m.id for m in made.mutants}

    def test_every_report_says_what_was_left_out(self, marked: Path, tmp_path: Path) -> None:
        """The score line and the list above it, the JSON, a JUnit case skipped for each, and
        a GitHub notice on the line."""
        report, junit = tmp_path / "r.json", tmp_path / "j.xml"
        run = run_minigrad(
            tmp_path, "mutate", "--engine", marked.name, "--json", str(report),
            "--junit", str(junit), "--format", "github",
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        line = _marked_line(marked)
        left = json.loads(report.read_text())["config"]["noMutate"]
        assert left and {(e["file"], e["line"]) for e in left} == {("marked.py", line)}
        assert f"; {len(left)} left out by `# pragma: no mutate`" in run.stdout
        assert f"left out by `# pragma: no mutate` ({len(left)}): marked.py:{line} (" in run.stdout
        skipped = re.findall(r'<skipped message="left out by # pragma: no mutate \(([^)]*)\)"', (
            junit.read_text()
        ))  # fmt: skip
        assert skipped == [f"marked.py:{line}"] * len(left)
        assert f"::notice file=marked.py,line={line},title=left out by" in run.stdout

    def test_the_line_named_is_the_marked_one(self, tmp_path: Path) -> None:
        """A step written over two lines, its second marked: most of its mutants change both,
        and the report names the marked line (it named the first a mutant changes)."""
        source = (ENGINES / "microstyle.py").read_text()
        text = source.replace(
            "            self.grad += other.data * out.grad\n",
            "            self.grad += (other.data\n"
            "                          * out.grad)  # pragma: no mutate\n",
        )
        assert text != source
        (tmp_path / "two.py").write_text(text)
        loaded = load_in_process(str(tmp_path / "two.py"))
        made = generate_mutants(loaded.spec, loaded.profile)
        line = _marked_line(tmp_path / "two.py")
        assert any(m.changed_lines() == [line - 1, line] for m in made.no_mutate)
        assert {made.marked_line(m) for m in made.no_mutate} == {line}
        report = tmp_path / "r.json"
        run = run_minigrad(tmp_path, "mutate", "--engine", "two.py", "--json", str(report))
        assert run.returncode == 0, run.stdout + run.stderr
        left = json.loads(report.read_text())["config"]["noMutate"]
        assert left and {e["line"] for e in left} == {line}

    def test_every_line_marked_is_no_verdict(self, tmp_path: Path) -> None:
        source = (ENGINES / "microstyle.py").read_text()
        marked = "".join(
            line.rstrip("\n") + "  # pragma: no mutate\n" if line.strip() else line
            for line in source.splitlines(keepends=True)
        )
        (tmp_path / "all.py").write_text(marked)
        run = run_minigrad(tmp_path, "mutate", "--engine", "all.py")
        assert run.returncode == 2, run.stdout + run.stderr
        assert "is of a line marked `# pragma: no mutate`" in run.stderr
