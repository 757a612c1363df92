"""Is there anything in a domain's sampled answers for GRPO to sharpen? (docs/default-run.md §10)

For each item format: greedy accuracy, then 8 samples an item at T = 0.7 with the default
prompts, engine and scoring of strata-train: sampled accuracy, maj@8 (the accuracy of each item's
majority answer: roughly what a sharpened policy would answer), the best constant answer's
accuracy, and how many groups mix right and wrong answers. Where maj@8 is no better than the
constant answer, the samples carry no information about the truth.

    uv run python experiments/probes/answer_signal.py contrast    # default vs far-apart numbers
    uv run python experiments/probes/answer_signal.py derived     # built on arithmetic's problems
    uv run python experiments/probes/answer_signal.py contrast --set model.source=PATH

A probe, not part of the app: it uses strata_trainer's private loaders on purpose, so that what
it measures is what a run would see.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time
from collections import Counter
from collections.abc import Callable

from strata_rewards import synthetic
from strata_rewards.extract import LETTERS
from strata_rewards.synthetic import Row
from strata_rollout.types import SamplingConfig
from strata_trainer.config import build_config
from strata_trainer.engines import hf_engine, load_base_model, stop_strings

Generator = Callable[[random.Random], Row]


def far_compare(rng: random.Random) -> Row:
    """One number 1-9, the other 40-99: can the model at least tell one digit from two?"""
    small, big = rng.randint(1, 9), rng.randint(40, 99)
    a, b = (small, big) if rng.random() < 0.5 else (big, small)
    name_a, name_b = rng.sample(synthetic.NAMES, 2)
    item = rng.choice(synthetic.ITEMS)
    return Row(synthetic.compare_question(name_a, a, name_b, b, item), a > b, f"far:{a}>{b}")


def far_choice(rng: random.Random) -> Row:
    """Three one-digit numbers and one two-digit (largest), or the reverse (smallest)."""
    ask = rng.choice(("largest", "smallest"))
    if ask == "largest":
        values = [*rng.sample(range(1, 10), 3), rng.randint(40, 99)]
    else:
        values = [*rng.sample(range(40, 100), 3), rng.randint(1, 9)]
    rng.shuffle(values)
    target = max(values) if ask == "largest" else min(values)
    options = [str(v) for v in values]
    return Row(
        synthetic.with_options(f"Which number is the {ask}?", options),
        LETTERS[values.index(target)],
        f"far-choice:{ask}:{values}",
    )


def near_total(rng: random.Random, total: int) -> int:
    return max(0, total + rng.choice((-1, 1)) * rng.randint(1, 6))


def sum_choice(rng: random.Random) -> Row:
    """An arithmetic word problem with four options: its total and three totals off by 1-6."""
    problem = synthetic.arithmetic(rng, 1)
    options = {problem.answer}
    while len(options) < 4:
        options.add(near_total(rng, problem.answer))
    values = list(options)
    rng.shuffle(values)
    question = synthetic.with_options(problem.question, [str(v) for v in values])
    return Row(
        question, LETTERS[values.index(problem.answer)], f"sum-choice:{problem.key}:{values}"
    )


def sum_check(rng: random.Random) -> Row:
    """An arithmetic word problem asking yes/no about a total: right half the time."""
    told = synthetic.story(rng, 1)
    claim = told.total if rng.random() < 0.5 else near_total(rng, told.total)
    question = f"{told.text} Does {told.name} have {claim} {told.item} now?"
    return Row(question, claim == told.total, f"sum-check:{told.steps}={claim}")


WORKED_SUMS = {
    "choice": (
        "Mia has 3 cups. Then Mia buys 4 more. How many cups does Mia have now?\n"
        "A. 6\nB. 7\nC. 4\nD. 10",
        "Mia had 3 and buys 4: 3 + 4 = 7, option B.",
        "B",
    ),
    "compare": (
        "Mia has 3 cups. Then Mia buys 4 more. Does Mia have 8 cups now?",
        "Mia had 3 and buys 4: 3 + 4 = 7, not 8.",
        "no",
    ),
}
"""Example turns matching the derived formats (shown in place of the default ones)."""

PROBES: dict[str, list[tuple[str, str, str, Generator]]] = {
    "contrast": [
        ("compare", "d1", "default", lambda rng: synthetic.compare(rng, 1)),
        ("compare", "far", "default", far_compare),
        ("choice", "d1", "default", lambda rng: synthetic.choice(rng, 1)),
        ("choice", "far", "default", far_choice),
    ],
    "derived": [
        ("choice", "sum-choice", "default", sum_choice),
        ("compare", "sum-check", "default", sum_check),
        ("choice", "sum-choice", "worked", sum_choice),
        ("compare", "sum-check", "worked", sum_check),
    ],
}
"""Probe -> rows of (domain whose prompt and scoring are used, item format, example turns,
generator)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("probe", choices=sorted(PROBES))
    parser.add_argument("--items", type=int, default=48)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a strata-train config override, e.g. model.source=PATH (repeatable)",
    )
    args = parser.parse_args()
    cfg = build_config(None, args.set)
    loaded = load_base_model(cfg)
    engine = hf_engine(loaded.model, loaded.tokenizer, cfg)
    stop = stop_strings(cfg)
    for domain, name, turns, generate in PROBES[args.probe]:
        prompting = cfg.prompting()
        if turns == "worked":
            prompting = dataclasses.replace(
                prompting, examples={**prompting.examples, **WORKED_SUMS}
            )
        started = time.perf_counter()
        # The item streams of the runs recorded in docs/default-run.md §10.
        stream = f"probe:{domain}:{name}" if args.probe == "contrast" else f"probe:{domain}"
        rng = random.Random(stream)
        rows = [generate(rng) for _ in range(args.items)]
        prompts = [prompting.messages(domain, row.question) for row in rows]
        greedy = engine.generate(
            prompts, 1, SamplingConfig(max_new_tokens=48, temperature=0, stop=stop), logprobs=False
        )
        sampled = engine.generate(
            prompts,
            8,
            SamplingConfig(max_new_tokens=48, temperature=0.7, stop=stop),
            logprobs=False,
        )
        greedy_right = sampled_right = majority_right = mixed = 0.0
        for row, first, group in zip(rows, greedy, sampled, strict=True):
            greedy_right += prompting.score(domain, first[0].text, row.answer).outcome
            scores = [prompting.score(domain, c.text, row.answer) for c in group]
            outcomes = [s.outcome for s in scores]
            sampled_right += sum(outcomes) / len(outcomes)
            mixed += 0 < sum(outcomes) < len(outcomes)
            votes = Counter(str(s.answer) for s in scores if s.answer is not None)
            if votes:
                top = votes.most_common(1)[0][0]
                majority_right += any(str(s.answer) == top and s.outcome for s in scores)
        constant = Counter(str(row.answer) for row in rows).most_common(1)[0][1]
        n = len(rows)
        print(
            f"{domain:8s} {name:10s} turns {turns:8s} n={n} greedy {greedy_right / n:.2f} "
            f"sampled {sampled_right / n:.2f} maj@8 {majority_right / n:.2f} "
            f"constant {constant / n:.2f} mixed {mixed:.0f}/{n} "
            f"({time.perf_counter() - started:.0f} s) e.g. {first[0].text[:100]!r}",
            flush=True,
        )


if __name__ == "__main__":
    main()
