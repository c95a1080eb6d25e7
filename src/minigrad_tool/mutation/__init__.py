"""The mutation layer: break each backward step, and prove a judge notices.

* :mod:`~minigrad_tool.mutation.sites` and :mod:`~minigrad_tool.mutation.operators`: where
  to mutate, and how;
* :mod:`~minigrad_tool.mutation.mutants` and :mod:`~minigrad_tool.mutation.patch`: named
  mutants, swapped into the running engine in memory;
* :mod:`~minigrad_tool.mutation.campaign`: judging each mutant by the battery, and
  :mod:`~minigrad_tool.mutation.pytest_judge`: by your own pytest tests;
* :mod:`~minigrad_tool.mutation.equivalence` and :mod:`~minigrad_tool.mutation.suggest`:
  probing survivors, and writing the tests they show are missing;
* :mod:`~minigrad_tool.mutation.report`, :mod:`~minigrad_tool.mutation.html_report` and
  :mod:`~minigrad_tool.mutation.merge`: what a campaign prints and writes;
* :mod:`~minigrad_tool.mutation.inject`: break one and watch the tests catch it.
"""
