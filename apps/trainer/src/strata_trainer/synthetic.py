"""Built-in synthetic domains that need no download, generated from a seed with a difficulty knob.

- ``arithmetic`` (reward domain ``gsm8k``, numeric answer): one- to three-step word problems.
- ``choice`` (reward domain ``mmlu``, letter answer): which of four numbers is largest/smallest
  /even/a multiple of k.
- ``compare`` (reward domain ``strategyqa``, yes/no): is one quantity larger than another.

``difficulty`` (1–5) scales the numbers and the number of steps. Same ``(seed, difficulty, n)``
-> same rows, so train and eval splits come from disjoint seeds.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from strata_rewards.extract import LETTERS

NAMES = ("Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun")
ITEMS = ("apples", "books", "coins", "marbles", "pencils", "stamps", "shells", "cards")


def with_options(question: str, options: Sequence[str]) -> str:
    """A multiple-choice question as every MMLU-style domain shows it: the question, then one
    ``A. option`` line per option."""
    lines = (f"{letter}. {text.strip()}" for letter, text in zip(LETTERS, options, strict=True))
    return question.strip() + "\n" + "\n".join(lines)


@dataclass(frozen=True)
class Row:
    question: str
    answer: Any
    """A number (arithmetic), a letter A–D (choice) or a bool (compare)."""


def _top(difficulty: int) -> int:
    """Largest number at a difficulty: 20, 100, 1,000, 10,000, 100,000. Difficulty 1 keeps
    SmolLM2-135M's sampled accuracy on arithmetic off the floor (docs/default-run.md)."""
    return (20, 100, 1_000, 10_000, 100_000)[difficulty - 1]


@dataclass(frozen=True)
class Story:
    """An arithmetic word problem without its question: what ``name`` has of ``item`` after the
    events in ``text``."""

    text: str
    name: str
    item: str
    total: int


def story(rng: random.Random, difficulty: int) -> Story:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    top = _top(difficulty)
    total = rng.randint(2, top)
    text = f"{name} has {total} {item}."
    for _ in range(min(1 + difficulty // 2, 3)):
        kind = rng.choice(("buy", "give", "double") if total < top else ("give",))
        if kind == "buy":
            k = rng.randint(1, top)
            total += k
            text += f" Then {name} buys {k} more."
        elif kind == "give" and total > 1:
            k = rng.randint(1, total - 1)
            total -= k
            text += f" Then {name} gives away {k}."
        else:
            total *= 2
            text += f" Then the number of {item} doubles."
    return Story(text, name, item, total)


def arithmetic(rng: random.Random, difficulty: int) -> Row:
    told = story(rng, difficulty)
    return Row(f"{told.text} How many {told.item} does {told.name} have now?", told.total)


def choice(rng: random.Random, difficulty: int) -> Row:
    top = _top(difficulty)
    values = rng.sample(range(1, top + 4), 4)
    ask = rng.choice(("largest", "smallest"))
    target = max(values) if ask == "largest" else min(values)
    question = with_options(f"Which number is the {ask}?", [str(v) for v in values])
    return Row(question, LETTERS[values.index(target)])


def compare(rng: random.Random, difficulty: int) -> Row:
    top = _top(difficulty)
    a, b = rng.randint(1, top), rng.randint(1, top)
    if a == b:
        b += 1
    name_a, name_b = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    return Row(compare_question(name_a, a, name_b, b, item), a > b)


def compare_question(name_a: str, a: int, name_b: str, b: int, item: str) -> str:
    return (
        f"{name_a} has {a} {item} and {name_b} has {b} {item}. Does {name_a} have more {item} "
        f"than {name_b}?"
    )


GENERATORS: dict[str, tuple[str, Callable[[random.Random, int], Row]]] = {
    "arithmetic": ("gsm8k", arithmetic),
    "choice": ("mmlu", choice),
    "compare": ("strategyqa", compare),
}
"""Synthetic domain -> (reward domain, generator)."""


def stream(kind: str, *, seed: int, difficulty: int = 1) -> Iterator[Row]:
    """Endless rows of a synthetic domain; raises ``ValueError`` for an unknown kind or
    difficulty."""
    if kind not in GENERATORS:
        raise ValueError(f"unknown synthetic domain {kind!r}; known: {', '.join(GENERATORS)}")
    if not 1 <= difficulty <= 5:
        raise ValueError(f"difficulty must be 1..5, got {difficulty}")
    rng = random.Random(f"{kind}:{seed}:{difficulty}")
    make = GENERATORS[kind][1]
    while True:
        yield make(rng, difficulty)


def generate(kind: str, n: int, *, seed: int, difficulty: int = 1) -> list[Row]:
    """The first ``n`` rows of :func:`stream`."""
    return list(itertools.islice(stream(kind, seed=seed, difficulty=difficulty), n))
