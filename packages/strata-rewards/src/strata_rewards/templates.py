"""Structured reasoning templates as data, and the structure score.

A template names the sections a completion should write, in order, e.g. for math::

    <think><decompose>…</decompose><compute>…</compute><verify>…</verify></think>
    <answer>…</answer>

Score = share of the template's checks passed: each section present (open and close tag), after
the previous one, holding at least ``min_words`` *distinct* words that are not its hint's (so
repeating text, or restating the instruction's "your reasoning, in a sentence or two", cannot
make a section count), plus one for a well-formed answer (exactly one answer section, after the
reasoning, whose content the domain can read an answer from). Every check is a ``str.find``
from a moving position: linear in the completion's length.

Templates load from TOML::

    name = "math"
    wrapper = "think"           # optional section enclosing the others
    sections = ["decompose", "compute", "verify"]
    answer_tag = "answer"
    min_words = 3
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_WORD = re.compile(r"[^\W_]+")
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Template:
    """The sections a completion must write, in order."""

    name: str
    sections: tuple[str, ...]
    """Tag names, in the order they must appear."""
    wrapper: str | None = "think"
    """A section enclosing ``sections`` (``None``: they stand at top level)."""
    answer_tag: str = "answer"
    min_words: int = 3
    """Distinct words a section needs to count as written."""
    hints: Mapping[str, str] = field(default_factory=dict)
    """What each section is for, shown in the prompt's instruction."""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a template needs a name (template sets and errors name it)")
        if isinstance(self.sections, str):  # a string would be one section per letter
            raise TypeError(
                f"template {self.name!r}: sections must be a tuple of tag names, got the string "
                f"{self.sections!r} (one section: ({self.sections!r},))"
            )
        for tag in (*self.sections, self.answer_tag, *([self.wrapper] if self.wrapper else [])):
            if not _TAG_NAME.fullmatch(tag):
                raise ValueError(f"template {self.name!r}: {tag!r} is not a valid tag name")
        if len(set(self.sections)) != len(self.sections):
            raise ValueError(f"template {self.name!r}: sections repeat: {self.sections}")
        if self.min_words < 0:
            raise ValueError(f"template {self.name!r}: min_words must be >= 0")

    def hint_words(self, section: str) -> set[str]:
        """The words of ``section``'s hint (lower case), which its text cannot count: restating
        the instruction is not writing the section."""
        return _words(self.hints.get(section, ""))

    @property
    def n_checks(self) -> int:
        return len(self.sections) + (1 if self.wrapper else 0) + 1

    def instruction(self) -> str:
        """How the prompt tells the model to write its answer."""
        inner = "".join(f"<{s}>…</{s}>" for s in self.sections)
        shape = f"<{self.wrapper}>{inner}</{self.wrapper}>" if self.wrapper else inner
        lines = [f"Answer in this format: {shape} then <{self.answer_tag}>…</{self.answer_tag}>."]
        lines += [f"- <{s}>: {self.hints[s]}" for s in self.sections if s in self.hints]
        lines.append(f"- <{self.answer_tag}>: only the final answer.")
        return "\n".join(lines)

    @classmethod
    def from_toml(cls, path: str | Path) -> Template:
        with open(path, "rb") as f:
            return cls.from_dict(tomllib.load(f), source=str(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "template") -> Template:
        known = {"name", "sections", "wrapper", "answer_tag", "min_words", "hints"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{source}: unknown field(s) {unknown}; known: {sorted(known)}")
        for required in ("name", "sections"):
            if required not in data:
                raise ValueError(f"{source}: missing field {required!r}")
        if not isinstance(data["sections"], list | tuple):  # a string: one section per letter
            raise ValueError(
                f"{source}: sections must be a list of tag names, got {data['sections']!r}"
            )
        min_words = data.get("min_words", 3)
        if isinstance(min_words, bool) or not isinstance(min_words, int):
            raise ValueError(f"{source}: min_words must be a whole number, got {min_words!r}")
        if not isinstance(data.get("hints", {}), Mapping):
            raise ValueError(f"{source}: hints must be a table of section = hint")
        return cls(
            name=str(data["name"]),
            sections=tuple(data["sections"]),
            wrapper=data.get("wrapper", "think") or None,
            answer_tag=data.get("answer_tag", "answer"),
            min_words=min_words,
            hints=dict(data.get("hints", {})),
        )


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _section(text: str, tag: str, pos: int, end: int) -> tuple[int, int] | None:
    """(content start, close end) of the first ``<tag>…</tag>`` in ``text[pos:end]``."""
    start = text.find(f"<{tag}>", pos, end)
    if start == -1:
        return None
    body = start + len(tag) + 2
    close = text.find(f"</{tag}>", body, end)
    return None if close == -1 else (body, close)


def structure_score(
    completion: str, template: Template, has_answer: Callable[[str], bool] | None = None
) -> float:
    """Share of ``template``'s checks the completion passes, in [0, 1].

    Args:
        has_answer: whether the answer section's text holds a readable answer (the domain's
            extractor); ``None`` accepts any non-empty answer.
    """
    passed = 0
    pos, limit = 0, len(completion)
    if template.wrapper:
        wrap = _section(completion, template.wrapper, 0, limit)
        if wrap is not None:
            passed += 1
            pos, inner_end = wrap
        else:
            inner_end = limit
    else:
        inner_end = limit
    reasoning_end = pos
    for tag in template.sections:
        found = _section(completion, tag, pos, inner_end)
        if found is None:
            continue  # a missing section does not block the later ones
        body, close = found
        # Its own hint earns nothing: experiment B's san seed 1 learned to copy the light
        # template's hint into <think> with an answer after it, and was paid for format.
        if len(_words(completion[body:close]) - template.hint_words(tag)) >= template.min_words:
            passed += 1
        pos = close + len(tag) + 3
        reasoning_end = max(reasoning_end, pos)
    if template.wrapper and inner_end != limit:
        reasoning_end = inner_end + len(template.wrapper) + 3
    open_tag, close_tag = f"<{template.answer_tag}>", f"</{template.answer_tag}>"
    first = completion.find(open_tag, reasoning_end)
    if first != -1 and completion.count(open_tag) == 1 and completion.count(close_tag) == 1:
        close = completion.find(close_tag, first)
        if close != -1:
            content = completion[first + len(open_tag) : close]
            ok = has_answer(content) if has_answer is not None else bool(content.strip())
            passed += 1 if ok else 0
    return passed / template.n_checks


MATH = Template(
    name="math",
    sections=("decompose", "compute", "verify"),
    hints={
        "decompose": "break the problem into the quantities and steps needed",
        "compute": "do the arithmetic, one step per line",
        "verify": "check the result against the question",
    },
)
KNOWLEDGE = Template(
    name="knowledge",
    sections=("recall", "evaluate"),
    hints={
        "recall": "state the facts the question depends on",
        "evaluate": "weigh each option against them",
    },
)
STRATEGY = Template(
    name="strategy",
    sections=("decompose", "resolve", "synthesize"),
    hints={
        "decompose": "split the question into sub-questions",
        "resolve": "answer each sub-question",
        "synthesize": "combine them into yes or no",
    },
)
LIGHT = Template(
    name="light",
    sections=("think",),
    wrapper=None,
    min_words=2,
    hints={"think": "your reasoning, in a sentence or two"},
)
"""Reasoning, then the answer: ``<think>…</think><answer>…</answer>``. Two checks, so partial
credit is 0.5 for either. SmolLM2-135M writes it when shown one example (docs/default-run.md);
it never wrote the seed's sectioned templates within 96 tokens."""

TEMPLATE_SETS: dict[str, dict[str, Template]] = {
    "light": {"gsm8k": LIGHT, "mmlu": LIGHT, "strategyqa": LIGHT},
    "full": {"gsm8k": MATH, "mmlu": KNOWLEDGE, "strategyqa": STRATEGY},
}
"""Named template sets, by reward domain. ``full`` is the seed's sectioned set (decompose /
compute / verify, recall / evaluate, decompose / resolve / synthesize) for models that can
write it; ``light`` is the default of ``strata-train``."""


def template_for(domain: str, template_set: str) -> Template:
    """The template ``template_set`` gives a reward domain (an alias: its family's); a domain
    the set does not name (a plugin's) keeps its own."""
    if template_set not in TEMPLATE_SETS:
        raise ValueError(
            f"unknown template set {template_set!r}; known: {', '.join(TEMPLATE_SETS)}"
        )
    from strata_rewards.domains import get_domain

    known = get_domain(domain)
    return TEMPLATE_SETS[template_set].get(known.kind) or known.template
