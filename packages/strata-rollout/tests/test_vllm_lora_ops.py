"""strata_rollout.vllm_lora_ops equals the per-token LoRA products it replaces: against a
reference written as vLLM 0.32's CPU ops compute (a copy of each token's adapter, an einsum),
everywhere; against vLLM's own ops and on a running engine where vLLM imports."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from strata_rollout import vllm_lora_ops as grouped

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass
class Case:
    inputs: torch.Tensor  # [N, in]
    weights: torch.Tensor  # [slots, out, in] or [slots, 1, out, in]
    lengths: torch.Tensor  # [S]: tokens of each sequence, summing to N
    seq_slots: torch.Tensor  # [S]: each sequence's slot, -1 for none
    output: torch.Tensor  # [N, width]
    add_inputs: bool

    @property
    def rows(self) -> torch.Tensor:  # [N]: each token's slot
        return torch.repeat_interleave(self.seq_slots, self.lengths)


@st.composite
def cases(draw: Any) -> Case:
    slots = draw(st.integers(1, 3))
    lengths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    n_in, n_out, extra = draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.integers(0, 2))
    seed = draw(st.integers(0, 2**16))
    weight_dtype = DTYPES[draw(st.sampled_from(list(DTYPES)))]
    out_dtype = DTYPES[draw(st.sampled_from(list(DTYPES)))]
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(slots, n_out, n_in, generator=g).to(weight_dtype)
    if draw(st.booleans()):
        weights = weights[:, None]  # vLLM's stacked layout, [slots, 1, out, in]
    return Case(
        inputs=torch.randn(sum(lengths), n_in, generator=g).to(weight_dtype),
        weights=weights,
        lengths=torch.tensor(lengths),
        seq_slots=torch.tensor(
            draw(st.lists(st.integers(-1, slots - 1), min_size=len(lengths), max_size=len(lengths)))
        ),
        output=torch.randn(sum(lengths), n_out + extra, generator=g).to(out_dtype),
        add_inputs=draw(st.booleans()),
    )


def _per_token(inputs: torch.Tensor, weights: torch.Tensor, rows: torch.Tensor, dtype: Any) -> Any:
    """vLLM 0.32's CPU products: each token's adapter copied out, then a batched einsum."""
    selected = weights[rows].to(dtype)
    if selected.dim() == 4:
        selected = selected.squeeze(1)
    return torch.einsum("bi, boi -> bo", inputs.to(dtype), selected)


def _close(got: torch.Tensor, want: torch.Tensor) -> None:
    # The same products summed in another order: bf16 may round one ulp apart.
    torch.testing.assert_close(
        got, want, rtol=1.6e-2 if got.dtype == torch.bfloat16 else 1e-5, atol=1e-5
    )


@settings(max_examples=80, deadline=None)
@given(case=cases(), scaling=st.floats(-2, 2))
def test_shrink_equals_the_per_token_products(case: Case, scaling: float) -> None:
    want = case.output.clone()
    products = _per_token(case.inputs, case.weights, case.rows, want.dtype)
    want[:, : products.shape[1]] = scaling * products
    for call in ("bgmv", "sgmv"):
        got = case.output.clone()
        if call == "bgmv":
            grouped.bgmv_shrink(case.inputs, case.weights, got, case.rows, scaling)
        else:
            n, s = case.inputs.shape[0], len(case.lengths)
            starts = torch.cumsum(case.lengths, 0) - case.lengths
            grouped.sgmv_shrink(
                case.inputs, case.weights, got, starts, case.lengths, case.seq_slots, s,
                int(case.lengths.max()), n, scaling,
            )  # fmt: skip
        _close(got, want)


@settings(max_examples=80, deadline=None)
@given(case=cases())
def test_expand_equals_the_per_token_products(case: Case) -> None:
    """The product's width is the narrower of it and the output (an output padded wider keeps
    its tail), added or written."""
    want = case.output.clone()
    products = _per_token(case.inputs, case.weights, case.rows, want.dtype)
    width = min(products.shape[1], want.shape[1])
    if case.add_inputs:
        want[:, :width] += products[:, :width]
    else:
        want[:, :width] = products[:, :width]
    for call in ("bgmv", "sgmv"):
        got = case.output.clone()
        if call == "bgmv":
            grouped.bgmv_expand(case.inputs, case.weights, got, case.rows, case.add_inputs)
        else:
            starts = torch.cumsum(case.lengths, 0) - case.lengths
            grouped.sgmv_expand(
                case.inputs, case.weights, got, starts, case.lengths, case.seq_slots,
                len(case.lengths), int(case.lengths.max()), case.inputs.shape[0], case.add_inputs,
            )  # fmt: skip
        _close(got, want)


@settings(max_examples=80, deadline=None)
@given(case=cases(), offset=st.integers(0, 2))
def test_expand_slice_equals_the_per_token_products(case: Case, offset: int) -> None:
    """One slice of a fused layer's output: the columns around it keep their values."""
    n_out = case.weights.shape[-2]
    output = torch.cat([case.output, case.output[:, :offset]], 1)  # room for the slice
    want = output.clone()
    products = _per_token(case.inputs, case.weights, case.rows, want.dtype)
    if case.add_inputs:
        want[:, offset : offset + n_out] += products
    else:
        want[:, offset : offset + n_out] = products
    for call in ("bgmv", "sgmv"):
        got = output.clone()
        if call == "bgmv":
            grouped.bgmv_expand_slice(
                case.inputs, case.weights, got, case.rows, offset, n_out, case.add_inputs
            )
        else:
            starts = torch.cumsum(case.lengths, 0) - case.lengths
            grouped.sgmv_expand_slice(
                case.inputs, case.weights, got, starts, case.lengths, case.seq_slots,
                len(case.lengths), int(case.lengths.max()), case.inputs.shape[0], offset, n_out,
                case.add_inputs,
            )  # fmt: skip
        _close(got, want)


def test_one_row_of_products_goes_to_every_output_row() -> None:
    """vLLM's expand broadcasts a single row of products over a taller output."""
    weights = torch.ones(1, 2, 3)
    out = torch.zeros(3, 2)
    grouped.bgmv_expand(torch.ones(1, 3), weights, out, torch.tensor([0]), add_inputs=True)
    assert out.tolist() == [[3.0, 3.0]] * 3


def test_the_engine_names_a_wrong_choice_of_ops() -> None:
    """Refused before vLLM is imported, so it reads the same with or without vLLM."""
    from strata_rollout.vllm import VLLMEngine

    with pytest.raises(ValueError, match="lora_ops must be 'grouped' or 'vllm', got 'fast'"):
        VLLMEngine("smollm2", lora_rank=8, lora_ops="fast")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- with vLLM

NO_VLLM = importlib.util.find_spec("vllm") is None
WHY = "vLLM is not installed here (.ci/run tests it in .ci/venvs/vllm)"


@pytest.mark.parametrize("name", grouped.OPS)
@pytest.mark.vllm
@pytest.mark.skipif(NO_VLLM, reason=WHY)
def test_the_ops_take_vllms_parameters(name: str) -> None:
    """The swap is only safe while vLLM calls these with the parameters they read."""
    import vllm.lora.ops.torch_ops.lora_ops as theirs

    assert grouped._params(getattr(theirs, name)) == grouped._params(getattr(grouped, name))


@pytest.mark.vllm
@pytest.mark.skipif(NO_VLLM, reason=WHY)
@settings(max_examples=40, deadline=None)
@given(case=cases())
def test_the_ops_equal_vllms_own(case: Case) -> None:
    """Against vLLM's installed ops themselves (kept aside by the swap), not a copy of them."""
    import vllm.lora.ops.torch_ops.lora_ops as module

    grouped.use_grouped_lora_ops(True)
    theirs = grouped._VLLM_OPS
    assert module.bgmv_shrink is grouped.bgmv_shrink
    for ours_fn, their_fn, extra in (
        (grouped.bgmv_shrink, theirs["bgmv_shrink"], (0.5,)),
        (grouped.bgmv_expand, theirs["bgmv_expand"], (case.add_inputs,)),
    ):
        want, got = case.output.clone(), case.output.clone()
        their_fn(case.inputs, case.weights, want, case.rows, *extra)
        ours_fn(case.inputs, case.weights, got, case.rows, *extra)
        _close(got, want)


@pytest.mark.vllm
@pytest.mark.skipif(NO_VLLM, reason=WHY)
def test_the_swap_is_undone() -> None:
    import vllm.lora.punica_wrapper.punica_cpu as punica_cpu

    assert grouped.use_grouped_lora_ops(True)
    assert punica_cpu.bgmv_shrink is grouped.bgmv_shrink
    assert not grouped.use_grouped_lora_ops(False)
    assert punica_cpu.bgmv_shrink is grouped._VLLM_OPS["bgmv_shrink"]
    assert punica_cpu.bgmv_shrink.__module__.startswith("vllm.")
    grouped.use_grouped_lora_ops(True)
