"""The pre-registered carry analysis (experiments/analysis/skills.py): accuracy on one skill's items
from a summary's per-skill split or from a run folder's per-item outcomes, and the add_digit list
of runs before the worked example left the eval items."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import skills  # pytest puts benchmarks/ and experiments/analysis/ on the path
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "analysis" / "skills.py"


def test_runs_before_the_fix_held_the_worked_example_at_index_90() -> None:
    now, before = skills.subjects("add_digit", False), skills.subjects("add_digit", True)
    assert len(now) == len(before) == 200
    assert before[90] == "carry"  # 7 + 46
    assert before[:90] == now[:90]
    assert before[91:] == now[90:199]
    assert skills.subjects("sum", True) == skills.subjects("sum", False)


@given(st.lists(st.booleans(), min_size=200, max_size=200))
def test_outcomes_and_the_per_skill_split_give_one_accuracy(outcomes: list[bool]) -> None:
    split = skills.subjects("sum", False)
    from_outcomes = skills.skill_accuracy({"outcomes": [int(o) for o in outcomes]}, "carry", split)
    carry = [o for o, s in zip(outcomes, split, strict=True) if s == "carry"]
    assert from_outcomes == sum(carry) / len(carry)
    summary = {"per_subject": {"carry": {"n": len(carry), "accuracy": from_outcomes}}}
    assert skills.skill_accuracy(summary, "carry", []) == from_outcomes


def test_two_arms_are_paired_by_seed_from_run_folders(tmp_path: Path) -> None:
    split = skills.subjects("sum", False)
    for arm, right in (("a", "carry"), ("b", "no carry")):
        for seed in (1, 2):
            run = tmp_path / arm / f"{arm}-seed{seed}"
            run.mkdir(parents=True)
            for when, hit in (("before", "none"), ("after", right)):
                outcomes = [int(s == hit) for s in split]
                (run / f"eval_{when}.json").write_text(json.dumps({"sum": {"outcomes": outcomes}}))
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "a"), "a", str(tmp_path / "b"), "b"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "| 1 | 0.000 -> 1.000 | 0.000 -> 0.000 | +1.000 |" in out
    assert "a - b, after: +1.000" in out


@given(
    st.lists(st.one_of(st.none(), st.floats(0, 1, allow_nan=False)), min_size=1, max_size=30),
    st.integers(1, 8),
)
def test_training_windows_average_the_steps_that_logged_the_skill(
    values: list[float | None], window: int
) -> None:
    rows = [{"step": i} | ({} if v is None else {"k": v}) for i, v in enumerate(values)]
    means = skills.training_windows(rows, "k", window)
    assert len(means) == -(-len(values) // window)
    for i, mean in enumerate(means):
        chunk = [v for v in values[i * window : (i + 1) * window] if v is not None]
        assert (mean is None) == (not chunk)
        if chunk:
            assert abs(mean - sum(chunk) / len(chunk)) < 1e-9


def test_training_windows_refuse_an_empty_window() -> None:
    import pytest

    with pytest.raises(ValueError, match="at least 1"):
        skills.training_windows([{"step": 0}], "k", 0)
