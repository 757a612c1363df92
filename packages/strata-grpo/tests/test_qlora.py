"""QLoRA on this CPU: LoRA gradients through bitsandbytes NF4 layers after a no-grad forward
equal those through the dequantised weights, once the AVX512-BF16 repacking path is off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

bnb = pytest.importorskip("bitsandbytes", reason="QLoRA needs the qlora extra (bitsandbytes)")
peft = pytest.importorskip("peft")

from strata_grpo import GRPOConfig, disable_bnb_cpu_repacking, load_nf4_base, make_policy  # noqa: E402


def _cpu_has_avx512bf16() -> bool:
    try:
        return "avx512_bf16" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def _lora_grads(fix: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of an adapter *below* one NF4 layer (so they flow back through the 4-bit
    layer's backward, as for every LoRA layer under a quantised one) and through its
    dequantised twin, after a no-grad forward."""
    torch.manual_seed(0)
    dense = torch.nn.Linear(128, 64, bias=False)
    q = bnb.nn.Linear4bit(128, 64, bias=False, quant_type="nf4", compute_dtype=torch.float32)
    q.weight = bnb.nn.Params4bit(dense.weight.data.clone(), requires_grad=False, quant_type="nf4")
    q = q.to("cpu")  # quantises
    if fix:
        assert disable_bnb_cpu_repacking(q) == 1
    dequant = bnb.functional.dequantize_4bit(q.weight.data, q.weight.quant_state).float()
    ref = torch.nn.Linear(128, 64, bias=False)
    ref.weight.data = dequant.clone()
    x = torch.randn(4, 7, 128)
    q.eval()
    with torch.no_grad():
        q(x)  # as in generation (eval, no grad): on AVX512-BF16 CPUs this repacks the weights
    q.train()
    a = torch.randn(8, 128, requires_grad=True)
    b = torch.randn(128, 8) * 0.1
    out_q = q(x + (x @ a.T) @ b.T)
    (out_q.square().mean()).backward()
    # With the repacked kernel no gradient flows at all: a.grad stays None (silently zero).
    grad_q = a.grad.clone() if a.grad is not None else torch.zeros_like(a)
    a.grad = None
    out_ref = ref(x + (x @ a.T) @ b.T)
    (out_ref.square().mean()).backward()
    return grad_q, a.grad.clone()  # type: ignore[union-attr]


def test_lora_gradients_through_nf4_match_the_dequantised_reference() -> None:
    got, expected = _lora_grads(fix=True)
    assert torch.allclose(got, expected, rtol=1e-3, atol=1e-5)


@pytest.mark.skipif(not _cpu_has_avx512bf16(), reason="the trap needs a CPU with AVX512-BF16")
def test_without_the_fix_this_cpu_gives_wrong_gradients() -> None:
    """Documents the trap SPEC.md describes: if bitsandbytes ever fixes it, this fails and the
    workaround can go."""
    got, expected = _lora_grads(fix=False)
    assert not torch.allclose(got, expected, rtol=1e-3, atol=1e-5)


def test_a_qlora_policy_trains_on_cpu(tmp_path: Path, tokenizer: Any, tiny_model: Any) -> None:
    tiny_model.save_pretrained(tmp_path)
    base = load_nf4_base(tmp_path, device="cpu")
    assert any(type(m).__name__ == "Linear4bit" for m in base.modules())
    policy = make_policy(base, GRPOConfig(lora_r=4, lora_alpha=8))
    layers = [m for m in policy.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert layers
    assert all(not m.support_avx512bf16_for_cpu for m in layers)
    ids = torch.tensor([[1, 20, 30, 40]])
    with torch.no_grad():
        policy(ids)
    policy(ids).logits.float().square().mean().backward()
    grads = [p.grad for n, p in policy.named_parameters() if "lora_" in n]
    assert grads
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
