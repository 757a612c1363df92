"""The learnability probe: is there anything in a domain's sampled answers for GRPO to sharpen?

GRPO on a small model mostly sharpens: it turns the answer a model gives an item most often into
the answer it gives every time. So before training, per domain and on held-out items, at the
training temperature and group size, the probe measures what sharpening could reach (maj@k,
the accuracy of each item's majority answer) against what answering without reading the question
reaches (the best constant answer), and how many groups mix right and wrong answers (the only
groups GRPO learns from). pass@k is reported too, but means little where the answer set is small
(8 samples over A–D find the right letter by chance): the verdict rests on maj@k.

Pure functions of scored samples (no model, no torch): the trainer's ``strata-eval --probe``
samples through a rollout engine and hands the scored samples here; any other sampler can too.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from strata_rewards.stats import wilson

Verdict = Literal["learnable", "prior only", "no signal"]


@dataclass(frozen=True)
class ItemSamples:
    """One held-out item's greedy answer and its ``k`` sampled answers, scored."""

    gold: str
    """The gold answer as text (the key the constant baseline counts)."""
    greedy_correct: bool
    answers: tuple[str | None, ...]
    """Each sample's parsed answer as text, ``None`` where none was read. Shape: [k]."""
    correct: tuple[bool, ...]
    """Each sample's outcome. Shape: [k]."""
    truncated: tuple[bool, ...]
    """Each sample stopped at the token budget. Shape: [k]."""

    def __post_init__(self) -> None:
        k = len(self.answers)
        if k == 0 or len(self.correct) != k or len(self.truncated) != k:
            raise ValueError(
                f"an item needs k >= 1 samples with one answer, outcome and finish each; got "
                f"{len(self.answers)}, {len(self.correct)}, {len(self.truncated)}"
            )


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples of which ``c`` are right: ``1 - C(n-c, k) / C(n, k)``
    (Chen et al., 2021), computed as a product so it stays exact in floats."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - i) / (n - i) for i in range(k))


def majority_correct(answers: Sequence[str | None], correct: Sequence[bool]) -> float:
    """Accuracy of the item's majority answer over its parsed samples: 1 or 0, or the share of
    right answers among those tied for the most votes (the expectation of a fair tie-break, so
    the result does not depend on sample order). 0 where no sample parsed."""
    if len(answers) != len(correct):
        raise ValueError(
            f"majority_correct: {len(answers)} answers but {len(correct)} outcomes (one per sample)"
        )
    votes = Counter(a for a in answers if a is not None)
    if not votes:
        return 0.0
    top = max(votes.values())
    tied = [a for a, v in votes.items() if v == top]
    right = {a for a, ok in zip(answers, correct, strict=True) if ok and a is not None}
    return sum(a in right for a in tied) / len(tied)


def best_constant(golds: Sequence[str]) -> tuple[str, float]:
    """The constant answer that is right most often on these items, and its accuracy (the
    majority gold; ties go to the answer first in sorted order)."""
    if not golds:
        raise ValueError("best_constant needs at least one item")
    counts = Counter(golds)
    answer = min(counts, key=lambda a: (-counts[a], a))
    return answer, counts[answer] / len(golds)


def mean_interval(values: Sequence[float], z: float = 1.96) -> tuple[float, float, float]:
    """Mean of per-item values with a normal-approximation 95 % interval over items (the item
    is the unit): ``(mean, low, high)``; the interval is the point where n < 2."""
    n = len(values)
    if n == 0:
        raise ValueError("mean_interval needs at least one value")
    odd = next((i for i, v in enumerate(values) if not math.isfinite(v)), None)
    if odd is not None:
        raise ValueError(f"mean_interval: values[{odd}] is {values[odd]}, not a finite number")
    mean = sum(values) / n
    if n < 2:
        return mean, mean, mean
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = z * sd / math.sqrt(n)
    return mean, mean - half, mean + half


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class DomainProbe:
    """What the probe found for one domain; every share with its 95 % interval."""

    domain: str
    n: int
    """Held-out items."""
    k: int
    """Samples per item (the training group size)."""
    greedy: Estimate
    sampled: Estimate
    """Mean accuracy of one sample."""
    pass_at_k: Estimate
    maj_at_k: Estimate
    constant_answer: str
    constant: Estimate
    """The best constant answer's accuracy on these items."""
    maj_minus_constant: Estimate
    """maj@k minus the constant's accuracy, paired per item: the verdict's test."""
    mixed: Estimate
    """Share of groups whose samples are neither all right nor all wrong."""
    parse_rate: Estimate
    """Share of samples an answer was read from."""
    truncation: Estimate
    """Share of samples cut at the token budget."""
    verdict: Verdict
    reason: str


@dataclass(frozen=True)
class Thresholds:
    """When a domain counts as learnable."""

    margin: float = 0.10
    """maj@k must beat the best constant by at least this much (point estimate), and the paired
    interval of the difference must lie above 0."""
    min_mixed: float = 0.3
    """Share of mixed groups at least this: fewer leaves GRPO little to learn from."""
    no_signal_mixed: float = 0.05
    """Below this share of mixed groups the domain has no signal at all."""


def summarise(
    domain: str, items: Sequence[ItemSamples], thresholds: Thresholds = Thresholds()
) -> DomainProbe:
    """The probe's figures and verdict for one domain's scored items."""
    if not items:
        raise ValueError(f"{domain}: the probe needs at least one item")
    n, k = len(items), len(items[0].answers)
    if any(len(it.answers) != k for it in items):
        raise ValueError(f"{domain}: every item needs the same number of samples")
    answer, _ = best_constant([it.gold for it in items])
    constant_hits = [float(it.gold == answer) for it in items]
    maj = [majority_correct(it.answers, it.correct) for it in items]
    rights = [sum(it.correct) for it in items]

    def share(hits: int, total: int) -> Estimate:
        low, high = wilson(hits, total)
        return Estimate(hits / total, low, high)

    def mean(values: Sequence[float]) -> Estimate:
        return Estimate(*mean_interval(values))

    mixed = share(sum(0 < r < k for r in rights), n)
    difference = mean([m - c for m, c in zip(maj, constant_hits, strict=True)])
    verdict, reason = _verdict(difference, mixed, thresholds)
    return DomainProbe(
        domain=domain,
        n=n,
        k=k,
        greedy=share(sum(it.greedy_correct for it in items), n),
        sampled=mean([r / k for r in rights]),
        pass_at_k=mean([pass_at_k(k, r, k) for r in rights]),
        maj_at_k=mean(maj),
        constant_answer=answer,
        constant=share(int(sum(constant_hits)), n),
        maj_minus_constant=difference,
        mixed=mixed,
        parse_rate=share(sum(a is not None for it in items for a in it.answers), n * k),
        truncation=share(sum(t for it in items for t in it.truncated), n * k),
        verdict=verdict,
        reason=reason,
    )


def _verdict(difference: Estimate, mixed: Estimate, t: Thresholds) -> tuple[Verdict, str]:
    if mixed.value < t.no_signal_mixed:
        return "no signal", f"only {mixed.value:.2f} of groups mixed: nothing to compare"
    beats = difference.value >= t.margin and difference.low > 0
    if beats and mixed.value >= t.min_mixed:
        return "learnable", (
            f"maj@k beats the best constant by {difference.value:+.2f} "
            f"[{difference.low:+.2f}, {difference.high:+.2f}], {mixed.value:.2f} of groups mixed"
        )
    if beats:
        return "prior only", (
            f"maj@k beats the constant ({difference.value:+.2f}) but only {mixed.value:.2f} of "
            f"groups are mixed (< {t.min_mixed})"
        )
    return "prior only", (
        f"maj@k - best constant = {difference.value:+.2f} [{difference.low:+.2f}, "
        f"{difference.high:+.2f}]: sampled answers no better than a constant by the "
        f"{t.margin:.2f} margin"
    )


def table(probes: Sequence[DomainProbe]) -> str:
    """The probe's Markdown table, one row a domain, then one verdict line a domain."""

    def cell(e: Estimate) -> str:
        return f"{e.value:.2f} [{e.low:.2f}, {e.high:.2f}]"

    lines = [
        "| domain | n × k | greedy | sampled | pass@k | maj@k | best constant | maj@k − const |"
        " mixed groups | parse rate | truncated |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in probes:
        lines.append(
            f"| {p.domain} | {p.n} × {p.k} | {cell(p.greedy)} | {cell(p.sampled)} | "
            f"{cell(p.pass_at_k)} | {cell(p.maj_at_k)} | {cell(p.constant)} "
            f"({p.constant_answer[:12]}) | {cell(p.maj_minus_constant)} | {cell(p.mixed)} | "
            f"{p.parse_rate.value:.2f} | {p.truncation.value:.2f} |"
        )
    lines.append("")
    lines += [f"- **{p.domain}: {p.verdict}** — {p.reason}" for p in probes]
    return "\n".join(lines) + "\n"
