"""Does a worked example that carries teach SmolLM2-135M's sampled answers to carry?

Every ``sum`` miss of the default read so far dropped the carry (docs/results.md, diagnostic D):
the model learns to add digit by digit and leaves the ten out. The worked example the default
shows for ``sum`` (``23 + 15 = 38``) does not carry. This probe shows each domain's dev items
under several worked examples (the current one; one whose sum carries; both, as two exchanges;
two that write the carry out) and reports the learnability probe per skill (carry / no carry):
greedy, mean sampled accuracy, maj@k and the share of mixed groups, at the default's training
settings (k = 8 at T = 0.7, 64 tokens, stop at </answer>).

    uv run python experiments/probes/carry.py --items 96 --json /work/runs/carry-probe.jsonl

Dev items of the default's own domains (``load_synthetic(..., "dev", ...)``): never an eval
item's content. Every example below is a train item's content (``split_of``), so no example
gives away an eval item. docs/default-run.md §22 has the tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

from strata_rewards.data import load_synthetic
from strata_rewards.probe import Thresholds, summarise, table
from strata_rewards.synthetic import EXAMPLES, SECOND_EXAMPLES
from strata_trainer.config import build_config
from strata_trainer.engines import hf_engine, load_base_model
from strata_trainer.probe import sample_items

SHAPES: dict[str, dict[str, tuple[str, str, str]]] = {
    "sum": {
        "current": EXAMPLES["sum"],
        "carry": SECOND_EXAMPLES["sum"],
        "tens": ("What is 35 + 47?", "30 + 40 = 70 and 5 + 7 = 12, so 70 + 12 = 82.", "82"),
        "columns": (
            "What is 35 + 47?",
            "5 + 7 = 12: write 2, carry 1. 3 + 4 + 1 = 8. So 82.",
            "82",
        ),
    },
    "add_digit": {
        "current": EXAMPLES["add_digit"],
        "carry": ("What is 6 + 38?", "6 + 38 = 44.", "44"),
        "tens": ("What is 6 + 38?", "6 + 8 = 14, so 30 + 14 = 44.", "44"),
        "columns": ("What is 6 + 38?", "6 + 8 = 14: write 4, carry 1. 3 + 1 = 4. So 44.", "44"),
        "no carry": SECOND_EXAMPLES["add_digit"],
    },
}
"""Domain -> shape -> worked example (question, reasoning, answer); the trainer's own where it
shows them (``current``: the domain's example; ``carry`` and ``no carry``: its second)."""

BOTH = {"sum": ("current", "carry"), "add_digit": ("current", "no carry")}
"""Shape ``both``: the domain's current example, then one of the other kind (a carry for sum,
whose example does not carry; none for add_digit, whose example does), nearest the question."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=96, help="dev items per domain")
    parser.add_argument("--domains", default="sum,add_digit")
    parser.add_argument("--shapes", default="current,carry,both,tens,columns")
    parser.add_argument("--json", help="append each row's probe as a JSON line here")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    cfg = build_config(None, args.set)
    loaded = load_base_model(cfg)
    engine = hf_engine(loaded.model, loaded.tokenizer, cfg)
    train = cfg.train
    for domain in args.domains.split(","):
        items = load_synthetic(
            domain, "dev", args.items, seed=cfg.data.seed, difficulty=cfg.data.difficulty
        )
        for shape in args.shapes.split(","):
            base = cfg.prompting()
            first, *more = BOTH[domain] if shape == "both" else (shape,)
            prompting = dataclasses.replace(
                base,
                exemplars=tuple(sorted({*base.exemplars, domain})),
                examples={**base.examples, domain: SHAPES[domain][first]},
                more_examples={domain: [SHAPES[domain][m] for m in more]},
            )
            started = time.perf_counter()
            scored = sample_items(
                engine,
                domain,
                items,
                prompting,
                k=train.group_size,
                temperature=train.temperature_start,
                max_new_tokens=train.max_new_tokens,
                stop=prompting.stop([domain]),
            )
            seconds = time.perf_counter() - started
            rows = [summarise(f"{domain}", scored, Thresholds())]
            for skill in ("carry", "no carry"):
                part = [s for s, it in zip(scored, items, strict=True) if it.subject == skill]
                rows.append(summarise(f"{domain}: {skill}", part, Thresholds()))
            print(f"\n## {domain} ({shape}), {seconds:.0f} s\n", flush=True)
            print(table(rows), flush=True)
            if args.json:
                with open(args.json, "a", encoding="utf-8") as f:
                    for probe in rows:
                        row = {"domain": domain, "shape": shape, "seconds": seconds}
                        f.write(json.dumps(row | dataclasses.asdict(probe)) + "\n")


if __name__ == "__main__":
    main()
