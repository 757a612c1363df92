"""UCB's rule, apportionment, determinism, and errors on bad input."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_curriculum import (
    ProportionalScheduler,
    UCBScheduler,
    UniformScheduler,
    apportion,
    scheduler_from_state,
)

weights = st.lists(st.floats(0.0, 100.0) | st.just(math.inf), min_size=1, max_size=8)


@given(weights, st.integers(0, 500), st.floats(0.0, 1.0), st.integers(0, 2**32))
def test_apportion_sums_to_n_and_respects_the_floor(
    w: list[float], n: int, floor_frac: float, seed: int
) -> None:
    floor = floor_frac / len(w)
    counts = apportion(w, n, floor, random.Random(seed))
    assert sum(counts) == n
    assert min(counts) >= min(math.ceil(floor * n - 1e-9), n // len(w))


@given(st.lists(st.floats(0.1, 100.0), min_size=2, max_size=6), st.integers(0, 1000))
def test_apportion_is_within_one_of_the_exact_quota(w: list[float], n: int) -> None:
    counts = apportion(w, n, 0.0, random.Random(0))
    for c, wi in zip(counts, w, strict=True):
        assert abs(c - n * wi / sum(w)) < 1.0 + 1e-9


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20), st.integers(0, 2**32))
def test_the_weaker_domain_never_gets_fewer_prompts(accs: list[float], seed: int) -> None:
    s = UCBScheduler(["weak", "strong"], c=0.0, floor=0.0, seed=seed)
    s.update("weak", [0.0] * 10)
    s.update("strong", [1.0] * 10)
    got = s.allocate(64)
    assert got["weak"] >= got["strong"]


def test_ucb_score_follows_the_formula() -> None:
    s = UCBScheduler(["a", "b"], c=0.7, ema=1.0)
    s.update("a", [1, 0, 0, 0])  # acc 0.25, n 4
    s.update("b", [1, 1])  # acc 1.0, n 2
    scores = s.scores()
    assert scores["a"] == pytest.approx(0.75 + 0.7 * math.sqrt(math.log(6) / 4))
    assert scores["b"] == pytest.approx(0.0 + 0.7 * math.sqrt(math.log(6) / 2))


def test_accuracy_is_an_exponential_moving_average() -> None:
    s = UCBScheduler(["a"], ema=0.25)
    s.update("a", [1.0])
    s.update("a", [0.0, 0.0])
    assert s.accuracy()["a"] == pytest.approx(0.75)


def test_unseen_domains_come_first() -> None:
    s = UCBScheduler(["seen", "new"], floor=0.0, seed=1)
    s.update("seen", [0.0] * 4)
    assert s.allocate(10) == {"seen": 0, "new": 10}


def test_a_mastered_domain_keeps_its_floor() -> None:
    s = UCBScheduler(["easy", "hard"], c=0.0, floor=0.1, seed=0)
    s.update("easy", [1.0] * 100)
    s.update("hard", [0.0] * 100)
    assert s.allocate(50) == {"easy": 5, "hard": 45}


@given(st.integers(0, 2**32), st.lists(st.integers(1, 64), min_size=1, max_size=10))
def test_same_seed_same_allocations(seed: int, sizes: list[int]) -> None:
    a, b = (
        UniformScheduler(["x", "y", "z"], seed=seed),
        UniformScheduler(["x", "y", "z"], seed=seed),
    )
    assert [a.allocate(n) for n in sizes] == [b.allocate(n) for n in sizes]


def test_uniform_spreads_leftovers_over_domains() -> None:
    s = UniformScheduler(["x", "y", "z"], seed=3)
    totals = {"x": 0, "y": 0, "z": 0}
    for _ in range(300):
        for d, v in s.allocate(4).items():
            totals[d] += v
    assert all(350 <= t <= 450 for t in totals.values()), totals


def test_proportional_follows_its_weights() -> None:
    s = ProportionalScheduler({"a": 3.0, "b": 1.0}, seed=0)
    assert s.allocate(8) == {"a": 6, "b": 2}


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s: s.update("nope", [1.0]), ValueError, "unknown domain 'nope'; known: a, b"),
        (
            lambda s: s.update("a", [float("nan")]),
            ValueError,
            "must lie in \\[0, 1\\].*nan at index 0",
        ),
        (lambda s: s.update("a", [0.5, 1.5]), ValueError, "1.5 at index 1"),
        (lambda s: s.allocate(-1), ValueError, "n_prompts must be >= 0"),
        (lambda s: s.allocate(2.5), TypeError, "n_prompts must be an int"),
        # A string is iterable: "101" was read as the rewards 1, 0, 1.
        (lambda s: s.update("a", "101"), TypeError, "must be an iterable of numbers, got '101'"),
        (lambda s: s.update("a", 1.0), TypeError, "must be an iterable of numbers, got 1.0"),
        (lambda s: s.update("a", ["x"]), TypeError, "rewards for 'a' must be numbers"),
    ],
)
def test_bad_calls_raise_clear_errors(call, error, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=message):
        call(UCBScheduler(["a", "b"]))


def _scored(sharpness: float) -> UCBScheduler:
    """The default run's situation: 3 domains seen, UCB scores apart (c = 0: score = 1 - acc)."""
    s = UCBScheduler(["a", "b", "c"], c=0.0, ema=1.0, sharpness=sharpness, seed=0)
    for domain, acc in {"a": 0.0, "b": 0.5, "c": 0.3}.items():
        s.update(domain, [acc])
    return s


def test_proportional_shares_of_a_small_batch_round_to_an_even_split() -> None:
    assert _scored(1.0).scores() == {"a": 1.0, "b": 0.5, "c": 0.7}
    assert _scored(1.0).allocate(6) == {"a": 2, "b": 2, "c": 2}  # 1 floor each + 3 rounded 1/1/1


def test_sharpness_gives_the_free_prompts_to_the_weak_domains() -> None:
    assert _scored(4.0).scores() == _scored(1.0).scores()  # logged scores are the UCB scores
    # Weights 1, 0.0625, 0.2401: quotas of the 3 free prompts 2.29, 0.14, 0.55.
    assert _scored(4.0).allocate(6) == {"a": 3, "b": 1, "c": 2}
    assert _scored(64.0).allocate(6) == {"a": 4, "b": 1, "c": 1}  # argmax of the free prompts


@given(
    st.floats(0.0, 1e6),
    st.floats(0.01, 64.0),
    st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3),
    st.integers(0, 1000),
)
def test_large_c_or_sharpness_never_overflows(
    c: float, sharpness: float, accs: list[float], n: int
) -> None:
    s = UCBScheduler(["a", "b", "c"], c=c, sharpness=sharpness, seed=0)
    for domain, acc in zip("abc", accs, strict=True):
        s.update(domain, [acc] * (1 + int(acc * 10)))
    got = s.allocate(n)
    assert sum(got.values()) == n
    assert min(got.values()) >= min(math.ceil(0.1 * n - 1e-9), n // 3)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: UCBScheduler([]), "domains is empty"),
        (lambda: UCBScheduler(["a", "a"]), "repeated: \\['a'\\]"),
        (lambda: UniformScheduler(["a", "a"]), "repeated"),
        (lambda: UCBScheduler(["a", "b"], floor=0.6), "floor must lie in \\[0, 1/K\\]"),
        (lambda: UCBScheduler(["a"], ema=0.0), "ema must lie in \\(0, 1\\]"),
        (lambda: UCBScheduler(["a"], c=-1.0), "c must be a finite number >= 0"),
        (lambda: UCBScheduler(["a"], sharpness=0.0), "sharpness must lie in \\(0, 64\\]"),
        (lambda: UCBScheduler(["a"], sharpness=math.nan), "sharpness must lie"),
        (lambda: ProportionalScheduler({"a": 0.0}), "all zero"),
        (lambda: ProportionalScheduler({"a": -1.0}), "finite numbers >= 0"),
        (lambda: ProportionalScheduler({"a": "1"}), "finite numbers >= 0; got {'a': '1'}"),
    ],
)
def test_bad_configuration_raises(make, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        # A string is a sequence: "gsm8k" was five domains, g, s, m, 8 and k.
        (lambda: UCBScheduler("gsm8k"), "got the string 'gsm8k' \\(a single domain is"),
        (lambda: UniformScheduler("ab"), "got the string 'ab'"),
        (lambda: ProportionalScheduler(["a", "b"]), "weights must map each domain to its share"),
    ],
)
def test_domains_given_in_the_wrong_shape_raise(make, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match=message):
        make()


@pytest.mark.parametrize(
    ("weights", "n", "message"),
    [
        ([], 3, "weights is empty"),
        ([1.0, 1.0], -1, "n must be an int >= 0, got -1"),
        ([1.0, -1.0], 3, "weights\\[1\\] = -1.0"),
        ([math.nan, 1.0], 3, "weights\\[0\\] = nan"),
    ],
)
def test_apportion_refuses_what_it_cannot_split(weights: list[float], n: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apportion(weights, n, 0.0, random.Random(0))


def test_state_of_another_kind_or_domains_is_refused() -> None:
    state = UCBScheduler(["a", "b"]).state_dict()
    with pytest.raises(ValueError, match="not 'uniform'"):
        UniformScheduler(["a", "b"]).load_state_dict(state)
    with pytest.raises(ValueError, match="state is for domains"):
        UCBScheduler(["a", "c"]).load_state_dict(state)
    with pytest.raises(ValueError, match="unknown scheduler kind"):
        scheduler_from_state({**state, "kind": "magic"})


def test_a_state_that_is_not_a_schedulers_names_what_it_lacks() -> None:
    state = UCBScheduler(["a", "b"]).state_dict()
    del state["rng"], state["seen"]
    with pytest.raises(ValueError, match="it lacks seen, rng \\(has version, kind"):
        scheduler_from_state(state)
    with pytest.raises(ValueError, match="it lacks seen, rng"):
        UCBScheduler(["a", "b"]).load_state_dict(state)
    with pytest.raises(ValueError, match=r"it lacks version, .* \(has nothing\)"):
        scheduler_from_state({})
