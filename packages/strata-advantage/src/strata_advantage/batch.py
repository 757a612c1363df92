"""A validated batch of rewards with dense group and domain ids: what every estimator receives.

:func:`make_batch` turns user input (NumPy arrays, torch tensors, lists; integer or string ids)
into a :class:`StratifiedBatch`: rewards in a floating working dtype, ids remapped to
``0..n-1`` on the rewards' device, a validity mask for non-finite rewards, and checks with
errors that name the offending argument and position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np

from strata_advantage._ops import Array, ArrayOps, NumpyOps, TorchOps, is_torch_tensor

NanPolicy = Literal["raise", "mask"]

# Integer ids spanning at most this many values per sample are remapped by a dense table (O(N));
# sparser ids fall back to a sort (O(N log N)).
_DENSE_SPAN_PER_SAMPLE = 4


@dataclass(frozen=True)
class StratifiedBatch:
    """Rewards with their group and domain membership, ready for an estimator.

    All arrays live on one backend and device. ``N`` samples, ``G`` groups, ``D`` domains.
    Masked samples (non-finite rewards under ``nan_policy="mask"``) have ``valid`` False, a
    reward of 0 and a weight of 0: every statistic below leaves them out.
    """

    rewards: Array
    """Shape: [N], floating working dtype (float32 or float64); 0 where masked."""
    valid: Array
    """Shape: [N], bool; False for masked samples."""
    group: Array
    """Shape: [N], int64 in [0, G)."""
    domain: Array
    """Shape: [N], int64 in [0, D)."""
    group_domain: Array
    """Shape: [G], int64: the domain of each group (a group never spans domains)."""
    n_groups: int
    n_domains: int
    domain_labels: tuple[Any, ...]
    """The caller's domain label for each dense domain id (``None`` labels one implicit domain)."""
    ops: ArrayOps = field(repr=False)
    all_valid: bool = True
    """No sample is masked: the weight multiplications can be skipped."""

    @cached_property
    def weight(self) -> Array:
        """Shape: [N]; 1.0 for valid samples, 0.0 for masked ones, in the working dtype."""
        return cast_like(self.valid, self.rewards)

    @cached_property
    def group_count(self) -> Array:
        """Shape: [G]; valid samples per group."""
        return self.segment_count(self.group, self.n_groups)

    @cached_property
    def domain_count(self) -> Array:
        """Shape: [D]; valid samples per domain."""
        return self.segment_count(self.domain, self.n_domains)

    def _masked(self, values: Array) -> Array:
        return values if self.all_valid else values * self.weight

    def segment_count(self, ids: Array, n: int) -> Array:
        """Shape: [n]; valid samples per segment."""
        return self.ops.segment_sum(self.weight, ids, n)

    def _count(self, ids: Array, n: int) -> Array:
        if ids is self.group:
            return self.group_count
        if ids is self.domain:
            return self.domain_count
        return self.segment_count(ids, n)

    def segment_mean(self, values: Array, ids: Array, n: int) -> Array:
        """Shape: [n]; mean of ``values`` over each segment's valid samples (0 if none)."""
        total = self.ops.segment_sum(self._masked(values), ids, n)
        return total / self.ops.maximum(self._count(ids, n), 1.0)

    def segment_centre(self, values: Array, ids: Array, n: int) -> Array:
        """Shape: [N]; ``values`` minus the mean of their segment, 0 where masked.

        The mean is taken of values shifted by the segment's minimum, so a constant segment
        centres to exact zeros (a plain mean of 0.1, 0.1, 0.1 is not exactly 0.1).
        """
        ops = self.ops
        masked_inf = values if self.all_valid else ops.where(self.valid, values, float("inf"))
        pivot = ops.segment_min(masked_inf, ids, n)
        if not self.all_valid:
            pivot = ops.where(ops.isfinite(pivot), pivot, 0.0)  # segments with no valid sample
        shifted = self._masked(values - pivot[ids])
        return self._masked(shifted - self.segment_mean(shifted, ids, n)[ids])

    def segment_std(self, centred: Array, ids: Array, n: int, ddof: int = 0) -> Array:
        """Shape: [n]; std of already-centred values per segment, ``ddof`` as NumPy's.

        A segment with no more than ``ddof`` valid samples gets 0.
        """
        ss = self.ops.segment_sum(self._masked(centred * centred), ids, n)
        dof = self.ops.maximum(self._count(ids, n) - ddof, 1.0)
        return self.ops.sqrt(ss / dof)

    def group_centred(self) -> Array:
        """Shape: [N]; ``c_i = r_i - mean(r_j : j in group(i))`` over valid samples.

        Computed once per batch (the estimator and the diagnostics both read it): treat the
        result as read-only."""
        return self._group_centred

    @cached_property
    def _group_centred(self) -> Array:
        return self.segment_centre(self.rewards, self.group, self.n_groups)

    def domain_spread(self, group_centred: Array | None = None) -> Array:
        """Shape: [N] -> [D]; SAN's ``s_d``, the population std of ``c`` over each domain
        (default: this batch's own :meth:`group_centred`, computed once).

        ``c`` sums to zero within every group, hence within every domain: its mean is 0 and is
        not subtracted again.
        """
        if group_centred is None:
            return self._domain_spread
        return self.segment_std(group_centred, self.domain, self.n_domains)

    @cached_property
    def _domain_spread(self) -> Array:
        return self.segment_std(self._group_centred, self.domain, self.n_domains)

    def constant_groups(self) -> Array:
        """Shape: [G], bool; True where every valid reward of the group is equal (or none)."""
        ops = self.ops
        lo = ops.segment_min(
            ops.where(self.valid, self.rewards, float("inf")), self.group, self.n_groups
        )
        hi = ops.segment_max(
            ops.where(self.valid, self.rewards, float("-inf")), self.group, self.n_groups
        )
        return ops.where(ops.isfinite(lo), lo == hi, True)


def cast_like(x: Array, like: Array) -> Array:
    """``x`` (bool or number) in ``like``'s dtype, either backend."""
    return x.to(like.dtype) if is_torch_tensor(x) else x.astype(like.dtype)


def _as_rewards(rewards: Any) -> tuple[Array, ArrayOps, Any]:
    """Return (working array, ops, output dtype)."""
    if is_torch_tensor(rewards):
        import torch

        ops: ArrayOps = TorchOps()
        if rewards.dtype in (torch.float64, torch.float32):
            return rewards, ops, rewards.dtype
        if rewards.is_floating_point():  # half types: compute in float32, return as given
            return rewards.to(torch.float32), ops, rewards.dtype
        if rewards.is_complex():
            raise TypeError(f"rewards must be real numbers, got a {rewards.dtype} tensor")
        out = torch.get_default_dtype()
        return rewards.to(out), ops, out
    arr = np.asarray(rewards)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"rewards must be real numbers, got an array of dtype {arr.dtype}")
    if arr.dtype in (np.float32, np.float64):
        return arr, NumpyOps(), arr.dtype
    if arr.dtype.kind == "f":
        return arr.astype(np.float32), NumpyOps(), arr.dtype
    return arr.astype(np.float64), NumpyOps(), np.dtype(np.float64)


def _dense_ids(
    ids: Any, name: str, n: int, like: Array, *, labels: bool = True
) -> tuple[Array, int, tuple[Any, ...]]:
    """Remap ids to int64 ``0..k-1`` on ``like``'s backend and device.

    Returns (dense ids [N], k, labels) where ``labels[j]`` is the caller's id mapped to ``j``
    (an empty tuple unless ``labels``: a million group labels as Python objects cost more than
    the whole estimator).
    """
    torch_out = is_torch_tensor(like)
    if is_torch_tensor(ids):
        if ids.is_floating_point() or ids.is_complex():
            raise TypeError(f"{name} must hold integer ids or strings, got a {ids.dtype} tensor")
        if torch_out:
            return _dense_int_ids_torch(ids.reshape(-1).to(like.device), name, n, labels)
        ids = ids.detach().cpu().numpy()
    arr = np.asarray(ids)
    if arr.dtype.kind == "U" and not isinstance(ids, np.ndarray):
        _check_one_id_type(ids, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries but rewards has {n}")
    if arr.dtype.kind in "biu":
        dense, k, names = _dense_int_ids_numpy(arr.astype(np.int64, copy=False), labels)
    elif arr.dtype.kind in "USO":
        try:
            uniq, inverse = np.unique(arr, return_inverse=True)
        except TypeError as err:  # mixed, unorderable types in an object array
            raise TypeError(f"{name} mixes id types that cannot be compared: {err}") from None
        dense, k = inverse.reshape(-1).astype(np.int64), len(uniq)
        names = tuple(uniq.tolist()) if labels else ()
    else:
        raise TypeError(f"{name} must hold integer ids or strings, got dtype {arr.dtype}")
    if torch_out:
        import torch

        return torch.as_tensor(dense, device=like.device), k, names
    return dense, k, names


def _check_one_id_type(ids: Any, name: str) -> None:
    """NumPy turns ``[0, "0"]`` into two equal strings: refuse ids of mixed types instead of
    merging distinct groups in silence."""
    odd = next((i for i, v in enumerate(ids) if not isinstance(v, str)), None)
    if odd is not None:
        raise TypeError(
            f"{name} mixes strings with {type(ids[odd]).__name__} ids ({name}[{odd}] = "
            f"{ids[odd]!r}); NumPy would compare them as strings, so 0 and '0' would be one id"
        )


def _dense_int_ids_numpy(
    ids: np.ndarray, want_labels: bool
) -> tuple[np.ndarray, int, tuple[Any, ...]]:
    lo, hi = int(ids.min()), int(ids.max())
    span = hi - lo + 1
    if span <= _DENSE_SPAN_PER_SAMPLE * ids.shape[0] + 1024:
        present = np.zeros(span, dtype=bool)
        present[ids - lo] = True
        remap = np.cumsum(present) - 1
        k = int(remap[-1]) + 1
        labels = tuple((np.flatnonzero(present) + lo).tolist()) if want_labels else ()
        return remap[ids - lo], k, labels
    uniq, inverse = np.unique(ids, return_inverse=True)
    return inverse.reshape(-1), len(uniq), tuple(uniq.tolist()) if want_labels else ()


def _dense_int_ids_torch(
    ids: Array, name: str, n: int, want_labels: bool
) -> tuple[Array, int, tuple[Any, ...]]:
    import torch

    if ids.shape[0] != n:
        raise ValueError(f"{name} has {ids.shape[0]} entries but rewards has {n}")
    ids = ids.to(torch.int64)
    lo, hi = int(ids.min()), int(ids.max())
    span = hi - lo + 1
    if span <= _DENSE_SPAN_PER_SAMPLE * n + 1024:
        present = torch.zeros(span, dtype=torch.bool, device=ids.device)
        present[ids - lo] = True
        remap = torch.cumsum(present, 0) - 1
        k = int(remap[-1]) + 1
        labels = tuple((present.nonzero().flatten() + lo).tolist()) if want_labels else ()
        return remap[ids - lo], k, labels
    uniq, inverse = torch.unique(ids, return_inverse=True)
    return inverse, int(uniq.shape[0]), tuple(uniq.tolist()) if want_labels else ()


def make_batch(
    rewards: Any,
    groups: Any,
    domains: Any | None = None,
    *,
    nan_policy: NanPolicy = "raise",
) -> tuple[StratifiedBatch, Any]:
    """Validate the caller's arrays and build a :class:`StratifiedBatch`.

    Returns the batch and the dtype the advantages must be returned in.

    Raises:
        ValueError: empty batch, wrong dimension, mismatched lengths, a group spanning two
            domains, a non-finite reward under ``nan_policy="raise"``, an unknown policy.
        TypeError: rewards that are not real numbers, ids that are neither ints nor strings.
    """
    if nan_policy not in ("raise", "mask"):
        raise ValueError(f"nan_policy must be 'raise' or 'mask', got {nan_policy!r}")
    if isinstance(rewards, Sequence) and not isinstance(rewards, str | bytes):
        rewards = list(rewards)
    values, ops, out_dtype = _as_rewards(rewards)
    if values.ndim != 1:
        raise ValueError(f"rewards must be one-dimensional, got shape {tuple(values.shape)}")
    n = int(values.shape[0])
    if n == 0:
        raise ValueError("rewards is empty: there is nothing to normalise")

    group, n_groups, _ = _dense_ids(groups, "groups", n, values, labels=False)
    if domains is None:
        domain = group * 0
        n_domains, domain_labels = 1, (None,)
    else:
        domain, n_domains, domain_labels = _dense_ids(domains, "domains", n, values)

    finite = ops.isfinite(values)
    all_valid = bool(finite.all())
    if not all_valid:
        if nan_policy == "raise":
            bad = int(np.flatnonzero(~_to_numpy(finite))[0])
            raise ValueError(
                f"rewards[{bad}] is {float(values[bad])}: non-finite rewards have no advantage; "
                "pass nan_policy='mask' to give them advantage 0 and leave them out of every "
                "statistic"
            )
        values = ops.where(finite, values, 0.0)

    # Each group belongs to one domain: scatter any member's domain, then check all agree.
    group_domain = domain[:n_groups] * 0
    group_domain[group] = domain
    disagree = group_domain[group] != domain
    if bool(disagree.any()):
        i = int(np.flatnonzero(_to_numpy(disagree))[0])
        raise ValueError(
            f"groups: the group of sample {i} spans several domains "
            f"(sample {i} is in domain {_label(domains, i)}); the completions of one prompt "
            "must share its domain"
        )
    batch = StratifiedBatch(
        rewards=values,
        valid=finite,
        group=group,
        domain=domain,
        group_domain=group_domain,
        n_groups=n_groups,
        n_domains=n_domains,
        domain_labels=domain_labels,
        ops=ops,
        all_valid=all_valid,
    )
    return batch, out_dtype


def _to_numpy(x: Array) -> np.ndarray:
    return x.detach().cpu().numpy() if is_torch_tensor(x) else np.asarray(x)


def _label(ids: Any, i: int) -> Any:
    value = ids[i]
    return value.item() if hasattr(value, "item") else value
