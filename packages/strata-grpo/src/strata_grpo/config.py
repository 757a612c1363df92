"""The trainer's one typed configuration. Every field is documented once, right under it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from strata_grpo.loss import Aggregation


@dataclass(frozen=True)
class GRPOConfig:
    """How one GRPO step is run and what it optimises."""

    prompts_per_step: int = 4
    """Prompts per step, mixed across domains by the curriculum scheduler."""
    group_size: int = 8
    """G: completions sampled per prompt (one advantage group)."""
    max_new_tokens: int = 128
    """Completion length cap; longer completions are truncated (finish_reason "length")."""
    temperature_start: float = 1.0
    """Sampling temperature at step 0."""
    temperature_end: float = 1.0
    """Sampling temperature once annealed (see ``temperature_schedule``)."""
    temperature_schedule: Literal["constant", "linear", "cosine"] = "constant"
    """How temperature moves from start to end over ``steps``."""
    top_p: float = 1.0
    """Nucleus sampling at rollout."""
    stop: tuple[str, ...] = ()
    """Strings that end a completion at rollout (kept in it), e.g. the answer's closing tag."""

    learning_rate: float = 1e-4
    """AdamW learning rate for the adapter (LoRA wants larger rates than full fine-tuning)."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    warmup_steps: int = 0
    """Linear learning-rate warm-up, then constant."""
    max_grad_norm: float = 1.0
    """Gradient clipping by global norm; 0 turns it off."""
    inner_updates: int = 1
    """μ: optimizer steps on each rollout batch. With 1, old log-probs equal the current ones
    and are not computed (ρ = 1 exactly)."""
    micro_batch_size: int = 8
    """Completions per forward/backward; gradients accumulate over the batch."""
    no_grad_batch_size: int = 32
    """Completions per forward without gradients (the reference's log-probs, and the old ones
    when μ > 1): nothing is kept for backward, so larger batches cost little memory, and a
    group's prompt runs once for all its samples. On SmolLM2 in bf16 the values equal those of
    micro-batches of 4 bit for bit, and the benchmark's reference pass (16 rows) took 3.1 s
    against 3.4-3.8 s (docs/grpo.md)."""

    beta: float = 0.0
    """Weight of the k3 KL penalty to the reference (the model with its adapter off)."""
    entropy_coef: float = 0.0
    """Weight c of the entropy bonus −c·H: H the policy's entropy over the whole vocabulary at
    each completion token, at the sampling temperature (a guard against entropy collapse;
    docs/grpo.md, "When training collapses")."""
    drop_equal_outcome_groups: bool = False
    """Leave groups whose outcomes (correct or not) are all equal out of the loss (DAPO's
    filter): they carry no signal about the answer, only about format and length. Their
    tokens leave the token count too; ``<domain>/equal_outcome_groups`` is the share dropped."""
    eps_low: float = 0.2
    """Lower clip of the ratio: 1 − eps_low."""
    eps_high: float = 0.28
    """Upper clip of the ratio: 1 + eps_high (DAPO's clip-higher)."""
    log_ratio_clip: float = 10.0
    """Clamp of log πθ − log πold before exp."""
    aggregation: Aggregation = "token_mean"
    """token_mean | sequence_mean | dr_grpo."""
    use_sampler_logprobs: bool = False
    """Weight each token's policy term by the truncated importance ratio
    min(exp(log πold − log πsampler), importance_cap) between the trainer's own old log-probs
    (with inner_updates = 1: the current ones) and the sampler's, correcting for a sampler whose
    numbers differ (vLLM kernels, bf16)."""
    importance_cap: float = 2.0
    """Truncation C of that importance weight."""

    estimator: str = "san"
    """Advantage estimator of strata-advantage: san, grpo, batch, dr_grpo, rloo, domain_pooled,
    global (the registry: any registered name)."""

    lora_r: int = 16
    """LoRA rank."""
    lora_alpha: int = 32
    """LoRA scaling numerator (scale = alpha / r)."""
    lora_dropout: float = 0.0
    """Dropout on the LoRA path (0 keeps runs bitwise reproducible)."""
    lora_target_modules: str | tuple[str, ...] = "all-linear"
    """Modules to adapt: peft's "all-linear" or a tuple of names."""
    quantization: Literal["none", "nf4"] = "none"
    """"nf4": QLoRA, the frozen base in bitsandbytes 4-bit NF4 (CPU or CUDA)."""
    bf16: Literal["auto", "on", "off"] = "auto"
    """bf16 autocast for the trainer's forward and backward passes (weights stay fp32); auto: on
    where the hardware has native bf16 (CUDA; CPUs with AVX512-BF16 or AMX)."""
    gradient_checkpointing: bool = False
    """Recompute decoder activations in backward (less memory, ~30 % more compute)."""

    steps: int = 100
    """Training steps (used by the temperature schedule and the run loop)."""
    seed: int = 0
    """Seeds data order, rollout sampling and the scheduler."""
    balanced: tuple[str, ...] = ()
    """Domains whose examples are taken one stratum (:attr:`Example.stratum`, e.g. a sum with a
    carry or without) at a time in turn, so every step sees each part of the domain
    (:class:`TaskSampler`)."""
    checkpoint_every: int = 10
    """Steps between checkpoints (0: only at the end)."""
    keep_checkpoints: int = 2
    """Most recent checkpoints kept on disk."""
    extra: dict[str, float] = field(default_factory=dict)
    """Options passed to the advantage estimator (e.g. zero_var, low_var, clip for SAN)."""

    def __post_init__(self) -> None:
        positive = (
            "prompts_per_step",
            "group_size",
            "max_new_tokens",
            "inner_updates",
            "micro_batch_size",
            "no_grad_batch_size",
            "lora_r",
            "steps",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.group_size < 2:
            raise ValueError(
                f"group_size must be >= 2: a group of one has no baseline (got {self.group_size})"
            )
        for name in (
            "learning_rate",
            "beta",
            "entropy_coef",
            "eps_low",
            "eps_high",
            "max_grad_norm",
            "weight_decay",
            "temperature_start",
            "temperature_end",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("temperature_start", "temperature_end"):
            if getattr(self, name) == 0:
                raise ValueError(
                    f"{name} must be > 0: at temperature 0 every sample of a group is the greedy "
                    "completion, so its rewards are all equal and GRPO learns nothing from it"
                )
        for name, value in vars(self).items():
            if isinstance(value, float) and not math.isfinite(value):  # nan passes "< 0"
                raise ValueError(f"{name} must be a finite number, got {value}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        for name in ("lora_alpha", "importance_cap", "log_ratio_clip"):
            if not getattr(self, name) > 0:  # 0 would zero the update, every weight, every ratio
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.checkpoint_every < 0 or self.keep_checkpoints < 1:
            raise ValueError(
                "checkpoint_every must be >= 0 (0: only at the end) and keep_checkpoints >= 1, "
                f"got {self.checkpoint_every} and {self.keep_checkpoints}"
            )
        if self.eps_low >= 1:
            raise ValueError(
                f"eps_low must be < 1 (the ratio's lower clip 1 − eps_low), got {self.eps_low}"
            )
        for name in ("stop", "balanced"):  # a string would be one entry per letter
            if isinstance(getattr(self, name), str):
                raise TypeError(
                    f"{name} must be a tuple of strings, got the string {getattr(self, name)!r} "
                    f"(one entry: ({getattr(self, name)!r},))"
                )
        if self.quantization not in ("none", "nf4"):
            raise ValueError(f"quantization must be none or nf4, got {self.quantization!r}")
