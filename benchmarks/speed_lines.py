"""The README's speed lines, rendered from the GRPO-step benchmark's committed JSON.

    uv run python benchmarks/speed_lines.py            # print the block
    uv run python benchmarks/speed_lines.py --write    # replace it in README.md

Each file under ``benchmarks/results/grpo_step/`` is one run of
``benchmarks/grpo_step.py --betas 0.04 --json FILE`` on one machine: its CPU (as lscpu names it),
date and commit, and every configuration's samples/s and peak RSS against TRL's, measured in
the same run. The README quotes no speed figure that is not in such a file; a test
(tests/test_speed_lines.py) holds the README's block equal to this rendering.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "grpo_step"
README = ROOT / "README.md"
BEGIN, END = "<!-- speed:begin -->\n", "\n<!-- speed:end -->"
# The README's columns: the fastest setting of each engine (docs/grpo.md, "Speed against TRL"),
# each the first of its configurations that a run has: on a CPU without native bf16 (AVX2) the
# benchmark runs the fp32 rows (benchmarks/cpu_kind.py), whose bf16 twins would be emulated.
COLUMNS = {
    "HF, bf16 weights (AVX2: fp32)": ("strata-hf-bf16w", "strata-hf"),
    "vLLM, bf16 weights, merged (AVX2: fp32)": ("strata-vllm-bf16w", "strata-vllm"),
    "vLLM, LoRA unmerged": ("strata-vllm-bf16wl",),
}
COLUMN_CONFIGS = {name for names in COLUMNS.values() for name in names}
REQUIRED = ("cpu", "date", "commit", "beta", "matmul_gflops", "bound_seconds", "configs")
ROW_FIELDS = ("seconds_per_step", "ratio_vs_trl", "rss_ratio_vs_trl")


class BadReport(ValueError):
    """A benchmark JSON file that cannot be rendered; the message names the file and field."""


def load(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise BadReport(f"{path.name}: not JSON (line {e.lineno}: {e.msg})") from None
    if not isinstance(report, dict):
        raise BadReport(f"{path.name}: expected an object, found {type(report).__name__}")
    missing = [k for k in REQUIRED if k not in report]
    if missing:
        raise BadReport(f"{path.name}: missing field(s) {', '.join(missing)}")
    rates = report["matmul_gflops"]
    numbers = isinstance(rates, dict) and all(isinstance(r, int | float) for r in rates.values())
    if not numbers or "fp32" not in rates:
        raise BadReport(
            f"{path.name}: matmul_gflops: expected a number for each dtype, fp32 among them"
        )
    if not isinstance(report["bound_seconds"], int | float):
        raise BadReport(f"{path.name}: bound_seconds: expected a number")
    if not isinstance(report["configs"], dict):
        raise BadReport(f"{path.name}: configs: expected an object of rows by configuration")
    if "trl" not in report["configs"]:
        raise BadReport(f"{path.name}: configs has no 'trl' row, the ratios' peer")
    for name, row in report["configs"].items():
        # Every row's step time feeds the TRL and bf16-bound columns; the README's columns
        # also show their ratios.
        fields = ROW_FIELDS if name in COLUMN_CONFIGS else ("seconds_per_step",)
        if not isinstance(row, dict):
            raise BadReport(f"{path.name}: configs.{name}: expected an object")
        absent = [f for f in fields if not isinstance(row.get(f), int | float)]
        if absent:
            raise BadReport(f"{path.name}: configs.{name}: no number for {', '.join(absent)}")
    return report


def bf16_bound(report: dict[str, Any]) -> float | None:
    """Seconds the step's FLOPs need at the measured bf16 matmul rate (None: no native bf16)."""
    rates = report["matmul_gflops"]
    if "bf16" not in rates:
        return None
    return float(report["bound_seconds"]) * rates["fp32"] / rates["bf16"]


def roofline_ratio(row: dict[str, Any]) -> float | None:
    """A row's step over its own roofline (docs/grpo.md); None for runs made before the
    benchmark measured one."""
    roof = row.get("roofline_seconds")
    if not isinstance(roof, dict) or not roof:
        return None
    return float(row["seconds_per_step"]) / sum(roof.values())


def render(reports: list[dict[str, Any]]) -> str:
    if not reports:
        return "No GRPO-step benchmark run is committed yet (`benchmarks/results/grpo_step/`)."
    head = (
        ["CPU (lscpu)", "date, commit", "TRL s/step"]
        + [f"{label}: × TRL samples/s (× its RSS)" for label in COLUMNS]
        + ["best step / bf16 bound", "best step / its roofline"]
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in sorted(reports, key=lambda r: (r["cpu"], r["date"])):
        configs = r["configs"]
        cells = [r["cpu"], f"{r['date']}, `{r['commit']}`"]
        cells.append(f"{configs['trl']['seconds_per_step']:.1f}")
        for names in COLUMNS.values():
            row = next((configs[n] for n in names if n in configs), None)
            cells.append(
                "—"
                if row is None
                else f"**{row['ratio_vs_trl']:.2f}×** ({row['rss_ratio_vs_trl']:.2f}×)"
            )
        bound = bf16_bound(r)
        fastest = min(configs.values(), key=lambda row: row["seconds_per_step"])
        best = fastest["seconds_per_step"]
        cells.append("— (no native bf16)" if bound is None else f"{best / bound:.1f}×")
        roof = roofline_ratio(fastest)
        cells.append("— (not measured)" if roof is None else f"{roof:.1f}×")
        lines.append("| " + " | ".join(cells) + " |")
    betas = sorted({r["beta"] for r in reports})
    lines.append("")
    lines.append(
        f"One run a row of `benchmarks/grpo_step.py` (β = {', '.join(map(str, betas))}; 2 GSM8K "
        "prompts × 8 samples × 128 new tokens, LoRA r = 16, TRL measured in the same run); "
        "the JSON is in `benchmarks/results/grpo_step/`. The roofline (runs from 2026-12-07) "
        "holds decoding to the memory its weights take, each token, at the bandwidth measured in "
        "the run; the bound prices it as matmuls."
    )
    return "\n".join(lines)


def committed_reports(folder: Path = RESULTS) -> list[dict[str, Any]]:
    return [load(p) for p in sorted(folder.glob("*.json"))]


def replace_block(text: str, block: str) -> str:
    head, begin, rest = text.partition(BEGIN)
    _old, end, tail = rest.partition(END)
    if not (begin and end):
        raise BadReport(f"README.md: no {BEGIN.strip()} … {END.strip()} block to fill")
    return head + BEGIN + block + END + tail


def readme_block(text: str) -> str:
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="replace the block in README.md")
    args = parser.parse_args()
    try:
        block = render(committed_reports())
        if args.write:
            README.write_text(replace_block(README.read_text(encoding="utf-8"), block), "utf-8")
        else:
            print(block)
    except BadReport as e:
        print(f"speed_lines: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
