"""Bad input gives a clear error naming the argument; the registry refuses duplicates."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_advantage import (
    compute_advantages,
    estimator_options,
    get_estimator,
    register_estimator,
)
from strata_advantage.batch import StratifiedBatch


@pytest.mark.parametrize(
    ("rewards", "groups", "domains", "message"),
    [
        ([1.0, 2.0], [0], None, "groups has 1 entries but rewards has 2"),
        ([1.0, 2.0], [0, 0], ["a"], "domains has 1 entries but rewards has 2"),
        ([], [], None, "rewards is empty"),
        ([[1.0, 2.0]], [0], None, "rewards must be one-dimensional"),
        ([1.0, 2.0], [[0, 0]], None, "groups must be one-dimensional"),
        ([1.0, float("nan")], [0, 0], None, r"rewards\[1\] is nan"),
        ([1.0, 2.0, 3.0], [0, 0, 1], ["a", "b", "b"], "spans several domains"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(
    rewards, groups, domains, message
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        compute_advantages(np.array(rewards), groups, domains)


@pytest.mark.parametrize(
    ("rewards", "groups", "message"),
    [
        (np.array(["a", "b"]), [0, 0], "rewards must be real numbers"),
        (np.array([1.0, 2.0]), np.array([0.5, 1.5]), "groups must hold integer ids or strings"),
    ],
)
def test_bad_types_raise_type_error(rewards, groups, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match=message):
        compute_advantages(rewards, groups)


def test_unknown_estimator_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"'nope' is not registered; known: batch, .*san"):
        compute_advantages([1.0], [0], estimator="nope")


def test_unknown_option_names_what_the_estimator_takes() -> None:
    with pytest.raises(ValueError, match="'san' takes zero_var, low_var, clip; got unknown"):
        compute_advantages([1.0], [0], epsilon=1.0)
    with pytest.raises(ValueError, match="'rloo' takes no options"):
        compute_advantages([1.0], [0], estimator="rloo", clip=1.0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"zero_var": 0.1, "low_var": 0.05}, "zero_var <= low_var"),
        ({"clip": 0.0}, "clip > 0"),
        ({"zero_var": 0.0, "low_var": 0.0}, "low_var > 0"),
    ],
)
def test_san_rejects_inconsistent_thresholds(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_advantages([1.0, 0.0], [0, 0], **options)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"clip": "3"}, TypeError, "clip must be a number, got '3'"),
        ({"clip": True}, TypeError, "clip must be a number, got True"),
        ({"low_var": float("nan")}, ValueError, "low_var is nan"),
    ],
)
def test_option_values_that_are_not_numbers_are_refused(
    options: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        compute_advantages([1.0, 0.0], [0, 0], **options)  # type: ignore[arg-type]


def test_an_infinite_clip_means_no_clip() -> None:
    adv = compute_advantages([1.0, 0.0, 0.0, 0.0], [0, 0, 0, 0], clip=float("inf"))
    assert adv.max() > 1.0


@pytest.mark.parametrize("ids", [[0, "0", 1], ("a", 1, "b")])
def test_ids_mixing_strings_and_numbers_are_refused_not_merged(ids: list[object]) -> None:
    # np.asarray([0, "0", 1]) is ['0', '0', '1']: two distinct groups would become one.
    with pytest.raises(TypeError, match=r"groups mixes strings with int ids \(groups\[\d\] ="):
        compute_advantages([1.0, 0.0, 1.0], ids)
    with pytest.raises(TypeError, match="domains mixes strings with int ids"):
        compute_advantages([1.0, 0.0, 1.0], [0, 1, 2], domains=ids)


@given(st.lists(st.integers(0, 5) | st.text(max_size=3), min_size=1, max_size=12))
def test_string_ids_never_merge_with_numbers(ids: list[int | str]) -> None:
    """Whatever the mix: all strings or all ints are ids as given; a mix of the two is refused,
    never read as strings (which made 0 and "0" one group)."""
    rewards = np.arange(len(ids), dtype=np.float64)
    kinds = {type(i) for i in ids}
    if len(kinds) > 1:
        with pytest.raises(TypeError, match="mixes strings with int ids"):
            compute_advantages(rewards, ids, estimator="dr_grpo")
        return
    dense = np.unique(np.asarray(ids), return_inverse=True)[1].reshape(-1)
    np.testing.assert_array_equal(
        compute_advantages(rewards, ids, estimator="dr_grpo"),
        compute_advantages(rewards, dense, estimator="dr_grpo"),
    )


def test_bad_nan_policy() -> None:
    with pytest.raises(ValueError, match="nan_policy must be 'raise' or 'mask'"):
        compute_advantages([1.0], [0], nan_policy="ignore")  # type: ignore[call-overload]


def test_registering_a_duplicate_name_raises() -> None:
    with pytest.raises(ValueError, match="'san' is registered already"):
        register_estimator("san")(lambda batch: batch.rewards)


def test_a_user_estimator_plugs_in() -> None:
    @register_estimator("test_sign", replace=True)
    def sign(batch: StratifiedBatch, /, *, gain: float = 1.0) -> np.ndarray:
        return gain * np.sign(batch.group_centred())

    assert get_estimator("test_sign") is sign
    assert estimator_options("test_sign") == {"gain": 1.0}
    adv = compute_advantages([1.0, 0.0, 5.0], ["p", "p", "q"], estimator="test_sign", gain=2.0)
    np.testing.assert_array_equal(adv, [2.0, -2.0, 0.0])


@given(st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=30))
def test_sparse_and_huge_integer_ids_are_remapped(ids: list[int]) -> None:
    rewards = np.arange(len(ids), dtype=np.float64)
    dense = np.unique(ids, return_inverse=True)[1]
    np.testing.assert_array_equal(
        compute_advantages(rewards, ids, estimator="dr_grpo"),
        compute_advantages(rewards, dense, estimator="dr_grpo"),
    )


def test_integer_and_list_rewards_come_back_as_float64() -> None:
    adv = compute_advantages([1, 0, 1, 1], [0, 0, 1, 1])
    assert isinstance(adv, np.ndarray)
    assert adv.dtype == np.float64


def test_float32_stays_float32() -> None:
    adv = compute_advantages(np.array([1, 0, 1, 1], dtype=np.float32), [0, 0, 1, 1])
    assert adv.dtype == np.float32
