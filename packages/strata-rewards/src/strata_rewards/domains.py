"""Domains: how to read a gold answer, extract a model's answer, compare them, and the template.

Built in: ``gsm8k`` (numbers), ``mmlu`` (letters A–D), ``strategyqa`` (yes/no). Users add domains
with :func:`register_domain`, or from another package through the entry-point group
``strata.rewards`` (each entry point loads a :class:`Domain`, or a callable returning one or a
list of them); duplicates warn and keep the first.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from strata_rewards.extract import (
    LETTERS,
    AnswerSpan,
    answer_span,
    numbers,
    numbers_equal,
    pick_choice,
    pick_number,
    pick_yes_no,
)
from strata_rewards.templates import KNOWLEDGE, MATH, STRATEGY, Template

ENTRY_POINT_GROUP = "strata.rewards"


Answer = float | str | bool
"""An answer as a domain reads it: a number (GSM8K and the numeric domains), a letter (MMLU), a
yes/no as a bool (StrategyQA)."""
Gold = str | int | float | bool
"""A gold answer as a dataset stores it ("#### 18", 18, "B", 1, True, "yes"): ``parse_gold``
turns it into an :data:`Answer`."""


class GoldError(ValueError):
    """A gold answer this domain cannot read."""


@dataclass(frozen=True)
class Domain:
    """Everything reward-related that differs between domains."""

    name: str
    pick: Callable[[AnswerSpan], Answer | None]
    """Reads the answer (a float, a letter, a bool…) from a span; ``None`` if there is none."""
    parse_gold: Callable[[Gold], Answer]
    """Turns a dataset's gold answer into the same kind of value; raises :class:`GoldError`."""
    equal: Callable[[Answer, Answer], bool]
    template: Template
    task: str
    """One sentence telling the model what kind of answer to give."""
    family: str = ""
    """The built-in domain whose answers and templates this one shares (``gsm8k``, ``mmlu``,
    ``strategyqa``; see :func:`register_alias`); empty for a domain of its own."""

    def instruction(self, template: Template | None = None) -> str:
        return f"{self.task}\n{(template or self.template).instruction()}"

    @property
    def kind(self) -> str:
        """The name template sets know it by: its family's, else its own."""
        return self.family or self.name


def _gold_number(gold: Any) -> float:
    if isinstance(gold, bool):
        raise GoldError(f"a GSM8K gold answer must be a number, got {gold!r}")
    if isinstance(gold, int | float):
        return float(gold)
    if isinstance(gold, str):
        span = answer_span(gold, answer_tag=None)
        value = pick_number(span) if span.source == "hash" else _only_number(gold)
        if value is not None:
            return value
    raise GoldError(f"cannot read a number from the GSM8K gold answer {gold!r}")


def _only_number(text: str) -> float | None:
    found = numbers(text)
    return found[0].value if len(found) == 1 else None


def _gold_letter(gold: Any) -> str:
    if isinstance(gold, int) and not isinstance(gold, bool) and 0 <= gold < len(LETTERS):
        return LETTERS[gold]
    if isinstance(gold, str) and gold.strip().upper() in LETTERS:
        return gold.strip().upper()
    raise GoldError(f"an MMLU gold answer must be A–D or 0–3, got {gold!r}")


def _gold_bool(gold: Any) -> bool:
    if isinstance(gold, bool):
        return gold
    if isinstance(gold, str) and gold.strip().lower() in {"yes", "true", "no", "false"}:
        return gold.strip().lower() in {"yes", "true"}
    raise GoldError(f"a StrategyQA gold answer must be a bool or yes/no, got {gold!r}")


def _numbers_equal(a: Answer, b: Answer) -> bool:
    """Two numbers equal to a relative 1e-6 (a letter or a bool is never a GSM8K answer)."""
    if isinstance(a, str | bool) or isinstance(b, str | bool):
        return False
    return numbers_equal(a, b)


GSM8K = Domain(
    name="gsm8k",
    pick=pick_number,
    parse_gold=_gold_number,
    equal=_numbers_equal,
    template=MATH,
    task="Solve the math word problem. The final answer is a single number.",
)
MMLU = Domain(
    name="mmlu",
    pick=pick_choice,
    parse_gold=_gold_letter,
    equal=lambda a, b: a == b,
    template=KNOWLEDGE,
    task="Answer the multiple-choice question with the letter (A, B, C or D) of the best option.",
)
STRATEGYQA = Domain(
    name="strategyqa",
    pick=pick_yes_no,
    parse_gold=_gold_bool,
    equal=lambda a, b: a == b,
    template=STRATEGY,
    task="Answer the question with yes or no.",
)

_REGISTRY: dict[str, Domain] = {d.name: d for d in (GSM8K, MMLU, STRATEGYQA)}
_plugins_loaded = False


def register_domain(domain: Domain, *, replace: bool = False) -> Domain:
    """Add ``domain`` to the registry; raises on a duplicate name unless ``replace``, and a
    TypeError on a name that is not a non-empty string (it would break every sorted listing)."""
    if not isinstance(domain, Domain):
        raise TypeError(f"register_domain takes a Domain, got {type(domain).__name__}")
    if not isinstance(domain.name, str) or not domain.name:
        raise TypeError(f"a reward domain's name must be a non-empty string, got {domain.name!r}")
    if domain.name in _REGISTRY and not replace:
        raise ValueError(f"a reward domain named {domain.name!r} is registered already")
    _REGISTRY[domain.name] = domain
    return domain


def register_alias(name: str, of: str) -> Domain:
    """Register ``name`` as a domain scored exactly as ``of`` (its answers, gold, templates and
    task sentence): a dataset of another name with one of the built-in answer kinds, such as
    strata-train's synthetic ``sum`` (scored as ``gsm8k``). Registering the same alias again is
    a no-op; another domain of that name is an error."""
    base = get_domain(of)
    alias = dataclasses.replace(base, name=name, family=base.kind)
    existing = _REGISTRY.get(name)
    if existing is not None:
        if existing == alias:
            return existing
        raise ValueError(f"a reward domain named {name!r} is registered already")
    return register_domain(alias)


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
            found = loaded() if callable(loaded) and not isinstance(loaded, Domain) else loaded
        except Exception as err:  # a broken plugin must not break scoring of the others
            warnings.warn(f"reward domain plugin {ep.name!r} failed to load: {err}", stacklevel=3)
            continue
        for domain in found if isinstance(found, list | tuple) else [found]:
            if not isinstance(domain, Domain):
                warnings.warn(
                    f"plugin {ep.name!r} gave {type(domain).__name__}, not a Domain", stacklevel=3
                )
            elif domain.name in _REGISTRY:
                warnings.warn(
                    f"plugin {ep.name!r}: domain {domain.name!r} exists; kept the first",
                    stacklevel=3,
                )
            else:
                _REGISTRY[domain.name] = domain


def get_domain(name: str) -> Domain:
    """The registered domain ``name`` (built in, registered, or from an entry point)."""
    if name not in _REGISTRY:
        _load_plugins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown reward domain {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def available_domains() -> tuple[str, ...]:
    _load_plugins()
    return tuple(sorted(_REGISTRY))
