"""SAN in verl's calling convention: token-level rewards in, token-level advantages out.

verl's outcome estimators (``compute_grpo_outcome_advantage`` and friends) take
``token_level_rewards [B, T]``, ``response_mask [B, T]`` and ``index [B]`` (each prompt's ``uid``)
and return ``(advantages, returns)``, both ``[B, T]``. :func:`outcome_advantage` does the same
with one more argument, each sample's domain: verl keeps it per sample in
``data.non_tensor_batch["data_source"]``. verl's estimator registry does not pass that column to
registered estimators, so call it where verl calls its estimator (``compute_advantage`` in
``verl/trainer/ppo/ray_trainer.py``)::

    from strata_advantage.verl import outcome_advantage

    advantages, returns = outcome_advantage(
        data.batch["token_level_rewards"],
        data.batch["response_mask"],
        index=data.non_tensor_batch["uid"],
        domains=data.non_tensor_batch["data_source"],
    )
    data.batch["advantages"], data.batch["returns"] = advantages, returns

Needs torch (``strata-advantage[torch]``); verl itself is not imported. Tested against verl
0.9.1's own code (``.ci/verl-env``): with ``estimator="grpo", eps=1e-6`` it equals verl's
``compute_grpo_outcome_advantage`` on groups of two or more, and the call above runs on a real
``DataProto``.
"""

from __future__ import annotations

from typing import Any

import torch

from strata_advantage.api import compute_advantages


def outcome_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: Any,
    domains: Any,
    *,
    estimator: str = "san",
    **options: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One advantage per response, spread over its tokens, as verl's outcome estimators do.

    Args:
        token_level_rewards: Shape: [B, T]. verl puts the outcome reward on the last response
            token; the row sum is the response's score.
        response_mask: Shape: [B, T]. 1 on response tokens.
        index: Shape: [B]. Group id of each response (verl's ``uid``): strings or ints.
        domains: Shape: [B]. Domain of each response (verl's ``data_source``).
        estimator: a registered strata-advantage estimator.
        **options: its options (``zero_var``, ``low_var``, ``clip`` for SAN).

    Returns:
        ``(advantages, returns)``, both [B, T] in the rewards' dtype and device, zero off the
        mask; ``returns`` equals ``advantages``, as in verl's GRPO.
    """
    if token_level_rewards.dim() != 2 or token_level_rewards.shape != response_mask.shape:
        raise ValueError(
            f"token_level_rewards {tuple(token_level_rewards.shape)} and response_mask "
            f"{tuple(response_mask.shape)} must both be [B, T]"
        )
    scores = token_level_rewards.sum(dim=-1)
    per_response: torch.Tensor = compute_advantages(
        scores,
        index,
        domains,
        estimator,
        nan_policy="raise",  # verl hands finite scores; a NaN here is a bug upstream
        return_diagnostics=False,
        **options,
    )
    advantages = per_response.unsqueeze(-1) * response_mask.to(per_response.dtype)
    return advantages, advantages
