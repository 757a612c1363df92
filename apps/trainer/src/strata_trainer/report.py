"""The run's report: PNG plots from ``metrics.jsonl`` and ``report.md`` with the before/after
table. Plots: per-domain reward and accuracy, structure compliance, curriculum shares, KL and
clip fraction."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from strata_trainer.evaluate import (
    DomainResult,
    compare,
    comparison_markdown,
    results_markdown,
)


def read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _series(rows: Sequence[Mapping[str, Any]], key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for r in rows:
        if isinstance(r.get(key), int | float):
            xs.append(int(r["step"]))
            ys.append(float(r[key]))
    return xs, ys


def plot(rows: Sequence[Mapping[str, Any]], domains: Sequence[str], out_dir: Path) -> list[Path]:
    """Write the PNGs; returns their paths (none when there are no metrics)."""
    if not rows:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []

    def panel(
        name: str,
        title: str,
        keys: Sequence[tuple[str, str]],
        ylabel: str,
        data: Sequence[Mapping[str, Any]] = rows,
    ) -> None:
        fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
        for key, label in keys:
            xs, ys = _series(data, key)
            if xs:
                ax.plot(xs, ys, marker="o", markersize=3, label=label)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        fig.tight_layout()
        path = out_dir / f"{name}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)

    panel("reward", "Reward per domain", [(f"{d}/reward", d) for d in domains], "mean reward")
    panel(
        "accuracy",
        "Training accuracy per domain",
        [(f"{d}/accuracy", d) for d in domains],
        "share correct",
    )
    panel(
        "structure",
        "Structure score per domain",
        [(f"{d}/structure", d) for d in domains],
        "mean structure score",
    )
    shares = []
    for r in rows:
        total = sum(float(r.get(f"{d}/completions", 0)) for d in domains) or 1.0
        shares.append(
            {"step": r["step"], **{d: float(r.get(f"{d}/completions", 0)) / total for d in domains}}
        )
    panel(
        "curriculum",
        "Curriculum: share of each step's completions",
        [(d, d) for d in domains],
        "share",
        shares,
    )
    panel(
        "curriculum_scores",
        "UCB score per domain (shares follow it above the floors)",
        [(f"curriculum/{d}", d) for d in domains],
        "score",
    )
    panel(
        "kl_clip",
        "KL to the reference and clip fraction",
        [("train/kl", "KL (k3)"), ("train/clip_fraction", "clip fraction")],
        "value",
    )
    return written


def write_report(
    run_dir: Path,
    domains: Sequence[str],
    before: Mapping[str, DomainResult] | None,
    after: Mapping[str, DomainResult] | None,
    facts: Mapping[str, Any],
) -> Path:
    """``run_dir/report.md`` with the plots, the evaluation tables and the run's facts."""
    rows = read_metrics(run_dir / "metrics.jsonl")
    images = plot(rows, domains, run_dir / "plots")
    lines = [f"# Run report: {run_dir.name}", ""]
    lines += [f"- {k}: {v}" for k, v in facts.items()]
    lines.append("")
    if before and after:
        rows_cmp = compare(before, after)
        lines += ["## Before / after (held-out, greedy)", "", comparison_markdown(rows_cmp)]
        flagged = [c.domain for c in rows_cmp if c.flagged]
        lines.append(
            f"**Flagged:** {', '.join(flagged)} fell below the lower end of its "
            "before-training 95 % interval.\n"
            if flagged
            else "No domain fell below its before-training 95 % interval.\n"
        )
    if before:
        lines += [results_markdown(before, "Before training"), ""]
    if after:
        lines += [results_markdown(after, "After training"), ""]
    if images:
        lines += ["## Training curves", ""]
        lines += [f"![{p.stem}](plots/{p.name})" for p in images]
        lines.append("")
    if rows:
        last = rows[-1]
        lines += ["## Last step", "", "```", json.dumps(last, indent=1)[:3000], "```", ""]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
