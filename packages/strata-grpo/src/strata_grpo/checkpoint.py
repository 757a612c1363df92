"""What a run folder holds on disk, read and written in one place: checkpoint folders and their
``latest`` pointer, the adapter weights, the trainer's configuration, and ``metrics.jsonl``.

A checkpoint folder ``checkpoint-NNNNNN/`` holds ``adapter.safetensors`` (the LoRA weights),
``optimizer.pt`` (AdamW, learning-rate schedule, RNG states) and ``trainer_state.json`` (step,
the whole :class:`GRPOConfig`, curriculum, data position, each rank's engine seed stream).
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from pathlib import Path
from typing import Any

from strata_grpo.config import GRPOConfig

CHECKPOINT_PREFIX = "checkpoint-"


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """A checkpoint folder as given, or a run folder's latest checkpoint (its ``latest`` file)."""
    folder = Path(path)
    if (folder / "latest").is_file():
        return folder / (folder / "latest").read_text().strip()
    return folder


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` so that a reader sees the old file or the new one, never half of it."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def config_to_json(config: GRPOConfig) -> dict[str, Any]:
    """Every field of ``config`` (tuples as lists): a checkpoint restores it whole."""
    return {
        k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()
    }


def config_from_json(saved: dict[str, Any]) -> GRPOConfig:
    """The :class:`GRPOConfig` :func:`config_to_json` wrote; fields it lacks (older
    checkpoints) keep their defaults, unknown ones are refused."""
    known = {f.name for f in dataclasses.fields(GRPOConfig)}
    unknown = sorted(set(saved) - known)
    if unknown:
        raise ValueError(f"checkpoint config has unknown field(s) {unknown}")
    # JSON has no tuples: every list comes back as the tuple the config holds.
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()}
    return GRPOConfig(**values)


def read_trainer_state(folder: Path) -> dict[str, Any]:
    path = folder / "trainer_state.json"
    if not path.is_file():
        raise FileNotFoundError(f"{folder} is not a checkpoint (no trainer_state.json)")
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return state


def load_adapter_weights(policy: Any, folder: Path) -> None:
    """Load ``folder/adapter.safetensors`` into ``policy``; raises ValueError when the weights do
    not fit it (another model, rank or set of target modules)."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    path = folder / "adapter.safetensors"
    if not path.is_file():
        raise FileNotFoundError(f"{folder} holds no adapter.safetensors (not a checkpoint)")
    try:
        result = set_peft_model_state_dict(policy, load_file(path))
    except RuntimeError as err:  # shapes differ: another rank or model
        raise ValueError(f"{folder}: adapter weights do not fit the policy ({err})") from None
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise ValueError(f"{folder}: adapter weights do not fit the policy: {unexpected[:3]}")


def load_policy(base: Any, path: str | os.PathLike[str]) -> Any:
    """``base`` wrapped in the LoRA adapter a run folder (its latest checkpoint) or checkpoint
    holds, built with the run's own adapter settings, in eval mode."""
    from strata_grpo.policy import make_policy

    folder = resolve_checkpoint(path)
    config = config_from_json(read_trainer_state(folder)["config"])
    policy = make_policy(base, config)
    load_adapter_weights(policy, folder)
    return policy.eval()


def truncate_jsonl(path: Path, steps: int) -> None:
    """Drop the lines of a run's JSON Lines log (metrics, samples) whose ``step`` is ``steps`` or
    later: work done after the checkpoint a run resumes from, which it is about to redo."""
    if not path.is_file():
        return
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = []
    for number, line in enumerate(lines, start=1):
        try:
            rows.append((line, json.loads(line)))
        except json.JSONDecodeError as err:
            if number < len(lines):
                raise ValueError(
                    f"{path}:{number}: not a JSON line ({err.msg}); only the last line can be "
                    "torn by a kill, so this file was changed by hand or by another program"
                ) from None
            # A kill mid-write tears the last line only: nothing in it was complete.
            warnings.warn(
                f"{path}: dropped its torn last line {number} ({len(line)} characters, "
                "a run stopped mid-write)",
                stacklevel=2,
            )
    kept = [line for line, row in rows if not isinstance(row, dict) or row.get("step", 0) < steps]
    atomic_write_text(path, "".join(line + "\n" for line in kept))


def append_metrics(path: Path, metrics: dict[str, Any]) -> None:
    """One line of ``metrics.jsonl``, flushed to disk before the step counts as done."""
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(metrics) + "\n")
        f.flush()
        os.fsync(f.fileno())
