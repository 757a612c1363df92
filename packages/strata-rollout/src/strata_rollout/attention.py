"""Grouped-query attention without copying the keys and values, for CPUs.

transformers' ``sdpa`` attention hands grouped keys/values to torch's SDPA as they are
(``enable_gqa``) only when no attention mask is given; with a mask (left-padded batches,
every rollout and every training forward here) it first repeats each key/value head for the
query heads that share it (``repeat_kv``: a copy of the whole KV cache, ×3 for SmolLM2, in every
layer at every decode step). On CUDA that avoids SDPA's slow math path; on a CPU it is pure cost:
measured on SmolLM2-135M's rollout, the copies were 38 % of a decode step (docs/rollout.md).
torch's CPU SDPA takes a mask and grouped heads together, so this attention passes them through.
On a CPU without AMX it also computes in fp32 when the model runs in bf16/fp16 outside
autocast (a bf16 rollout): torch's bf16 SDPA kernel was 5x slower than fp32 there (AVX512-BF16,
no AMX), casts included; with AMX bf16 is the faster and stays (0.18 against 0.58 ms).

Where gradients flow (training) it is transformers' sdpa itself: the forward is the same either
way, the backward's summation order is not, and trained runs reproduce bit for bit.

:data:`GQA_MATMUL` is the same attention, except that where gradients flow on a CPU, attention
whose score tensor is small (at most :data:`MATMUL_ATTENTION_MAX_SCORES` elements, short
sequences such as the default run's) is two matmuls around a float32 softmax: torch's CPU
flash-attention backward took 2.5 s of a 13.5 s learning step of the default run (7 ms a layer
call, eight times its forward), and the matmuls cut that step by 12-21 %. It is not the default:
its bf16 gradients differ from sdpa's in the last bits, and the default's five-seed rerun with it
missed the learning bar in one domain (docs/results.md, "Training attention as matmuls").
Larger score tensors, and other devices, keep transformers' sdpa, which does not store scores.

It is registered with transformers under :data:`GQA_SDPA`; any transformers model can use it::

    from strata_rollout.attention import register

    register()
    model = AutoModelForCausalLM.from_pretrained(path, attn_implementation="strata_sdpa_gqa")

:func:`strata_rollout.load_model` picks :data:`GQA_SDPA` on a CPU (``attention="auto"``);
``attention="strata_gqa_matmul"`` asks for :data:`GQA_MATMUL`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import torch

from strata_rollout.hardware import cpu_bf16_kind

if TYPE_CHECKING:
    from transformers import PreTrainedModel

GQA_SDPA = "strata_sdpa_gqa"
"""The name this attention is registered under (``attn_implementation``)."""

GQA_MATMUL = "strata_gqa_matmul"
"""The same attention with small training attention on a CPU as matmuls (module doc)."""

MATMUL_ATTENTION_MAX_SCORES = 4 * 2**20
"""Training attention as matmuls when its scores, ``B·H·Q·K``, are at most this many elements:
autograd keeps them (float32 probabilities and their bf16 copy) and float32 copies of q and k,
in every layer, so long sequences go to SDPA, which recomputes them. The default run's largest
is 0.9 M; at the GRPO-step benchmark's 2.3 M the peak RSS rose about 1 GB (docs/grpo.md)."""


def sdpa_gqa_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    *,
    matmul_training: bool = False,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers' attention-function signature (:data:`GQA_SDPA`); with ``matmul_training``,
    small training attention on a CPU as :func:`matmul_attention` (:data:`GQA_MATMUL`).

    Shapes: query [B, H, Q, D]; key, value [B, Hkv, K, D] with H a multiple of Hkv;
    attention_mask [B, 1, Q, K] (bool: True = attend) or None. Returns ([B, Q, H, D], None)."""
    if kwargs.get("position_bias") is not None or kwargs.get("cache") is not None:
        raise NotImplementedError(
            f"{GQA_SDPA} has no position bias or paged cache: load the model with "
            "attn_implementation='sdpa'"
        )
    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    # As transformers' sdpa: the causal flag stands in for a mask only when there is none and
    # more than one query (a single decoding query attends to everything before it).
    causal = bool(query.shape[2] > 1 and attention_mask is None and causal)
    if torch.is_grad_enabled() and query.requires_grad:
        if matmul_training and query.device.type == "cpu" and dropout == 0.0:
            b, h, q, _ = query.shape
            if b * h * q * key.shape[2] <= MATMUL_ATTENTION_MAX_SCORES:
                return matmul_attention(query, key, value, attention_mask, scaling, causal), None
        # Training: transformers' own sdpa. Its backward through the repeated heads sums their
        # gradients in its own order (enable_gqa's differs in the last bits), and runs trained
        # before this attention existed must reproduce bit for bit.
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        stock: tuple[torch.Tensor, None] = sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout, scaling, is_causal, **kwargs
        )
        return stock
    groups = query.shape[1] // key.shape[1]
    # torch's CPU SDPA in bf16 took 2.5 ms where fp32 took 0.5 ms, the casts included (a
    # SmolLM2 decode step's layer, 16 rows, AVX512-BF16 without AMX); with AMX bf16 is the
    # faster, 0.18 ms against 0.58 (docs/rollout.md). Not under autocast (the trainer's
    # reference and old-policy passes): those keep transformers' numbers exactly, as training
    # does.
    dtype = query.dtype
    upcast = (
        query.device.type == "cpu"
        and dtype != torch.float32
        and not torch.is_autocast_enabled("cpu")
        and cpu_bf16_kind() != "AMX"
    )
    if upcast:
        query, key, value = query.float(), key.float(), value.float()
    out = torch.nn.functional.scaled_dot_product_attention(
        query,
        key,
        value,
        attn_mask=attention_mask,
        dropout_p=dropout,
        scale=scaling,
        is_causal=causal,
        enable_gqa=groups > 1,
    )
    return out.to(dtype).transpose(1, 2).contiguous(), None


gqa_matmul_attention = functools.partial(sdpa_gqa_attention, matmul_training=True)
""":data:`GQA_MATMUL`'s attention function."""


def matmul_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None,
    causal: bool,
) -> torch.Tensor:
    """softmax(q·kᵀ·scale + mask)·v with each key/value head shared by its query heads (no
    copies), the softmax in float32. A query row that may attend to nothing (left padding's)
    gets a uniform row, finite (SDPA fills such rows its own way); nothing reads it.

    Shapes: query [B, H, Q, D]; key, value [B, Hkv, K, D]; attention_mask [B, 1, Q, K] (bool:
    True = attend, or additive) or None. Returns [B, Q, H, D]."""
    b, h, q, d = query.shape
    kv_heads, k = key.shape[1], key.shape[2]
    groups = h // kv_heads
    scale = scaling if scaling is not None else d**-0.5
    grouped = query.reshape(b, kv_heads, groups * q, d)  # heads of one group side by side
    # Scores in float32, as SDPA accumulates them: rounded to bf16 (autocast's matmul output),
    # logits of ~20 move by ~0.1, and the gradient's error against float32 nearly doubled.
    with torch.autocast(query.device.type, enabled=False):
        scores = torch.matmul(grouped.float(), key.float().transpose(-1, -2))
    scores = scores.view(b, kv_heads, groups, q, k) * scale  # [B, Hkv, G, Q, K]
    if attention_mask is None and causal:  # the last Q of the K positions are the queries
        attention_mask = torch.ones(q, k, dtype=torch.bool, device=query.device).tril(k - q)
        attention_mask = attention_mask[None, None]  # [1, 1, Q, K]
    if attention_mask is not None and attention_mask.dtype == torch.bool:
        scores = scores.masked_fill(~attention_mask[:, :, None], torch.finfo(scores.dtype).min)
    elif attention_mask is not None:
        scores = scores + attention_mask[:, :, None]
    probs = torch.softmax(scores, -1, dtype=torch.float32).to(value.dtype)
    out = torch.matmul(probs.view(b, kv_heads, groups * q, k), value)  # [B, Hkv, G·Q, D]
    return out.view(b, h, q, d).transpose(1, 2).contiguous()


def register() -> None:
    """Make :data:`GQA_SDPA` and :data:`GQA_MATMUL` valid ``attn_implementation`` names
    (idempotent); their masks are sdpa's."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(GQA_SDPA, sdpa_gqa_attention)
    AttentionMaskInterface.register(GQA_SDPA, sdpa_mask)
    AttentionInterface.register(GQA_MATMUL, gqa_matmul_attention)
    AttentionMaskInterface.register(GQA_MATMUL, sdpa_mask)


def is_grouped(model: PreTrainedModel) -> bool:
    """Whether ``model`` shares key/value heads between query heads (where this helps)."""
    config = model.config.get_text_config()
    heads = getattr(config, "num_attention_heads", None)
    kv_heads = getattr(config, "num_key_value_heads", None)
    return bool(heads and kv_heads and kv_heads < heads)
