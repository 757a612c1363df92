"""Experiment trackers that mirror each step's metrics: TensorBoard, trackio, Weights & Biases.

strata-train's ``log.to = ["tensorboard", "trackio", "wandb"]`` picks them (each an extra of
strata-trainer, ``pip install "strata-trainer[wandb]"``); with the trainer alone, open them with
:func:`open_trackers` and log each ``StepMetrics.row()``. Their packages are imported only when
asked for and are not dependencies of strata-grpo. A run folder's ``metrics.jsonl`` stays the
record: trackers only mirror it, so a tracker that is down never costs a run.

- tensorboard: event files in ``<run_dir>/tensorboard``.
- trackio: local-first (a SQLite file under ``TRACKIO_DIR``, default
  ``~/.cache/huggingface/trackio``); ``trackio show`` opens the dashboard.
- wandb: online when logged in, or ``WANDB_MODE=offline`` to write ``<run_dir>/wandb`` and
  ``wandb sync`` it later.

trackio and wandb runs are named after the run folder, and a resumed run (``--resume``) continues
the same tracker run (wandb's id is kept in ``<run_dir>/wandb-id``).
"""

from __future__ import annotations

import importlib.util
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

TRACKERS = ("tensorboard", "trackio", "wandb")
"""Each is also the module it needs (and the name of strata-trainer's extra for it)."""


class TrackerError(RuntimeError):
    """A tracker that was asked for cannot start; says what to install."""


class Tracker(Protocol):
    def log(self, metrics: Mapping[str, float], step: int) -> None: ...

    def close(self) -> None: ...


class TensorBoardTracker:
    def __init__(self, run: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(run / "tensorboard"))

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)
        self.writer.flush()  # a killed run keeps what it logged

    def close(self) -> None:
        self.writer.close()


class TrackioTracker:
    def __init__(self, run: Path, project: str, config: Mapping[str, Any]) -> None:
        import trackio

        self.trackio = trackio
        trackio.init(project=project, name=run.name, config=dict(config), resume="allow")

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        self.trackio.log(dict(metrics), step=step)

    def close(self) -> None:
        self.trackio.finish()


class WandbTracker:
    def __init__(self, run: Path, project: str, config: Mapping[str, Any]) -> None:
        import wandb

        id_file = run / "wandb-id"
        if not id_file.is_file():
            id_file.write_text(secrets.token_hex(8), encoding="utf-8")
        self.run = wandb.init(
            project=project,
            name=run.name,
            id=id_file.read_text(encoding="utf-8").strip(),
            resume="allow",
            dir=str(run),
            config=dict(config),
        )

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        # One call holds the whole step: commit now (with step= alone wandb holds the row until
        # the next step arrives, and a killed run would lose it).
        self.run.log(dict(metrics), step=step, commit=True)

    def close(self) -> None:
        self.run.finish()


class Trackers:
    """The trackers of one run, fed together; numbers only (text metrics stay in metrics.jsonl)."""

    def __init__(self, trackers: Sequence[Tracker]) -> None:
        self.trackers = list(trackers)

    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        numbers = {
            k: float(v)
            for k, v in metrics.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and k != "step"
        }
        for tracker in self.trackers:
            tracker.log(numbers, step)

    def close(self) -> None:
        for tracker in self.trackers:
            tracker.close()


def check_available(names: Sequence[str]) -> None:
    """Raise TrackerError for a tracker whose package is not installed (before any model loads)."""
    for name in names:
        if importlib.util.find_spec(name) is None:
            raise TrackerError(
                f"log.to: {name!r} needs the {name} package: "
                f'pip install "strata-trainer[{name}]" (or uv sync --extra {name}; without the '
                f"trainer: pip install {name})"
            )


def open_trackers(
    names: Sequence[str], run: Path, project: str, config: Mapping[str, Any]
) -> Trackers:
    check_available(names)
    opened: list[Tracker] = []
    for name in names:
        if name == "tensorboard":
            opened.append(TensorBoardTracker(run))
        elif name == "trackio":
            opened.append(TrackioTracker(run, project, config))
        elif name == "wandb":
            opened.append(WandbTracker(run, project, config))
    return Trackers(opened)
