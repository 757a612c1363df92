"""The collapse alarm reads a run's metrics as the report and the progress line do."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from strata_grpo.collapse import COLLAPSE_STEPS, ENTROPY_FLOOR, collapse_alarms


def _rows(shares: list[float], entropy: float = 1.0) -> list[dict[str, float]]:
    return [
        {"step": i, "a/modal_answer_share": s, "a/entropy": entropy} for i, s in enumerate(shares)
    ]


def test_one_answer_for_several_steps_raises_the_alarm() -> None:
    (alarm,) = collapse_alarms(_rows([0.5, 0.95, 0.97, 1.0]), ["a"])
    assert (alarm.domain, alarm.kind) == ("a", "answer")
    assert alarm.message == (
        "a: one answer is 0.95+ of its answers for the last 3 steps (answer collapse)"
    )
    assert collapse_alarms(_rows([0.95, 0.97, 0.5]), ["a"]) == []  # it recovered
    assert collapse_alarms(_rows([1.0, 1.0]), ["a"]) == []  # not yet several steps


def test_near_zero_entropy_raises_the_alarm() -> None:
    (alarm,) = collapse_alarms(_rows([0.2], entropy=ENTROPY_FLOOR / 2), ["a"])
    assert alarm.kind == "entropy"
    assert "entropy collapse" in alarm.message


@given(st.lists(st.floats(0, 1), max_size=12), st.floats(0, 3))
def test_the_alarm_is_about_the_last_steps_only(shares: list[float], entropy: float) -> None:
    alarms = collapse_alarms(_rows(shares, entropy), ["a"])
    tail = shares[-COLLAPSE_STEPS:]
    answer = len(tail) == COLLAPSE_STEPS and min(tail) >= 0.9
    low_entropy = bool(shares) and entropy < ENTROPY_FLOOR
    assert len(alarms) == answer + low_entropy
    assert collapse_alarms(_rows(shares, entropy), ["b"]) == []  # a domain without metrics


def test_steps_with_one_prompt_of_the_domain_do_not_raise_the_answer_alarm() -> None:
    """Over one prompt, a modal share of 1.0 is one group agreeing (a sharpened policy: the
    entropy alarm's business), not one answer to every prompt; such steps are skipped, and
    three steps of several prompts each still raise it around them."""
    rows = [
        {"step": i, "a/modal_answer_share": 1.0, "a/entropy": 1.0, "a/prompts": n}
        for i, n in enumerate([1, 1, 1, 1])
    ]
    assert collapse_alarms(rows, ["a"]) == []
    rows = [{**r, "a/prompts": n} for r, n in zip(rows, [3, 1, 2, 4], strict=True)]
    (alarm,) = collapse_alarms(rows, ["a"])
    assert alarm.kind == "answer"
