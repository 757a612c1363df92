"""Temperature schedules and sampling-config validation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_rollout import SamplingConfig, TemperatureSchedule
from strata_rollout.engine import call_seed, draw_seed

temps = st.floats(0, 3, allow_nan=False)


@given(temps, temps, st.integers(1, 1000), st.sampled_from(["linear", "cosine"]), st.data())
def test_schedules_move_monotonically_from_start_to_end(
    start: float, end: float, steps: int, kind: str, data: st.DataObject
) -> None:
    s = TemperatureSchedule(start, end, steps, kind)  # type: ignore[arg-type]
    assert s(0) == pytest.approx(start)
    assert s(steps) == pytest.approx(end)
    assert s(steps + data.draw(st.integers(0, 10**6))) == pytest.approx(end)
    a, b = sorted(data.draw(st.lists(st.integers(0, steps), min_size=2, max_size=2)))
    if end >= start:
        assert s(a) <= s(b) + 1e-12
    else:
        assert s(a) >= s(b) - 1e-12
    lo, hi = min(start, end), max(start, end)
    assert lo - 1e-12 <= s(data.draw(st.integers(0, 2 * steps))) <= hi + 1e-12


def test_cosine_is_flat_at_both_ends_and_halfway_at_the_middle() -> None:
    s = TemperatureSchedule(1.0, 0.2, 100, "cosine")
    assert s(50) == pytest.approx(0.6)
    assert abs(s(1) - s(0)) < abs(s(51) - s(50))
    assert TemperatureSchedule(1.2, 0.1, 10, "constant")(7) == 1.2
    assert math.isclose(TemperatureSchedule(1.0, 0.0, 4, "linear")(1), 0.75)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": -1}, "temperatures"),
        ({"end": math.nan}, "finite and >= 0, got start=1.0, end=nan"),  # nan passed "< 0"
        ({"steps": 0}, "steps"),
        ({"kind": "exp"}, "kind"),
    ],
)
def test_bad_schedules_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TemperatureSchedule(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"stop": ("",)}, "stop"),
        ({"temperature": math.nan}, "temperature must be finite"),
        ({"temperature": math.inf}, "temperature must be finite"),
    ],
)
def test_bad_sampling_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SamplingConfig(**kwargs)  # type: ignore[arg-type]


def test_a_stop_string_given_bare_is_refused() -> None:
    # stop="</answer>" would be nine one-letter stops: generation ending at the first "a".
    with pytest.raises(TypeError, match="stop must be a tuple of strings, got the string"):
        SamplingConfig(stop="</answer>")  # type: ignore[arg-type]


@given(
    st.integers(0, 2**31),
    st.integers(0, 10**6),
    st.sampled_from([0.0, 0.3, 1.0]),
    st.one_of(st.none(), st.integers(0, 2**62)),
)
def test_only_an_unseeded_sampled_call_advances_the_seed_stream(
    engine_seed: int, calls: int, temperature: float, own_seed: int | None
) -> None:
    sampling = SamplingConfig(temperature=temperature, seed=own_seed)
    seed, next_calls = draw_seed(sampling, engine_seed, calls)
    draws = own_seed is None and temperature > 0
    assert next_calls == calls + draws
    if own_seed is not None:
        assert seed == own_seed
    elif draws:
        assert seed == call_seed(engine_seed, calls)
        assert 0 <= seed < 2**63
