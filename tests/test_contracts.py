"""Contracts between packages, on the real components: what each hands the next in a GRPO step.

strata-rewards' breakdowns -> strata-advantage (finite totals, any text) and strata-curriculum
(outcomes in [0, 1]); strata-advantage's torch advantages -> strata-grpo's loss (device, dtype,
shape [B]); a completion that earns more gets a larger advantage and a push up in the loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from strata_advantage import compute_advantages
from strata_curriculum import UCBScheduler
from strata_grpo import grpo_loss
from strata_rewards import available_domains, score

GOLD = {"gsm8k": "#### 42", "mmlu": "B", "strategyqa": True}
RIGHT = {
    "gsm8k": "<think>6 * 7 = 42</think><answer>42</answer>",
    "mmlu": "<answer>B</answer>",
    "strategyqa": "<answer>Yes</answer>",
}
completion_text = st.text(max_size=400) | st.sampled_from(list(RIGHT.values()))


def test_the_built_in_reward_domains_are_the_ones_the_trainer_uses() -> None:
    assert set(GOLD) <= set(available_domains())


@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(GOLD)), st.lists(completion_text, min_size=2, max_size=4)),
        min_size=1,
        max_size=6,
    )
)
def test_any_completions_give_rewards_san_and_the_curriculum_accept(
    prompts: list[tuple[str, list[str]]],
) -> None:
    domains, groups, rewards, outcomes = [], [], [], {}
    for prompt_id, (domain, completions) in enumerate(prompts):
        for text in completions:
            b = score(domain, text, GOLD[domain])
            domains.append(domain)
            groups.append(prompt_id)
            rewards.append(b.total)
            outcomes.setdefault(domain, []).append(float(b.outcome))

    advantages = compute_advantages(np.array(rewards), groups, domains)  # raises on NaN / inf
    assert np.isfinite(advantages).all()
    assert np.abs(advantages).max() <= 5.0

    scheduler = UCBScheduler(sorted(GOLD), seed=0)
    for domain, values in outcomes.items():
        scheduler.update(domain, values)  # raises unless every outcome lies in [0, 1]
    assert sum(scheduler.allocate(8).values()) == 8


def test_a_right_answer_gets_the_larger_advantage_and_the_loss_pushes_it_up() -> None:
    texts = [RIGHT["gsm8k"], "<think>6 * 7 = 41</think><answer>41</answer>"] * 2
    rewards = torch.tensor([score("gsm8k", t, GOLD["gsm8k"]).total for t in texts])
    advantages = compute_advantages(rewards, torch.tensor([0, 0, 1, 1]), ["gsm8k"] * 4)
    assert advantages.shape == (4,)
    assert advantages.dtype == rewards.dtype
    assert bool((advantages[0::2] > advantages[1::2]).all())

    logp = torch.full((4, 5), -1.0, requires_grad=True)  # [B, T] completion token log-probs
    out = grpo_loss(logp, None, None, advantages, torch.ones(4, 5))
    out.loss.backward()
    assert logp.grad is not None
    # Descending the loss raises the right answers' log-probs and lowers the wrong ones'.
    assert bool((logp.grad[0::2] < 0).all())
    assert bool((logp.grad[1::2] > 0).all())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.gpu
def test_advantages_stay_on_the_gpu_for_the_loss() -> None:
    rewards = torch.tensor([1.0, 0.0, 0.5, 0.5], device="cuda")
    advantages = compute_advantages(rewards, torch.tensor([0, 0, 1, 1], device="cuda"))
    assert advantages.device == rewards.device
    logp = torch.zeros(4, 3, device="cuda", requires_grad=True)
    grpo_loss(logp, None, None, advantages, torch.ones(4, 3, device="cuda")).loss.backward()
    assert logp.grad is not None
