"""report.md's profile of a step: medians of the logged stage times and their shares."""

from __future__ import annotations

import statistics
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from strata_trainer.report import greedy_markdown, plot, time_profile_markdown

seconds = st.floats(0.0, 1e4, allow_nan=False)


@given(st.lists(st.tuples(seconds, seconds, seconds), min_size=1, max_size=20))
def test_each_stage_is_its_median_over_steps_with_its_share_of_the_median_step(
    steps: list[tuple[float, float, float]],
) -> None:
    rows = [
        {"step": i, "time/generation": g, "time/forward_backward": f, "time/step": g + f + w}
        for i, (g, f, w) in enumerate(steps)
    ]
    table = time_profile_markdown(rows)
    assert table.startswith(f"## Where a step's time went (median of {len(rows)} steps)")
    cells = {
        line.split(" | ")[0].removeprefix("| "): line.split(" | ")[1:]
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith("| stage")
    }
    assert list(cells) == ["generation", "forward_backward", "step"]
    step = statistics.median(r["time/step"] for r in rows)
    for key, (value, share) in cells.items():
        median = statistics.median(r[f"time/{key}"] for r in rows)
        assert value == f"{median:.2f}"
        assert share.removesuffix(" |") == (f"{median / step:.0%}" if step > 0 else "—")


def test_a_log_without_step_times_has_no_profile() -> None:
    assert time_profile_markdown([]) == ""
    assert time_profile_markdown([{"step": 0, "train/loss": 0.1}]) == ""


def test_training_accuracy_is_plotted_by_skill_for_domains_split_two_to_eight_ways(
    tmp_path: Path,
) -> None:
    """sum's carry and no-carry items get a line each; a domain split 57 ways (MMLU's subjects)
    none; metrics without a skill column, no plot."""
    rows = [
        {
            "step": i,
            "sum/accuracy": 0.5,
            "sum/accuracy/carry": 0.2 + i / 10,
            "sum/accuracy/no carry": 0.6,
            **{f"mmlu/accuracy/subject {j}": 0.25 for j in range(57)},
        }
        for i in range(3)
    ]
    written = {p.name for p in plot(rows, ["sum", "mmlu"], tmp_path / "a")}
    assert "accuracy_by_skill.png" in written
    bare = [{k: v for k, v in r.items() if k.count("/") < 2} for r in rows]
    assert "accuracy_by_skill.png" not in {p.name for p in plot(bare, ["sum"], tmp_path / "b")}
    mmlu_only = {p.name for p in plot(rows, ["mmlu"], tmp_path / "c")}
    assert "accuracy_by_skill.png" not in mmlu_only


def test_the_greedy_checks_get_a_table_and_two_plots_only_when_a_run_made_them(
    tmp_path: Path,
) -> None:
    rows = [{"step": i, "mmlu/reward": 0.2} for i in range(3)]
    checks = [
        {
            "step": s,
            "mmlu/greedy/accuracy": acc,
            "mmlu/greedy/parse_rate": 1.0,
            "mmlu/greedy/modal_answer": answer,
            "mmlu/greedy/modal_answer_share": share,
        }
        for s, acc, answer, share in [(0, 0.25, "D", 0.46), (2, 0.22, "C", 0.94)]
    ]
    written = {p.name for p in plot(rows, ["mmlu"], tmp_path / "a", checks)}
    assert {"greedy_modal_answer_share.png", "greedy_accuracy.png"} <= written
    assert not any(p.name.startswith("greedy") for p in plot(rows, ["mmlu"], tmp_path / "b"))
    table = greedy_markdown(checks, ["mmlu", "gsm8k"])
    assert "| 0 | 0.250; D 0.46 |  |" in table
    assert "| 2 | 0.220; C 0.94 |  |" in table
    assert greedy_markdown([], ["mmlu"]) == ""
