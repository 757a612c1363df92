"""report.md's profile of a step: medians of the logged stage times and their shares."""

from __future__ import annotations

import statistics

from hypothesis import given
from hypothesis import strategies as st

from strata_trainer.report import time_profile_markdown

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
