"""The battery: named gradient cases, kept as data, built for each engine from its profile.

* :mod:`~minigrad_tool.battery.oracle`: the forward oracle (plain floats and `math`);
* :mod:`~minigrad_tool.battery.cases`: what a case is and how each kind is checked;
* :mod:`~minigrad_tool.battery.dags`: reproducible random graphs;
* :mod:`~minigrad_tool.battery.rows`: the rows, per op and fixed.
"""

from minigrad_tool.battery.cases import (
    Case,
    CaseResult,
    ForwardTolerance,
    Settings,
    run_case,
    run_case_in_orders,
)
from minigrad_tool.battery.rows import Battery, build_battery

__all__ = [
    "Battery",
    "Case",
    "CaseResult",
    "ForwardTolerance",
    "Settings",
    "build_battery",
    "run_case",
    "run_case_in_orders",
]
