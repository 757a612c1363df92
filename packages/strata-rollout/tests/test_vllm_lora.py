"""VLLMEngine with ``lora_rank``: the trainer's adapter applied unmerged by vLLM's LoRA layers
(issue 37), on the tiny model; runs where vLLM imports (.ci/venvs/vllm), skips elsewhere."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from strata_rollout import AdapterEngine, SamplingConfig, push_lora
from strata_rollout.testing import tiny_causal_lm

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.skipif(
        importlib.util.find_spec("vllm") is None,
        reason="vLLM is not installed here (.ci/run tests it in .ci/venvs/vllm)",
    ),
]

CHAT = [{"role": "user", "content": "What is two plus three?"}]
GREEDY = SamplingConfig(max_new_tokens=8, temperature=0)


@pytest.fixture(scope="module")
def lora_engine(tiny_model_dir: Path) -> Iterator[Any]:
    """Rank 4 is not one vLLM takes: the engine asks vLLM for the next, 8."""
    from strata_rollout.vllm import VLLMEngine

    engine = VLLMEngine(
        str(tiny_model_dir), seed=0, max_model_len=512, max_num_batched_tokens=512, lora_rank=4
    )
    yield engine
    engine.close()


def _lora(tokenizer: Any, seed: int, targets: Any = "all-linear") -> Any:
    """A peft LoRA model over the tiny model, with a non-zero B (a trained adapter)."""
    peft = pytest.importorskip("peft", reason="peft is a dev dependency of strata-rollout")
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=targets, lora_dropout=0.0)
    model = peft.get_peft_model(tiny_causal_lm(tokenizer), config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return model


def _logprobs(model: Any, prompt: tuple[int, ...], ids: tuple[int, ...]) -> torch.Tensor:
    full = torch.tensor([prompt + ids])
    with torch.no_grad():
        logits = model(full).logits[0, len(prompt) - 1 : -1].float()
    return torch.log_softmax(logits, -1).gather(1, torch.tensor(ids)[:, None])[:, 0]


@pytest.mark.parametrize("targets", ["all-linear", ["q_proj", "v_proj"]], ids=["all", "q-v"])
def test_the_pushed_adapter_is_the_lora_model(
    lora_engine: Any, tokenizer: Any, targets: Any
) -> None:
    """Greedy tokens and their log-probs are the peft model's: vLLM applies the adapter as
    peft does, on every targeted layer (fused q/k/v and gate/up included)."""
    assert isinstance(lora_engine, AdapterEngine)
    assert lora_engine.applies_adapters()
    lora = _lora(tokenizer, seed=1, targets=targets)
    lora_engine.update_adapter(lora)
    first = lora_engine.generate([CHAT], n=1, sampling=GREEDY)[0][0]
    expected = _logprobs(lora, first.prompt_ids, first.completion_ids)
    assert torch.allclose(torch.tensor(first.logprobs), expected, atol=2e-3)


def test_push_lora_sends_an_adapter_engine_the_adapter_unmerged(
    lora_engine: Any, tokenizer: Any
) -> None:
    """The helper the trainer and strata-eval push with takes the adapter path on an engine
    that applies adapters: the numbers are the peft model's, as with update_adapter."""
    lora = _lora(tokenizer, seed=4)
    push_lora(lora_engine, lora)
    assert Path(lora_engine._lora.lora_path).exists()  # an adapter request, not merged weights
    first = lora_engine.generate([CHAT], n=1, sampling=GREEDY)[0][0]
    expected = _logprobs(lora, first.prompt_ids, first.completion_ids)
    assert torch.allclose(torch.tensor(first.logprobs), expected, atol=2e-3)


def test_a_new_push_replaces_the_adapter(lora_engine: Any, tokenizer: Any) -> None:
    """Each push is loaded under a new id (vLLM caches adapters by id): the second adapter's
    numbers, not the first's, and the first one's folder is gone."""
    one, two = _lora(tokenizer, seed=2), _lora(tokenizer, seed=3)
    lora_engine.update_adapter(one)
    folder = Path(lora_engine._lora.lora_path)
    a = lora_engine.generate([CHAT], n=1, sampling=GREEDY)[0][0]
    lora_engine.update_adapter(two)
    b = lora_engine.generate([CHAT], n=1, sampling=GREEDY)[0][0]
    assert not folder.exists()
    assert torch.allclose(
        torch.tensor(b.logprobs), _logprobs(two, b.prompt_ids, b.completion_ids), atol=2e-3
    )
    assert (a.completion_ids, a.logprobs) != (b.completion_ids, b.logprobs)


def test_the_grouped_ops_sample_what_vllms_own_do(lora_engine: Any, tokenizer: Any) -> None:
    """The engine multiplies with strata_rollout.vllm_lora_ops on a CPU; vLLM's own ops, swapped
    back in on the same engine, draw the same tokens with the same log-probs (seeded)."""
    from strata_rollout.vllm_lora_ops import use_grouped_lora_ops

    if torch.cuda.is_available():
        pytest.skip("a GPU build uses vLLM's kernels, not the CPU ops")
    assert lora_engine.lora_ops == "grouped"
    lora_engine.update_adapter(_lora(tokenizer, seed=5))
    sampled = SamplingConfig(max_new_tokens=8, temperature=1.0, seed=11)
    ours = lora_engine.generate([CHAT, CHAT[:1]], n=3, sampling=sampled)
    try:
        use_grouped_lora_ops(False)
        theirs = lora_engine.generate([CHAT, CHAT[:1]], n=3, sampling=sampled)
    finally:
        use_grouped_lora_ops(True)
    pairs = [p for one, two in zip(ours, theirs, strict=True) for p in zip(one, two, strict=True)]
    for a, b in pairs:
        assert a.completion_ids == b.completion_ids
        assert torch.allclose(torch.tensor(a.logprobs), torch.tensor(b.logprobs), atol=1e-4)
