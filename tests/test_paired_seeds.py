"""experiments/analysis/paired_seeds.py labels a run's before/after by the report's own rules:
*up* only where the two intervals are apart, *down* where the after-accuracy is under the
before-interval (the forgetting flag), and says when a fall also has the intervals apart (a
grid table's ↓). It once printed *down* under a column named "beyond both intervals" for B″'s
seed 4, whose MMLU intervals overlap."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from strata_rewards.evaluation import DomainResult
from strata_rewards.stats import wilson

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "analysis" / "paired_seeds.py"
_spec = importlib.util.spec_from_file_location("paired_seeds", SCRIPT)
assert _spec is not None
assert _spec.loader is not None
paired_seeds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(paired_seeds)


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
