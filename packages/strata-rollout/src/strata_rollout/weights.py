"""Turning a trainer's model into the weights an engine takes.

An engine that shares the trainer's model object (HFEngine) needs no push; it samples through
:func:`lora_merged`, which runs each LoRA-adapted linear layer as one product with ``W + ΔW``
for the length of a rollout (a decode step's cost on a CPU is its number of operations, and a
LoRA layer is six: cast, two products, scale, add, cast). One that holds its own copy (vLLM)
takes full tensors by their base-model names: :func:`merged_lora_weights` gives every weight of
the base model, ``W + ΔW`` for the LoRA-adapted layers and the others as they are (not copied).
All of them, not only the adapted ones: vLLM fuses layers (``q_proj``, ``k_proj`` and
``v_proj`` into one ``qkv_proj``) and reloads a fused layer whole, so a push of ``q_proj`` and
``v_proj`` alone left ``k_proj`` uninitialised (vLLM 0.32; test_contract).

Both read peft's LoRA layers by what they hold (``base_layer``, ``lora_A``,
``get_delta_weight``); peft itself is not imported. :func:`push_lora` picks between pushing the
adapter (to an engine that applies it unmerged) and pushing the merged weights.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F

from strata_rollout.engine import AdapterEngine, RolloutEngine


def _base_name(module_name: str) -> str:
    """``base_model.model.model.layers.0.q_proj`` -> ``model.layers.0.q_proj``."""
    prefix = "base_model.model."
    return module_name[len(prefix) :] if module_name.startswith(prefix) else module_name


def _lora_layers(model: Any) -> Iterator[tuple[str, Any]]:
    for name, module in model.named_modules():
        if getattr(module, "base_layer", None) is not None and hasattr(module, "get_delta_weight"):
            yield name, module


def _merged_weight(module: Any, adapter: str | None = None) -> torch.Tensor:
    """``W + ΔW`` of one LoRA layer for ``adapter`` (default: its active ones), summed in fp32
    and rounded once to ``W``'s dtype. Shape: ``W``'s."""
    names = [adapter] if adapter else list(getattr(module, "active_adapters", []))
    weight: torch.Tensor = module.base_layer.weight.detach()
    deltas = [_delta(module, a) for a in names if a in getattr(module, "lora_A", {})]
    if not deltas:
        return weight.clone()
    total = deltas[0]  # fp32 and fresh: summed into in place
    for delta in deltas[1:]:
        total += delta
    total += weight
    return total.to(weight.dtype)


def _plain_linear(module: Any, adapter: str) -> bool:
    """Whether ``adapter`` on this LoRA layer is ``W + s·B·A`` over a plain ``nn.Linear``: no
    DoRA, no fan-in-fan-out (transposed) weight, linear factors (not 4-bit, convolutions,
    embeddings)."""
    return (
        type(module.base_layer) is torch.nn.Linear
        and isinstance(module.lora_A[adapter], torch.nn.Linear)
        and isinstance(module.lora_B[adapter], torch.nn.Linear)
        and not getattr(module, "fan_in_fan_out", False)
        and not getattr(module, "use_dora", {}).get(adapter, False)
    )


def _delta(module: Any, adapter: str) -> torch.Tensor:
    """``ΔW = s·B·A`` in fp32, a fresh tensor. For a plain linear LoRA layer as ``(s·B)·A``,
    the scale applied to the [out, r] factor rather than to the [out, in] product (peft's
    ``get_delta_weight`` scales the product: 0.15 s of a 0.5 s merge of SmolLM2); any other
    layer by peft's own method."""
    if not _plain_linear(module, adapter):
        delta: torch.Tensor = module.get_delta_weight(adapter).float().clone()
        return delta
    a, b = module.lora_A[adapter].weight, module.lora_B[adapter].weight
    product: torch.Tensor = (b.float() * module.scaling[adapter]) @ a.float()
    return product


def merged_lora_weights(model: Any, adapter: str | None = None) -> dict[str, torch.Tensor]:
    """``{base name} -> tensor`` for every parameter of a peft model's base model: ``W + ΔW``
    for each LoRA-adapted linear layer's weight, every other weight as it is (detached).

    Works on any module tree holding peft LoRA layers (``base_layer`` + ``get_delta_weight``).
    ``adapter``: which adapter (default: the active one). Raises ``ValueError`` when the model
    has no LoRA layer (push ``state_dict()`` instead).
    """
    with torch.no_grad():
        merged = {
            f"{_base_name(name)}.weight": _merged_weight(module, adapter)
            for name, module in _lora_layers(model)
        }
    if not merged:
        raise ValueError("the model has no LoRA layer: push model.state_dict() instead")
    out: dict[str, torch.Tensor] = {}
    for name, param in model.named_parameters():  # tied weights appear once
        if ".lora_" in name:
            continue
        key = _base_name(name.replace(".base_layer.", "."))
        out[key] = merged.get(key, param.detach())
    return out


def push_lora(engine: RolloutEngine, model: Any) -> None:
    """Make ``engine`` (one holding its own copy of the weights) sample from ``model``, a peft
    LoRA model: the adapter applied unmerged where the engine takes adapters, so nothing rounds
    ΔW away in a bf16 engine; ``W + ΔW`` otherwise (:func:`merged_lora_weights`)."""
    if isinstance(engine, AdapterEngine) and engine.applies_adapters():
        engine.update_adapter(model)
    else:
        engine.update_weights(merged_lora_weights(model))


def _mergeable(module: Any) -> bool:
    """A LoRA layer that is one ``F.linear`` with ``W + ΔW`` as it stands: an fp32
    ``nn.Linear`` base with no device hooks, every active adapter plain linear
    (:func:`_plain_linear`), adapters on and not merged already.

    Not a bf16 (or fp16) base: its ``W`` lies on the bf16 grid, so rounding ``W + ΔW`` to bf16
    gives back ``W`` wherever ``|ΔW|`` is under half a step: on real adapters (SmolLM2, r=16,
    13 and 40 steps at lr 5e-4) 58 % and 41 % of the update's elements, so that the merged
    copy carries 82 % and 96 % of the update's direction (docs/rollout.md). The LoRA path adds
    ``ΔW·x`` to the output before its one rounding, and keeps the update."""
    return _plain_fp32_lora(module) and not getattr(module, "disable_adapters", False)


def _plain_fp32_lora(module: Any) -> bool:
    """A LoRA layer that is ``F.linear`` plus plain linear adapters: every active adapter
    :func:`_plain_linear` over an fp32 ``nn.Linear`` base, no device hooks, its forward not
    replaced already, not merged."""
    adapters = [a for a in getattr(module, "active_adapters", []) if a in module.lora_A]
    return (
        type(module.base_layer) is torch.nn.Linear  # what F.linear stands in for
        and all(_plain_linear(module, a) for a in adapters)
        and module.base_layer.weight.dtype == torch.float32
        and not getattr(module.base_layer, "_hf_hook", None)
        and "forward" not in vars(module)
        and not getattr(module, "merged", False)
    )


@contextmanager
def lora_merged(model: Any) -> Iterator[int]:
    """Inside, every mergeable LoRA layer of ``model`` (peft's; fp32 bases only, see
    :func:`_mergeable`) runs as ``F.linear(x, W + ΔW, b)``: the same function, to fp32
    rounding, in one product instead of six operations. Nothing of the model is modified (the
    merged weights are copies, dropped on exit; the adapter and ``W`` are untouched), so
    gradients and optimizer state are unaffected. For inference: no
    gradient reaches the adapter inside. Yields how many layers were merged (0 for a model
    without LoRA, which runs as it is).

    Memory: a copy of the adapted weights for the duration (SmolLM2-135M, all linear layers:
    0.42 GB)."""
    patched = []
    try:
        with torch.no_grad():
            for _, module in _lora_layers(model):
                if not _mergeable(module):
                    continue
                weight, bias = _merged_weight(module), module.base_layer.bias
                module.forward = _linear_with(weight, bias)  # an instance attribute: shadows
                patched.append(module)
        yield len(patched)
    finally:
        for module in patched:
            del module.forward


def _linear_with(weight: torch.Tensor, bias: torch.Tensor | None) -> Any:
    def forward(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return F.linear(x, weight, bias)

    return forward


@contextmanager
def learner_precision(model: Any, dtype: torch.dtype) -> Iterator[int]:
    """Inside, ``model`` computes as the trainer's forward pass does under
    ``torch.autocast(dtype)`` (a bf16-autocast learner), with every fp32 ``nn.Linear``'s weight
    cast to ``dtype`` once for the context instead of at every call: a sampler in the learner's
    own numerics (docs/rollout.md, "HFEngine in the learner's precision").

    What autocast computes, to the bit: a product ``F.linear(x, W)`` runs as
    ``F.linear(bf16(x), bf16(W))``, and a cast copy of ``W`` holds exactly ``bf16(W)``. A plain
    LoRA layer runs as peft's forward does, unmerged, ``base(x) + B(A(x))·s`` with each factor
    cast once: ``W + ΔW`` is never rounded as a whole (the trap of a bf16 merge,
    :func:`_mergeable`), and ``ΔW·x`` reaches the output as it reaches the learner's. Other LoRA
    layers (DoRA, 4-bit) run as they are, under autocast. Nothing of the model is modified; the
    copies go on exit. For inference: no gradient reaches the adapter inside. Yields how many
    linear layers were given cast copies.

    Memory: a ``dtype`` copy of every fp32 linear weight for the duration (SmolLM2-135M: 0.27 GB
    in bf16, the tied output layer included)."""
    lora = [m for _, m in _lora_layers(model)]
    inside_lora = {id(sub) for m in lora for sub in m.modules() if sub is not m}
    patched: list[Any] = []
    try:
        with torch.no_grad():
            for module in lora:
                if _plain_fp32_lora(module):  # an adapter switched off: the base alone
                    module.forward = _lora_forward_cast(module, dtype)
                    patched.append(module)
            for module in model.modules():
                if (
                    type(module) is torch.nn.Linear
                    and id(module) not in inside_lora
                    and module.weight.dtype == torch.float32
                    and "forward" not in vars(module)
                    and not getattr(module, "_hf_hook", None)
                ):
                    # an instance attribute shadowing the method, deleted on exit
                    module.forward = _linear_with(*_cast(module, dtype))  # type: ignore[method-assign]
                    patched.append(module)
        device_type = next(model.parameters()).device.type
        with torch.autocast(device_type, dtype=dtype):
            yield len(patched)
    finally:
        for module in patched:
            del module.forward


def _cast(linear: torch.nn.Linear, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A linear layer's weight and bias as ``dtype`` copies (autocast's casts, made once)."""
    bias = linear.bias.detach().to(dtype) if linear.bias is not None else None
    return linear.weight.detach().to(dtype), bias


def _lora_forward_cast(module: Any, dtype: torch.dtype) -> Any:
    """peft's ``lora.Linear.forward`` in eval mode (dropout is the identity there) with the base
    weight and each adapter's factors cast once: ``base(x) + Σ B(A(x))·s``, each product under
    the caller's autocast."""
    weight, bias = _cast(module.base_layer, dtype)
    factors = []
    if not getattr(module, "disable_adapters", False):
        for a in module.active_adapters:
            if a in module.lora_A:
                a_weight, _ = _cast(module.lora_A[a], dtype)
                b_weight, b_bias = _cast(module.lora_B[a], dtype)  # a bias: peft's lora_bias
                factors.append((a_weight, b_weight, b_bias, module.scaling[a]))

    def forward(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        result = F.linear(x, weight, bias)
        for a, b, b_bias, scale in factors:
            result = result + F.linear(F.linear(x, a), b, b_bias) * scale
        return result

    return forward
