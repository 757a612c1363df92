"""A grid's results: each finished run's small, committable summary, and the aggregate over
seeds (t-intervals over seeds, paired differences, curves, the block in the results doc).
Reads summaries and run folders only; runs nothing."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strata_rewards.evaluation import most_common_answer
from strata_trainer.report import moving_average, read_metrics

if TYPE_CHECKING:
    from strata_experiment.grid import Grid


RESULT_FIELDS = (
    "n",
    "correct",
    "accuracy",
    "ci_low",
    "ci_high",
    "parse_rate",
    "parsed_accuracy",
    "baseline",
    "answers",  # absent from evaluations written before 2026-11-27
    "per_subject",  # a synthetic domain's skills (a sum's carry) since 2026-12-06; MMLU's subjects
)


def summarise_run(
    run: Path, grid: str, config: str, seed: int, overrides: Sequence[str]
) -> dict[str, Any]:
    """The small, committable record of a finished run: before/after per domain, curves, cost,
    and the configuration strata-train resolved (``resolved``), so the record says what ran even
    where the grid's overrides leave a field to the default of the day."""
    from strata_grpo import describe_cpu  # torch: only once a run has finished

    for name in ("eval_before.json", "eval_after.json"):
        if not (run / name).is_file():
            raise RuntimeError(f"{run}: no {name} (the grid needs eval.before and eval.after)")
    before, after = (
        json.loads((run / n).read_text("utf-8")) for n in ("eval_before.json", "eval_after.json")
    )
    invocations = [
        json.loads(x) for x in (run / "invocations.jsonl").read_text("utf-8").splitlines()
    ]
    rows = latest_per_step(read_metrics(run / "metrics.jsonl"))
    domains = list(after)
    curve_keys = [f"{d}/{k}" for d in domains for k in ("accuracy", "reward")]
    return {
        "grid": grid,
        "config": config,
        "seed": seed,
        "set": list(overrides),
        "resolved": json.loads((run / "config.json").read_text("utf-8")),
        "machine": describe_cpu(),
        "wall_s": round(sum(i["wall_s"] for i in invocations), 1),
        "processes": len(invocations),
        "peak_rss_gb": round(max(i["peak_rss_gb"] for i in invocations), 3),
        "steps": len(rows),
        "before": {d: _result_fields(before[d]) for d in domains if d in before},
        "after": {d: _result_fields(after[d]) for d in domains},
        "curves": {"step": [r["step"] for r in rows]}
        | {k: [r.get(k) for r in rows] for k in curve_keys},
    }


def latest_per_step(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One row a step, the last written, in step order: a run restarted before its first
    checkpoint (before that was fixed) wrote its first steps twice, and two committed
    summaries counted 14 and 15 steps of a 13-step run."""
    by_step = {int(r["step"]): r for r in rows}
    return [by_step[s] for s in sorted(by_step)]


def _result_fields(result: Mapping[str, Any]) -> dict[str, Any]:
    return {k: result[k] for k in RESULT_FIELDS if k in result}


@dataclass(frozen=True)
class Row:
    """One configuration's result on one domain, over its seeds."""

    config: str
    domain: str
    seeds: int
    before: float
    """Base-model accuracy (the same items for every seed)."""
    before_ci: tuple[float, float]
    after_mean: float
    after_sd: float
    """Standard deviation over seeds (0 with one seed)."""
    gain_mean: float
    gain_sd: float
    gain_ci: tuple[float, float] | None
    """95 % t-interval of the mean gain over seeds, the seed as the unit (None with one seed).
    Not a Wilson interval of answers pooled over seeds: the items repeat across seeds, so
    pooled answers are not independent."""
    above: int
    """Seeds whose after interval lies wholly above the before interval."""
    below: int


T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
"""Two-sided 95 % quantiles of Student's t by degrees of freedom (10 or more: 2.228 and less;
1.96 is the limit)."""


def t_quantile(level: float, df: int) -> float:
    """Two-sided ``level`` quantile of Student's t with ``df`` degrees of freedom: the CDF by
    Simpson's rule on its density, inverted by bisection (no SciPy in the workspace)."""
    const = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))

    def central_mass(x: float, steps: int = 2000) -> float:  # P(|T| <= x)
        h = x / steps
        f: list[float] = [
            const * (1 + (i * h) ** 2 / df) ** (-(df + 1) / 2) for i in range(steps + 1)
        ]
        return 2 * h / 3 * (f[0] + f[-1] + 4 * sum(f[1:-1:2]) + 2 * sum(f[2:-1:2]))

    lo, hi = 0.0, 1000.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if central_mass(mid) < level else (lo, mid)
    return (lo + hi) / 2


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float] | None:
    """t-interval of the mean of ``values`` (seeds: the unit); None for fewer than two. At 95 %
    the quantile is :data:`T_975`'s; at another level (a Bonferroni reading), :func:`t_quantile`."""
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    df = len(values) - 1
    t = T_975.get(df, 2.228) if level == 0.95 else t_quantile(level, df)
    half = t * statistics.stdev(values) / len(values) ** 0.5
    return mean - half, mean + half


def by_config(summaries: Sequence[Mapping[str, Any]]) -> dict[str, dict[int, Mapping[str, Any]]]:
    """Configuration → seed → summary, configurations in the order they first appear (the
    grid's order; the first is the reference of the paired table)."""
    runs: dict[str, dict[int, Mapping[str, Any]]] = {}
    for s in summaries:
        runs.setdefault(s["config"], {})[s["seed"]] = s
    return runs


def _spread(values: Sequence[float]) -> float:
    """Sample standard deviation; 0 for a single value (one seed has no spread)."""
    return statistics.stdev(values) if len(values) > 1 else 0.0


def aggregate(summaries: Sequence[Mapping[str, Any]]) -> list[Row]:
    """Per configuration and domain: before, after (mean, spread), gain (mean, spread, interval
    over seeds), and how many seeds moved beyond their intervals."""
    rows = []
    for config, per_seed in by_config(summaries).items():
        runs = list(per_seed.values())
        for domain in runs[0]["after"]:
            pairs = [(r["before"][domain], r["after"][domain]) for r in runs]
            gains = [a["accuracy"] - b["accuracy"] for b, a in pairs]
            afters = [a["accuracy"] for _, a in pairs]
            b0 = pairs[0][0]
            rows.append(
                Row(
                    config=config,
                    domain=domain,
                    seeds=len(runs),
                    before=b0["accuracy"],
                    before_ci=(b0["ci_low"], b0["ci_high"]),
                    after_mean=statistics.fmean(afters),
                    after_sd=_spread(afters),
                    gain_mean=statistics.fmean(gains),
                    gain_sd=_spread(gains),
                    gain_ci=t_interval(gains),
                    above=sum(a["ci_low"] > b["ci_high"] for b, a in pairs),
                    below=sum(a["ci_high"] < b["ci_low"] for b, a in pairs),
                )
            )
    return rows


@dataclass(frozen=True)
class Paired:
    """One configuration against the grid's first on one domain, seed by seed: each seed's
    after-training accuracy minus the reference's on the same seed (the same held-out items)."""

    config: str
    reference: str
    domain: str
    seeds: tuple[int, ...]
    """Seeds that both configurations ran."""
    mean: float
    sd: float
    """Standard deviation of the per-seed differences (0 with one seed)."""
    lower: int
    """Seeds on which ``config`` ended below the reference."""
    higher: int


def paired_differences(summaries: Sequence[Mapping[str, Any]]) -> list[Paired]:
    """Every configuration but the first against the first, on the seeds both ran. The
    differences' spread is the noise a difference between configurations must exceed; whatever
    the two share through the seed (its starting random state) is not in it."""
    runs = by_config(summaries)
    if not runs:
        return []
    reference, *others = runs
    out = []
    for config in others:
        seeds = tuple(sorted(seed for seed in runs[config] if seed in runs[reference]))
        if not seeds:
            continue
        for domain in runs[config][seeds[0]]["after"]:
            diffs = [
                runs[config][seed]["after"][domain]["accuracy"]
                - runs[reference][seed]["after"][domain]["accuracy"]
                for seed in seeds
            ]
            out.append(
                Paired(
                    config=config,
                    reference=reference,
                    domain=domain,
                    seeds=seeds,
                    mean=statistics.fmean(diffs),
                    sd=_spread(diffs),
                    lower=sum(d < 0 for d in diffs),
                    higher=sum(d > 0 for d in diffs),
                )
            )
    return out


def worst_domain_gain(summaries: Sequence[Mapping[str, Any]]) -> dict[str, tuple[float, float]]:
    """Per configuration: the mean and spread over seeds of the smallest per-domain gain."""
    out = {}
    for config, per_seed in by_config(summaries).items():
        worst = [
            min(s["after"][d]["accuracy"] - s["before"][d]["accuracy"] for d in s["after"])
            for s in per_seed.values()
        ]
        out[config] = (statistics.fmean(worst), _spread(worst))
    return out


def aggregate_markdown(grid: str, summaries: Sequence[Mapping[str, Any]]) -> str:
    rows = aggregate(summaries)
    worst = worst_domain_gain(summaries)
    machines = sorted({s["machine"] for s in summaries})
    lines = [
        f"### Grid `{grid}`: {len(summaries)} run{'s' if len(summaries) != 1 else ''}",
        "",
        "Accuracy on held-out items (greedy). *after* and *gain* are means over seeds ± their "
        "standard deviation; the gain's 95 % interval is a t-interval over seeds (the seed is the "
        "unit: the items repeat across seeds); *beyond* counts the seeds whose after-interval "
        "lies wholly above (↑) or below (↓) the before-interval.",
        "",
        "| configuration | domain | seeds | before [95 % CI] | after mean ± sd "
        "| gain mean ± sd [95 % t-interval] | beyond |",
        "|---|---|---|---|---|---|---|",
    ]

    def sd(value: float, seeds: int) -> str:  # one seed has no spread to show
        return f" ± {value:.3f}" if seeds > 1 else " (1 seed)"

    for r in rows:
        lines.append(
            f"| {r.config} | {r.domain} | {r.seeds} | {r.before:.3f} "
            f"[{r.before_ci[0]:.3f}, {r.before_ci[1]:.3f}] | {r.after_mean:.3f}"
            f"{sd(r.after_sd, r.seeds)} | {r.gain_mean:+.3f}{sd(r.gain_sd, r.seeds)}"
            + (f" [{r.gain_ci[0]:+.3f}, {r.gain_ci[1]:+.3f}]" if r.gain_ci else "")
            + f" | {r.above}↑ {r.below}↓ |"
        )
    lines += [
        "",
        "| configuration | worst-domain gain, mean ± sd | wall per run | peak RSS |",
        "|---|---|---|---|",
    ]
    runs = by_config(summaries)
    for config, (mean, spread_of_worst) in worst.items():
        mine = list(runs[config].values())
        wall = statistics.fmean(s["wall_s"] for s in mine) / 60
        rss = max(s["peak_rss_gb"] for s in mine)
        spread = sd(spread_of_worst, len(mine))
        lines.append(f"| {config} | {mean:+.3f}{spread} | {wall:.1f} min | {rss:.2f} GB |")
    lines += _per_seed_markdown(summaries) + _paired_markdown(paired_differences(summaries))
    lines += ["", f"Machine: {'; '.join(machines)}."]
    return "\n".join(lines) + "\n"


def _per_seed_markdown(summaries: Sequence[Mapping[str, Any]]) -> list[str]:
    """After-training accuracy per seed, then (where runs counted them) the most common answer:
    a model answering every question alike shows there."""
    lines = _per_seed_table(
        summaries, "After-training accuracy per seed", lambda r: f"{r['accuracy']:.3f}"
    )
    if any("answers" in r for s in summaries for r in s["after"].values()):
        lines += _per_seed_table(
            summaries,
            "Most common answer after training, with its share of the items",
            lambda r: most_common_answer(r.get("answers", {}), r["n"]),
            note="; — : not counted in that run",
        )
    return lines


def _per_seed_table(
    summaries: Sequence[Mapping[str, Any]],
    title: str,
    cell: Callable[[Mapping[str, Any]], str],
    note: str = "",
) -> list[str]:
    """A configuration × seed table whose cell is ``cell`` of each domain's after-result, joined
    by " / " (— for a seed the configuration has not run)."""
    domains = list(summaries[0]["after"])
    seeds = sorted({s["seed"] for s in summaries})
    lines = [
        "",
        f"{title} ({' / '.join(domains)}{note}):",
        "",
        "| configuration | " + " | ".join(f"seed {seed}" for seed in seeds) + " |",
        "|---|" + "---|" * len(seeds),
    ]
    for config, per_seed in by_config(summaries).items():
        cells = [
            " / ".join(cell(per_seed[seed]["after"][d]) for d in domains)
            if seed in per_seed
            else "—"
            for seed in seeds
        ]
        lines.append(f"| {config} | " + " | ".join(cells) + " |")
    return lines


def _paired_markdown(paired: Sequence[Paired]) -> list[str]:
    if not paired:
        return []
    reference = paired[0].reference
    lines = [
        "",
        f"Paired against `{reference}`, seed by seed (same seed, same items): the after-training "
        "accuracy difference, mean ± sd over the seeds both ran, and on how many seeds it was "
        "lower / higher. A difference is beyond the seed-to-seed noise only where the mean is "
        "large against the sd and the seeds agree in sign.",
        "",
        f"| configuration − {reference} | domain | seeds | difference mean ± sd | lower / higher |",
        "|---|---|---|---|---|",
    ]
    for p in paired:
        spread = f" ± {p.sd:.3f}" if len(p.seeds) > 1 else " (1 seed)"
        lines.append(
            f"| {p.config} | {p.domain} | {len(p.seeds)} | {p.mean:+.3f}{spread} "
            f"| {p.lower} / {p.higher} |"
        )
    return lines


def plot_curves(summaries: Sequence[Mapping[str, Any]], out: Path, window: int = 5) -> Path:
    """Sampled accuracy per domain over steps (moving average, mean over seeds), one line per
    configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    domains = list(summaries[0]["after"])
    fig, axes = plt.subplots(1, len(domains), figsize=(4.5 * len(domains), 3.4), squeeze=False)
    grouped = by_config(summaries)
    for ax, domain in zip(axes[0], domains, strict=True):
        for config, per_seed in grouped.items():
            runs = list(per_seed.values())
            series = [
                moving_average([y or 0.0 for y in s["curves"][f"{domain}/accuracy"]], window)
                for s in runs
            ]
            steps = min(len(x) for x in series)
            mean = [statistics.fmean(x[i] for x in series) for i in range(steps)]
            ax.plot(runs[0]["curves"]["step"][:steps], mean, label=f"{config} ({len(runs)})")
        ax.set_title(domain)
        ax.set_xlabel("step")
        ax.set_ylabel(f"sampled accuracy ({window}-step mean)")
        ax.set_ylim(0, 1)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


class SummaryError(ValueError):
    """A file where a run's summary belongs that is not one (cut short, or edited by hand)."""


SUMMARY_KEYS = ("config", "seed", "before", "after", "curves")


def read_summary(path: Path) -> dict[str, Any]:
    """One run's summary; :class:`SummaryError` naming the file where it is not one."""
    try:
        summary = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        why = f"not valid JSON ({err})"
    else:
        if not isinstance(summary, dict):
            why = f"a JSON {type(summary).__name__}, not an object"
        elif missing := [k for k in SUMMARY_KEYS if k not in summary]:
            why = f"no {', '.join(missing)}"
        else:
            return summary
    raise SummaryError(
        f"{path}: not a run summary: {why}; delete it and the grid runs that run again"
    )


def read_summaries(grid: Grid) -> list[dict[str, Any]]:
    """The grid's finished runs, in the grid's order."""
    return [read_summary(p) for c, s in grid.runs_of() if (p := grid.summary_path(c, s)).is_file()]


def doc_block(text: str, name: str) -> tuple[str, str, str]:
    """``text`` cut around the grid's block: (before, block, after); ValueError without one."""
    begin, end = f"<!-- grid:{name}:begin -->\n", f"\n<!-- grid:{name}:end -->"
    if begin not in text or end not in text:
        raise ValueError(f"no {begin.strip()} … {end.strip()} block")
    start = text.index(begin) + len(begin)
    stop = text.find(end, start - 1)  # an empty block: begin's newline is end's
    if stop < 0:
        raise ValueError(f"no {end.strip()} after {begin.strip()}")
    if stop < start:  # nothing between the markers yet
        return text[:start], "", "\n" + text[start:]
    return text[:start], text[start:stop], text[stop:]


NO_RUNS = "_No run of this grid has finished yet._"


def doc_table(grid: Grid) -> str:
    """What the grid's block in ``doc`` holds: the aggregate of its committed summaries."""
    summaries = read_summaries(grid)
    return aggregate_markdown(grid.name, summaries).rstrip("\n") if summaries else NO_RUNS


def write_aggregate(grid: Grid) -> Path | None:
    """``table.md`` and ``curves.png`` beside the summaries, from the summaries alone, and the
    grid's block in ``doc``; returns the table (None before any run has finished)."""
    if grid.doc is not None:
        head, _, tail = doc_block(grid.doc.read_text("utf-8"), grid.name)
        grid.doc.write_text(head + doc_table(grid) + tail, encoding="utf-8")
    summaries = read_summaries(grid)
    if not summaries:
        return None
    table = grid.summaries / "table.md"
    table.write_text(aggregate_markdown(grid.name, summaries), encoding="utf-8")
    plot_curves(summaries, grid.summaries / "curves.png")
    return table
