"""Examples per domain, and a deterministic, resumable sampler over them."""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from strata_rewards import Gold
from strata_rollout import Prompt


@dataclass(frozen=True)
class Example:
    """One prompt of a domain with its gold answer."""

    prompt: Prompt
    """Chat messages (or text) exactly as the model should see them."""
    gold: Gold
    """What the domain's reward function compares the answer with."""
    id: str = ""
    """Where it came from (file:row), for logs and errors."""
    stratum: str | None = None
    """The part of its domain it belongs to (a skill: ``"carry"``, ``"no carry"``), for a
    sampler that keeps a domain's strata balanced (:class:`TaskSampler`'s ``balanced``)."""


class TaskSampler:
    """Walks each domain's examples in a seeded random order, epoch after epoch.

    The order of epoch ``e`` of domain ``d`` depends only on ``(seed, d, e)``, so the sampler's
    whole state is a position per domain: checkpoints store it and a resumed run takes exactly
    the examples the uninterrupted one would.

    A ``balanced`` domain is walked stratum by stratum in turn (each stratum's examples
    shuffled, the strata in a shuffled order, then one of each in turn until the smallest runs
    out, then the rest): any run of as many consecutive takes as it has strata holds each once,
    so a step with two ``sum`` prompts gets one with a carry and one without, where a plain
    shuffle gives it two of one kind about half the time (docs/results.md, "A candidate default
    v9")."""

    def __init__(
        self,
        tasks: Mapping[str, Sequence[Example]],
        seed: int = 0,
        balanced: Collection[str] = (),
    ) -> None:
        if not tasks:
            raise ValueError("tasks is empty: give each domain's examples")
        if isinstance(balanced, str):  # a string is a collection of one-letter domains
            raise TypeError(f"balanced must be a collection of domains, got {balanced!r}")
        for domain, examples in tasks.items():
            if not examples:
                raise ValueError(f"domain {domain!r} has no examples")
        if unknown := set(balanced) - set(tasks):
            raise ValueError(
                f"balanced: no domain {', '.join(sorted(unknown))}; have {', '.join(tasks)}"
            )
        for domain in balanced:
            if unlabelled := [ex.id or "?" for ex in tasks[domain] if ex.stratum is None]:
                raise ValueError(
                    f"balanced domain {domain!r}: {len(unlabelled)} examples have no stratum, "
                    f"e.g. {unlabelled[0]}"
                )
        self.tasks = {d: list(ex) for d, ex in tasks.items()}
        self.balanced = frozenset(balanced)
        self.seed = seed
        self.position = dict.fromkeys(self.tasks, 0)
        self._orders: dict[str, tuple[tuple[int, str, int], list[int]]] = {}

    def _order(self, domain: str, epoch: int) -> list[int]:
        # One shuffle per domain and epoch (not per example taken), kept until the next epoch.
        key = (self.seed, domain, epoch)
        if self._orders.get(domain, (None, []))[0] != key:
            rng = random.Random(f"{self.seed}:{domain}:{epoch}")
            order = list(range(len(self.tasks[domain])))
            rng.shuffle(order)
            if domain in self.balanced:
                order = interleave_strata(order, [ex.stratum for ex in self.tasks[domain]], rng)
            self._orders[domain] = (key, order)
        return self._orders[domain][1]

    def take(self, domain: str, k: int) -> list[Example]:
        """The next ``k`` examples of ``domain`` (wrapping into a new epoch as needed)."""
        if domain not in self.tasks:
            raise ValueError(f"unknown domain {domain!r}; known: {', '.join(self.tasks)}")
        size, out = len(self.tasks[domain]), []
        for _ in range(k):
            pos = self.position[domain]
            epoch, i = divmod(pos, size)
            out.append(self.tasks[domain][self._order(domain, epoch)[i]])
            self.position[domain] = pos + 1
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "position": dict(self.position)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        unknown = set(state["position"]) - set(self.tasks)
        if unknown:
            raise ValueError(f"checkpoint has positions for unknown domains {sorted(unknown)}")
        self.seed = int(state["seed"])
        self.position.update({d: int(p) for d, p in state["position"].items()})


def interleave_strata(
    order: Sequence[int], strata: Sequence[str | None], rng: random.Random
) -> list[int]:
    """``order`` (a shuffle of example indices) taken one stratum at a time in turn: the strata
    in a shuffled order, each stratum's indices in their order in ``order``; once a stratum runs
    out the others go on. A permutation of ``order``."""
    queues: dict[str | None, list[int]] = {}
    for i in order:
        queues.setdefault(strata[i], []).append(i)
    turn = sorted(queues, key=str)
    rng.shuffle(turn)
    out: list[int] = []
    depth = 0
    while len(out) < len(order):
        out.extend(queues[s][depth] for s in turn if depth < len(queues[s]))
        depth += 1
    return out
