"""vLLM's CPU LoRA ops without a copy of the adapter for every token.

vLLM's CPU build applies LoRA through PyTorch ops (``vllm.lora.ops.torch_ops``, 0.32) that
gather each token's adapter matrices, ``weights[indices]``, into a ``[tokens, out, in]`` tensor
and multiply token by token (an einsum over that batch). Every LoRA'd layer of every decode step
copies the adapter once per token: on SmolLM2-135M, 48 completions of 64 tokens took 35–37 s
with the adapter against 5.6–6.0 s merged, eager (docs/rollout.md, "The adapter unmerged").

The ops here compute the same products with one matrix product per distinct adapter slot
(one in all when the engine holds one adapter, as :class:`~strata_rollout.vllm.VLLMEngine`
does): the same dtypes and casts as vLLM's, the same outputs up to the order of a sum (equal
on the greedy tokens and log-probs measured). :func:`use_grouped_lora_ops` swaps them in for
vLLM's in this process; the engine does so on a CPU unless built with ``lora_ops="vllm"``.

Shapes, as vLLM's: ``inputs`` [N, in]; ``weights`` [slots, out, in] or [slots, 1, out, in];
``indices`` [N], a slot per row, −1 for "no adapter", which indexes as Python does (the last
slot), as vLLM's ops do; ``output_tensor`` [N, ≥ out].
"""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

import torch

__all__ = [
    "bgmv_expand",
    "bgmv_expand_slice",
    "bgmv_shrink",
    "sgmv_expand",
    "sgmv_expand_slice",
    "sgmv_shrink",
    "use_grouped_lora_ops",
]

OPS = (
    "bgmv_shrink",
    "bgmv_expand",
    "bgmv_expand_slice",
    "sgmv_shrink",
    "sgmv_expand",
    "sgmv_expand_slice",
)
"""vLLM's ops these replace, by name (vllm.lora.ops.torch_ops)."""


def _products(
    inputs: torch.Tensor, weights: torch.Tensor, indices: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """Row n: ``inputs[n] @ weights[indices[n]].T`` in ``dtype``. Shape: [N, out]."""
    if weights.dim() == 4:
        weights = weights.squeeze(1)  # [slots, out, in]
    inputs = inputs.to(dtype)
    if weights.shape[0] == 1:  # one slot: 0 and −1 both select it
        return inputs @ weights[0].to(dtype).T
    slots = torch.unique(indices).tolist()
    if len(slots) == 1:
        return inputs @ weights[slots[0]].to(dtype).T
    out = inputs.new_empty(inputs.shape[0], weights.shape[1])
    for slot in slots:
        rows = indices == slot
        out[rows] = inputs[rows] @ weights[slot].to(dtype).T
    return out


def _rows(indices: torch.Tensor, lengths: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Each token's slot from each sequence's (the ``sgmv`` ops' per-sequence indices)."""
    if weights.shape[0] == 1:  # every index selects the one slot: skip the expansion
        return indices[:1]
    return torch.repeat_interleave(indices, lengths)


def bgmv_shrink(
    inputs: torch.Tensor,
    lora_b_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    scaling: float = 1.0,
) -> None:
    """``output[:, :out] = scaling · inputs @ W[slot].T`` (LoRA's A, into the rank buffer)."""
    outputs = _products(inputs, lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    output_tensor[:, : outputs.shape[1]] = scaling * outputs


def bgmv_expand(
    inputs: torch.Tensor,
    lora_b_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    add_inputs: bool = True,
) -> None:
    """``output[:, :out] (+)= inputs @ W[slot].T`` (LoRA's B); a single row of products is
    broadcast over every output row, and the width is the narrower of the two, as vLLM's."""
    outputs = _products(inputs, lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    limit = 1 if outputs.shape[0] == 1 and output_tensor.shape[0] != 1 else output_tensor.shape[0]
    width = min(outputs.shape[1], output_tensor.shape[1])
    if add_inputs:
        output_tensor[:, :width] += outputs[:limit, :width]
    else:
        output_tensor[:, :width] = outputs[:limit, :width]


def bgmv_expand_slice(
    inputs: torch.Tensor,
    lora_b_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    slice_offset: int,
    slice_size: int,
    add_inputs: bool = True,
) -> None:
    """``output[:, offset:offset + size] (+)= inputs @ W[slot].T`` (one slice of a fused layer)."""
    outputs = _products(inputs, lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    if add_inputs:
        output_tensor[:, slice_offset : slice_offset + slice_size] += outputs
    else:
        output_tensor[:, slice_offset : slice_offset + slice_size] = outputs


def sgmv_shrink(
    inputs: torch.Tensor,
    lora_a_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    b_seq_start_loc: torch.Tensor,
    seq_len_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    batches: int,
    max_seq_length: int,
    token_nums: int,
    scaling: float,
) -> None:
    """:func:`bgmv_shrink` with a slot per sequence (``seq_len_tensor`` tokens each)."""
    rows = _rows(lora_indices_tensor, seq_len_tensor, lora_a_weights)
    bgmv_shrink(inputs, lora_a_weights, output_tensor, rows, scaling)


def sgmv_expand(
    inputs: torch.Tensor,
    lora_b_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    b_seq_start_loc: torch.Tensor,
    seq_len_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    batches: int,
    max_seq_length: int,
    token_nums: int,
    add_inputs: bool = False,
) -> None:
    """:func:`bgmv_expand` with a slot per sequence."""
    rows = _rows(lora_indices_tensor, seq_len_tensor, lora_b_weights)
    bgmv_expand(inputs, lora_b_weights, output_tensor, rows, add_inputs)


def sgmv_expand_slice(
    inputs: torch.Tensor,
    lora_b_weights: torch.Tensor,
    output_tensor: torch.Tensor,
    b_seq_start_loc: torch.Tensor,
    seq_len_tensor: torch.Tensor,
    lora_indices_tensor: torch.Tensor,
    batches: int,
    max_seq_length: int,
    token_nums: int,
    slice_offset: int,
    slice_size: int,
    add_inputs: bool = False,
) -> None:
    """:func:`bgmv_expand_slice` with a slot per sequence."""
    rows = _rows(lora_indices_tensor, seq_len_tensor, lora_b_weights)
    bgmv_expand_slice(
        inputs, lora_b_weights, output_tensor, rows, slice_offset, slice_size, add_inputs
    )


_VLLM_OPS: dict[str, Any] = {}
"""vLLM's own ops, kept when first replaced, to put back."""


def _vllm_modules() -> tuple[ModuleType, ModuleType]:
    """vLLM's ops module and its CPU punica wrapper, which imported the ops by name."""
    import vllm.lora.ops.torch_ops.lora_ops as ops
    import vllm.lora.punica_wrapper.punica_cpu as punica_cpu

    return ops, punica_cpu


def _params(fn: Any) -> list[tuple[str, object]]:
    """A function's parameters by name and default (annotations aside)."""
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]


def use_grouped_lora_ops(enabled: bool = True) -> bool:
    """Make vLLM's CPU LoRA layers in this process use these ops (``enabled``) or vLLM's own.

    Returns whether these are in use. They are not, and vLLM's stay, where this vLLM's ops do not
    take the same parameters as these (another vLLM version): a swap then would misread them.
    The engine core must run in this process (VLLMEngine's ``in_process``, the default); one
    started in another process keeps vLLM's ops.
    """
    ops, punica_cpu = _vllm_modules()
    if not _VLLM_OPS:
        theirs = {name: getattr(ops, name, None) for name in OPS}
        ours = {name: globals()[name] for name in OPS}
        if any(fn is None or _params(fn) != _params(ours[n]) for n, fn in theirs.items()):
            return False
        _VLLM_OPS.update(theirs)
    chosen = globals() if enabled else _VLLM_OPS
    for module in (ops, punica_cpu):
        for name in OPS:
            if hasattr(module, name):
                setattr(module, name, chosen[name])
    return enabled
