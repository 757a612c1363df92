"""The app's HFEngine takes the trainer's precision when rollout.hf_precision asks for it."""

from __future__ import annotations

import pytest
import torch

from strata_grpo import has_native_bf16
from strata_rollout import load_tokenizer
from strata_rollout.testing import tiny_causal_lm
from strata_trainer.config import build_config
from strata_trainer.engines import hf_engine


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        ([], None),  # the default: the model's own precision, LoRA merged
        (["rollout.hf_precision=learner", "train.bf16=on"], torch.bfloat16),
        (["rollout.hf_precision=learner", "train.bf16=off"], None),  # the learner is fp32
        (["rollout.hf_precision=model", "train.bf16=on"], None),
    ],
)
def test_the_engine_samples_in_the_precision_the_config_names(
    sets: list[str], expected: torch.dtype | None
) -> None:
    tokenizer = load_tokenizer("smollm2")
    engine = hf_engine(tiny_causal_lm(tokenizer), tokenizer, build_config(None, sets))
    assert engine.autocast == expected


def test_learner_precision_on_auto_follows_the_cpu() -> None:
    tokenizer = load_tokenizer("smollm2")
    cfg = build_config(None, ["rollout.hf_precision=learner"])  # train.bf16 = auto
    engine = hf_engine(tiny_causal_lm(tokenizer), tokenizer, cfg)
    native = has_native_bf16(torch.device("cpu"))
    assert engine.autocast == (torch.bfloat16 if native else None)
