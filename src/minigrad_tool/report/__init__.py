"""What minigrad shows: terminal output, JSON in the mutation-testing-report-schema, the
HTML page, and the merge of sharded reports.  Each reads the one status model of
:mod:`minigrad_tool.mutation.results`."""
