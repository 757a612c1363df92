"""The run's report: PNG plots from ``metrics.jsonl`` (and ``greedy.jsonl``, where the run
checked its greedy answers) and ``report.md`` with the before/after table. Plots: per-domain
reward and accuracy, structure compliance, curriculum shares, KL and clip fraction, the greedy
watch."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from strata_grpo.collapse import collapse_alarms, greedy_alarms
from strata_rewards.evaluation import (
    DomainResult,
    answer_cell,
    compare,
    comparison_markdown,
    results_markdown,
    subjects_comparison_markdown,
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


def plot(
    rows: Sequence[Mapping[str, Any]],
    domains: Sequence[str],
    out_dir: Path,
    checks: Sequence[Mapping[str, Any]] = (),
) -> list[Path]:
    """Write the PNGs; returns their paths (none when there are no metrics). ``checks``: the
    run's greedy checks (greedy.jsonl), if it made any."""
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
                # Raw points faint, a moving average over them bold: single steps are noisy.
                (line,) = ax.plot(xs, ys, marker="o", markersize=2, alpha=0.3, linewidth=0.8)
                ax.plot(xs, moving_average(ys), color=line.get_color(), label=label)
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

    for name, (title, ylabel) in PER_DOMAIN_PANELS.items():
        panel(name, title, [(f"{d}/{name}", d) for d in domains], ylabel)
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
        "Curriculum score per domain (UCB: shares follow it above the floors; uniform: 1 each)",
        [(f"curriculum/{d}", d) for d in domains],
        "score",
    )
    skills = {
        d: sorted({k for r in rows for k in r if k.startswith(f"{d}/accuracy/")}) for d in domains
    }
    # Domains split 2 to 8 ways, as report.md's by-skill table (a sum's carry; not MMLU's 57).
    shown = [k for keys in skills.values() if 2 <= len(keys) <= 8 for k in keys]
    if shown:
        panel(
            "accuracy_by_skill",
            "Training accuracy per skill (a domain that learns only its easy half shows here)",
            [(k, k.replace("/accuracy/", ": ")) for k in shown],
            "share correct",
        )
    panel(
        "parse_truncation",
        "Parse rate and share cut at the budget",
        [(f"{d}/parse_rate", f"{d} parsed") for d in domains]
        + [(f"{d}/truncated", f"{d} truncated") for d in domains],
        "share",
    )
    panel(
        "kl_clip",
        "KL to the reference and clip fraction",
        [("train/kl", "KL (k3)"), ("train/clip_fraction", "clip fraction")],
        "value",
    )
    if checks:
        for name, (title, ylabel) in GREEDY_PANELS.items():
            keys = [(f"{d}/greedy/{name}", d) for d in domains]
            panel(f"greedy_{name}", title, keys, ylabel, checks)
    panel(
        "sampler",
        "Sampler vs learner: the policy that samples against the one that learns",
        [
            ("train/sampler_logp_gap", "mean |log π_sampler − log π_learner|"),
            ("train/sampler_kl", "KL(sampler ‖ learner), estimated"),
        ],
        "nats per token",
    )
    return written


PER_DOMAIN_PANELS: dict[str, tuple[str, str]] = {
    "reward": ("Reward per domain", "mean reward"),
    "accuracy": ("Training accuracy per domain", "share correct"),
    "structure": ("Structure score per domain", "mean structure score"),
    "structure_share": (
        "Format watch: the structure term's share of the reward earned",
        "share of outcome + structure reward",
    ),
    "equal_outcome_groups": (
        "Signal health: groups whose outcomes are all equal (teach no skill)",
        "share of groups",
    ),
    "modal_answer_share": (
        "Collapse watch: the most common answer's share of a domain's answers",
        "share of answers",
    ),
    "entropy": ("Sampling entropy per token (−mean log π of the sampled tokens)", "nats per token"),
}
"""One plot a metric, one line a domain: the plot's file is named after the metric."""


GREEDY_PANELS: dict[str, tuple[str, str]] = {
    "modal_answer_share": (
        "Greedy watch: the most common greedy answer's share of held-aside questions",
        "share of questions",
    ),
    "accuracy": ("Greedy watch: accuracy on held-aside questions", "share correct"),
}
"""The greedy checks' plots (``log.greedy_every``), named greedy_<metric>.png."""


def greedy_markdown(checks: Sequence[Mapping[str, Any]], domains: Sequence[str]) -> str:
    """The greedy checks as a table: a row a check, a column a domain (accuracy; the most
    common answer and its share of the questions)."""
    if not checks:
        return ""
    lines = [
        "## Greedy watch (held-aside questions, greedy, every log.greedy_every steps)",
        "",
        "| step | " + " | ".join(domains) + " |",
        "|---|" + "---|" * len(domains),
    ]
    for c in checks:
        cells = []
        for d in domains:
            if f"{d}/greedy/accuracy" not in c:
                cells.append("")
                continue
            cells.append(
                f"{c[f'{d}/greedy/accuracy']:.3f}; {answer_cell(c[f'{d}/greedy/modal_answer'])} "
                f"{c[f'{d}/greedy/modal_answer_share']:.2f}"
            )
        lines.append(f"| {c['step']} | " + " | ".join(cells) + " |")
    lines += ["", "Each cell: accuracy; the most common answer and its share of the questions."]
    return "\n".join(lines)


def moving_average(ys: Sequence[float], window: int = 5) -> list[float]:
    """Trailing mean over up to ``window`` points (fewer at the start)."""
    out, total = [], 0.0
    for i, y in enumerate(ys):
        total += y
        if i >= window:
            total -= ys[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_before_after(
    before: Mapping[str, DomainResult], after: Mapping[str, DomainResult], out_dir: Path
) -> Path:
    """Held-out accuracy before and after per domain, with 95 % interval bars and each domain's
    best constant answer as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    domains = [d for d in after if d in before]
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    for offset, (label, results) in zip(
        (-0.18, 0.18), (("before", before), ("after", after)), strict=True
    ):
        accs = [results[d].accuracy for d in domains]
        errs = [
            [results[d].accuracy - results[d].ci_low for d in domains],
            [results[d].ci_high - results[d].accuracy for d in domains],
        ]
        xs = [i + offset for i in range(len(domains))]
        ax.bar(xs, accs, width=0.34, label=label, yerr=errs, capsize=4)
    for i, d in enumerate(domains):
        ax.hlines(
            after[d].baseline,
            i - 0.4,
            i + 0.4,
            colors="black",
            linestyles="dashed",
            label="best constant answer" if i == 0 else None,
        )
    ax.set_xticks(range(len(domains)), [f"{d}\n(n={after[d].n})" for d in domains])
    ax.set_ylabel("held-out accuracy (greedy)")
    ax.set_ylim(0, 1)
    ax.set_title("Before / after training, 95 % Wilson intervals")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out_dir / "before_after.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def samples_markdown(path: Path, per_domain: int = 2) -> str:
    """The last logged step's sampled completions (``samples.jsonl``), with their rewards."""
    if not path.is_file():
        return ""
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    if not rows:
        return ""
    last = max(r["step"] for r in rows)
    lines = [f"## Samples written at step {last} (sampled, as trained)", ""]
    shown: dict[str, int] = {}
    for r in rows:
        if r["step"] != last or shown.get(r["domain"], 0) >= per_domain:
            continue
        shown[r["domain"]] = shown.get(r["domain"], 0) + 1
        lines += [
            f"**{r['domain']}** (gold {r['gold']}; answer {r['answer']}; outcome"
            f" {r['outcome']:.0f}, structure {r['structure']:.2f}, repetition"
            f" {r['repetition']:.2f}, total {r['total']:.2f})",
            "",
            "    " + r["completion"].replace("\n", "\n    "),
            "",
        ]
    return "\n".join(lines)


def time_profile_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """Where a step's time went: the median over steps of each ``time/…`` metric, and its share
    of the median step ("" where the log has no step time). Stages the trainer does not time
    (input padding, the curriculum's update) are the rest of the step."""
    keys = [k for k in rows[0] if k.startswith("time/")] if rows else []
    if "time/step" not in keys:
        return ""

    def median(key: str) -> float:
        return statistics.median(float(r[key]) for r in rows if key in r)

    step = median("time/step")
    lines = [
        f"## Where a step's time went (median of {len(rows)} steps)",
        "",
        "training = reference_logprobs + forward_backward + optimizer (+ padding the inputs); "
        "step = generation + training + weight_sync (+ the curriculum's update).",
        "",
        "| stage | seconds | share of the step |",
        "|---|---|---|",
    ]
    for key in keys:
        seconds = median(key)
        share = f"{seconds / step:.0%}" if step > 0 else "—"
        lines.append(f"| {key.removeprefix('time/')} | {seconds:.2f} | {share} |")
    return "\n".join(lines)


def write_report(
    run_dir: Path,
    domains: Sequence[str],
    before: Mapping[str, DomainResult] | None,
    after: Mapping[str, DomainResult] | None,
    facts: Mapping[str, Any],
) -> Path:
    """``run_dir/report.md`` with the plots, the evaluation tables and the run's facts."""
    rows = read_metrics(run_dir / "metrics.jsonl")
    checks = read_metrics(run_dir / "greedy.jsonl")
    images = plot(rows, domains, run_dir / "plots", checks)
    lines = [f"# Run report: {run_dir.name}", ""]
    lines += [f"- {k}: {v}" for k, v in facts.items()]
    lines.append("")
    if before and after:
        rows_cmp = compare(before, after)
        chart = plot_before_after(before, after, run_dir / "plots")
        lines += [
            "## Before / after (held-out, greedy)",
            "",
            f"![before/after](plots/{chart.name})",
            "",
            comparison_markdown(rows_cmp),
        ]
        if by_skill := subjects_comparison_markdown(before, after):
            lines += ["By skill (synthetic domains) or subject:", "", by_skill]
        flagged = [c.domain for c in rows_cmp if c.flagged]
        lines.append(
            f"**Flagged:** {', '.join(flagged)} fell below the lower end of its "
            "before-training 95 % interval.\n"
            if flagged
            else "No domain fell below its before-training 95 % interval.\n"
        )
    alarms = collapse_alarms(rows, domains) + greedy_alarms(checks, domains)
    lines += ["## Collapse alarm", ""]
    lines += [f"- **{a.message}**" for a in alarms] if alarms else ["No domain looks collapsed."]
    lines.append("")
    if before:
        lines += [results_markdown(before, "Before training"), ""]
    if after:
        lines += [results_markdown(after, "After training"), ""]
    if greedy := greedy_markdown(checks, domains):
        lines += [greedy, ""]
    if images:
        lines += ["## Training curves", ""]
        lines += [f"![{p.stem}](plots/{p.name})" for p in images]
        lines.append("")
    profile = time_profile_markdown(rows)
    if profile:
        lines += [profile, ""]
    samples = samples_markdown(run_dir / "samples.jsonl")
    if samples:
        lines += [samples, ""]
    if rows:
        last = rows[-1]
        lines += ["## Last step", "", "```", json.dumps(last, indent=1)[:3000], "```", ""]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
