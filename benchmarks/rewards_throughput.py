"""strata-rewards' numeric verifier against math-verify, on GSM8K-style completions.

    uv run --group bench python benchmarks/rewards_throughput.py [--data ../shared/data]

Completions are built from GSM8K's test solutions (calculator annotations removed), each in
four shapes whose true verdict is known by construction:
  hash      the solution as written, ending "#### N"                        (correct)
  boxed     the last line replaced by "The answer is \\boxed{N}."            (correct)
  dollars   the last line replaced by "So the answer is $N," with thousands  (correct)
            separators
  wrong     the last line replaced by "The answer is \\boxed{N+1}."          (wrong)
Both verifiers judge every completion against the gold "#### N" line, parsing the gold each
time (as a reward function does). Printed: completions/s of each, the ratio, the agreement on
completions where math-verify gives a verdict (its parse finds something), and every
disagreement with which side the construction says is right. Then the worst time over 100 kB
adversarial completions. Target (issue 3): >= 20x math-verify at >= 99.5 % agreement.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

from strata_rewards import score, verify
from strata_rewards.testing.adversarial import ADVERSARIAL_100KB

ANNOTATION = re.compile(r"<<[^<>]*>>")


def completions(path: Path) -> list[tuple[str, str, str, bool]]:
    """(shape, completion, gold, true verdict) for every test row and shape."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        body, _, final = row["answer"].rpartition("####")
        body = ANNOTATION.sub("", body).rstrip()
        n = int(final.strip().replace(",", ""))
        gold = f"#### {final.strip()}"
        out.append(("hash", f"{body}\n#### {n}", gold, True))
        out.append(("boxed", f"{body}\nThe answer is \\boxed{{{n}}}.", gold, True))
        out.append(("dollars", f"{body}\nSo the answer is ${n:,}.", gold, True))
        out.append(("wrong", f"{body}\nThe answer is \\boxed{{{n + 1}}}.", gold, False))
    return out


def ours(cases: list[tuple[str, str, str, bool]]) -> tuple[list[bool], float]:
    start = time.perf_counter()
    verdicts = [verify("gsm8k", c, g) for _, c, g, _ in cases]
    return verdicts, time.perf_counter() - start


def math_verify(cases: list[tuple[str, str, str, bool]]) -> tuple[list[bool | None], float]:
    from math_verify import parse
    from math_verify import verify as mv_verify

    verdicts: list[bool | None] = []
    start = time.perf_counter()
    for _, completion, gold, _ in cases:
        target = parse(gold.replace("####", "").strip())
        pred = parse(completion)
        verdicts.append(bool(mv_verify(target, pred)) if pred else None)
    return verdicts, time.perf_counter() - start


def adversarial_worst_ms() -> tuple[str, float]:
    worst = ("", 0.0)
    for name, text in ADVERSARIAL_100KB.items():
        for domain, gold in (("gsm8k", 7), ("mmlu", "B"), ("strategyqa", True)):
            start = time.perf_counter()
            score(domain, text, gold)
            ms = (time.perf_counter() - start) * 1e3
            worst = max(worst, (f"{name} ({domain})", ms), key=lambda x: x[1])
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[1] / "../shared/data")
    parser.add_argument("--limit", type=int, default=None, help="use the first N test rows")
    args = parser.parse_args()
    cases = completions(args.data / "gsm8k" / "test.jsonl")
    if args.limit:
        cases = cases[: 4 * args.limit]
    print(f"{len(cases)} completions from {args.data / 'gsm8k' / 'test.jsonl'}")

    ours(cases[:50])  # warm-up (regex compilation, imports)
    ours_v, ours_s = ours(cases)
    mv_v, mv_s = math_verify(cases)

    ours_rate, mv_rate = len(cases) / ours_s, len(cases) / mv_s
    print(f"strata-rewards  {ours_rate:10.0f} completions/s")
    print(f"math-verify     {mv_rate:10.0f} completions/s")
    print(f"ratio           {ours_rate / mv_rate:10.1f}x")

    truth = [t for *_, t in cases]
    judged = [i for i, v in enumerate(mv_v) if v is not None]
    agree = sum(ours_v[i] == mv_v[i] for i in judged)
    print(
        f"math-verify gave a verdict on {len(judged)}/{len(cases)}; "
        f"agreement there {agree}/{len(judged)} = {agree / len(judged):.2%}"
    )
    print(
        f"correct by construction: strata {sum(o == t for o, t in zip(ours_v, truth, strict=True))}"
        f"/{len(cases)}, math-verify {sum(m == t for m, t in zip(mv_v, truth, strict=True))}"
        f"/{len(cases)} (no verdict counts as wrong)"
    )
    by_shape: Counter[tuple[str, str]] = Counter()
    shown = 0
    for i in judged:
        if ours_v[i] == mv_v[i]:
            continue
        shape, completion, gold, true = cases[i]
        right = "strata" if ours_v[i] == true else "math-verify"
        by_shape[(shape, right)] += 1
        if shown < 8:
            shown += 1
            tail = completion[-90:].replace("\n", " | ")
            print(
                f"  disagree [{shape}] gold {gold!r}: strata={ours_v[i]} "
                f"math-verify={mv_v[i]} right={right}  …{tail}"
            )
    for (shape, right), k in sorted(by_shape.items()):
        print(f"  disagreements: {k:4d} in shape {shape!r}, {right} right")
    name, ms = adversarial_worst_ms()
    print(f"adversarial 100 kB completions: worst {ms:.1f} ms ({name})")


if __name__ == "__main__":
    main()
