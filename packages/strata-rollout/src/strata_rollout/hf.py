"""Rollouts with a Hugging Face transformers causal LM and its KV cache, in a decode loop of our
own rather than ``generate``, because on a CPU the cost of a step is its tokens:

- **Shared prefill.** The ``n`` samples of a prompt share its KV cache, and every prompt of a
  batch shares the tokens they have in common (the chat header, the instruction, few-shot
  exemplars): those are run through the model once, then the cache is repeated.
- **Finished rows leave.** A row that reached EOS, a stop string or its budget is dropped from
  the batch (and its cache) at once; ``generate`` keeps computing padded rows until the longest
  sequence ends.
- **Log-probs on the fly.** The sampled token's log-probability is gathered at each step,
  under the distribution it was drawn from (the sampling temperature, then top-k and top-p,
  renormalised: vLLM's ``processed_logprobs``); no per-step logits are kept. Greedy calls
  with ``logprobs=False`` compute no softmax at all.
- **Length-aware batches.** Distinct prompts are sorted by length and cut into batches of at
  most ``max_batch_size`` sequences, so prompts of similar length are padded together.
- **One product per LoRA layer.** A peft model's LoRA layers over fp32 bases run as
  ``F.linear`` with ``W + ΔW`` for the length of a call (merged copies, the model untouched): a
  LoRA layer is otherwise six operations, and a decode step's cost on a CPU is its number of
  operations.
- **One uniform number per token.** Sampling inverts the cumulative distribution
  (:func:`draw`) where ``torch.multinomial`` draws an exponential per vocabulary entry.

The engine can share the trainer's model object (a peft ``PeftModel`` included): it then samples
from the current weights with no weight push.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from strata_rollout.engine import (
    context_length_of,
    draw_seed,
    encode_prompts,
    first_stop,
    left_pad,
    pad_id,
)
from strata_rollout.types import Completion, FinishReason, Prompt, SamplingConfig
from strata_rollout.weights import learner_precision, lora_merged

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def common_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix every row shares."""
    first, n = rows[0], min(len(r) for r in rows)
    for i in range(n):
        token = first[i]
        if any(r[i] != token for r in rows):
            return i
    return n


def sample_tokens(
    logits: torch.Tensor,
    sampling: SamplingConfig,
    generator: torch.Generator | None,
    *,
    logprobs: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The next token of each row, and its log-probability under the distribution it was drawn
    from (:attr:`~strata_rollout.Completion.logprobs`, the same definition as vLLM's
    ``processed_logprobs``).

    That distribution is ``softmax(logits / temperature)`` (temperature 1 when greedy), then
    top-k, renormalised, then top-p (the smallest set of most likely tokens whose mass reaches
    ``top_p``), renormalised: vLLM's order. Without top-k and top-p it is the tempered policy
    itself.

    Shapes: logits [B, V] -> tokens [B] (long), log-probs [B] (float32) or None.
    """
    logits = logits.float()
    if sampling.temperature == 0:
        tokens = logits.argmax(-1)
        if not logprobs:
            return tokens, None
        return tokens, torch.log_softmax(logits, -1).gather(1, tokens[:, None])[:, 0]
    allowed = torch.log_softmax(logits / sampling.temperature, -1)  # [B, V]
    if sampling.top_k > 0 and sampling.top_k < allowed.shape[-1]:
        kth = allowed.topk(sampling.top_k, dim=-1).values[:, -1:]  # [B, 1]
        allowed = torch.log_softmax(allowed.masked_fill(allowed < kth, -torch.inf), -1)
    if sampling.top_p < 1.0:
        sorted_logp, order = allowed.sort(-1, descending=True)  # [B, V]
        mass_before = sorted_logp.exp().cumsum(-1) - sorted_logp.exp()
        drop = mass_before >= sampling.top_p  # the first token is always kept
        allowed = allowed.scatter(1, order, sorted_logp.masked_fill(drop, -torch.inf))
        allowed = torch.log_softmax(allowed, -1)
    tokens = draw(allowed.exp(), generator)
    return tokens, allowed.gather(1, tokens[:, None])[:, 0] if logprobs else None


def draw(weights: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One index per row, drawn with probability proportional to ``weights`` (>= 0, a positive
    sum per row), by inverting the cumulative sum with one uniform number per row.

    ``torch.multinomial`` draws one exponential number per entry instead: 14.7 ms of a ~90 ms
    decode step for 16 rows of SmolLM2's 49,152-token vocabulary (2-core AMX Xeon), against
    1.8 ms here. The cumulative sum is float64 so that no token's share rounds away.

    Shapes: weights [B, V] -> indices [B] (long)."""
    cdf = weights.double().cumsum(-1)  # [B, V]
    u = torch.rand(
        (cdf.shape[0], 1), generator=generator, dtype=torch.float64, device=cdf.device
    )  # [B, 1] in [0, 1)
    # The first index whose cumulative weight reaches a target in (0, total]: never a
    # zero-weight entry (its cumulative weight equals its predecessor's, found first).
    target = (1.0 - u) * cdf[:, -1:]
    return torch.searchsorted(cdf, target)[:, 0]


@dataclass
class _Decoded:
    """One sequence's sampled tokens (before stop-string trimming)."""

    ids: list[int]
    logprobs: list[float]
    reason: FinishReason


class HFEngine:
    """A transformers causal LM behind the rollout protocol (see module doc)."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        seed: int = 0,
        max_batch_size: int = 64,
        max_batch_tokens: int = 16384,
        merge_lora: bool = True,
        autocast: torch.dtype | None = None,
    ) -> None:
        """
        Args:
            model: any transformers causal LM with a KV cache; share the trainer's to avoid a
                copy.
            tokenizer: its tokenizer.
            seed: seeds the stream of per-call seeds (calls with ``sampling.seed`` use theirs).
            max_batch_size: sequences (prompts × n) decoded together.
            max_batch_tokens: bound on sequences × (longest prompt + max_new_tokens) in a
                batch: the KV cache's size (SmolLM2-135M: 46 kB a token in fp32, so 16,384
                tokens are 0.75 GB). A prompt longer than the bound is decoded alone.
            merge_lora: sample through a peft model's LoRA layers as single products with
                ``W + ΔW`` (:func:`~strata_rollout.weights.lora_merged`: copies made for each
                call, the model untouched); False runs them as they are, slower, with no copy.
            autocast: sample in the learner's numerics when it trains under
                ``torch.autocast(autocast)`` (bf16 on a CPU with native bf16):
                :func:`~strata_rollout.weights.learner_precision`, every fp32 linear weight cast
                once a call and LoRA unmerged. None: the model's own precision, LoRA merged
                (``merge_lora``).
        """
        if max_batch_size < 1 or max_batch_tokens < 1:
            raise ValueError(
                f"max_batch_size and max_batch_tokens must be >= 1, got {max_batch_size} and "
                f"{max_batch_tokens}"
            )
        self.model = model
        self.tokenizer = tokenizer
        self.pad_id = pad_id(tokenizer)
        self.seed = seed
        self.max_batch_size = max_batch_size
        self.max_batch_tokens = max_batch_tokens
        self.merge_lora = merge_lora
        self.autocast = autocast
        self._calls = 0

    @property
    def device(self) -> torch.device:
        return torch.device(next(self.model.parameters()).device)

    def _eos_ids(self) -> set[int]:
        ids: set[int] = set()
        for source in (self.model.generation_config, self.tokenizer):
            eos = getattr(source, "eos_token_id", None)
            if isinstance(eos, int):
                ids.add(eos)
            elif isinstance(eos, list | tuple):
                ids.update(int(e) for e in eos)
        return ids

    def generate(
        self,
        prompts: Sequence[Prompt],
        n: int,
        sampling: SamplingConfig,
        *,
        logprobs: bool = True,
    ) -> list[list[Completion]]:
        """``n`` completions for each prompt (one inner list per prompt, in order).

        ``logprobs=False`` skips the log-softmax where nobody reads it (greedy evaluation); the
        completions' ``logprobs`` are then zeros."""
        encoded = encode_prompts(
            self.tokenizer, prompts, n, sampling, context_length_of(self.model.config)
        )
        seed, self._calls = draw_seed(sampling, self.seed, self._calls)
        generator = torch.Generator(self.device).manual_seed(seed)
        # Greedy samples are all the same: decode one per prompt and copy it.
        draws = 1 if sampling.temperature == 0 else n
        distinct: dict[tuple[int, ...], int] = {}
        for ids in encoded:
            distinct.setdefault(tuple(ids), len(distinct))
        keys = list(distinct)
        # Longest first: similar lengths share a batch, and a seed gives the same batches.
        order = sorted(range(len(keys)), key=lambda i: -len(keys[i]))
        decoded: dict[int, list[_Decoded]] = {}
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad(), self._precision():
                for chunk in self._batches([len(keys[i]) for i in order], order, draws, sampling):
                    rows = self._decode(
                        [list(keys[i]) for i in chunk], draws, sampling, generator, logprobs
                    )
                    for j, i in enumerate(chunk):
                        decoded[i] = rows[j * draws : (j + 1) * draws]
        finally:
            self.model.train(was_training)
        eos = self._eos_ids()
        out = []
        for ids in encoded:
            group = [self._completion(ids, d, eos, sampling) for d in decoded[distinct[tuple(ids)]]]
            out.append(group * n if draws == 1 else group)
        return out

    def _precision(self) -> AbstractContextManager[int | None]:
        """How the model computes inside a call (``autocast``, ``merge_lora``)."""
        if self.autocast is not None:
            return learner_precision(self.model, self.autocast)
        return lora_merged(self.model) if self.merge_lora else nullcontext()

    def _batches(
        self, lengths: list[int], order: list[int], draws: int, sampling: SamplingConfig
    ) -> list[list[int]]:
        """``order`` (prompt indices, longest first; ``lengths`` theirs) cut into batches of at
        most ``max_batch_size`` sequences and ``max_batch_tokens`` of KV cache."""
        batches: list[list[int]] = []
        width = 0  # the current batch's longest sequence: its first prompt + the budget
        for index, length in zip(order, lengths, strict=True):
            rows = (len(batches[-1]) + 1) * draws if batches else 0
            if batches and rows <= self.max_batch_size and rows * width <= self.max_batch_tokens:
                batches[-1].append(index)
            else:
                batches.append([index])
                width = length + sampling.max_new_tokens
        return batches

    def _prefill(
        self, prompts: list[list[int]], new_tokens: int
    ) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """Run the prompts through the model, their shared prefix once, into a cache with room
        for ``new_tokens`` more.

        Returns: the last position's logits [U, V], the KV cache (batch U), and the attention
        mask [U, L] (shared prefix, then each tail right-aligned after padding)."""
        from strata_rollout.cache import growing_cache  # imports transformers: only when used

        device = self.device
        shared = min(common_prefix_length(prompts), min(len(p) for p in prompts) - 1)
        tails = [p[shared:] for p in prompts]
        room = max(len(t) for t in tails) + new_tokens
        cache = growing_cache(self.model.config, reserve=room)
        if shared > 0:
            prefix = torch.tensor([prompts[0][:shared]], device=device)  # [1, C]
            self.model(input_ids=prefix, past_key_values=cache, use_cache=True, logits_to_keep=1)
            cache.batch_repeat_interleave(len(prompts))
        input_ids, tail_mask = left_pad(tails, self.pad_id)  # [U, W]
        mask = torch.cat([torch.ones((len(tails), shared), dtype=torch.long), tail_mask], 1)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, shared:]  # [U, W]
        mask = mask.to(device)
        out = self.model(
            input_ids=input_ids.to(device),
            attention_mask=mask,
            position_ids=positions.to(device),
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        return out.logits[:, -1], out.past_key_values, mask

    def _decode(
        self,
        prompts: list[list[int]],
        draws: int,
        sampling: SamplingConfig,
        generator: torch.Generator,
        logprobs: bool,
    ) -> list[_Decoded]:
        """``draws`` sequences per prompt, rows in prompt order ([U * draws])."""
        device = self.device
        logits, cache, mask = self._prefill(prompts, sampling.max_new_tokens)
        if draws > 1:
            cache.batch_repeat_interleave(draws)
            logits = logits.repeat_interleave(draws, 0)
            mask = mask.repeat_interleave(draws, 0)
        rows = logits.shape[0]
        budget = sampling.max_new_tokens
        tokens = torch.zeros((rows, budget), dtype=torch.long)  # [B, T]
        token_logp = torch.zeros((rows, budget), dtype=torch.float32)  # [B, T]
        lengths = [0] * rows
        reasons: list[FinishReason] = ["length"] * rows
        eos = torch.tensor(sorted(self._eos_ids()) or [-1], device=device)
        alive = torch.arange(rows)  # which original row each batch row is
        position = mask.sum(-1)  # [b]: the next token's position
        tail = max((len(s) for s in sampling.stop), default=0) + 4  # tokens that can hold a stop
        for step in range(budget):
            next_tokens, lp = sample_tokens(logits, sampling, generator, logprobs=logprobs)
            tokens[alive, step] = next_tokens.cpu()
            if lp is not None:
                token_logp[alive, step] = lp.cpu()
            finished = torch.isin(next_tokens, eos).cpu()
            for b, row in enumerate(alive.tolist()):
                lengths[row] = step + 1
                if finished[b]:
                    reasons[row] = "stop"
                elif sampling.stop and self._stopped(
                    tokens[row, max(0, step + 1 - tail) : step + 1], sampling.stop
                ):
                    finished[b], reasons[row] = True, "stop"
            if step + 1 == budget or bool(finished.all()):
                break
            if bool(finished.any()):
                keep = (~finished).nonzero()[:, 0]
                alive = alive[keep]
                keep = keep.to(device)
                cache.batch_select_indices(keep)
                mask, position, next_tokens = mask[keep], position[keep], next_tokens[keep]
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], 1)
            logits = self.model(
                input_ids=next_tokens[:, None],
                attention_mask=mask,
                position_ids=position[:, None],
                past_key_values=cache,
                use_cache=True,
            ).logits[:, -1]
            position = position + 1
        return [
            _Decoded(
                tokens[r, : lengths[r]].tolist(), token_logp[r, : lengths[r]].tolist(), reasons[r]
            )
            for r in range(rows)
        ]

    def _stopped(self, recent: torch.Tensor, stops: Sequence[str]) -> bool:
        text = str(self.tokenizer.decode(recent.tolist(), skip_special_tokens=True))
        return any(s in text for s in stops)

    def _completion(
        self, prompt: list[int], decoded: _Decoded, eos: set[int], sampling: SamplingConfig
    ) -> Completion:
        ids, end, reason = decoded.ids, len(decoded.ids), decoded.reason
        eos_at = next((i for i, tok in enumerate(ids) if tok in eos), None)
        if eos_at is not None:
            end, reason = eos_at + 1, "stop"

        def text_of(part: Sequence[int]) -> str:
            return str(self.tokenizer.decode(list(part), skip_special_tokens=True))

        stop_at = first_stop(text_of, ids[:end], sampling.stop)
        if stop_at is not None:
            end, reason = stop_at, "stop"
        kept = ids[:end]
        return Completion(
            tuple(prompt), tuple(kept), text_of(kept), reason, tuple(decoded.logprobs[:end])
        )

    def state_dict(self) -> dict[str, int]:
        """The seed stream's position: a resumed run samples what the uninterrupted one would."""
        return {"seed": self.seed, "calls": self._calls}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self.seed, self._calls = int(state["seed"]), int(state["calls"])

    def samples_from(self, model: object) -> bool:
        """True when ``model`` is the very object this engine generates with."""
        return self.model is model

    def update_weights(self, weights: Mapping[str, torch.Tensor] | None = None) -> None:
        """Load ``weights`` (by parameter name) into the engine's model; ``None``: nothing to
        do, the engine samples from the shared model object as it is now."""
        if weights is None:
            return
        result = self.model.load_state_dict(dict(weights), strict=False)
        if result.unexpected_keys:
            raise ValueError(
                f"{len(result.unexpected_keys)} weight(s) do not belong to the engine's model, "
                f"e.g. {result.unexpected_keys[:3]}"
            )
