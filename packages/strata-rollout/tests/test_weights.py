"""merged_lora_weights gives a plain model the LoRA model's function."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from strata_rollout import HFEngine, SamplingConfig, merged_lora_weights
from strata_rollout.testing import tiny_causal_lm

peft = pytest.importorskip("peft", reason="peft is a dev dependency of strata-rollout")


def test_merged_weights_reproduce_the_lora_model(tokenizer: Any) -> None:
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", lora_dropout=0.0)
    lora = peft.get_peft_model(tiny_causal_lm(tokenizer), config)
    with torch.no_grad():  # a trained adapter: B is zero at init, so give it values
        for name, p in lora.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
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


def test_a_model_without_lora_is_refused(tokenizer: Any) -> None:
    with pytest.raises(ValueError, match="no LoRA layer"):
        merged_lora_weights(tiny_causal_lm(tokenizer))
