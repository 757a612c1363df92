"""Prompts and scores together: how an item of a domain becomes a chat prompt, and how a
completion of it is scored, the same at training and at evaluation.

    from strata_rewards import Prompting

    prompting = Prompting(exemplars=("gsm8k",))
    messages = prompting.messages("gsm8k", "Tom has 3 apples and buys 4. How many now?")
    reward = prompting.score("gsm8k", completion_text, "#### 7")  # a RewardBreakdown

strata-train builds its prompts and rewards with this class (its synthetic domains registered
as aliases of the built-in ones), so a user of ``pip install strata-rewards`` alone gets the same
prompts and scores as the trainer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from strata_rewards.domains import Answer, Gold, get_domain
from strata_rewards.scoring import RewardBreakdown, Weights, score
from strata_rewards.templates import Template, template_for

Example = tuple[str, str, str]
"""A worked example: (question, reasoning, answer)."""

EXAMPLES: dict[str, Example] = {
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
"""One worked example per built-in domain, shown as a previous chat turn where
:attr:`Prompting.exemplars` names the domain."""


@dataclass(frozen=True)
class Prompting:
    """How a domain's items become prompts and how completions are scored. Domains are
    strata-rewards' registered ones (built in, registered, aliases, plugins)."""

    template_set: str = "light"
    """``TEMPLATE_SETS`` name: what the prompt asks for and the structure reward checks."""
    exemplars: tuple[str, ...] = ()
    """Domains whose prompt shows one worked example (from ``examples``) as a previous chat
    turn (light templates only)."""
    examples: Mapping[str, Example] = field(default_factory=lambda: dict(EXAMPLES))
    """Domain -> its worked example (question, reasoning, answer)."""
    more_examples: Mapping[str, Sequence[Example]] = field(default_factory=dict)
    """Domain -> further worked examples shown after its own, each a previous exchange, the
    last nearest the question (a domain of :attr:`exemplars` only). Two examples of different
    kinds (a sum without a carry, then one with) show the model both (docs/default-run.md §22)."""
    weights: Weights = field(default_factory=Weights)
    scale: Mapping[str, float] = field(default_factory=dict)
    """Domain -> factor on its total reward (1 where absent)."""

    def __post_init__(self) -> None:
        if isinstance(self.exemplars, str):  # "gsm8k" would be the domains g, s, m, 8 and k
            raise TypeError(
                f"exemplars must be a tuple of domains, got the string {self.exemplars!r} "
                f"(one domain: ({self.exemplars!r},))"
            )
        if stray := sorted(set(self.more_examples) - set(self.exemplars)):
            raise ValueError(
                f"more_examples: {', '.join(stray)} shows no worked example (not in exemplars)"
            )
        missing = [d for d in self.exemplars if d not in self.examples]
        if missing:
            raise ValueError(
                f"exemplars: no worked example for {', '.join(missing)}; have: "
                f"{', '.join(self.examples)}"
            )

    def template(self, domain: str) -> Template:
        return template_for(domain, self.template_set)

    def messages(self, domain: str, question: str) -> list[dict[str, str]]:
        """The chat prompt: the task, the template, (an example exchange,) the question."""
        instruction = get_domain(domain).instruction(self.template(domain))
        if domain not in self.exemplars:
            return [{"role": "user", "content": f"{instruction}\n\nQuestion: {question}"}]
        shown = self.template(domain)
        if shown.sections != ("think",) or shown.wrapper is not None:
            raise ValueError(
                f"exemplars are written in the light template; template set "
                f"{self.template_set!r} asks for {shown.sections}"
            )
        tag = shown.answer_tag
        messages = [{"role": "system", "content": instruction}]
        for example, reasoning, answer in (
            self.examples[domain],
            *self.more_examples.get(domain, ()),
        ):
            messages += [
                {"role": "user", "content": f"Question: {example}"},
                {
                    "role": "assistant",
                    "content": f"<think>{reasoning}</think><{tag}>{answer}</{tag}>",
                },
            ]
        return [*messages, {"role": "user", "content": f"Question: {question}"}]

    def score(self, domain: str, text: str, gold: Gold) -> RewardBreakdown:
        """The completion's reward parts and total (total and its terms times ``scale[domain]``)."""
        scored = score(domain, text, gold, template=self.template(domain), weights=self.weights)
        factor = self.scale.get(domain, 1.0)
        if factor == 1.0:
            return scored
        return dataclasses.replace(
            scored,
            total=scored.total * factor,
            outcome_reward=scored.outcome_reward * factor,
            structure_reward=scored.structure_reward * factor,
        )

    def parse_gold(self, domain: str, gold: Gold) -> Answer:
        """``gold`` as the value ``score`` compares answers with (7.0, "B", True)."""
        return get_domain(domain).parse_gold(gold)

    def stop(self, domains: Sequence[str]) -> tuple[str, ...]:
        """The answers' closing tags: a completion is done once it has written one."""
        if isinstance(domains, str):
            raise TypeError(f"stop takes a list of domains, got the string {domains!r}")
        return tuple(sorted({f"</{self.template(d).answer_tag}>" for d in domains}))
