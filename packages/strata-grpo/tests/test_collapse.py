"""The collapse alarm reads a run's metrics as the report and the progress line do."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from strata_grpo.collapse import (
    COLLAPSE_SHARE,
    COLLAPSE_STEPS,
    ENTROPY_FLOOR,
    collapse_alarms,
    greedy_alarms,
)


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


def _checks(shares: list[float]) -> list[dict[str, float]]:
    return [{"step": 4 * i, "a/greedy/modal_answer_share": s} for i, s in enumerate(shares)]


def test_one_greedy_answer_to_nearly_every_question_raises_the_greedy_alarm() -> None:
    """B′'s seed 2: sampled answers still varied (modal share 0.5–0.9 a step), greedy ones went
    to one letter on 0.91 of MMLU's items."""
    (alarm,) = greedy_alarms(_checks([0.46, 0.6, 0.91]), ["a"])
    assert (alarm.domain, alarm.kind) == ("a", "greedy")
    assert alarm.message == (
        "a: one greedy answer to 0.91 of the held-aside questions at step 8, against 0.46 at "
        "the first check (greedy collapse)"
    )
    assert greedy_alarms(_checks([0.46, 0.95, 0.7]), ["a"]) == []  # it spread again
    assert greedy_alarms(_checks([0.95]), ["a"]) == []  # the first check is the reference
    assert (
        greedy_alarms(_checks([0.95, 0.95]), ["a"]) == []
    )  # a base that already answers one thing


@given(st.lists(st.floats(0, 1), max_size=12))
def test_the_greedy_alarm_reads_the_latest_check_against_the_first(shares: list[float]) -> None:
    alarms = greedy_alarms(_checks(shares), ["a"])
    expected = len(shares) >= 2 and shares[-1] >= COLLAPSE_SHARE and shares[-1] > shares[0]
    assert len(alarms) == expected
    assert greedy_alarms(_checks(shares), ["b"]) == []  # a domain the checks do not name
    assert collapse_alarms(_checks(shares), ["a"]) == []  # greedy rows are not sampled ones
