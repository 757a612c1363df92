"""The protocol every rollout engine follows, and the input checks they share."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from strata_rollout.types import Completion, Prompt, SamplingConfig

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase


@runtime_checkable
class RolloutEngine(Protocol):
    """Generates ``n`` completions per prompt and takes new policy weights."""

    def generate(
        self,
        prompts: Sequence[Prompt],
        n: int,
        sampling: SamplingConfig,
        *,
        logprobs: bool = True,
    ) -> list[list[Completion]]:
        """One inner list of ``n`` completions per prompt, in prompt order. ``logprobs=False``:
        the caller does not read ``Completion.logprobs`` (an engine may leave them zero)."""
        ...

    def update_weights(self, weights: Mapping[str, torch.Tensor] | None = None) -> None:
        """Make the engine sample from the trainer's current policy.

        ``weights``: full (merged) parameter tensors by name, as in ``state_dict()``. ``None``
        means "the shared model object has changed in place" (an engine sharing the trainer's
        model needs nothing more)."""
        ...


@runtime_checkable
class SharedPolicyEngine(RolloutEngine, Protocol):
    """An engine that can generate with the trainer's own model object, in place: sampling that
    model needs no weights pushed (``update_weights(None)``) and no second copy in memory."""

    def samples_from(self, model: object) -> bool:
        """True when this engine generates with ``model`` itself (not a copy of its weights)."""
        ...


@runtime_checkable
class AdapterEngine(RolloutEngine, Protocol):
    """An engine that keeps the base model's weights and applies a LoRA adapter on top of them,
    unmerged (``W·x + s·B·(A·x)``): pushing the adapter instead of ``W + ΔW`` keeps the small
    updates that a bf16 copy of the merged weight rounds away (docs/rollout.md, item 4)."""

    def applies_adapters(self) -> bool:
        """True when this engine was built to take adapters (``update_adapter``)."""
        ...

    def update_adapter(self, model: object) -> None:
        """Sample from now on from the base weights plus ``model``'s current LoRA adapter
        (a peft model: what its ``save_pretrained`` writes)."""
        ...


@runtime_checkable
class StatefulEngine(RolloutEngine, Protocol):
    """An engine whose seed stream a checkpoint saves, so a resumed run samples what the
    uninterrupted one would. Only sampled calls without a seed of their own draw from the stream
    (``draw_seed``): greedy and explicitly seeded calls leave it where it was."""

    def state_dict(self) -> dict[str, int]: ...

    def load_state_dict(self, state: Mapping[str, int]) -> None: ...


def pad_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The tokenizer's pad token id; a tokenizer without one is given its EOS as pad token."""
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return int(tokenizer.pad_token_id)


def left_pad(rows: Sequence[Sequence[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of token ids right-aligned in one tensor.

    Returns: ids [B, W] (``pad`` on the left), attention mask [B, W] (1 for real tokens)."""
    import torch

    width = max((len(r) for r in rows), default=0)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)  # [B, W]
    mask = torch.zeros((len(rows), width), dtype=torch.long)  # [B, W]
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row) :] = torch.tensor(list(row), dtype=torch.long)
            mask[i, width - len(row) :] = 1
    return ids, mask


def call_seed(seed: int, call: int) -> int:
    """The seed of an engine's ``call``-th ``generate`` in the stream seeded by ``seed``."""
    digest = hashlib.sha256(f"{seed}:{call}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF


def draw_seed(sampling: SamplingConfig, seed: int, calls: int) -> tuple[int, int]:
    """This call's seed and the stream's next position, for an engine whose stream is seeded by
    ``seed`` and has served ``calls`` draws. Only a sampled call without a seed of its own draws
    (and advances the stream): greedy and explicitly seeded calls (evaluation, probes) leave it
    where it was, so a run's training samples do not depend on what else the engine generated."""
    if sampling.seed is not None:
        return sampling.seed, calls
    if sampling.temperature == 0:
        return 0, calls  # greedy decoding reads no random numbers
    return call_seed(seed, calls), calls + 1


def encode_prompts(
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[Prompt],
    n: int,
    sampling: SamplingConfig,
    context_length: int,
) -> list[list[int]]:
    """Token ids of each prompt, after checking the call; raises ``ValueError`` naming the
    argument (and the prompt's index) that is wrong."""
    if isinstance(prompts, str):
        raise ValueError("prompts must be a list of prompts, got one string: wrap it in a list")
    if len(prompts) == 0:
        raise ValueError("prompts is empty: give at least one prompt")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n (completions per prompt) must be an integer >= 1, got {n!r}")
    encoded = []
    for i, prompt in enumerate(prompts):
        ids = _encode_one(tokenizer, prompt, i)
        if not ids:
            raise ValueError(f"prompts[{i}] is empty")
        if len(ids) + sampling.max_new_tokens > context_length:
            raise ValueError(
                f"prompts[{i}] has {len(ids)} tokens; with max_new_tokens="
                f"{sampling.max_new_tokens} that exceeds the model's context of "
                f"{context_length} tokens"
            )
        encoded.append(ids)
    return encoded


def _encode_one(tokenizer: PreTrainedTokenizerBase, prompt: Prompt, i: int) -> list[int]:
    if isinstance(prompt, str):
        return list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    messages = list(prompt)
    if not messages or not all(isinstance(m, Mapping) and "content" in m for m in messages):
        raise ValueError(
            f"prompts[{i}] must be a string or a non-empty list of chat messages "
            '{"role": ..., "content": ...}'
        )
    if tokenizer.chat_template is None:
        raise ValueError(f"prompts[{i}] is chat messages but the tokenizer has no chat template")
    out: Any = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    if isinstance(out, Mapping):  # newer transformers return a BatchEncoding
        out = out["input_ids"]
    return list(out)


def context_length_of(config: Any, default: int = 2048) -> int:
    """The model's context length from its config (the usual field names)."""
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return default


def first_stop(text_of: Any, ids: Sequence[int], stops: Sequence[str]) -> int | None:
    """The smallest ``k`` such that ``text_of(ids[:k])`` contains a stop string, or None.

    Containment only grows with ``k``, so a binary search needs O(log T) decodes."""
    if not stops or not any(s in text_of(ids) for s in stops):
        return None
    lo, hi = 1, len(ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if any(s in text_of(ids[:mid]) for s in stops):
            hi = mid
        else:
            lo = mid + 1
    return lo
