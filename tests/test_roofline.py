"""benchmarks/grpo_step.py's roofline: decoding is held to the memory its weights take, training
and prefill to the matmul rate, and each row to the roofline of the dtype it runs in (measuring
the rates is the benchmark's work, not the suite's)."""

from __future__ import annotations

import grpo_step  # pytest puts benchmarks/ and experiments/analysis/ on the path
from hypothesis import given
from hypothesis import strategies as st

P = 134_515_008  # SmolLM2-135M's parameters
ROWS = grpo_step.N_PROMPTS * grpo_step.G


def test_decoding_a_small_model_on_a_cpu_is_bound_by_memory_not_matmuls() -> None:
    # 2,000 GFLOP/s bf16 and 24 GB/s (the AMX Xeon's order): reading 269 MB of bf16 weights takes
    # 11 ms a token; its 16 rows' 4.3 GFLOP take 2 ms.
    roof = grpo_step.Roofline(gflops=2000.0, gbps=24.0, params=P, weight_bytes=2)
    prefill = 2 * P * 3008 / grpo_step.G / 2000e9
    assert abs(roof.generation(3008) - (prefill + grpo_step.NEW_TOKENS * P * 2 / 24e9)) < 1e-9
    # The matmul-rate bound prices the same generation at a fraction of that.
    flops = grpo_step.step_flops(0.0, 3008, ROWS * grpo_step.NEW_TOKENS, P)
    assert flops["generation"] / 2000e9 < roof.generation(3008) / 2


@given(st.floats(1.0, 1e4), st.floats(0.1, 1e3), st.sampled_from([2, 4]), st.integers(1, 8192))
def test_each_token_costs_at_least_its_flops_and_its_bytes(
    gflops: float, gbps: float, weight_bytes: int, prompt: int
) -> None:
    roof = grpo_step.Roofline(gflops, gbps, P, weight_bytes)
    per_token = roof.generation(0) / grpo_step.NEW_TOKENS  # no prompt: decoding alone
    assert per_token >= 2 * P * ROWS / (gflops * 1e9) * (1 - 1e-12)
    assert per_token >= P * weight_bytes / (gbps * 1e9) * (1 - 1e-12)
    assert roof.generation(prompt) >= roof.generation(0)


@given(st.floats(1.0, 1e4), st.integers(1, 8192), st.floats(0, 4096))
def test_training_is_the_matmul_bound_and_adds_the_reference_only_when_beta_is_positive(
    gflops: float, prompt: int, completion: float
) -> None:
    roof = grpo_step.Roofline(gflops, 1.0, P, 2)
    without = roof.training(0.0, prompt, completion)
    assert without == 4 * P * (prompt + round(completion)) / (gflops * 1e9)
    with_reference = roof.training(0.04, prompt, completion)
    assert abs(with_reference - 1.5 * without) <= 1e-12 * with_reference


def test_each_row_is_held_to_the_roofline_of_the_dtype_it_runs_in() -> None:
    both = {"fp32": 300.0, "bf16": 2000.0}
    assert grpo_step.row_dtypes("trl", both) == ("fp32", "fp32")
    assert grpo_step.row_dtypes("strata-hf", both) == ("fp32", "fp32")
    assert grpo_step.row_dtypes("strata-vllm-bf16", both) == ("fp32", "bf16")
    assert grpo_step.row_dtypes("strata-vllm-bf16w", both) == ("bf16", "bf16")
    # Without native bf16 no bf16 rate is measured: a bf16 row is held to fp32's.
    assert grpo_step.row_dtypes("strata-hf-bf16w", {"fp32": 300.0}) == ("fp32", "fp32")
