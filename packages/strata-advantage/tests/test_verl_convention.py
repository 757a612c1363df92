"""outcome_advantage in verl's convention: [B, T] rewards with the score on the last response
token, right-padded masks, uid strings in a NumPy object array, data_source per sample."""

from __future__ import annotations

import uuid
from typing import Any

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


# Against verl itself: it pins transformers < 5.11, so it lives outside the workspace lock, in
# .ci/venvs/verl (built by .ci/verl-env; .ci/run runs this file there).
def _verl_core_algos() -> Any:
    return pytest.importorskip(
        "verl.trainer.ppo.core_algos",
        reason="verl runs in its own environment: .ci/verl-env builds .ci/venvs/verl",
    )


@given(
    st.lists(st.integers(2, 5), min_size=1, max_size=6),  # group sizes (verl passes a group of
    st.data(),  # one through unchanged, ours gives it 0: compared on groups of two or more)
)
def test_our_grpo_equals_verls_grpo_estimator(sizes: list[int], data: st.DataObject) -> None:
    core_algos = _verl_core_algos()
    n, width = sum(sizes), 4
    scores = data.draw(
        st.lists(st.sampled_from([0.0, 0.5, 1.0]) | st.floats(-3, 3), min_size=n, max_size=n)
    )
    rewards = torch.zeros(n, width)
    rewards[:, -1] = torch.tensor(scores)
    mask = torch.ones(n, width)
    uids = [f"prompt-{g}" for g, size in enumerate(sizes) for _ in range(size)]
    index = np.array(uids, dtype=object)

    theirs, _ = core_algos.compute_grpo_outcome_advantage(rewards.clone(), mask, index)
    ours, _ = outcome_advantage(rewards, mask, index, ["one"] * n, estimator="grpo", eps=1e-6)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


def test_the_documented_call_on_a_real_dataproto() -> None:
    _verl_core_algos()
    from verl import DataProto

    rewards = torch.zeros(6, 3)
    rewards[:, 2] = torch.tensor([1.0, 0.0, 1.0, 900.0, 100.0, 500.0])
    data = DataProto.from_dict(
        tensors={"token_level_rewards": rewards, "response_mask": torch.ones(6, 3)},
        non_tensors={
            "uid": np.array(["p0", "p0", "p0", "p1", "p1", "p1"], dtype=object),
            "data_source": np.array(["gsm8k"] * 3 + ["mmlu"] * 3, dtype=object),
        },
    )
    advantages, returns = outcome_advantage(
        data.batch["token_level_rewards"],
        data.batch["response_mask"],
        index=data.non_tensor_batch["uid"],
        domains=data.non_tensor_batch["data_source"],
    )
    data.batch["advantages"], data.batch["returns"] = advantages, returns
    # SAN per domain (mmlu pays 500x more and does not set gsm8k's scale), on every token.
    expected = compute_advantages(rewards[:, 2], [0, 0, 0, 1, 1, 1], ["g"] * 3 + ["m"] * 3)
    for token in range(3):
        torch.testing.assert_close(data.batch["advantages"][:, token], expected)
    torch.testing.assert_close(
        expected[:3], torch.tensor([0.5, -1.0, 0.5]) * 2**0.5
    )  # [1, 0, 1]: centred [1/3, -2/3, 1/3], std sqrt(2)/3
