"""HFEngine specifics: sharing the trainer's model, not disturbing global RNG or train mode."""

from __future__ import annotations

from typing import Any

import torch

from strata_rollout import HFEngine, RolloutEngine, SamplingConfig
from strata_rollout.testing import tiny_causal_lm

CHAT = [{"role": "user", "content": "Name a colour."}]


def test_is_a_rollout_engine(tokenizer: Any) -> None:
    assert isinstance(HFEngine(tiny_causal_lm(tokenizer), tokenizer), RolloutEngine)


def test_a_shared_model_changed_in_place_changes_the_output(tokenizer: Any) -> None:
    model = tiny_causal_lm(tokenizer)
    engine = HFEngine(model, tokenizer)
    greedy = SamplingConfig(max_new_tokens=8, temperature=0)
    before = engine.generate([CHAT], 1, greedy)[0][0].completion_ids
    with torch.no_grad():
        model.load_state_dict(tiny_causal_lm(tokenizer, seed=5).state_dict())
    engine.update_weights(None)  # nothing to copy: the engine holds the same object
    assert engine.generate([CHAT], 1, greedy)[0][0].completion_ids != before


def test_leaves_global_rng_and_training_mode_alone(tokenizer: Any) -> None:
    model = tiny_causal_lm(tokenizer).train()
    engine = HFEngine(model, tokenizer, seed=0)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    engine.generate([CHAT], 2, SamplingConfig(max_new_tokens=4))
    assert torch.equal(torch.rand(3), expected)
    assert model.training


def test_the_engine_seed_stream_reproduces_a_run(tokenizer: Any) -> None:
    def run() -> list[tuple[int, ...]]:
        engine = HFEngine(tiny_causal_lm(tokenizer), tokenizer, seed=7)
        sampling = SamplingConfig(max_new_tokens=6)
        return [c.completion_ids for _ in range(3) for c in engine.generate([CHAT], 2, sampling)[0]]

    assert run() == run()


def test_small_batches_give_the_same_greedy_results(tokenizer: Any) -> None:
    model = tiny_causal_lm(tokenizer)
    prompts: list[Any] = [CHAT, "Once upon a time", [{"role": "user", "content": "2+2?"}]]
    greedy = SamplingConfig(max_new_tokens=6, temperature=0)
    whole = HFEngine(model, tokenizer, max_batch_size=64).generate(prompts, 2, greedy)
    pieces = HFEngine(model, tokenizer, max_batch_size=1).generate(prompts, 2, greedy)
    assert [[c.completion_ids for c in g] for g in whole] == [
        [c.completion_ids for c in g] for g in pieces
    ]
