"""What the repetition penalty's word cut changes on a run's kept samples (docs/results.md).

Re-scores every kept sample of each run folder (`samples.jsonl`) with both ways of cutting a
completion into words, whitespace (every run before 2026-11-28) and wordpunct (the default
since), and prints per domain: how many samples, how many whose penalty changes, the mean
repetition under each cut, how many the whitespace cut saw as repetition-free (0) while the
wordpunct cut finds half or more of their 3-grams repeated, and the most changed sample.

    uv run python experiments/probes/repetition_cut.py /work/runs/grids/b-benchmarks-fp32/*/

A probe over run folders, which are not in the repository; the rates come from
`strata_rewards.repetition_rate`, the function the reward calls.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from strata_rewards import repetition_rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders holding samples.jsonl")
    args = parser.parse_args(argv)
    rows: dict[str, list[tuple[float, float, str, str]]] = defaultdict(list)
    for run in args.runs:
        path = run / "samples.jsonl"
        if not path.is_file():
            print(f"repetition_cut: {run}: no samples.jsonl (not a run folder)", file=sys.stderr)
            return 2
        for line_no, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            try:
                sample = json.loads(line)
                text, domain = sample["completion"], sample["domain"]
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                print(
                    f"repetition_cut: {path}:{line_no}: unreadable sample ({err})", file=sys.stderr
                )
                return 2
            old = repetition_rate(text, words="whitespace")
            new = repetition_rate(text, words="wordpunct")
            rows[domain].append((old, new, f"{run.name} step {sample.get('step')}", text))
    print(
        "| domain | samples | penalty changed | mean repetition, whitespace → wordpunct |"
        " blind (0 → ≥ 0.5) |"
    )
    print("|---|---|---|---|---|")
    for domain, samples in sorted(rows.items()):
        n = len(samples)
        changed = sum(abs(new - old) > 1e-9 for old, new, _, _ in samples)
        blind = sum(old == 0 and new >= 0.5 for old, new, _, _ in samples)
        mean_old = sum(s[0] for s in samples) / n
        mean_new = sum(s[1] for s in samples) / n
        print(f"| {domain} | {n} | {changed} | {mean_old:.3f} → {mean_new:.3f} | {blind} |")
    for domain, samples in sorted(rows.items()):
        old, new, where, text = max(samples, key=lambda s: s[1] - s[0])
        print(f"\n{domain}, most changed ({where}): {old:.2f} → {new:.2f}: {text[:120]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
