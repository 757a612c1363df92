"""Intervals and paired tests for accuracies over held-out items (pure Python)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion ``k / n`` (``(0, 1)`` when n = 0)."""
    if not 0 <= k <= n:
        raise ValueError(f"wilson needs 0 <= k <= n (k right of n items), got k={k} n={n}")
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # Rounding can put an end a hair inside p (0.9999999999999999 for 84/84): clamp to p.
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def mcnemar_p(before: Sequence[int], after: Sequence[int]) -> float:
    """Two-sided exact McNemar test of two evaluations on the same items: under no change, the
    items right in only one of them are as likely to be right after as before (a binomial
    with p = 1/2 over the discordant pairs). 1.0 where none differ."""
    if len(before) != len(after):
        raise ValueError(f"paired outcomes need the same items: {len(before)} vs {len(after)}")
    for name, outcomes in (("before", before), ("after", after)):
        odd = next((i for i, v in enumerate(outcomes) if v not in (0, 1)), None)
        if odd is not None:  # a 2 (or a score) would count as right and pass unnoticed
            raise ValueError(
                f"mcnemar_p: {name}[{odd}] = {outcomes[odd]!r}; outcomes are 0/1 or bools"
            )
    gained = sum(1 for b, a in zip(before, after, strict=True) if a and not b)
    lost = sum(1 for b, a in zip(before, after, strict=True) if b and not a)
    n, k = gained + lost, min(gained, lost)
    if n == 0:
        return 1.0
    tail: float = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2.0 * tail)
