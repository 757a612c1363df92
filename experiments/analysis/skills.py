"""One skill of one domain (``sum``'s carry items), before and after, seed by seed, for two arms
paired by seed: each arm's accuracy on that skill's items and the paired difference of the
after-accuracies, its mean and t-interval over seeds. The analysis pre-registered for the carry
(docs/results.md, "Carry-balanced steps").

    uv run python experiments/analysis/skills.py \
        /work/runs/grids/default-v8-balanced-avx2-kernels-seeds v8b \
        /work/runs/grids/default-v8-avx2-kernels-seeds v8 --b-pre-fix --domain sum --skill carry

An arm's RUNS is a grid's run folders (``<arm>-seed<N>/eval_before.json``, ``eval_after.json``)
or its committed summaries (``<arm>-seed<N>.json``) where they keep ``per_subject``. A run folder
without ``per_subject`` (runs before the skill split) is split here: its per-item outcomes,
against the default's eval items of that domain (``data.seed`` 0, difficulty 1), which every
default grid shares. ``--pre-fix`` for runs before 2026-12-06's 8e38fe2, whose add_digit list
still held the worked example's own question (7 + 46, a carry) at index 90.

``--training N`` adds the skill's accuracy during training, from each run folder's
``metrics.jsonl`` (``<domain>/accuracy/<skill>``, logged from 90dd5dd on): its mean over steps
0..N-1, N..2N-1, ... per seed. One arm alone: give it twice (``RUNS x24 RUNS x24``).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from strata_experiment.aggregate import t_interval

from strata_rewards.data import load_synthetic


def subjects(domain: str, pre_fix: bool) -> list[str | None]:
    """The skill of each of the default's eval items of ``domain``, in the evaluation's order."""
    items = [it.subject for it in load_synthetic(domain, "eval", 200, seed=0, difficulty=1)]
    if pre_fix and domain == "add_digit":
        return [*items[:90], "carry", *items[90:199]]
    return items


def skill_accuracy(result: dict[str, Any], skill: str, split: list[str | None]) -> float:
    """A domain's evaluation (one ``eval_*.json`` entry) on the items of ``skill``."""
    if "per_subject" in result and skill in result["per_subject"]:
        return float(result["per_subject"][skill]["accuracy"])
    outcomes = result["outcomes"]
    if len(outcomes) != len(split):
        raise SystemExit(f"{len(outcomes)} outcomes against {len(split)} items")
    picked = [o for o, s in zip(outcomes, split, strict=True) if s == skill]
    return sum(picked) / len(picked)


def read_arm(runs: Path, arm: str, domain: str) -> dict[int, dict[str, dict[str, Any]]]:
    """Seed -> "before"/"after" -> the domain's evaluation fields."""
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for summary in sorted(runs.glob(f"{arm}-seed*.json")):
        record = json.loads(summary.read_text(encoding="utf-8"))
        out[int(record["seed"])] = {k: record[k][domain] for k in ("before", "after")}
    for run in sorted(p for p in runs.glob(f"{arm}-seed*") if p.is_dir()):
        if (run / "eval_after.json").is_file():
            out[int(run.name.rsplit("seed", 1)[1])] = {
                k: json.loads((run / f"eval_{k}.json").read_text(encoding="utf-8"))[domain]
                for k in ("before", "after")
            }
    if not out:
        raise SystemExit(f"no runs of arm {arm!r} under {runs}")
    return out


def training_windows(rows: list[dict[str, Any]], key: str, window: int) -> list[float | None]:
    """Mean of ``key`` over consecutive windows of ``window`` steps (``None``: no step logged it).

    ``rows`` are metrics.jsonl lines; a step that trained no item of the skill has no ``key``."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    last = max((int(r["step"]) for r in rows), default=-1)
    means: list[float | None] = []
    for start in range(0, last + 1, window):
        values = [
            float(r[key]) for r in rows if start <= int(r["step"]) < start + window and key in r
        ]
        means.append(statistics.mean(values) if values else None)
    return means


def print_training(arms: dict[str, Path], key: str, window: int) -> None:
    """Each arm's run folders: the skill's training accuracy per window of steps, per seed."""
    print(f"\n{key} during training, mean per {window} steps")
    for arm, runs in arms.items():
        for run in sorted(p for p in runs.glob(f"{arm}-seed*") if (p / "metrics.jsonl").is_file()):
            lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
            means = training_windows(
                [json.loads(line) for line in lines if line.strip()], key, window
            )
            shown = ", ".join("—" if m is None else f"{m:.2f}" for m in means)
            print(f"| {run.name} | {shown} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a_runs", type=Path)
    parser.add_argument("a_arm")
    parser.add_argument("b_runs", type=Path)
    parser.add_argument("b_arm")
    parser.add_argument("--domain", default="sum")
    parser.add_argument("--skill", default="carry")
    parser.add_argument("--a-pre-fix", action="store_true", help="arm A ran before 8e38fe2")
    parser.add_argument("--b-pre-fix", action="store_true", help="arm B ran before 8e38fe2")
    parser.add_argument(
        "--training", type=int, metavar="N", help="also the training accuracy, per N steps"
    )
    args = parser.parse_args()
    arms = {
        args.a_arm: (read_arm(args.a_runs, args.a_arm, args.domain), args.a_pre_fix),
        args.b_arm: (read_arm(args.b_runs, args.b_arm, args.domain), args.b_pre_fix),
    }
    acc = {
        arm: {
            seed: {k: skill_accuracy(r[k], args.skill, subjects(args.domain, pre)) for k in r}
            for seed, r in runs.items()
        }
        for arm, (runs, pre) in arms.items()
    }
    a, b = acc[args.a_arm], acc[args.b_arm]
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise SystemExit(f"no seed in both arms ({sorted(a)} against {sorted(b)})")
    print(f"{args.domain}, {args.skill} items: accuracy before -> after")
    print(f"| seed | {args.a_arm} | {args.b_arm} | difference of after |")
    print("|---|---|---|---|")
    diffs = []
    for seed in seeds:
        d = a[seed]["after"] - b[seed]["after"]
        diffs.append(d)
        print(
            f"| {seed} | {a[seed]['before']:.3f} -> {a[seed]['after']:.3f} | "
            f"{b[seed]['before']:.3f} -> {b[seed]['after']:.3f} | {d:+.3f} |"
        )
    for arm, values in acc.items():
        gains = [v["after"] - v["before"] for v in values.values()]
        below = sum(v["after"] < v["before"] for v in values.values())
        print(
            f"{arm}: gain {statistics.mean(gains):+.3f} {interval(gains)} over {len(gains)} "
            f"seeds; after below before in {below}"
        )
    print(
        f"{args.a_arm} - {args.b_arm}, after: {statistics.mean(diffs):+.3f} {interval(diffs)} "
        f"over {len(diffs)} paired seeds"
    )
    if args.training:
        key = f"{args.domain}/accuracy/{args.skill}"
        print_training({args.a_arm: args.a_runs, args.b_arm: args.b_runs}, key, args.training)


def interval(values: list[float]) -> str:
    bounds = t_interval(values)
    return "[n/a]" if bounds is None else f"[{bounds[0]:+.3f}, {bounds[1]:+.3f}]"


if __name__ == "__main__":
    main()
