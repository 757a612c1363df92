"""Per seed and domain, the paired before/after test on the same items, and over seeds the mean
gain with a t-interval (the seed is the unit): the analysis pre-registered for the default's
five seeds (docs/results.md).

    uv run python experiments/analysis/paired_seeds.py /work/runs/grids/default-seeds
    uv run python experiments/analysis/paired_seeds.py RUNS --before bench_base --after bench

Reads each run folder's eval_before.json and eval_after.json (per-item outcomes), or the files
named by --before and --after (e.g. a strata-eval of the base and of the run's adapter on the
real benchmarks, saved in the run folder).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from strata_experiment.aggregate import t_interval

from strata_rewards.evaluation import DomainResult, compare, from_json


def seed_rows(before: dict[str, DomainResult], after: dict[str, DomainResult]) -> list[str]:
    """One run's table cells after its name, a domain a row: before, after, parse rates, items
    gained / lost, McNemar's p and where the after-accuracy lies against the intervals, by the
    report's own rules (``strata_rewards.evaluation.compare``): *up* where the two 95 % Wilson
    intervals are apart, *down* where the after-accuracy is under the before-interval's low end
    (the report's forgetting flag, a looser bar than intervals apart), and *down, intervals apart*
    where they are apart too (a grid table's ↓)."""
    rows = []
    for c in compare(before, after):
        b, a = before[c.domain], after[c.domain]
        where = "up" if c.improved else ""
        if c.flagged:
            where = "down, intervals apart" if a.ci_high < b.ci_low else "down"
        p = "—" if c.p_value is None else f"{c.p_value:.3g}"
        rows.append(
            f"{c.domain} | {b.accuracy:.3f} | {a.accuracy:.3f} | "
            f"{b.parse_rate:.3f} → {a.parse_rate:.3f} | {c.gained} / {c.lost} | {p} | {where}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, help="the grid's run folder (one sub-folder a run)")
    parser.add_argument("--before", default="eval_before", help="results file name, no .json")
    parser.add_argument("--after", default="eval_after", help="results file name, no .json")
    args = parser.parse_args()
    before_file, after_file = f"{args.before}.json", f"{args.after}.json"
    if not args.runs.is_dir():
        parser.error(f"{args.runs}: no such folder (a grid's run folders)")
    runs = sorted(p for p in args.runs.iterdir() if (p / after_file).is_file())
    if not runs:
        parser.error(f"{args.runs}: no run folder holds {after_file} yet")
    gains: dict[str, list[float]] = {}
    print("| run | domain | before | after | parse rate | gained / lost | McNemar p | where |")
    print("|---|---|---|---|---|---|---|---|")
    for run in runs:
        before = from_json(json.loads((run / before_file).read_text()))
        after = from_json(json.loads((run / after_file).read_text()))
        for row in seed_rows(before, after):
            print(f"| {run.name} | {row} |")
        for c in compare(before, after):  # domains evaluated before and after alike
            gains.setdefault(c.domain, []).append(c.delta)
    print()
    print(
        "where: up, the 95 % Wilson intervals apart; down, after under the before-interval's "
        "low end (the report's forgetting flag); down, intervals apart: both"
    )
    print()
    print("| domain | seeds | mean gain [95 % t-interval over seeds] |")
    print("|---|---|---|")
    for domain, values in gains.items():
        mean = statistics.fmean(values)
        ci = t_interval(values)
        shown = (
            f"{mean:+.3f} (one seed)" if ci is None else f"{mean:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"
        )
        print(f"| {domain} | {len(values)} | {shown} |")


if __name__ == "__main__":
    main()
