"""Development tools: benchmarks, the eps sweep, the mutmut gate. Not part of the wheel."""
