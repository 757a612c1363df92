"""grpo_loss: against a slow loop reference, and the gradient properties PPO/GRPO promise."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from strata_grpo import grpo_loss

AGGS = ["token_mean", "sequence_mean", "dr_grpo"]


@st.composite
def batches(draw: st.DrawFn, max_b: int = 4, max_t: int = 6) -> dict[str, torch.Tensor]:
    b, t = draw(st.integers(1, max_b)), draw(st.integers(1, max_t))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    logp = -torch.rand(b, t, generator=g, dtype=torch.float64) * 3
    old = logp + (torch.rand(b, t, generator=g, dtype=torch.float64) - 0.5) * draw(
        st.sampled_from([0.0, 0.1, 0.6, 2.0])
    )
    ref = logp + (torch.rand(b, t, generator=g, dtype=torch.float64) - 0.5)
    adv = (torch.rand(b, generator=g, dtype=torch.float64) - 0.5) * 4
    lengths = torch.randint(0, t + 1, (b,), generator=g)
    mask = (torch.arange(t)[None, :] < lengths[:, None]).double()
    ent = torch.rand(b, t, generator=g, dtype=torch.float64) * 2
    return {"logp": logp, "old": old, "ref": ref, "adv": adv, "mask": mask, "ent": ent}


def reference_loss(
    logp: list[list[float]],
    old: list[list[float]],
    ref: list[list[float]],
    adv: list[float],
    mask: list[list[float]],
    eps_low: float,
    eps_high: float,
    clip: float,
    beta: float,
    aggregation: str,
    ent: list[list[float]] | None = None,
    entropy_coef: float = 0.0,
) -> float:
    """The formula of SPEC.md, one token at a time in Python floats."""
    per_seq, total, n = [], 0.0, 0
    for b in range(len(logp)):
        seq, count = 0.0, 0
        for t in range(len(logp[b])):
            if not mask[b][t]:
                continue
            lr = max(-clip, min(clip, logp[b][t] - old[b][t]))
            rho = math.exp(lr)
            obj = min(rho * adv[b], max(1 - eps_low, min(1 + eps_high, rho)) * adv[b])
            d = ref[b][t] - logp[b][t]
            loss = -obj + beta * (math.exp(d) - d - 1)
            if ent is not None:
                loss -= entropy_coef * ent[b][t]
            seq, count = seq + loss, count + 1
        total, n = total + seq, n + count
        per_seq.append(seq / max(count, 1))
    if aggregation == "token_mean":
        return total / max(n, 1)
    if aggregation == "sequence_mean":
        return sum(per_seq) / len(per_seq)
    return total / (len(logp) * len(logp[0]))


@given(
    batches(),
    st.sampled_from(AGGS),
    st.sampled_from([0.0, 0.04, 0.5]),
    st.sampled_from([(0.2, 0.2), (0.2, 0.28), (0.1, 0.5)]),
    st.sampled_from([0.3, 10.0]),
    st.sampled_from([0.0, 0.01, 0.3]),
)
def test_equals_the_slow_reference(
    batch: dict[str, torch.Tensor],
    aggregation: str,
    beta: float,
    eps: tuple[float, float],
    clip: float,
    entropy_coef: float,
) -> None:
    out = grpo_loss(
        batch["logp"],
        batch["old"],
        batch["ref"],
        batch["adv"],
        batch["mask"],
        eps_low=eps[0],
        eps_high=eps[1],
        log_ratio_clip=clip,
        beta=beta,
        aggregation=aggregation,  # type: ignore[arg-type]
        entropy=batch["ent"] if entropy_coef else None,
        entropy_coef=entropy_coef,
    )
    expected = reference_loss(
        batch["logp"].tolist(),
        batch["old"].tolist(),
        batch["ref"].tolist(),
        batch["adv"].tolist(),
        batch["mask"].tolist(),
        eps[0],
        eps[1],
        clip,
        beta,
        aggregation,
        batch["ent"].tolist(),
        entropy_coef,
    )
    assert out.loss.item() == pytest.approx(expected, rel=1e-9, abs=1e-12)


@given(batches())
def test_on_policy_without_kl_the_gradient_is_the_plain_policy_gradient(
    batch: dict[str, torch.Tensor],
) -> None:
    logp = batch["logp"].clone().requires_grad_(True)
    out = grpo_loss(logp, None, None, batch["adv"], batch["mask"], beta=0.0)
    out.loss.backward()
    # d/dlogp of −mean(A·logp) over valid tokens
    expected = -batch["adv"][:, None] * batch["mask"] / batch["mask"].sum().clamp(min=1)
    assert logp.grad is not None
    assert torch.allclose(logp.grad, expected, atol=1e-12)
    assert out.clip_fraction.item() == 0.0
    assert out.ratio_mean.item() == pytest.approx(1.0)


@given(batches(), st.sampled_from([(0.2, 0.2), (0.2, 0.28)]))
def test_clipping_zeroes_the_gradient_exactly_where_ppo_says(
    batch: dict[str, torch.Tensor], eps: tuple[float, float]
) -> None:
    logp = batch["logp"].clone().requires_grad_(True)
    out = grpo_loss(
        logp,
        batch["old"],
        None,
        batch["adv"],
        batch["mask"],
        eps_low=eps[0],
        eps_high=eps[1],
        log_ratio_clip=100.0,
    )
    out.loss.backward()
    assert logp.grad is not None
    ratio = torch.exp(batch["logp"] - batch["old"])
    adv = batch["adv"][:, None].expand_as(ratio)
    clipped = ((ratio > 1 + eps[1]) & (adv > 0)) | ((ratio < 1 - eps[0]) & (adv < 0))
    valid = batch["mask"] > 0
    assert torch.all(logp.grad[clipped | ~valid] == 0)
    free = ~clipped & valid & (adv != 0)
    expected = -adv * ratio / batch["mask"].sum().clamp(min=1)
    assert torch.allclose(logp.grad[free], expected[free], atol=1e-12)
    n = int(valid.sum())
    assert out.clip_fraction.item() == pytest.approx(int((clipped & valid).sum()) / max(n, 1))


@given(batches())
def test_k3_is_non_negative_and_zero_iff_the_policies_agree(
    batch: dict[str, torch.Tensor],
) -> None:
    mask = torch.ones_like(batch["mask"])
    same = grpo_loss(batch["logp"], None, batch["logp"], batch["adv"], mask, beta=1.0)
    assert same.kl.item() == 0.0
    diff = grpo_loss(batch["logp"], None, batch["ref"], batch["adv"], mask, beta=1.0)
    assert diff.kl.item() >= 0.0
    if not torch.allclose(batch["logp"], batch["ref"]):
        assert diff.kl.item() > 0.0


@given(batches(), st.integers(1, 4), st.sampled_from(AGGS), st.floats(-50, 50))
def test_padding_never_changes_the_loss(
    batch: dict[str, torch.Tensor], extra: int, aggregation: str, junk: float
) -> None:
    t = batch["logp"].shape[1]

    def pad(x: torch.Tensor, value: float) -> torch.Tensor:
        return torch.cat([x, torch.full((x.shape[0], extra), value, dtype=x.dtype)], 1)

    kwargs = {"beta": 0.1, "aggregation": aggregation, "max_tokens": t + 4}
    plain = grpo_loss(
        batch["logp"], batch["old"], batch["ref"], batch["adv"], batch["mask"], **kwargs
    )  # type: ignore[arg-type]
    padded = grpo_loss(
        pad(batch["logp"], junk),
        pad(batch["old"], -junk),
        pad(batch["ref"], 0),
        batch["adv"],
        pad(batch["mask"], 0),
        **kwargs,
    )  # type: ignore[arg-type]
    assert padded.loss.item() == pytest.approx(plain.loss.item(), rel=1e-12, abs=1e-15)
    assert padded.kl.item() == pytest.approx(plain.kl.item(), rel=1e-12, abs=1e-15)


def test_importance_weights_are_truncated_and_detached() -> None:
    logp = torch.tensor([[-1.0, -1.0]], requires_grad=True)
    old = torch.tensor([[-1.0, -1.0]])
    sampler = torch.tensor([[-1.0, -5.0]])  # second token: weight exp(4) capped to 2
    out = grpo_loss(logp, old, None, torch.tensor([1.0]), torch.ones(1, 2), sampler_logp=sampler)
    out.loss.backward()
    assert logp.grad is not None
    assert torch.allclose(logp.grad, torch.tensor([[-0.5, -1.0]]))


@given(
    st.lists(st.floats(-8.0, 0.0), min_size=1, max_size=6),
    st.lists(st.floats(-8.0, 0.0), min_size=6, max_size=6),
    st.floats(-2.0, 2.0).filter(lambda a: abs(a) > 1e-3),
    st.floats(1.0, 4.0),
)
def test_with_one_update_the_importance_weight_scales_the_plain_policy_gradient(
    current: list[float], sampler: list[float], advantage: float, cap: float
) -> None:
    """μ = 1 (no old_logp): ρ = 1, so each token's gradient is −A·w/T, w = min(exp(logp − s), C)."""
    t = len(current)
    logp = torch.tensor([current], dtype=torch.float64, requires_grad=True)
    s = torch.tensor([sampler[:t]], dtype=torch.float64)
    out = grpo_loss(
        logp,
        None,
        None,
        torch.tensor([advantage], dtype=torch.float64),
        torch.ones(1, t, dtype=torch.float64),
        sampler_logp=s,
        importance_cap=cap,
    )
    out.loss.backward()
    weight = torch.exp(logp.detach() - s).clamp(max=cap)
    assert logp.grad is not None
    assert torch.allclose(logp.grad, -advantage * weight / t, rtol=1e-12, atol=1e-15)


def test_huge_log_ratios_stay_finite() -> None:
    out = grpo_loss(
        torch.tensor([[0.0]]), torch.tensor([[-1e4]]), None, torch.tensor([-1.0]), torch.ones(1, 1)
    )
    assert torch.isfinite(out.loss)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"logp": torch.zeros(3)}, "logp must be"),
        ({"mask": torch.ones(2, 4)}, "mask must have"),
        ({"advantages": torch.zeros(3)}, "advantages must be"),
        ({"beta": 0.1, "ref_logp": None}, "ref_logp"),
        ({"entropy_coef": 0.01}, "entropy"),
        ({"entropy_coef": 0.01, "entropy": torch.zeros(2, 4)}, "entropy must have"),
        ({"aggregation": "sum"}, "aggregation must be"),
        # Each of these once gave a loss: NaN, or one that pushed the wrong way or not at all.
        ({"eps_low": float("nan")}, "coefficients must be finite, got eps_low=nan"),
        ({"beta": float("nan")}, "beta=nan"),
        ({"beta": -0.04}, "beta must be >= 0"),
        ({"importance_cap": 0.0, "sampler_logp": torch.zeros(2, 3)}, "importance_cap must be > 0"),
        ({"aggregation": "dr_grpo", "max_tokens": 0}, "max_tokens must be >= 1"),
    ],
)
def test_bad_input_names_the_argument(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "logp": torch.zeros(2, 3),
        "old_logp": None,
        "ref_logp": torch.zeros(2, 3),
        "advantages": torch.zeros(2),
        "mask": torch.ones(2, 3),
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        grpo_loss(**args)  # type: ignore[arg-type]
