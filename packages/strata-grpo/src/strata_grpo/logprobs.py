"""Per-token log-probs of completion tokens without a full ``[B, T, vocab]`` float32 tensor.

A 135M model with a 49k vocabulary turns 16 completions of 256 tokens into 0.8 GB of logits, and
autograd keeps another copy for log-softmax's backward. Here the decoder's hidden states are
projected to the vocabulary a chunk of rows at a time, log-softmaxed in float32 and gathered at
the target tokens; under autograd each chunk but the last is recomputed in backward (activation
checkpointing), so at most one chunk's logits exist at once.

Columns that are padding in every row (the left padding all prompts share, the right padding
after the longest completion, kept up to a multiple of :data:`COMPLETION_MULTIPLE`) are dropped
before the forward pass: causal attention makes that exact, and a micro-batch of one GRPO group
pads only to about its own longest sample, not the step's.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.utils.checkpoint import checkpoint

COMPLETION_MULTIPLE = 16
"""Completion columns are kept to a multiple of this. Cut to each micro-batch's exact longest
sample, the default run's peak RSS rose from 3.35 to 3.81 GB (glibc keeps freed blocks of the
many distinct sizes); in multiples of 16 it was 3.42 GB at the same step time (AMX Xeon, 5 steps;
docs/grpo.md)."""


def _chunk_logp(
    hidden: torch.Tensor,
    head: torch.nn.Module,
    targets: torch.Tensor,
    temperature: float,
    with_entropy: bool = False,
) -> torch.Tensor:
    """[b, T] log-probs of the targets; with ``with_entropy``, [b, T, 2]: log-prob and the
    entropy of the whole (tempered) next-token distribution, −Σ p log p."""
    logits = head(hidden).float()  # [b, T, V]
    if temperature != 1.0:
        logits = logits / temperature
    logp_all = torch.log_softmax(logits, -1)  # [b, T, V]
    logp = logp_all.gather(-1, targets[..., None])[..., 0]  # [b, T]
    if not with_entropy:
        return logp
    entropy = -(logp_all.exp() * logp_all).sum(-1)  # [b, T]
    return torch.stack([logp, entropy], -1)


def _decoder_and_head(model: Any) -> tuple[Any, torch.nn.Module]:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.get_decoder(), base.get_output_embeddings()


def _check_inputs(
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    n_completion: int,
    temperature: float,
    chunk_rows: int,
) -> None:
    # Shapes that would index past the prompt or broadcast wrongly, and a temperature that
    # divides the logits into inf/NaN, fail here with their names, not deep in the model.
    if input_ids.dim() != 2 or attention_mask.shape != input_ids.shape:
        raise ValueError(
            f"input_ids and attention_mask must both be [B, L], got {tuple(input_ids.shape)} "
            f"and {tuple(attention_mask.shape)}"
        )
    if not 1 <= n_completion < input_ids.shape[1]:
        raise ValueError(
            f"n_completion must be in [1, L) = [1, {input_ids.shape[1]}): completion tokens "
            f"after at least one prompt token, got {n_completion}"
        )
    if not 0 < temperature < math.inf:
        raise ValueError(f"temperature must be finite and > 0, got {temperature}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")


def completion_logprobs(
    model: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    n_completion: int,
    *,
    temperature: float = 1.0,
    chunk_rows: int = 4,
    with_entropy: bool = False,
) -> torch.Tensor:
    """Log-probs of the last ``n_completion`` tokens of each row under ``model``.

    Rows whose prompt part (the first ``L − T`` columns) is the same, the G completions of one
    GRPO group, share one forward pass over that prompt: its keys and values are computed once
    and repeated for each row, and gradients flow back through them. On a step of 8 samples of
    ~120-token prompts this removes most of the training forward's tokens.

    Args:
        model: a transformers causal LM (a peft model too: its LoRA layers sit inside the
            decoder and head, so they apply).
        input_ids: prompt + completion, left-padded prompts. Shape: [B, L].
        attention_mask: 1 for real tokens. Shape: [B, L].
        n_completion: ``T``, completion tokens per row (right-padded completions).
        temperature: divide logits by it (1: the model's own distribution).
        chunk_rows: rows projected to the vocabulary at a time.
        with_entropy: also return each position's entropy over the whole vocabulary (the
            entropy bonus's term; it costs one more pass over the chunk's logits).

    Returns:
        Shape: [B, T]; position ``t`` is ``log p(input_ids[:, L−T+t] | prefix)``. With
        ``with_entropy``: [B, T, 2], ``[..., 0]`` the log-probs and ``[..., 1]`` the entropies.
        Positions after the last real completion token of every row, rounded up to a multiple
        of :data:`COMPLETION_MULTIPLE`, are 0 (not computed).
    """
    _check_inputs(input_ids, attention_mask, n_completion, temperature, chunk_rows)
    width = input_ids.shape[1] - n_completion
    real = attention_mask.bool().any(0)  # [L]
    first = int(real[:width].int().argmax()) if bool(real[:width].any()) else 0
    last = int(real[width:].nonzero().max()) + 1 if bool(real[width:].any()) else 1
    kept = min(-(-last // COMPLETION_MULTIPLE) * COMPLETION_MULTIPLE, n_completion)
    kept_ids = input_ids[:, first : width + kept]  # [B, L']
    kept_mask = attention_mask[:, first : width + kept]  # [B, L']
    logp = _completion_logprobs(
        model, kept_ids, kept_mask, kept, temperature, chunk_rows, with_entropy
    )  # [B, T'] or [B, T', 2]
    tail = n_completion - kept
    return torch.nn.functional.pad(logp, (0, tail) if logp.dim() == 2 else (0, 0, 0, tail))


def _completion_logprobs(
    model: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    n_completion: int,
    temperature: float,
    chunk_rows: int,
    with_entropy: bool,
) -> torch.Tensor:
    """:func:`completion_logprobs` on the batch it has trimmed (no all-padding column but the
    few that round the completion up to a multiple of :data:`COMPLETION_MULTIPLE`)."""
    decoder, head = _decoder_and_head(model)
    hidden = _shared_prompt_hidden(decoder, input_ids, attention_mask, n_completion)
    if hidden is None:
        position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)  # left padding
        hidden = decoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=False,
        ).last_hidden_state  # [B, L, H]
        hidden = hidden[:, -n_completion - 1 : -1]  # [B, T, H]: states that predict the completion
    targets = input_ids[:, -n_completion:]  # [B, T]
    out = []
    starts = range(0, input_ids.shape[0], chunk_rows)
    for start in starts:
        h, tgt = hidden[start : start + chunk_rows], targets[start : start + chunk_rows]
        # The last chunk keeps its logits for backward: backward reaches it first and frees
        # them before recomputing any other, so the peak stays one chunk's, and a micro-batch
        # of one chunk is not projected twice (~0.3 s a chunk of 4 × 128 tokens here).
        if torch.is_grad_enabled() and h.requires_grad and start != starts[-1]:
            out.append(
                checkpoint(
                    _chunk_logp, h, head, tgt, temperature, with_entropy, use_reentrant=False
                )
            )
        else:
            out.append(_chunk_logp(h, head, tgt, temperature, with_entropy))
    return torch.cat(out)


def _shared_prompt_hidden(
    decoder: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, n_completion: int
) -> torch.Tensor | None:
    """The hidden states that predict each completion token, with each distinct prompt run
    once; None when no two rows share a prompt (or the decoder recomputes activations, which
    does not combine with a cache). Shape: [B, T, H]."""
    width = input_ids.shape[1] - n_completion
    if width < 1 or getattr(decoder, "gradient_checkpointing", False):
        return None
    prompt = torch.cat([input_ids[:, :width], attention_mask[:, :width]], 1)  # [B, 2P]
    distinct, row_of = torch.unique(prompt, dim=0, return_inverse=True)  # [U, 2P], [B]
    if distinct.shape[0] == input_ids.shape[0]:
        return None
    prompt_ids, prompt_mask = distinct[:, :width], distinct[:, width:]  # [U, P]
    positions = (prompt_mask.cumsum(-1) - 1).clamp(min=0)
    first = decoder(
        input_ids=prompt_ids,
        attention_mask=prompt_mask,
        position_ids=positions,
        use_cache=True,
    )
    cache = first.past_key_values
    # Each row gets its prompt's keys and values. Not the cache's batch_select_indices: its
    # advanced indexing has an accumulating index_put for backward, 3.7 ms a layer here (9 % of
    # the default run's learning step); index_select's backward is an index_add.
    for layer in cache.layers:
        layer.keys = layer.keys.index_select(0, row_of)
        layer.values = layer.values.index_select(0, row_of)
    rest = decoder(
        input_ids=input_ids[:, width:],
        attention_mask=attention_mask,
        position_ids=(
            prompt_mask.sum(-1)[row_of, None]
            + torch.arange(n_completion)[None].to(input_ids.device)
        ),
        past_key_values=cache,
        use_cache=True,
    ).last_hidden_state  # [B, T, H]
    last_prompt = first.last_hidden_state[row_of, -1:]  # [B, 1, H]: predicts completion token 0
    return torch.cat([last_prompt, rest[:, :-1]], 1)  # [B, T, H]
