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

from strata_rewards.evaluation import from_json
from strata_rewards.stats import mcnemar_p


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, help="the grid's run folder (one sub-folder a run)")
    parser.add_argument("--before", default="eval_before", help="results file name, no .json")
    parser.add_argument("--after", default="eval_after", help="results file name, no .json")
    args = parser.parse_args()
    before_file, after_file = f"{args.before}.json", f"{args.after}.json"
    gains: dict[str, list[float]] = {}
    print(
        "| run | domain | before | after | parse rate | gained / lost | McNemar p "
        "| beyond both intervals |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for run in sorted(p for p in args.runs.iterdir() if (p / after_file).is_file()):
        before = from_json(json.loads((run / before_file).read_text()))
        after = from_json(json.loads((run / after_file).read_text()))
        for domain, a in after.items():
            b = before[domain]
            pairs = list(zip(b.outcomes, a.outcomes, strict=True))
            gained = sum(1 for x, y in pairs if y and not x)
            lost = sum(1 for x, y in pairs if x and not y)
            beyond = "up" if a.ci_low > b.ci_high else "down" if a.accuracy < b.ci_low else ""
            print(
                f"| {run.name} | {domain} | {b.accuracy:.3f} | {a.accuracy:.3f} | "
                f"{b.parse_rate:.3f} → {a.parse_rate:.3f} | {gained} / {lost} | "
                f"{mcnemar_p(b.outcomes, a.outcomes):.3g} | {beyond} |"
            )
            gains.setdefault(domain, []).append(a.accuracy - b.accuracy)
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
