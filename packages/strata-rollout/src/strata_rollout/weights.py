"""Turning a trainer's model into the weights an engine takes.

An engine that shares the trainer's model object (HFEngine) needs nothing. One that holds its
own copy (vLLM) takes full tensors by their base-model names; for a LoRA model only the adapted
layers change, so :func:`merged_lora_weights` sends ``W + ΔW`` for those layers alone (for
SmolLM2-135M with r=16 on all linear layers: 210 tensors, ~113 M values of 135 M).
"""

from __future__ import annotations

from typing import Any

import torch


def _base_name(module_name: str) -> str:
    """``base_model.model.model.layers.0.q_proj`` -> ``model.layers.0.q_proj``."""
    prefix = "base_model.model."
    return module_name[len(prefix) :] if module_name.startswith(prefix) else module_name


def merged_lora_weights(model: Any, adapter: str | None = None) -> dict[str, torch.Tensor]:
    """``{base name}.weight -> W + ΔW`` for every LoRA-adapted linear layer of a peft model.

    Works on any module tree holding peft LoRA layers (``base_layer`` + ``get_delta_weight``);
    peft itself is not imported. ``adapter``: which adapter (default: the active one). Raises
    ``ValueError`` when the model has no LoRA layer (push ``state_dict()`` instead).
    """
    out: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for name, module in model.named_modules():
            base = getattr(module, "base_layer", None)
            if base is None or not hasattr(module, "get_delta_weight"):
                continue
            names = [adapter] if adapter else list(getattr(module, "active_adapters", []))
            weight = base.weight.detach()
            merged = weight.clone()
            for a in names:
                if a in getattr(module, "lora_A", {}):
                    merged += module.get_delta_weight(a).to(weight.dtype)
            out[f"{_base_name(name)}.weight"] = merged
    if not out:
        raise ValueError("the model has no LoRA layer: push model.state_dict() instead")
    return out
