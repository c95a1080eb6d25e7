"""See a graph: a text tree of op, data and grad per node, or Graphviz `dot` text.

Works on any micrograd-style engine (minigrad's own included): children are
found where the engine keeps them, and `_op` is shown when nodes have it.

    >>> a, b = Value(2.0), Value(-3.0)
    >>> t = a * b
    >>> out = (t + t).tanh()
    >>> out.backward()
    >>> print(tree(out))
    #0 tanh  data=-1  grad=1
    └── #1 +  data=-12  grad=1.51e-10
        ├── #2 *  data=-6  grad=3.02e-10
        │   ├── #3 leaf  data=2  grad=-9.06e-10
        │   └── #4 leaf  data=-3  grad=6.04e-10
        └── (node #2, shown above)
"""

from __future__ import annotations

from typing import Any, TextIO

from minigrad._nodes import NodeAccess

__all__ = ["debug_print", "to_dot", "tree"]


def _label(node: Any, access: NodeAccess) -> str:
    op = getattr(node, "_op", "") or getattr(node, "op", "") or "leaf"
    return f"{op}  data={access.value(node):.4g}  grad={access.grad(node):.4g}"


def tree(root: Any) -> str:
    """The graph below `root` as an indented tree; a node reached again is marked, not repeated."""
    access = NodeAccess.infer(root)
    lines: list[str] = []
    seen: dict[int, int] = {}
    # (node, prefix for its own line, prefix for its children), walked without recursion
    stack: list[tuple[Any, str, str]] = [(root, "", "")]
    while stack:
        node, first, rest = stack.pop()
        if id(node) in seen:
            lines.append(f"{first}(node #{seen[id(node)]}, shown above)")
            continue
        seen[id(node)] = len(seen)
        lines.append(f"{first}#{seen[id(node)]} {_label(node, access)}")
        children = access.children(node)
        for i, child in reversed(list(enumerate(children))):
            last = i == len(children) - 1
            stack.append(
                (child, rest + ("└── " if last else "├── "), rest + ("    " if last else "│   "))
            )
    return "\n".join(lines)


def debug_print(root: Any, file: TextIO | None = None) -> None:
    """Print :func:`tree` of `root`: op, data and grad of every node."""
    print(tree(root), file=file)


def to_dot(root: Any, rankdir: str = "LR") -> str:
    """Graphviz source, as micrograd's `draw_dot` draws it: a record per node, an oval per op.

    Render it with `dot -Tsvg`, or paste it into any Graphviz viewer; no
    graphviz binary is needed to produce the text.
    """
    access = NodeAccess.infer(root)
    lines = [f"digraph {{ rankdir={rankdir};"]
    for node in access.nodes_below(root):
        uid = f"n{id(node)}"
        data, grad = access.value(node), access.grad(node)
        lines.append(f'  {uid} [shape=record, label="{{ data {data:.4f} | grad {grad:.4f} }}"];')
        op = getattr(node, "_op", "") or getattr(node, "op", "")
        if access.children(node):
            text = str(op).replace('"', '\\"') or "op"
            lines.append(f'  {uid}_op [label="{text}"];')
            lines.append(f"  {uid}_op -> {uid};")
            for child in access.children(node):
                lines.append(f"  n{id(child)} -> {uid}_op;")
    lines.append("}")
    return "\n".join(lines)
