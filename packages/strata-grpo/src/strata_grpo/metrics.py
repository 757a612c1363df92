"""What one GRPO step reports: typed records, flattened in one place (:meth:`StepMetrics.row`)
into the line of ``metrics.jsonl`` that trackers, reports and ``--resume`` read."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

Row = dict[str, float | int | str]
"""One flat, JSON-serialisable line of ``metrics.jsonl``."""


@dataclass(frozen=True)
class UpdateMetrics:
    """The step's learning: means over the optimizer updates taken (NaN where none was)."""

    loss: float
    policy_loss: float
    kl: float
    """Mean k3 estimate of KL(policy ‖ reference) over completion tokens (0 when β = 0)."""
    clip_fraction: float
    ratio_mean: float
    ratio_min: float
    ratio_max: float
    grad_norm: float
    """Before clipping."""
    skipped: float
    """Updates skipped for a non-finite loss or gradient."""
    tokens: float
    """Completion tokens this rank learned from."""
    sampler_logp_gap: float
    """Mean |log π_sampler − log π_learner| over sampled tokens: the policy that sampled against
    the one that learns (issue 37). Over the tokens of the micro-batches the update computes: a
    micro-batch whose gradient is exactly zero (every advantage 0 at μ = 1, β = 0) is not run."""
    sampler_logp_gap_max: float
    sampler_kl: float
    """Mean of log π_sampler − log π_learner over the sampler's own draws: KL(sampler ‖ learner)."""


@dataclass(frozen=True)
class DomainMetrics:
    """One domain's part of a step's batch (a domain the curriculum gave no prompt has none)."""

    reward: float
    accuracy: float
    structure: float
    repetition: float
    structure_share: float
    """Share of the reward earned (outcome and structure terms) that structure paid."""
    parse_rate: float
    modal_answer_share: float
    """Share of the domain's parsed answers that are its most common one (1 over several prompts:
    every prompt got the same answer, a sign of collapse; over one prompt, only that its group
    agrees)."""
    prompts: int
    """The domain's prompts (groups) in the step's batch."""
    distinct_answers: float
    """Distinct answers a group, averaged over the domain's groups."""
    entropy: float
    """−mean log π(sampled token): the sampling policy's entropy, estimated per token."""
    equal_reward_groups: float
    """Share of groups whose rewards are all equal: zero advantages, they teach nothing."""
    equal_outcome_groups: float
    """Share of groups whose outcomes are all equal: they teach only format and length."""
    completion_length: float
    truncated: float
    adv_regime: str | None = None
    """SAN's scaling regime for the domain (z_norm, damped, centred), where the estimator says."""
    adv_spread: float | None = None
    zero_var_groups: float | None = None
    accuracy_by_stratum: Mapping[str, float] | None = None
    """Sampled accuracy of the domain's completions a stratum (:attr:`Example.stratum`, a skill:
    ``carry`` / ``no carry``), where its examples name one: a domain learning its easy half
    while losing the other shows it here, step by step (``<domain>/accuracy/<stratum>``)."""


BY_STRATUM = "accuracy_by_stratum"
"""The one :class:`DomainMetrics` field that is a mapping: flattened to one column a stratum."""


@dataclass(frozen=True)
class StepMetrics:
    """Everything one step reports."""

    step: int
    generation_s: float
    training_s: float
    step_s: float
    stages_s: Mapping[str, float]
    """Seconds a stage of training and sync (:data:`strata_grpo.timing.STAGES`); with
    ``generation_s`` they make up the step, less input padding and the curriculum's update."""
    lr: float
    """The learning rate this step's update used."""
    temperature: float
    update: UpdateMetrics
    completions: Mapping[str, int]
    """Completions a domain in the step's global batch, every domain (0 where none)."""
    domains: Mapping[str, DomainMetrics]
    """The domains that had completions."""
    curriculum: Mapping[str, float]
    """The scheduler's score a domain after this step's update."""

    def row(self) -> Row:
        """The flat line of ``metrics.jsonl``: ``step``, ``time/…``, ``lr``, ``temperature``,
        ``train/…``, then ``<domain>/…`` a domain and ``curriculum/<domain>``."""
        row: Row = {
            "step": self.step,
            "time/generation": self.generation_s,
            "time/training": self.training_s,
            "time/step": self.step_s,
            **{f"time/{stage}": s for stage, s in self.stages_s.items()},
            "lr": self.lr,
            "temperature": self.temperature,
        }
        row.update({f"train/{k}": v for k, v in dataclasses.asdict(self.update).items()})
        for domain, n in self.completions.items():
            row[f"{domain}/completions"] = n
            if domain in self.domains:
                metrics = self.domains[domain]
                parts = dataclasses.asdict(metrics).items()
                row.update(
                    {f"{domain}/{k}": v for k, v in parts if v is not None and k != BY_STRATUM}
                )
                for stratum, acc in (metrics.accuracy_by_stratum or {}).items():
                    row[f"{domain}/accuracy/{stratum}"] = acc
        row.update({f"curriculum/{d}": s for d, s in self.curriculum.items()})
        return row
