"""strata_experiment — ``strata-experiment``: grids of strata-train runs, their summaries and
seed-level tables (``cli``: the command; ``grid``: a grid file and running one of its runs;
``aggregate``: summaries, tables and curves)."""
