"""The curriculum's one typed configuration, for apps that read it from a file: which scheduler,
and its settings. Its defaults are :class:`~strata_curriculum.UCBScheduler`'s own (read from its
signature: one place), so a config and a scheduler built by hand agree."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from strata_curriculum.schedulers import DomainScheduler, UCBScheduler, UniformScheduler

_UCB = inspect.signature(UCBScheduler).parameters


@dataclass(frozen=True)
class CurriculumConfig:
    scheduler: Literal["ucb", "uniform"] = "ucb"
    """ucb: favour weak and rarely-seen domains (UCBScheduler). uniform: equal shares (the
    ablation)."""
    c: float = _UCB["c"].default
    """ucb: weight of the exploration bonus c*sqrt(ln N / n_d); 0 = greedy on weakness."""
    floor: float | None = _UCB["floor"].default
    """ucb: share of every batch guaranteed to each domain, in [0, 1/K]; none = min(0.1, 1/K)."""
    ema: float = _UCB["ema"].default
    """Weight of the newest step in each domain's running accuracy, in (0, 1]."""
    sharpness: float = _UCB["sharpness"].default
    """ucb: shares follow score**sharpness. 1 = proportional to the scores, which in a batch of
    6 prompts over 3 domains rounds to 2/2/2 whatever the scores; 4 lets the curriculum act
    (and lifted the weakest domain in benchmarks/curriculum_simulation.py)."""

    def make(self, domains: Sequence[str], seed: int | None) -> DomainScheduler:
        """The scheduler this config describes (ValueError naming a value out of range)."""
        if self.scheduler == "uniform":
            return UniformScheduler(domains, ema=self.ema, seed=seed)
        if self.scheduler != "ucb":
            raise ValueError(f"scheduler must be ucb or uniform, got {self.scheduler!r}")
        return UCBScheduler(
            domains, c=self.c, floor=self.floor, ema=self.ema, sharpness=self.sharpness, seed=seed
        )
