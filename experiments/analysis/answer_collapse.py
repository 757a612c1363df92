"""Experiment B′'s and B″'s goal G1, per seed: after training, the most common greedy answer's
share of each few-answer benchmark's held-out items (no answer read counts as one answer),
against a ceiling, with the parse rate and the accuracy on the parsed answers; and, from the run
folders when given, the sampled answers' modal share over the last ten training steps (what the
sampled collapse alarm reads).

    uv run python experiments/analysis/answer_collapse.py docs/results/b-balanced
    uv run python experiments/analysis/answer_collapse.py docs/results/b-guards \\
        --runs /work/runs/grids/b-guards

Reads the grid's committed summaries (``<config>-seed<N>.json``: ``before`` and ``after`` per
domain, each with ``answers``, the most common answers and their counts).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from strata_rewards.evaluation import modal_answer

CEILINGS = {"mmlu": 0.6, "strategyqa": 0.8}
"""G1's ceilings on the most common greedy answer's share (docs/results.md, "Experiment B′")."""


def modal_share(result: Mapping[str, Any]) -> tuple[str, float] | None:
    """The most common answer of one domain's evaluation and its share of the items; None for
    a summary written before the answers were counted (B's seed 0)."""
    found = modal_answer(result.get("answers", {}))
    if found is None or not result["n"]:
        return None
    answer, count = found
    return answer, count / result["n"]


def sampled_tail(run: Path, domain: str, last: int = 10) -> float | None:
    """Mean sampled modal-answer share of ``domain`` over a run's last ``last`` steps that gave
    it at least two prompts (the alarm's own rule), or None without metrics."""
    path = run / "metrics.jsonl"
    if not path.is_file():
        return None
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    shares = [
        float(r[f"{domain}/modal_answer_share"])
        for r in rows[-last:]
        if f"{domain}/modal_answer_share" in r and int(r.get(f"{domain}/prompts", 2)) >= 2
    ]
    return statistics.fmean(shares) if shares else None


def shown(modal: tuple[str, float] | None) -> str:
    return "not counted" if modal is None else f"{modal[0]} ({modal[1]:.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("summaries", type=Path, help="a grid's committed summaries folder")
    parser.add_argument("--runs", type=Path, help="the grid's run folders, for the sampled share")
    parser.add_argument(
        "--ceiling",
        action="append",
        default=[],
        metavar="DOMAIN=SHARE",
        help="another ceiling for a domain, e.g. strategyqa=0.88 (experiment C's G1′)",
    )
    args = parser.parse_args()
    ceilings = dict(CEILINGS)
    for given in args.ceiling:
        domain, _, share = given.partition("=")
        try:
            bound = float(share)
        except ValueError:
            bound = math.nan
        # A bare "=0.5" once set a ceiling for a domain named "" that no summary holds.
        if not domain or not 0.0 <= bound <= 1.0:
            parser.error(f"--ceiling {given}: expected DOMAIN=SHARE, e.g. strategyqa=0.88")
        ceilings[domain] = bound
    files = sorted(
        args.summaries.glob("*-seed*.json"), key=lambda p: json.loads(p.read_text())["seed"]
    )
    if not files:  # an empty table read as "nothing collapsed"
        parser.error(f"{args.summaries}: no <config>-seed<N>.json summaries there")
    print(
        "| run | domain | base: answer (share) | after: answer (share) | ceiling | parse rate | "
        "accuracy / on parsed | sampled share, last 10 steps | G1 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for path in files:
        summary = json.loads(path.read_text())
        for domain, ceiling in ceilings.items():
            if domain not in summary["after"]:
                continue
            before, after = summary["before"][domain], summary["after"][domain]
            base, trained = modal_share(before), modal_share(after)
            tail = sampled_tail(args.runs / path.stem, domain) if args.runs else None
            verdict = "—" if trained is None else "met" if trained[1] <= ceiling else "**missed**"
            print(
                f"| {path.stem} | {domain} | {shown(base)} | {shown(trained)} | {ceiling} | "
                f"{after['parse_rate']:.3f} | "
                f"{after['accuracy']:.3f} / {after.get('parsed_accuracy', math.nan):.3f} | "
                f"{'—' if tail is None else f'{tail:.2f}'} | {verdict} |"
            )


if __name__ == "__main__":
    main()
