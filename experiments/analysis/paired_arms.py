"""Two arms of a grid against each other, the seed as the unit: per domain, each arm's gain over
the base model on the same items (after − before, per seed), and the paired difference of the
gains, seed by seed, with its mean and a t-interval over seeds; then the same for the mean of a
seed's domain gains and for its worst domain's gain; then each arm's parse rates. The analysis
pre-registered for issue 38's hypotheses (docs/results.md).

    uv run python experiments/analysis/paired_arms.py docs/results/h2-h5-v6 san uniform
    uv run python experiments/analysis/paired_arms.py docs/results/h2-h5-v6 scale-san \
        scale-batch --domains sum,add_digit       # H2: the mean of the two unscaled domains
    uv run python experiments/analysis/paired_arms.py /work/runs/grids/default-v4-seeds drop \
        default --b-runs /work/runs/grids/default-v3-seeds     # arms of two grids, same items
    uv run python experiments/analysis/paired_arms.py docs/results/default-v7-uniform-seeds v7 \
        v6 --b-runs docs/results/default-v6-heap-seeds --dev  # greedy accuracy on dev items

RUNS is either a grid's committed summaries (``<arm>-seed<N>.json``, what a reader has) or its
run folders (``<arm>-seed<N>/eval_before.json`` and ``eval_after.json``). With ``--dev`` the
accuracies are the adapters' greedy ones on the probe's dev items (never trained on, never
reported: where a choice between arms is made), read from ``probe-dev/<arm>-seed<N>.json``
(committed) or ``<arm>-seed<N>/probe-dev/probe.json`` (run folders); both arms' base is the same
model on the same items, so the difference of their accuracies is the difference of their gains.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from strata_experiment.aggregate import t_interval


def read_arm(runs: Path, arm: str) -> dict[int, dict[str, dict[str, dict[str, Any]]]]:
    """Seed -> "before"/"after" -> domain -> evaluation fields (accuracy, parse_rate, ...)."""
    out: dict[int, dict[str, dict[str, dict[str, Any]]]] = {}
    for summary in sorted(runs.glob(f"{arm}-seed*.json")):
        record = json.loads(summary.read_text(encoding="utf-8"))
        out[int(record["seed"])] = {k: record[k] for k in ("before", "after")}
    for run in sorted(p for p in runs.glob(f"{arm}-seed*") if p.is_dir()):
        if not (run / "eval_after.json").is_file():
            continue
        seed = int(run.name.rsplit("seed", 1)[1])
        out[seed] = {
            k: json.loads((run / f"eval_{k}.json").read_text(encoding="utf-8"))
            for k in ("before", "after")
        }
    return out


def read_dev_arm(runs: Path, arm: str) -> dict[int, dict[str, dict[str, dict[str, Any]]]]:
    """As :func:`read_arm`, from the adapters' dev probes: "after" holds each domain's greedy
    accuracy and parse rate, "before" zeros (the base is shared, so differences are gains')."""
    paths = {
        int(p.stem.rsplit("seed", 1)[1]): p
        for p in sorted(runs.glob(f"probe-dev/{arm}-seed*.json"))
    }
    for run in sorted(p for p in runs.glob(f"{arm}-seed*") if p.is_dir()):
        if (run / "probe-dev" / "probe.json").is_file():
            paths[int(run.name.rsplit("seed", 1)[1])] = run / "probe-dev" / "probe.json"
    out: dict[int, dict[str, dict[str, dict[str, Any]]]] = {}
    for seed, path in paths.items():
        rows = json.loads(path.read_text(encoding="utf-8"))
        after = {
            r["domain"]: {"accuracy": r["greedy"]["value"], "parse_rate": r["parse_rate"]["value"]}
            for r in rows
        }
        before = {d: {"accuracy": 0.0, "parse_rate": 0.0} for d in after}
        out[seed] = {"before": before, "after": after}
    return out


def gains(arm: dict[int, dict[str, dict[str, dict[str, Any]]]]) -> dict[int, dict[str, float]]:
    """Seed -> domain -> accuracy after − before (same items)."""
    return {
        seed: {d: r["accuracy"] - ev["before"][d]["accuracy"] for d, r in ev["after"].items()}
        for seed, ev in arm.items()
    }


def show(values: list[float], level: float = 0.95) -> str:
    mean = statistics.fmean(values)
    ci = t_interval(values, level)
    return f"{mean:+.3f} (one seed)" if ci is None else f"{mean:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"


def reading(values: list[float], level: float) -> str:
    """The pre-registered reading of a difference: its interval wholly above or below 0."""
    ci = t_interval(values, level)
    if ci is None:
        return "one seed"
    return "above 0" if ci[0] > 0 else "below 0" if ci[1] < 0 else "spans 0"


def labels(a: str, b: str, runs: Path, b_runs: Path | None) -> tuple[str, str]:
    """The arms as the tables name them: the same arm of two grids by its grid's folder too."""
    if a != b or b_runs is None:
        return a, b
    return f"{a} ({runs.name})", f"{b} ({b_runs.name})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, help="the grid's summaries or run folders")
    parser.add_argument("a", help="first arm (configuration name)")
    parser.add_argument("b", help="second arm")
    parser.add_argument(
        "--b-runs", type=Path, help="the second arm's grid folder, if another grid's (same items)"
    )
    parser.add_argument(
        "--domains",
        help="comma-separated domains the 'mean over domains' and 'worst domain' rows cover "
        "(default: every domain both arms trained)",
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help="compare greedy accuracy on the probe's dev items instead of the eval items' gains",
    )
    parser.add_argument(
        "--level",
        type=float,
        default=0.95,
        help="the intervals' coverage (0.9875: Bonferroni over four hypotheses)",
    )
    args = parser.parse_args()
    read = read_dev_arm if args.dev else read_arm
    runs_a, runs_b = read(args.runs, args.a), read(args.b_runs or args.runs, args.b)
    a, b = gains(runs_a), gains(runs_b)
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise SystemExit(f"no seed has finished runs of both {args.a} and {args.b}")
    # Only domains both arms trained (arms of two grids may differ in one domain).
    domains = [d for d in a[seeds[0]] if d in b[seeds[0]]]
    summarised = args.domains.split(",") if args.domains else domains
    unknown = sorted(set(summarised) - set(domains))
    if unknown:
        raise SystemExit(f"--domains: {', '.join(unknown)} not trained by both arms ({domains})")
    pct = f"{100 * args.level:g} %"
    what = "dev greedy accuracy" if args.dev else "gain"
    label_a, label_b = labels(args.a, args.b, args.runs, args.b_runs)
    print(
        f"| domain | seeds | {what} {label_a} | {what} {label_b} | {label_a} − {label_b} per seed "
        f"| mean difference [{pct} t-interval over seeds] | interval |"
    )
    print("|---|---|---|---|---|---|---|")
    # Per seed, each domain's gain; then two summaries of a seed's domains, compared the same way:
    # their mean (every domain improves) and their minimum (none is left behind: issue 38's
    # curriculum hypothesis is about the weakest).
    rows = {d: ({s: a[s][d] for s in seeds}, {s: b[s][d] for s in seeds}) for d in domains}
    if len(summarised) > 1:
        over = "" if summarised == domains else f" ({', '.join(summarised)})"
        for name, reduce in (("mean over domains", statistics.fmean), ("worst domain", min)):
            ga, gb = ({s: reduce([arm[s][d] for d in summarised]) for s in seeds} for arm in (a, b))
            rows[name + over] = (ga, gb)
    for d, (ga, gb) in rows.items():
        diffs = [ga[s] - gb[s] for s in seeds]
        print(
            f"| {d} | {len(seeds)} | {show([ga[s] for s in seeds], args.level)} | "
            f"{show([gb[s] for s in seeds], args.level)} | "
            + ", ".join(f"{x:+.3f}" for x in diffs)
            + f" | {show(diffs, args.level)} | {reading(diffs, args.level)} |"
        )
    # Parse rate apart from accuracy: a gain in format is not a gain in skill. A dev probe is one
    # evaluation, so it has one rate (its "before" is the shared base's placeholder).
    column = "on dev items" if args.dev else "before → after"
    print(f"\n| arm | domain | parse rate {column}, mean over seeds {seeds} |")
    print("|---|---|---|")
    for name, arm in ((label_a, runs_a), (label_b, runs_b)):
        for d in domains:
            before, after = (
                statistics.fmean(arm[s][k][d]["parse_rate"] for s in seeds)
                for k in ("before", "after")
            )
            rate = f"{after:.3f}" if args.dev else f"{before:.3f} → {after:.3f}"
            print(f"| {name} | {d} | {rate} |")


if __name__ == "__main__":
    main()
