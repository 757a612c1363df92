"""merged_lora_weights gives a plain model the LoRA model's function; lora_merged runs a LoRA
model through merged copies and leaves it as it was."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from strata_rollout import HFEngine, SamplingConfig, merged_lora_weights, push_lora
from strata_rollout.testing import tiny_causal_lm
from strata_rollout.weights import learner_precision, lora_merged

peft = pytest.importorskip("peft", reason="peft is a dev dependency of strata-rollout")


def _trained_lora(tokenizer: Any, dtype: torch.dtype = torch.float32, r: int = 4) -> Any:
    torch.manual_seed(r)  # hypothesis replays an example: the same model each time
    config = peft.LoraConfig(r=r, lora_alpha=2 * r, target_modules="all-linear", lora_dropout=0.1)
    lora = peft.get_peft_model(tiny_causal_lm(tokenizer).to(dtype), config)
    with torch.no_grad():  # a trained adapter: B is zero at init, so give it values
        for name, p in lora.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    return lora.eval()  # dropout off: the function W + ΔW stands for


def test_merged_weights_reproduce_the_lora_model(tokenizer: Any) -> None:
    lora = _trained_lora(tokenizer)
    merged = merged_lora_weights(lora)
    assert all(k.endswith(".weight") and "lora" not in k for k in merged)
    assert "model.layers.0.self_attn.q_proj.weight" in merged
    plain = tiny_causal_lm(tokenizer)
    assert set(merged) == {name for name, _ in plain.named_parameters()}  # every weight
    plain.load_state_dict(merged, strict=False)  # strict would ask for a tied head twice
    ids = torch.tensor([[1, 200, 300, 400, 500]])
    with torch.no_grad():
        assert torch.allclose(plain(ids).logits, lora(ids).logits, atol=1e-4)
    greedy = SamplingConfig(max_new_tokens=6, temperature=0)
    a = HFEngine(plain, tokenizer).generate(["Hello"], 1, greedy)[0][0]
    b = HFEngine(lora, tokenizer).generate(["Hello"], 1, greedy)[0][0]
    assert a.completion_ids == b.completion_ids


def test_push_lora_makes_an_engine_with_its_own_weights_sample_the_lora_model(
    tokenizer: Any,
) -> None:
    """An engine that takes weights, not adapters, gets ``W + ΔW``: every weight, so another
    model's copy (other random weights) becomes the LoRA model's function."""
    lora = _trained_lora(tokenizer)
    torch.manual_seed(99)
    engine = HFEngine(tiny_causal_lm(tokenizer), tokenizer)
    greedy = SamplingConfig(max_new_tokens=8, temperature=0)
    before = engine.generate(["Hello"], 1, greedy)[0][0]
    push_lora(engine, lora)
    pushed = engine.generate(["Hello"], 1, greedy)[0][0]
    expected = HFEngine(lora, tokenizer).generate(["Hello"], 1, greedy)[0][0]
    assert pushed.completion_ids == expected.completion_ids
    assert before.completion_ids != expected.completion_ids  # the push changed something
    assert torch.allclose(torch.tensor(pushed.logprobs), torch.tensor(expected.logprobs), atol=1e-4)


def test_a_model_without_lora_is_refused(tokenizer: Any) -> None:
    with pytest.raises(ValueError, match="no LoRA layer"):
        merged_lora_weights(tiny_causal_lm(tokenizer))


IDS = torch.tensor([[1, 200, 300, 400, 500], [1, 7, 300, 9, 11]])


@settings(max_examples=3, deadline=None)
@given(r=st.sampled_from([1, 4, 8]))
def test_inside_lora_merged_the_model_computes_the_same_function(tokenizer: Any, r: int) -> None:
    """Logits through the merged copies equal the LoRA layers' to fp32 summation order."""
    lora = _trained_lora(tokenizer, r=r)
    with torch.no_grad():
        plain = lora(IDS).logits
        with lora_merged(lora) as n:
            merged = lora(IDS).logits
    layers = sum(1 for name, _ in lora.named_modules() if name.endswith("base_layer"))
    assert n == layers > 0
    # ΔW here is as large as W, the logits up to ~30: summation order moves them ~1e-4.
    torch.testing.assert_close(merged, plain, rtol=1e-4, atol=1e-3)


def test_a_bf16_base_is_not_merged_for_it_would_round_the_update_away(tokenizer: Any) -> None:
    """bf16 ``W`` is on the bf16 grid: ``bf16(W + ΔW)`` is ``W`` again for a small ``ΔW``, so
    a bf16 base keeps its LoRA path (the same logits, bit for bit)."""
    lora = _trained_lora(tokenizer, torch.bfloat16)
    with torch.no_grad():
        for name, p in lora.named_parameters():
            if "lora_B" in name:
                p.mul_(1e-4)  # an early update: under half a bf16 step of most of W
        plain = lora(IDS).logits
        with lora_merged(lora) as n:
            inside = lora(IDS).logits
    assert n == 0
    assert torch.equal(inside, plain)
    weight = lora.base_model.model.model.layers[0].mlp.up_proj
    merged = (weight.base_layer.weight.float() + weight.get_delta_weight("default")).bfloat16()
    assert bool((merged == weight.base_layer.weight).float().mean() > 0.5)  # what merging loses


def test_lora_merged_leaves_the_model_as_it_was_even_on_error(tokenizer: Any) -> None:
    lora = _trained_lora(tokenizer)
    before = {k: v.clone() for k, v in lora.state_dict().items()}
    with torch.no_grad():
        logits = lora(IDS).logits
    with pytest.raises(RuntimeError, match="inside"), lora_merged(lora):
        raise RuntimeError("inside")
    after = lora.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not any("forward" in vars(m) for m in lora.modules())
    with torch.no_grad():
        assert torch.equal(lora(IDS).logits, logits)
    # Outside, gradients reach the adapter again.
    lora.train()
    lora(IDS).logits.sum().backward()
    assert all(p.grad is not None for n, p in lora.named_parameters() if "lora_" in n)


def test_lora_merged_keeps_an_adapter_that_is_off_off(tokenizer: Any) -> None:
    """Under peft's ``disable_adapter`` (the trainer's reference) nothing is merged: the model
    stays the base model."""
    lora = _trained_lora(tokenizer)
    with torch.no_grad(), lora.disable_adapter():
        base = lora(IDS).logits
        with lora_merged(lora) as n:
            inside = lora(IDS).logits
    assert n == 0
    assert torch.equal(inside, base)


def test_lora_merged_on_a_model_without_lora_changes_nothing(tokenizer: Any) -> None:
    model = tiny_causal_lm(tokenizer)
    with torch.no_grad(), lora_merged(model) as n:
        assert n == 0


def test_hf_engine_samples_the_same_with_and_without_merging(tokenizer: Any) -> None:
    lora = _trained_lora(tokenizer)
    greedy = SamplingConfig(max_new_tokens=8, temperature=0)
    merged = HFEngine(lora, tokenizer).generate(["Hello", "Hi there"], 1, greedy)
    unmerged_engine = HFEngine(lora, tokenizer, merge_lora=False)
    unmerged = unmerged_engine.generate(["Hello", "Hi there"], 1, greedy)
    assert [g[0].completion_ids for g in merged] == [g[0].completion_ids for g in unmerged]


def _learner_logits(model: Any, ids: torch.Tensor) -> torch.Tensor:
    """The logits as strata-grpo's trainer computes them: bf16 autocast, peft's input casts
    off (``GRPOTrainer._autocast``)."""
    from peft.helpers import disable_input_dtype_casting

    with (
        torch.no_grad(),
        torch.autocast("cpu", dtype=torch.bfloat16),
        disable_input_dtype_casting(model),
    ):
        return model(ids).logits


@settings(max_examples=4, deadline=None)
@given(r=st.sampled_from([1, 4, 8]), update=st.sampled_from([1.0, 1e-4]))
def test_inside_learner_precision_the_model_computes_what_the_learner_does(
    tokenizer: Any, r: int, update: float
) -> None:
    """Bit for bit the bf16-autocast forward, with a large update and with an early, small one
    (under half a bf16 step of most of W, which a bf16 merge would round away)."""
    lora = _trained_lora(tokenizer, r=r)
    with torch.no_grad():
        for name, p in lora.named_parameters():
            if "lora_B" in name:
                p.mul_(update)
    learner = _learner_logits(lora, IDS)
    with torch.no_grad(), learner_precision(lora, torch.bfloat16) as n:
        inside = lora(IDS).logits
    layers = sum(1 for name, _ in lora.named_modules() if name.endswith("base_layer"))
    assert n == layers + 1  # every LoRA layer, and the (tied) output layer
    assert torch.equal(inside, learner)
    with torch.no_grad():
        fp32 = lora(IDS).logits
    assert not torch.equal(inside.float(), fp32)  # it did compute in bf16


def test_learner_precision_on_a_model_without_lora_is_its_autocast_forward(tokenizer: Any) -> None:
    model = tiny_causal_lm(tokenizer)
    linears = sum(1 for m in model.modules() if type(m) is torch.nn.Linear)
    with torch.no_grad(), learner_precision(model, torch.bfloat16) as n:
        inside = model(IDS).logits
    assert n == linears
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(inside, model(IDS).logits)


def test_learner_precision_keeps_an_adapter_that_is_off_off(tokenizer: Any) -> None:
    lora = _trained_lora(tokenizer)
    with lora.disable_adapter():
        base = _learner_logits(lora, IDS)
        with torch.no_grad(), learner_precision(lora, torch.bfloat16):
            inside = lora(IDS).logits
    assert torch.equal(inside, base)
    assert not torch.equal(inside, _learner_logits(lora, IDS))  # the adapter does something


def test_learner_precision_leaves_the_model_as_it_was_even_on_error(tokenizer: Any) -> None:
    lora = _trained_lora(tokenizer)
    before = {k: v.clone() for k, v in lora.state_dict().items()}
    with torch.no_grad():
        logits = lora(IDS).logits
    with pytest.raises(RuntimeError, match="inside"), learner_precision(lora, torch.bfloat16):
        raise RuntimeError("inside")
    assert all(torch.equal(before[k], v) for k, v in lora.state_dict().items())
    assert not any("forward" in vars(m) for m in lora.modules())
    assert not torch.is_autocast_enabled("cpu")
    with torch.no_grad():
        assert torch.equal(lora(IDS).logits, logits)
    lora.train()
    lora(IDS).logits.sum().backward()
    assert all(p.grad is not None for n, p in lora.named_parameters() if "lora_" in n)
