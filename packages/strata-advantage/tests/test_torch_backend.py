"""torch in, torch out: same numbers as NumPy, same device, same dtype, no host copy of rewards."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_advantage import compute_advantages
from strata_advantage.testing.strategies import RewardBatch, reward_batches

torch = pytest.importorskip("torch", reason="torch is an optional extra: strata-advantage[torch]")

ESTIMATORS = ["san", "grpo", "batch", "dr_grpo", "rloo", "domain_pooled", "global"]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@given(reward_batches(id_kind="int"), st.sampled_from(ESTIMATORS), st.sampled_from(DEVICES))
def test_torch_float64_equals_numpy(batch: RewardBatch, estimator: str, device: str) -> None:
    expected = compute_advantages(batch.rewards, batch.groups, batch.domains, estimator=estimator)
    got = compute_advantages(
        torch.tensor(batch.rewards, device=device),
        torch.tensor(batch.groups, device=device),
        torch.tensor(batch.domains, device=device),
        estimator=estimator,
    )
    assert isinstance(got, torch.Tensor)
    assert got.device.type == device
    assert got.dtype == torch.float64
    np.testing.assert_allclose(got.cpu().numpy(), expected, rtol=1e-9, atol=1e-9)


@given(reward_batches(id_kind="str"), st.sampled_from(ESTIMATORS))
def test_string_ids_with_torch_rewards(batch: RewardBatch, estimator: str) -> None:
    expected = compute_advantages(batch.rewards, batch.groups, batch.domains, estimator=estimator)
    got = compute_advantages(
        torch.tensor(batch.rewards), list(batch.groups), list(batch.domains), estimator=estimator
    )
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9, atol=1e-9)


@given(reward_batches(id_kind="int", reward_kind="binary"), st.sampled_from(ESTIMATORS))
def test_float32_is_close_to_float64(batch: RewardBatch, estimator: str) -> None:
    r = torch.tensor(batch.rewards)
    g, d = torch.tensor(batch.groups), torch.tensor(batch.domains)
    hi = compute_advantages(r, g, d, estimator=estimator)
    lo = compute_advantages(r.float(), g, d, estimator=estimator)
    assert lo.dtype == torch.float32
    # eps-scaled estimators divide by std + 1e-6: a float32 std of ~1e-7 is noise either way.
    torch.testing.assert_close(lo.double(), hi, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_in_half_precision_out(dtype: torch.dtype) -> None:
    r = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0], dtype=dtype)
    adv = compute_advantages(r, torch.tensor([0, 0, 0, 1, 1, 1]))
    assert adv.dtype == dtype
    expected = compute_advantages(r.double(), torch.tensor([0, 0, 0, 1, 1, 1]))
    torch.testing.assert_close(adv.double(), expected, rtol=1e-2, atol=1e-2)


def test_integer_tensor_rewards_use_the_default_dtype() -> None:
    adv = compute_advantages(torch.tensor([1, 0, 1, 1]), torch.tensor([0, 0, 1, 1]))
    assert adv.dtype == torch.get_default_dtype()


def test_masking_works_on_tensors() -> None:
    r = torch.tensor([1.0, float("nan"), 0.0, 1.0])
    adv = compute_advantages(r, torch.tensor([0, 0, 0, 0]), nan_policy="mask", estimator="dr_grpo")
    torch.testing.assert_close(adv, torch.tensor([1 / 3, 0.0, -2 / 3, 1 / 3]))
    with pytest.raises(ValueError, match=r"rewards\[1\] is nan"):
        compute_advantages(r, torch.tensor([0, 0, 0, 0]))


def test_diagnostics_from_tensors() -> None:
    r = torch.tensor([1.0, 0.0, 1.0, 1.0])
    res = compute_advantages(
        r, torch.tensor([7, 7, 9, 9]), torch.tensor([3, 3, 5, 5]), return_diagnostics=True
    )
    assert set(res.diagnostics) == {3, 5}
    assert res.diagnostics[5].zero_variance_group_share == 1.0
    assert res.diagnostics[3].regime == "z_norm"
