"""Rollouts with Hugging Face transformers' ``generate``: batched, left-padded, KV cache.

The engine can share the trainer's model object (a peft ``PeftModel`` included): then it samples
from the current weights with no copy and no weight push. Log-probs are the log-softmax of the
raw logits ``generate`` returns (``output_logits=True``), gathered at the sampled tokens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch

from strata_rollout.engine import context_length_of, encode_prompts, first_stop
from strata_rollout.types import Completion, FinishReason, Prompt, SamplingConfig

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def _call_seed(seed: int, call: int) -> int:
    digest = hashlib.sha256(f"{seed}:{call}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF


@contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch for one call without disturbing the caller's random state."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class HFEngine:
    """``generate`` over a transformers causal LM (see module doc)."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        seed: int = 0,
        max_batch_size: int = 64,
    ) -> None:
        """
        Args:
            model: any causal LM ``generate`` works with; share the trainer's to avoid a copy.
            tokenizer: its tokenizer; padding side is set to left here.
            seed: seeds the stream of per-call seeds (calls with ``sampling.seed`` use theirs).
            max_batch_size: sequences (prompts × n) per ``generate`` call; bounds memory, since
                the raw logits of every step are kept until the call ends ([B, T, vocab]).
        """
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.seed = seed
        self.max_batch_size = max_batch_size
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
        self, prompts: Sequence[Prompt], n: int, sampling: SamplingConfig
    ) -> list[list[Completion]]:
        """``n`` completions for each prompt (one inner list per prompt, in order)."""
        encoded = encode_prompts(
            self.tokenizer, prompts, n, sampling, context_length_of(self.model.config)
        )
        seed = sampling.seed if sampling.seed is not None else _call_seed(self.seed, self._calls)
        self._calls += 1
        # Greedy samples are all the same: generate one per prompt and copy it.
        draws = 1 if sampling.temperature == 0 else n
        flat = [ids for ids in encoded for _ in range(draws)]
        out: list[Completion] = []
        was_training = self.model.training
        self.model.eval()
        try:
            with _seeded(seed, self.device), torch.no_grad():
                for start in range(0, len(flat), self.max_batch_size):
                    out += self._generate_batch(flat[start : start + self.max_batch_size], sampling)
        finally:
            self.model.train(was_training)
        groups = [out[i * draws : (i + 1) * draws] for i in range(len(encoded))]
        return [g * n if draws == 1 else g for g in groups]

    def _generate_batch(self, batch: list[list[int]], sampling: SamplingConfig) -> list[Completion]:
        pad = int(self.tokenizer.pad_token_id)
        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)  # [B, P]
        attention = torch.zeros((len(batch), width), dtype=torch.long)  # [B, P]
        for row, ids in enumerate(batch):
            input_ids[row, width - len(ids) :] = torch.tensor(ids)
            attention[row, width - len(ids) :] = 1
        greedy = sampling.temperature == 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_new_tokens,
            "do_sample": not greedy,
            "pad_token_id": pad,
            "eos_token_id": sorted(self._eos_ids()) or None,
            "return_dict_in_generate": True,
            "output_logits": True,
            "use_cache": True,
        }
        if not greedy:
            kwargs.update(
                temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k or None
            )
        else:  # the model's generation_config may set them; greedy must ignore them
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if sampling.stop:
            kwargs.update(stop_strings=list(sampling.stop), tokenizer=self.tokenizer)
        result = self.model.generate(
            input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device), **kwargs
        )
        new = result.sequences[:, width:].cpu()  # [B, T]
        logprobs = torch.empty(new.shape, dtype=torch.float32)  # [B, T]
        for t, step_logits in enumerate(result.logits):  # each [B, vocab]
            lp = torch.log_softmax(step_logits.float(), dim=-1)
            logprobs[:, t] = lp.gather(1, new[:, t : t + 1].to(lp.device)).squeeze(1).cpu()
        eos = self._eos_ids()
        return [
            self._completion(prompt, new[row].tolist(), logprobs[row].tolist(), eos, sampling)
            for row, prompt in enumerate(batch)
        ]

    def _completion(
        self,
        prompt: list[int],
        ids: list[int],
        logprobs: list[float],
        eos: set[int],
        sampling: SamplingConfig,
    ) -> Completion:
        end, reason = len(ids), "length"
        eos_at = next((i for i, tok in enumerate(ids) if tok in eos), None)
        if eos_at is not None:
            end, reason = eos_at + 1, "stop"

        def text_of(part: Sequence[int]) -> str:
            return str(self.tokenizer.decode(list(part), skip_special_tokens=True))

        stop_at = first_stop(text_of, ids[:end], sampling.stop)
        if stop_at is not None:
            end, reason = stop_at, "stop"
        finish: FinishReason = "stop" if reason == "stop" else "length"
        kept = ids[:end]
        return Completion(tuple(prompt), tuple(kept), text_of(kept), finish, tuple(logprobs[:end]))

    def state_dict(self) -> dict[str, int]:
        """The seed stream's position: a resumed run samples what the uninterrupted one would."""
        return {"seed": self.seed, "calls": self._calls}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self.seed, self._calls = int(state["seed"]), int(state["calls"])

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
