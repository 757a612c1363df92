"""The CPU's bf16 kind as oneDNN's kernels may use it: the flags, under the ISA cap a user set."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_rollout import hardware

XEON = frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
ZEN4 = frozenset({"avx2", "avx512f", "avx512_bf16"})
ZEN3 = frozenset({"avx2"})
RANK = {"AMX": 2, "AVX512-BF16": 1, None: 0}


@pytest.fixture
def cpu(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in hardware.ISA_CAP_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _as(monkeypatch: pytest.MonkeyPatch, flags: frozenset[str]) -> None:
    monkeypatch.setattr(hardware, "_cpuinfo", lambda: ("Test CPU", flags))


@pytest.mark.parametrize(
    ("flags", "cap", "kind"),
    [
        (XEON, None, "AMX"),
        (XEON, "AVX512_CORE_AMX", "AMX"),
        (XEON, "all", "AMX"),
        (XEON, "avx512_core_bf16", "AVX512-BF16"),  # the kernels a Zen 4 gets
        (XEON, "AVX512_CORE_VNNI", None),
        (XEON, "AVX2", None),
        (ZEN4, None, "AVX512-BF16"),
        (ZEN4, "AVX512_CORE_AMX", "AVX512-BF16"),  # a cap adds nothing the CPU lacks
        (ZEN4, "AVX2", None),
        (ZEN3, "AVX512_CORE_BF16", None),
    ],
)
def test_the_bf16_kind_is_the_flags_under_the_cap(
    cpu: pytest.MonkeyPatch, flags: frozenset[str], cap: str | None, kind: str | None
) -> None:
    _as(cpu, flags)
    if cap is not None:
        cpu.setenv("ONEDNN_MAX_CPU_ISA", cap)
    assert hardware.cpu_bf16_kind() == kind
    named = f" (oneDNN capped at {cap.upper()})" if cap and cap != "all" else ""
    assert hardware.describe_cpu().endswith(f"{kind or 'no native bf16'}{named}")


def test_the_older_variable_name_caps_too(cpu: pytest.MonkeyPatch) -> None:
    _as(cpu, XEON)
    cpu.setenv("DNNL_MAX_CPU_ISA", "AVX512_CORE_BF16")
    assert hardware.cpu_bf16_kind() == "AVX512-BF16"


@given(cap=st.text(max_size=30), flags=st.sampled_from([XEON, ZEN4, ZEN3]))
def test_no_cap_raises_the_kind_above_the_flags(cap: str, flags: frozenset[str]) -> None:
    """Any string, junk included: a cap only ever lowers what the flags allow."""
    with pytest.MonkeyPatch.context() as mp:
        for name in hardware.ISA_CAP_VARIABLES:
            mp.delenv(name, raising=False)
        _as(mp, flags)
        uncapped = hardware.cpu_bf16_kind()
        if "\x00" not in cap:
            mp.setenv("ONEDNN_MAX_CPU_ISA", cap)
        assert RANK[hardware.cpu_bf16_kind()] <= RANK[uncapped]
