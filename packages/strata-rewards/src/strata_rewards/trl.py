"""Reward functions with TRL's signature: ``f(prompts, completions, **columns) -> list``.

    from strata_rewards import as_trl_reward_funcs
    trainer = GRPOTrainer(..., reward_funcs=as_trl_reward_funcs())

TRL passes the dataset's other columns as keyword lists; the domain and the gold answer are read
from them (``domain_column``, ``gold_column``). With ``split=True`` (default) you get one function
per component (outcome, structure, −repetition, already weighted), so TRL logs each and sums them
to the composite total; ``split=False`` gives one function returning the total. A row whose gold
answer cannot be read, or whose domain is unknown, gets ``None`` (TRL ignores it), so another
reward function may score it; the first of each kind is said in a warning, since a misspelt
domain would otherwise leave its rows unlearned without a word.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from strata_rewards.domains import GoldError, get_domain
from strata_rewards.scoring import DEFAULT_WEIGHTS, RewardBreakdown, Weights, score

RewardFunc = Callable[..., list[float | None]]


def _text(completion: Any) -> str:
    """A plain completion, or the last message's content of a conversational one."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    return str(completion)


def as_trl_reward_funcs(
    *,
    domain_column: str = "domain",
    gold_column: str = "answer",
    default_domain: str | None = None,
    weights: Weights | None = None,
    split: bool = True,
) -> list[RewardFunc]:
    """TRL reward functions over this package's composite reward (see module doc)."""
    w = weights or DEFAULT_WEIGHTS
    warned: set[str] = set()  # the unknown domains said, and "gold" once

    def decline(key: str, message: str) -> None:
        if key not in warned:
            warned.add(key)
            warnings.warn(f"strata_rewards' TRL reward: {message}", stacklevel=4)

    def breakdowns(
        completions: Sequence[Any], kwargs: dict[str, Any]
    ) -> list[RewardBreakdown | None]:
        golds = kwargs.get(gold_column)
        if golds is None:
            raise KeyError(f"the dataset has no gold column {gold_column!r} (gold_column=...)")
        domains = kwargs.get(domain_column) or [default_domain] * len(completions)
        out: list[RewardBreakdown | None] = []
        for completion, gold, domain in zip(completions, golds, domains, strict=True):
            if domain is None:
                raise KeyError(f"no domain column {domain_column!r} and no default_domain given")
            try:
                reward_domain = get_domain(domain)
            except ValueError:
                decline(str(domain), f"domain {domain!r} is not registered: its rows get None")
                out.append(None)
                continue
            try:
                out.append(score(reward_domain, _text(completion), gold, weights=w))
            except (GoldError, ValueError) as err:
                decline("gold", f"gold answers it cannot read get None; the first: {err}")
                out.append(None)
        return out

    def component(name: str, sign: float, weight: float) -> RewardFunc:
        def reward(
            prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
        ) -> list[float | None]:
            return [
                None if b is None else sign * weight * getattr(b, name)
                for b in breakdowns(completions, kwargs)
            ]

        reward.__name__ = f"strata_{name}"
        return reward

    if not split:
        return [component("total", 1.0, 1.0)]
    return [
        component("outcome", 1.0, w.outcome),
        component("structure", 1.0, w.structure),
        component("repetition", -1.0, w.repetition),
    ]
