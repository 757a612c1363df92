"""The public verbs: extract an answer, verify it, score a completion.

``total = w_o·outcome + w_s·structure − w_r·repetition``, every component reported; degenerate
text (empty, punctuation only, one character repeated) scores 0 in every component but
repetition (1) and in the total. Nothing a model writes makes these functions raise: only a
bad *gold* answer or an unknown domain does.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

from strata_rewards.domains import Answer, Domain, Gold, get_domain
from strata_rewards.extract import AnswerSpan, answer_span
from strata_rewards.repetition import (
    WordSplit,
    is_degenerate,
    word_repetition,
    word_splitter,
)
from strata_rewards.templates import Template, structure_score


@dataclass(frozen=True)
class Weights:
    """Weights of the composite reward."""

    outcome: float = 1.0
    structure: float = 0.2
    repetition: float = 0.5
    ngram: int = 3
    """n of the repeated n-grams the repetition penalty counts (word level)."""
    words: WordSplit = "wordpunct"
    """How the repetition penalty cuts a completion into words (``WordSplit``)."""
    structure_gate: Literal["none", "parsed", "correct"] = "none"
    """When the structure score counts: always (none), only for a completion whose answer was
    read (parsed), or only for a right one (correct). Gated, no completion earns reward for
    tags alone (a guard against format hacking, docs/grpo.md)."""

    def __post_init__(self) -> None:
        weights = {
            "outcome": self.outcome,
            "structure": self.structure,
            "repetition": self.repetition,
        }
        bad = {
            k: w
            for k, w in weights.items()
            if isinstance(w, bool)
            or not isinstance(w, numbers.Real)
            or not (w >= 0 and math.isfinite(w))  # nan once passed a "< 0" test
        }
        if bad:
            raise ValueError(f"reward weights must be finite numbers >= 0, got {bad}")
        if not any(weights.values()):
            raise ValueError("reward weights are all 0: every completion would score 0")
        if isinstance(self.ngram, bool) or not isinstance(self.ngram, int) or self.ngram < 1:
            raise ValueError(f"ngram must be an int >= 1, got {self.ngram!r}")
        word_splitter(self.words)  # ValueError naming the allowed cuts
        if self.structure_gate not in ("none", "parsed", "correct"):
            raise ValueError(
                f"structure_gate must be none, parsed or correct, got {self.structure_gate!r}"
            )


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True)
class RewardBreakdown:
    """One completion's reward and its parts."""

    outcome: float
    """1.0 if the extracted answer equals the gold one, else 0.0."""
    structure: float
    """Share of the template's checks passed, in [0, 1]."""
    repetition: float
    """Share of repeated word n-grams, in [0, 1]."""
    total: float
    """outcome_reward + structure_reward − the repetition term (times the domain's scale); 0
    for a degenerate completion (nothing said)."""
    outcome_reward: float
    """The outcome's term of ``total``: its weight × outcome."""
    structure_reward: float
    """The structure's term of ``total``: its weight × structure, after the gate. Its share of
    ``outcome_reward + structure_reward`` over a batch says how much of the reward is format."""
    answer: Answer | None
    """The extracted answer (float, letter or bool), or None."""
    source: str | None = None
    """Where the answer was found: answer_tag, hash, boxed, text."""


def _domain(domain: str | Domain) -> Domain:
    return domain if isinstance(domain, Domain) else get_domain(domain)


def _check_completion(completion: object) -> None:
    # Whatever text a model writes is scored; a non-string is the caller's slip (often a chat
    # completion, a list of messages), which would otherwise fail deep in the parser.
    if not isinstance(completion, str):
        hint = (
            " (a chat completion? pass its message's 'content')"
            if isinstance(completion, list | dict)
            else ""
        )
        raise TypeError(f"completion must be a str, got {type(completion).__name__}{hint}")


def _extract(d: Domain, completion: str, template: Template | None) -> tuple[Any, AnswerSpan]:
    tag = (template or d.template).answer_tag
    span = answer_span(completion, answer_tag=tag)
    return d.pick(span), span


def extract_answer(domain: str | Domain, completion: str) -> str | None:
    """The answer a completion gives, as text ("18", "B", "yes"), or None."""
    _check_completion(completion)
    value, _ = _extract(_domain(domain), completion, None)
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def verify(domain: str | Domain, completion: str, gold: Gold) -> bool:
    """Whether the completion's answer equals ``gold`` (raises GoldError on an unreadable gold)."""
    _check_completion(completion)
    d = _domain(domain)
    expected = d.parse_gold(gold)
    value, _ = _extract(d, completion, None)
    return value is not None and d.equal(value, expected)


def score(
    domain: str | Domain,
    completion: str,
    gold: Gold,
    *,
    template: Template | None = None,
    weights: Weights | None = None,
) -> RewardBreakdown:
    """Outcome, structure and repetition of one completion, and their weighted total."""
    _check_completion(completion)
    if weights is not None and not isinstance(weights, Weights):
        raise TypeError(
            f"weights must be a Weights, got {type(weights).__name__} (from a dict: "
            "Weights(**mapping))"
        )
    d = _domain(domain)
    w = weights or DEFAULT_WEIGHTS
    expected = d.parse_gold(gold)
    if is_degenerate(completion):
        return RewardBreakdown(0.0, 0.0, 1.0, 0.0, 0.0, 0.0, None, None)
    t = template or d.template
    value, span = _extract(d, completion, t)
    outcome = 1.0 if value is not None and d.equal(value, expected) else 0.0

    def readable(text: str) -> bool:
        # The answer section is the span just read whenever it is well-formed: read it once.
        if span.source == "answer_tag" and text == span.text:
            return value is not None
        return d.pick(AnswerSpan(text, "answer_tag")) is not None

    structure = structure_score(completion, t, readable)
    if (w.structure_gate == "parsed" and value is None) or (
        w.structure_gate == "correct" and outcome == 0.0
    ):
        structure = 0.0
    repetition = word_repetition(completion, w.ngram, word_splitter(w.words))
    outcome_reward, structure_reward = w.outcome * outcome, w.structure * structure
    total = outcome_reward + structure_reward - w.repetition * repetition
    return RewardBreakdown(
        outcome, structure, repetition, total, outcome_reward, structure_reward, value, span.source
    )
