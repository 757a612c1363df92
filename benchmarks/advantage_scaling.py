"""How `compute_advantages` scales with the batch: ns per reward for N = 10^3 … 10^7.

Groups of 8 completions, 10 domains, binary rewards, samples shuffled (groups not contiguous),
integer ids. For each N and backend it times SAN and GRPO (median of repeats) and prints ns per
reward; linear cost shows as a flat ns/reward column. As a floor it also times the reshape-based
group z-score that TRL's GRPOTrainer inlines (`rewards.view(-1, G)`), which only works for equal,
contiguous groups and knows nothing of domains.

    uv run python benchmarks/advantage_scaling.py            # all sizes
    uv run python benchmarks/advantage_scaling.py --max-exp 6
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from strata_advantage import compute_advantages

GROUP, DOMAINS = 8, 10


def make(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = n // GROUP * GROUP
    groups = np.repeat(np.arange(n // GROUP), GROUP)
    domains = groups % DOMAINS
    p = rng.uniform(0.05, 0.95, size=n // GROUP)[groups]  # per-prompt difficulty
    rewards = (rng.uniform(size=n) < p).astype(np.float64)
    order = rng.permutation(n)
    return rewards[order], groups[order], domains[order]


def timed(fn: Callable[[], object], budget_s: float = 1.5) -> float:
    fn()  # warm-up
    runs: list[float] = []
    start = time.perf_counter()
    while len(runs) < 3 or (time.perf_counter() - start < budget_s and len(runs) < 50):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-exp", type=int, default=3)
    parser.add_argument("--max-exp", type=int, default=7)
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(max(1, torch.get_num_threads()))
    except ImportError:
        torch = None  # type: ignore[assignment]

    print(f"{'N':>10} {'backend':>8} {'SAN ns/r':>10} {'GRPO ns/r':>10} {'reshape ns/r':>13}")
    san_ns: dict[str, dict[int, float]] = {}
    floor_ns: dict[int, float] = {}
    for exp in range(args.min_exp, args.max_exp + 1):
        r, g, d = make(10**exp)
        n = r.shape[0]
        backends: list[tuple[str, object, object, object]] = [("numpy", r, g, d)]
        if torch is not None:
            backends.append(("torch", *(torch.from_numpy(x) for x in (r, g, d))))
        for name, rr, gg, dd in backends:
            t_san = timed(partial(compute_advantages, rr, gg, dd))
            t_grpo = timed(partial(compute_advantages, rr, gg, dd, estimator="grpo"))
            base = ""
            if name == "torch":
                floor_ns[n] = timed(partial(reshape_zscore, torch.from_numpy(np.sort(r)))) / n * 1e9
                base = f"{floor_ns[n]:13.1f}"
            san_ns.setdefault(name, {})[n] = t_san / n * 1e9
            print(
                f"{n:>10} {name:>8} {t_san / n * 1e9:10.1f} {t_grpo / n * 1e9:10.1f} {base:>13}",
                flush=True,
            )
    sizes = sorted(floor_ns or san_ns["numpy"])
    if len(sizes) >= 3:
        lo, mid, hi = sizes[-3], sizes[-2], sizes[-1]
        print(f"\nGrowth of ns/reward (1.00 = linear). From N={mid} to N={hi}, and from N={lo}:")
        for name, series in san_ns.items():
            print(
                f"  SAN {name:>5}: x{series[hi] / series[mid]:.2f}   x{series[hi] / series[lo]:.2f}"
            )
        if floor_ns:
            growth = f"x{floor_ns[hi] / floor_ns[mid]:.2f}   x{floor_ns[hi] / floor_ns[lo]:.2f}"
            print(f"  reshape    : {growth}   (one contiguous pass: the cost of leaving the cache)")


def reshape_zscore(contiguous: Any) -> Any:
    """TRL's inline group z-score: equal, contiguous groups only."""
    view = contiguous.view(-1, GROUP)
    return ((view - view.mean(1, keepdim=True)) / (view.std(1, keepdim=True) + 1e-4)).view(-1)


if __name__ == "__main__":
    main()
