"""A tiny but real training setup shared by the trainer tests and the SIGKILL script: a random
Llama over SmolLM2's tokenizer, LoRA, two domains with the real reward functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strata_curriculum import UCBScheduler
from strata_grpo import Example, GRPOConfig, GRPOTrainer, make_policy, rank_seed
from strata_rollout import HFEngine, load_tokenizer
from strata_rollout.testing import tiny_causal_lm

QUESTIONS = {
    "gsm8k": [
        ("Tom has 3 apples and buys 4 more. How many now?", "#### 7"),
        ("A box holds 6 eggs. How many eggs in 2 boxes?", "#### 12"),
        ("Sam had 10 cards and gave away 4. How many left?", "#### 6"),
    ],
    "strategyqa": [
        ("Can a fish climb a tree?", False),
        ("Is water wet?", True),
        ("Do cats bark?", False),
    ],
}


def tasks() -> dict[str, list[Example]]:
    return {
        domain: [
            Example([{"role": "user", "content": q}], gold, f"{domain}:{i}")
            for i, (q, gold) in enumerate(rows)
        ]
        for domain, rows in QUESTIONS.items()
    }


@dataclass(frozen=True)
class Breakdown:
    total: float
    outcome: float
    structure: float = 0.0
    repetition: float = 0.0
    answer: Any = None

    @property
    def outcome_reward(self) -> float:
        return self.outcome

    @property
    def structure_reward(self) -> float:
        return self.structure


def vowel_reward(domain: str, text: str, gold: Any) -> Breakdown:
    """A continuous reward a random model's text varies on (the real scorers give it a flat 0,
    which leaves nothing to learn): the share of characters that are vowels."""
    share = sum(ch in "aeiou" for ch in text.lower()) / max(len(text), 1)
    return Breakdown(total=share, outcome=float(share > 0.3))


def config(**overrides: Any) -> GRPOConfig:
    base: dict[str, Any] = {
        "prompts_per_step": 2,
        "group_size": 4,
        "max_new_tokens": 8,
        "micro_batch_size": 4,
        "lora_r": 4,
        "lora_alpha": 8,
        "learning_rate": 5e-2,
        "steps": 4,
        "checkpoint_every": 1,
        "seed": 0,
        "bf16": "off",  # exactness tests compare to 1e-6 and bitwise
    }
    base.update(overrides)
    return GRPOConfig(**base)


def grpo_trainer(
    policy: Any, tok: Any, cfg: GRPOConfig, engine: HFEngine | None = None, **kw: Any
) -> GRPOTrainer:
    """A trainer over :func:`tasks` whose HFEngine (``engine``, else a default one) samples
    ``policy`` itself, mixed by UCB."""
    return GRPOTrainer(
        policy,
        tok,
        tasks(),
        cfg,
        engine=engine or HFEngine(policy, tok, seed=rank_seed(cfg.seed)),
        scheduler=UCBScheduler(list(tasks()), seed=cfg.seed),
        **kw,
    )


def trainer(tokenizer: Any = None, **overrides: Any) -> GRPOTrainer:
    tok = tokenizer if tokenizer is not None else load_tokenizer("smollm2")
    cfg = config(**overrides)
    return grpo_trainer(make_policy(tiny_causal_lm(tok), cfg), tok, cfg, reward_fn=vowel_reward)


def adapter(t: GRPOTrainer) -> dict[str, Any]:
    from peft import get_peft_model_state_dict

    return {k: v.detach().clone() for k, v in get_peft_model_state_dict(t.policy).items()}
