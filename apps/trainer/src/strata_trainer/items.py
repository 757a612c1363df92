"""Which items a run trains on, evaluates on (held out) and probes (dev), per domain, as the
config says: synthetic domains from their generators, benchmarks from their files. No model."""

from __future__ import annotations

from pathlib import Path

from strata_rewards.data import DataError, Item, Split, load_benchmark, load_synthetic, subsample
from strata_rewards.synthetic import GENERATORS
from strata_trainer.config import RunConfig
from strata_trainer.console import say


def load_items(cfg: RunConfig) -> tuple[dict[str, list[Item]], dict[str, list[Item]]]:
    """Train and held-out items per domain, as the config says (no model needed)."""
    train: dict[str, list[Item]] = {}
    held: dict[str, list[Item]] = {}
    d = cfg.data
    for domain in d.domains:
        if domain in GENERATORS:
            train[domain] = load_synthetic(
                domain, "train", d.train_size, seed=d.seed, difficulty=d.difficulty
            )
            held[domain] = load_synthetic(
                domain,
                "eval",
                d.eval_sizes.get(domain, d.eval_size),
                seed=d.seed,
                difficulty=d.difficulty,
            )
            continue
        data_dir = None if d.hub else Path(d.data_dir)
        splits: tuple[tuple[Split, dict[str, list[Item]], int, int], ...] = (
            ("train", train, d.train_size, d.seed),
            ("eval", held, d.eval_sizes.get(domain, d.eval_size), d.seed + 1),
        )
        for split, out, size, seed in splits:
            items, stats = load_benchmark(
                domain, split, data_dir, hub=d.hub, skip_malformed=d.skip_malformed
            )
            if stats.skipped:
                say(
                    f"{domain} {split}: skipped {stats.skipped} malformed rows, "
                    f"e.g. {stats.reasons[0]}"
                )
            out[domain] = subsample(items, size or None, seed)
    by_skill = {x for x in cfg.train.balanced if cfg.data.balance_by.get(x, "skill") == "skill"}
    for domain in by_skill & set(train):
        if unlabelled := [it.id for it in train[domain] if it.subject is None]:
            raise DataError(
                f"train.balanced: {domain}'s items name no skill or subject to balance "
                f"({len(unlabelled)} of {len(train[domain])}, e.g. {unlabelled[0]}); balance "
                "a synthetic domain with skills (sum, add_digit, subtract, double, arithmetic, "
                f"choice) or mmlu, or balance it by answer: data.balance_by = {{{domain} = "
                '"answer"}'
            )
    return train, held


def load_probe_items(cfg: RunConfig, n: int) -> dict[str, list[Item]]:
    """``n`` dev items a domain for the learnability probe: a synthetic domain's dev split, or a
    benchmark's training items that the run does not train on (neither is ever reported)."""
    d = cfg.data
    out: dict[str, list[Item]] = {}
    for domain in d.domains:
        if domain in GENERATORS:
            out[domain] = load_synthetic(domain, "dev", n, seed=d.seed, difficulty=d.difficulty)
            continue
        items, _ = load_benchmark(
            domain,
            "train",
            None if d.hub else Path(d.data_dir),
            hub=d.hub,
            skip_malformed=d.skip_malformed,
        )
        trained = {it.id for it in subsample(items, d.train_size or None, d.seed)}
        out[domain] = subsample([it for it in items if it.id not in trained], n, d.seed + 2)
    return out


def say_counts(train: dict[str, list[Item]], held: dict[str, list[Item]]) -> None:
    say("data: " + ", ".join(f"{d} {len(train[d])} train / {len(held[d])} held out" for d in train))


def with_questions(items: dict[str, list[Item]], purpose: str) -> dict[str, list[Item]]:
    """The domains of ``items`` (from :func:`load_probe_items`) that have held-aside questions.
    A benchmark trained on its whole training split (data.train_size = 0) has none left to set
    aside: said on the console, with ``purpose`` ("greedy watch", "probe"), and left out,
    instead of being checked on nothing."""
    kept = {d: its for d, its in items.items() if its}
    if left := [d for d in items if d not in kept]:
        say(
            f"{purpose}: {', '.join(left)} left out: every training row is trained on "
            "(data.train_size = 0 or the whole split), so none is left to set aside"
        )
    return kept
