"""Sampling temperature over training: the noise-annealing knob.

``temperature(step)`` goes from ``start`` at step 0 to ``end`` at ``steps`` (and stays there),
constantly, linearly, or along a half cosine (flat at both ends).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class TemperatureSchedule:
    """Sampling temperature as a function of the training step."""

    start: float = 1.0
    """Temperature at step 0."""
    end: float = 1.0
    """Temperature from step ``steps`` on."""
    steps: int = 1
    """Steps over which it moves from ``start`` to ``end``."""
    kind: Literal["constant", "linear", "cosine"] = "constant"
    """``constant`` stays at ``start``."""

    def __post_init__(self) -> None:
        if not (0 <= self.start < math.inf and 0 <= self.end < math.inf):  # also NaN
            raise ValueError(
                f"temperatures must be finite and >= 0, got start={self.start}, end={self.end}"
            )
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if self.kind not in ("constant", "linear", "cosine"):
            raise ValueError(f"kind must be constant, linear or cosine, got {self.kind!r}")

    def __call__(self, step: int) -> float:
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        if self.kind == "constant":
            return self.start
        progress = min(step / self.steps, 1.0)
        if self.kind == "cosine":
            progress = (1 - math.cos(math.pi * progress)) / 2
        return self.start + (self.end - self.start) * progress
