"""The app's HFEngine takes the trainer's precision when rollout.hf_precision asks for it, and
the run's report names the precision it trained in."""

from __future__ import annotations

import pytest
import torch

from strata_grpo import describe_cpu, has_native_bf16
from strata_rollout import load_tokenizer
from strata_rollout.hardware import ISA_CAP_VARIABLES
from strata_rollout.testing import tiny_causal_lm
from strata_trainer.config import build_config
from strata_trainer.engines import hf_engine
from strata_trainer.job import where_it_trains


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


@pytest.mark.parametrize(
    ("bf16", "cap", "expected"),
    [
        ("off", None, "float32 weights"),
        ("on", None, "bf16 autocast over float32 weights"),
        ("auto", "AVX2", "float32 weights"),  # no bf16 units left: fp32, as on a Zen 3
    ],
)
def test_the_report_names_the_machine_and_the_training_precision(
    bf16: str, cap: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ISA_CAP_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if cap is not None:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    model = tiny_causal_lm(load_tokenizer("smollm2"))
    where = where_it_trains(build_config(None, [f"train.bf16={bf16}"]), model)
    assert where == {"machine": describe_cpu(), "training precision": expected}
    assert "cores" in where["machine"]
