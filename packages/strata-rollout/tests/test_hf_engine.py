"""HFEngine specifics: sharing the trainer's model, not disturbing global RNG or train mode."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from strata_rollout import HFEngine, RolloutEngine, SamplingConfig
from strata_rollout.hf import sample_tokens
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


def test_greedy_equals_transformers_generate(tokenizer: Any) -> None:
    """The engine's own decode loop (shared prefill, rows leaving as they finish) picks the same
    tokens as ``generate`` on each prompt alone."""
    model = tiny_causal_lm(tokenizer).eval()
    prompts: list[Any] = [
        CHAT,
        [{"role": "user", "content": "Name a colour, then a fruit, then a city please."}],
        "Once upon a time",
    ]
    greedy = SamplingConfig(max_new_tokens=12, temperature=0)
    ours = HFEngine(model, tokenizer).generate(prompts, 2, greedy)
    for group in ours:
        ids = torch.tensor([group[0].prompt_ids])
        with torch.no_grad():
            reference = model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=12,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
                temperature=None,
                top_p=None,
                top_k=None,
            )[0, ids.shape[1] :].tolist()
        eos_at = (
            reference.index(tokenizer.eos_token_id) + 1
            if tokenizer.eos_token_id in reference
            else len(reference)
        )
        assert list(group[0].completion_ids) == reference[:eos_at]
        assert group[0].completion_ids == group[1].completion_ids
        # ... and each token's log-prob is that of the prompt alone, unpadded.
        full = torch.tensor([group[0].prompt_ids + group[0].completion_ids])
        with torch.no_grad():
            logits = model(full).logits[0, ids.shape[1] - 1 : -1]  # [T, V]
        expected = torch.log_softmax(logits, -1).gather(
            1, torch.tensor(group[0].completion_ids)[:, None]
        )[:, 0]
        assert torch.allclose(torch.tensor(group[0].logprobs), expected, atol=1e-4)


def test_sampled_logprobs_are_the_sampling_policys(tokenizer: Any) -> None:
    """At temperature 0.7 each token's log-prob is log-softmax(logits / 0.7) at that token, as
    the trainer computes it (SPEC.md: the policy that samples)."""
    model = tiny_causal_lm(tokenizer).eval()
    prompts: list[Any] = [CHAT, "Once upon a time there"]
    sampling = SamplingConfig(max_new_tokens=10, temperature=0.7, seed=3)
    groups = HFEngine(model, tokenizer).generate(prompts, 3, sampling)
    for group in groups:
        for c in group:
            ids = torch.tensor([c.prompt_ids + c.completion_ids])
            with torch.no_grad():
                logits = model(ids).logits[0, len(c.prompt_ids) - 1 : -1]  # [T, V]
            expected = torch.log_softmax(logits / 0.7, -1).gather(
                1, torch.tensor(c.completion_ids)[:, None]
            )[:, 0]
            assert torch.allclose(torch.tensor(c.logprobs), expected, atol=1e-4)


def test_evaluation_can_skip_logprobs(tokenizer: Any) -> None:
    engine = HFEngine(tiny_causal_lm(tokenizer), tokenizer)
    greedy = SamplingConfig(max_new_tokens=6, temperature=0)
    with_lp = engine.generate([CHAT], 1, greedy)[0][0]
    without = engine.generate([CHAT], 1, greedy, logprobs=False)[0][0]
    assert with_lp.completion_ids == without.completion_ids
    assert set(without.logprobs) == {0.0}
    assert all(lp < 0 for lp in with_lp.logprobs)


@given(
    # Quarter steps: distinct values stay distinct after float32 scaling (ties are allowed).
    logits=arrays(np.float32, (3, 17), elements=st.integers(-32, 32).map(lambda x: x / 4)),
    top_k=st.integers(0, 17),
    top_p=st.floats(0.05, 1.0),
    seed=st.integers(0, 2**31),
)
def test_drawn_tokens_stay_inside_top_k_and_top_p(
    logits: np.ndarray, top_k: int, top_p: float, seed: int
) -> None:
    """A drawn token is among the top_k largest logits and inside the top_p nucleus (the
    smallest set of most likely tokens whose mass reaches top_p, in the top-k distribution
    renormalised), and its log-prob is of that truncated distribution, renormalised (vLLM's
    processed_logprobs). Ties are kept or dropped in an arbitrary order, but how much of a tied
    group's mass the nucleus keeps does not depend on which."""
    sampling = SamplingConfig(temperature=1.3, top_k=top_k, top_p=top_p)
    x = torch.from_numpy(logits)
    tokens, logp = sample_tokens(x, sampling, torch.Generator().manual_seed(seed))
    assert logp is not None
    probs = torch.softmax(x.double() / 1.3, -1)
    for row, tok in enumerate(tokens.tolist()):
        p = probs[row]
        rank = int((p > p[tok]).sum())
        if top_k:
            assert rank < top_k
            p = torch.where(p >= p.sort(descending=True).values[top_k - 1], p, 0.0)
            p = p / p.sum()
        kept, before = 0.0, 0.0
        for value in sorted(set(p.tolist()), reverse=True):
            count = int((p == value).sum())
            taken = sum(before + j * value < top_p - 1e-9 for j in range(count)) or 1
            kept += taken * value if before < top_p - 1e-9 else 0.0
            before += count * value
        mass_before = float(p[p > p[tok]].sum())
        assert mass_before < top_p + 1e-6
        assert logp[row] == pytest.approx(float(torch.log(p[tok] / kept)), abs=1e-4)


def test_a_token_budget_splits_batches_without_changing_results(tokenizer: Any) -> None:
    model = tiny_causal_lm(tokenizer)
    prompts: list[Any] = [CHAT, "Once upon a time " * 6, [{"role": "user", "content": "2+2?"}]]
    greedy = SamplingConfig(max_new_tokens=6, temperature=0)
    roomy = HFEngine(model, tokenizer).generate(prompts, 2, greedy)
    engine = HFEngine(model, tokenizer, max_batch_tokens=40)
    lengths = [len(g[0].prompt_ids) for g in roomy]
    order = sorted(range(3), key=lambda i: -lengths[i])
    batches = engine._batches([lengths[i] for i in order], order, 1, greedy)
    assert len(batches) > 1
    for batch in batches:
        assert len(batch) == 1 or len(batch) * (lengths[batch[0]] + 6) <= 40
    tight = engine.generate(prompts, 2, greedy)
    assert [[c.completion_ids for c in g] for g in roomy] == [
        [c.completion_ids for c in g] for g in tight
    ]
