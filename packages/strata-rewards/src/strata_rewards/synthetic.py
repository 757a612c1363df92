"""Built-in synthetic domains that need no download, generated from a seed with a difficulty knob.

- ``arithmetic`` (reward domain ``gsm8k``, numeric answer): one- to three-step word problems.
- ``sum`` (``gsm8k``): "What is 23 + 45?", two numbers of 10–60 (larger with difficulty).
- ``add_digit`` (``gsm8k``): "What is 7 + 46?", a one-digit number and a two-digit one.
- ``multiply`` (``gsm8k``): "What is 7 times 46?", a one-digit number times a two-digit one.
- ``subtract`` (``gsm8k``): "What is 52 - 7?", a two-digit number minus a one-digit one.
- ``double`` (``gsm8k``): "What is double 347?", a number of 10–999.
- ``choice`` (``mmlu``, a letter): which of four numbers is the largest or the smallest.
- ``compare`` (``strategyqa``, yes/no): does one person have more of something than another.

The default trains the first three, the ones on which SmolLM2-135M's sampled answers beat a
constant answer (the learnability probe, ``strata-eval --probe``; docs/default-run.md §14);
``multiply`` and ``subtract`` pass it too (§17: operations other than addition, so that two
neighbouring sums need not stand side by side); ``double``, ``choice`` and ``compare`` did not
pass it and are kept for experiments.
``difficulty`` (1–5) scales the numbers and the steps.

Every row carries a content ``key``: its operation and numbers, without the names and objects
that dress it ("Ada has 3 apples" and "Ben has 3 cards" are one item). Items are split into
train, dev (used while choosing defaults: the probe) and eval (reported) by a hash of the key, so
no held-out item repeats a training item's content, whatever the seed or the sizes.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from strata_rewards.domains import register_alias
from strata_rewards.extract import LETTERS

Split = Literal["train", "dev", "eval"]

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
    answer: int | str | bool
    """A number (arithmetic, sum, double), a letter A–D (choice) or a bool (compare)."""
    key: str
    """The content: operation and numbers, without names and objects (the split's unit)."""
    skill: str | None = None
    """What this item asks that others of its domain may not (``"carry"`` where the units of a
    sum carry; the operation of a word problem): the evaluation's accuracy per skill shows a
    model that learned a domain's easy half only (docs/results.md: a run that learned to drop
    ``sum``'s carry). Computed from the drawn numbers: no draw of its own, so the items are
    the same with or without it."""


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
    steps: str
    """The events as operations ("12+5*2-3"): the story's content."""


def story(rng: random.Random, difficulty: int) -> Story:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    top = _top(difficulty)
    total = rng.randint(2, top)
    text = f"{name} has {total} {item}."
    steps = str(total)
    for _ in range(min(1 + difficulty // 2, 3)):
        kind = rng.choice(("buy", "give", "double") if total < top else ("give",))
        if kind == "buy":
            k = rng.randint(1, top)
            total += k
            text += f" Then {name} buys {k} more."
            steps += f"+{k}"
        elif kind == "give" and total > 1:
            k = rng.randint(1, total - 1)
            total -= k
            text += f" Then {name} gives away {k}."
            steps += f"-{k}"
        else:
            total *= 2
            text += f" Then the number of {item} doubles."
            steps += "*2"
    return Story(text, name, item, total, steps)


OPERATIONS = {"+": "add", "-": "subtract", "*": "double"}


def story_skill(steps: str) -> str:
    """``"12+5*2"`` -> ``"add, double"``: a word problem's operations, in order."""
    return ", ".join(OPERATIONS[c] for c in steps if c in OPERATIONS)


def carry_skill(a: int, b: int) -> str:
    """``"carry"`` where the units of ``a + b`` carry into the tens, else ``"no carry"``."""
    return "carry" if a % 10 + b % 10 >= 10 else "no carry"


def arithmetic(rng: random.Random, difficulty: int) -> Row:
    told = story(rng, difficulty)
    question = f"{told.text} How many {told.item} does {told.name} have now?"
    return Row(question, told.total, f"story:{told.steps}", story_skill(told.steps))


def sum_of_two(rng: random.Random, difficulty: int) -> Row:
    """Two two-digit numbers, 10–60 at difficulty 1 (up to 300, 3,000... with difficulty). One
    digit plus one digit is easy for SmolLM2-135M but has 81 contents; one plus two digits was
    harder than two of 10–60 (docs/default-run.md §14)."""
    top = 60 if difficulty == 1 else 3 * 10**difficulty
    a, b = rng.randint(10, top), rng.randint(10, top)
    return Row(f"What is {a} + {b}?", a + b, f"sum:{min(a, b)}+{max(a, b)}", carry_skill(a, b))


def add_digit(rng: random.Random, difficulty: int) -> Row:
    """A one-digit number and a two-digit one (10–99 at difficulty 1), in either order: harder for
    SmolLM2-135M than two numbers of 10–60 (docs/default-run.md §14)."""
    small = rng.randint(1, 9)
    large = rng.randint(10, 10 ** (difficulty + 1) - 1)
    a, b = (small, large) if rng.random() < 0.5 else (large, small)
    return Row(f"What is {a} + {b}?", a + b, f"add_digit:{small}+{large}", carry_skill(a, b))


def multiply(rng: random.Random, difficulty: int) -> Row:
    """A one-digit number (2–9) times a two-digit one (10–99 at difficulty 1; more digits with
    difficulty): 720 contents, where the one-digit table SmolLM2-135M knows has only 64
    (docs/default-run.md §17)."""
    a, b = rng.randint(2, 9), rng.randint(10, 10 ** (difficulty + 1) - 1)
    return Row(f"What is {a} times {b}?", a * b, f"multiply:{a}*{b}")


def subtract(rng: random.Random, difficulty: int) -> Row:
    """A two-digit number (10–99 at difficulty 1) minus a one-digit one: two two-digit numbers
    were at the floor for SmolLM2-135M (docs/default-run.md §14), this is not (§17)."""
    a, b = rng.randint(10, 10 ** (difficulty + 1) - 1), rng.randint(1, 9)
    borrow = "borrow" if a % 10 < b else "no borrow"
    return Row(f"What is {a} - {b}?", a - b, f"subtract:{a}-{b}", borrow)


def double(rng: random.Random, difficulty: int) -> Row:
    """Twice a number of two or three digits (10–999 at difficulty 1; more with difficulty)."""
    n = rng.randint(10, 10 ** (difficulty + 2) - 1)
    carries = any(int(d) >= 5 for d in str(n))
    return Row(f"What is double {n}?", 2 * n, f"double:{n}", "carry" if carries else "no carry")


def choice(rng: random.Random, difficulty: int) -> Row:
    top = _top(difficulty)
    values = rng.sample(range(1, top + 4), 4)
    ask = rng.choice(("largest", "smallest"))
    target = max(values) if ask == "largest" else min(values)
    question = with_options(f"Which number is the {ask}?", [str(v) for v in values])
    return Row(question, LETTERS[values.index(target)], f"choice:{ask}:{values}", ask)


def compare(rng: random.Random, difficulty: int) -> Row:
    top = _top(difficulty)
    a, b = rng.randint(1, top), rng.randint(1, top)
    if a == b:
        b += 1
    name_a, name_b = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    return Row(compare_question(name_a, a, name_b, b, item), a > b, f"compare:{a}>{b}")


def compare_question(name_a: str, a: int, name_b: str, b: int, item: str) -> str:
    return (
        f"{name_a} has {a} {item} and {name_b} has {b} {item}. Does {name_a} have more {item} "
        f"than {name_b}?"
    )


GENERATORS: dict[str, tuple[str, Callable[[random.Random, int], Row]]] = {
    "arithmetic": ("gsm8k", arithmetic),
    "sum": ("gsm8k", sum_of_two),
    "add_digit": ("gsm8k", add_digit),
    "multiply": ("gsm8k", multiply),
    "subtract": ("gsm8k", subtract),
    "double": ("gsm8k", double),
    "choice": ("mmlu", choice),
    "compare": ("strategyqa", compare),
}
"""Synthetic domain -> (the built-in domain that scores it, generator). Each is registered in
strata-rewards as an alias of that domain (``register_alias``): one registry knows every
domain, and ``strata_rewards.score("sum", ...)`` scores as ``gsm8k`` does."""

for _name, (_scored_as, _) in GENERATORS.items():
    register_alias(_name, _scored_as)

EXAMPLES: dict[str, tuple[str, str, str]] = {
    "arithmetic": (
        "Mia has 3 cups. Then Mia buys 4 more. How many cups does Mia have now?",
        "Mia had 3 and buys 4: 3 + 4 = 7.",
        "7",
    ),
    "sum": ("What is 23 + 15?", "23 + 15 = 38.", "38"),
    "add_digit": ("What is 7 + 46?", "7 + 46 = 53.", "53"),
    "multiply": ("What is 3 times 14?", "3 times 14 = 42.", "42"),
    "subtract": ("What is 52 - 7?", "52 - 7 = 45.", "45"),
    "double": ("What is double 137?", "137 + 137 = 274.", "274"),
    "choice": (
        "Which number is the largest?\nA. 12\nB. 45\nC. 7\nD. 30",
        "45 is larger than 12, 7 and 30, so option B.",
        "B",
    ),
    "compare": (
        "Bo has 5 cups and Cy has 9 cups. Does Bo have more cups than Cy?",
        "Bo has 5 and Cy has 9; 5 is less than 9.",
        "no",
    ),
}
"""One worked example per synthetic domain (question, reasoning, answer), for
``prompt.exemplars``."""


SECOND_EXAMPLES: dict[str, tuple[str, str, str]] = {
    "sum": ("What is 35 + 47?", "35 + 47 = 82.", "82"),
    "add_digit": ("What is 32 + 5?", "32 + 5 = 37.", "37"),
}
"""A second worked example for the two sums, of the other kind than the first (``sum``'s first
does not carry, ``add_digit``'s does), shown after it where the trainer's
``prompt.second_example`` names the domain: with both, SmolLM2-135M's sampled answers on ``sum``
rose on the items with a carry and without (docs/default-run.md §22)."""

SHOWN: frozenset[str] = frozenset(
    {
        "sum:35+47",
        "add_digit:5+32",
        "story:3+4",
        "sum:15+23",
        "add_digit:7+46",
        "multiply:3*14",
        "subtract:52-7",
        "double:137",
        "choice:largest:[12, 45, 7, 30]",
        "compare:5>9",
    }
)
"""The content keys of :data:`EXAMPLES`' and :data:`SECOND_EXAMPLES`' questions: shown in the
prompts of their domain, so never held out (:func:`split_rows` skips them in dev and eval; until
2026-12-06 ``add_digit:7+46`` was one of the default's 200 eval items). Their split is left as
it was, so no training item moved."""


def split_of(key: str) -> Split:
    """Which split a content key belongs to: half train, an eighth dev, three eighths eval (so
    that arithmetic's 568 contents at difficulty 1 hold 200 distinct held-out items)."""
    bucket = hashlib.sha256(key.encode()).digest()[0] % 8
    return "train" if bucket < 4 else "dev" if bucket == 4 else "eval"


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


def split_rows(
    kind: str, split: Split, n: int, *, seed: int, difficulty: int = 1, distinct: bool = False
) -> list[Row]:
    """The first ``n`` rows of :func:`stream` in ``split`` (held-out splits without a worked
    example's content, :data:`SHOWN`); with ``distinct``, each content key
    once (held-out items: repeats would count one item as several). Raises ``ValueError`` when
    the split holds fewer than ``n`` distinct items at this difficulty, for an unknown split or
    a negative ``n``."""
    if split not in get_args(Split):
        raise ValueError(f"unknown split {split!r}; known: {', '.join(get_args(Split))}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rows: list[Row] = []
    seen: set[str] = set()
    misses = 0
    for row in stream(kind, seed=seed, difficulty=difficulty):
        if len(rows) == n:
            return rows
        shown = split != "train" and row.key in SHOWN  # the prompt's own example
        if split_of(row.key) != split or shown or (distinct and row.key in seen):
            misses += 1
            if misses > 200 * (n + 10):
                raise ValueError(
                    f"synthetic domain {kind!r} at difficulty {difficulty} has fewer than {n} "
                    f"distinct {split} items (found {len(rows)}): ask for fewer, or raise the "
                    "difficulty"
                )
            continue
        seen.add(row.key)
        rows.append(row)
    raise AssertionError("unreachable: stream is endless")  # pragma: no cover


def generate(kind: str, n: int, *, seed: int, difficulty: int = 1) -> list[Row]:
    """The first ``n`` rows of :func:`stream`, whatever their split."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return list(itertools.islice(stream(kind, seed=seed, difficulty=difficulty), n))
