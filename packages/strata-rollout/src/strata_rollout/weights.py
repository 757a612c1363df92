"""Turning a trainer's model into the weights an engine takes.

An engine that shares the trainer's model object (HFEngine) needs nothing. One that holds its
own copy (vLLM) takes full tensors by their base-model names: :func:`merged_lora_weights` gives
every weight of the base model, ``W + ΔW`` for the LoRA-adapted layers and the others as they
are (not copied). All of them, not only the adapted ones: vLLM fuses layers (``q_proj``,
``k_proj`` and ``v_proj`` into one ``qkv_proj``) and reloads a fused layer whole, so a push of
``q_proj`` and ``v_proj`` alone left ``k_proj`` uninitialised (vLLM 0.32; test_contract).
"""

from __future__ import annotations

from typing import Any

import torch


def _base_name(module_name: str) -> str:
    """``base_model.model.model.layers.0.q_proj`` -> ``model.layers.0.q_proj``."""
    prefix = "base_model.model."
    return module_name[len(prefix) :] if module_name.startswith(prefix) else module_name


def merged_lora_weights(model: Any, adapter: str | None = None) -> dict[str, torch.Tensor]:
    """``{base name} -> tensor`` for every parameter of a peft model's base model: ``W + ΔW``
    for each LoRA-adapted linear layer's weight, every other weight as it is (detached).

    Works on any module tree holding peft LoRA layers (``base_layer`` + ``get_delta_weight``);
    peft itself is not imported. ``adapter``: which adapter (default: the active one). Raises
    ``ValueError`` when the model has no LoRA layer (push ``state_dict()`` instead).
    """
    merged: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for name, module in model.named_modules():
            base = getattr(module, "base_layer", None)
            if base is None or not hasattr(module, "get_delta_weight"):
                continue
            names = [adapter] if adapter else list(getattr(module, "active_adapters", []))
            weight = base.weight.detach()
            with_delta = weight.clone()
            for a in names:
                if a in getattr(module, "lora_A", {}):
                    with_delta += module.get_delta_weight(a).to(weight.dtype)
            merged[f"{_base_name(name)}.weight"] = with_delta
    if not merged:
        raise ValueError("the model has no LoRA layer: push model.state_dict() instead")
    out: dict[str, torch.Tensor] = {}
    for name, param in model.named_parameters():  # tied weights appear once
        if ".lora_" in name:
            continue
        key = _base_name(name.replace(".base_layer.", "."))
        out[key] = merged.get(key, param.detach())
    return out
