"""Commit-sized summaries of a grid's real-benchmark check (issue 35, point 5): for each run
folder holding ``bench.json`` (strata-eval of the run's adapter on StrategyQA and MMLU) and
``bench_base.json`` (the same evaluation of the base), one ``<run>.json`` under OUT with both,
the command that made the adapter's and the machine it ran on. The paired tests are
``paired_seeds.py RUNS --before bench_base --after bench`` over the run folders themselves.

    uv run python experiments/analysis/bench_summaries.py /work/runs/grids/extended-seeds \\
        docs/results/extended-bench --machine "$(lscpu | sed -n 's/Model name: *//p'), 2 cores, AMX"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EVAL_ARGS = "--domains strategyqa,mmlu --limit 200 --seed 1 --max-new-tokens 48"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, help="the grid's run folders")
    parser.add_argument("out", type=Path, help="where the summaries go")
    parser.add_argument(
        "--machine", required=True, help="the CPU (and caps) the evaluations ran on"
    )
    parser.add_argument("--env", default="", help="environment the evaluations ran under, K=V ...")
    args = parser.parse_args()
    runs = sorted(p for p in args.runs.iterdir() if (p / "bench.json").is_file())
    if not runs:
        raise SystemExit(f"no run folder under {args.runs} holds bench.json")
    args.out.mkdir(parents=True, exist_ok=True)
    prefix = f"{args.env} " if args.env else ""
    for run in runs:
        base, bench = (json.loads((run / f"{k}.json").read_text()) for k in ("bench_base", "bench"))
        summary = {
            "bench_base": base,
            "bench": bench,
            "command": f"{prefix}uv run strata-eval --adapter {run} {EVAL_ARGS}",
            "machine": args.machine,
        }
        (args.out / f"{run.name}.json").write_text(json.dumps(summary, indent=1) + "\n")
        shown = ", ".join(
            f"{d} {bench[d]['accuracy']:.3f} (base {base[d]['accuracy']:.3f})" for d in bench
        )
        print(f"{run.name}: {shown}")


if __name__ == "__main__":
    main()
