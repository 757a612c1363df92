"""The trainable policy: a base model with a LoRA adapter (peft), optionally over a 4-bit NF4
base (QLoRA, bitsandbytes) on CPU or CUDA.

The reference policy of the KL term is the same model with its adapter disabled
(``with policy.disable_adapter():``): no frozen copy in memory.

bitsandbytes on CPUs with AVX512-BF16: a no-grad forward (as in generation) repacks the 4-bit
weights into a layout whose kernel has no autograd, and LoRA gradients through those layers then
come out silently wrong. :func:`disable_bnb_cpu_repacking` turns that path off on every
``Linear4bit`` (``support_avx512bf16_for_cpu = False``); :func:`make_policy` calls it.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from strata_grpo.config import GRPOConfig


def disable_bnb_cpu_repacking(model: torch.nn.Module) -> int:
    """Set ``support_avx512bf16_for_cpu = False`` on every bitsandbytes ``Linear4bit``.

    Returns how many layers were changed (0 when the model has none)."""
    changed = 0
    for module in model.modules():
        if type(module).__name__ == "Linear4bit" and hasattr(module, "support_avx512bf16_for_cpu"):
            setattr(module, "support_avx512bf16_for_cpu", False)  # noqa: B010
            changed += 1
    return changed


def load_nf4_base(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Any:
    """A causal LM from a Hugging Face folder with its linear layers in bitsandbytes NF4."""
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as err:
        raise ImportError(
            "quantization='nf4' needs bitsandbytes: pip install 'strata-grpo[qlora]'"
        ) from err
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    compute = torch.bfloat16 if torch.device(device).type == "cuda" else torch.float32
    quant = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=compute,
        bnb_4bit_use_double_quant=False,
    )
    model = AutoModelForCausalLM.from_pretrained(
        os.fspath(path), quantization_config=quant, dtype=compute, device_map={"": str(device)}
    )
    disable_bnb_cpu_repacking(model)
    return model


def make_policy(base: Any, config: GRPOConfig) -> Any:
    """Wrap ``base`` in a fresh LoRA adapter as ``config`` says; returns the peft model.

    For QLoRA pass a base from :func:`load_nf4_base`. The adapter is created under a fixed seed
    (``config.seed``) so that two runs start from the same weights."""
    import peft

    target: Any = config.lora_target_modules
    lora = peft.LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=target if isinstance(target, str) else list(target),
        task_type="CAUSAL_LM",
    )
    if getattr(base, "is_loaded_in_4bit", False):
        base = peft.prepare_model_for_kbit_training(
            base, use_gradient_checkpointing=config.gradient_checkpointing
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        policy = peft.get_peft_model(base, lora)
    disable_bnb_cpu_repacking(policy)
    if config.gradient_checkpointing:
        policy.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        policy.enable_input_require_grads()
    return policy


def trainable_parameters(policy: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in policy.parameters() if p.requires_grad]
