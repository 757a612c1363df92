"""Loading the benchmarks from their original files (``../shared/data`` layout) or from hub ids,
and the synthetic domains; turning items into prompts with the training template.

Splits (SPEC.md): GSM8K train/test; MMLU dev+val to train, test to evaluate (per subject);
StrategyQA ``train.json`` to train, ``dev.json`` held out. A malformed row raises
:class:`DataError` naming the file, the row and the field, unless ``skip_malformed`` is set, in
which case it is counted in ``LoadStats``.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import itertools
import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from strata_rewards import RewardBreakdown, Template, Weights, get_domain, score, template_for
from strata_rewards.extract import LETTERS
from strata_trainer.synthetic import GENERATORS, stream, with_options

Split = Literal["train", "eval"]


class DataError(ValueError):
    """A row that cannot be used; the message names file, row and field."""


@dataclass(frozen=True)
class Item:
    question: str
    gold: Any
    id: str
    """``file:row`` (or ``synthetic:kind:i``), for errors and reports."""
    subject: str | None = None
    """MMLU subject (per-subject accuracy)."""


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
            if not isinstance(q, str) or not q.strip():
                _bad(stats, f"{where}: field 'question' missing or not text")
                continue
            if not isinstance(a, str) or "####" not in a:
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


def _load_hub(domain: str, split: Split) -> list[Item]:  # pragma: no cover - needs a network
    try:
        import datasets
    except ImportError as err:
        raise DataError(
            "data.hub = true needs the datasets package: pip install 'strata-trainer[hub]'"
        ) from err
    spec = HUB[domain]
    ds = datasets.load_dataset(spec["path"], spec["name"], split=spec[split])
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


def load_synthetic(kind: str, split: Split, n: int, *, seed: int, difficulty: int) -> list[Item]:
    """``n`` items of a synthetic domain's split. Each question belongs to one split by a hash of
    its text, so no held-out question is ever trained on, whatever the sizes (at difficulty 1
    the same question is often drawn twice)."""
    rows = (
        r for r in stream(kind, seed=seed, difficulty=difficulty) if _split_of(r.question) == split
    )
    return [
        Item(r.question, r.answer, f"synthetic:{kind}:{split}:{i}")
        for i, r in enumerate(itertools.islice(rows, n))
    ]


def _split_of(question: str) -> Split:
    return "train" if hashlib.sha256(question.encode()).digest()[0] % 2 == 0 else "eval"


def reward_domain(domain: str) -> str:
    """The strata-rewards domain that scores ``domain``'s answers."""
    if domain in GENERATORS:
        return GENERATORS[domain][0]
    return domain


EXEMPLARS: dict[str, tuple[str, str, str]] = {
    "arithmetic": (
        "Mia has 3 cups. Then Mia buys 4 more. How many cups does Mia have now?",
        "Mia had 3 and buys 4: 3 + 4 = 7.",
        "7",
    ),
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
    "gsm8k": (
        "A shop sells pens at $2 each. Sam buys 6 pens and pays with a $20 bill. How much change "
        "does he get?",
        "6 pens cost 6 * 2 = 12 dollars. The change is 20 - 12 = 8 dollars.",
        "8",
    ),
    "mmlu": (
        "Which gas do plants take in for photosynthesis?\nA. Oxygen\nB. Nitrogen\n"
        "C. Carbon dioxide\nD. Helium",
        "Plants take in carbon dioxide and give out oxygen, so option C.",
        "C",
    ),
    "strategyqa": (
        "Could a goldfish survive in the Sahara desert without water?",
        "A goldfish needs water to breathe, and the Sahara is dry.",
        "no",
    ),
}
"""One worked example per domain: (question, reasoning, answer), shown as a previous chat turn
where ``prompt.exemplars`` names the domain."""


@dataclass(frozen=True)
class Prompting:
    """How a domain's items become prompts and how completions are scored, the same at training
    and at evaluation (strata-eval --adapter reads it from the run's config)."""

    template_set: str = "light"
    """strata_rewards.TEMPLATE_SETS name: what the prompt asks for and the structure reward
    checks."""
    exemplars: tuple[str, ...] = ()
    """Domains whose prompt shows one worked example (from ``examples``) as a previous chat
    turn."""
    examples: Mapping[str, tuple[str, str, str]] = field(default_factory=lambda: dict(EXEMPLARS))
    """Domain -> its worked example (question, reasoning, answer); EXEMPLARS by default."""
    weights: Weights = field(default_factory=Weights)
    scale: Mapping[str, float] = field(default_factory=dict)
    """Domain -> factor on its total reward (1 where absent)."""

    def template(self, domain: str) -> Template:
        return template_for(reward_domain(domain), self.template_set)

    def messages(self, domain: str, question: str) -> list[dict[str, str]]:
        """The chat prompt: the task, the template, (an example exchange,) the question."""
        rdomain = reward_domain(domain)
        instruction = get_domain(rdomain).instruction(self.template(domain))
        if domain not in self.exemplars:
            return [{"role": "user", "content": f"{instruction}\n\nQuestion: {question}"}]
        example, reasoning, answer = self.examples[domain]
        shown = self.template(domain)
        if shown.sections != ("think",) or shown.wrapper is not None:
            raise ValueError(
                f"exemplars are written in the light template; template set "
                f"{self.template_set!r} asks for {shown.sections}"
            )
        return [
            {"role": "system", "content": instruction},
            {"role": "user", "content": f"Question: {example}"},
            {
                "role": "assistant",
                "content": f"<think>{reasoning}</think><{shown.answer_tag}>{answer}"
                f"</{shown.answer_tag}>",
            },
            {"role": "user", "content": f"Question: {question}"},
        ]

    def score(self, domain: str, text: str, gold: Any) -> RewardBreakdown:
        scored = score(
            reward_domain(domain), text, gold, template=self.template(domain), weights=self.weights
        )
        factor = self.scale.get(domain, 1.0)
        return scored if factor == 1.0 else dataclasses.replace(scored, total=scored.total * factor)

    def parse_gold(self, domain: str, gold: Any) -> Any:
        """``gold`` as the value ``score`` compares answers with (7.0, "B", True)."""
        return get_domain(reward_domain(domain)).parse_gold(gold)

    def stop(self, domains: Sequence[str]) -> tuple[str, ...]:
        """The answers' closing tags: a completion is done once it has written one."""
        return tuple(sorted({f"</{self.template(d).answer_tag}>" for d in domains}))


DEFAULT_PROMPTING = Prompting()


def prompt_for(
    domain: str, question: str, prompting: Prompting = DEFAULT_PROMPTING
) -> list[dict[str, str]]:
    """The chat prompt used in training and evaluation alike (see :class:`Prompting`)."""
    return prompting.messages(domain, question)


def subsample(items: list[Item], n: int | None, seed: int) -> list[Item]:
    """``n`` items in a seeded random order (all of them when ``n`` is None or larger). Items
    with subjects (MMLU) are taken evenly across subjects: each subject gives ``n // S`` or one
    more, unless it has fewer, so per-subject accuracies all rest on similar counts."""
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
