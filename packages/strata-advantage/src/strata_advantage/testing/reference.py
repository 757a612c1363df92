"""Slow, obviously-correct loop implementations of every built-in estimator: the oracle the
vectorised code is tested against. One Python loop per statistic, ``math.fsum`` for sums.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence


def _mean(xs: Sequence[float]) -> float:
    return math.fsum(xs) / len(xs) if xs else 0.0


def _std(xs: Sequence[float], ddof: int = 0) -> float:
    if len(xs) <= ddof:
        return 0.0
    m = _mean(xs)
    return math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (len(xs) - ddof))


def _members(keys: Sequence[Hashable]) -> dict[Hashable, list[int]]:
    out: dict[Hashable, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        out[k].append(i)
    return out


def group_centred(rewards: Sequence[float], groups: Sequence[Hashable]) -> list[float]:
    c = [0.0] * len(rewards)
    for idx in _members(groups).values():
        m = _mean([rewards[i] for i in idx])
        for i in idx:
            c[i] = rewards[i] - m
    return c


def san_spreads(
    rewards: Sequence[float], groups: Sequence[Hashable], domains: Sequence[Hashable]
) -> dict[Hashable, float]:
    """SAN's ``s_d`` per domain label."""
    c = group_centred(rewards, groups)
    return {d: _std([c[i] for i in idx]) for d, idx in _members(domains).items()}


def reference_advantages(
    estimator: str,
    rewards: Sequence[float],
    groups: Sequence[Hashable],
    domains: Sequence[Hashable] | None = None,
    **options: float,
) -> list[float]:
    """Advantages of ``estimator`` computed by plain loops (no masking: pass finite rewards)."""
    n = len(rewards)
    domains = domains if domains is not None else [0] * n
    c = group_centred(rewards, groups)
    out = [0.0] * n
    if estimator == "san":
        zero_var = options.get("zero_var", 1e-2)
        low_var = options.get("low_var", 5e-2)
        clip = options.get("clip", 5.0)
        for idx in _members(domains).values():
            s = _std([c[i] for i in idx])
            scale = 1.0 if s < zero_var else low_var if s < low_var else s
            for i in idx:
                out[i] = max(-clip, min(clip, c[i] / scale))
    elif estimator == "grpo":
        eps, ddof = options.get("eps", 1e-6), int(options.get("ddof", 1))
        for idx in _members(groups).values():
            s = _std([rewards[i] for i in idx], ddof)
            for i in idx:
                out[i] = c[i] / (s + eps)
    elif estimator == "batch":
        eps, ddof = options.get("eps", 1e-6), int(options.get("ddof", 1))
        s = _std(list(rewards), ddof)
        out = [ci / (s + eps) for ci in c]
    elif estimator == "dr_grpo":
        out = c
    elif estimator == "rloo":
        for idx in _members(groups).values():
            for i in idx:
                others = [rewards[j] for j in idx if j != i]
                out[i] = rewards[i] - _mean(others) if others else 0.0
    elif estimator == "domain_pooled":
        eps, ddof = options.get("eps", 1e-6), int(options.get("ddof", 0))
        for idx in _members(domains).values():
            xs = [rewards[i] for i in idx]
            m, s = _mean(xs), _std(xs, ddof)
            for i in idx:
                out[i] = (rewards[i] - m) / (s + eps)
    elif estimator == "global":
        eps, ddof = options.get("eps", 1e-6), int(options.get("ddof", 0))
        m, s = _mean(list(rewards)), _std(list(rewards), ddof)
        out = [(r - m) / (s + eps) for r in rewards]
    else:
        raise ValueError(f"no reference for estimator {estimator!r}")
    return out
