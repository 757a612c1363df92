"""Finding the answer in a completion, and reading numbers, letters and yes/no out of it.

Where the answer sits, in this order: inside the last ``<answer>…</answer>``; else on the line after
the last ``####``; else inside the last ``\\boxed{…}``; else the last candidate in the whole text.

Safety: no ``eval``/``sympify``; tags are found with ``str.find`` (never a lazy ``.*?`` regex,
which is quadratic on unclosed tags); the regexes below have no nested quantifiers, so each scan is
linear; numbers longer than :data:`MAX_NUMBER_CHARS` are ignored rather than parsed.
"""

from __future__ import annotations

import math
import re
import sys
import unicodedata
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, TypeVar

T = TypeVar("T")

MAX_NUMBER_CHARS = 40
"""Longer digit runs are not answers (and ``int()`` refuses 4,300+ digits anyway)."""

Source = Literal["answer_tag", "hash", "boxed", "text"]


def _last(matches: Iterator[T]) -> T | None:
    """The last item of an iterator (of regex matches), without keeping the others."""
    tail = deque(matches, maxlen=1)
    return tail[0] if tail else None


@dataclass(frozen=True)
class AnswerSpan:
    """Where the answer was looked for: the text of the span and which rule found it."""

    text: str
    source: Source


def _last_tag_span(text: str, open_tag: str, close_tag: str) -> str | None:
    """Content of the last well-formed ``open … close`` pair (linear: two ``rfind``)."""
    end = text.rfind(close_tag)
    if end == -1:
        return None
    # The nearest open before the last close; if there is none, no earlier pair exists either.
    start = text.rfind(open_tag, 0, end)
    return None if start == -1 else text[start + len(open_tag) : end]


def _last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{…}`` with balanced braces, scanning forward once."""
    start = text.rfind("\\boxed{")
    if start == -1:
        return None
    depth, i = 0, start + len("\\boxed{") - 1
    for j in range(i, len(text)):
        ch = text[j]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return None


def answer_span(completion: str, *, answer_tag: str | None = "answer") -> AnswerSpan:
    """The part of ``completion`` the answer is read from (see the module doc for the order)."""
    if answer_tag:
        inside = _last_tag_span(completion, f"<{answer_tag}>", f"</{answer_tag}>")
        if inside is not None and inside.strip():
            return AnswerSpan(inside, "answer_tag")
    mark = completion.rfind("####")
    if mark != -1:
        line = completion[mark + 4 :].split("\n", 1)[0]
        if line.strip():
            return AnswerSpan(line, "hash")
    boxed = _last_boxed(completion)
    if boxed is not None and boxed.strip():
        return AnswerSpan(boxed, "boxed")
    return AnswerSpan(completion, "text")


# ---------------------------------------------------------------- numbers (GSM8K)

# Every Unicode decimal digit (Arabic-Indic "١٢", full-width "１２", …) read as its ASCII digit.
_ASCII_DIGITS = {
    cp: str(unicodedata.decimal(chr(cp)))
    for cp in range(128, sys.maxunicode + 1)
    if unicodedata.category(chr(cp)) == "Nd"
}
# LaTeX fractions with plain-number parts become "a/b" ("\\frac{3}{4}", "\\dfrac{-1}{2}").
_LATEX_FRAC = re.compile(
    r"\\[dt]?frac\s*\{\s*([-−]?[0-9.,]{1,40})\s*\}\s*\{\s*([0-9.,]{1,40})\s*\}"
)

_NUMBER = re.compile(
    r"(?<![0-9A-Za-z.-])"  # not the tail of a word, a longer number, a decimal or 555-1234
    r"(?P<sign>[-−](?:\s?\$)?|\$\s?[-−]?)?"  # -5, −5, -$5, $-5, $5
    r"\s?(?P<num>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
    r"(?:[eE](?P<exp>[-+]?[0-9]{1,3})(?![0-9A-Za-z]))?"  # 1e5, 2.5E-3
    r"(?:\s?/\s?(?P<den>[0-9]+(?:\.[0-9]+)?))?"  # a/b
    r"(?![0-9])"
)
_CUT_AFTER = re.compile(r"=|\b(?:answer|result|total)\s*(?:is|:|=)|\bis\b", re.IGNORECASE)


@dataclass(frozen=True)
class NumberMatch:
    value: float
    start: int


def _value(m: re.Match[str]) -> float | None:
    """The value of one ``_NUMBER`` match; None for digit runs too long or a zero denominator."""
    num, den, exp = m.group("num"), m.group("den"), m.group("exp")
    if len(num) > MAX_NUMBER_CHARS or (den and len(den) > MAX_NUMBER_CHARS):
        return None
    value = float(num.replace(",", ""))
    if exp is not None:
        try:
            value *= 10.0 ** int(exp)
        except OverflowError:  # 1e999 is not an answer
            return None
    if den is not None:
        d = float(den)
        if d == 0:
            return None
        value /= d
    sign = m.group("sign") or ""
    return -value if ("-" in sign or "−" in sign) else value


def numbers(text: str) -> list[NumberMatch]:
    """Every number in ``text`` with its value: commas, ``$``, ``%``, units after it, ``a/b``,
    negatives and decimals are understood; absurdly long digit runs are skipped."""
    text = normalise_digits(text)
    out = []
    for m in _NUMBER.finditer(text):
        value = _value(m)
        if value is not None:
            out.append(NumberMatch(value, m.start()))
    return out


def _first_number(text: str) -> float | None:
    for m in _NUMBER.finditer(text):
        value = _value(m)
        if value is not None:
            return value
    return None


SUFFIX_WINDOWS = (512, 4_096, 32_768)
"""Suffix lengths :func:`_last_valid` tries before the whole text: the answer is near the end, and
a 100 kB completion should cost what its tail does."""


def _suffix_starts(n: int, pos: int) -> Iterator[int]:
    for window in SUFFIX_WINDOWS:
        if n - window > pos:
            yield n - window
    yield pos


def _last_valid(
    pattern: re.Pattern[str],
    text: str,
    read: Callable[[re.Match[str]], T | None],
    pos: int = 0,
    end: int | None = None,
) -> T | None:
    """``read`` of the last match of ``pattern`` in ``text[pos:]`` (lookbehinds seeing what
    precedes ``pos``) that ``read`` accepts, or None: the same as scanning the whole text, at
    the cost of a suffix. A scan begun inside the text may start mid-way through a match of the
    whole-text scan; its first match is therefore never trusted, and from its second match on the
    two scans coincide (every partial match ends where the whole one does; a property test
    holds the two equal). The regex engine walks the matches; only the last few reach Python.
    ``end``: no match of interest ends after ``end - 1`` (the suffixes end there instead)."""
    n = len(text) if end is None else end
    for start in _suffix_starts(n, pos):
        tail = deque(enumerate(pattern.finditer(text, start, n)), maxlen=8)
        for i, m in reversed(tail):
            if i == 0 and start != pos:
                break
            value = read(m)
            if value is not None:
                return value
        if start != pos:
            continue
        if len(tail) < 8:
            return None
        # Eight unreadable matches in a row at the end: rare enough to afford the full scan.
        found = [v for v in map(read, pattern.finditer(text, pos, n)) if v is not None]
        return found[-1] if found else None
    return None


_IS_CASES = ("is", "Is", "iS", "IS")


def _last_cut(text: str) -> re.Match[str] | None:
    """The last ``_CUT_AFTER`` match. Every one ends with "=", ":" or "is": the scan ends one
    character past the last of those (what ``\b`` looks at), and a text without any costs three
    ``str.rfind``."""
    # (Not text.lower(): it can change the length, "İ" -> "i̇".)
    last = max(text.rfind("="), text.rfind(":"), *(text.rfind(c) + 1 for c in _IS_CASES))
    if last == -1:
        return None
    return _last_valid(_CUT_AFTER, text, lambda m: m, end=min(len(text), last + 2))


def _last_number(text: str, pos: int = 0) -> float | None:
    """The last number starting at or after ``pos``. Every number ends with a digit: the scan
    ends one character past the last digit (what the pattern's lookahead reads)."""
    last = max(text.rfind(digit) for digit in "0123456789")
    if last < pos:
        return None
    return _last_valid(_NUMBER, text, _value, pos, end=min(len(text), last + 2))


def normalise_digits(text: str) -> str:
    """Unicode digits as ASCII and LaTeX ``\\frac{a}{b}`` as ``a/b``; same length or shorter."""
    if not text.isascii():
        text = text.translate(_ASCII_DIGITS)
    if "frac" in text:
        text = _LATEX_FRAC.sub(r"\1/\2", text)
    return text


def _strip_parentheticals(text: str) -> str:
    """Drop ``( … )`` asides (nested ones too; a stray ``)`` is kept; an unclosed ``(`` drops
    the rest), linear: "18 (9 eggs × $2)" answers 18, not 2. Each aside costs a few ``str.find``
    and ``str.count`` calls, not a Python step per character (the loop it replaced was the
    slowest part of scoring 100 kB of digits)."""
    if "(" not in text:
        return text
    out, pos, n = [], 0, len(text)
    while pos < n:
        start = text.find("(", pos)
        if start == -1:
            out.append(text[pos:])
            break
        out.append(text[pos:start])
        depth, pos = 1, start + 1
        while depth:
            close = text.find(")", pos)
            if close == -1:  # unclosed: everything after it is inside
                pos = n
                break
            depth += text.count("(", pos, close) - 1
            pos = close + 1
    kept = "".join(out)
    return kept if kept else text


def pick_number(span: AnswerSpan) -> float | None:
    """The number a span answers with.

    In a ``####`` line: the first number (the gold format is ``#### 18``). Elsewhere: parenthetical
    asides dropped, then the last number after the last ``=`` / "answer is" / "is" when there is
    one, else the last number ("the answer is not 5, it is 6" -> 6).
    """
    if span.source == "hash":
        return _first_number(normalise_digits(span.text))
    text = normalise_digits(_strip_parentheticals(span.text))
    cut = _last_cut(text)
    if cut is not None:
        after = _last_number(text, cut.end())
        if after is not None:
            return after
    return _last_number(text)


def numbers_equal(a: float, b: float, rel_tol: float = 1e-6) -> bool:
    """Equal within a relative tolerance (and 1e-9 absolute, for answers of 0).

    Two whole numbers must be equal exactly: SPEC.md's 1e-6 relative tolerance would otherwise
    call 999,999 and 1,000,000 equal, and GSM8K has answers that large.
    """
    if a.is_integer() and b.is_integer():
        return a == b
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-9)


# ---------------------------------------------------------------- choice letters (MMLU)

LETTERS = "ABCD"
_CHOICE_PHRASE = re.compile(
    r"\b(?:answer|option|choice)\s*(?:is|:|=)?\s*(?:option\s*|choice\s*)?[(\[]?([A-Da-d])\b[)\].]?"
    r"(?![A-Za-z'-])",
    re.IGNORECASE,
)
_CHOICE_BRACKETED = re.compile(r"[(\[]([A-D])[)\]]")
_CHOICE_LEADING = re.compile(r"^\s*[(\[]?([A-Da-d])(?:[)\].:]|\s*$)")
_CHOICE_ONLY = re.compile(r"\s*[(\[]?([A-Da-d])[)\].]?\s*")
_CHOICE_ALONE = re.compile(r"(?<![A-Za-z'’-])([A-D])(?![A-Za-z'’-])(?!\s+[a-z])")


def pick_choice(span: AnswerSpan) -> str | None:
    """A letter A–D: "(B)", "B.", "B) Paris", "answer is b", or a lone capital.

    A lone "A" followed by a lowercase word is the article, not an answer ("A cat sat").
    Inside an answer tag or after ``####`` a span that starts with a letter answers with it.
    """
    text = span.text
    only = _CHOICE_ONLY.fullmatch(text)
    if only:
        return only.group(1).upper()
    if span.source != "text":
        m = _CHOICE_LEADING.match(text)
        if m:
            return m.group(1).upper()
    low = text.lower()
    for pattern, needs in (
        (_CHOICE_PHRASE, "answer" in low or "option" in low or "choice" in low),
        (_CHOICE_BRACKETED, "(" in text or "[" in text),
        (_CHOICE_ALONE, any(letter in text for letter in LETTERS)),
    ):
        # ``needs``: what every match holds, checked in C first (a scan costs ~20 ms a 100 kB)
        last = _last(pattern.finditer(text)) if needs else None
        if last is not None:
            return last.group(1).upper()
    return None


# ---------------------------------------------------------------- yes / no (StrategyQA)

_YES = {"yes", "true", "correct"}
_NO = {"no", "false", "incorrect"}
_YESNO_WORD = re.compile(
    r"(?<![A-Za-z])(yes|no|true|false|correct|incorrect)(?![A-Za-z'’])", re.IGNORECASE
)
_YESNO_PHRASE = re.compile(
    r"\banswer\s*(?:is|:|=)?\s*[\"'“]?(yes|no|true|false)(?![A-Za-z])", re.IGNORECASE
)


_SENTENCE_ENDS = (". ", "? ", "! ", "\n")
_CLAUSE_END = re.compile(r"[.,;:!?\n]")


def _polarity(word: str) -> bool:
    return word.lower() in _YES


def pick_yes_no(span: AnswerSpan) -> bool | None:
    """True for yes, False for no, None when absent or ambiguous ("Yes and no").

    A delimited span answers with its words if they all agree. Free text: the last "answer is
    …" phrase, else a leading "Yes."/"No,", else the last sentence's words if they agree.
    """
    text = span.text
    low = text.lower()
    if not any(word in low for word in ("yes", "no", "true", "false", "correct")):
        return None  # every rule below needs one of these words: skip the scans (C checks)
    if span.source != "text":
        words = {_polarity(w) for w in _YESNO_WORD.findall(text)}
        return words.pop() if len(words) == 1 else None
    phrase = _last(_YESNO_PHRASE.finditer(text)) if "answer" in low else None
    if phrase is not None:
        return _polarity(phrase.group(1))
    lead = _YESNO_WORD.match(text.lstrip())
    if lead is not None:
        # "Yes and no, ..." hedges: the leading clause must not hold both polarities.
        clause = _CLAUSE_END.split(text.lstrip(), maxsplit=1)[0]
        words = {_polarity(w) for w in _YESNO_WORD.findall(clause)}
        return words.pop() if len(words) == 1 else None
    stripped = text.rstrip()
    cut = max(stripped.rfind(end, 0, len(stripped) - 1) for end in _SENTENCE_ENDS)
    words = {_polarity(w) for w in _YESNO_WORD.findall(stripped[cut + 1 :])}
    return words.pop() if len(words) == 1 else None
