"""The public entry point: :func:`compute_advantages`, and per-domain diagnostics."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Literal, overload

from strata_advantage._ops import Array, is_torch_tensor
from strata_advantage.batch import NanPolicy, StratifiedBatch, cast_like, make_batch
from strata_advantage.estimators import check_estimator_options, get_estimator, san

Regime = Literal["centre_only", "damped", "z_norm"]


@dataclass(frozen=True)
class DomainDiagnostics:
    """What one domain looked like in one batch, for a trainer's logs."""

    domain: Any
    """The caller's domain label (``None`` when no domains were given)."""
    n_samples: int
    """Valid (unmasked) samples of the domain."""
    n_masked: int
    """Samples masked for a non-finite reward."""
    n_groups: int
    mean_reward: float
    spread: float
    """Population std of the group-centred rewards: SAN's ``s_d``."""
    zero_variance_group_share: float
    """Share of the domain's groups whose valid rewards are all equal (they carry no signal)."""
    regime: Regime | None
    """The scaling SAN applied (``None`` for other estimators)."""


@dataclass(frozen=True)
class AdvantageResult:
    """Advantages with the per-domain diagnostics of the batch they came from."""

    advantages: Array
    """Shape: [N]; same array type, device and dtype as the rewards."""
    diagnostics: dict[Any, DomainDiagnostics]
    """Keyed by the caller's domain label."""


@overload
def compute_advantages(
    rewards: Any,
    groups: Any,
    domains: Any | None = ...,
    estimator: str = ...,
    *,
    nan_policy: NanPolicy = ...,
    return_diagnostics: Literal[False] = ...,
    **options: float,
) -> Array: ...


@overload
def compute_advantages(
    rewards: Any,
    groups: Any,
    domains: Any | None = ...,
    estimator: str = ...,
    *,
    nan_policy: NanPolicy = ...,
    return_diagnostics: Literal[True],
    **options: float,
) -> AdvantageResult: ...


def compute_advantages(
    rewards: Any,
    groups: Any,
    domains: Any | None = None,
    estimator: str = "san",
    *,
    nan_policy: NanPolicy = "raise",
    return_diagnostics: bool = False,
    **options: float,
) -> Array | AdvantageResult:
    """Advantages for a batch of completions; SAN by default.

    Args:
        rewards: Shape: [N]. One reward per completion: a NumPy array, a torch tensor (any
            device) or a sequence of numbers.
        groups: Shape: [N]. Group id of each completion (completions of one prompt share it):
            integers or strings, array, tensor or list.
        domains: Shape: [N]. Domain of each completion (ints or strings); ``None`` = one domain.
        estimator: a registered estimator name (see :func:`available_estimators`).
        nan_policy: ``"raise"`` on a NaN or infinite reward, or ``"mask"``: such completions get
            advantage 0 and are left out of every mean and std.
        return_diagnostics: also return per-domain :class:`DomainDiagnostics`.
        **options: the estimator's options, e.g. ``zero_var``, ``low_var``, ``clip`` for SAN.

    Returns:
        Advantages, Shape: [N], as the rewards came in (NumPy in, NumPy out; torch in, torch out
        on the same device and dtype; integer rewards give float64 / torch's default dtype); or
        an :class:`AdvantageResult` when ``return_diagnostics`` is set.

    Raises:
        ValueError: bad shapes or lengths, an empty batch, a group spanning two domains, a
            non-finite reward under ``"raise"``, an unknown estimator or option, bad option values.
        TypeError: rewards or ids of an unusable type (ids mixing strings and numbers
            included), an option that is not a number.
    """
    fn = get_estimator(estimator)
    check_estimator_options(estimator, options)
    batch, out_dtype = make_batch(rewards, groups, domains, nan_policy=nan_policy)
    advantages = fn(batch, **options)
    advantages = batch.ops.where(batch.valid, advantages, 0.0)
    advantages = (
        advantages.to(out_dtype)
        if is_torch_tensor(advantages)
        else advantages.astype(out_dtype, copy=False)
    )
    if not return_diagnostics:
        return advantages
    thresholds = _san_thresholds(options) if fn is san else None
    return AdvantageResult(advantages, diagnose(batch, thresholds))


def _san_thresholds(options: dict[str, Any]) -> tuple[float, float]:
    defaults = inspect.signature(san).parameters
    zero_var = options.get("zero_var", defaults["zero_var"].default)
    low_var = options.get("low_var", defaults["low_var"].default)
    return float(zero_var), float(low_var)


def diagnose(
    batch: StratifiedBatch, san_thresholds: tuple[float, float] | None = None
) -> dict[Any, DomainDiagnostics]:
    """Per-domain statistics of a batch; ``san_thresholds=(zero_var, low_var)`` adds SAN's regime.

    Reads a few numbers per domain back to the host (this is for logging, not the hot path).
    """
    ops = batch.ops
    d, n_dom = batch.domain, batch.n_domains
    count = batch.segment_count(d, n_dom)
    masked = ops.segment_sum(1.0 - batch.weight, d, n_dom)
    mean = batch.segment_mean(batch.rewards, d, n_dom)
    spread = batch.domain_spread()  # the estimator's own, when it computed one
    gd = batch.group_domain
    has_valid = batch.segment_count(batch.group, batch.n_groups) > 0
    groups = ops.segment_sum(cast_like(has_valid, batch.rewards), gd, n_dom)
    const_groups = ops.segment_sum(
        cast_like(batch.constant_groups() & has_valid, batch.rewards), gd, n_dom
    )
    rows = [_host(x) for x in (count, masked, mean, spread, groups, const_groups)]
    out: dict[Any, DomainDiagnostics] = {}
    for j, label in enumerate(batch.domain_labels):
        n_s, n_m, m, s, n_g, n_c = (float(r[j]) for r in rows)
        regime: Regime | None = None
        if san_thresholds is not None:
            zero_var, low_var = san_thresholds
            regime = "centre_only" if s < zero_var else "damped" if s < low_var else "z_norm"
        out[label] = DomainDiagnostics(
            domain=label,
            n_samples=round(n_s),
            n_masked=round(n_m),
            n_groups=round(n_g),
            mean_reward=m,
            spread=s,
            zero_variance_group_share=n_c / n_g if n_g else 1.0,
            regime=regime,
        )
    return out


def _host(x: Array) -> list[float]:
    return [float(v) for v in (x.tolist())]
