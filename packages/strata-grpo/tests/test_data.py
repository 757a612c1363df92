"""TaskSampler: seeded epochs, resumable positions, and balanced strata."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from strata_grpo import Example, TaskSampler
from strata_grpo.data import interleave_strata

strata_lists = st.lists(st.sampled_from(["carry", "no carry", "borrow"]), min_size=1, max_size=40)


def examples(strata: list[str]) -> list[Example]:
    return [Example(f"q{i}", str(i), f"row {i}", stratum=s) for i, s in enumerate(strata)]


@given(strata=strata_lists, seed=st.integers(0, 1000), epochs=st.integers(1, 3))
def test_every_epoch_takes_each_example_once(strata: list[str], seed: int, epochs: int) -> None:
    for balanced in ((), ("d",)):
        sampler = TaskSampler({"d": examples(strata)}, seed=seed, balanced=balanced)
        taken = sampler.take("d", len(strata) * epochs)
        for e in range(epochs):
            epoch = taken[e * len(strata) : (e + 1) * len(strata)]
            assert sorted(int(ex.gold) for ex in epoch) == list(range(len(strata)))


@given(n=st.integers(1, 50), seed=st.integers(0, 1000))
def test_an_unbalanced_domain_keeps_the_plain_shuffle(n: int, seed: int) -> None:
    """Every committed run trained in this order: balancing is opt-in, per domain."""
    sampler = TaskSampler({"d": examples(["x"] * n)}, seed=seed)
    order = list(range(n))
    random.Random(f"{seed}:d:0").shuffle(order)
    assert [int(ex.gold) for ex in sampler.take("d", n)] == order


@given(strata=strata_lists, seed=st.integers(0, 1000))
def test_a_balanced_domain_takes_each_stratum_in_turn(strata: list[str], seed: int) -> None:
    """Any window of as many takes as there are strata holds each stratum once, while the
    smallest stratum lasts: a step of two sum prompts gets one with a carry, one without."""
    sampler = TaskSampler({"d": examples(strata)}, seed=seed, balanced=("d",))
    taken = [ex.stratum for ex in sampler.take("d", len(strata))]
    counts = Counter(strata)
    kinds, rounds = len(counts), min(counts.values())
    for start in range(rounds * kinds - kinds + 1):
        assert len(set(taken[start : start + kinds])) == kinds


@given(strata=strata_lists, seed=st.integers(0, 1000))
def test_interleaving_is_a_permutation_that_keeps_each_strata_order(
    strata: list[str], seed: int
) -> None:
    order = list(range(len(strata)))
    random.Random(seed).shuffle(order)
    out = interleave_strata(order, strata, random.Random(seed))
    assert sorted(out) == list(range(len(strata)))
    for s in set(strata):
        assert [i for i in out if strata[i] == s] == [i for i in order if strata[i] == s]


def test_balancing_names_a_missing_domain_and_an_example_without_a_stratum() -> None:
    labelled = examples(["carry", "no carry"])
    with pytest.raises(ValueError, match="balanced: no domain sum"):
        TaskSampler({"d": labelled}, balanced=("sum",))
    # balanced="sum" once said "no domain m, s, u": a string is a collection of letters.
    with pytest.raises(TypeError, match="balanced must be a collection of domains, got 'sum'"):
        TaskSampler({"sum": labelled}, balanced="sum")
    with pytest.raises(ValueError, match="tasks is empty"):
        TaskSampler({})
    bare = [Example("q", "1", "gsm8k:train:7")]
    with pytest.raises(ValueError, match=r"1 examples have no stratum, e.g. gsm8k:train:7"):
        TaskSampler({"d": bare}, balanced=("d",))


class ResumedSampler(RuleBasedStateMachine):
    """Takes in any chunks, with the sampler rebuilt from its state_dict at any point, give the
    examples one uninterrupted sampler gives (a resumed run trains on what the run would have)."""

    @initialize(strata=strata_lists, seed=st.integers(0, 100), balanced=st.booleans())
    def start(self, strata: list[str], seed: int, balanced: bool) -> None:
        self.tasks = {"d": examples(strata), "e": examples(strata[::-1])}
        self.balanced = ("d",) if balanced else ()
        self.sampler = TaskSampler(self.tasks, seed=seed, balanced=self.balanced)
        self.reference = TaskSampler(self.tasks, seed=seed, balanced=self.balanced)
        self.taken: dict[str, list[Example]] = {"d": [], "e": []}

    @rule(domain=st.sampled_from(["d", "e"]), k=st.integers(0, 30))
    def take(self, domain: str, k: int) -> None:
        self.taken[domain] += self.sampler.take(domain, k)

    @rule()
    def resume(self) -> None:
        state = self.sampler.state_dict()
        self.sampler = TaskSampler(self.tasks, seed=0, balanced=self.balanced)
        self.sampler.load_state_dict(state)

    @invariant()
    def same_as_uninterrupted(self) -> None:
        if not hasattr(self, "taken"):
            return
        for domain, got in self.taken.items():
            fresh = TaskSampler(self.tasks, seed=self.reference.seed, balanced=self.balanced)
            assert fresh.take(domain, len(got)) == got


TestResumedSampler = ResumedSampler.TestCase
