"""``strata-experiment GRID.toml``: configurations × seeds, each a normal ``strata-train`` run
folder, then one aggregate over their small summaries.

A grid file::

    name = "estimators-a"              # the summaries go to <summaries>/<name>/
    summaries = "docs/results"         # relative to the grid file; committed
    doc = "docs/results.md"            # optional: its <!-- grid:NAME --> block gets the table
    runs = "runs/grids"                # run folders (checkpoints), relative to where it runs
    config = "base.toml"               # optional strata-train config, relative to the grid file
    set = ["train.steps=20"]           # overrides every configuration shares
    seeds = [0, 1, 2]                  # each run gets --set train.seed=<seed>

    [configs.san]
    set = ["train.estimator=san"]
    [configs.batch]
    set = ["train.estimator=batch"]

Resumable at two levels: a run whose summary exists is not redone; a run folder left by a stopped
grid continues from its latest checkpoint (``strata-train --resume``). Held-out items do not
depend on the seed (``data.seed`` is shared), so every run of a grid is evaluated on the same
items and before/after differences are paired.

The base model's evaluation is greedy: two runs whose model, data, prompt, rollout and
evaluation budget agree get the same ``eval_before.json``, so the grid evaluates the base model
once per such setting (kept in ``<runs>/<name>/base-eval/``) and hands it to the other runs,
which read it back as a resumed run does (2.6 of a default run's 13 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strata_trainer.config import ConfigError, build_config
from strata_trainer.evaluate import evaluation_key, most_common_answer, wilson
from strata_trainer.report import moving_average, read_metrics

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
)


@dataclass(frozen=True)
class Grid:
    name: str
    path: Path
    """The grid file (errors name it)."""
    seeds: tuple[int, ...]
    configs: dict[str, tuple[str, ...]]
    """Configuration name -> its ``--set`` overrides, the shared ones first."""
    base_config: Path | None
    runs: Path
    summaries: Path
    """``<summaries>/<name>``: one JSON per finished run, the aggregate table and plot."""
    doc: Path | None = None
    """A Markdown file whose ``<!-- grid:NAME:begin -->``…``end`` block is the table."""

    def runs_of(self) -> list[tuple[str, int]]:
        """Seed-major: every configuration's first seed before any second seed, so a grid cut
        short still compares every configuration."""
        return [(c, s) for s in self.seeds for c in self.configs]

    def run_dir(self, config: str, seed: int) -> Path:
        return self.runs / self.name / f"{config}-seed{seed}"

    def summary_path(self, config: str, seed: int) -> Path:
        return self.summaries / f"{config}-seed{seed}.json"

    def overrides(self, config: str, seed: int) -> list[str]:
        return [*self.configs[config], f"train.seed={seed}"]


def load_grid(path: Path, runs: Path | None = None) -> Grid:
    """Read and check a grid file; every configuration is built once here, so a typo fails
    before the first run rather than hours into the grid."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such grid file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not a UTF-8 TOML file ({err})") from None
    known = {"name", "summaries", "runs", "config", "set", "seeds", "configs", "doc"}
    if unknown := sorted(set(raw) - known):
        raise ConfigError(f"{path}: unknown key(s) {unknown}; known: {sorted(known)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name or "/" in name:
        raise ConfigError(f"{path}: 'name' must be a non-empty name without '/'")
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise ConfigError(f"{path}: 'seeds' must be a non-empty list of integers")
    shared = _overrides(path, "set", raw.get("set", []))
    tables = raw.get("configs")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{path}: no [configs.<name>] tables")
    here = path.parent
    base = here / raw["config"] if "config" in raw else None
    configs = {}
    for cname, table in tables.items():
        if not isinstance(table, dict) or set(table) - {"set"}:
            raise ConfigError(f"{path}: [configs.{cname}] takes one key, set = [...]")
        configs[cname] = (*shared, *_overrides(path, f"configs.{cname}.set", table.get("set", [])))
        try:
            build_config(base, configs[cname])
        except ConfigError as err:
            raise ConfigError(f"{path}: [configs.{cname}]: {err}") from None
    return Grid(
        name=name,
        path=path,
        seeds=tuple(seeds),
        configs=configs,
        base_config=base,
        runs=runs or Path(raw.get("runs", "runs/grids")),
        summaries=here / raw.get("summaries", "docs/results") / name,
        doc=here / raw["doc"] if "doc" in raw else None,
    )


def _overrides(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and "=" in v for v in value):
        raise ConfigError(f"{path}: {key} must be a list of 'section.field=value' strings")
    return tuple(value)


# ---------------------------------------------------------------------------- running


def run_one(grid: Grid, config: str, seed: int) -> dict[str, Any]:
    """Train (or resume) one run of the grid in its own process, then write its summary."""
    run = grid.run_dir(config, seed)
    cfg = build_config(grid.base_config, grid.overrides(config, seed))
    shared_before = grid.runs / grid.name / "base-eval" / evaluation_key(cfg)
    cmd = [sys.executable, "-m", "strata_trainer"]
    if (run / "config.toml").is_file():  # a stopped run: continue it with its saved config
        cmd += ["--resume", str(run)]
    else:
        if cfg.eval.before and (shared_before / "eval_before.json").is_file():
            run.mkdir(parents=True, exist_ok=True)
            for name in ("eval_before.json", "eval_before.md"):
                shutil.copy2(shared_before / name, run / name)
            print(
                f"strata-experiment: {config} seed {seed}: base model's evaluation reused "
                f"from {shared_before}"
            )
        cmd += ["--run-dir", str(run)]
        if grid.base_config is not None:
            cmd += ["--config", str(grid.base_config)]
        cmd += [a for s in grid.overrides(config, seed) for a in ("--set", s)]
    ledger = InvocationLog(run)
    ledger.recover()  # a process that was killed outright left its last heartbeat
    try:
        exit_code, wall, peak_rss_gb = run_child(cmd, heartbeat=ledger.beat)
    except BaseException:
        ledger.recover("stopped")
        raise
    ledger.close(wall, peak_rss_gb, exit_code)
    if exit_code != 0:
        raise RuntimeError(f"{config} seed {seed}: strata-train failed (run folder {run})")
    if (run / "eval_before.json").is_file() and not shared_before.is_dir():
        tmp = shared_before.with_name(f".{shared_before.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in ("eval_before.json", "eval_before.md"):
            shutil.copy2(run / name, tmp / name)
        tmp.rename(shared_before)  # whole or absent: a crash here leaves no half a cache
    summary = summarise_run(run, grid.name, config, seed, grid.overrides(config, seed))
    grid.summaries.mkdir(parents=True, exist_ok=True)
    grid.summary_path(config, seed).write_text(json.dumps(summary, indent=1) + "\n", "utf-8")
    return summary


HEARTBEAT_S = 30.0


def run_child(
    cmd: Sequence[str], heartbeat: Callable[[float, float], None] | None = None
) -> tuple[int, float, float]:
    """Run ``cmd`` to its end: (exit code, wall seconds, peak RSS in GB). ``heartbeat(wall
    seconds, peak RSS in GB so far)`` is called at the start, every ``HEARTBEAT_S`` and once
    more when the run is stopped.

    Stopping the grid stops the run with it: on any exception here (Ctrl-C, or the SIGTERM that
    ``main`` turns into ``SystemExit``) the child is terminated and waited for before the
    exception goes on. Without this a ``kill`` of the grid left its run training on alone, and the
    restarted grid started a second trainer on the same run folder.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(cmd)
    next_beat = started
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now = time.perf_counter()
            if heartbeat is not None and now >= next_beat:
                heartbeat(now - started, _peak_rss_gb(proc.pid))
                next_beat = now + HEARTBEAT_S
            time.sleep(0.2)
    except BaseException:
        peak = _peak_rss_gb(proc.pid)  # while /proc still has it
        proc.terminate()
        try:
            proc.wait(timeout=60)  # time to finish writing what it was writing
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if heartbeat is not None:  # the stop's own time, not the last beat's (up to 30 s old)
            heartbeat(time.perf_counter() - started, peak)
        raise
    wall = time.perf_counter() - started
    return os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss / 1024**2


@contextmanager
def exit_on_sigterm() -> Iterator[None]:
    """Inside: SIGTERM unwinds the stack as Ctrl-C does, so ``run_child`` can stop its run."""

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _peak_rss_gb(pid: int) -> float:
    """A live process's peak RSS so far (Linux's VmHWM); 0.0 where /proc cannot say."""
    try:
        status = Path(f"/proc/{pid}/status").read_text("utf-8")
    except OSError:
        return 0.0
    kib = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return int(kib) / 1024**2


class InvocationLog:
    """Each process a run took (a resumed run takes several): its wall time, peak RSS and exit,
    one JSON line each in ``invocations.jsonl``. A running process keeps a heartbeat in
    ``invocation.json``; if the grid is killed outright (the machine taken back, ``kill -9``) the
    next start finds it and logs it, so a run's cost loses at most one heartbeat's time."""

    def __init__(self, run: Path) -> None:
        self.log, self.heartbeat_file = run / "invocations.jsonl", run / "invocation.json"

    def beat(self, wall_s: float, peak_rss_gb: float) -> None:
        self.heartbeat_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.heartbeat_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"wall_s": wall_s, "peak_rss_gb": peak_rss_gb}), "utf-8")
        tmp.replace(self.heartbeat_file)  # whole or absent

    def recover(self, how: str = "killed") -> None:
        """Log the heartbeat a process left behind, with ``how`` it ended, and clear it."""
        if self.heartbeat_file.is_file():
            last = json.loads(self.heartbeat_file.read_text("utf-8"))
            self._append(last["wall_s"], last["peak_rss_gb"], how)

    def close(self, wall_s: float, peak_rss_gb: float, code: int) -> None:
        self._append(wall_s, peak_rss_gb, code)

    def _append(self, wall_s: float, peak_rss_gb: float, code: int | str) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"wall_s": wall_s, "peak_rss_gb": peak_rss_gb, "exit": code}) + "\n")
        self.heartbeat_file.unlink(missing_ok=True)


def summarise_run(
    run: Path, grid: str, config: str, seed: int, overrides: Sequence[str]
) -> dict[str, Any]:
    """The small, committable record of a finished run: before/after per domain, curves, cost."""
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
    rows = read_metrics(run / "metrics.jsonl")
    domains = list(after)
    curve_keys = [f"{d}/{k}" for d in domains for k in ("accuracy", "reward")]
    return {
        "grid": grid,
        "config": config,
        "seed": seed,
        "set": list(overrides),
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


def _result_fields(result: Mapping[str, Any]) -> dict[str, Any]:
    return {k: result[k] for k in RESULT_FIELDS if k in result}


# ---------------------------------------------------------------------------- aggregate


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
    after_pooled_ci: tuple[float, float]
    """Wilson interval of all seeds' after-training answers pooled (items × seeds)."""
    gain_mean: float
    gain_sd: float
    above: int
    """Seeds whose after interval lies wholly above the before interval."""
    below: int


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
    """Per configuration and domain: before, after (mean, spread, pooled interval), gain, and
    how many seeds moved beyond their intervals."""
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
                    after_pooled_ci=wilson(
                        sum(a["correct"] for _, a in pairs), sum(a["n"] for _, a in pairs)
                    ),
                    gain_mean=statistics.fmean(gains),
                    gain_sd=_spread(gains),
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
        "Accuracy on held-out items (greedy). *after* is the mean over seeds ± their standard "
        "deviation, with the 95 % Wilson interval of all seeds' answers pooled; *beyond* counts "
        "the seeds whose after-interval lies wholly above (↑) or below (↓) the before-interval.",
        "",
        "| configuration | domain | seeds | before [95 % CI] | after mean ± sd [pooled CI] "
        "| gain mean ± sd | beyond |",
        "|---|---|---|---|---|---|---|",
    ]

    def sd(value: float, seeds: int) -> str:  # one seed has no spread to show
        return f" ± {value:.3f}" if seeds > 1 else " (1 seed)"

    for r in rows:
        lines.append(
            f"| {r.config} | {r.domain} | {r.seeds} | {r.before:.3f} "
            f"[{r.before_ci[0]:.3f}, {r.before_ci[1]:.3f}] | {r.after_mean:.3f}"
            f"{sd(r.after_sd, r.seeds)} [{r.after_pooled_ci[0]:.3f}, {r.after_pooled_ci[1]:.3f}] "
            f"| {r.gain_mean:+.3f}{sd(r.gain_sd, r.seeds)} | {r.above}↑ {r.below}↓ |"
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


def read_summaries(grid: Grid) -> list[dict[str, Any]]:
    """The grid's finished runs, in the grid's order."""
    return [
        json.loads(p.read_text("utf-8"))
        for c, s in grid.runs_of()
        if (p := grid.summary_path(c, s)).is_file()
    ]


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="strata-experiment",
        description="Run a grid of strata-train configurations × seeds (each a normal run "
        "folder), write each finished run's summary, then the aggregate table and curves. "
        "Stopped grids continue where they stopped; finished runs are not redone.",
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("grid", type=Path, help="the grid's TOML file")
    parser.add_argument("--runs", type=Path, help="where run folders go (default: the grid's)")
    parser.add_argument("--only", help="comma-separated configuration names to run")
    parser.add_argument(
        "--aggregate-only", action="store_true", help="rebuild table.md and curves.png, run none"
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would run, run none")
    args = parser.parse_args(argv)
    try:
        grid = load_grid(args.grid, args.runs)
        only = set(args.only.split(",")) if args.only else set(grid.configs)
        if missing := only - set(grid.configs):
            raise ConfigError(f"--only: no configuration(s) {sorted(missing)} in {args.grid}")
    except ConfigError as err:
        print(f"strata-experiment: {err}", file=sys.stderr)
        return 2
    todo = [
        (c, s) for c, s in grid.runs_of() if c in only and not grid.summary_path(c, s).is_file()
    ]
    done = sum(grid.summary_path(c, s).is_file() for c, s in grid.runs_of())
    left_out = sum(
        c not in only for c, s in grid.runs_of() if not grid.summary_path(c, s).is_file()
    )
    print(
        f"strata-experiment: {grid.name}: {done} run(s) done, {len(todo)} to run"
        + (f", {left_out} left out by --only" if left_out else ""),
        flush=True,
    )
    if args.dry_run or args.aggregate_only:
        for c, s in todo:
            print(f"  {c} seed {s}: {' '.join(grid.overrides(c, s))}")
        todo = []
    with exit_on_sigterm():
        for i, (config, seed) in enumerate(todo, start=1):
            print(f"strata-experiment: [{i}/{len(todo)}] {config} seed {seed}", flush=True)
            try:
                run_one(grid, config, seed)
            except RuntimeError as err:
                print(f"strata-experiment: {err}", file=sys.stderr)
                return 1
    if not args.dry_run and (table := write_aggregate(grid)) is not None:
        print(f"strata-experiment: aggregate: {table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
