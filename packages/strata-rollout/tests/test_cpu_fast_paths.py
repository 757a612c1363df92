"""The CPU fast paths of HFEngine equal what they replace: grouped-query attention without
copies (against transformers' sdpa), the in-place KV cache (against ``DynamicLayer``, as a
state machine) and inverse-CDF sampling (against the weights it draws from)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from transformers.cache_utils import DynamicLayer

from strata_rollout import attention as attention_module
from strata_rollout import load_model
from strata_rollout.attention import GQA_MATMUL, GQA_SDPA, is_grouped, register
from strata_rollout.cache import GrowingLayer, growing_cache
from strata_rollout.hf import draw
from strata_rollout.testing import tiny_causal_lm

# ----------------------------------------------------------------------------- attention


def _left_padded(lengths: list[int], vocab: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(lengths)
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (len(lengths), width), generator=g)  # [B, W]
    mask = torch.zeros((len(lengths), width), dtype=torch.long)
    for row, n in enumerate(lengths):
        mask[row, width - n :] = 1
    return ids, mask


@settings(max_examples=15, deadline=None)
@given(lengths=st.lists(st.integers(1, 12), min_size=1, max_size=4), seed=st.integers(0, 999))
def test_gqa_attention_equals_sdpa_in_prefill_and_decoding(
    tokenizer: Any, lengths: list[int], seed: int
) -> None:
    """Left-padded batches (the masks rollouts use) and a decode step on the cache, without
    gradients (where the grouped path runs): the same numbers as transformers' sdpa with
    repeated heads."""
    register()
    model = tiny_causal_lm(tokenizer, seed=seed % 3)
    assert is_grouped(model)  # 2 query heads share 1 key/value head
    ids, mask = _left_padded(lengths, len(tokenizer), seed)
    results = {}
    for attention in ("sdpa", GQA_SDPA):
        model.set_attn_implementation(attention)
        with torch.no_grad():
            out = model(input_ids=ids, attention_mask=mask, use_cache=True)
            step = model(
                input_ids=ids[:, -1:],
                attention_mask=torch.cat([mask, mask.new_ones((len(lengths), 1))], 1),
                position_ids=mask.sum(-1, keepdim=True),
                past_key_values=out.past_key_values,
            )
        results[attention] = (out.logits, step.logits)
    for stock, fast in zip(results["sdpa"], results[GQA_SDPA], strict=True):
        torch.testing.assert_close(fast, stock, rtol=1e-5, atol=1e-5)


def _loss_and_grads(model: Any, ids: torch.Tensor, mask: torch.Tensor, bf16: bool) -> torch.Tensor:
    """A scalar of the real positions' logits and the gradient of every weight, flattened:
    [1 + n_params]. (A left-padding position's own output is each kernel's filler.)"""
    model.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(input_ids=ids, attention_mask=mask).logits.float()  # [B, W, V]
        loss = (logits.logsumexp(-1) * mask).sum()
    loss.backward()
    grads = [p.grad.flatten() for p in model.parameters() if p.grad is not None]
    return torch.cat([loss.detach()[None], *grads])


@settings(max_examples=10, deadline=None)
@given(lengths=st.lists(st.integers(1, 12), min_size=1, max_size=4), seed=st.integers(0, 999))
def test_where_gradients_flow_on_a_cpu_matmul_attention_equals_sdpa(
    tokenizer: Any, lengths: list[int], seed: int
) -> None:
    """GQA_MATMUL computes small training attention on a CPU as matmuls (its backward is cheap
    there): in float32 the loss and every weight's gradient equal transformers' sdpa's, left
    padding (query rows that attend to nothing) included."""
    register()
    model = tiny_causal_lm(tokenizer, seed=seed % 3)
    ids, mask = _left_padded(lengths, len(tokenizer), seed)
    results = {}
    for attention in ("sdpa", GQA_MATMUL):
        model.set_attn_implementation(attention)
        results[attention] = _loss_and_grads(model, ids, mask, bf16=False)
    torch.testing.assert_close(results[GQA_MATMUL], results["sdpa"], rtol=1e-4, atol=1e-5)


def test_matmul_attention_under_bf16_autocast_is_as_close_to_float32_as_sdpa(
    tokenizer: Any,
) -> None:
    """Under the trainer's bf16 autocast the scores stay float32 (as SDPA accumulates them):
    the gradient's error against float32 is no larger than sdpa's own, within a margin."""
    register()
    model = tiny_causal_lm(tokenizer)
    ids, mask = _left_padded([9, 4, 12], len(tokenizer), seed=2)
    model.set_attn_implementation("sdpa")
    exact = _loss_and_grads(model, ids, mask, bf16=False)
    sdpa = _loss_and_grads(model, ids, mask, bf16=True)
    model.set_attn_implementation(GQA_MATMUL)
    matmuls = _loss_and_grads(model, ids, mask, bf16=True)
    assert not torch.equal(matmuls, sdpa)  # the matmul path ran
    assert (matmuls - exact).norm() <= 1.5 * (sdpa - exact).norm()


@pytest.mark.parametrize("budget", [None, 0])
def test_where_gradients_flow_gqa_attention_is_transformers_sdpa_bit_for_bit(
    tokenizer: Any, budget: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training keeps transformers' numbers exactly (runs trained before reproduce): the same
    loss and gradients, bit for bit, under bf16 autocast as the trainer runs it; so does
    GQA_MATMUL above its score budget (long sequences, whose scores autograd would keep)."""
    register()
    fast = GQA_SDPA
    if budget is not None:
        monkeypatch.setattr(attention_module, "MATMUL_ATTENTION_MAX_SCORES", budget)
        fast = GQA_MATMUL
    model = tiny_causal_lm(tokenizer)
    ids, mask = _left_padded([9, 4, 12], len(tokenizer), seed=2)
    results = {}
    for attention in ("sdpa", fast):
        model.set_attn_implementation(attention)
        results[attention] = _loss_and_grads(model, ids, mask, bf16=True)
    assert torch.equal(results[fast], results["sdpa"])


@settings(max_examples=30, deadline=None)
@given(
    batch=st.integers(1, 3),
    kv_heads=st.integers(1, 3),
    groups=st.integers(1, 3),
    queries=st.integers(1, 6),
    past=st.integers(0, 6),
    masked=st.booleans(),
    seed=st.integers(0, 999),
)
def test_matmul_attention_equals_torch_sdpa(
    batch: int, kv_heads: int, groups: int, queries: int, past: int, masked: bool, seed: int
) -> None:
    """Against torch's SDPA with grouped heads: causal without a mask (queries the last of the
    keys), or a random boolean mask; rows that may attend to nothing are skipped (each kernel
    fills them its own way, and nothing reads them)."""
    g = torch.Generator().manual_seed(seed)
    keys = queries + past
    q = torch.randn(batch, kv_heads * groups, queries, 8, generator=g)
    k, v = (torch.randn(batch, kv_heads, keys, 8, generator=g) for _ in range(2))
    mask = torch.rand(batch, 1, queries, keys, generator=g) < 0.7 if masked else None
    causal = mask is None and queries > 1
    out = attention_module.matmul_attention(q, k, v, mask, None, causal)  # [B, Q, H, D]
    if mask is None:  # SDPA's is_causal aligns top-left; the queries are the last positions
        mask = torch.ones(queries, keys, dtype=torch.bool).tril(past)[None, None]
    expected = torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, enable_gqa=groups > 1
    ).transpose(1, 2)
    live = mask.expand(batch, 1, queries, keys).any(-1)[:, 0]  # [B, Q]
    torch.testing.assert_close(out[live], expected[live], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cpu", ["AMX", "AVX512-BF16"])
def test_gqa_attention_in_bf16_keeps_sdpa_numbers_on_either_kind_of_cpu(
    tokenizer: Any, cpu: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bf16 model's attention runs natively in bf16 on an AMX CPU and in fp32 on others (the
    faster of the two on each, docs/rollout.md): either way its logits match stock bf16 sdpa's
    to bf16 rounding (logits up to ~16 here, whose bf16 step is 0.0625: two steps allowed), and
    the output keeps the model's dtype."""
    monkeypatch.setattr(attention_module, "cpu_bf16_kind", lambda: cpu)
    calls: list[torch.dtype] = []
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def spy(query: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        calls.append(query.dtype)
        return sdpa(query, *args, **kwargs)

    register()
    model = tiny_causal_lm(tokenizer).to(torch.bfloat16)
    ids, mask = _left_padded([7, 12, 3], len(tokenizer), seed=1)
    logits = {}
    for implementation in ("sdpa", GQA_SDPA):
        model.set_attn_implementation(implementation)
        with torch.no_grad(), monkeypatch.context() as m:
            if implementation == GQA_SDPA:
                m.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
            logits[implementation] = model(input_ids=ids, attention_mask=mask).logits
    assert calls
    assert set(calls) == {torch.bfloat16 if cpu == "AMX" else torch.float32}
    assert logits[GQA_SDPA].dtype == torch.bfloat16
    torch.testing.assert_close(
        logits[GQA_SDPA].float(), logits["sdpa"].float(), rtol=0.02, atol=0.125
    )


def test_load_model_picks_gqa_attention_on_cpu_unless_told(tokenizer: Any, tmp_path: Path) -> None:
    tiny_causal_lm(tokenizer).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    assert load_model(tmp_path, device="cpu").model.config._attn_implementation == GQA_SDPA
    stock = load_model(tmp_path, device="cpu", attention="sdpa")
    assert stock.model.config._attn_implementation == "sdpa"
    matmuls = load_model(tmp_path, device="cpu", attention=GQA_MATMUL)
    assert matmuls.model.config._attn_implementation == GQA_MATMUL


# ----------------------------------------------------------------------------- KV cache

HEADS, DIM = 2, 4


class CacheMachine(RuleBasedStateMachine):
    """Every operation HFEngine and transformers apply to a cache layer, on a GrowingLayer with
    little room (so it regrows) and on transformers' DynamicLayer: their contents agree."""

    def __init__(self) -> None:
        super().__init__()
        self.fast, self.reference = GrowingLayer(reserve=3), DynamicLayer()
        self.batch = 2
        self.counter = 0

    def _states(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        self.counter += 1
        g = torch.Generator().manual_seed(self.counter)
        k = torch.randn((self.batch, HEADS, n, DIM), generator=g)  # [B, H, n, D]
        return k, k * 2 + 1

    @rule(n=st.integers(1, 5))
    def append(self, n: int) -> None:
        k, v = self._states(n)
        got = self.fast.update(k, v)
        want = self.reference.update(k.clone(), v.clone())
        for a, b in zip(got, want, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)

    @precondition(lambda self: self.reference.get_seq_length() > 0)
    @rule(repeats=st.integers(1, 3))
    def repeat(self, repeats: int) -> None:
        self.fast.batch_repeat_interleave(repeats)
        self.reference.batch_repeat_interleave(repeats)
        self.batch *= repeats

    @precondition(lambda self: self.reference.get_seq_length() > 0)
    @rule(data=st.data())
    def select(self, data: st.DataObject) -> None:
        keep = data.draw(st.lists(st.integers(0, self.batch - 1), min_size=1, unique=True))
        index = torch.tensor(sorted(keep))
        self.fast.batch_select_indices(index)
        self.reference.batch_select_indices(index)
        self.batch = len(keep)

    @precondition(lambda self: self.reference.get_seq_length() > 0)
    @rule(data=st.data())
    def select_in_any_order(self, data: st.DataObject) -> None:
        """transformers may reorder rows (beam search): not HFEngine's use, still exact."""
        order = data.draw(st.permutations(range(self.batch)))
        keep = order[: data.draw(st.integers(1, self.batch))]
        index = torch.tensor(keep)
        self.fast.batch_select_indices(index)
        self.reference.batch_select_indices(index)
        self.batch = len(keep)

    @precondition(lambda self: self.reference.get_seq_length() > 1)
    @rule(data=st.data())
    def crop(self, data: st.DataObject) -> None:
        drop = data.draw(st.integers(1, self.reference.get_seq_length() - 1))
        self.fast.crop(-drop)
        self.reference.crop(-drop)

    @invariant()
    def same_contents(self) -> None:
        assert self.fast.get_seq_length() == self.reference.get_seq_length()
        if self.reference.get_seq_length():
            torch.testing.assert_close(self.fast.keys, self.reference.keys, rtol=0, atol=0)
            torch.testing.assert_close(self.fast.values, self.reference.values, rtol=0, atol=0)


TestCacheMachine = CacheMachine.TestCase
TestCacheMachine.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)


def test_growing_cache_replaces_only_full_attention_layers(tokenizer: Any) -> None:
    model = tiny_causal_lm(tokenizer)
    cache = growing_cache(model.config, reserve=8)
    assert [type(layer) for layer in cache.layers] == [GrowingLayer] * 2


# ----------------------------------------------------------------------------- sampling


@given(
    weights=arrays(np.float64, (4, 9), elements=st.sampled_from([0.0, 0.0, 1e-6, 0.5, 1.0, 7.0])),
    seed=st.integers(0, 2**31),
)
def test_draw_never_picks_a_zero_weight(weights: np.ndarray, seed: int) -> None:
    weights[:, 4] += 1.0  # every row needs a positive sum
    picks = draw(torch.from_numpy(weights).float(), torch.Generator().manual_seed(seed))
    assert picks.shape == (4,)
    assert all(weights[row, int(p)] > 0 for row, p in enumerate(picks))


def test_draw_frequencies_follow_the_weights() -> None:
    """20,000 seeded draws over a fixed distribution: every frequency within 4 standard
    errors of its probability (deterministic: the generator is seeded)."""
    probs = torch.tensor([0.5, 0.0, 0.25, 0.15, 0.1, 0.0])
    rows = probs.repeat(20_000, 1) * 3.0  # unnormalised on purpose
    picks = draw(rows, torch.Generator().manual_seed(0))
    freq = torch.bincount(picks, minlength=6).double() / len(picks)
    se = (probs.double() * (1 - probs.double()) / len(picks)).sqrt()
    assert freq[1] == 0
    assert freq[5] == 0
    assert bool(((freq - probs.double()).abs() <= 4 * se + 1e-12).all()), freq


@pytest.mark.parametrize("seed", [0, 1])
def test_draw_is_reproducible_from_its_generator(seed: int) -> None:
    w = torch.rand(8, 100)
    a = draw(w, torch.Generator().manual_seed(seed))
    b = draw(w, torch.Generator().manual_seed(seed))
    assert torch.equal(a, b)
