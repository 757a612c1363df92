"""strata_grpo — the GRPO loss, per-token log-probs without a full-vocabulary tensor, and the
LoRA/QLoRA trainer (reference policy = the same model with its adapter off).

    from strata_curriculum import UCBScheduler
    from strata_grpo import GRPOConfig, GRPOTrainer, make_policy, grpo_loss, rank_seed
    from strata_rollout import HFEngine

    out = grpo_loss(logp, old_logp, ref_logp, advantages, mask, beta=0.04)  # pure maths
    policy = make_policy(model, config)
    trainer = GRPOTrainer(
        policy, tokenizer, tasks, config,
        engine=HFEngine(policy, tokenizer, seed=rank_seed(config.seed)),  # samples the policy
        scheduler=UCBScheduler(list(tasks), seed=config.seed),
    )
    trainer.train("runs/demo")  # resumes from runs/demo's latest checkpoint if any

See ``docs/grpo.md``.
"""

from strata_grpo.checkpoint import (
    load_policy,
    read_trainer_state,
    resolve_checkpoint,
    truncate_jsonl,
)
from strata_grpo.config import GRPOConfig
from strata_grpo.data import Example, TaskSampler
from strata_grpo.distributed import rank_seed
from strata_grpo.hardware import autocast_dtype, describe_cpu, has_native_bf16
from strata_grpo.logprobs import completion_logprobs
from strata_grpo.loss import Aggregation, GRPOLossOutput, grpo_loss
from strata_grpo.memory import release_freed_memory
from strata_grpo.metrics import DomainMetrics, StepMetrics, UpdateMetrics
from strata_grpo.policy import disable_bnb_cpu_repacking, load_nf4_base, make_policy
from strata_grpo.trainer import GRPOTrainer, RolloutBatch, pad_batch

__all__ = [
    "Aggregation",
    "DomainMetrics",
    "Example",
    "GRPOConfig",
    "GRPOLossOutput",
    "GRPOTrainer",
    "RolloutBatch",
    "StepMetrics",
    "TaskSampler",
    "UpdateMetrics",
    "autocast_dtype",
    "completion_logprobs",
    "describe_cpu",
    "disable_bnb_cpu_repacking",
    "grpo_loss",
    "has_native_bf16",
    "load_nf4_base",
    "load_policy",
    "make_policy",
    "pad_batch",
    "rank_seed",
    "read_trainer_state",
    "release_freed_memory",
    "resolve_checkpoint",
    "truncate_jsonl",
]
