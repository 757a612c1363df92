"""Advantage estimators: small pure functions over a :class:`StratifiedBatch`, in a registry.

Each estimator maps a batch of ``N`` rewards to ``N`` advantages (Shape: [N] -> [N]) and takes
only plain keyword options. Masked samples are set to 0 by :func:`compute_advantages` whatever
the estimator returns for them, and every statistic here already leaves them out.

Where we depart from a paper, the docstring says so. Notation: ``r`` rewards, ``g(i)`` the group
of sample ``i`` (the completions of one prompt), ``d(i)`` its domain, ``m_g`` a group's mean
reward, ``c_i = r_i - m_g(i)`` the group-centred reward.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

from strata_advantage._ops import Array
from strata_advantage.batch import StratifiedBatch


class Estimator(Protocol):
    """``(batch, **options) -> advantages``; Shape: [N] -> [N]."""

    def __call__(self, batch: StratifiedBatch, /, **options: float) -> Array: ...


_REGISTRY: dict[str, Estimator] = {}
E = TypeVar("E", bound=Callable[..., Array])


def register_estimator(name: str, *, replace: bool = False) -> Callable[[E], E]:
    """Decorator adding an estimator to the registry under ``name``.

    The function takes the batch positionally and its options as keyword-only arguments with
    defaults; :func:`compute_advantages` checks callers' options against that signature.

    Raises:
        ValueError: ``name`` is registered already (pass ``replace=True`` to override on purpose).
        TypeError: ``name`` is not a non-empty string (a number would break every sorted listing).
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"an estimator's name must be a non-empty string, got {name!r}")

    def decorate(fn: E) -> E:
        if name in _REGISTRY and not replace:
            raise ValueError(
                f"an advantage estimator named {name!r} is registered already "
                f"({_REGISTRY[name].__module__}); pass replace=True to override it"
            )
        _REGISTRY[name] = fn
        return fn

    return decorate


def get_estimator(name: str) -> Estimator:
    """The estimator registered as ``name``.

    Raises:
        ValueError: no such estimator; the message lists the registered names.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"estimator {name!r} is not registered; known: {known}") from None


def available_estimators() -> tuple[str, ...]:
    """Registered estimator names, sorted."""
    return tuple(sorted(_REGISTRY))


def estimator_options(name: str) -> dict[str, object]:
    """The options an estimator accepts, with their defaults."""
    params = inspect.signature(get_estimator(name)).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def check_estimator_options(name: str, options: Mapping[str, object]) -> None:
    """Raise ValueError naming the estimator, what it takes and what it does not (or naming the
    registered estimators when ``name`` is not one)."""
    accepted = list(estimator_options(name))
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        takes = ", ".join(accepted) if accepted else "no options"
        raise ValueError(f"estimator {name!r} takes {takes}; got unknown option(s) {unknown}")
    for key, value in options.items():
        # Options are thresholds and scales: a string or bool is a caller's slip, and NaN fails
        # every comparison, so ``low_var = nan`` would pass ``low_var <= 0`` unnoticed.
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"estimator {name!r}: {key} must be a number, got {value!r}")
        if math.isnan(value):
            raise ValueError(f"estimator {name!r}: {key} is nan")


@register_estimator("san")
def san(
    batch: StratifiedBatch,
    /,
    *,
    zero_var: float = 1e-2,
    low_var: float = 5e-2,
    clip: float = 5.0,
) -> Array:
    """Stratified advantage normalisation: group baseline, scale chosen per domain.

    For each domain ``d`` on its own: ``c_i = r_i - m_g(i)``; ``s_d = std(c_i : d(i) = d)``
    (population std); then ``A_i = c_i`` if ``s_d < zero_var`` (nothing to learn: do not blow
    noise up), ``A_i = c_i / low_var`` if ``zero_var <= s_d < low_var`` (damped: a tiny spread is
    scaled as if it were ``low_var``), else ``A_i = c_i / s_d``; finally clip to ``[-clip, clip]``.

    Why: one std over a mixed batch lets an easy, high-variance domain set the scale of a hard
    one; per-group stds (GRPO) blow up near-constant groups. A domain-wide std keeps each
    domain's advantages on unit scale while the group mean keeps the per-prompt baseline.

    Args:
        zero_var: spread under which a domain is only centred.
        low_var: spread under which a domain is damped; must be >= ``zero_var``.
        clip: bound on ``|A|``; > 0.
    """
    if not 0.0 <= zero_var <= low_var:
        raise ValueError(
            f"san needs 0 <= zero_var <= low_var, got zero_var={zero_var}, low_var={low_var}"
        )
    if low_var <= 0.0:
        raise ValueError(f"san needs low_var > 0 (it divides by it), got {low_var}")
    if not clip > 0.0:
        raise ValueError(f"san needs clip > 0, got {clip}")
    ops = batch.ops
    c = batch.group_centred()  # [N]
    spread = batch.domain_spread()  # [D], of c
    scale = ops.where(spread < zero_var, 1.0, ops.where(spread < low_var, low_var, spread))  # [D]
    return ops.clip(c / scale[batch.domain], -clip, clip)


@register_estimator("grpo")
def grpo(batch: StratifiedBatch, /, *, eps: float = 1e-6, ddof: int = 1) -> Array:
    """Group z-score (Shao et al. 2024, DeepSeekMath): ``A_i = c_i / (std_g(i) + eps)``.

    ``ddof=1`` (Bessel) as TRL and verl compute it, so ablations match their numbers. A group of
    one has ``c = 0`` and so advantage 0.
    """
    c = batch.group_centred()
    std = batch.segment_std(c, batch.group, batch.n_groups, ddof=ddof)  # [G]
    return c / (std[batch.group] + eps)


@register_estimator("batch")
def batch_std(batch: StratifiedBatch, /, *, eps: float = 1e-6, ddof: int = 1) -> Array:
    """Group baseline, one std for the whole batch (Liu et al. 2025, "Lite PPO"; TRL's
    ``scale_rewards="batch"``): ``A_i = c_i / (std(r) + eps)``.

    The std is of the raw rewards over every valid sample of the batch, domains mixed: the
    estimator SAN improves on when one domain's spread dwarfs another's.
    """
    everything = batch.group * 0  # one segment
    spread = batch.segment_std(
        batch.segment_centre(batch.rewards, everything, 1), everything, 1, ddof=ddof
    )  # [1]
    return batch.group_centred() / (spread[everything] + eps)


@register_estimator("dr_grpo")
def dr_grpo(batch: StratifiedBatch, /) -> Array:
    """Group baseline only, no scaling (Liu et al. 2025, "Understanding R1-Zero-Like Training",
    Dr. GRPO): ``A_i = c_i``. Removes the difficulty bias that dividing by ``std_g`` adds."""
    return batch.group_centred()


@register_estimator("rloo")
def rloo(batch: StratifiedBatch, /) -> Array:
    """Leave-one-out baseline (Ahmadian et al. 2024, "Back to Basics"; Kool et al. 2019):
    ``A_i = r_i - mean(r_j : j in g(i), j != i) = c_i * n_g / (n_g - 1)``; 0 for a group of one.
    """
    n = batch.segment_count(batch.group, batch.n_groups)[batch.group]  # [N]
    factor = batch.ops.where(n > 1, n / batch.ops.maximum(n - 1, 1.0), 0.0)
    return batch.group_centred() * factor


@register_estimator("domain_pooled")
def domain_pooled(batch: StratifiedBatch, /, *, eps: float = 1e-6, ddof: int = 0) -> Array:
    """Domain mean and std, no per-group baseline: ``A_i = (r_i - mu_d(i)) / (sigma_d(i) + eps)``.

    An ablation of SAN: it keeps the domain stratification but drops the per-prompt baseline, so
    prompt difficulty leaks into the advantage.
    """
    centred = batch.segment_centre(batch.rewards, batch.domain, batch.n_domains)
    std = batch.segment_std(centred, batch.domain, batch.n_domains, ddof=ddof)  # [D]
    return centred / (std[batch.domain] + eps)


@register_estimator("global")
def global_norm(batch: StratifiedBatch, /, *, eps: float = 1e-6, ddof: int = 0) -> Array:
    """Global normalisation, the seed paper's baseline: batch mean and batch std, domains mixed,
    no per-group baseline: ``A_i = (r_i - mean(r)) / (std(r) + eps)`` over every valid sample.

    What SAN's claim is measured against: an easy domain (high rewards) and a hard one (low
    rewards) share one mean, so every sample of the hard domain, right or wrong, can sit below it
    and be pushed down. ``batch`` keeps the group baseline; this does not. On a batch of one
    domain it equals ``domain_pooled``.
    """
    everything = batch.group * 0  # one segment: the whole batch
    centred = batch.segment_centre(batch.rewards, everything, 1)
    std = batch.segment_std(centred, everything, 1, ddof=ddof)  # [1]
    return centred / (std[everything] + eps)
