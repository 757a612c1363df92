"""CurriculumConfig: the scheduler as a typed record, with the scheduler's own defaults."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_curriculum import CurriculumConfig, UCBScheduler, UniformScheduler


def test_the_config_defaults_are_the_schedulers_own() -> None:
    signature = inspect.signature(UCBScheduler).parameters
    for f in dataclasses.fields(CurriculumConfig):
        if f.name in signature:
            assert f.default == signature[f.name].default, f.name
    assert CurriculumConfig().sharpness == 4.0  # the measured choice (docs/curriculum.md)


@given(
    c=st.floats(0, 5),
    ema=st.floats(0.01, 1),
    sharpness=st.floats(0.25, 64),
    seed=st.integers(0, 2**16),
    n=st.integers(0, 64),
)
def test_make_builds_the_scheduler_a_hand_would(
    c: float, ema: float, sharpness: float, seed: int, n: int
) -> None:
    domains = ["a", "b", "c"]
    made = CurriculumConfig(c=c, ema=ema, sharpness=sharpness).make(domains, seed=seed)
    by_hand = UCBScheduler(domains, c=c, ema=ema, sharpness=sharpness, seed=seed)
    for scheduler in (made, by_hand):
        scheduler.update("a", [0.0, 1.0])
    assert made.allocate(n) == by_hand.allocate(n)
    assert made.state_dict() == by_hand.state_dict()


def test_uniform_and_bad_values() -> None:
    assert isinstance(CurriculumConfig(scheduler="uniform").make(["a", "b"], 0), UniformScheduler)
    with pytest.raises(ValueError, match="sharpness must lie"):
        CurriculumConfig(sharpness=0.0).make(["a"], 0)
    with pytest.raises(ValueError, match="scheduler must be ucb or uniform"):
        CurriculumConfig(scheduler="greedy").make(["a"], 0)  # type: ignore[arg-type]
