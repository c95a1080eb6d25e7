"""The mutation layer: break each backward step, and prove a judge notices.

* :mod:`~minigrad_tool.mutation.sites` and :mod:`~minigrad_tool.mutation.operators`: where
  to mutate, and how (a registry of small generators);
* :mod:`~minigrad_tool.mutation.mutants` and :mod:`~minigrad_tool.mutation.patch`: named
  mutants, swapped into the running engine in memory;
* :mod:`~minigrad_tool.mutation.results`: the one status model;
* :mod:`~minigrad_tool.mutation.judging`: the judge protocol and the loop judges share;
  :mod:`~minigrad_tool.mutation.judges`: the table of judges (the battery, your tests);
* :mod:`~minigrad_tool.mutation.probing` and :mod:`~minigrad_tool.mutation.equivalence`:
  probing what got through, for equivalence and for the input that tells it apart;
* :mod:`~minigrad_tool.mutation.campaign`: orchestration only;
* :mod:`~minigrad_tool.mutation.suggest` and :mod:`~minigrad_tool.mutation.inject`: the
  missing tests, and one bug injected; library only (the CLI prints).

What a campaign prints and writes lives in :mod:`minigrad_tool.report`.
"""
