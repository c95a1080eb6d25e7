"""Tensor engines: nodes whose number is a numpy array.

* :mod:`~minigrad_tool.tensor.calls`: each op called the way the engine spells it
  (`axis` or `dim`, `keepdims` or `keepdim`, a shape as a tuple or as arguments);
* :mod:`~minigrad_tool.tensor.access`: reading and writing the engine's arrays;
* :mod:`~minigrad_tool.tensor.discovery`: finding the ops, their backward steps and
  the helpers they share, by calling them (in a child, as for scalar engines);
* :mod:`~minigrad_tool.tensor.cases`: what a tensor case is, and how it is checked:
  directional derivatives against the vector-Jacobian product, about ten forward
  passes whatever the size;
* :mod:`~minigrad_tool.tensor.rows`: the battery, as data;
* :mod:`~minigrad_tool.tensor.probes`: equivalence probes, per shape family.

numpy is imported only here: a scalar engine never needs it.
"""
