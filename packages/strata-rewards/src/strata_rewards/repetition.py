"""Repetition penalty and degenerate-text detection, linear in the text's length."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

WordSplit = Literal["wordpunct", "whitespace"]
"""How ``level="word"`` cuts a text into words. wordpunct: runs of letters and digits, and runs of
other visible characters (NLTK's ``wordpunct_tokenize`` rule), so a text without spaces still has
words (``</think</think`` is ``</``, ``think``, ``</``, ``think``). whitespace: split on spaces
only, the rule before 2026-11-28, under which such a text is one word and cannot repeat."""

_SPLITTERS: dict[str, re.Pattern[str]] = {
    "wordpunct": re.compile(r"\w+|[^\w\s]+"),
    "whitespace": re.compile(r"\S+"),
}  # keys: exactly WordSplit's values (a test holds them equal)


def word_splitter(words: str) -> re.Pattern[str]:
    """The pattern whose matches are ``words``' words, or ValueError naming the allowed cuts."""
    try:
        return _SPLITTERS[words]
    except KeyError:
        raise ValueError(f"words must be one of {', '.join(_SPLITTERS)}, got {words!r}") from None


def is_degenerate(text: str) -> bool:
    """Empty, whitespace, only punctuation, or one character repeated: nothing was said."""
    visible = "".join(text.split())
    if not visible:
        return True
    if _ALNUM.search(visible) is None:  # str.isalnum's letters and digits, found in C
        return True
    return visible.count(visible[0]) == len(visible)


_ALNUM = re.compile(r"[^\W_]")


def repetition_rate(
    text: str | Sequence[int],
    *,
    n: int = 3,
    level: Literal["word", "token"] = "word",
    words: WordSplit = "wordpunct",
) -> float:
    """Share of n-grams that repeat an earlier one, in [0, 1]: ``1 - distinct / total``.

    ``level="word"`` cuts a string into case-folded words as ``words`` says (see ``WordSplit``);
    ``level="token"`` takes a sequence of token ids (or splits a string into characters' code
    points). Texts too short to hold two n-grams score 0. Degenerate text scores 1.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    splitter = word_splitter(words)
    if isinstance(text, str):
        if is_degenerate(text):
            return 1.0
        if level == "word":
            return word_repetition(text, n, splitter)
        units: Sequence[object] = [ord(c) for c in text]
    else:
        units = list(text)
    return _repeated_share(units, n)


def word_repetition(text: str, n: int, splitter: re.Pattern[str]) -> float:
    """:func:`repetition_rate` at word level of a text already known not to be degenerate
    (:func:`strata_rewards.score` checks that first, and a 100 kB text should be read once)."""
    return _repeated_share(splitter.findall(text.lower()), n)


def _repeated_share(units: Sequence[object], n: int) -> float:
    total = len(units) - n + 1
    if total < 2:
        return 0.0
    shifted = (units[i:] for i in range(n))
    distinct = len(set(zip(*shifted, strict=False)))  # n-grams: zip stops at the last whole one
    return 1.0 - distinct / total
