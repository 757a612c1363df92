"""What goes into a rollout engine and what comes out: prompts, sampling options, completions."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

ChatMessage: TypeAlias = Mapping[str, str]
"""``{"role": "user", "content": "..."}``."""
Prompt: TypeAlias = str | Sequence[ChatMessage]
"""Plain text (used as is) or chat messages (rendered with the tokenizer's chat template)."""
FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class SamplingConfig:
    """How completions are sampled. The same fields mean the same thing in every engine."""

    max_new_tokens: int = 256
    """Completion tokens at most; a completion that reaches it finishes with ``"length"``."""
    temperature: float = 1.0
    """0 samples greedily (then every one of the ``n`` completions of a prompt is the same)."""
    top_p: float = 1.0
    """Nucleus sampling: keep the smallest set of tokens whose probability reaches ``top_p``."""
    top_k: int = 0
    """Keep the ``top_k`` most likely tokens; 0 keeps all."""
    stop: tuple[str, ...] = ()
    """Strings that end a completion (kept in its text), besides the tokenizer's EOS."""
    seed: int | None = None
    """Seeds this call alone; ``None`` draws from the engine's own seeded stream."""

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if not 0 <= self.temperature < math.inf:  # also NaN
            raise ValueError(f"temperature must be finite and >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0 (0: off), got {self.top_k}")
        if isinstance(self.stop, str):  # a string is a tuple of one-letter stops
            raise TypeError(f"stop must be a tuple of strings, got the string {self.stop!r}")
        if any(not s for s in self.stop):
            raise ValueError("stop strings must be non-empty")


@dataclass(frozen=True)
class Completion:
    """One sampled completion of one prompt."""

    prompt_ids: tuple[int, ...]
    """The prompt's token ids, as the model saw them (no padding). Shape: [P]."""
    completion_ids: tuple[int, ...]
    """Sampled token ids, the EOS or stop tokens included, nothing after them. Shape: [T]."""
    text: str
    """``completion_ids`` decoded, special tokens skipped."""
    finish_reason: FinishReason
    """``"stop"``: EOS or a stop string; ``"length"``: ``max_new_tokens`` reached."""
    logprobs: tuple[float, ...] = field(repr=False)
    """The sampler's log-probability of each sampled token under the distribution it was drawn
    from: ``softmax(logits / temperature)`` (temperature 1 when greedy), then top-k and top-p,
    each renormalised (vLLM's ``processed_logprobs``; both engines alike). Without top-k and
    top-p that is the tempered policy. Shape: [T]. Zeros where the caller asked for none. The
    trainer recomputes its own (of the untruncated policy); these are for importance correction,
    which with truncation then also corrects for the mass top-k/top-p cut, and diagnostics."""

    def __post_init__(self) -> None:
        if len(self.logprobs) != len(self.completion_ids):
            raise ValueError(
                f"{len(self.logprobs)} log-probs for {len(self.completion_ids)} completion tokens"
            )
