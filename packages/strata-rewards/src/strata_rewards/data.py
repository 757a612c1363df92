"""Loading the benchmarks from their original files (``../shared/data`` layout) or from hub ids,
and the synthetic domains; turning items into prompts with the training template.

Splits (SPEC.md): GSM8K train/test; MMLU dev+val to train, test to evaluate (per subject);
StrategyQA ``train.json`` to train, ``dev.json`` held out. A malformed row raises
:class:`DataError` naming the file, the row and the field, unless ``skip_malformed`` is set, in
which case it is counted in ``LoadStats``.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from strata_rewards.domains import Gold
from strata_rewards.extract import LETTERS
from strata_rewards.prompting import EXAMPLES, Prompting
from strata_rewards.synthetic import EXAMPLES as SYNTHETIC_EXAMPLES
from strata_rewards.synthetic import Split as SyntheticSplit
from strata_rewards.synthetic import split_rows, with_options

Split = Literal["train", "eval"]


class DataError(ValueError):
    """A row that cannot be used; the message names file, row and field."""


@dataclass(frozen=True)
class Item:
    question: str
    gold: Gold
    id: str
    """``file:row`` (or ``synthetic:kind:i``), for errors and reports."""
    subject: str | None = None
    """MMLU's subject, or a synthetic item's skill (``Row.skill``: "carry", "no carry"...): the
    evaluation's accuracy per subject."""
    key: str | None = None
    """A synthetic item's content (operation and numbers), the unit of its split."""


@dataclass
class LoadStats:
    loaded: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)


def _bad(stats: LoadStats | None, message: str) -> None:
    if stats is None:
        raise DataError(message)
    stats.skipped += 1
    if len(stats.reasons) < 20:
        stats.reasons.append(message)


def load_gsm8k(path: Path, stats: LoadStats | None = None) -> list[Item]:
    """GSM8K JSON Lines: ``question`` and ``answer`` (a solution ending ``#### N``)."""
    items = []
    with path.open(encoding="utf-8") as f:
        for row_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{row_no}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                _bad(stats, f"{where}: not valid JSON ({err.msg})")
                continue
            if not isinstance(row, dict):
                _bad(stats, f"{where}: expected a JSON object")
                continue
            q, a = row.get("question"), row.get("answer")
            fields = ", ".join(map(str, row))  # a misspelt key is the usual cause: name them
            if not isinstance(q, str) or not q.strip():
                _bad(stats, f"{where}: field 'question' missing or not text (fields: {fields})")
                continue
            if not isinstance(a, str):
                _bad(stats, f"{where}: field 'answer' missing or not text (fields: {fields})")
                continue
            if "####" not in a:
                _bad(stats, f"{where}: field 'answer' has no '#### <number>' line")
                continue
            items.append(Item(q, a, where))
    return items


def load_mmlu(folder: Path, stats: LoadStats | None = None) -> list[Item]:
    """MMLU per-subject CSV without header: question, A, B, C, D, answer letter."""
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise DataError(f"{folder}: no MMLU .csv files")
    items = []
    for path in files:
        subject = path.stem.rsplit("_", 1)[0]
        with path.open(encoding="utf-8", newline="") as f:
            for row_no, row in enumerate(csv.reader(f), start=1):
                where = f"{path}:{row_no}"
                if len(row) != 6:
                    _bad(
                        stats, f"{where}: expected 6 fields (question, A-D, answer), got {len(row)}"
                    )
                    continue
                question, *options, answer = row
                if answer.strip() not in ("A", "B", "C", "D"):
                    _bad(stats, f"{where}: field 'answer' (6th) must be A-D, got {answer!r}")
                    continue
                items.append(Item(with_options(question, options), answer.strip(), where, subject))
    return items


def load_strategyqa(path: Path, stats: LoadStats | None = None) -> list[Item]:
    """StrategyQA: one JSON array of objects with ``question`` (str) and ``answer`` (bool)."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(rows, list):
        raise DataError(f"{path}: expected a JSON array of questions")
    items = []
    for i, row in enumerate(rows):
        where = f"{path}:[{i}]"
        if not isinstance(row, dict):
            _bad(stats, f"{where}: expected an object")
            continue
        if not isinstance(row.get("question"), str):
            _bad(stats, f"{where}: field 'question' missing or not text")
            continue
        if not isinstance(row.get("answer"), bool):
            _bad(stats, f"{where}: field 'answer' must be true or false, got {row.get('answer')!r}")
            continue
        items.append(Item(row["question"], row["answer"], f"{where} {row.get('qid', '')}".strip()))
    return items


FILES: dict[str, dict[Split, Sequence[str]]] = {
    "gsm8k": {"train": ["gsm8k/train.jsonl"], "eval": ["gsm8k/test.jsonl"]},
    "mmlu": {"train": ["mmlu/dev", "mmlu/val"], "eval": ["mmlu/test"]},
    "strategyqa": {"train": ["strategyqa/train.json"], "eval": ["strategyqa/dev.json"]},
}
LOADERS: dict[str, Callable[[Path, LoadStats | None], list[Item]]] = {
    "gsm8k": load_gsm8k,
    "mmlu": load_mmlu,
    "strategyqa": load_strategyqa,
}
HUB: dict[str, dict[str, Any]] = {
    "gsm8k": {"path": "openai/gsm8k", "name": "main", "train": "train", "eval": "test"},
    "mmlu": {"path": "cais/mmlu", "name": "all", "train": "validation", "eval": "test"},
    "strategyqa": {"path": "ChilleD/StrategyQA", "name": None, "train": "train", "eval": "test"},
}


def load_benchmark(
    domain: str,
    split: Split,
    data_dir: Path | None,
    *,
    hub: bool = False,
    skip_malformed: bool = False,
) -> tuple[list[Item], LoadStats]:
    """A benchmark's split from ``data_dir`` (the original files) or, with ``hub``, by hub id."""
    stats = LoadStats()
    if hub:
        items = _load_hub(domain, split)
    else:
        if data_dir is None:
            raise DataError(f"domain {domain!r} needs data.data_dir (or data.hub = true)")
        items = []
        for rel in FILES[domain][split]:
            path = data_dir / rel
            if not path.exists():
                raise DataError(f"{path}: not found (data.data_dir = {data_dir})")
            items += LOADERS[domain](path, stats if skip_malformed else None)
    stats.loaded = len(items)
    return items, stats


def _load_hub(domain: str, split: Split) -> list[Item]:
    try:
        import datasets
    except ImportError as err:
        raise DataError(
            "data.hub = true needs the datasets package: pip install 'strata-trainer[hub]'"
        ) from err
    spec = HUB[domain]
    try:
        ds = datasets.load_dataset(spec["path"], spec["name"], split=spec[split])
    except (OSError, ValueError) as err:  # offline, no such dataset or split: one line
        raise DataError(
            f"{spec['path']} ({spec[split]}): could not load it from the hub "
            f"({type(err).__name__}: {err}); without a network, read the original files "
            "(data.data_dir, strata-eval --data-dir) instead of data.hub"
        ) from None
    out = []
    for i, row in enumerate(ds):
        where = f"{spec['path']}:{spec[split]}:{i}"
        if domain == "gsm8k":
            out.append(Item(row["question"], row["answer"], where))
        elif domain == "mmlu":
            out.append(
                Item(
                    with_options(row["question"], row["choices"]),
                    LETTERS[row["answer"]],
                    where,
                    row.get("subject"),
                )
            )
        else:
            out.append(Item(row["question"], bool(row["answer"]), where))
    return out


def load_synthetic(
    kind: str, split: SyntheticSplit, n: int, *, seed: int, difficulty: int
) -> list[Item]:
    """``n`` items of a synthetic domain's split. Each item belongs to one split by a hash of its
    content (operation and numbers: :func:`strata_rewards.synthetic.split_of`), so no held-out
    item repeats a training item's content whatever the seed or the sizes; held-out splits hold
    each content once. Raises :class:`DataError` when a split has too few distinct items."""
    try:
        rows = split_rows(
            kind, split, n, seed=seed, difficulty=difficulty, distinct=split != "train"
        )
    except ValueError as err:
        raise DataError(str(err)) from None
    return [
        Item(r.question, r.answer, f"synthetic:{kind}:{split}:{i}", subject=r.skill, key=r.key)
        for i, r in enumerate(rows)
    ]


EXEMPLARS: dict[str, tuple[str, str, str]] = {**EXAMPLES, **SYNTHETIC_EXAMPLES}
"""One worked example per domain, benchmark and synthetic: (question, reasoning, answer), shown
as a previous chat turn where ``prompt.exemplars`` names the domain."""

DEFAULT_PROMPTING = Prompting(examples=EXEMPLARS)


def prompt_for(
    domain: str, question: str, prompting: Prompting = DEFAULT_PROMPTING
) -> list[dict[str, str]]:
    """The chat prompt used in training and evaluation alike (strata-rewards' Prompting)."""
    return prompting.messages(domain, question)


def subsample(items: list[Item], n: int | None, seed: int) -> list[Item]:
    """``n`` items in a seeded random order (all of them when ``n`` is None or larger). Items
    with subjects (MMLU) are taken evenly across subjects: each subject gives ``n // S`` or one
    more, unless it has fewer, so per-subject accuracies all rest on similar counts."""
    if n is not None and n < 0:  # picked[:-1] would drop one item in silence
        raise ValueError(f"subsample: n must be >= 0 or None, got {n}")
    if n is None or n >= len(items):
        return list(items)
    rng = random.Random(seed)
    if any(it.subject is None for it in items):
        picked = list(items)
        rng.shuffle(picked)
        return picked[:n]
    by_subject: dict[str, list[Item]] = {}
    for it in items:
        by_subject.setdefault(cast(str, it.subject), []).append(it)
    queues = [by_subject[s] for s in sorted(by_subject)]
    for queue in queues:
        rng.shuffle(queue)
    rng.shuffle(queues)  # which subjects get the one extra item
    # Round-robin over the subjects: the first n of the interleaving.
    interleaved = [q[i] for i in range(max(map(len, queues))) for q in queues if i < len(q)]
    picked = interleaved[:n]
    rng.shuffle(picked)
    return picked
