"""Any sequence of registering domains and aliases keeps the registry equal to a plain dict
model of it (Hypothesis stateful test): duplicates refused unless asked, an alias scored exactly
as the domain it stands for, names that are not strings refused."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from strata_rewards import (
    MATH,
    Domain,
    available_domains,
    get_domain,
    register_alias,
    register_domain,
    verify,
)
from strata_rewards import domains as registry_module

NAMES = st.sampled_from(["colour", "shade", "tally", "gsm8k", "mmlu"])
# A completion and a gold per built-in answer kind, right under that kind's rules only.
PROBES = {"gsm8k": ("<answer>42</answer>", "#### 42"), "mmlu": ("<answer>C</answer>", "C")}


def colour(name: str) -> Domain:
    return Domain(
        name=name,
        pick=lambda span: span.text.strip().lower() or None,
        parse_gold=lambda gold: str(gold).lower(),
        equal=lambda a, b: a == b,
        template=MATH,
        task="Name the colour.",
    )


class DomainRegistryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.saved = dict(registry_module._REGISTRY)
        self.model: dict[str, Domain] = dict(self.saved)

    @rule(name=NAMES, replace=st.booleans())
    def register(self, name: str, replace: bool) -> None:
        domain = colour(name)
        if name in self.model and not replace:
            with pytest.raises(ValueError, match=f"{name!r} is registered already"):
                register_domain(domain, replace=replace)
        else:
            assert register_domain(domain, replace=replace) is domain
            self.model[name] = domain

    @rule(name=NAMES, of=st.sampled_from(["gsm8k", "mmlu"]))
    def alias(self, name: str, of: str) -> None:
        if of not in self.model:
            return
        expected = dataclasses.replace(self.model[of], name=name, family=self.model[of].kind)
        if name in self.model and self.model[name] != expected:
            with pytest.raises(ValueError, match="is registered already"):
                register_alias(name, of)
            return
        register_alias(name, of)  # the same alias again is a no-op
        self.model.setdefault(name, expected)
        completion, gold = PROBES[of]
        if self.model[of] is self.saved[of]:  # the built-in as shipped: its answers, its gold
            assert verify(name, completion, gold)

    @rule(name=st.one_of(st.just(""), st.integers()))
    def bad_name(self, name: object) -> None:
        with pytest.raises(TypeError, match="must be a non-empty string"):
            register_domain(colour(name))  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="must be a non-empty string"):
            register_alias(name, "gsm8k")  # type: ignore[arg-type]

    @rule(name=st.one_of(NAMES, st.just("nope")))
    def look_up(self, name: str) -> None:
        if name in self.model:
            assert get_domain(name) == self.model[name]
        else:
            with pytest.raises(ValueError, match=f"unknown reward domain {name!r}; known: "):
                get_domain(name)

    @invariant()
    def listing_is_the_models_sorted(self) -> None:
        assert available_domains() == tuple(sorted(self.model))

    def teardown(self) -> None:
        registry_module._REGISTRY.clear()
        registry_module._REGISTRY.update(self.saved)


TestDomainRegistry = DomainRegistryMachine.TestCase
