"""Does a run look collapsed? Read from its metrics rows (``StepMetrics.row()``, oldest first):
one answer to nearly every prompt for several steps (answer collapse), or near-zero sampling
entropy (entropy collapse); or, from the greedy checks a run may make every few steps, one greedy
answer to nearly every held-aside question (greedy collapse). A rising reward with one answer is
a collapse or a hack, not learning (docs/grpo.md, "When training collapses")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

COLLAPSE_SHARE = 0.9
"""A domain whose most common answer is at least this share of its answers..."""
COLLAPSE_STEPS = 3
"""...for this many steps in a row raises the collapse alarm."""
ENTROPY_FLOOR = 0.05
"""A domain whose sampling entropy per token falls below this (nats) raises it too."""


@dataclass(frozen=True)
class Alarm:
    """A domain that looks collapsed."""

    domain: str
    kind: Literal["answer", "entropy", "greedy"]
    """answer: one answer to nearly every prompt; entropy: near-deterministic sampling; greedy:
    one greedy answer to nearly every held-aside question."""
    message: str


def collapse_alarms(rows: Sequence[Mapping[str, Any]], domains: Sequence[str]) -> list[Alarm]:
    """Each domain that looks collapsed in ``rows`` (metrics, oldest first): the same answer to
    nearly every prompt for :data:`COLLAPSE_STEPS` steps, or near-zero entropy. A rising reward
    with one answer is a collapse or a hack, not learning (docs/grpo.md)."""
    alarms = []
    for d in domains:
        # A step that gave the domain one prompt says only that its group agrees, not that every
        # prompt gets one answer: it neither counts towards the alarm nor breaks a run of steps.
        # (Rows written before ``prompts`` was logged count as before.)
        shares = [
            float(r[f"{d}/modal_answer_share"])
            for r in rows
            if f"{d}/modal_answer_share" in r and int(r.get(f"{d}/prompts", 2)) >= 2
        ]
        tail = shares[-COLLAPSE_STEPS:]
        if len(tail) == COLLAPSE_STEPS and min(tail) >= COLLAPSE_SHARE:
            message = (
                f"{d}: one answer is {min(tail):.2f}+ of its answers for the last "
                f"{COLLAPSE_STEPS} steps (answer collapse)"
            )
            alarms.append(Alarm(d, "answer", message))
        entropies = [float(r[f"{d}/entropy"]) for r in rows if f"{d}/entropy" in r]
        if entropies and entropies[-1] < ENTROPY_FLOOR:
            message = (
                f"{d}: sampling entropy {entropies[-1]:.3f} nats a token, under "
                f"{ENTROPY_FLOOR} (entropy collapse)"
            )
            alarms.append(Alarm(d, "entropy", message))
    return alarms


def greedy_alarms(checks: Sequence[Mapping[str, Any]], domains: Sequence[str]) -> list[Alarm]:
    """Each domain whose latest greedy check gives one answer to :data:`COLLAPSE_SHARE` or more
    of its questions, and to more of them than the first check did (the policy before training,
    or where the checks began: a base model that already answers one thing is not an alarm).

    ``checks``: rows oldest first, each with ``{domain}/greedy/modal_answer_share`` (the most
    common greedy answer's share of the questions; no answer read counts as one answer) and,
    optionally, ``{domain}/greedy/modal_answer`` (named in the message). Samples at a training
    temperature can still vary while the argmax has settled on one answer for every question: in
    experiment B′ the sampled alarm stayed silent while MMLU's and StrategyQA's greedy answers
    went to one letter and one word on 0.91–0.99 of the test items (docs/results.md)."""
    alarms = []
    for d in domains:
        key = f"{d}/greedy/modal_answer_share"
        rows = [r for r in checks if key in r]
        if len(rows) < 2:
            continue
        first, last = rows[0], rows[-1]
        share, start = float(last[key]), float(first[key])
        if share >= COLLAPSE_SHARE and share > start:
            answer = last.get(f"{d}/greedy/modal_answer")
            said = "one greedy answer" if answer is None else f"the greedy answer {answer}"
            message = (
                f"{d}: {said} to {share:.2f} of the held-aside questions at step "
                f"{last['step']}, against {start:.2f} at the first check (greedy collapse)"
            )
            alarms.append(Alarm(d, "greedy", message))
    return alarms
