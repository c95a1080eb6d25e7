"""Seeing a graph: the text tree and the Graphviz text."""

from __future__ import annotations

import io

from minigrad.engine import Value
from minigrad.graphview import debug_print, to_dot, tree


def _graph() -> tuple[Value, Value, Value]:
    a, b = Value(2.0), Value(-3.0)
    t = a * b
    out = (t + t).tanh()
    out.backward()
    return a, t, out


class TestTree:
    def test_every_node_once_with_op_data_grad(self) -> None:
        """Each node is one line with its op, data and grad; a reused node is referenced."""
        _, _, out = _graph()
        lines = tree(out).splitlines()
        assert lines[0].startswith("#0 tanh  data=-1  grad=1")
        assert lines[1] == "└── #1 +  data=-12  grad=1.51e-10"
        assert lines[2] == "    ├── #2 *  data=-6  grad=3.02e-10"
        assert lines[-1] == "    └── (node #2, shown above)"
        assert sum("leaf" in line for line in lines) == 2

    def test_debug_print_writes_the_tree(self) -> None:
        """debug_print prints what tree returns."""
        _, _, out = _graph()
        buffer = io.StringIO()
        debug_print(out, file=buffer)
        assert buffer.getvalue() == tree(out) + "\n"


class TestDot:
    def test_records_ops_and_edges(self) -> None:
        """A record per node (5 here), an oval per op, edges from operands to ops to outputs."""
        a, t, out = _graph()
        dot = to_dot(out)
        assert dot.startswith("digraph { rankdir=LR;") and dot.endswith("}")
        assert dot.count("shape=record") == 5
        assert f'n{id(t)}_op [label="*"];' in dot
        assert f"n{id(a)} -> n{id(t)}_op;" in dot
        assert f"n{id(t)}_op -> n{id(t)};" in dot
        assert "data -1.0000 | grad 1.0000" in dot
