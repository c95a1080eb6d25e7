# mypy: ignore-errors
from dataclasses import dataclass, field


@dataclass
class Context:
    """What a function's forward keeps for its backward."""

    saved_values: tuple = field(default_factory=tuple)

    def save_for_backward(self, *values):
        self.saved_values = values


def topological_sort(root):
    """The nodes above the leaves, the output first: each before the nodes it was made from."""
    order, seen = [], set()

    def visit(node):
        if node.unique_id in seen:
            return
        if not node.is_leaf():
            for parent in node.parents:
                visit(parent)
        seen.add(node.unique_id)
        order.insert(0, node)

    visit(root)
    return order


def backpropagate(root, d_output):
    """The chain rule over the graph: each node's derivative from those made from it."""
    derivatives = {root.unique_id: d_output}
    for node in topological_sort(root):
        d = derivatives.get(node.unique_id, 0.0)
        if node.is_leaf():
            node.accumulate_derivative(d)
            continue
        for parent, d_parent in node.chain_rule(d):
            derivatives[parent.unique_id] = derivatives.get(parent.unique_id, 0.0) + d_parent
