"""Does a run look collapsed? Read from its metrics rows (``StepMetrics.row()``, oldest first):
one answer to nearly every prompt for several steps (answer collapse), or near-zero sampling
entropy (entropy collapse). A rising reward with one answer is a collapse or a hack, not
learning (docs/grpo.md, "When training collapses")."""

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
    kind: Literal["answer", "entropy"]
    """answer: one answer to nearly every prompt; entropy: near-deterministic sampling."""
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
