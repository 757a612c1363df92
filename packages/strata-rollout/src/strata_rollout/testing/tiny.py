"""A tiny random Llama (two layers, width 128, head size 64) over a real tokenizer's vocabulary."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def tiny_causal_lm(
    tokenizer: PreTrainedTokenizerBase,
    *,
    seed: int = 0,
    hidden_size: int = 128,
    layers: int = 2,
    context: int = 512,
) -> PreTrainedModel:
    """A randomly initialised ``LlamaForCausalLM`` sized for unit tests (fp32, eval mode).

    Its logits are close to uniform over the vocabulary, so sampled completions differ and
    rarely hit EOS: tests of stopping set stop strings or ``max_new_tokens``."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        # Head size 64: vLLM's CPU attention kernels have no path for small heads.
        num_attention_heads=hidden_size // 64,
        num_key_value_heads=1,
        max_position_embeddings=context,
        # Untied: with tied random embeddings the model echoes its input token forever.
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    # Random init gives std-0.02 weights: logits nearly flat. Scale the output layer up
    # (x10: top-1 probability ~0.2, entropy ~5 nats) so that greedy decoding has clear
    # winners (tests compare greedy outputs) while samples still differ.
    with torch.no_grad():
        model.get_output_embeddings().weight.mul_(10.0)
    return model.eval()
