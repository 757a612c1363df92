"""``strata-experiment GRID.toml``: configurations × seeds, each a normal ``strata-train`` run
folder, then one aggregate over their small summaries. The grid file's format:
:mod:`strata_experiment.grid`; the summaries and tables: :mod:`strata_experiment.aggregate`.

A grid file::

    name = "estimators-a"              # the summaries go to <summaries>/<name>/
    summaries = "docs/results"         # relative to the grid file; committed
    doc = "docs/results.md"            # optional: its <!-- grid:NAME --> block gets the table
    runs = "runs/grids"                # run folders (checkpoints), relative to where it runs
    config = "base.toml"               # optional strata-train config, relative to the grid file
    set = ["train.steps=20"]           # overrides every configuration shares
    seeds = [0, 1, 2]                  # each run gets --set train.seed=<seed>
    env = {ONEDNN_MAX_CPU_ISA = "AVX512_CORE_BF16"}  # optional: set for every run

    [configs.san]
    set = ["train.estimator=san"]
    [configs.batch]
    set = ["train.estimator=batch"]

Resumable at two levels: a run whose summary exists is not redone (summaries are written whole,
and one that is not a summary is named before anything runs); a run folder left by a stopped
grid continues from its latest checkpoint (``strata-train --resume``). Held-out items do not
depend on the seed (``data.seed`` is shared), so every run of a grid is evaluated on the same
items and before/after differences are paired.

The base model's evaluation is greedy: two runs whose model, data, prompt, rollout and
evaluation budget agree get the same ``eval_before.json``, so the grid evaluates the base model
once per such setting (kept in ``<runs>/<name>/base-eval/``) and hands it to the other runs,
which read it back as a resumed run does (2.6 of a default run's 13 minutes).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from strata_experiment.aggregate import SummaryError, read_summaries, write_aggregate
from strata_experiment.grid import exit_on_sigterm, load_grid, run_one
from strata_trainer.config import ConfigError, make_folder


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="strata-experiment",
        description="Run a grid of strata-train configurations × seeds (each a normal run "
        "folder), write each finished run's summary, then the aggregate table and curves. "
        "Stopped grids continue where they stopped; finished runs are not redone.",
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("grid", type=Path, help="the grid's TOML file")
    parser.add_argument("--runs", type=Path, help="where run folders go (default: the grid's)")
    parser.add_argument("--only", help="comma-separated configuration names to run")
    parser.add_argument(
        "--seeds",
        help="comma-separated seeds of the grid's to run (e.g. 0: one seed first, to time it)",
    )
    parser.add_argument(
        "--aggregate-only", action="store_true", help="rebuild table.md and curves.png, run none"
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would run, run none")
    args = parser.parse_args(argv)
    try:
        grid = load_grid(args.grid, args.runs)
        only = set(args.only.split(",")) if args.only else set(grid.configs)
        if missing := only - set(grid.configs):
            raise ConfigError(f"--only: no configuration(s) {sorted(missing)} in {args.grid}")
        seeds = chosen_seeds(args.seeds, grid.seeds, args.grid)
        read_summaries(grid)  # one that is not a summary would count its run as done
        if not (args.dry_run or args.aggregate_only):  # before the first run, not inside it
            make_folder(grid.runs, "--runs" if args.runs else "the grid's runs folder")
    except (ConfigError, SummaryError) as err:
        print(f"strata-experiment: {err}", file=sys.stderr)
        return 2
    os.environ.update(grid.env)  # the runs inherit it; this process's records name it
    for name, value in grid.env.items():
        print(f"strata-experiment: {name}={value} for every run of the grid", flush=True)
    chosen = {(c, s) for c, s in grid.runs_of() if c in only and s in seeds}
    todo = [r for r in grid.runs_of() if r in chosen and not grid.summary_path(*r).is_file()]
    done = sum(grid.summary_path(c, s).is_file() for c, s in grid.runs_of())
    left_out = sum(r not in chosen for r in grid.runs_of() if not grid.summary_path(*r).is_file())
    print(
        f"strata-experiment: {grid.name}: {done} run(s) done, {len(todo)} to run"
        + (f", {left_out} left out by --only / --seeds" if left_out else ""),
        flush=True,
    )
    if args.dry_run or args.aggregate_only:
        for c, s in todo:
            print(f"  {c} seed {s}: {' '.join(grid.overrides(c, s))}")
        todo = []
    with exit_on_sigterm():
        for i, (config, seed) in enumerate(todo, start=1):
            print(f"strata-experiment: [{i}/{len(todo)}] {config} seed {seed}", flush=True)
            try:
                run_one(grid, config, seed)
            except RuntimeError as err:
                print(f"strata-experiment: {err}", file=sys.stderr)
                return 1
    try:
        table = None if args.dry_run else write_aggregate(grid)
    except SummaryError as err:  # written while the grid ran, by hand or another process
        print(f"strata-experiment: {err}", file=sys.stderr)
        return 2
    if table is not None:
        print(f"strata-experiment: aggregate: {table}")
    return 0


def chosen_seeds(text: str | None, seeds: Sequence[int], grid: Path) -> set[int]:
    """``--seeds 0,3``: those of the grid's seeds (all of them without the flag)."""
    if text is None:
        return set(seeds)
    try:
        chosen = {int(s) for s in text.split(",")}
    except ValueError:
        raise ConfigError(f"--seeds: {text!r} is not comma-separated whole numbers") from None
    if missing := chosen - set(seeds):
        raise ConfigError(f"--seeds: {sorted(missing)} not among {grid}'s seeds {list(seeds)}")
    return chosen


if __name__ == "__main__":
    raise SystemExit(main())
