"""The measurements a CPU kind without AMX still owes issues 35 and 37, in one command.

    uv run python benchmarks/cpu_kind.py [--out ../runs/cpu-kind] [--skip-train] [--skip-bench]

On a 2-core machine with AVX512-BF16 but no AMX (AMD Zen 4/5) or with AVX2 only (Zen 3), with
nothing else running (about 45 minutes on a Zen 4):

1. ``strata-train`` on its built-in default (seed 0), timed wall-clock with both evaluations:
   issue 35's 15-minute bar. Its report.md carries the step's profile (issue 37: generation,
   forward + backward, optimizer, weight sync) and the before/after table.
2. ``benchmarks/grpo_step.py --betas 0.04 --steps 2`` twice, TRL measured in each run: the bf16
   rows where the CPU has bf16 units, the fp32 rows where it has not (bf16 is emulated there,
   ~75x slower); JSON to ``benchmarks/results/grpo_step/<date>-<kind>-a.json`` and ``-b.json``.
3. ``benchmarks/speed_lines.py --write``: the README's speed block from all committed JSON.

Writes ``<out>/cpu-kind.md``: the CPU as lscpu names it, each command, its wall time, the run's
before/after and profile tables, and each benchmark run's ratios; the figures to copy into
docs/results.md and docs/grpo.md. Refuses an AMX CPU (that kind is measured) unless ``--force``,
and a oneDNN ISA cap always (it emulates another kind's kernels, not its speed).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from types import ModuleType

from strata_rollout.hardware import cpu_bf16_kind, describe_cpu, onednn_isa_cap

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "grpo_step"
VLLM_ENV = ROOT / ".ci" / "venvs" / "vllm" / "bin" / "python"
FIFTEEN_MINUTES = 15 * 60
V8_BAR_MINUTES = 14  # docs/results.md, "A candidate default v8": one minute of margin


def _speed_lines_module() -> ModuleType:
    """benchmarks/speed_lines.py, which validates a grpo_step JSON (names the file and field);
    loaded by path so that this script runs from anywhere and imports in the tests."""
    spec = importlib.util.spec_from_file_location(
        "speed_lines", ROOT / "benchmarks" / "speed_lines.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


speed_lines = _speed_lines_module()


def next_grid(seconds: float) -> str:
    """What to run after v6's seed 0 took ``seconds`` here (docs/results.md, "A candidate default
    v8" and its amendment)."""
    grid = "uv run strata-experiment experiments/{}.toml --runs ../runs/grids"
    if seconds > V8_BAR_MINUTES * 60:
        return (
            f"Over {V8_BAR_MINUTES} minutes: run the pre-registered candidate v8 here, "
            f"`{grid.format('default-v8-no-amx-seeds')}` "
            '(docs/results.md, "A candidate default v8").'
        )
    return (
        f"Within {V8_BAR_MINUTES} minutes: run v6's five seeds here, "
        f"`{grid.format('default-v6-no-amx-seeds')}`; if they miss the bar, v8's too, "
        f'`{grid.format("default-v8-no-amx-seeds")}` (docs/results.md, the amendment to "A '
        'candidate default v8").'
    )


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
    lines = [f"- `{path.name}`: matmul {rep['matmul_gflops']}, bound {rep['bound_seconds']}"]
    for name, row in rep["configs"].items():
        ratio = row.get("ratio_vs_trl", 1.0)
        rss = row.get("rss_ratio_vs_trl", 1.0)
        lines.append(
            f"  - {name}: {row['seconds_per_step']:.1f} s a step, {ratio:.2f}x TRL's samples/s,"
            f" peak RSS {rss:.2f}x TRL's"
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
    if not args.skip_bench and not VLLM_ENV.is_file():
        print(f"cpu-kind: {VLLM_ENV} is missing: build it first with .ci/vllm-cpu-env --app")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{date.today().isoformat()}-{kind_slug(kind)}"
    md = [f"# Measurements on {cpu}", ""]

    if not args.skip_train:
        run = args.out / f"{stem}-default-seed0"
        cmd = ["uv", "run", "strata-train", "--run-dir", str(run)]
        status, seconds = timed(cmd, args.out / f"{stem}-train.log")
        verdict = "within" if seconds <= FIFTEEN_MINUTES else "over"
        md += [
            f"## `{' '.join(cmd)}`",
            "",
            f"exit {status}; wall {seconds / 60:.1f} min "
            f"({verdict} issue 35's 15 minutes, both evaluations included)",
            "",
        ]
        md += [next_grid(seconds), ""]
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
