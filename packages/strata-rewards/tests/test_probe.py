"""The learnability probe's arithmetic against slow, obvious oracles (Hypothesis), and its
verdicts on constructed cases (the real probe on SmolLM2: apps/trainer/tests/test_probe.py)."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_rewards.probe import (
    ItemSamples,
    best_constant,
    majority_correct,
    mean_interval,
    pass_at_k,
    summarise,
)
from strata_rewards.stats import mcnemar_p, wilson

answers = st.sampled_from(["A", "B", "C", "D", None])


def pass_at_k_by_subsets(n: int, c: int, k: int) -> float:
    """Share of the k-subsets of n samples (c of them right) that hold a right one."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(samples, k))
    return sum(any(s) for s in subsets) / len(subsets)


@given(st.integers(1, 9).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))), st.data())
def test_pass_at_k_is_the_share_of_k_subsets_with_a_right_sample(
    nc: tuple[int, int], data: st.DataObject
) -> None:
    n, c = nc
    k = data.draw(st.integers(1, n))
    assert pass_at_k(n, c, k) == pytest.approx(pass_at_k_by_subsets(n, c, k))


@given(st.lists(st.tuples(answers, st.booleans()), min_size=1, max_size=10))
def test_majority_is_the_expected_accuracy_of_a_fair_tie_break(
    samples: list[tuple[str | None, bool]],
) -> None:
    # Consistent samples: an answer is right or wrong, whichever sample gave it.
    truth = {a: ok for a, ok in samples}
    given_answers = [a for a, _ in samples]
    correct = [a is not None and truth[a] for a in given_answers]
    votes = Counter(a for a in given_answers if a is not None)
    got = majority_correct(given_answers, correct)
    if not votes:
        assert got == 0.0
        return
    top = max(votes.values())
    tied = [a for a in votes if votes[a] == top]
    assert got == pytest.approx(sum(truth[a] for a in tied) / len(tied))
    # Invariant under the order of the samples.
    assert majority_correct(given_answers[::-1], correct[::-1]) == pytest.approx(got)


@given(st.lists(st.sampled_from(["yes", "no", "7", "12"]), min_size=1, max_size=30))
def test_the_best_constant_is_the_most_frequent_gold(golds: list[str]) -> None:
    answer, accuracy = best_constant(golds)
    assert accuracy == max(golds.count(g) for g in set(golds)) / len(golds)
    assert golds.count(answer) / len(golds) == accuracy


@given(st.lists(st.floats(-1, 1), min_size=2, max_size=50))
def test_the_mean_interval_holds_the_mean_and_shrinks_with_n(values: list[float]) -> None:
    mean, low, high = mean_interval(values)
    assert low <= mean + 1e-12
    assert mean <= high + 1e-12
    _, low4, high4 = mean_interval(values * 4)
    assert high4 - low4 <= (high - low) + 1e-9


def _items(golds: list[str], answers: list[list[str]]) -> list[ItemSamples]:
    return [
        ItemSamples(
            gold=g,
            greedy_correct=a[0] == g,
            answers=tuple(a),
            correct=tuple(x == g for x in a),
            truncated=(False,) * len(a),
        )
        for g, a in zip(golds, answers, strict=True)
    ]


def test_a_model_that_always_answers_one_letter_is_prior_only() -> None:
    golds = ["A", "B", "C", "D"] * 10
    probe = summarise("letters", _items(golds, [["D"] * 8 for _ in golds]))
    assert probe.verdict == "no signal"  # every group all-equal
    noisy = [["D"] * 6 + [g, "A"] for g in golds]  # mixed, but the majority ignores the gold
    probe = summarise("letters", _items(golds, noisy))
    assert probe.verdict == "prior only"
    assert probe.maj_at_k.value == pytest.approx(0.25)
    assert probe.constant.value == pytest.approx(0.25)
    assert probe.pass_at_k.value > 0.5  # pass@k looks good where the answer set is small


def test_a_model_whose_majority_follows_the_gold_is_learnable() -> None:
    golds = [str(n) for n in range(40)]
    samples = [[g] * 5 + ["0", "1", "2"] for g in golds]
    probe = summarise("numbers", _items(golds, samples))
    assert probe.verdict == "learnable"
    assert probe.maj_at_k.value == 1.0
    assert probe.mixed.value > 0.9
    assert math.isclose(probe.parse_rate.value, 1.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # Each of these once returned a number, or failed with a message naming none of its
        # arguments ("math domain error", "zip() argument 2 is longer than argument 1").
        (lambda: wilson(5, 3), r"wilson needs 0 <= k <= n .* got k=5 n=3"),
        (lambda: wilson(-1, 3), r"got k=-1 n=3"),
        (lambda: mcnemar_p([2, 0], [1, 0]), r"before\[0\] = 2; outcomes are 0/1"),
        (lambda: mcnemar_p([1, 0], [0, 0.5]), r"after\[1\] = 0.5"),
        (lambda: majority_correct(["A"], [True, False]), r"1 answers but 2 outcomes"),
        (lambda: mean_interval([0.5, math.nan]), r"values\[1\] is nan"),
    ],
)
def test_statistics_refuse_arguments_that_have_no_answer(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()
