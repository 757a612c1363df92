"""Hypothesis strategies for batches of rewards, for this package's tests and for yours.

    from strata_advantage.testing.strategies import reward_batches

    @given(reward_batches(max_domains=3))
    def test_my_trainer_step(batch):
        my_step(batch.rewards, batch.groups, batch.domains)

Batches have groups of varied sizes (one included), several domains, binary or continuous
rewards on a per-domain scale, and constant groups; samples are shuffled so that members of a
group are not adjacent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from hypothesis import strategies as st

RewardKind = Literal["binary", "continuous", "any"]
IdKind = Literal["int", "str", "any"]


@dataclass(frozen=True)
class RewardBatch:
    """One batch: Shape: rewards [N] float64, groups [N], domains [N] (ints or strings)."""

    rewards: np.ndarray
    groups: np.ndarray
    domains: np.ndarray

    def __len__(self) -> int:
        return int(self.rewards.shape[0])


def bounded_rewards(low: float = -10.0, high: float = 10.0) -> st.SearchStrategy[float]:
    """Finite floats in ``[low, high]``, no subnormals (no NaN: tests about NaN add their own)."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def group_rewards(draw: st.DrawFn, size: int, kind: RewardKind = "any") -> list[float]:
    """Rewards of one group of ``size``: binary (0/1), continuous, or constant."""
    shape = draw(
        st.sampled_from(
            ["binary", "continuous", "constant"] if kind == "any" else [kind, "constant"]
        )
    )
    if shape == "binary":
        return draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=size, max_size=size))
    if shape == "constant":
        return [draw(bounded_rewards())] * size
    return draw(st.lists(bounded_rewards(), min_size=size, max_size=size))


@st.composite
def reward_batches(
    draw: st.DrawFn,
    *,
    max_domains: int = 4,
    max_groups_per_domain: int = 5,
    max_group_size: int = 8,
    min_group_size: int = 1,
    reward_kind: RewardKind = "any",
    id_kind: IdKind = "any",
    shuffle: bool = True,
) -> RewardBatch:
    """A whole batch: 1..max_domains domains, each 1..max_groups_per_domain groups."""
    n_domains = draw(st.integers(1, max_domains))
    ids = draw(st.sampled_from(["int", "str"])) if id_kind == "any" else id_kind
    rewards: list[float] = []
    groups: list[int] = []
    domains: list[int] = []
    next_group = 0
    for d in range(n_domains):
        scale = draw(st.sampled_from([1.0, 0.1, 10.0]))
        for _ in range(draw(st.integers(1, max_groups_per_domain))):
            size = draw(st.integers(min_group_size, max_group_size))
            rewards += [r * scale for r in draw(group_rewards(size, reward_kind))]
            groups += [next_group] * size
            domains += [d] * size
            next_group += 1
    order = np.arange(len(rewards))
    if shuffle:
        order = np.array(draw(st.permutations(list(order))), dtype=np.int64)
    # Sparse, arbitrary group ids, as a trainer's prompt ids would be.
    labels = draw(
        st.lists(
            st.integers(-(2**40), 2**40), min_size=next_group, max_size=next_group, unique=True
        )
    )
    g = np.array([labels[k] for k in groups], dtype=np.int64)[order]
    dom = np.array(domains, dtype=np.int64)[order]
    if ids == "str":
        return RewardBatch(
            np.array(rewards)[order],
            np.array([f"prompt-{v}" for v in g]),
            np.array([f"domain-{v}" for v in dom]),
        )
    return RewardBatch(np.array(rewards)[order], g, dom)
