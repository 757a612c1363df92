"""100 kB completions built to hang a regex or a parser: the inputs of the package's safety test
and of ``benchmarks/rewards_throughput.py``, and of yours (plain strings, no dependency).

    from strata_rewards.testing.adversarial import ADVERSARIAL_100KB

    for name, text in ADVERSARIAL_100KB.items():
        my_reward(text)  # must return, and quickly
"""

from __future__ import annotations

ADVERSARIAL_100KB: dict[str, str] = {
    "nested answer tags": "<answer>" * 20_000 + "7" + "</answer>" * 20_000,
    "think repeated": "<think>" * 14_000,
    "unclosed boxed": "\\boxed{" * 14_000,
    "long digit run": "9" * 100_000,
    "digits and commas": "1," * 50_000,
    "unicode digits": "١" * 100_000,
    "NUL bytes": "\x00" * 100_000,
    "unbalanced tags": "<decompose></compute><verify>" * 3_500,
    "answer is, over and over": "the answer is " * 7_200,
    "parentheses": "(" * 100_000,
    "signs and dollars": "-$" * 50_000,
    "fractions": "1/" * 50_000,
    "latex fractions": "\\frac{1}{" * 10_000,
    "yes no soup": "yes no " * 14_000,
    "letters": "A B C D " * 12_500,
}
"""Name -> text, each at least 90,000 characters."""
