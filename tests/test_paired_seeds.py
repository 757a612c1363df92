"""experiments/analysis/paired_seeds.py labels a run's before/after by the report's own rules:
*up* only where the two intervals are apart, *down* where the after-accuracy is under the
before-interval (the forgetting flag), and says when a fall also has the intervals apart (a
grid table's ↓). It once printed *down* under a column named "beyond both intervals" for B″'s
seed 4, whose MMLU intervals overlap."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import paired_seeds  # pytest puts benchmarks/ and experiments/analysis/ on the path
import pytest

from strata_rewards.evaluation import DomainResult, to_json
from strata_rewards.stats import wilson

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "analysis" / "paired_seeds.py"


def _result(correct: int, n: int = 1000) -> DomainResult:
    low, high = wilson(correct, n)
    return DomainResult(
        domain="mmlu",
        n=n,
        correct=correct,
        accuracy=correct / n,
        ci_low=low,
        ci_high=high,
        parse_rate=1.0,
        structure=0.0,
        compliance=0.0,
        outcomes=[1] * correct + [0] * (n - correct),
    )


@pytest.mark.parametrize(
    ("after", "where"),
    [
        (280, "| up"),
        (230, "| "),  # inside the before-interval
        (179, "| down"),  # B″ seed 4: under 0.189, its interval [0.156, 0.204] overlapping
        (150, "| down, intervals apart"),
    ],
)
def test_where_a_run_lies_uses_the_reports_rules(after: int, where: str) -> None:
    (row,) = paired_seeds.seed_rows({"mmlu": _result(213)}, {"mmlu": _result(after)})
    assert row.endswith(where)
    assert row.startswith("mmlu | 0.213 | ")
    gained, lost = max(after - 213, 0), max(213 - after, 0)
    assert f"| {gained} / {lost} |" in row


def test_the_mean_gain_reads_only_domains_evaluated_before_and_after(tmp_path: Path) -> None:
    """A run whose after-evaluation holds a domain its before-evaluation lacks (a benchmark added
    to the after-run) once stopped the script with a KeyError; the table leaves it out, as
    ``compare`` does for the per-seed rows."""
    run = tmp_path / "arm-seed0"
    run.mkdir()
    extra = dataclasses.replace(_result(500), domain="gsm8k")
    (run / "eval_before.json").write_text(json.dumps(to_json({"mmlu": _result(213)})))
    (run / "eval_after.json").write_text(
        json.dumps(to_json({"mmlu": _result(250), "gsm8k": extra}))
    )
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, check=True
    ).stdout
    assert "| mmlu | 1 | +0.037 (one seed) |" in out
    assert "gsm8k" not in out


def test_a_folder_without_finished_runs_is_one_line(tmp_path: Path) -> None:
    for folder, message in (
        (tmp_path / "nowhere", "no such folder"),
        (tmp_path, "no run folder holds eval_after.json yet"),
    ):
        out = subprocess.run(
            [sys.executable, str(SCRIPT), str(folder)], capture_output=True, text=True, check=False
        )
        assert out.returncode == 2
        assert f"{folder}: {message}" in out.stderr
        assert "Traceback" not in out.stderr
