"""Model sources: packaged, GGUF (converted once, cached), folder, hub id; clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from strata_rollout import check_model_source, load_model, resolve_model_source
from strata_rollout.models import _gguf_cache_folder, packaged_gguf, resolve_dtype
from strata_rollout.testing import tiny_causal_lm


def test_concurrent_conversions_redo_a_half_written_folder_once_then_reuse_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes converting the same GGUF at once (as two DDP ranks do on a fresh cache)
    over a folder that a crash of an older version left half written: one redoes it while the
    other waits on the lock and takes the result; a third lookup converts nothing. One
    conversion (~17 s here) serves all three checks."""
    import subprocess
    import sys

    monkeypatch.setenv("STRATA_CACHE", str(tmp_path))
    gguf = packaged_gguf("smollm2")
    folder = _gguf_cache_folder(gguf)
    assert folder.parent == tmp_path / "models"  # STRATA_CACHE honoured
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"half")
    code = "from strata_rollout import resolve_model_source; print(resolve_model_source('smollm2'))"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-1500:] for o in outs]
    assert outs[0][0].strip() == outs[1][0].strip() == str(folder)
    assert sorted(p.name for p in folder.parent.iterdir() if p.is_dir()) == [folder.name]
    assert (folder / "model.safetensors").stat().st_size > 1000
    assert (folder / "tokenizer.json").is_file()
    assert "quantization_config" not in (folder / "config.json").read_text()
    assert (folder / "strata-converted.json").is_file()

    mtime = (folder / "model.safetensors").stat().st_mtime_ns
    assert resolve_model_source(str(gguf)) == str(folder)  # cached: not converted again
    assert (folder / "model.safetensors").stat().st_mtime_ns == mtime


def test_a_local_folder_loads(tokenizer: Any, tmp_path: Path) -> None:
    tiny_causal_lm(tokenizer).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded = load_model(tmp_path, dtype="bfloat16", device="cpu")
    assert loaded.model.dtype == torch.bfloat16
    assert loaded.tokenizer.padding_side == "left"
    assert loaded.path == str(tmp_path)


@pytest.mark.parametrize(
    ("source", "error", "message"),
    [
        ("missing.gguf", FileNotFoundError, "no GGUF file"),
        ("./not/here", FileNotFoundError, "hub id of the form"),
        ("a/b/c", FileNotFoundError, "hub id of the form"),
    ],
)
def test_bad_sources_say_what_was_expected(source: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        resolve_model_source(source)
    with pytest.raises(error, match=message):  # the check a command makes before it loads
        check_model_source(source)


def test_the_check_names_what_a_source_is_without_converting(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    assert check_model_source(tmp_path) == "folder"
    assert check_model_source("Qwen/Qwen2.5-0.5B-Instruct") == "hub"
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"not a model")  # a conversion would fail on it: the check must not try
    assert check_model_source(gguf) == "gguf"


def test_a_folder_without_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"without config\.json"):
        resolve_model_source(tmp_path)


def test_hub_ids_pass_through_for_transformers() -> None:
    assert resolve_model_source("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen/Qwen2.5-0.5B-Instruct"


def test_auto_dtype_is_fp32_on_cpu() -> None:
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32
    with pytest.raises(ValueError, match="dtype must be"):
        resolve_dtype("fp8", torch.device("cpu"))  # type: ignore[arg-type]
