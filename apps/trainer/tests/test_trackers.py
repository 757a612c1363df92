"""log.to: each tracker receives the step metrics, and they read back from what it wrote.

trackio and wandb fix their storage folder when imported, so they run in a subprocess
(tracker_run.py) with the environment set: TRACKIO_DIR in tmp; WANDB_MODE=offline, so nothing
leaves the machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from strata_grpo.trackers import TrackerError, check_available, open_trackers
from strata_trainer.config import ConfigError, build_config

STEPS = [
    {"step": 1, "arithmetic/reward": 0.25, "kl": 0.0, "note": "text is left out"},
    {"step": 2, "arithmetic/reward": 0.5, "kl": 0.01, "skipped": False},
    {"step": 3, "arithmetic/reward": 0.75, "kl": 0.02},
]
STEPS_JSON = json.dumps(STEPS)


def test_an_unknown_tracker_is_refused_with_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match=r"log.to: unknown tracker 'mlflow'; allowed: tensorb"):
        build_config(overrides=["log.to=tensorboard,mlflow"])
    assert build_config(overrides=["log.to=wandb, trackio"]).log.to == ("wandb", "trackio")


def test_a_missing_tracker_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if not installed
    with pytest.raises(TrackerError, match=r'pip install "strata-trainer\[wandb\]"'):
        check_available(["wandb"])


def test_the_cli_stops_on_a_missing_tracker_before_loading_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from strata_trainer.cli import train_main

    monkeypatch.setitem(sys.modules, "trackio", None)  # as if not installed
    code = train_main(["--set", "log.to=trackio", "--run-dir", str(tmp_path / "run")])
    assert code == 2
    assert "strata-trainer[trackio]" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_tensorboard_events_read_back(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="needs strata-trainer[tensorboard]")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logged = open_trackers(["tensorboard"], tmp_path, "strata-test", {})
    for m in STEPS:
        logged.log(m, m["step"])
    logged.close()

    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert set(events.Tags()["scalars"]) == {"arithmetic/reward", "kl"}
    got = [(e.step, e.value) for e in events.Scalars("arithmetic/reward")]
    assert got == [(1, 0.25), (2, 0.5), (3, 0.75)]


def _tracker_run(run: Path, name: str, env: dict[str, str]) -> object:
    script = Path(__file__).with_name("tracker_run.py")
    done = subprocess.run(
        [sys.executable, str(script), str(run), name, STEPS_JSON],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_trackio_logs_read_back(tmp_path: Path) -> None:
    pytest.importorskip("trackio", reason="needs strata-trainer[trackio]")
    run = tmp_path / "runs" / "my-run"
    run.mkdir(parents=True)
    rows = _tracker_run(run, "trackio", {"TRACKIO_DIR": str(tmp_path / "trackio")})
    assert isinstance(rows, list)
    assert [(r["step"], r["arithmetic/reward"], r["kl"]) for r in rows] == [
        (1, 0.25, 0.0),
        (2, 0.5, 0.01),
        (3, 0.75, 0.02),
    ]
    assert (tmp_path / "trackio" / "strata-test.db").is_file()


def test_wandb_offline_run_holds_the_metrics_and_resumes_the_same_run(tmp_path: Path) -> None:
    pytest.importorskip("wandb", reason="needs strata-trainer[wandb]")
    run = tmp_path / "my-run"
    run.mkdir()
    env = {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(tmp_path)}
    first = _tracker_run(run, "wandb", env)
    assert isinstance(first, dict)
    assert first["summary"] == {"arithmetic/reward": 0.75, "kl": 0.02}
    files = list((run / "wandb").glob(f"offline-run-*-{first['id']}/run-{first['id']}.wandb"))
    assert len(files) == 1
    assert b"arithmetic/reward" in files[0].read_bytes()

    second = _tracker_run(run, "wandb", env)  # as after --resume: the same wandb run
    assert isinstance(second, dict)
    assert second["id"] == first["id"] == (run / "wandb-id").read_text().strip()
