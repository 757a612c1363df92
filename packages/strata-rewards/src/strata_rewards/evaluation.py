"""Evaluation results over held-out items, without a model: score one completion an item as
training does (``score_domain``), compare two evaluations on the same items (Wilson intervals,
exact McNemar), and write them as tables. ``strata-eval`` generates greedily and hands the texts
here; any other generator (TRL, verl, vLLM) can too.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from strata_rewards.data import Item
from strata_rewards.domains import Gold, get_domain
from strata_rewards.extract import AnswerSpan
from strata_rewards.prompting import Prompting
from strata_rewards.stats import mcnemar_p, wilson

TOP_ANSWERS = 5
NO_ANSWER = "(none)"


@dataclass
class DomainResult:
    domain: str
    n: int
    correct: int
    accuracy: float
    ci_low: float
    ci_high: float
    parse_rate: float
    """Share of completions the verifier read an answer from."""
    structure: float
    """Mean structure score (share of the template's checks passed)."""
    compliance: float
    """Share of completions that follow the whole template."""
    parsed_accuracy: float = 0.0
    """Accuracy among the completions an answer was read from: the skill, apart from the
    format."""
    baseline: float = 0.0
    """Accuracy of the best constant answer on these items (the majority class; chance or
    better for choices): what answering without reading the question gets."""
    answers: dict[str, int] = field(default_factory=dict)
    """The most frequent answers read and their counts, most frequent first (at most
    :data:`TOP_ANSWERS`; no answer read counts as ``"(none)"``): a model that gives every question
    the same answer shows here, where accuracy alone can hide it (experiment B's StrategyQA 0.467
    equals the share of *yes* golds, 107 of 229, which only three kept samples could explain)."""
    per_subject: dict[str, dict[str, float]] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    lenient_accuracy: float = 0.0
    """Accuracy when the answer may be read from anywhere in the completion (the last number,
    letter or yes/no of the text, not only the template's answer tag): beside ``accuracy``, it
    shows whether a change is skill or format."""
    outcomes: list[int] = field(default_factory=list)
    """1 or 0 per item, in the items' order: what a paired test of two evaluations on the same
    items reads (empty in results written before it was kept)."""
    items_key: str = ""
    """A hash of the items' questions and golds, in order: two evaluations are paired only where
    it agrees, so a paired test never reads two samples of the same size as the same items
    (empty in results written before it was kept)."""


def score_domain(
    domain: str, items: Sequence[Item], texts: Sequence[str], prompting: Prompting
) -> DomainResult:
    """One domain's evaluation from its items and one completion each (greedy, from any
    generator), scored as training scores them: accuracy with its Wilson interval, parse rate,
    accuracy when parsed, lenient accuracy, the best constant answer, the most common answers,
    structure, per-subject accuracy and the per-item outcomes a paired test reads."""
    if len(items) != len(texts):
        raise ValueError(f"{domain}: {len(items)} items but {len(texts)} completions")
    correct = parsed = compliant = lenient = 0
    structure = 0.0
    outcomes: list[int] = []
    subjects: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    golds: Counter[Any] = Counter(get_domain(domain).parse_gold(it.gold) for it in items)
    samples: list[dict[str, Any]] = []
    answers: Counter[str] = Counter()
    for it, text in zip(items, texts, strict=True):
        b = prompting.score(domain, text, it.gold)
        ok = b.outcome == 1.0
        correct += ok
        outcomes.append(int(ok))
        lenient += ok or _lenient_correct(domain, text, it.gold)
        parsed += b.answer is not None
        structure += b.structure
        compliant += b.structure == 1.0
        answers[NO_ANSWER if b.answer is None else str(b.answer)] += 1
        if it.subject:
            subjects[it.subject][0] += ok
            subjects[it.subject][1] += 1
        if len(samples) < 3:
            samples.append(
                {
                    "id": it.id,
                    "completion": text[:600],
                    "gold": str(it.gold),
                    "answer": str(b.answer),
                    "correct": ok,
                }
            )
    n = len(items)
    low, high = wilson(correct, n)
    return DomainResult(
        domain=domain,
        n=n,
        correct=correct,
        accuracy=correct / n if n else 0.0,
        ci_low=low,
        ci_high=high,
        parse_rate=parsed / n if n else 0.0,
        structure=structure / n if n else 0.0,
        compliance=compliant / n if n else 0.0,
        parsed_accuracy=correct / parsed if parsed else 0.0,
        baseline=max(golds.values()) / n if n else 0.0,
        answers=dict(answers.most_common(TOP_ANSWERS)),
        per_subject={s: {"n": v[1], "accuracy": v[0] / v[1]} for s, v in sorted(subjects.items())},
        samples=samples,
        lenient_accuracy=lenient / n if n else 0.0,
        outcomes=outcomes,
        items_key=items_key(items),
    )


def items_key(items: Sequence[Item]) -> str:
    """What :attr:`DomainResult.items_key` holds: the items' content, hashed (not their ids,
    which name a file's row or a position and differ between tools)."""
    text = json.dumps([[it.question, str(it.gold)] for it in items], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _lenient_correct(domain: str, text: str, gold: Gold) -> bool:
    """The domain's answer read from the whole completion, tags or not, equals ``gold``."""
    d = get_domain(domain)
    answer = d.pick(AnswerSpan(text, "text"))
    return answer is not None and d.equal(answer, d.parse_gold(gold))


def to_json(results: Mapping[str, DomainResult]) -> dict[str, Any]:
    return {d: asdict(r) for d, r in results.items()}


def from_json(data: Mapping[str, Any]) -> dict[str, DomainResult]:
    return {d: DomainResult(**r) for d, r in data.items()}


@dataclass(frozen=True)
class Comparison:
    domain: str
    before: float
    after: float
    delta: float
    flagged: bool
    """After fell below the lower end of before's 95 % interval."""
    improved: bool = False
    """After's 95 % interval lies wholly above before's (the issue's bar for a gain)."""
    p_value: float | None = None
    """Exact McNemar test on the same items (None where an evaluation kept no per-item
    outcomes, or the items differ)."""
    gained: int = 0
    """Items right after and wrong before."""
    lost: int = 0
    """Items right before and wrong after."""


def compare(
    before: Mapping[str, DomainResult], after: Mapping[str, DomainResult]
) -> list[Comparison]:
    out = []
    for domain, a in after.items():
        if domain not in before:
            continue
        b = before[domain]
        same_items = not (a.items_key and b.items_key) or a.items_key == b.items_key
        paired = same_items and len(b.outcomes) == len(a.outcomes) == a.n > 0
        pairs = list(zip(b.outcomes, a.outcomes, strict=True)) if paired else []
        out.append(
            Comparison(
                domain,
                b.accuracy,
                a.accuracy,
                a.accuracy - b.accuracy,
                a.accuracy < b.ci_low,
                improved=a.ci_low > b.ci_high,
                p_value=mcnemar_p(b.outcomes, a.outcomes) if paired else None,
                gained=sum(1 for x, y in pairs if y and not x),
                lost=sum(1 for x, y in pairs if x and not y),
            )
        )
    return out


def results_markdown(results: Mapping[str, DomainResult], title: str = "Evaluation") -> str:
    lines = [
        f"### {title}",
        "",
        "| domain | n | accuracy | 95 % CI | parse rate | accuracy when parsed | lenient accuracy "
        "| best constant answer | most common answer (share) | structure | compliance |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results.values():
        lines.append(
            f"| {r.domain} | {r.n} | {r.accuracy:.3f} | [{r.ci_low:.3f}, {r.ci_high:.3f}]"
            f" | {r.parse_rate:.3f} | {r.parsed_accuracy:.3f} | {r.lenient_accuracy:.3f}"
            f" | {r.baseline:.3f}"
            f" | {most_common_answer(r.answers, r.n)} | {r.structure:.3f} | {r.compliance:.3f} |"
        )
    for r in results.values():
        if r.per_subject:
            lines += [
                "",
                f"{r.domain} per subject (MMLU) or skill (synthetic domains):",
                "",
                "| subject or skill | n | accuracy |",
                "|---|---|---|",
            ]
            lines += [
                f"| {s} | {v['n']:.0f} | {v['accuracy']:.3f} |" for s, v in r.per_subject.items()
            ]
    return "\n".join(lines) + "\n"


def modal_answer(answers: Mapping[str, int]) -> tuple[str, int] | None:
    """The answer given most often in :attr:`DomainResult.answers` and its count (the first
    counted wins a tie), or None where no answer was counted (a result written before answers
    were). No answer read, ``"(none)"``, is one answer among the others: a policy that stops
    answering every question is as collapsed as one that answers *C* to all of them."""
    if not answers:
        return None
    answer = max(answers, key=lambda a: answers[a])
    return answer, answers[answer]


def answer_cell(answer: str) -> str:
    """An answer as one markdown table cell: no line breaks, no ``|`` (it would end the
    cell), at most 24 characters."""
    shown = " ".join(answer.split()).replace("|", "∣") or '""'
    return shown if len(shown) <= 24 else shown[:23] + "…"


def most_common_answer(answers: Mapping[str, int], n: int) -> str:
    """``"yes (1.000)"``: the answer given most often (:attr:`DomainResult.answers`) and its
    share of the ``n`` items; ``"—"`` for a result written before answers were counted."""
    found = modal_answer(answers)
    if found is None or not n:
        return "—"
    answer, count = found
    return f"{answer_cell(answer)} ({count / n:.3f})"


def subjects_comparison_markdown(
    before: Mapping[str, DomainResult], after: Mapping[str, DomainResult], most: int = 8
) -> str:
    """Before and after per subject or skill, for each domain split into 2 to ``most`` of them
    (a synthetic domain's skills: a sum's carry; not MMLU's 57 subjects), or "": a domain that
    rose on its easy items and fell on the rest shows here, where its accuracy hides it."""
    lines = []
    for domain, a in after.items():
        b = before.get(domain)
        if (
            b is None
            or not 2 <= len(a.per_subject) <= most
            or b.per_subject.keys() != a.per_subject.keys()
        ):
            continue
        for s, v in a.per_subject.items():
            was = b.per_subject[s]["accuracy"]
            lines.append(
                f"| {domain} | {s} | {v['n']:.0f} | {was:.3f} | {v['accuracy']:.3f} | "
                f"{v['accuracy'] - was:+.3f} |"
            )
    if not lines:
        return ""
    head = "| domain | subject or skill | n | before | after | change |\n|---|---|---|---|---|---|"
    return head + "\n" + "\n".join(lines) + "\n"


def comparison_markdown(rows: Sequence[Comparison]) -> str:
    lines = [
        "| domain | before | after | change | items gained / lost | McNemar p | flag |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in rows:
        flag = (
            "**dropped beyond its interval**"
            if c.flagged
            else "**up beyond both intervals**"
            if c.improved
            else ""
        )
        p = "—" if c.p_value is None else f"{c.p_value:.3g}"
        lines.append(
            f"| {c.domain} | {c.before:.3f} | {c.after:.3f} | {c.delta:+.3f} | "
            f"{c.gained} / {c.lost} | {p} | {flag} |"
        )
    return "\n".join(lines) + "\n"
