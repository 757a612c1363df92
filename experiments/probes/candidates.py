"""Which synthetic domains can SmolLM2-135M learn? The learnability probe over candidate domains.

Each candidate is an item generator, the strata-rewards domain that scores it (gsm8k: a number,
mmlu: a letter, strategyqa: yes/no) and a prompt shape: ``bare`` (the task and the question) or
``worked`` (one worked example as a previous chat turn). Every row runs strata_trainer.probe at
the default's training settings (k = 8 samples at T = 0.7, 64 tokens, stop at </answer>) on
held-out items drawn from a stream of its own (``probe:<name>``), and prints the probe's table.

    uv run python experiments/probes/candidates.py --items 48 --json /work/runs/probe-screen.json
    uv run python experiments/probes/candidates.py --only add2,sub2 --items 200

A probe, not part of the app: candidates that pass become built-in domains in synthetic.py.
docs/default-run.md §14 has the tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from strata_rewards import register_alias, synthetic
from strata_rewards.data import Item
from strata_rewards.extract import LETTERS
from strata_rewards.probe import table
from strata_rewards.synthetic import Row, split_of, with_options
from strata_trainer.config import build_config
from strata_trainer.engines import hf_engine, load_base_model
from strata_trainer.probe import run_probe


@dataclass(frozen=True)
class Candidate:
    name: str
    reward: str
    """strata-rewards domain that scores it."""
    make: Callable[[random.Random], Row]
    example: tuple[str, str, str]
    """(question, reasoning, answer) for the ``worked`` shape."""


def _pair(rng: random.Random, lo: int, hi: int) -> tuple[int, int]:
    return rng.randint(lo, hi), rng.randint(lo, hi)


def add2(rng: random.Random) -> Row:
    a, b = _pair(rng, 10, 60)
    return Row(f"What is {a} + {b}?", a + b, f"add:{a}+{b}")


def sub2(rng: random.Random) -> Row:
    a, b = _pair(rng, 10, 99)
    a, b = max(a, b), min(a, b)
    return Row(f"What is {a} - {b}?", a - b, f"sub:{a}-{b}")


def mul1(rng: random.Random) -> Row:
    a, b = _pair(rng, 2, 9)
    return Row(f"What is {a} times {b}?", a * b, f"mul:{a}*{b}")


def add1(rng: random.Random) -> Row:
    a, b = _pair(rng, 1, 9)
    return Row(f"What is {a} + {b}?", a + b, f"add:{a}+{b}")


def larger(rng: random.Random) -> Row:
    a, b = _pair(rng, 10, 99)
    if a == b:
        b += 1
    question = f"Which number is larger, {a} or {b}? Answer with the number."
    return Row(question, max(a, b), f"larger:{a},{b}")


def next_term(rng: random.Random) -> Row:
    start, step = rng.randint(1, 20), rng.randint(2, 5)
    terms = [start + step * i for i in range(4)]
    return Row(
        f"What number comes next in the pattern {', '.join(map(str, terms))}, ...?",
        start + step * 4,
        f"next:{start}+{step}",
    )


def double(rng: random.Random) -> Row:
    a = rng.randint(5, 50)
    return Row(f"What is double {a}?", 2 * a, f"double:{a}")


def word(rng: random.Random) -> Row:
    return synthetic.arithmetic(rng, 1)


def yn_sum(rng: random.Random) -> Row:
    a, b = _pair(rng, 1, 9)
    truth = rng.random() < 0.5
    claim = a + b if truth else a + b + rng.choice((-2, -1, 1, 2))
    return Row(f"Is {a} + {b} equal to {claim}?", claim == a + b, f"yn-sum:{a}+{b}={claim}")


def yn_even(rng: random.Random) -> Row:
    n = rng.randint(10, 99)
    return Row(f"Is {n} an even number?", n % 2 == 0, f"even:{n}")


def choice_sum(rng: random.Random) -> Row:
    a, b = _pair(rng, 1, 9)
    options = {a + b}
    while len(options) < 4:
        options.add(max(0, a + b + rng.choice((-3, -2, -1, 1, 2, 3))))
    values = list(options)
    rng.shuffle(values)
    question = with_options(f"What is {a} + {b}?", [str(v) for v in values])
    return Row(question, LETTERS[values.index(a + b)], f"choice-sum:{a}+{b}:{values}")


def sum19(rng: random.Random) -> Row:
    """One digit plus two digits (the first form of the built-in ``sum``)."""
    small, large = rng.randint(1, 9), rng.randint(10, 99)
    a, b = (small, large) if rng.random() < 0.5 else (large, small)
    return Row(f"What is {a} + {b}?", a + b, f"sum19:{small}+{large}")


def sum_wide(rng: random.Random) -> Row:
    """The built-in ``sum``: two numbers of 10-60."""
    return synthetic.sum_of_two(rng, 1)


def word2(rng: random.Random) -> Row:
    """The built-in ``arithmetic`` at difficulty 2 (numbers to 100, two steps)."""
    return synthetic.arithmetic(rng, 2)


def double3(rng: random.Random) -> Row:
    return synthetic.double(rng, 1)


def mul_add(rng: random.Random) -> Row:
    """A one-digit product plus a number of 1-20: the multiplication table (the strongest signal
    of screen 1) in a content space wide enough to hold out (36 products x 20 = 720)."""
    a, b = _pair(rng, 2, 9)
    c = rng.randint(1, 20)
    return Row(
        f"What is {a} times {b} plus {c}?", a * b + c, f"mul_add:{min(a, b)}*{max(a, b)}+{c}"
    )


def sub_digit(rng: random.Random) -> Row:
    """A two-digit number minus a one-digit one (810 contents): subtraction made as small as
    ``add_digit``'s addition."""
    a, b = rng.randint(10, 99), rng.randint(1, 9)
    return Row(f"What is {a} - {b}?", a - b, f"sub_digit:{a}-{b}")


def times10(rng: random.Random) -> Row:
    """A number of 10-999 times ten (990 contents)."""
    a = rng.randint(10, 999)
    return Row(f"What is {a} times 10?", 10 * a, f"times10:{a}")


def mul_tens(rng: random.Random) -> Row:
    """A one-digit number times a two-digit one (8 x 90 = 720 contents)."""
    a, b = rng.randint(2, 9), rng.randint(10, 99)
    return Row(f"What is {a} times {b}?", a * b, f"mul_tens:{a}*{b}")


CANDIDATES = [
    # Twenty-first sitting: operations other than addition, in wide content spaces, to stand
    # beside `sum` instead of a second sum (docs/default-run.md §17).
    Candidate(
        "mul_add",
        "gsm8k",
        mul_add,
        ("What is 3 times 4 plus 5?", "3 times 4 = 12, 12 + 5 = 17.", "17"),
    ),
    Candidate("sub_digit", "gsm8k", sub_digit, ("What is 52 - 7?", "52 - 7 = 45.", "45")),
    Candidate("times10", "gsm8k", times10, ("What is 37 times 10?", "37 times 10 = 370.", "370")),
    Candidate("mul_tens", "gsm8k", mul_tens, ("What is 3 times 14?", "3 times 14 = 42.", "42")),
    # The built-in domains' own worked turns, so the probe shows them what training shows them.
    Candidate("sum19", "gsm8k", sum19, synthetic.EXAMPLES["add_digit"]),
    Candidate("sum", "gsm8k", sum_wide, synthetic.EXAMPLES["sum"]),
    Candidate(
        "word2",
        "gsm8k",
        word2,
        (
            "Mia has 30 cups. Then Mia buys 45 more. Then Mia gives away 20. How many cups "
            "does Mia have now?",
            "30 + 45 = 75, then 75 - 20 = 55.",
            "55",
        ),
    ),
    Candidate("double3", "gsm8k", double3, ("What is double 137?", "137 + 137 = 274.", "274")),
    Candidate("add1", "gsm8k", add1, ("What is 3 + 4?", "3 + 4 = 7.", "7")),
    Candidate("add2", "gsm8k", add2, ("What is 23 + 15?", "23 + 15 = 38.", "38")),
    Candidate("sub2", "gsm8k", sub2, ("What is 47 - 15?", "47 - 15 = 32.", "32")),
    Candidate("mul1", "gsm8k", mul1, ("What is 3 times 4?", "3 times 4 = 12.", "12")),
    Candidate("double", "gsm8k", double, ("What is double 13?", "13 + 13 = 26.", "26")),
    Candidate(
        "next",
        "gsm8k",
        next_term,
        (
            "What number comes next in the pattern 2, 5, 8, 11, ...?",
            "Each number is 3 more: 11 + 3 = 14.",
            "14",
        ),
    ),
    Candidate(
        "larger",
        "gsm8k",
        larger,
        (
            "Which number is larger, 27 or 64? Answer with the number.",
            "64 is more than 27.",
            "64",
        ),
    ),
    Candidate(
        "word",
        "gsm8k",
        word,
        (
            "Mia has 3 cups. Then Mia buys 4 more. How many cups does Mia have now?",
            "Mia had 3 and buys 4: 3 + 4 = 7.",
            "7",
        ),
    ),
    Candidate("yn-sum", "strategyqa", yn_sum, ("Is 3 + 4 equal to 8?", "3 + 4 = 7, not 8.", "no")),
    Candidate(
        "yn-even", "strategyqa", yn_even, ("Is 37 an even number?", "37 ends in 7, odd.", "no")
    ),
    Candidate(
        "choice-sum",
        "mmlu",
        choice_sum,
        ("What is 3 + 4?\nA. 6\nB. 7\nC. 9\nD. 5", "3 + 4 = 7, option B.", "B"),
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=48)
    parser.add_argument("--only", help="comma-separated candidate names")
    parser.add_argument("--shapes", default="bare,worked")
    parser.add_argument("--json", help="append each row's probe as a JSON line here")
    parser.add_argument("--seed", default="probe", help="item stream prefix (dev: probe)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    cfg = build_config(None, args.set)
    loaded = load_base_model(cfg)
    engine = hf_engine(loaded.model, loaded.tokenizer, cfg)
    chosen = [c for c in CANDIDATES if not args.only or c.name in args.only.split(",")]
    train = cfg.train
    for cand in chosen:
        register_alias(cand.name, cand.reward)  # scored as its answer kind's domain
        rng = random.Random(f"{args.seed}:{cand.name}")
        # Dev items only: never the content of a train or eval item of a built-in domain.
        rows = (cand.make(rng) for _ in itertools.count())
        dev = (r for r in rows if split_of(r.key) == "dev")
        items = [
            Item(r.question, r.answer, f"{cand.name}:{i}", key=r.key)
            for i, r in enumerate(itertools.islice(dev, args.items))
        ]
        for shape in args.shapes.split(","):
            prompting = cfg.prompting()
            if shape == "worked":
                prompting = dataclasses.replace(
                    prompting,
                    exemplars=(cand.name,),
                    examples={**prompting.examples, cand.name: cand.example},
                )
            started = time.perf_counter()
            (probe,) = run_probe(
                engine,
                {cand.name: items},
                prompting,
                k=train.group_size,
                temperature=train.temperature_start,
                max_new_tokens=train.max_new_tokens,
                stop=prompting.stop([cand.name]),
            )
            seconds = time.perf_counter() - started
            print(f"\n## {cand.name} ({shape}), {seconds:.0f} s\n", flush=True)
            print(table([probe]), flush=True)
            if args.json:
                with open(args.json, "a", encoding="utf-8") as f:
                    row = {"candidate": cand.name, "shape": shape, "seconds": seconds}
                    f.write(json.dumps(row | dataclasses.asdict(probe)) + "\n")


if __name__ == "__main__":
    main()
