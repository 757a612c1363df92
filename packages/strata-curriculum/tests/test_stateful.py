"""Any sequence of allocate / update / save-load keeps the invariants, and a scheduler restored
from its JSON state allocates exactly as a twin that was never saved."""

from __future__ import annotations

import json
import math

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from strata_curriculum import (
    ProportionalScheduler,
    UCBScheduler,
    UniformScheduler,
    scheduler_from_state,
)

DOMAINS = ["gsm8k", "mmlu", "strategyqa", "arith"]
rewards = st.lists(st.floats(0.0, 1.0, allow_subnormal=False), max_size=16)


class SchedulerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.main = None
        self.twin = None

    @precondition(lambda self: self.main is None)
    @rule(
        kind=st.sampled_from(["ucb", "uniform", "proportional"]),
        k=st.integers(1, 4),
        c=st.floats(0.0, 3.0),
        sharpness=st.floats(0.25, 64.0),
        floor_frac=st.floats(0.0, 1.0),
        ema=st.floats(0.01, 1.0),
        seed=st.integers(0, 2**32),
        weights=st.lists(st.floats(0.0, 10.0), min_size=4, max_size=4).filter(any),
    )
    def create(self, kind, k, c, sharpness, floor_frac, ema, seed, weights) -> None:  # type: ignore[no-untyped-def]
        domains = DOMAINS[:k]
        self.floor = floor_frac / k if kind != "uniform" else 0.0
        if kind == "proportional" and not any(weights[:k]):
            weights = [1.0] * 4

        def make():  # type: ignore[no-untyped-def]
            if kind == "ucb":
                return UCBScheduler(
                    domains, c=c, floor=self.floor, ema=ema, sharpness=sharpness, seed=seed
                )
            if kind == "uniform":
                return UniformScheduler(domains, ema=ema, seed=seed)
            return ProportionalScheduler(
                dict(zip(domains, weights, strict=False)), floor=self.floor, ema=ema, seed=seed
            )

        self.main, self.twin = make(), make()
        self.domains = domains

    @precondition(lambda self: self.main is not None)
    @rule(n=st.integers(0, 200))
    def allocate(self, n: int) -> None:
        got = self.main.allocate(n)
        assert got == self.twin.allocate(n)
        assert list(got) == list(self.domains)
        assert sum(got.values()) == n
        assert all(v >= 0 for v in got.values())
        guaranteed = min(math.ceil(self.floor * n - 1e-9), n // len(self.domains))
        assert all(v >= guaranteed for v in got.values()), (got, guaranteed)

    @precondition(lambda self: self.main is not None)
    @rule(data=st.data(), values=rewards)
    def update(self, data: st.DataObject, values: list[float]) -> None:
        domain = data.draw(st.sampled_from(self.domains))
        self.main.update(domain, values)
        self.twin.update(domain, values)

    @precondition(lambda self: self.main is not None)
    @rule()
    def save_and_restore(self) -> None:
        state = json.loads(json.dumps(self.main.state_dict()))
        self.main = scheduler_from_state(state)

    @invariant()
    def scores_are_well_formed(self) -> None:
        if self.main is None:
            return
        scores = self.main.scores()
        assert scores == self.twin.scores()
        assert all(not math.isnan(v) and v >= 0 for v in scores.values())
        for acc in self.main.accuracy().values():
            assert acc is None or 0.0 <= acc <= 1.0


TestSchedulerMachine = SchedulerMachine.TestCase
