"""How long VLLMEngine takes to start on vLLM's CPU build, with and without its AOT compile.

    .ci/venvs/vllm/bin/python benchmarks/vllm_startup.py [--repeat 2]

Each start runs in a fresh process (as a training run's does): `VLLMEngine("smollm2",
max_model_len=1024, kv_cache_memory_bytes=1 GiB)` and one greedy prompt. Printed per start:
the setting of VLLM_USE_AOT_COMPILE, seconds to a ready engine, and whether vLLM reported a
failed load of its AOT artifact. Starts alternate between the settings, so both see the same
machine; the first start of a setting may compile while a later one loads from the cache.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

CHILD = """
import time
t = time.perf_counter()
from strata_rollout.vllm import VLLMEngine
from strata_rollout.types import SamplingConfig
engine = VLLMEngine("smollm2", max_model_len=1024, kv_cache_memory_bytes=1 << 30)
ready = time.perf_counter() - t
engine.generate(["2+2?"], 1, SamplingConfig(temperature=0.0, max_new_tokens=8))
print(f"READY {ready:.1f}")
"""


def start(aot: str) -> tuple[float, bool]:
    env = {**os.environ, "VLLM_USE_AOT_COMPILE": aot}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=1800
    )
    out = done.stdout + done.stderr
    ready = [line for line in out.splitlines() if line.startswith("READY ")]
    if done.returncode != 0 or not ready:
        raise SystemExit(f"vllm_startup: a start with AOT={aot} failed:\n{out[-3000:]}")
    return float(ready[-1].split()[1]), "due to a load failure" in out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="starts per setting (default 2)")
    args = parser.parse_args()
    print("| start | VLLM_USE_AOT_COMPILE | seconds to ready | AOT load failed |")
    print("|---|---|---|---|")
    for i in range(args.repeat):
        for aot in ("1", "0"):
            seconds, failed = start(aot)
            print(f"| {i + 1} | {aot} | {seconds:.1f} | {'yes' if failed else 'no'} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
