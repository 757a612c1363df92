"""Probe (issue 37): can vLLM's CPU build compile a model that applies a LoRA adapter unmerged?

vLLM 0.32's CPU platform turns compilation off whenever LoRA is enabled, so the adapter path
(``rollout.vllm_lora``) runs eager: 2-3x the merged engine's generation. This probe measures
four ways, each in a process of its own (the patches are global to vLLM):

- ``eager``: what Strata ships (compilation off, Strata's grouped LoRA ops);
- ``naive``: compilation left on, nothing else changed;
- ``opaque``: compilation on, and ``PunicaWrapperCPU.add_lora_linear`` wrapped in a torch custom
  op, so the traced-once graph calls it at run time instead of baking its Python branches
  ("no adapter in this batch", prefill or decode);
- ``fast``: ``opaque`` with a single-adapter path inside the op (all tokens on slot 0: one
  product for every slice's A, then one ``addmm_`` a slice).

For each: the seconds of four sampling calls (six prompts x 8 samples x 64 tokens, the v6
default's adapter), then greedy completions with and without the adapter, scored against an fp32
peft model with the adapter on and off: mean |log p_engine - log p_learner| a token. An engine
that applies the adapter is near "on" and far from "off".

    .ci/venvs/vllm/bin/python benchmarks/vllm_lora_compile.py --adapter RUN/checkpoint-000016

Not a shipped path: the ``opaque`` and ``fast`` patches live here only (docs/rollout.md,
"Compiling the adapter path, probed").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

MODES = ("eager", "naive", "opaque", "fast")
PROMPTS = [
    [{"role": "user", "content": f"Compute: {a} plus 17. Think, then answer in <answer></answer>."}]
    for a in (23, 58, 71, 104, 36, 89)
]


def keep_compilation_with_lora() -> None:
    """Run vLLM's CPU config step as if LoRA were off (it then keeps its compilation mode)."""
    from vllm.platforms import cpu

    original = cpu.CpuPlatform.check_and_update_config.__func__  # type: ignore[attr-defined]

    def patched(cls: Any, vllm_config: Any) -> None:
        lora, vllm_config.lora_config = vllm_config.lora_config, None
        try:
            original(cls, vllm_config)
        finally:
            vllm_config.lora_config = lora

    cpu.CpuPlatform.check_and_update_config = classmethod(patched)  # type: ignore[assignment]


def opaque_lora_linear(single_adapter_path: bool) -> None:
    """``PunicaWrapperCPU.add_lora_linear`` as a custom op that mutates ``y``; the wrapper is
    found through a key stored on it at construction (a plain int the trace can bake)."""
    from vllm.lora.punica_wrapper import punica_cpu

    wrappers: dict[int, Any] = {}
    cls = punica_cpu.PunicaWrapperCPU
    original_init, original_linear = cls.__init__, cls.add_lora_linear

    @torch.library.custom_op("strata_probe::lora_linear", mutates_args=("y",))
    def lora_linear(
        y: torch.Tensor,
        x: torch.Tensor,
        lora_a: list[torch.Tensor],
        lora_b: list[torch.Tensor],
        scale: float,
        output_slices: list[int],
        key: int,
    ) -> None:
        wrapper = wrappers[key]
        if single_adapter_path and wrapper.no_lora:
            return
        if single_adapter_path and bool((wrapper.token_lora_indices == 0).all()):
            a = torch.cat([m[0, 0] for m in lora_a])  # [slices * r, in]
            h = torch.mm(x, a.t())  # [tokens, slices * r]
            r, start = lora_a[0].shape[-2], 0
            for i, (b, n) in enumerate(zip(lora_b, output_slices, strict=True)):
                y[:, start : start + n].addmm_(h[:, i * r : (i + 1) * r], b[0, 0].t(), alpha=scale)
                start += n
            return
        original_linear(wrapper, y, x, tuple(lora_a), tuple(lora_b), scale, tuple(output_slices))

    @lora_linear.register_fake
    def _(*args: Any) -> None:
        return None

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._strata_key = len(wrappers)
        wrappers[self._strata_key] = self

    def add_lora_linear(
        self: Any,
        y: Any,
        x: Any,
        lora_a: Any,
        lora_b: Any,
        scale: float,
        output_slices: Any,
        *,
        buffer: Any = None,
        **kwargs: Any,
    ) -> None:
        if buffer is not None or kwargs:
            raise NotImplementedError("the probe's op takes no buffer or extra arguments")
        torch.ops.strata_probe.lora_linear(
            y, x, list(lora_a), list(lora_b), float(scale), list(output_slices), self._strata_key
        )

    cls.__init__ = init
    cls.add_lora_linear = add_lora_linear


def peft_model(adapter: Path, dtype: str) -> Any:
    from peft import LoraConfig, get_peft_model

    from strata_grpo.checkpoint import load_adapter_weights
    from strata_rollout import load_model

    loaded = load_model("smollm2", dtype=dtype)  # type: ignore[arg-type]
    # The default run's LoRA (strata_grpo's lora_r, lora_alpha, lora_target_modules).
    lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", lora_dropout=0.0)
    model = get_peft_model(loaded.model, lora)
    load_adapter_weights(model, adapter)
    return model.eval(), loaded.tokenizer


def run_mode(mode: str, adapter: Path, out: Path, profile: bool) -> None:
    if mode != "eager":
        keep_compilation_with_lora()
    if mode in ("opaque", "fast"):
        opaque_lora_linear(single_adapter_path=mode == "fast")
    from strata_rollout import SamplingConfig
    from strata_rollout.vllm import VLLMEngine

    model, _ = peft_model(adapter, "bfloat16")
    started = time.perf_counter()
    engine = VLLMEngine(
        "smollm2",
        dtype="bfloat16",
        lora_rank=16,
        max_model_len=2048,
        kv_cache_memory_bytes=2 * 2**30,
    )
    ready = time.perf_counter() - started
    greedy = SamplingConfig(max_new_tokens=48, temperature=0.0)
    base = engine.generate(PROMPTS, 1, greedy)
    engine.update_adapter(model)
    sampling = SamplingConfig(max_new_tokens=64, temperature=0.7)
    seconds = []
    for _ in range(4):
        t = time.perf_counter()
        engine.generate(PROMPTS, 8, sampling)
        seconds.append(time.perf_counter() - t)
    tuned = engine.generate(PROMPTS, 1, greedy)
    if profile:
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as profiler

        with profiler(activities=[ProfilerActivity.CPU]) as prof:
            engine.generate(PROMPTS, 8, sampling)
        print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=25), flush=True)
    out.write_text(
        json.dumps(
            {
                "mode": mode,
                "ready_s": ready,
                "generate_s": seconds,
                "base": [[c[0].completion_ids, c[0].logprobs] for c in base],
                "adapter": [[c[0].completion_ids, c[0].logprobs] for c in tuned],
            }
        )
    )


def gaps(model: Any, tokenizer: Any, result: dict[str, Any]) -> dict[str, float]:
    """Mean |engine − learner| log-prob a token, learner = ``model`` (the fp32 peft model),
    adapter on / off."""
    from strata_rollout import SamplingConfig
    from strata_rollout.engine import encode_prompts

    encoded = encode_prompts(tokenizer, PROMPTS, 1, SamplingConfig(max_new_tokens=48), 2048)

    def learner(ids: list[int], completion: list[int], on: bool) -> list[float]:
        with torch.no_grad():
            if on:
                logits = model(torch.tensor([ids + completion])).logits[0]
            else:
                with model.disable_adapter():
                    logits = model(torch.tensor([ids + completion])).logits[0]
        logp = torch.log_softmax(logits.float(), -1)
        return [logp[len(ids) - 1 + i, t].item() for i, t in enumerate(completion)]

    out = {}
    for which in ("base", "adapter"):
        for on in (True, False):
            diffs = [
                abs(a - b)
                for ids, (completion, engine_logp) in zip(encoded, result[which], strict=True)
                for a, b in zip(engine_logp, learner(ids, completion, on), strict=True)
            ]
            out[f"{which} greedy vs adapter {'on' if on else 'off'}"] = sum(diffs) / len(diffs)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adapter", type=Path, required=True, help="a run's checkpoint folder")
    parser.add_argument("--modes", default=",".join(MODES), help=f"of {', '.join(MODES)}")
    parser.add_argument("--json", type=Path, help="write every mode's figures here")
    parser.add_argument(
        "--profile", action="store_true", help="print a torch.profiler table of one more call"
    )
    parser.add_argument("--mode", help=argparse.SUPPRESS)  # one mode, in a child process
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        run_mode(args.mode, args.adapter, args.out, args.profile)
        return 0
    from grpo_step import git_commit  # this folder's; read before the runs, as grpo_step does

    commit = git_commit()
    learner, tokenizer = peft_model(args.adapter, "float32")
    table = {}
    for mode in args.modes.split(","):
        out = Path(f"/tmp/strata-vllm-lora-compile-{mode}.json")
        cmd = [
            sys.executable,
            __file__,
            "--adapter",
            str(args.adapter),
            "--mode",
            mode,
            "--out",
            str(out),
            *(["--profile"] if args.profile else []),
        ]
        subprocess.run(cmd, check=True, env={**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": "0"})
        result = json.loads(out.read_text())
        table[mode] = {
            "ready_s": result["ready_s"],
            "generate_s": result["generate_s"],
            **gaps(learner, tokenizer, result),
        }
        print(mode, json.dumps(table[mode]), flush=True)
    if args.json:
        from strata_rollout.hardware import describe_cpu

        record = {"cpu": describe_cpu(), "commit": commit, "adapter": str(args.adapter)}
        args.json.write_text(json.dumps({**record, "modes": table}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
