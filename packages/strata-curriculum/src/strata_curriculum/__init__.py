"""strata_curriculum — decide each batch's domain mix, favouring weak domains, starving none.

    >>> from strata_curriculum import UCBScheduler
    >>> s = UCBScheduler(["gsm8k", "mmlu", "strategyqa"], seed=0)
    >>> s.update("gsm8k", [0, 0, 1, 0])
    >>> s.update("mmlu", [1, 1, 1, 0])
    >>> s.update("strategyqa", [1, 0])
    >>> s.allocate(16)
    {'gsm8k': 8, 'mmlu': 2, 'strategyqa': 6}

See ``docs/curriculum.md``.
"""

from collections.abc import Mapping
from typing import Any

from strata_curriculum.config import CurriculumConfig
from strata_curriculum.schedulers import (
    DomainScheduler,
    ProportionalScheduler,
    UCBScheduler,
    UniformScheduler,
    apportion,
    check_state_keys,
)

__all__ = [
    "CurriculumConfig",
    "DomainScheduler",
    "ProportionalScheduler",
    "UCBScheduler",
    "UniformScheduler",
    "apportion",
    "scheduler_from_state",
]


def scheduler_from_state(state: Mapping[str, Any]) -> DomainScheduler:
    """Rebuild a scheduler of the right kind from :meth:`state_dict` output (e.g. a checkpoint)."""
    check_state_keys(state)
    config = dict(state["config"])
    domains = state["domains"]
    kinds = {
        "ucb": UCBScheduler,
        "uniform": UniformScheduler,
        "proportional": ProportionalScheduler,
    }
    kind = state.get("kind")
    if kind not in kinds:
        raise ValueError(f"unknown scheduler kind {kind!r}; known: {sorted(kinds)}")
    if kind == "proportional":
        scheduler: DomainScheduler = ProportionalScheduler(config["weights"])
    elif kind == "uniform":
        scheduler = UniformScheduler(domains)
    else:
        scheduler = UCBScheduler(domains)
    scheduler.load_state_dict(state)
    return scheduler
