"""The GRPO loss: a pure function of per-token log-probs, advantages and a mask.

Per completion token ``t`` (SPEC.md)::

    log_ratio = clamp(logπθ − logπold, −L, L)          ρ = exp(log_ratio)
    obj       = min(ρ·A, clip(ρ, 1 − ε_low, 1 + ε_high)·A)
    k3        = exp(logπref − logπθ) − (logπref − logπθ) − 1
    loss_t    = −w·obj + β·k3 − c·H_t

then aggregated over the valid tokens: ``token_mean`` (all valid tokens of the batch weigh the
same; DAPO), ``sequence_mean`` (mean per completion, then over completions; the original GRPO)
or ``dr_grpo`` (sum divided by a constant ``batch × max_tokens``; Dr. GRPO, no length bias).

Departures from the GRPO paper (Shao et al. 2024), and why:
- asymmetric clipping ``ε_low``/``ε_high`` (DAPO's clip-higher) with the symmetric PPO clip as the
  special case ``ε_low = ε_high``;
- the log-ratio is clamped to ``±L`` before ``exp`` so one badly-off token cannot overflow;
- ``c·H_t``: an optional entropy bonus, ``H_t`` the entropy of the policy's whole next-token
  distribution at token ``t`` (not the sampled token's −log π, whose gradient is a biased
  REINFORCE term); it pushes back against the entropy collapse that ends exploration;
- ``w``: an optional truncated importance weight ``min(exp(logπold − logπsampler), C)`` that
  corrects for the sampler's numbers differing from the trainer's (vLLM kernels, bf16), detached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

Aggregation = Literal["token_mean", "sequence_mean", "dr_grpo"]


@dataclass(frozen=True)
class GRPOLossOutput:
    """The loss and what to log about it. All but ``loss`` are detached scalars."""

    loss: torch.Tensor
    """Scalar to call ``backward`` on."""
    policy_loss: torch.Tensor
    """The ``−w·obj`` part, aggregated like the loss."""
    kl: torch.Tensor
    """Mean k3 over valid tokens (0 when β = 0 and no reference was given)."""
    clip_fraction: torch.Tensor
    """Share of valid tokens whose objective took the clipped branch (no gradient there)."""
    ratio_mean: torch.Tensor
    ratio_min: torch.Tensor
    ratio_max: torch.Tensor
    n_tokens: torch.Tensor
    """Valid tokens in the batch."""


def _aggregate(
    per_token: torch.Tensor, mask: torch.Tensor, aggregation: Aggregation, max_tokens: int | None
) -> torch.Tensor:
    masked = per_token * mask
    if aggregation == "token_mean":
        return masked.sum() / mask.sum().clamp(min=1)
    if aggregation == "sequence_mean":
        per_seq = masked.sum(-1) / mask.sum(-1).clamp(min=1)  # [B]
        return per_seq.mean()
    if aggregation == "dr_grpo":
        constant = per_token.shape[0] * (max_tokens or per_token.shape[-1])
        return masked.sum() / constant
    raise ValueError(
        f"aggregation must be token_mean, sequence_mean or dr_grpo, got {aggregation!r}"
    )


def _check_coefficients(**coefficients: float) -> None:
    # NaN fails every comparison below and turns the loss into NaN; a negative beta rewards
    # drifting from the reference; importance_cap = 0 zeroes every token's policy term.
    bad = [f"{k}={v}" for k, v in coefficients.items() if not math.isfinite(v)]
    if bad:
        raise ValueError(f"loss coefficients must be finite, got {', '.join(bad)}")
    c = coefficients
    if min(c["eps_low"], c["eps_high"], c["log_ratio_clip"]) < 0 or c["eps_low"] >= 1:
        raise ValueError("need 0 <= eps_low < 1, eps_high >= 0 and log_ratio_clip >= 0")
    if c["beta"] < 0:
        raise ValueError(f"beta must be >= 0 (the KL penalty's weight), got {c['beta']}")
    if c["importance_cap"] <= 0:
        raise ValueError(f"importance_cap must be > 0, got {c['importance_cap']}")


def grpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor | None,
    ref_logp: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    eps_low: float = 0.2,
    eps_high: float = 0.28,
    log_ratio_clip: float = 10.0,
    beta: float = 0.0,
    aggregation: Aggregation = "token_mean",
    max_tokens: int | None = None,
    sampler_logp: torch.Tensor | None = None,
    importance_cap: float = 2.0,
    entropy: torch.Tensor | None = None,
    entropy_coef: float = 0.0,
) -> GRPOLossOutput:
    """GRPO loss over a batch of completions (see module doc).

    Args:
        logp: log πθ of each completion token, with gradient. Shape: [B, T].
        old_logp: log πold, the policy that sampled (computed by the trainer's own model at
            rollout time). ``None``: on-policy, ``logp.detach()`` (ρ = 1). Shape: [B, T].
        ref_logp: log πref (the model with its adapter off). Needed when ``beta > 0``. [B, T].
        advantages: one per completion. Shape: [B].
        mask: 1 for completion tokens, 0 for padding. Shape: [B, T].
        eps_low, eps_high: clip range ``[1 − eps_low, 1 + eps_high]`` of the ratio.
        log_ratio_clip: ``L``, the clamp on ``logπθ − logπold``.
        beta: weight of the k3 KL penalty.
        aggregation: token_mean | sequence_mean | dr_grpo.
        max_tokens: the dr_grpo constant (default: ``T``).
        sampler_logp: the sampler's log-probs; when given, each token's policy term is weighted
            by ``min(exp(old_logp − sampler_logp), importance_cap)`` (detached). Shape: [B, T].
        entropy: the policy's per-token entropy over the vocabulary, with gradient
            (``completion_logprobs(..., with_entropy=True)``). Needed when ``entropy_coef > 0``.
            Shape: [B, T].
        entropy_coef: ``c``, the entropy bonus's weight.
    """
    if logp.dim() != 2:
        raise ValueError(f"logp must be [B, T], got shape {tuple(logp.shape)}")
    shape = logp.shape
    for name, t in (
        ("old_logp", old_logp),
        ("ref_logp", ref_logp),
        ("mask", mask),
        ("sampler_logp", sampler_logp),
        ("entropy", entropy),
    ):
        if t is not None and t.shape != shape:
            raise ValueError(f"{name} must have logp's shape {tuple(shape)}, got {tuple(t.shape)}")
    if advantages.shape != shape[:1]:
        raise ValueError(f"advantages must be [B] = [{shape[0]}], got {tuple(advantages.shape)}")
    if beta > 0 and ref_logp is None:
        raise ValueError("beta > 0 needs ref_logp (log-probs of the reference policy)")
    if entropy_coef and entropy is None:
        raise ValueError("entropy_coef != 0 needs entropy (the per-token entropy of the policy)")
    _check_coefficients(
        eps_low=eps_low,
        eps_high=eps_high,
        log_ratio_clip=log_ratio_clip,
        beta=beta,
        importance_cap=importance_cap,
        entropy_coef=entropy_coef,
    )
    if max_tokens is not None and max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1 (or None: T), got {max_tokens}")

    mask = mask.to(logp.dtype)
    old = logp.detach() if old_logp is None else old_logp.detach()
    log_ratio = torch.clamp(logp - old, -log_ratio_clip, log_ratio_clip)  # [B, T]
    ratio = torch.exp(log_ratio)  # [B, T]
    adv = advantages.to(logp.dtype).unsqueeze(1)  # [B, 1]
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1 - eps_low, 1 + eps_high) * adv
    objective = torch.minimum(unclipped, clipped)  # [B, T]
    if sampler_logp is not None:
        weight = torch.exp(old - sampler_logp.detach()).clamp(max=importance_cap)
        objective = objective * weight
    policy = -objective
    if ref_logp is not None:
        delta = ref_logp.detach() - logp  # [B, T]
        k3 = torch.exp(delta) - delta - 1
    else:
        k3 = torch.zeros_like(logp)
    per_token = policy + beta * k3 if beta else policy
    if entropy_coef and entropy is not None:
        per_token = per_token - entropy_coef * entropy

    valid = mask.sum().clamp(min=1)
    with torch.no_grad():
        took_clip = (unclipped > clipped) & (mask > 0)  # min chose the clipped branch
        ratio_valid = ratio.detach()[mask > 0]
        empty = ratio_valid.numel() == 0
        one = torch.ones((), dtype=logp.dtype, device=logp.device)
        out_stats = {
            "kl": (k3.detach() * mask).sum() / valid,
            "clip_fraction": took_clip.to(logp.dtype).sum() / valid,
            "ratio_mean": one if empty else ratio_valid.mean(),
            "ratio_min": one if empty else ratio_valid.min(),
            "ratio_max": one if empty else ratio_valid.max(),
            "n_tokens": mask.sum(),
        }
    return GRPOLossOutput(
        loss=_aggregate(per_token, mask, aggregation, max_tokens),
        policy_loss=_aggregate(policy.detach(), mask, aggregation, max_tokens),
        **out_stats,
    )
