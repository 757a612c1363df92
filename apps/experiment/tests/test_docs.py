"""docs/results.md's grid tables are their committed summaries, and the grids that must pair
item for item do."""

import dataclasses
from pathlib import Path

import pytest
from strata_experiment.aggregate import doc_block, doc_table
from strata_experiment.grid import load_grid

from strata_trainer.config import build_config

ROOT = Path(__file__).resolve().parents[3]
GRIDS = sorted((ROOT / "experiments").glob("*.toml"))


@pytest.mark.parametrize("path", GRIDS, ids=[p.stem for p in GRIDS])
def test_each_grid_table_in_the_docs_is_its_committed_summaries(path: Path) -> None:
    grid = load_grid(path)
    assert grid.doc is not None, f"{path}: no doc = ... for its table"
    _, block, _ = doc_block(grid.doc.read_text(encoding="utf-8"), grid.name)
    assert block == doc_table(grid), f"regenerate: strata-experiment {path} --aggregate-only"


def test_the_fp32_benchmark_grid_is_the_bf16_one_with_fp32_weights() -> None:
    """docs/results.md pairs the two B grids item for item: only the numerics may differ."""
    experiments = ROOT / "experiments"
    bf16, fp32 = (
        load_grid(experiments / f) for f in ("b-benchmarks.toml", "b-benchmarks-fp32.toml")
    )
    assert (fp32.seeds, list(fp32.configs)) == (bf16.seeds, list(bf16.configs))
    for name in bf16.configs:
        a, b = (
            dataclasses.asdict(build_config(g.base_config, g.configs[name])) for g in (bf16, fp32)
        )
        assert (a["model"].pop("dtype"), b["model"].pop("dtype")) == ("bfloat16", "float32")
        for resolved in (a, b):  # a memory budget, not a setting of the experiment
            resolved["rollout"].pop("vllm_kv_cache_gb")
        assert a == b, name


A_ZEN4S_KERNELS = {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}
A_ZEN3S_KERNELS = {
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
}


@pytest.mark.parametrize(
    ("amx_file", "capped_file", "caps"),
    [
        (
            "default-v8-uniform12-seeds.toml",
            "default-v8-avx512bf16-kernels-seeds.toml",
            A_ZEN4S_KERNELS,
        ),
        ("default-v6-heap-seeds.toml", "default-v6-avx512bf16-kernels-seeds.toml", A_ZEN4S_KERNELS),
        ("default-v6-heap-seeds.toml", "default-v6-avx2-kernels-seeds.toml", A_ZEN3S_KERNELS),
        ("default-v8-uniform12-seeds.toml", "default-v8-avx2-kernels-seeds.toml", A_ZEN3S_KERNELS),
    ],
)
def test_each_capped_kernels_grid_is_its_amx_grid_with_caps(
    amx_file: str, capped_file: str, caps: dict[str, str]
) -> None:
    """docs/results.md pairs each seed with its AMX run: only the kernels (and so, under the AVX2
    caps, through train.bf16 = "auto", the training precision) may differ."""
    experiments = ROOT / "experiments"
    amx, capped = (load_grid(experiments / f) for f in (amx_file, capped_file))
    assert (capped.seeds, capped.configs) == (amx.seeds, amx.configs)
    assert (amx.env, capped.env) == ({}, caps)
