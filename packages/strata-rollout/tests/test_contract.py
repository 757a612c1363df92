"""The engine contract, checked against HFEngine and VLLMEngine alike on the same tiny model."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from strata_rollout import Completion, SamplingConfig, merged_lora_weights
from strata_rollout.testing import tiny_causal_lm

CHAT = [{"role": "user", "content": "What is two plus three?"}]
PROMPTS: list[Any] = [CHAT, "The capital of France is", [{"role": "user", "content": "Hi"}]]


def _check_shape(groups: list[list[Completion]], n_prompts: int, n: int, max_new: int) -> None:
    assert len(groups) == n_prompts
    for group in groups:
        assert len(group) == n
        prompt_ids = group[0].prompt_ids
        for c in group:
            assert c.prompt_ids == prompt_ids
            assert 1 <= len(c.completion_ids) <= max_new
            assert len(c.logprobs) == len(c.completion_ids)
            assert all(lp <= 1e-4 for lp in c.logprobs)
            assert c.finish_reason in ("stop", "length")
            if c.finish_reason == "length":
                assert len(c.completion_ids) == max_new


def _policy_logprobs(model: Any, c: Completion, temperature: float = 1.0) -> tuple[Any, Any]:
    """The model's logits over c's completion [T, vocab] and log-softmax(logits / temperature)
    at c's tokens [T]: what the sampler's log-probs must equal."""
    ids = torch.tensor([c.prompt_ids + c.completion_ids])
    with torch.no_grad():
        logits = model(ids).logits[0, len(c.prompt_ids) - 1 : -1].float()
    logprobs = torch.log_softmax(logits / temperature, -1)
    return logits, logprobs.gather(1, torch.tensor(c.completion_ids)[:, None])[:, 0]


def test_one_group_of_n_per_prompt(engine: Any) -> None:
    sampling = SamplingConfig(max_new_tokens=12, temperature=1.0, seed=1)
    groups = engine.generate(PROMPTS, n=4, sampling=sampling)
    _check_shape(groups, len(PROMPTS), 4, 12)


def test_samples_of_a_prompt_differ_at_temperature_one(engine: Any) -> None:
    groups = engine.generate([CHAT], n=6, sampling=SamplingConfig(max_new_tokens=8, seed=3))
    assert len({c.completion_ids for c in groups[0]}) > 1


def test_a_seed_reproduces_and_another_seed_differs(engine: Any) -> None:
    a = engine.generate(PROMPTS, n=3, sampling=SamplingConfig(max_new_tokens=8, seed=11))
    b = engine.generate(PROMPTS, n=3, sampling=SamplingConfig(max_new_tokens=8, seed=11))
    c = engine.generate(PROMPTS, n=3, sampling=SamplingConfig(max_new_tokens=8, seed=12))

    def ids(groups: list[list[Completion]]) -> list[tuple[int, ...]]:
        return [x.completion_ids for g in groups for x in g]

    assert ids(a) == ids(b)
    assert ids(a) != ids(c)


def test_only_unseeded_sampling_draws_from_the_seed_stream(engine: Any) -> None:
    """Greedy calls and calls with a seed of their own (evaluation, probes) leave the stream
    where it was: a run samples the same training completions whether or not it evaluated."""
    stream = engine.state_dict()
    sampled = SamplingConfig(max_new_tokens=8)
    alone = engine.generate(PROMPTS, n=3, sampling=sampled)
    engine.load_state_dict(stream)
    engine.generate([CHAT], n=2, sampling=SamplingConfig(max_new_tokens=4, temperature=0))
    engine.generate([CHAT], n=2, sampling=SamplingConfig(max_new_tokens=4, seed=99))
    assert engine.state_dict() == stream
    after_others = engine.generate(PROMPTS, n=3, sampling=sampled)
    assert [[c.completion_ids for c in g] for g in after_others] == [
        [c.completion_ids for c in g] for g in alone
    ]
    assert engine.state_dict() != stream  # an unseeded sampled call does draw


def test_greedy_samples_agree_and_logprobs_match_the_model(engine: Any, tokenizer: Any) -> None:
    groups = engine.generate([CHAT], n=3, sampling=SamplingConfig(max_new_tokens=10, temperature=0))
    first = groups[0][0]
    assert all(c.completion_ids == first.completion_ids for c in groups[0])
    # The sampler's log-probs are the model's own log-softmax at the sampled tokens.
    logits, expected = _policy_logprobs(tiny_causal_lm(tokenizer), first)
    assert torch.allclose(torch.tensor(first.logprobs), expected, atol=2e-3)
    # Greedy means each token was the model's argmax.
    assert logits.argmax(-1).tolist() == list(first.completion_ids)


def test_sampled_logprobs_are_of_the_tempered_policy(engine: Any, tokenizer: Any) -> None:
    """At temperature 0.7 each log-prob is log-softmax(logits / 0.7) at the sampled token: the
    policy that samples, which the trainer's log πold also scores (SPEC.md)."""
    sampling = SamplingConfig(max_new_tokens=8, temperature=0.7, seed=5)
    model = tiny_causal_lm(tokenizer)
    for c in engine.generate([CHAT], n=2, sampling=sampling)[0]:
        _, expected = _policy_logprobs(model, c, temperature=0.7)
        assert torch.allclose(torch.tensor(c.logprobs), expected, atol=2e-3)


def test_a_stop_string_ends_the_completion(engine: Any) -> None:
    free = engine.generate([CHAT], n=1, sampling=SamplingConfig(max_new_tokens=24, temperature=0))
    text = free[0][0].text
    stop = text.strip()[len(text.strip()) // 2 :][:3]
    if len(stop.strip()) < 2:
        pytest.skip(f"greedy text too short to pick a stop string from: {text!r}")
    cut = engine.generate(
        [CHAT], n=1, sampling=SamplingConfig(max_new_tokens=24, temperature=0, stop=(stop,))
    )[0][0]
    assert cut.finish_reason == "stop"
    assert stop in cut.text
    assert len(cut.completion_ids) < len(free[0][0].completion_ids)
    assert cut.completion_ids == free[0][0].completion_ids[: len(cut.completion_ids)]


def test_seeded_sampling_of_more_prompt_tokens_than_one_step_holds(engine: Any) -> None:
    """Six ~300-token prompts against vLLM's 512-token step budget: a prompt split across
    steps crashed vLLM's CPU build under seeded sampling (the engine turns chunking off)."""
    prompts = [f"word{i} " * 150 for i in range(6)]
    groups = engine.generate(prompts, n=4, sampling=SamplingConfig(max_new_tokens=4, seed=3))
    assert [len(g) for g in groups] == [4] * 6
    assert all(1 <= len(c.completion_ids) <= 4 for g in groups for c in g)


def test_max_new_tokens_ends_with_length(engine: Any) -> None:
    groups = engine.generate([CHAT], n=2, sampling=SamplingConfig(max_new_tokens=3, seed=0))
    for c in groups[0]:
        if c.finish_reason == "length":
            assert len(c.completion_ids) == 3


@pytest.mark.parametrize(
    ("prompts", "n", "message"),
    [
        ([], 1, "prompts is empty"),
        ("just a string", 1, "one string"),
        ([CHAT], 0, "n \\(completions per prompt\\)"),
        ([[]], 1, r"prompts\[0\]"),
        ([CHAT, "word " * 5000], 1, r"prompts\[1\] has \d+ tokens.*context"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(
    engine: Any, prompts: Any, n: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        engine.generate(prompts, n=n, sampling=SamplingConfig(max_new_tokens=4))


def test_pushed_weights_change_the_output(engine: Any, tokenizer: Any) -> None:
    greedy = SamplingConfig(max_new_tokens=8, temperature=0)
    before = engine.generate([CHAT], n=1, sampling=greedy)[0][0].completion_ids
    other = tiny_causal_lm(tokenizer, seed=123).state_dict()
    engine.update_weights(other)
    try:
        after = engine.generate([CHAT], n=1, sampling=greedy)[0][0].completion_ids
        assert after != before
    finally:
        engine.update_weights(tiny_causal_lm(tokenizer).state_dict())
    assert engine.generate([CHAT], n=1, sampling=greedy)[0][0].completion_ids == before


@pytest.mark.parametrize("targets", ["all-linear", ["q_proj", "v_proj"]], ids=["all", "q-v"])
def test_a_pushed_lora_model_is_the_lora_model(engine: Any, tokenizer: Any, targets: Any) -> None:
    """merged_lora_weights gives every weight, W + ΔW where adapted: vLLM reloads a fused layer
    whole, so a push of the adapted layers alone left k_proj's part of qkv_proj uninitialised
    when only q_proj and v_proj carry LoRA."""
    peft = pytest.importorskip("peft", reason="peft is a dev dependency of strata-rollout")
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=targets, lora_dropout=0.0)
    lora = peft.get_peft_model(tiny_causal_lm(tokenizer), config)
    with torch.no_grad():  # a trained adapter: B is zero at init, so give it values
        for name, p in lora.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    engine.update_weights(merged_lora_weights(lora))
    try:
        greedy = SamplingConfig(max_new_tokens=8, temperature=0)
        first = engine.generate([CHAT], n=1, sampling=greedy)[0][0]
    finally:
        engine.update_weights(tiny_causal_lm(tokenizer).state_dict())
    logits, expected = _policy_logprobs(lora, first)
    assert torch.allclose(torch.tensor(first.logprobs), expected, atol=2e-3)
    assert logits.argmax(-1).tolist() == list(first.completion_ids)


def _truncated_logprobs(
    logits: torch.Tensor, ids: tuple[int, ...], temperature: float, top_k: int, top_p: float
) -> torch.Tensor:
    """The reference: log-probs of ``ids`` under softmax(logits / T), top-k, renormalised, top-p
    (the smallest set of most likely tokens whose mass reaches top_p), renormalised. [T]."""
    logp = torch.log_softmax(logits / temperature, -1)  # [T, V]
    kth = logp.topk(top_k, dim=-1).values[:, -1:]
    logp = torch.log_softmax(logp.masked_fill(logp < kth, -torch.inf), -1)
    out = []
    for row, token in zip(logp, ids, strict=True):
        probs, order = row.exp().sort(descending=True)
        keep = int((probs.cumsum(0) - probs < top_p).sum())
        kept = order[:keep]
        assert token in kept.tolist(), "a drawn token outside the nucleus"
        out.append(float(row[token] - torch.logsumexp(row[kept], 0)))
    return torch.tensor(out)


def test_truncated_sampling_logprobs_are_of_the_distribution_drawn_from(
    engine: Any, tokenizer: Any
) -> None:
    """With top-k and top-p both engines report the log-prob under the truncated, renormalised
    distribution the token was drawn from (HFEngine used to report it before truncation, vLLM
    after, and the trainer's importance weights mixed the two)."""
    sampling = SamplingConfig(max_new_tokens=8, temperature=0.9, top_k=20, top_p=0.8, seed=4)
    model = tiny_causal_lm(tokenizer)
    for c in engine.generate([CHAT, "The capital of France is"], n=3, sampling=sampling)[0]:
        logits, _ = _policy_logprobs(model, c)
        expected = _truncated_logprobs(logits, c.completion_ids, 0.9, 20, 0.8)
        assert torch.allclose(torch.tensor(c.logprobs), expected, atol=2e-3)


@pytest.mark.vllm
def test_a_vllm_engine_without_lora_rank_refuses_adapters(vllm_engine: Any, tokenizer: Any) -> None:
    """Adapters need an engine built for them (test_vllm_lora.py): one built for weights says so."""
    peft = pytest.importorskip("peft", reason="peft is a dev dependency of strata-rollout")
    lora = peft.get_peft_model(tiny_causal_lm(tokenizer), peft.LoraConfig(r=4, lora_alpha=8))
    assert not vllm_engine.applies_adapters()
    with pytest.raises(ValueError, match="lora_rank"):
        vllm_engine.update_adapter(lora)
