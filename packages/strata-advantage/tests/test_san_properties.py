"""SPEC.md's SAN properties, under Hypothesis, on NumPy arrays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from strata_advantage import compute_advantages
from strata_advantage.testing.reference import group_centred, san_spreads
from strata_advantage.testing.strategies import RewardBatch, bounded_rewards, reward_batches

THRESHOLDS = (1e-2, 5e-2)


def san(batch: RewardBatch, **options: float) -> np.ndarray:
    return compute_advantages(batch.rewards, batch.groups, batch.domains, **options)


def away_from_thresholds(batch: RewardBatch, margin: float = 1e-6) -> bool:
    """Near a regime boundary two correct computations may pick different regimes."""
    spreads = san_spreads(list(batch.rewards), list(batch.groups), list(batch.domains))
    return all(abs(s - t) > margin * max(t, 1.0) for s in spreads.values() for t in THRESHOLDS)


@given(reward_batches(max_domains=3), st.data())
def test_a_domain_depends_only_on_its_own_rewards(batch: RewardBatch, data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(sorted(set(batch.domains.tolist()))))
    others = batch.domains != target
    new = batch.rewards.copy()
    new[others] = data.draw(
        st.lists(bounded_rewards(), min_size=int(others.sum()), max_size=int(others.sum()))
    )
    before = san(batch)
    after = san(RewardBatch(new, batch.groups, batch.domains))
    mine = ~others
    np.testing.assert_array_equal(before[mine], after[mine])
    # Dropping the other domains altogether changes nothing either.
    alone = compute_advantages(batch.rewards[mine], batch.groups[mine], batch.domains[mine])
    np.testing.assert_array_equal(before[mine], alone)


@given(reward_batches())
def test_groups_sum_to_zero_before_clipping(batch: RewardBatch) -> None:
    adv = san(batch, clip=float("inf"))
    for g in set(batch.groups.tolist()):
        members = batch.groups == g
        scale = max(1.0, float(np.abs(adv[members]).max()))
        assert abs(float(adv[members].sum())) <= 1e-9 * scale * members.sum()


@given(reward_batches(max_domains=3, min_group_size=2, reward_kind="continuous"), st.data())
def test_z_normalised_domain_is_invariant_to_affine_maps(
    batch: RewardBatch, data: st.DataObject
) -> None:
    target = data.draw(st.sampled_from(sorted(set(batch.domains.tolist()))))
    a = data.draw(st.floats(0.5, 20.0))
    b = data.draw(st.floats(-10.0, 10.0))
    low_var = THRESHOLDS[1]
    spread = san_spreads(list(batch.rewards), list(batch.groups), list(batch.domains))[target]
    assume(spread >= 2 * low_var)  # z-normalised before, and (a >= 0.5) after
    mine = batch.domains == target
    moved = batch.rewards.copy()
    moved[mine] = a * moved[mine] + b
    before = san(batch, clip=float("inf"))
    after = san(RewardBatch(moved, batch.groups, batch.domains), clip=float("inf"))
    np.testing.assert_allclose(after[mine], before[mine], rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(after[~mine], before[~mine])


@given(reward_batches(), st.floats(0.01, 10.0))
def test_advantages_are_bounded_by_clip(batch: RewardBatch, clip: float) -> None:
    assert np.all(np.abs(san(batch, clip=clip)) <= clip)


@given(
    st.lists(bounded_rewards(), min_size=1, max_size=50),
    st.sampled_from(["san", "grpo", "batch", "dr_grpo", "rloo"]),
)
def test_groups_of_one_get_zero(rewards: list[float], estimator: str) -> None:
    n = len(rewards)
    adv = compute_advantages(np.array(rewards), np.arange(n), np.arange(n) % 3, estimator=estimator)
    np.testing.assert_array_equal(adv, np.zeros(n))


@given(st.lists(st.tuples(bounded_rewards(), st.integers(1, 8)), min_size=1, max_size=10))
def test_a_domain_of_constant_groups_gets_exact_zeros(groups: list[tuple[float, int]]) -> None:
    rewards = np.array([r for r, size in groups for _ in range(size)])
    ids = np.array([g for g, (_, size) in enumerate(groups) for _ in range(size)])
    adv = compute_advantages(rewards, ids, ["only"] * len(ids))
    np.testing.assert_array_equal(adv, np.zeros(len(ids)))


@given(reward_batches(), st.data())
def test_masking_equals_leaving_the_sample_out(batch: RewardBatch, data: st.DataObject) -> None:
    n = len(batch)
    bad = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    assume(not bad.all())
    poisoned = batch.rewards.copy()
    poisoned[bad] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    assume(
        away_from_thresholds(
            RewardBatch(batch.rewards[~bad], batch.groups[~bad], batch.domains[~bad])
        )
    )
    masked = compute_advantages(poisoned, batch.groups, batch.domains, nan_policy="mask")
    kept = compute_advantages(batch.rewards[~bad], batch.groups[~bad], batch.domains[~bad])
    np.testing.assert_array_equal(masked[bad], 0.0)
    np.testing.assert_allclose(masked[~bad], kept, rtol=1e-12, atol=1e-12)


@given(reward_batches(), st.sampled_from([np.nan, np.inf, -np.inf]), st.data())
def test_non_finite_rewards_raise_by_default(
    batch: RewardBatch, bad: float, data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(batch) - 1))
    rewards = batch.rewards.copy()
    rewards[i] = bad
    with pytest.raises(ValueError, match=rf"rewards\[{i}\] is"):
        compute_advantages(rewards, batch.groups, batch.domains)


@given(reward_batches(), st.randoms(use_true_random=False))
def test_permuting_the_batch_permutes_the_advantages(batch: RewardBatch, rnd) -> None:  # type: ignore[no-untyped-def]
    perm = np.arange(len(batch))
    rnd.shuffle(perm)
    assume(away_from_thresholds(batch))
    adv = san(batch)
    permuted = compute_advantages(batch.rewards[perm], batch.groups[perm], batch.domains[perm])
    np.testing.assert_allclose(permuted, adv[perm], rtol=1e-12, atol=1e-12)


@given(reward_batches(id_kind="int"))
def test_string_ids_and_integer_ids_agree(batch: RewardBatch) -> None:
    as_str = compute_advantages(
        batch.rewards, [f"g{g}" for g in batch.groups], [f"d{d}" for d in batch.domains]
    )
    np.testing.assert_array_equal(as_str, san(batch))


@given(reward_batches())
def test_diagnostics_report_the_regime_san_applied(batch: RewardBatch) -> None:
    assume(away_from_thresholds(batch))
    result = compute_advantages(batch.rewards, batch.groups, batch.domains, return_diagnostics=True)
    spreads = san_spreads(list(batch.rewards), list(batch.groups), list(batch.domains))
    c = np.array(group_centred(list(batch.rewards), list(batch.groups)))
    for label, diag in result.diagnostics.items():
        s = spreads[label]
        assert diag.spread == pytest.approx(s, rel=1e-9, abs=1e-12)
        expected = (
            "centre_only" if s < THRESHOLDS[0] else "damped" if s < THRESHOLDS[1] else ("z_norm")
        )
        assert diag.regime == expected
        mine = batch.domains == label
        assert diag.n_samples == mine.sum()
        assert diag.n_groups == len(set(batch.groups[mine].tolist()))
        if diag.regime == "z_norm":
            np.testing.assert_allclose(
                result.advantages[mine], np.clip(c[mine] / s, -5.0, 5.0), rtol=1e-9, atol=1e-9
            )
        const = [
            g
            for g in set(batch.groups[mine].tolist())
            if len(set(batch.rewards[batch.groups == g].tolist())) == 1
        ]
        assert diag.zero_variance_group_share == pytest.approx(len(const) / diag.n_groups)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_san_and_its_diagnostics_centre_the_groups_once(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The estimator and the diagnostics read the same per-batch statistics instead of each
    computing them (the trainer asks for both every step)."""
    from strata_advantage.batch import StratifiedBatch

    rewards: object = [0.0, 1.0, 1.0, 0.5, 3.0, 3.0, 0.0, 10.0]
    if backend == "torch":
        torch = pytest.importorskip("torch")
        rewards = torch.tensor(rewards)
    calls = {"centre": 0, "std": 0}
    centre, std = StratifiedBatch.segment_centre, StratifiedBatch.segment_std

    def counted_centre(self: StratifiedBatch, *args: object) -> object:
        calls["centre"] += 1
        return centre(self, *args)  # type: ignore[arg-type]

    def counted_std(self: StratifiedBatch, *args: object, **kw: object) -> object:
        calls["std"] += 1
        return std(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(StratifiedBatch, "segment_centre", counted_centre)
    monkeypatch.setattr(StratifiedBatch, "segment_std", counted_std)
    result = compute_advantages(
        rewards,
        [0, 0, 1, 1, 2, 2, 3, 3],
        ["a", "a", "a", "a", "b", "b", "b", "b"],
        "san",
        return_diagnostics=True,
    )
    assert calls == {"centre": 1, "std": 1}
    spreads = san_spreads(
        [0.0, 1.0, 1.0, 0.5, 3.0, 3.0, 0.0, 10.0],
        [0, 0, 1, 1, 2, 2, 3, 3],
        ["a", "a", "a", "a", "b", "b", "b", "b"],
    )
    assert result.diagnostics["a"].spread == pytest.approx(spreads["a"])
    assert result.diagnostics["b"].spread == pytest.approx(spreads["b"])
