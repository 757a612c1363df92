"""completion_logprobs equals the naive full-vocabulary computation, values and gradients."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from strata_grpo import completion_logprobs
from strata_grpo.logprobs import COMPLETION_MULTIPLE

transformers = pytest.importorskip("transformers")
peft = pytest.importorskip("peft")


def tiny(seed: int = 0, vocab: int = 300) -> Any:
    config = transformers.LlamaConfig(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=128,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    return transformers.LlamaForCausalLM(config).eval()


def batch(vocab: int = 300) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Two rows: left-padded prompts of 3 and 5 tokens, completions of 4 tokens."""
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(3, vocab, (2, 9), generator=g)
    mask = torch.ones(2, 9, dtype=torch.long)
    mask[0, :2] = 0
    ids[0, :2] = 0
    return ids, mask, 4


def naive(model: Any, ids: torch.Tensor, mask: torch.Tensor, t: int) -> torch.Tensor:
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=position_ids).logits
    lp = torch.log_softmax(logits[:, -t - 1 : -1].float(), -1)
    return lp.gather(-1, ids[:, -t:, None])[..., 0]


@pytest.mark.parametrize("chunk_rows", [1, 2, 8])
def test_values_and_gradients_match_the_naive_computation(chunk_rows: int) -> None:
    ids, mask, t = batch()
    model = tiny()
    fast = completion_logprobs(model, ids, mask, t, chunk_rows=chunk_rows)
    slow = naive(model, ids, mask, t)
    assert fast.shape == (2, t)
    assert torch.allclose(fast, slow, atol=1e-5)
    weights = torch.randn(2, t)
    grads_fast = torch.autograd.grad((fast * weights).sum(), list(model.parameters()))
    grads_slow = torch.autograd.grad((slow * weights).sum(), list(model.parameters()))
    for a, b in zip(grads_fast, grads_slow, strict=True):
        assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("chunk_rows", [1, 8])
def test_entropy_matches_the_full_distribution_values_and_gradients(chunk_rows: int) -> None:
    ids, mask, t = batch()
    model = tiny()
    both = completion_logprobs(
        model, ids, mask, t, chunk_rows=chunk_rows, temperature=0.7, with_entropy=True
    )
    assert both.shape == (2, t, 2)
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=position_ids).logits
    probs = torch.softmax(logits[:, -t - 1 : -1].float() / 0.7, -1)  # [B, T, V]
    slow = torch.distributions.Categorical(probs=probs).entropy()  # [B, T]
    assert torch.allclose(both[..., 1], slow, atol=1e-5)
    alone = completion_logprobs(model, ids, mask, t, chunk_rows=chunk_rows, temperature=0.7)
    assert torch.allclose(both[..., 0], alone, atol=1e-6)
    grads_fast = torch.autograd.grad(both[..., 1].sum(), list(model.parameters()))
    grads_slow = torch.autograd.grad(slow.sum(), list(model.parameters()))
    for a, b in zip(grads_fast, grads_slow, strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_a_peft_model_uses_its_adapter_and_can_turn_it_off() -> None:
    ids, mask, t = batch()
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", lora_dropout=0.0)
    model = peft.get_peft_model(tiny(), config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.3)
    with_adapter = completion_logprobs(model, ids, mask, t)
    assert torch.allclose(with_adapter, naive(model, ids, mask, t), atol=1e-5)
    with model.disable_adapter(), torch.no_grad():
        without = completion_logprobs(model, ids, mask, t)
    assert torch.allclose(without, naive(tiny(), ids, mask, t), atol=1e-5)
    assert not torch.allclose(with_adapter, without, atol=1e-3)


def test_temperature_divides_the_logits() -> None:
    ids, mask, t = batch()
    model = tiny()
    hot = completion_logprobs(model, ids, mask, t, temperature=2.0)
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=position_ids).logits / 2.0
    expected = torch.log_softmax(logits[:, -t - 1 : -1], -1).gather(-1, ids[:, -t:, None])[..., 0]
    assert torch.allclose(hot, expected, atol=1e-5)


def test_a_group_sharing_its_prompt_matches_the_naive_computation() -> None:
    """Rows that share a prompt (a GRPO group) run it once; values and gradients are those of
    each row computed alone, left padding included."""
    g = torch.Generator().manual_seed(2)
    prompts = torch.randint(3, 300, (2, 6), generator=g)
    prompt_mask = torch.ones(2, 6, dtype=torch.long)
    prompts[1, :2], prompt_mask[1, :2] = 0, 0  # the second prompt is shorter: left padding
    rows = [0, 0, 0, 1, 1]  # two groups: three and two samples
    completions = torch.randint(3, 300, (5, 4), generator=g)
    completion_mask = torch.ones(5, 4, dtype=torch.long)
    completion_mask[2, 3] = 0  # right padding after an early end
    ids = torch.cat([prompts[rows], completions], 1)
    mask = torch.cat([prompt_mask[rows], completion_mask], 1)
    model = tiny()
    fast = completion_logprobs(model, ids, mask, 4)
    slow = naive(model, ids, mask, 4)
    assert torch.allclose(fast, slow, atol=1e-5)
    weights = torch.randn(5, 4) * completion_mask
    grads_fast = torch.autograd.grad((fast * weights).sum(), list(model.parameters()))
    grads_slow = torch.autograd.grad((slow * weights).sum(), list(model.parameters()))
    for a, b in zip(grads_fast, grads_slow, strict=True):
        assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize(("chunk_rows", "projections"), [(1, 3), (2, 1), (8, 1)])
def test_only_chunks_before_the_last_are_projected_again_in_backward(
    chunk_rows: int, projections: int
) -> None:
    """Two rows: in chunks of one, the first chunk's logits are recomputed in backward
    (activation checkpointing) and the last chunk's are kept; one chunk is projected once."""
    ids, mask, t = batch()
    model = tiny()
    calls = []
    model.get_output_embeddings().register_forward_hook(lambda *_: calls.append(1))
    logp = completion_logprobs(model, ids, mask, t, chunk_rows=chunk_rows)
    logp.sum().backward()
    assert len(calls) == projections


@settings(max_examples=20, deadline=None)
@given(
    prompt_lens=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    completion_lens=st.data(),
    extra_left=st.integers(0, 3),
    extra_right=st.integers(0, 3 * COMPLETION_MULTIPLE),
    shared=st.booleans(),
)
def test_columns_of_padding_in_every_row_change_nothing(
    prompt_lens: list[int], completion_lens: Any, extra_left: int, extra_right: int, shared: bool
) -> None:
    """Left padding common to all rows and right padding after the longest completion (to a
    multiple of COMPLETION_MULTIPLE) are dropped before the pass: at every real completion token
    the values and gradients are the naive computation's over the whole padded batch, and the
    dropped tail is 0."""
    rows = len(prompt_lens)
    if shared:  # one GRPO group: every row the same prompt (the shared-prompt pass)
        prompt_lens = [prompt_lens[0]] * rows
    lens = completion_lens.draw(st.lists(st.integers(0, 4), min_size=rows, max_size=rows))
    p = max(prompt_lens) + extra_left
    t = max(max(lens), 1) + extra_right
    g = torch.Generator().manual_seed(sum(prompt_lens) + 7 * sum(lens))
    ids = torch.randint(3, 300, (rows, p + t), generator=g)
    mask = torch.zeros(rows, p + t, dtype=torch.long)
    for i, (a, b) in enumerate(zip(prompt_lens, lens, strict=True)):
        mask[i, p - a : p + b] = 1
    if shared:
        ids[:, :p] = ids[0, :p].clone()
    ids = ids * mask  # padding is token 0
    model = tiny()
    fast = completion_logprobs(model, ids, mask, t)
    slow = naive(model, ids, mask, t)
    real = mask[:, p:].bool()  # [B, T]
    assert fast.shape == (rows, t)
    assert torch.allclose(fast[real], slow[real], atol=1e-5)
    last = int(real.any(0).nonzero().max()) + 1 if bool(real.any()) else 1
    kept = min(-(-last // COMPLETION_MULTIPLE) * COMPLETION_MULTIPLE, t)
    assert torch.equal(fast[:, kept:], torch.zeros(rows, t - kept))
    assert bool(torch.isfinite(fast).all())
    if not bool(real.any()):
        return
    weights = torch.randn(rows, t, generator=g) * real
    grads_fast = torch.autograd.grad((fast * weights).sum(), list(model.parameters()))
    grads_slow = torch.autograd.grad((slow * weights).sum(), list(model.parameters()))
    for a, b in zip(grads_fast, grads_slow, strict=True):
        assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n_completion": 9}, r"n_completion must be in \[1, L\) = \[1, 9\)"),
        ({"n_completion": 0}, "n_completion must be in"),
        ({"temperature": 0.0}, "temperature must be finite and > 0, got 0.0"),  # logits / 0
        ({"temperature": float("nan")}, "temperature must be finite"),
        ({"chunk_rows": 0}, "chunk_rows must be >= 1"),
        ({"attention_mask": torch.ones(2, 8)}, r"must both be \[B, L\], got \(2, 9\) and \(2, 8\)"),
    ],
)
def test_inputs_that_have_no_log_probs_are_named(change: dict[str, Any], message: str) -> None:
    ids, mask, t = batch()
    args: dict[str, Any] = {"attention_mask": mask, "n_completion": t, **change}
    with pytest.raises(ValueError, match=message):
        completion_logprobs(tiny(), ids, **args)
