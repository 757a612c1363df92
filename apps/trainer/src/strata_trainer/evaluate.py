"""Evaluation with the training prompt template: greedy completions through a rollout engine,
scored by strata-rewards (``strata_rewards.evaluation``: accuracy with 95 % Wilson intervals,
parse rate, structure, MMLU per subject, the before/after comparison and its tables)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from strata_rewards import Prompting
from strata_rewards.data import DEFAULT_PROMPTING, Item
from strata_rewards.evaluation import DomainResult, score_domain
from strata_rollout import RolloutEngine, SamplingConfig

if TYPE_CHECKING:
    from strata_trainer.config import RunConfig


def evaluate(
    engine: RolloutEngine,
    items: Mapping[str, Sequence[Item]],
    prompting: Prompting = DEFAULT_PROMPTING,
    *,
    max_new_tokens: int = 128,
    stop: tuple[str, ...] = (),
    progress: Callable[[int], None] | None = None,
) -> dict[str, DomainResult]:
    """Greedy-decode every item with ``engine`` (the training prompts: ``prompting``) and score
    it as training does. Greedy calls leave a seeded engine's stream where it was
    (``StatefulEngine``), so a run samples the same training completions whether it evaluated
    the base model through its training engine or reused an earlier evaluation."""
    greedy = SamplingConfig(max_new_tokens=max_new_tokens, temperature=0, stop=stop)
    results = {}
    for domain, domain_items in items.items():
        prompts = [prompting.messages(domain, it.question) for it in domain_items]
        outs = engine.generate(prompts, 1, greedy, logprobs=False)
        texts = [group[0].text for group in outs]
        results[domain] = score_domain(domain, domain_items, texts, prompting)
        if progress is not None:
            progress(len(domain_items))
    return results


def evaluation_key(cfg: RunConfig) -> str:
    """What an evaluation of a given model depends on, hashed: the model, the items, the
    prompts, the generation path and the evaluation budget; not the estimator, the rewards, the
    curriculum or the training seed. Runs whose keys agree can share the base model's
    evaluation (strata-experiment does)."""
    parts: dict[str, Any] = {
        s: asdict(getattr(cfg, s)) for s in ("model", "data", "prompt", "rollout")
    }
    parts["eval.max_new_tokens"] = cfg.eval.max_new_tokens
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
