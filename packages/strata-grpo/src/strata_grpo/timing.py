"""Where a step's time goes: seconds a named stage, summed over a step.

On CUDA the clock synchronises the device at each stage's edges, so a stage is charged for its
kernels and not for their launch (a few microseconds a stage; the step already reads back the
gradient norm once an update). On CPU every operation is synchronous and the clock only reads
``time.perf_counter``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

STAGES = ("reference_logprobs", "forward_backward", "optimizer", "weight_sync")
"""The stages a training step times beyond generation (``time/<stage>`` in metrics.jsonl):
the fixed log-probs (log πref with the adapter off, log πold where μ > 1), the μ updates'
forward and backward passes, gradient averaging + clipping + the optimizer's step, and pushing
the updated weights to the rollout engine."""


class StageClock:
    """Accumulates seconds by stage name; a stage entered twice (μ > 1, micro-batches) adds."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if name not in self.seconds:
            raise KeyError(f"unknown stage {name!r}; stages: {', '.join(STAGES)}")
        self._sync()
        start = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self.seconds[name] += time.perf_counter() - start
