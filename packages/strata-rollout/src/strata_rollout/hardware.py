"""What the processor can do, read once from ``/proc/cpuinfo``: whether bf16 matmuls are native
(AVX512-BF16 or AMX run them ~2-4x faster than fp32; measured 957 vs 224 GFLOP/s on this
project's 2-core machines) and the one-line name that timings are reported beside."""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path


@functools.cache
def _cpuinfo() -> tuple[str, frozenset[str]]:
    """(model name, flags) of the first processor; ("", {}) where /proc/cpuinfo is missing."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "", frozenset()
    name = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "")
    flags = next((ln.split(":", 1)[1].split() for ln in lines if ln.startswith("flags")), [])
    return name, frozenset(flags)


ISA_CAP_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")
"""oneDNN's cap on the instruction sets its kernels (torch's CPU bf16 matmuls among them) may
use; ``DNNL_`` is the older name."""


def onednn_isa_cap() -> str | None:
    """The cap set in the environment, upper-cased (``"AVX512_CORE_BF16"``), or None."""
    for name in ISA_CAP_VARIABLES:
        value = os.environ.get(name, "").strip().upper()
        if value and value not in ("ALL", "DEFAULT"):
            return value
    return None


def cpu_bf16_kind() -> str | None:
    """``"AMX"``, ``"AVX512-BF16"`` or None: the CPU's native bf16 matmul, the faster first,
    as far as oneDNN's ISA cap (:func:`onednn_isa_cap`) lets its kernels use it: a Xeon capped
    at ``AVX512_CORE_BF16`` runs the kernels an AMD Zen 4 gets, and ``AVX2`` leaves no bf16
    units (then bf16 is emulated, ~75x slower)."""
    flags = _cpuinfo()[1]
    kind = "AMX" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else None
    cap = onednn_isa_cap()
    if cap is None or kind is None or "AMX" in cap:
        return kind
    bf16_isas = ("AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX10")  # the caps that keep bf16
    return "AVX512-BF16" if cap.startswith(bf16_isas) else None


def describe_cpu() -> str:
    """``"AMD EPYC, 2 cores, AVX512-BF16"``: the processor as timings name it (the same GRPO
    step differs by half between AMX and AVX512-BF16 machines); a oneDNN ISA cap is named
    (``"…, AVX512-BF16 (oneDNN capped at AVX512_CORE_BF16)"``)."""
    name = _cpuinfo()[0] or platform.processor() or "unknown CPU"
    cap = onednn_isa_cap()
    capped = f" (oneDNN capped at {cap})" if cap else ""
    return f"{name}, {os.cpu_count()} cores, {cpu_bf16_kind() or 'no native bf16'}{capped}"
