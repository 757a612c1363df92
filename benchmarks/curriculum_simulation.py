"""Curriculum schedulers on simulated domains: no language model, just learning curves.

Each domain has a skill ``s`` that grows by one per prompt it is trained on and decays by a small
share each step (forgetting); its accuracy is
``start + (ceiling - start) * (1 - exp(-s / tau))``. A step allocates the batch's prompts with the
scheduler, samples G Bernoulli(accuracy) rewards per prompt, feeds them back, and trains. After T
steps we compare schedulers on the weakest domain's accuracy and the mean, over many seeds
(paired: every scheduler sees the same seeds).

    uv run python benchmarks/curriculum_simulation.py                 # the table in the docs
    uv run python benchmarks/curriculum_simulation.py --seeds 20 --steps 100
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from strata_curriculum import (
    DomainScheduler,
    ProportionalScheduler,
    UCBScheduler,
    UniformScheduler,
)


@dataclass(frozen=True)
class Curve:
    start: float
    ceiling: float
    tau: float  # prompts to cover ~63% of the way from start to ceiling

    def accuracy(self, skill: float) -> float:
        return self.start + (self.ceiling - self.start) * (1.0 - math.exp(-skill / self.tau))


DOMAINS = {
    "mastered": Curve(0.90, 0.97, 200.0),  # near ceiling from the start
    "medium": Curve(0.45, 0.85, 500.0),
    "slow": Curve(0.30, 0.90, 1500.0),  # learnable, but slowly
    "hard": Curve(0.05, 0.60, 1000.0),  # weakest: starts near zero
}
# "Proportional" mixes by dataset size, as multi-task recipes often do; the hard set is small.
SIZES = {"mastered": 4.0, "medium": 2.0, "slow": 1.0, "hard": 1.0}


def simulate(
    make: Callable[[int], DomainScheduler],
    seed: int,
    steps: int,
    batch: int,
    group: int,
    forget: float,
) -> tuple[dict[str, float], dict[str, int]]:
    rng = random.Random(seed * 7919 + 1)
    scheduler = make(seed)
    skill = dict.fromkeys(DOMAINS, 0.0)
    prompts = dict.fromkeys(DOMAINS, 0)
    for _ in range(steps):
        mix = scheduler.allocate(batch)
        for d, n in mix.items():
            acc = DOMAINS[d].accuracy(skill[d])
            rewards = [float(rng.random() < acc) for _ in range(n * group)]
            scheduler.update(d, rewards)
        for d in DOMAINS:
            skill[d] = skill[d] * (1.0 - forget) + mix[d]
            prompts[d] += mix[d]
    return {d: DOMAINS[d].accuracy(skill[d]) for d in DOMAINS}, prompts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=16, help="prompts per step")
    parser.add_argument("--group", type=int, default=8, help="samples per prompt")
    parser.add_argument("--forget", type=float, default=0.002, help="skill lost per step")
    args = parser.parse_args()
    names = list(DOMAINS)
    schedulers: dict[str, Callable[[int], DomainScheduler]] = {
        "uniform": lambda s: UniformScheduler(names, seed=s),
        "proportional (by size)": lambda s: ProportionalScheduler(SIZES, seed=s),
        "ucb c=0.5 floor=0.1 sharpness=1": lambda s: UCBScheduler(names, sharpness=1.0, seed=s),
        "ucb c=0 floor=0.1 (greedy)": lambda s: UCBScheduler(names, c=0.0, sharpness=1.0, seed=s),
        "ucb c=2 floor=0.1": lambda s: UCBScheduler(names, c=2.0, sharpness=1.0, seed=s),
        "ucb c=0.5 floor=0": lambda s: UCBScheduler(names, floor=0.0, sharpness=1.0, seed=s),
        "ucb sharpness=2": lambda s: UCBScheduler(names, sharpness=2.0, seed=s),
        "ucb sharpness=4 (default)": lambda s: UCBScheduler(names, seed=s),
        "ucb sharpness=8": lambda s: UCBScheduler(names, sharpness=8.0, seed=s),
    }
    print(
        f"{len(names)} domains, {args.steps} steps x {args.batch} prompts x {args.group} "
        f"samples, forgetting {args.forget}/step, {args.seeds} seeds (mean ± sd)\n"
    )
    header = (
        f"{'scheduler':<31} {'weakest':>13} {'mean':>13} "
        + " ".join(f"{d:>9}" for d in names)
        + "   prompt shares"
    )
    print(header)
    weakest: dict[str, list[float]] = {}
    for label, make in schedulers.items():
        finals, shares = [], []
        for seed in range(args.seeds):
            acc, prompts = simulate(make, seed, args.steps, args.batch, args.group, args.forget)
            finals.append(acc)
            shares.append(prompts)
        weak = [min(a.values()) for a in finals]
        mean = [statistics.fmean(a.values()) for a in finals]
        weakest[label] = weak
        per = " ".join(f"{statistics.fmean(a[d] for a in finals):9.3f}" for d in names)
        total = args.steps * args.batch
        share = "/".join(f"{statistics.fmean(p[d] for p in shares) / total:.2f}" for d in names)
        print(
            f"{label:<31} {statistics.fmean(weak):.3f} ± {statistics.stdev(weak):.3f} "
            f"{statistics.fmean(mean):.3f} ± {statistics.stdev(mean):.3f} {per}   {share}"
        )
    diffs = [
        u - v for u, v in zip(weakest["ucb sharpness=4 (default)"], weakest["uniform"], strict=True)
    ]
    half = 1.96 * statistics.stdev(diffs) / math.sqrt(len(diffs))
    wins = sum(d > 0 for d in diffs)
    print(
        f"\nUCB (default) - uniform on the weakest domain: {statistics.fmean(diffs):+.3f} "
        f"(95% CI ± {half:.3f}, paired over {len(diffs)} seeds; UCB ahead in {wins})"
    )


if __name__ == "__main__":
    main()
