"""benchmarks/cpu_kind.py's pure parts: the rows it benchmarks on each CPU kind, the file names,
and the summary it builds from a run's report.md and the benchmark's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import cpu_kind  # pytest puts benchmarks/ and experiments/analysis/ on the path
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strata_experiment.grid import load_grid

from strata_trainer.config import build_config

ROOT = Path(__file__).resolve().parents[1]


def test_bf16_rows_where_the_cpu_has_bf16_units_and_fp32_rows_where_it_has_not() -> None:
    assert cpu_kind.bench_rows("AVX512-BF16") == "strata-hf-bf16w,strata-vllm-bf16w"
    assert cpu_kind.bench_rows("AMX") == "strata-hf-bf16w,strata-vllm-bf16w"
    assert cpu_kind.bench_rows(None) == "strata-hf,strata-vllm"


def test_each_kind_gets_its_own_file_name() -> None:
    names = {cpu_kind.kind_slug(k) for k in ("AMX", "AVX512-BF16", None)}
    assert names == {"xeon-amx", "avx512bf16", "avx2"}


REPORT = """# Run report: x

- steps: 16

## Before / after (held-out, greedy)

| domain | before | after |
|---|---|---|
| sum | 0.360 | 0.605 |

## Collapse alarm

- none

## Where a step's time went (median of 16 steps)

| stage | seconds |
|---|---|
| generation | 7.77 |
"""


def test_the_summary_keeps_the_before_after_and_profile_sections_only() -> None:
    kept = cpu_kind.report_sections(REPORT, ("Before / after", "Where a step's time went"))
    assert "| sum | 0.360 | 0.605 |" in kept
    assert "| generation | 7.77 |" in kept
    assert "Collapse alarm" not in kept
    assert "# Run report" not in kept


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_a_report_without_those_sections_gives_nothing(text: str) -> None:
    if "## Before / after" in text or "## Where a step" in text:
        return
    assert cpu_kind.report_sections(text, ("Before / after", "Where a step's time went")) == ""


def test_a_committed_benchmark_file_gives_one_line_a_configuration() -> None:
    path = sorted((ROOT / "benchmarks" / "results" / "grpo_step").glob("*.json"))[0]
    lines = cpu_kind.bench_lines(path)
    assert lines[0] == f"- `{path.name}`: matmul fp32 325, bf16 2,110 GFLOP/s, bound 16.7 s"
    assert any(line.startswith("  - trl: ") and "1.00x TRL" in line for line in lines)
    assert any(line.startswith("  - strata-hf-bf16w: ") for line in lines)


def test_a_run_with_a_roofline_gives_each_row_its_distance_from_it(tmp_path: Path) -> None:
    committed = sorted((ROOT / "benchmarks" / "results" / "grpo_step").glob("*.json"))[0]
    rep = json.loads(committed.read_text(encoding="utf-8"))
    rep["memory_gbps"] = 23.5
    for row in rep["configs"].values():
        row["roofline_seconds"] = {"generation": row["seconds_per_step"] / 8, "training": 0.0}
    path = tmp_path / committed.name
    path.write_text(json.dumps(rep), encoding="utf-8")
    lines = cpu_kind.bench_lines(path)
    assert lines[0].endswith(", memory 23.5 GB/s")
    assert all(line.endswith(", 8.0x its roofline") for line in lines[1:])
    # A run from before the roofline: the lines say nothing of it.
    assert not any("roofline" in line for line in cpu_kind.bench_lines(committed))


def test_a_broken_benchmark_file_is_named_with_its_fault_not_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "2026-01-01-avx2-a.json"
    broken.write_text('{"configs": {"trl": {}}}', encoding="utf-8")
    (line,) = cpu_kind.bench_lines(broken)
    assert line.startswith("- unreadable benchmark result: 2026-01-01-avx2-a.json: missing field")
    fields = '"cpu": "x", "date": "d", "commit": "c", "beta": 0.04, "configs": {"trl": {}}'
    broken.write_text(f'{{{fields}, "matmul_gflops": 103.4, "bound_seconds": 52.6}}', "utf-8")
    (line,) = cpu_kind.bench_lines(broken)
    assert line.endswith("matmul_gflops: expected a number for each dtype, fp32 among them")
    for rates in ('{"bf16": 400.0}', '{"fp32": 103.4, "bf16": "fast"}'):
        broken.write_text(f'{{{fields}, "matmul_gflops": {rates}, "bound_seconds": 52.6}}', "utf-8")
        (line,) = cpu_kind.bench_lines(broken)
        assert line.endswith("matmul_gflops: expected a number for each dtype, fp32 among them")
    broken.write_text(
        f'{{{fields}, "matmul_gflops": {{"fp32": 103.4}}, "bound_seconds": "52"}}', "utf-8"
    )
    (line,) = cpu_kind.bench_lines(broken)
    assert line.endswith("bound_seconds: expected a number")
    broken.write_text("{", encoding="utf-8")
    (line,) = cpu_kind.bench_lines(broken)
    assert "2026-01-01-avx2-a.json: not JSON" in line


def test_a_onednn_cap_is_refused_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A capped CPU runs another kind's kernels at its own speed: its timings are no kind's row."""
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")
    assert cpu_kind.main(["--out", str(tmp_path / "out")]) == 2
    assert "oneDNN is capped at AVX512_CORE_BF16" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()


def test_the_next_grid_is_the_machines_own_and_follows_the_wall() -> None:
    """The no-AMX grid files, never the Xeon's (whose committed summaries would skip every run);
    over the bar, v8's first seed alone, since its wall alone can decide v8 (its H2)."""
    runs = Path("/tmp/my runs/grids")
    over, within = cpu_kind.next_grid(14 * 60 + 1, runs), cpu_kind.next_grid(14 * 60, runs)
    assert (
        "experiments/default-v8-no-amx-seeds.toml --runs '/tmp/my runs/grids' --seeds 10`" in over
    )
    assert "default-v6" not in over
    assert "experiments/default-v6-no-amx-seeds.toml --runs '/tmp/my runs/grids'`" in within
    assert "experiments/default-v8-no-amx-seeds.toml" in within
    assert "--seeds" not in within  # v6's seed 0 is done: the grid runs the other four
    for text in (over, within):
        path = text.split("`uv run strata-experiment ")[1].split(" ")[0]
        assert (ROOT / path).is_file()
        assert "uniform12" not in path
    v8 = load_grid(ROOT / "experiments" / "default-v8-no-amx-seeds.toml")
    assert v8.seeds[0] == cpu_kind.V8_FIRST_SEED
    v6 = load_grid(ROOT / "experiments" / "default-v6-no-amx-seeds.toml")
    assert 0 in v6.seeds
    assert v6.name == cpu_kind.V6_GRID
    assert build_config(v6.base_config, v6.overrides("v6", 0)) == build_config(None, [])


def test_the_default_runs_as_the_no_amx_grids_seed_0() -> None:
    """The wall that decides the next grid is the default's own: `uv run strata-train` is that
    grid's seed 0 (same configuration), so the grid after it need not run it again."""
    argv = cpu_kind.grid_argv(cpu_kind.V6_GRID, Path("../runs/grids"), "0")
    assert argv == [
        "uv",
        "run",
        "strata-experiment",
        "experiments/default-v6-no-amx-seeds.toml",
        "--runs",
        "../runs/grids",
        "--seeds",
        "0",
    ]


def test_the_wall_is_the_runs_own_where_its_summary_says_it(tmp_path: Path) -> None:
    summary = tmp_path / "v6-seed0.json"
    assert cpu_kind.seed0_wall(summary, 901.0) == 901.0  # no summary: the timed command's
    summary.write_text('{"wall_s": 812.5}', encoding="utf-8")
    assert cpu_kind.seed0_wall(summary, 901.0) == 812.5
    summary.write_text('{"wall_s": null', encoding="utf-8")
    assert cpu_kind.seed0_wall(summary, 901.0) == 901.0


def test_the_timed_run_is_the_grids_own_seed_0() -> None:
    """The run folder whose report is read and the summary whose wall is taken are the ones the
    grid writes for seed 0 under --runs."""
    grid = load_grid(ROOT / "experiments" / f"{cpu_kind.V6_GRID}.toml", Path("../runs/grids"))
    assert grid.run_dir("v6", 0) == Path("../runs/grids/default-v6-no-amx-seeds/v6-seed0")
    summary = ROOT / "docs" / "results" / "default-v6-no-amx-seeds" / "v6-seed0.json"
    assert grid.summary_path("v6", 0).resolve() == summary
