"""The CPU description timings are reported beside, and the bf16 decision it drives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from strata_grpo import describe_cpu, has_native_bf16
from strata_grpo.hardware import cpu_bf16_kind
from strata_rollout.hardware import ISA_CAP_VARIABLES


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="needs Linux's /proc/cpuinfo")
def test_the_bf16_kind_follows_the_cpu_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ISA_CAP_VARIABLES:  # a cap lowers the kind: tested in strata-rollout
        monkeypatch.delenv(name, raising=False)
    flags = next(
        ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")
    )
    expected = "AMX" if "amx_bf16" in flags else "AVX512-BF16" if "avx512_bf16" in flags else None
    assert cpu_bf16_kind() == expected
    assert has_native_bf16(torch.device("cpu")) is (expected is not None)
    assert describe_cpu().endswith(f", {os.cpu_count()} cores, {expected or 'no native bf16'}")


def test_devices_without_bf16_matmuls_say_no() -> None:
    assert has_native_bf16(torch.device("meta")) is False
