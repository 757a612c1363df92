"""Repetition penalty and degenerate-text detection, linear in the text's length."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

_WORD = re.compile(r"\S+")


def is_degenerate(text: str) -> bool:
    """Empty, whitespace, only punctuation, or one character repeated: nothing was said."""
    visible = "".join(text.split())
    if not visible:
        return True
    if not any(ch.isalnum() for ch in visible):
        return True
    return len(set(visible)) == 1


def repetition_rate(
    text: str | Sequence[int],
    *,
    n: int = 3,
    level: Literal["word", "token"] = "word",
) -> float:
    """Share of n-grams that repeat an earlier one, in [0, 1]: ``1 - distinct / total``.

    ``level="word"`` splits a string on whitespace (case-folded); ``level="token"`` takes a
    sequence of token ids (or splits a string into characters' code points). Texts too short to
    hold two n-grams score 0. Degenerate text scores 1.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if isinstance(text, str):
        if is_degenerate(text):
            return 1.0
        units: Sequence[object] = (
            _WORD.findall(text.lower()) if level == "word" else [ord(c) for c in text]
        )
    else:
        units = list(text)
    total = len(units) - n + 1
    if total < 2:
        return 0.0
    distinct = len({tuple(units[i : i + n]) for i in range(total)})
    return 1.0 - distinct / total
