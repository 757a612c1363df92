"""The GRPO trainer: one step = allocate → sample prompts → rollout → rewards → advantages →
μ inner updates (micro-batches, gradient accumulation) → optimizer step → weight push → log.

Orchestration only; the maths lives in :mod:`strata_grpo.loss` (the loss),
:mod:`strata_grpo.logprobs` (per-token log-probs) and ``strata_advantage`` (advantages).

Exactness:
- ``log πold`` is the trainer's own forward at rollout time, never the sampler's numbers; with
  μ = 1 it equals the current log-probs and is not computed (``old_logp=None``: ρ = 1 exactly).
  With ``use_sampler_logprobs`` each token's policy term is also weighted by the truncated
  importance ratio between that ``log πold`` and the sampler's log-probs, which corrects for a
  sampler whose numbers differ (vLLM kernels, bf16); the sampler's numbers never replace it.
- ``log πref`` is the same model with its adapter disabled: no second model in memory.
- Micro-batch losses are weighted so that the accumulated gradient equals the full batch's
  (token_mean: by token share; sequence_mean and dr_grpo: by completion share).
- A non-finite loss or gradient skips the optimizer step (logged as ``skipped``): weights, the
  optimizer state and the learning-rate schedule stay as they were.
- A micro-batch whose gradient is exactly zero is not computed (:func:`rows_that_learn`): no
  completion tokens, or, at μ = 1 with β = 0 and no entropy bonus, advantages of 0 (a group whose
  rewards are all equal). The update, its loss and ratios are what computing it would give, to
  the bit; the sampler mismatch is measured over the micro-batches computed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, cast

import numpy as np
import torch

from strata_advantage import AdvantageResult, DomainDiagnostics, compute_advantages
from strata_curriculum import DomainScheduler
from strata_grpo.checkpoint import (
    CHECKPOINT_PREFIX,
    append_metrics,
    atomic_write_text,
    config_to_json,
    load_adapter_weights,
    read_trainer_state,
    resolve_checkpoint,
    truncate_jsonl,
)
from strata_grpo.config import GRPOConfig
from strata_grpo.data import Example, TaskSampler
from strata_grpo.distributed import (
    all_gather_objects,
    all_ranks_true,
    average_gradients,
    barrier,
    rank_and_world,
    sum_over_ranks,
)
from strata_grpo.hardware import autocast_dtype
from strata_grpo.logprobs import completion_logprobs
from strata_grpo.loss import GRPOLossOutput, grpo_loss
from strata_grpo.memory import release_freed_memory
from strata_grpo.metrics import DomainMetrics, StepMetrics, UpdateMetrics
from strata_grpo.policy import trainable_parameters
from strata_grpo.timing import StageClock
from strata_rewards import Answer, Gold, score
from strata_rollout import (
    Completion,
    RolloutEngine,
    SamplingConfig,
    SharedPolicyEngine,
    StatefulEngine,
    TemperatureSchedule,
    push_lora,
)
from strata_rollout.engine import left_pad, pad_id

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedTokenizerBase


class Scored(Protocol):
    """What the trainer reads of a completion's reward (``strata_rewards.RewardBreakdown``)."""

    @property
    def total(self) -> float:
        """The reward advantages are computed from."""
        ...

    @property
    def outcome(self) -> float:
        """1.0 when the answer is right: the curriculum's and the logs' accuracy."""
        ...

    @property
    def structure(self) -> float: ...

    @property
    def repetition(self) -> float: ...

    @property
    def outcome_reward(self) -> float:
        """The outcome's term of ``total``."""
        ...

    @property
    def structure_reward(self) -> float:
        """The structure's term of ``total``: with ``outcome_reward``, how much reward is format."""
        ...

    @property
    def answer(self) -> Answer | None:
        """The answer read from the completion, or None (the parse rate)."""
        ...


RewardFn = Callable[[str, str, Gold], Scored]
"""``(domain, completion_text, gold) -> Scored``: ``strata_rewards.score`` by default."""


class Prompted(NamedTuple):
    """One prompt of the step (stage 1)."""

    group: int
    """Its index in the step: the advantage group of its completions."""
    domain: str
    example: Example


class Sampled(NamedTuple):
    """One completion of a prompt (stage 2), and the rank that sampled it."""

    prompt: Prompted
    completion: Completion
    rank: int


@dataclass
class RolloutBatch:
    """Everything one step's learning needs, flat over its N = prompts × G completions."""

    domains: list[str]
    """Shape: [N]."""
    groups: list[int]
    """Prompt index within the step, shared by a group's completions. Shape: [N]."""
    prompt_ids: list[tuple[int, ...]]
    completion_ids: list[tuple[int, ...]]
    sampler_logprobs: list[tuple[float, ...]]
    finish_reasons: list[str]
    rewards: torch.Tensor
    """Shape: [N] float32."""
    advantages: torch.Tensor
    """Shape: [N] float32."""
    breakdowns: list[Scored]
    texts: list[str] = field(default_factory=list)
    """The completions' text, for logs and samples. Shape: [N]."""
    golds: list[Gold] = field(default_factory=list)
    """Each completion's prompt's gold answer, for logs and samples. Shape: [N]."""
    strata: list[str | None] = field(default_factory=list)
    """Each completion's prompt's stratum (:attr:`Example.stratum`, a skill), for the metrics'
    accuracy by stratum. Shape: [N]."""
    local: list[int] = field(default_factory=list)
    """Indices of the completions this rank sampled (all of them on one process)."""
    temperature: float = 1.0
    """The sampling temperature: every log-prob of the update is of this policy (SPEC.md)."""
    diagnostics: dict[Any, DomainDiagnostics] = field(default_factory=dict)
    """strata-advantage's per-domain diagnostics (SAN's regime and spread), by domain."""

    def __len__(self) -> int:
        return len(self.domains)

    def subset(self, indices: Sequence[int]) -> RolloutBatch:
        """The completions at ``indices`` (advantages as computed on the whole batch)."""
        if list(indices) == list(range(len(self))):
            return self
        idx = list(indices)
        return RolloutBatch(
            domains=[self.domains[i] for i in idx],
            groups=[self.groups[i] for i in idx],
            prompt_ids=[self.prompt_ids[i] for i in idx],
            completion_ids=[self.completion_ids[i] for i in idx],
            sampler_logprobs=[self.sampler_logprobs[i] for i in idx],
            finish_reasons=[self.finish_reasons[i] for i in idx],
            rewards=self.rewards[idx],
            advantages=self.advantages[idx],
            breakdowns=[self.breakdowns[i] for i in idx],
            texts=[self.texts[i] for i in idx],
            golds=[self.golds[i] for i in idx],
            strata=[self.strata[i] for i in idx] if self.strata else [],
            local=list(range(len(idx))),
            temperature=self.temperature,
            diagnostics=self.diagnostics,
        )


LOSS_STATS = ("loss", "policy_loss", "kl", "clip_fraction", "ratio_mean")
"""The loss's statistics an update logs, each weighted by its micro-batch's share."""


@dataclass(frozen=True)
class LearningInputs:
    """A rank's part of the step's batch, padded, on the trainer's device."""

    input_ids: torch.Tensor
    """Prompts left-padded, completions right-padded. Shape: [N, P+T]."""
    attention: torch.Tensor
    """Shape: [N, P+T]."""
    completion_mask: torch.Tensor
    """1 on completion tokens. Shape: [N, T] float32."""
    advantages: torch.Tensor
    """Shape: [N]."""
    learns: torch.Tensor
    """Rows whose tokens can move the gradient (:func:`rows_that_learn`). Shape: [N] bool, CPU."""
    has_tokens: torch.Tensor
    """Rows with completion tokens. Shape: [N] bool, CPU."""
    temperature: float
    local_tokens: float
    """Completion tokens on this rank."""
    global_tokens: float
    """Completion tokens on every rank: the token_mean denominator."""
    global_completions: float
    """Completions on every rank: the sequence_mean / dr_grpo denominator."""


@dataclass(frozen=True)
class FixedLogprobs:
    """Log-probs the updates of one step hold fixed. Shapes: [N, T], or None when unused."""

    old: torch.Tensor | None
    ref: torch.Tensor | None
    sampler: torch.Tensor
    """The sampler's own (zeros on padding)."""


@dataclass(frozen=True)
class UpdateStats:
    """One update's (or a sum of updates') loss statistics, kept on the device."""

    sums: torch.Tensor
    """Share-weighted sums of :data:`LOSS_STATS`. Shape: [len(LOSS_STATS)]."""
    ratio_min: torch.Tensor
    ratio_max: torch.Tensor
    mismatch: torch.Tensor
    """Sampler against learner over the completion tokens computed, d = log πsampler − log πold:
    Σ |d|, max |d|, Σ d, and the tokens summed over (first update only). Shape: [4]."""

    @classmethod
    def empty(cls, device: torch.device) -> UpdateStats:
        return cls(
            torch.zeros(len(LOSS_STATS), device=device),
            torch.tensor(math.inf, device=device),
            torch.tensor(-math.inf, device=device),
            torch.zeros(4, device=device),
        )

    def with_micro_batch(
        self, out: GRPOLossOutput, share: torch.Tensor, mismatch: torch.Tensor | None
    ) -> UpdateStats:
        has_tokens = out.n_tokens > 0
        if mismatch is None:
            merged = self.mismatch
        else:
            merged = torch.stack(
                [
                    self.mismatch[0] + mismatch[0],
                    self.mismatch[1].maximum(mismatch[1]),
                    self.mismatch[2] + mismatch[2],
                    self.mismatch[3] + mismatch[3],
                ]
            )
        return UpdateStats(
            self.sums + torch.stack([getattr(out, k).detach() for k in LOSS_STATS]) * share,
            torch.where(has_tokens, self.ratio_min.minimum(out.ratio_min), self.ratio_min),
            torch.where(has_tokens, self.ratio_max.maximum(out.ratio_max), self.ratio_max),
            merged,
        )

    def with_idle_micro_batch(self, share: torch.Tensor, has_tokens: bool) -> UpdateStats:
        """A micro-batch not computed (:func:`rows_that_learn`): what :func:`grpo_loss` gives
        there, where every term is 0 and every ratio 1 (μ = 1: ρ = exp(0); no tokens: 1 by
        its convention)."""
        idle = torch.tensor(
            [1.0 if k == "ratio_mean" else 0.0 for k in LOSS_STATS], device=self.sums.device
        )
        one = torch.ones((), device=self.sums.device)
        return UpdateStats(
            self.sums + idle * share,
            self.ratio_min.minimum(one) if has_tokens else self.ratio_min,
            self.ratio_max.maximum(one) if has_tokens else self.ratio_max,
            self.mismatch,
        )

    def plus(self, other: UpdateStats) -> UpdateStats:
        return UpdateStats(
            self.sums + other.sums,
            self.ratio_min.minimum(other.ratio_min),
            self.ratio_max.maximum(other.ratio_max),
            self.mismatch,  # the first update's: a property of the batch
        )

    def metrics(
        self,
        updates: int,
        *,
        grad_norm: float,
        skipped: int,
        tokens: float,
        mismatch: Sequence[float],
    ) -> UpdateMetrics:
        """The step's learning metrics: means over the ``updates`` taken (NaN where none was)."""
        means = (self.sums / updates).tolist() if updates else [math.nan] * len(LOSS_STATS)
        low, high = float(self.ratio_min), float(self.ratio_max)
        return UpdateMetrics(
            **dict(zip(LOSS_STATS, means, strict=True)),
            ratio_min=low if math.isfinite(low) else 1.0,
            ratio_max=high if math.isfinite(high) else 1.0,
            grad_norm=grad_norm,
            skipped=float(skipped),
            tokens=float(tokens),
            sampler_logp_gap=mismatch[0] / max(mismatch[3], 1),
            sampler_logp_gap_max=mismatch[1],
            sampler_kl=mismatch[2] / max(mismatch[3], 1),
        )


def pad_batch(
    prompt_ids: Sequence[Sequence[int]], completion_ids: Sequence[Sequence[int]], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Prompts left-padded, completions right-padded, side by side.

    Returns: input_ids [N, P+T], attention_mask [N, P+T], completion_mask [N, T]."""
    prompts, prompt_mask = left_pad(prompt_ids, pad_id)  # [N, P]
    t = max(max(len(x) for x in completion_ids), 1)
    completions = torch.full((len(completion_ids), t), pad_id, dtype=torch.long)  # [N, T]
    completion_mask = torch.zeros((len(completion_ids), t), dtype=torch.float32)  # [N, T]
    for i, completion in enumerate(completion_ids):
        if completion:
            completions[i, : len(completion)] = torch.tensor(completion, dtype=torch.long)
            completion_mask[i, : len(completion)] = 1
    input_ids = torch.cat([prompts, completions], 1)
    attention = torch.cat([prompt_mask, completion_mask.long()], 1)
    return input_ids, attention, completion_mask


def structure_share(breakdowns: Sequence[Scored]) -> float:
    """Share of the reward earned (outcome and structure terms, before the repetition penalty)
    that the structure term paid; 0 where nothing was earned. Near 1 while accuracy stays near 0
    is reward for format alone (issue 36)."""
    structure = sum(b.structure_reward for b in breakdowns)
    earned = structure + sum(b.outcome_reward for b in breakdowns)
    return float(structure / earned) if earned > 0 else 0.0


def rows_that_learn(
    completion_mask: torch.Tensor, advantages: torch.Tensor, *, zero_advantage_is_idle: bool
) -> torch.Tensor:
    """The completions whose tokens can move the gradient. A row without completion tokens
    never can; with ``zero_advantage_is_idle`` (μ = 1, β = 0, no entropy bonus: each token's
    term is −A·ρ·w) neither can a row whose advantage is 0, since 0·ρ·w = 0 and so does its
    gradient, exactly. ``completion_mask`` [N, T], ``advantages`` [N]; returns [N] bool."""
    learns = completion_mask.bool().any(1)
    return learns & (advantages != 0) if zero_advantage_is_idle else learns


def mixed_outcome_rows(groups: Sequence[int], breakdowns: Sequence[Scored]) -> torch.Tensor:
    """1.0 for each completion whose group's outcomes differ, 0.0 where they are all equal
    (all right or all wrong: no signal about the answer). Shape: [N]."""
    outcomes: dict[int, set[float]] = {}
    for g, b in zip(groups, breakdowns, strict=True):
        outcomes.setdefault(g, set()).add(float(b.outcome))
    return torch.tensor([float(len(outcomes[g]) > 1) for g in groups], dtype=torch.float32)


class GRPOTrainer:
    """Multi-domain GRPO on a LoRA (or QLoRA) policy. See the module doc."""

    def __init__(
        self,
        policy: PeftModel,
        tokenizer: PreTrainedTokenizerBase,
        tasks: Mapping[str, Sequence[Example]],
        config: GRPOConfig,
        *,
        engine: RolloutEngine,
        scheduler: DomainScheduler,
        reward_fn: RewardFn | None = None,
    ) -> None:
        """
        Args:
            policy: a peft model (see :func:`strata_grpo.make_policy`).
            tokenizer: its tokenizer (left padding is set by the engine).
            tasks: examples per domain; the domain names are those of the reward function.
            engine: where completions come from, e.g. ``HFEngine(policy, tokenizer,
                seed=rank_seed(config.seed))``, which samples ``policy`` itself, or a
                ``VLLMEngine`` that takes pushed weights. Under ``torch.distributed`` give each
                rank its own seed stream (:func:`strata_grpo.rank_seed`).
            scheduler: the domain mix over ``tasks``' domains, e.g.
                ``strata_curriculum.UCBScheduler(list(tasks), seed=config.seed)``.
            reward_fn: default ``strata_rewards.score``.
        """
        self.policy = policy
        self.tokenizer = tokenizer
        self.config = config
        self.sampler = TaskSampler(tasks, seed=config.seed, balanced=config.balanced)
        self.domains = tuple(tasks)
        _, world = rank_and_world()
        if world > config.prompts_per_step:
            # Ranks split the step's prompts; one with none would wait in every collective.
            raise ValueError(
                f"{world} processes but train.prompts_per_step = {config.prompts_per_step}: "
                "every process needs at least one prompt a step; raise prompts_per_step to "
                f"{world} or more, or start fewer processes"
            )
        if set(scheduler.domains) != set(self.domains):
            raise ValueError(
                f"the scheduler mixes {sorted(scheduler.domains)} but the tasks are "
                f"{sorted(self.domains)}: build it over the tasks' domains"
            )
        self.engine = engine
        self.last_batch: RolloutBatch | None = None
        """The latest step's global batch (the app logs samples from it)."""
        self.shares_policy = isinstance(engine, SharedPolicyEngine) and engine.samples_from(policy)
        """The engine generates with ``policy`` itself: pushes carry no weights."""
        self.scheduler = scheduler
        self.reward_fn: RewardFn = reward_fn or score
        self.temperature = TemperatureSchedule(
            config.temperature_start,
            config.temperature_end,
            config.steps,
            config.temperature_schedule,
        )
        self.params = trainable_parameters(policy)
        if not self.params:
            raise ValueError("the policy has no trainable parameter (is the adapter attached?)")
        self.optimizer = torch.optim.AdamW(
            self.params, lr=config.learning_rate, weight_decay=config.weight_decay
        )
        warmup = config.warmup_steps
        self.lr_schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0
        )
        self.step_count = 0
        self.device = next(policy.parameters()).device
        self.autocast_dtype = autocast_dtype(config.bf16, self.device)
        self.pad_id = pad_id(tokenizer)

    # ------------------------------------------------------------------ rollout

    def choose_prompts(self) -> list[Prompted]:
        """Stage 1, curriculum → data: the step's prompts, numbered by group. Every rank draws
        the same ones (same scheduler and sampler state)."""
        allocation = self.scheduler.allocate(self.config.prompts_per_step)
        prompts: list[Prompted] = []
        for domain in self.domains:
            for example in self.sampler.take(domain, allocation.get(domain, 0)):
                prompts.append(Prompted(len(prompts), domain, example))
        return prompts

    def sampling(self) -> SamplingConfig:
        """How this step samples (the temperature follows the schedule)."""
        cfg = self.config
        return SamplingConfig(
            max_new_tokens=cfg.max_new_tokens,
            temperature=self.temperature(self.step_count),
            top_p=cfg.top_p,
            stop=cfg.stop,
        )

    def generate(self, prompts: Sequence[Prompted], sampling: SamplingConfig) -> list[Sampled]:
        """Stage 2, engine: G completions for each of this rank's groups (``rank::world``)."""
        rank, world = rank_and_world()
        mine = list(prompts[rank::world])
        if not mine:
            return []
        groups = self.engine.generate(
            [p.example.prompt for p in mine], self.config.group_size, sampling
        )
        return [Sampled(p, c, rank) for p, group in zip(mine, groups, strict=True) for c in group]

    def rewards_and_advantages(
        self, sampled: Sequence[Sampled], temperature: float
    ) -> RolloutBatch:
        """Stage 3, rewards then advantages: each rank scores its completions, the ranks
        exchange them, and the estimator (SAN by default) normalises over the global batch."""
        local = [
            (s, self.reward_fn(s.prompt.domain, s.completion.text, s.prompt.example.gold))
            for s in sampled
        ]
        # Stable sort by group: a group's completions keep their order on every rank.
        rows = sorted(
            (row for part in all_gather_objects(local) for row in part),
            key=lambda r: r[0].prompt.group,
        )
        rank, _ = rank_and_world()
        completions = [s.completion for s, _ in rows]
        breakdowns = [b for _, b in rows]
        domains = [s.prompt.domain for s, _ in rows]
        groups = [s.prompt.group for s, _ in rows]
        rewards = torch.tensor([float(b.total) for b in breakdowns], dtype=torch.float32)  # [N]
        # ``extra`` is the estimator's options; cast: mypy cannot tell it holds no
        # ``return_diagnostics`` key, so it cannot pick the overload.
        advantages_with = cast(Callable[..., AdvantageResult], compute_advantages)
        result = advantages_with(
            rewards,
            torch.tensor(groups),
            domains,
            self.config.estimator,
            return_diagnostics=True,
            **self.config.extra,
        )
        return RolloutBatch(
            domains=domains,
            groups=groups,
            prompt_ids=[c.prompt_ids for c in completions],
            completion_ids=[c.completion_ids for c in completions],
            sampler_logprobs=[c.logprobs for c in completions],
            finish_reasons=[c.finish_reason for c in completions],
            rewards=rewards,
            advantages=result.advantages.float(),
            breakdowns=breakdowns,
            texts=[c.text for c in completions],
            golds=[s.prompt.example.gold for s, _ in rows],
            strata=[s.prompt.example.stratum for s, _ in rows],
            local=[i for i, (s, _) in enumerate(rows) if s.rank == rank],
            temperature=temperature,
            diagnostics=result.diagnostics,
        )

    def rollout(self) -> RolloutBatch:
        """Stages 1–3: the step's global batch with its advantages (``batch.local``: the
        completions this rank sampled and learns from)."""
        sampling = self.sampling()
        with self._eval_mode():
            sampled = self.generate(self.choose_prompts(), sampling)
        return self.rewards_and_advantages(sampled, sampling.temperature)

    # ------------------------------------------------------------------ learning

    @contextmanager
    def _autocast(self) -> Iterator[None]:
        if self.autocast_dtype is None:
            yield
            return
        from peft.helpers import disable_input_dtype_casting

        # peft casts each LoRA layer's input to its fp32 weights, and autocast casts it straight
        # back: two copies of every activation per layer and pass, 5-10 % of a bf16 step. The
        # round trip is exact (bf16 → fp32 → bf16): skipping it changes no bit (tested).
        with (
            torch.autocast(self.device.type, dtype=self.autocast_dtype),
            disable_input_dtype_casting(self.policy),
        ):
            yield

    def _logprobs(
        self,
        input_ids: torch.Tensor,
        attention: torch.Tensor,
        t: int,
        temperature: float,
        with_entropy: bool = False,
    ) -> torch.Tensor:
        """[b, T] log-probs; with ``with_entropy`` [b, T, 2] (``completion_logprobs``)."""
        # Greedy sampling (temperature 0) has no distribution: score it at temperature 1.
        with self._autocast():
            return completion_logprobs(
                self.policy,
                input_ids,
                attention,
                t,
                temperature=temperature or 1.0,
                with_entropy=with_entropy,
            ).float()

    def _logprobs_and_entropy(
        self, input_ids: torch.Tensor, attention: torch.Tensor, t: int, temperature: float
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`_logprobs`, and the per-token entropy where the entropy bonus needs it."""
        if not self.config.entropy_coef:
            return self._logprobs(input_ids, attention, t, temperature), None
        both = self._logprobs(input_ids, attention, t, temperature, with_entropy=True)  # [b, T, 2]
        return both[..., 0], both[..., 1]

    def _logprobs_no_grad(
        self, input_ids: torch.Tensor, attention: torch.Tensor, t: int, temperature: float
    ) -> torch.Tensor:
        """:meth:`_logprobs` of the whole batch without gradients, ``no_grad_batch_size`` rows
        at a time. Shape: [N, T]."""
        n = input_ids.shape[0]
        with torch.no_grad():
            return torch.cat(
                [
                    self._logprobs(input_ids[s], attention[s], t, temperature)
                    for s in self._micro_batches(n, self.config.no_grad_batch_size)
                ]
            )

    def _micro_batches(self, n: int, size: int) -> Iterator[slice]:
        for start in range(0, n, size):
            yield slice(start, min(n, start + size))

    @contextmanager
    def _eval_mode(self) -> Iterator[None]:
        was = self.policy.training
        self.policy.eval()
        try:
            yield
        finally:
            self.policy.train(was)

    def learn(self, batch: RolloutBatch, clock: StageClock | None = None) -> UpdateMetrics:
        """μ optimizer steps on ``batch``, top-down. Under ``torch.distributed`` each rank
        passes its own shard of the global batch: local losses are weighted so that the gradient
        averaged over ranks equals the global batch's gradient, and all ranks skip a non-finite
        update together. The learning-rate schedule advances once a step in which at least one
        update was taken; the logged loss and ratios are the mean over the updates taken.
        ``clock`` (optional) is charged each stage's seconds."""
        clock = clock or StageClock(self.device)
        inputs = self._learning_inputs(batch)  # padded ids and masks, advantages, shares
        with clock.stage("reference_logprobs"):
            fixed = self._fixed_logprobs(batch, inputs)  # log πold, log πref, the sampler's
        taken = UpdateStats.empty(self.device)
        grad_norm, skipped, mismatch = 0.0, 0, [0.0, 0.0, 0.0, 0.0]
        self.policy.train()
        for inner in range(self.config.inner_updates):
            with clock.stage("forward_backward"):
                update = self._accumulate_gradients(inputs, fixed, first=inner == 0)
            with clock.stage("optimizer"):
                grad_norm = self._clip_and_average_gradients()
            if inner == 0:  # a property of the batch, kept whether the update is or not
                mismatch = update.mismatch.tolist()
            if not all_ranks_true(math.isfinite(grad_norm)):
                self.optimizer.zero_grad(set_to_none=True)
                skipped += 1
                continue
            with clock.stage("optimizer"):
                self.optimizer.step()
            taken = taken.plus(update)
        self.optimizer.zero_grad(set_to_none=True)
        if skipped < self.config.inner_updates:
            self.lr_schedule.step()
        return taken.metrics(
            self.config.inner_updates - skipped,
            grad_norm=grad_norm,
            skipped=skipped,
            tokens=inputs.local_tokens,
            mismatch=mismatch,
        )

    def _learning_inputs(self, batch: RolloutBatch) -> LearningInputs:
        input_ids, attention, cmask = pad_batch(batch.prompt_ids, batch.completion_ids, self.pad_id)
        if self.config.drop_equal_outcome_groups:  # a group's samples are all on one rank
            cmask = cmask * mixed_outcome_rows(batch.groups, batch.breakdowns)[:, None]
        local_tokens = cmask.sum().item()
        cfg = self.config
        idle = cfg.inner_updates == 1 and cfg.beta == 0 and not cfg.entropy_coef
        return LearningInputs(
            input_ids=input_ids.to(self.device),
            attention=attention.to(self.device),
            completion_mask=cmask.to(self.device),
            advantages=batch.advantages.to(self.device),
            learns=rows_that_learn(cmask, batch.advantages.cpu(), zero_advantage_is_idle=idle),
            has_tokens=cmask.bool().any(1),
            temperature=batch.temperature,
            local_tokens=local_tokens,
            global_tokens=sum_over_ranks(local_tokens),
            global_completions=sum_over_ranks(len(batch)),
        )

    def _fixed_logprobs(self, batch: RolloutBatch, inputs: LearningInputs) -> FixedLogprobs:
        """What the μ updates hold fixed: log πref (β > 0: the adapter off), the sampler's
        log-probs (always: the mismatch is logged; the loss reads them with
        ``use_sampler_logprobs``), log πold (μ > 1; at μ = 1 it is the current policy's, ρ = 1
        exactly, and is not computed). Shapes: [N, T] or None."""
        cfg = self.config
        ids, attention, cmask = inputs.input_ids, inputs.attention, inputs.completion_mask
        t, temp = cmask.shape[1], inputs.temperature
        old = ref = None
        with self._eval_mode():
            if cfg.beta > 0:
                with self.policy.disable_adapter():
                    ref = self._logprobs_no_grad(ids, attention, t, temp)
            sampler = torch.zeros_like(cmask)
            for i, lp in enumerate(batch.sampler_logprobs):
                sampler[i, : len(lp)] = torch.tensor(lp, dtype=torch.float32)
            if cfg.inner_updates > 1:
                old = self._logprobs_no_grad(ids, attention, t, temp)
        return FixedLogprobs(old=old, ref=ref, sampler=sampler)

    def _accumulate_gradients(
        self, inputs: LearningInputs, fixed: FixedLogprobs, *, first: bool
    ) -> UpdateStats:
        """One update's gradient, accumulated over micro-batches, each weighted by its share of
        the global batch; the update's statistics stay on the device (no read-back)."""
        cfg = self.config
        _, world_size = rank_and_world()
        cmask, n = inputs.completion_mask, inputs.input_ids.shape[0]
        t = cmask.shape[1]
        stats = UpdateStats.empty(self.device)
        self.optimizer.zero_grad(set_to_none=True)
        for s in self._micro_batches(n, cfg.micro_batch_size):
            # This micro-batch's share of the global batch, so gradients accumulate to it.
            share = (
                cmask[s].sum() / max(inputs.global_tokens, 1)
                if cfg.aggregation == "token_mean"
                else torch.tensor(
                    (s.stop - s.start) / inputs.global_completions, device=self.device
                )
            ) * world_size
            if not bool(inputs.learns[s].any()):  # its gradient is exactly 0: not computed
                stats = stats.with_idle_micro_batch(share, bool(inputs.has_tokens[s].any()))
                continue
            logp, entropy = self._logprobs_and_entropy(
                inputs.input_ids[s], inputs.attention[s], t, inputs.temperature
            )  # [b, T] each (entropy None without the entropy bonus)
            out = grpo_loss(
                logp,
                None if fixed.old is None else fixed.old[s],
                None if fixed.ref is None else fixed.ref[s],
                inputs.advantages[s],
                cmask[s],
                eps_low=cfg.eps_low,
                eps_high=cfg.eps_high,
                log_ratio_clip=cfg.log_ratio_clip,
                beta=cfg.beta,
                aggregation=cfg.aggregation,
                max_tokens=cfg.max_new_tokens,
                sampler_logp=fixed.sampler[s] if cfg.use_sampler_logprobs else None,
                importance_cap=cfg.importance_cap,
                entropy=entropy,
                entropy_coef=cfg.entropy_coef,
            )
            # A non-finite loss makes the gradient non-finite: the update is skipped.
            torch.autograd.backward(out.loss * share)
            mismatch = None
            if first:
                old = logp.detach() if fixed.old is None else fixed.old[s]
                d = (fixed.sampler[s] - old) * cmask[s]  # [b, T], 0 on padding
                mismatch = torch.stack([d.abs().sum(), d.abs().max(), d.sum(), cmask[s].sum()])
            stats = stats.with_micro_batch(out, share, mismatch)
        for p in self.params:  # every micro-batch idle: Adam still steps, as with zeros
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        return stats

    def _clip_and_average_gradients(self) -> float:
        """Average the gradients over ranks, clip their norm; the norm (the one read-back an
        update)."""
        average_gradients(self.params)
        max_norm = self.config.max_grad_norm
        norm = torch.nn.utils.clip_grad_norm_(self.params, max_norm if max_norm > 0 else math.inf)
        return float(norm)

    def push_weights(self) -> None:
        """Make the rollout engine sample from the updated policy."""
        if self.shares_policy:
            self.engine.update_weights(None)
        else:
            push_lora(self.engine, self.policy)

    # ------------------------------------------------------------------ one step

    def step(self) -> StepMetrics:
        """One GRPO step, top-down; returns its metrics (``.row()``: the metrics.jsonl line)."""
        start, clock = time.perf_counter(), StageClock(self.device)
        lr = self.optimizer.param_groups[0]["lr"]  # this step's: learn() advances the schedule
        batch = self.rollout()  # prompts → completions → rewards → advantages
        release_freed_memory()  # the generation's caches, before the training pass's activations
        generated = time.perf_counter()
        learned = self.learn(batch.subset(batch.local), clock)  # μ optimizer steps, this rank
        trained = time.perf_counter()
        with clock.stage("weight_sync"):
            self.push_weights()  # the engine samples the updated policy next step
        release_freed_memory()  # the training pass's activations, before the next generation
        self.update_curriculum(batch)
        self.last_batch = batch  # for samples in the app's logs
        metrics = StepMetrics(
            step=self.step_count,
            generation_s=generated - start,
            training_s=trained - generated,
            step_s=time.perf_counter() - start,
            stages_s=dict(clock.seconds),
            lr=lr,
            temperature=batch.temperature,
            update=learned,
            completions={d: batch.domains.count(d) for d in self.domains},
            domains={d: m for d in self.domains if (m := self._domain_metrics(batch, d))},
            curriculum=self.scheduler.scores(),
        )
        self.step_count += 1
        return metrics

    def update_curriculum(self, batch: RolloutBatch) -> None:
        """Each domain's outcomes of the step go to the scheduler."""
        for domain in self.domains:
            outcomes = [
                float(b.outcome)
                for b, d in zip(batch.breakdowns, batch.domains, strict=True)
                if d == domain
            ]
            if outcomes:
                self.scheduler.update(domain, outcomes)

    def _domain_metrics(self, batch: RolloutBatch, domain: str) -> DomainMetrics | None:
        """``domain``'s part of the batch, or None where it had no completion."""
        idx = [i for i, d in enumerate(batch.domains) if d == domain]
        if not idx:
            return None
        bds: list[Scored] = [batch.breakdowns[i] for i in idx]
        # Collapse signs (issue 36): one answer for every prompt, groups that agree, and the
        # sampling policy's entropy, estimated per token as −mean log π(sampled token).
        answers = [str(b.answer) for b in bds if b.answer is not None]
        by_group: dict[int, list[Scored]] = {}
        for i in idx:
            by_group.setdefault(batch.groups[i], []).append(batch.breakdowns[i])
        logps = [lp for i in idx for lp in batch.sampler_logprobs[i]]
        diag = batch.diagnostics.get(domain)
        by_stratum: dict[str, list[float]] = {}
        for i in idx:
            if batch.strata and batch.strata[i] is not None:
                by_stratum.setdefault(str(batch.strata[i]), []).append(batch.breakdowns[i].outcome)
        return DomainMetrics(
            reward=float(np.mean([b.total for b in bds])),
            accuracy=float(np.mean([b.outcome for b in bds])),
            structure=float(np.mean([b.structure for b in bds])),
            repetition=float(np.mean([b.repetition for b in bds])),
            structure_share=structure_share(bds),
            parse_rate=float(np.mean([b.answer is not None for b in bds])),
            modal_answer_share=(
                max(answers.count(a) for a in set(answers)) / len(answers) if answers else 1.0
            ),
            prompts=len(by_group),
            distinct_answers=float(
                np.mean([len({str(b.answer) for b in g}) for g in by_group.values()])
            ),
            entropy=float(-np.mean(logps)) if logps else 0.0,
            # Signal health: a group whose rewards are all equal has zero advantages and
            # teaches nothing; one whose outcomes are all equal teaches only format and length.
            equal_reward_groups=float(
                np.mean([len({b.total for b in g}) == 1 for g in by_group.values()])
            ),
            equal_outcome_groups=float(
                np.mean([len({b.outcome for b in g}) == 1 for g in by_group.values()])
            ),
            completion_length=float(np.mean([len(batch.completion_ids[i]) for i in idx])),
            truncated=float(np.mean([batch.finish_reasons[i] == "length" for i in idx])),
            adv_regime=None if diag is None else diag.regime,
            adv_spread=None if diag is None else float(diag.spread),
            zero_var_groups=None if diag is None else float(diag.zero_variance_group_share),
            accuracy_by_stratum={k: float(np.mean(v)) for k, v in sorted(by_stratum.items())}
            or None,
        )

    # ------------------------------------------------------------------ checkpoints

    def save_checkpoint(self, run_dir: str | os.PathLike[str]) -> Path:
        """Write ``run_dir/checkpoint-<step>`` (adapter, optimizer, schedules, RNG, curriculum,
        data position, engine seed stream) atomically, point ``run_dir/latest`` at it, and prune
        old ones. A crash at any moment leaves the previous checkpoint intact."""
        from peft import get_peft_model_state_dict
        from safetensors.torch import save_file

        run = Path(run_dir)
        target = run / f"{CHECKPOINT_PREFIX}{self.step_count:06d}"
        # Every rank has its own seed stream; rank 0 writes them all.
        engine = self.engine
        engines = all_gather_objects(
            engine.state_dict() if isinstance(engine, StatefulEngine) else None
        )
        rank, _ = rank_and_world()
        if rank != 0:
            barrier()
            return target
        run.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".checkpoint-", dir=run))
        adapter = {
            k: v.detach().contiguous().cpu()
            for k, v in get_peft_model_state_dict(self.policy).items()
        }
        save_file(adapter, tmp / "adapter.safetensors")
        torch.save(
            {
                "optimizer": self.optimizer.state_dict(),
                "lr_schedule": self.lr_schedule.state_dict(),
                "torch_rng": torch.get_rng_state(),
                # the global NumPy state, for user code in reward functions that draws from it
                "numpy_rng": np.random.get_state(),  # noqa: NPY002
            },
            tmp / "optimizer.pt",
        )
        state = {
            "step": self.step_count,
            "config": config_to_json(self.config),
            "scheduler": self.scheduler.state_dict(),
            "sampler": self.sampler.state_dict(),
            "engines": engines,
        }
        (tmp / "trainer_state.json").write_text(json.dumps(state, indent=1), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        atomic_write_text(run / "latest", target.name + "\n")
        checkpoints = sorted(p for p in run.glob(f"{CHECKPOINT_PREFIX}*") if p.is_dir())
        for old in checkpoints[: -self.config.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)
        barrier()
        return target

    def load_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Restore everything :meth:`save_checkpoint` wrote; ``path`` is a checkpoint folder or
        a run folder (its latest checkpoint)."""
        folder = resolve_checkpoint(path)
        state = read_trainer_state(folder)
        load_adapter_weights(self.policy, folder)
        extra = torch.load(folder / "optimizer.pt", weights_only=False)
        self.optimizer.load_state_dict(extra["optimizer"])
        self.lr_schedule.load_state_dict(extra["lr_schedule"])
        torch.set_rng_state(extra["torch_rng"])
        np.random.set_state(extra["numpy_rng"])  # noqa: NPY002
        self.step_count = int(state["step"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.sampler.load_state_dict(state["sampler"])
        rank, world = rank_and_world()
        engines = state.get("engines") or []
        if len(engines) != world:
            raise ValueError(
                f"{folder} was written by {len(engines)} process(es); this run has {world}"
            )
        if engines[rank] is not None and isinstance(self.engine, StatefulEngine):
            self.engine.load_state_dict(engines[rank])
        self.push_weights()

    @staticmethod
    def latest_checkpoint(run_dir: str | os.PathLike[str]) -> Path | None:
        if not (Path(run_dir) / "latest").is_file():
            return None
        folder = resolve_checkpoint(run_dir)
        return folder if (folder / "trainer_state.json").is_file() else None

    # ------------------------------------------------------------------ the loop

    def train(
        self,
        run_dir: str | os.PathLike[str],
        *,
        on_step: Callable[[StepMetrics], None] | None = None,
    ) -> None:
        """Run until ``config.steps``, appending metrics to ``run_dir/metrics.jsonl`` and saving
        checkpoints; resumes from ``run_dir``'s latest checkpoint when there is one."""
        run = Path(run_dir)
        run.mkdir(parents=True, exist_ok=True)
        latest = self.latest_checkpoint(run)
        if latest is not None:
            self.load_checkpoint(latest)
        # Lines from the resume point on (every line, when an attempt was stopped before its
        # first checkpoint) are work about to be redone.
        truncate_jsonl(run / "metrics.jsonl", self.step_count)
        every = self.config.checkpoint_every
        while self.step_count < self.config.steps:
            metrics = self.step()
            append_metrics(run / "metrics.jsonl", metrics.row())
            if on_step is not None:
                on_step(metrics)
            if (every and self.step_count % every == 0) or self.step_count == self.config.steps:
                self.save_checkpoint(run)
