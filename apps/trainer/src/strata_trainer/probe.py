"""The learnability probe's sampling (``strata-eval --probe``): greedy and ``k`` sampled answers
of held-out items through a rollout engine, scored as training scores them. The statistics and
the verdict are strata-rewards' (``strata_rewards.probe``, pure functions of scored samples).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from strata_rewards import Prompting
from strata_rewards.data import Item
from strata_rewards.probe import DomainProbe, ItemSamples, Thresholds, summarise
from strata_rollout import RolloutEngine, SamplingConfig


def sample_items(
    engine: RolloutEngine,
    domain: str,
    items: Sequence[Item],
    prompting: Prompting,
    *,
    k: int,
    temperature: float,
    max_new_tokens: int,
    stop: tuple[str, ...] = (),
) -> list[ItemSamples]:
    """Greedy and ``k`` sampled completions of each item through ``engine``, scored as
    training scores them."""
    prompts = [prompting.messages(domain, it.question) for it in items]
    greedy = engine.generate(
        prompts, 1, SamplingConfig(max_new_tokens, temperature=0, stop=stop), logprobs=False
    )
    sampled = engine.generate(
        prompts,
        k,
        SamplingConfig(max_new_tokens, temperature=temperature, stop=stop),
        logprobs=False,
    )
    out = []
    for it, first, group in zip(items, greedy, sampled, strict=True):
        scores = [prompting.score(domain, c.text, it.gold) for c in group]
        out.append(
            ItemSamples(
                gold=_key(prompting.parse_gold(domain, it.gold)),
                greedy_correct=prompting.score(domain, first[0].text, it.gold).outcome == 1.0,
                answers=tuple(None if s.answer is None else _key(s.answer) for s in scores),
                correct=tuple(s.outcome == 1.0 for s in scores),
                truncated=tuple(c.finish_reason == "length" for c in group),
            )
        )
    return out


def _key(answer: object) -> str:
    """An answer as the text the votes and the constant count: 7.0 and 7 are one answer."""
    if isinstance(answer, float) and answer.is_integer():
        return str(int(answer))
    return str(answer)


def run_probe(
    engine: RolloutEngine,
    items: Mapping[str, Sequence[Item]],
    prompting: Prompting,
    *,
    k: int,
    temperature: float,
    max_new_tokens: int,
    stop: tuple[str, ...] = (),
    thresholds: Thresholds | None = None,
    progress: Callable[[str, DomainProbe], None] | None = None,
) -> list[DomainProbe]:
    """The probe over every domain of ``items``, in order."""
    probes = []
    for domain, domain_items in items.items():
        scored = sample_items(
            engine,
            domain,
            domain_items,
            prompting,
            k=k,
            temperature=temperature,
            max_new_tokens=max_new_tokens,
            stop=stop,
        )
        probes.append(summarise(domain, scored, thresholds or Thresholds()))
        if progress is not None:
            progress(domain, probes[-1])
    return probes
