"""The README's speed lines are the committed benchmark JSON, rendered
(benchmarks/speed_lines.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import speed_lines  # pytest puts benchmarks/ and experiments/analysis/ on the path
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]


def report(**changes: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "cpu": "Intel(R) Xeon(R) Processor, 2 cores, AMX",
        "date": "2026-12-05",
        "commit": "abc1234",
        "beta": 0.04,
        "steps": 1,
        "matmul_gflops": {"fp32": 300.0, "bf16": 1200.0},
        "bound_seconds": 8.0,
        "configs": {
            "trl": {"seconds_per_step": 40.0, "ratio_vs_trl": 1.0, "rss_ratio_vs_trl": 1.0},
            "strata-hf-bf16w": {
                "seconds_per_step": 10.0,
                "ratio_vs_trl": 4.0,
                "rss_ratio_vs_trl": 0.3,
            },
        },
    }
    r.update(changes)
    return r


def test_the_readme_block_is_the_committed_json_rendered() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    expected = speed_lines.render(speed_lines.committed_reports())
    assert speed_lines.readme_block(text) == expected, (
        "regenerate: uv run python benchmarks/speed_lines.py --write"
    )


def test_a_row_names_the_cpu_and_gives_ratios_measured_in_its_run() -> None:
    block = speed_lines.render([report()])
    row = block.splitlines()[2]
    assert row.startswith("| Intel(R) Xeon(R) Processor, 2 cores, AMX | 2026-12-05, `abc1234` |")
    assert "**4.00×** (0.30×)" in row
    assert row.count("—") == 3  # the two vLLM columns and the roofline were not measured
    # best step 10 s against the bf16 bound 8 s x 300/1200 = 2 s
    assert row.endswith("| 5.0× | — (not measured) |")


def test_without_native_bf16_the_bound_column_says_so() -> None:
    row = speed_lines.render([report(matmul_gflops={"fp32": 150.0})]).splitlines()[2]
    assert row.endswith("| — (no native bf16) | — (not measured) |")


def test_the_roofline_column_is_the_fastest_row_over_its_own_roofline() -> None:
    configs = report()["configs"]
    configs["trl"]["roofline_seconds"] = {"generation": 3.0, "training": 5.0}
    configs["strata-hf-bf16w"]["roofline_seconds"] = {"generation": 1.5, "training": 2.5}
    row = speed_lines.render([report(configs=configs)]).splitlines()[2]
    assert row.endswith("| 5.0× | 2.5× |")  # 10 s over 1.5 + 2.5 s, not TRL's 40 s over 8 s


def test_an_avx2_run_shows_its_fp32_rows_in_the_engines_columns() -> None:
    """Without native bf16 the benchmark runs the fp32 rows (benchmarks/cpu_kind.py): they fill
    the HF and vLLM columns; a bf16 row, where a run has both, comes first."""
    trl = {"seconds_per_step": 150.0, "ratio_vs_trl": 1.0, "rss_ratio_vs_trl": 1.0}
    fp32 = {
        "trl": trl,
        "strata-hf": {"seconds_per_step": 75.0, "ratio_vs_trl": 2.0, "rss_ratio_vs_trl": 0.3},
        "strata-vllm": {"seconds_per_step": 50.0, "ratio_vs_trl": 3.0, "rss_ratio_vs_trl": 0.5},
    }
    row = speed_lines.render([report(matmul_gflops={"fp32": 120.0}, configs=fp32)])
    assert "| **2.00×** (0.30×) | **3.00×** (0.50×) | — |" in row.splitlines()[2]
    both = dict(report()["configs"], **{"strata-hf": fp32["strata-hf"]})
    assert "| **4.00×** (0.30×) |" in speed_lines.render([report(configs=both)]).splitlines()[2]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cpu.json: not JSON (line 1"),
        ("[1, 2]", "cpu.json: expected an object, found list"),
        (json.dumps({"cpu": "x"}), "cpu.json: missing field(s) date, commit, beta"),
        (json.dumps(report(configs={})), "cpu.json: configs has no 'trl' row"),
        (json.dumps(report(configs=[])), "cpu.json: configs: expected an object"),
    ],
)
def test_a_bad_file_is_named_with_its_fault(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "cpu.json").write_text(content)
    with pytest.raises(speed_lines.BadReport, match="^" + re.escape(message)):
        speed_lines.committed_reports(tmp_path)


def test_a_row_without_its_numbers_is_named_by_config_and_field(tmp_path: Path) -> None:
    bad = report()
    del bad["configs"]["strata-hf-bf16w"]["rss_ratio_vs_trl"]
    (tmp_path / "cpu.json").write_text(json.dumps(bad))
    with pytest.raises(
        speed_lines.BadReport, match=re.escape("configs.strata-hf-bf16w: no number for rss")
    ):
        speed_lines.committed_reports(tmp_path)


@pytest.mark.parametrize("name", ["trl", "strata-hf-fp32"])
def test_any_row_without_its_step_time_is_named(tmp_path: Path, name: str) -> None:
    # The TRL column and the bf16-bound column read every row's seconds per step, not only
    # the README's columns.
    bad = report()
    bad["configs"].setdefault(name, {"ratio_vs_trl": 1.5, "rss_ratio_vs_trl": 0.4})
    bad["configs"][name].pop("seconds_per_step", None)
    (tmp_path / "cpu.json").write_text(json.dumps(bad))
    with pytest.raises(
        speed_lines.BadReport, match=re.escape(f"configs.{name}: no number for seconds_per_step")
    ):
        speed_lines.committed_reports(tmp_path)


@given(
    st.text().filter(lambda s: speed_lines.BEGIN not in s),
    st.text(),
    st.text().filter(lambda s: speed_lines.END not in s),
)
def test_replacing_the_block_keeps_everything_around_it(before: str, after: str, new: str) -> None:
    text = before + speed_lines.BEGIN + "old" + speed_lines.END + after
    replaced = speed_lines.replace_block(text, new)
    assert replaced == before + speed_lines.BEGIN + new + speed_lines.END + after
    assert speed_lines.readme_block(replaced) == new


def test_a_readme_without_the_block_is_an_error_not_a_silent_skip() -> None:
    with pytest.raises(
        speed_lines.BadReport, match=re.escape("README.md: no <!-- speed:begin -->")
    ):
        speed_lines.replace_block("# Strata\n", "rows")
