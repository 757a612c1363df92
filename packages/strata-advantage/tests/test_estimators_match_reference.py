"""Every built-in estimator equals its slow loop oracle, for any options."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from strata_advantage import available_estimators, compute_advantages
from strata_advantage.testing.reference import reference_advantages, san_spreads
from strata_advantage.testing.strategies import RewardBatch, reward_batches

BUILT_IN = ["batch", "domain_pooled", "dr_grpo", "global", "grpo", "rloo", "san"]


def test_every_built_in_estimator_is_registered() -> None:
    assert set(BUILT_IN) <= set(available_estimators())


@st.composite
def options_for(draw: st.DrawFn, estimator: str) -> dict[str, float]:
    if estimator == "san":
        zero_var = draw(st.floats(0.0, 0.5))
        return {
            "zero_var": zero_var,
            "low_var": draw(st.floats(max(zero_var, 1e-3), 1.0)),
            "clip": draw(st.floats(0.1, 10.0)),
        }
    if estimator in ("grpo", "batch", "domain_pooled", "global"):
        return {
            "eps": draw(st.sampled_from([1e-6, 1e-4, 1e-2])),
            "ddof": draw(st.sampled_from([0, 1])),
        }
    return {}


@given(reward_batches(), st.sampled_from(BUILT_IN), st.data())
def test_fast_equals_reference(batch: RewardBatch, estimator: str, data: st.DataObject) -> None:
    options = data.draw(options_for(estimator))
    if estimator == "san":
        spreads = san_spreads(list(batch.rewards), list(batch.groups), list(batch.domains))
        bounds = (options["zero_var"], options["low_var"])
        assume(all(abs(s - t) > 1e-9 for s in spreads.values() for t in bounds))
    fast = compute_advantages(
        batch.rewards, batch.groups, batch.domains, estimator=estimator, **options
    )
    slow = reference_advantages(
        estimator, list(batch.rewards), list(batch.groups), list(batch.domains), **options
    )
    # Absolute error is relative to the largest reward (catastrophic cancellation is the same
    # for both: c_i is a difference of rewards).
    scale = max(1.0, float(np.abs(batch.rewards).max()))
    np.testing.assert_allclose(
        fast, slow, rtol=1e-9, atol=1e-9 * scale / min_denominator(estimator, options)
    )


def min_denominator(estimator: str, options: dict[str, float]) -> float:
    if estimator in ("grpo", "batch", "domain_pooled", "global"):
        return options["eps"]
    if estimator == "san":
        return max(options["low_var"], 1e-3) if options["zero_var"] == 0 else options["zero_var"]
    return 1.0


@given(reward_batches())
def test_global_is_domain_pooled_when_the_batch_has_one_domain(batch: RewardBatch) -> None:
    one = ["only"] * len(batch.rewards)
    np.testing.assert_allclose(
        compute_advantages(batch.rewards, batch.groups, one, estimator="global"),
        compute_advantages(batch.rewards, batch.groups, one, estimator="domain_pooled"),
        rtol=1e-12,
        atol=1e-12,
    )


@given(
    st.integers(2, 16).flatmap(
        lambda n: st.tuples(*[st.floats(0.6, 1.0)] * n, *[st.floats(0.0, 0.29)] * n)
    )
)
def test_global_pushes_down_every_sample_of_a_hard_domain_beside_an_easy_one(
    rewards_drawn: tuple[float, ...],
) -> None:
    """The seed's point: under one batch mean, even the best answer of a hard domain (rewards
    under 0.3) gets a negative advantage beside an easy one of the same size (rewards of 0.6 or
    more); SAN gives the hard domain's best answer a positive one, unless its group ties."""
    n = len(rewards_drawn) // 2
    rewards = np.array(rewards_drawn)
    hard = rewards[n:]
    groups = [0] * n + [1] * n
    domains = ["easy"] * n + ["hard"] * n
    glob = compute_advantages(rewards, groups, domains, estimator="global")
    assert (glob[n:] < 0).all()
    san = compute_advantages(rewards, groups, domains, estimator="san")
    best = n + int(np.argmax(hard))
    assert san[best] > 0 or float(hard.max() - hard.min()) < 1e-9
