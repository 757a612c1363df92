"""outcome_advantage in verl's convention: [B, T] rewards with the score on the last response
token, right-padded masks, uid strings in a NumPy object array, data_source per sample."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_advantage import compute_advantages
from strata_advantage.testing.strategies import RewardBatch, reward_batches

torch = pytest.importorskip("torch", reason="torch is an optional extra: strata-advantage[torch]")

from strata_advantage.verl import outcome_advantage  # noqa: E402


def verl_batch(batch: RewardBatch, lengths: list[int], width: int) -> tuple[object, ...]:
    """What verl hands its estimators for these rewards."""
    n = len(batch.rewards)
    mask = torch.zeros(n, width)
    rewards = torch.zeros(n, width, dtype=torch.float64)
    for i, length in enumerate(lengths):
        mask[i, :length] = 1
        rewards[i, length - 1] = float(batch.rewards[i])  # verl: the score sits on the last token
    uids = {g: str(uuid.uuid5(uuid.NAMESPACE_OID, repr(g))) for g in set(batch.groups.tolist())}
    index = np.array([uids[g] for g in batch.groups.tolist()], dtype=object)
    sources = np.array([f"source-{d}" for d in batch.domains], dtype=object)
    return rewards, mask, index, sources


@given(reward_batches(), st.data())
def test_equals_compute_advantages_spread_over_the_response(
    batch: RewardBatch, data: st.DataObject
) -> None:
    width = 6
    lengths = data.draw(
        st.lists(st.integers(1, width), min_size=len(batch.rewards), max_size=len(batch.rewards))
    )
    rewards, mask, index, sources = verl_batch(batch, lengths, width)
    advantages, returns = outcome_advantage(rewards, mask, index, sources)

    expected = compute_advantages(
        np.asarray(batch.rewards, dtype=np.float64), list(batch.groups), list(batch.domains)
    )
    assert advantages.shape == mask.shape
    assert advantages.dtype == torch.float64
    assert torch.equal(advantages, returns)
    for i, length in enumerate(lengths):
        np.testing.assert_allclose(advantages[i, :length].numpy(), expected[i], atol=1e-12)
        assert not advantages[i, length:].any()  # nothing on padding


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match=r"must both be \[B, T\]"):
        outcome_advantage(torch.zeros(4, 3), torch.ones(4, 2), ["a"] * 4, ["m"] * 4)
    with pytest.raises(ValueError, match="groups"):
        outcome_advantage(torch.zeros(4, 3), torch.ones(4, 3), ["a"] * 3, ["m"] * 4)
