"""The few array operations the estimators need, for NumPy and for torch.

Estimators are written once against :class:`ArrayOps`; each backend keeps its arrays where they
are (a CUDA tensor never visits the host). Every operation is O(N): segment reductions are
`bincount`/`index_add_`/`scatter_reduce_`, never a Python loop over samples.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

Array = Any
"""A 1-D ``numpy.ndarray`` or ``torch.Tensor``; typed loosely because the two share no protocol."""


class ArrayOps(Protocol):
    """Operations over 1-D arrays of one backend. ``ids`` are int64 in ``[0, n)``."""

    name: str

    def segment_sum(self, values: Array, ids: Array, n: int) -> Array:
        """Shape: values [N], ids [N] -> [n]; the sum of ``values`` per id (0 where empty)."""
        ...

    def segment_min(self, values: Array, ids: Array, n: int) -> Array:
        """Shape: [N], [N] -> [n]; the minimum per id (+inf where empty)."""
        ...

    def segment_max(self, values: Array, ids: Array, n: int) -> Array:
        """Shape: [N], [N] -> [n]; the maximum per id (-inf where empty)."""
        ...

    def where(self, cond: Array, a: Array | float, b: Array | float) -> Array: ...

    def sqrt(self, x: Array) -> Array: ...

    def clip(self, x: Array, lo: float, hi: float) -> Array: ...

    def isfinite(self, x: Array) -> Array: ...

    def maximum(self, x: Array, value: float) -> Array: ...


class NumpyOps:
    name = "numpy"

    def segment_sum(self, values: Array, ids: Array, n: int) -> Array:
        # bincount accumulates in float64 whatever the input; cast back to the working dtype.
        return np.bincount(ids, weights=values, minlength=n).astype(values.dtype, copy=False)

    def segment_min(self, values: Array, ids: Array, n: int) -> Array:
        out = np.full(n, np.inf, dtype=values.dtype)
        np.minimum.at(out, ids, values)
        return out

    def segment_max(self, values: Array, ids: Array, n: int) -> Array:
        out = np.full(n, -np.inf, dtype=values.dtype)
        np.maximum.at(out, ids, values)
        return out

    def where(self, cond: Array, a: Array | float, b: Array | float) -> Array:
        return np.where(cond, a, b)

    def sqrt(self, x: Array) -> Array:
        return np.sqrt(x)

    def clip(self, x: Array, lo: float, hi: float) -> Array:
        return np.clip(x, lo, hi)

    def isfinite(self, x: Array) -> Array:
        return np.isfinite(x)

    def maximum(self, x: Array, value: float) -> Array:
        return np.maximum(x, value)


class TorchOps:
    name = "torch"

    def __init__(self) -> None:
        import torch

        self._torch = torch

    def segment_sum(self, values: Array, ids: Array, n: int) -> Array:
        out = self._torch.zeros(n, dtype=values.dtype, device=values.device)
        return out.index_add_(0, ids, values)

    def _segment_reduce(self, values: Array, ids: Array, n: int, fill: float, how: str) -> Array:
        out = self._torch.full((n,), fill, dtype=values.dtype, device=values.device)
        return out.scatter_reduce_(0, ids, values, reduce=how, include_self=True)

    def segment_min(self, values: Array, ids: Array, n: int) -> Array:
        return self._segment_reduce(values, ids, n, float("inf"), "amin")

    def segment_max(self, values: Array, ids: Array, n: int) -> Array:
        return self._segment_reduce(values, ids, n, float("-inf"), "amax")

    def where(self, cond: Array, a: Array | float, b: Array | float) -> Array:
        return self._torch.where(cond, a, b)

    def sqrt(self, x: Array) -> Array:
        return self._torch.sqrt(x)

    def clip(self, x: Array, lo: float, hi: float) -> Array:
        return self._torch.clamp(x, lo, hi)

    def isfinite(self, x: Array) -> Array:
        return self._torch.isfinite(x)

    def maximum(self, x: Array, value: float) -> Array:
        return self._torch.clamp(x, min=value)


def is_torch_tensor(x: object) -> bool:
    """True for a ``torch.Tensor``, without importing torch when the caller never did."""
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)
