"""Any sequence of registering, replacing and looking up estimators keeps the registry equal to
a plain dict model of it (Hypothesis stateful test), names that are not strings refused."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from strata_advantage import (
    available_estimators,
    compute_advantages,
    estimator_options,
    get_estimator,
    register_estimator,
)
from strata_advantage import estimators as registry_module
from strata_advantage.batch import StratifiedBatch

# Fresh names, and two built-in ones (replacing a built-in must be asked for).
NAMES = st.sampled_from(["sign_a", "sign_b", "scaled", "san", "grpo"])


def make_estimator(gain: float) -> Callable[..., np.ndarray]:
    def estimator(batch: StratifiedBatch, /, *, gain: float = gain) -> np.ndarray:
        return gain * np.sign(batch.group_centred())

    return estimator


class RegistryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.saved = dict(registry_module._REGISTRY)
        self.model: dict[str, Callable[..., object]] = dict(self.saved)

    @rule(name=NAMES, gain=st.sampled_from([0.5, 1.0, 2.0]), replace=st.booleans())
    def register(self, name: str, gain: float, replace: bool) -> None:
        fn = make_estimator(gain)
        if name in self.model and not replace:
            with pytest.raises(ValueError, match=f"{name!r} is registered already"):
                register_estimator(name, replace=replace)(fn)
        else:
            assert register_estimator(name, replace=replace)(fn) is fn
            self.model[name] = fn

    @rule(name=st.one_of(NAMES, st.sampled_from(["", "nope"])))
    def look_up(self, name: str) -> None:
        if name in self.model:
            assert get_estimator(name) is self.model[name]
        else:
            with pytest.raises(ValueError, match="is not registered; known: "):
                get_estimator(name)

    @rule(name=st.one_of(st.integers(), st.just(""), st.none()))
    def bad_name(self, name: object) -> None:
        with pytest.raises(TypeError, match="must be a non-empty string"):
            register_estimator(name)(make_estimator(1.0))  # type: ignore[arg-type]

    @rule(name=NAMES)
    def use(self, name: str) -> None:
        if name not in self.model or self.model[name] is self.saved.get(name):
            return  # unregistered, or a built-in as shipped (its own tests cover it)
        gain = estimator_options(name)["gain"]
        adv = compute_advantages([1.0, 0.0, 3.0], ["p", "p", "q"], estimator=name)
        np.testing.assert_array_equal(adv, [gain, -gain, 0.0])

    @invariant()
    def listing_is_the_models_sorted(self) -> None:
        assert available_estimators() == tuple(sorted(self.model))

    def teardown(self) -> None:
        registry_module._REGISTRY.clear()
        registry_module._REGISTRY.update(self.saved)


TestRegistry = RegistryMachine.TestCase
