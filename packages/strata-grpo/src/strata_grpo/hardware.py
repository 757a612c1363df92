"""What the device can do: whether bf16 matmuls are native, and the processor's one-line name
(both read by strata-rollout, which picks its attention's precision from the same flags)."""

from __future__ import annotations

import torch

from strata_rollout.hardware import cpu_bf16_kind, describe_cpu

__all__ = ["autocast_dtype", "cpu_bf16_kind", "describe_cpu", "has_native_bf16"]


def has_native_bf16(device: torch.device) -> bool:
    """CUDA with bf16 support, or a CPU with AVX512-BF16 or AMX."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return device.type == "cpu" and cpu_bf16_kind() is not None


def autocast_dtype(bf16: str, device: torch.device) -> torch.dtype | None:
    """The dtype a trainer with ``GRPOConfig.bf16 = bf16`` ("on", "off", "auto": on where the
    device has native bf16) autocasts its passes to on ``device``; None: none."""
    if bf16 == "on" or (bf16 == "auto" and has_native_bf16(device)):
        return torch.bfloat16
    return None
