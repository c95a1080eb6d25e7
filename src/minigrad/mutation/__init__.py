"""The mutation layer: break each backward step, and prove a judge notices.

* :mod:`~minigrad.mutation.sites` and :mod:`~minigrad.mutation.operators`: where
  to mutate, and how;
* :mod:`~minigrad.mutation.mutants` and :mod:`~minigrad.mutation.patch`: named
  mutants, swapped into the running engine in memory;
* :mod:`~minigrad.mutation.campaign`: judging each mutant by the battery, and
  :mod:`~minigrad.mutation.pytest_judge`: by your own pytest tests;
* :mod:`~minigrad.mutation.equivalence` and :mod:`~minigrad.mutation.suggest`:
  probing survivors, and writing the tests they show are missing;
* :mod:`~minigrad.mutation.report`, :mod:`~minigrad.mutation.html_report` and
  :mod:`~minigrad.mutation.merge`: what a campaign prints and writes;
* :mod:`~minigrad.mutation.inject`: break one and watch the tests catch it.
"""
