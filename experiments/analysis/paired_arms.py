"""Two arms of a grid against each other, the seed as the unit: per domain, each arm's gain over
the base model on the same items (after − before, per seed), and the paired difference of the
gains, seed by seed, with its mean and a t-interval over seeds; then the same for the mean of a
seed's domain gains and for its worst domain's gain. The analysis pre-registered for
issue 38's hypotheses (docs/results.md).

    uv run python experiments/analysis/paired_arms.py /work/runs/grids/h1-easy-hard san global
    uv run python experiments/analysis/paired_arms.py /work/runs/grids/default-v4-seeds drop \
        default --b-runs /work/runs/grids/default-v3-seeds     # arms of two grids, same items

Reads each run folder's eval_before.json and eval_after.json (``<arm>-seed<N>``).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from strata_experiment.aggregate import t_interval

from strata_rewards.evaluation import from_json


def gains(runs: Path, arm: str) -> dict[int, dict[str, float]]:
    """Seed -> domain -> accuracy after − before (same items)."""
    out: dict[int, dict[str, float]] = {}
    for run in sorted(runs.glob(f"{arm}-seed*")):
        if not (run / "eval_after.json").is_file():
            continue
        before = from_json(json.loads((run / "eval_before.json").read_text()))
        after = from_json(json.loads((run / "eval_after.json").read_text()))
        seed = int(run.name.rsplit("seed", 1)[1])
        out[seed] = {d: a.accuracy - before[d].accuracy for d, a in after.items()}
    return out


def interval(values: list[float]) -> str:
    mean = statistics.fmean(values)
    ci = t_interval(values)
    return f"{mean:+.3f} (one seed)" if ci is None else f"{mean:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, help="the grid's run folder")
    parser.add_argument("a", help="first arm (configuration name)")
    parser.add_argument("b", help="second arm")
    parser.add_argument(
        "--b-runs", type=Path, help="the second arm's grid folder, if another grid's (same items)"
    )
    args = parser.parse_args()
    a, b = gains(args.runs, args.a), gains(args.b_runs or args.runs, args.b)
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise SystemExit(f"no seed has finished runs of both {args.a} and {args.b}")
    # Only domains both arms trained (arms of two grids may differ in one domain).
    domains = [d for d in a[seeds[0]] if d in b[seeds[0]]]
    print(
        f"| domain | seeds | gain {args.a} | gain {args.b} | {args.a} − {args.b} per seed "
        "| mean difference [95 % t-interval over seeds] |"
    )
    print("|---|---|---|---|---|---|")
    # Per seed, each domain's gain; then two summaries of a seed's domains, compared the same way:
    # their mean (every domain improves) and their minimum (none is left behind: issue 38's
    # curriculum hypothesis is about the weakest).
    rows = {d: ({s: a[s][d] for s in seeds}, {s: b[s][d] for s in seeds}) for d in domains}
    if len(domains) > 1:
        for name, reduce in (("mean over domains", statistics.fmean), ("worst domain", min)):
            ga, gb = ({s: reduce([arm[s][d] for d in domains]) for s in seeds} for arm in (a, b))
            rows[name] = (ga, gb)
    for d, (ga, gb) in rows.items():
        diffs = [ga[s] - gb[s] for s in seeds]
        print(
            f"| {d} | {len(seeds)} | {interval([ga[s] for s in seeds])} | "
            f"{interval([gb[s] for s in seeds])} | "
            + ", ".join(f"{x:+.3f}" for x in diffs)
            + f" | {interval(diffs)} |"
        )


if __name__ == "__main__":
    main()
