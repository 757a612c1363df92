"""The slowest 100 kB completion strata-rewards scores, searched for: every verifier and template.

    uv run python benchmarks/scoring_worst_case.py [--examples 300]

Two sources of hostile text, each scored by ``score`` for every reward domain under every
template set, on one core (the timing is the best of three calls):
  fixed     ``strata_rewards.testing.adversarial.ADVERSARIAL_100KB``
  searched  Hypothesis draws a short unit from pathological pieces (tags and tag fragments,
            digits, commas, slashes, parentheses, braces, "answer is", letters, yes/no) and
            repeats it to 100 kB; ``hypothesis.target`` steers the search to the slowest units.
Printed: the worst of each with its unit, in ms per 100 kB, and the target (< 50 ms, issue 34).
Each search step also times the unit at 25 kB, so a super-linear path shows as a ratio above 4.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import time

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from strata_rewards import TEMPLATE_SETS, score, template_for
from strata_rewards.testing.adversarial import ADVERSARIAL_100KB

GOLDS = {"gsm8k": "#### 7", "mmlu": "B", "strategyqa": True}
PIECES = [
    "<answer>", "</answer>", "<think>", "</think>", "</think", "<answer", "answer>", "<", ">",
    "<decompose>", "</compute>", "<verify>", "####", "\\boxed{", "}", "{", "(", ")", "1", "12",
    "9", ",", "1,", ".", "/", "-", "$", "=", " ", "\n", "the answer is ", " is ", "A", "B. ",
    "(C)", "yes", "no", "True", "1e5", "\\frac{1}{", "١",
]  # fmt: skip
SIZE = 100_000


def best_ms(text: str, domain: str, template_set: str, calls: int = 3) -> float:
    template = template_for(domain, template_set)
    best = float("inf")
    for _ in range(calls):
        start = time.perf_counter()
        score(domain, text, GOLDS[domain], template=template)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def worst_over_scorers(text: str) -> tuple[float, str]:
    """The slowest (domain, template set) on ``text``: ms, and which."""
    return max((best_ms(text, d, t), f"{d}/{t}") for d in GOLDS for t in TEMPLATE_SETS)


def repeat_to(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def cpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        name = next(
            line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line
        )
        return name
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=300, help="Hypothesis search steps")
    args = parser.parse_args()
    print(f"CPU: {cpu()}")

    fixed = []
    for name, text in ADVERSARIAL_100KB.items():
        ms, scorer = worst_over_scorers(text)
        fixed.append((ms * SIZE / len(text), name, scorer))
    ms, name, scorer = max(fixed)
    print(f"fixed set: worst {ms:.1f} ms per 100 kB ({name!r}, {scorer})")

    found: list[tuple[float, str, str, float]] = []

    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join))
    def search(unit: str) -> None:
        ms, scorer = worst_over_scorers(repeat_to(unit, SIZE))
        small, _ = worst_over_scorers(repeat_to(unit, SIZE // 4))
        target(ms, label="ms per 100 kB")
        found.append((ms, unit, scorer, ms / max(small, 1e-3)))

    search()
    found.sort(reverse=True)
    print(f"searched ({args.examples} units): slowest five, ms per 100 kB (ratio to 25 kB):")
    for ms, unit, scorer, ratio in found[:5]:
        print(f"  {ms:6.1f} ms  x{ratio:4.1f}  {scorer:16s} unit {unit!r}")
    worst = max(found[0][0], max(fixed)[0])
    verdict = "met" if worst < 50 else "MISSED"
    print(f"worst of all: {worst:.1f} ms per 100 kB; target < 50 ms: {verdict}")


if __name__ == "__main__":
    main()
