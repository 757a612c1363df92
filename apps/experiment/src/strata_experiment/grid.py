"""A grid of strata-train runs: the grid file (configurations × seeds), and running one run of
it in its own process, resumably, with its wall time and peak memory recorded.

The grid file's format is in ``strata-experiment --help`` (:mod:`strata_experiment.cli`).

The base model's evaluation is greedy: two runs whose model, data, prompt, rollout and
evaluation budget agree get the same ``eval_before.json``, so the grid evaluates the base model
once per such setting (kept in ``<runs>/<name>/base-eval/``) and hands it to the other runs,
which read it back as a resumed run does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strata_experiment.aggregate import doc_block, summarise_run
from strata_grpo.checkpoint import atomic_write_text
from strata_trainer.config import ConfigError, build_config, read_toml
from strata_trainer.evaluate import evaluation_key
from strata_trainer.memory import kib_to_gb, peak_rss_gb


@dataclass(frozen=True)
class Grid:
    name: str
    path: Path
    """The grid file (errors name it)."""
    seeds: tuple[int, ...]
    configs: dict[str, tuple[str, ...]]
    """Configuration name -> its ``--set`` overrides, the shared ones first."""
    base_config: Path | None
    runs: Path
    summaries: Path
    """``<summaries>/<name>``: one JSON per finished run, the aggregate table and plot."""
    doc: Path | None = None
    """A Markdown file whose ``<!-- grid:NAME:begin -->``…``end`` block is the table."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment variables every run of the grid gets (``ONEDNN_MAX_CPU_ISA``: another CPU
    kind's bf16 kernels), set in the grid's own process too so its records name them."""

    def runs_of(self) -> list[tuple[str, int]]:
        """Seed-major: every configuration's first seed before any second seed, so a grid cut
        short still compares every configuration."""
        return [(c, s) for s in self.seeds for c in self.configs]

    def run_dir(self, config: str, seed: int) -> Path:
        return self.runs / self.name / f"{config}-seed{seed}"

    def summary_path(self, config: str, seed: int) -> Path:
        return self.summaries / f"{config}-seed{seed}.json"

    def overrides(self, config: str, seed: int) -> list[str]:
        return [*self.configs[config], f"train.seed={seed}"]


def load_grid(path: Path, runs: Path | None = None) -> Grid:
    """Read and check a grid file; every configuration is built once here, so a typo fails
    before the first run rather than hours into the grid."""
    raw = read_toml(path, "grid file")
    known = {"name", "summaries", "runs", "config", "set", "seeds", "configs", "doc", "env"}
    if unknown := sorted(set(raw) - known):
        raise ConfigError(f"{path}: unknown key(s) {unknown}; known: {sorted(known)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name or "/" in name:
        raise ConfigError(f"{path}: 'name' must be a non-empty name without '/'")
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise ConfigError(f"{path}: 'seeds' must be a non-empty list of integers")
    shared = _overrides(path, "set", raw.get("set", []))
    tables = raw.get("configs")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{path}: no [configs.<name>] tables")
    here = path.parent
    base = here / raw["config"] if "config" in raw else None
    configs = {}
    for cname, table in tables.items():
        if not isinstance(table, dict) or set(table) - {"set"}:
            raise ConfigError(f"{path}: [configs.{cname}] takes one key, set = [...]")
        configs[cname] = (*shared, *_overrides(path, f"configs.{cname}.set", table.get("set", [])))
        try:
            build_config(base, configs[cname])
        except ConfigError as err:
            raise ConfigError(f"{path}: [configs.{cname}]: {err}") from None
    doc = here / raw["doc"] if "doc" in raw else None
    if doc is not None:  # checked now: the table is written after the last run, hours in
        try:
            doc_block(doc.read_text(encoding="utf-8"), name)
        except FileNotFoundError:
            raise ConfigError(f"{path}: doc: no such file {doc}") from None
        except ValueError as err:
            raise ConfigError(
                f"{path}: doc: {doc} has {err} for this grid's table; add the two lines where "
                "it goes"
            ) from None
    env = raw.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(v, str) and k.isidentifier() for k, v in env.items()
    ):
        raise ConfigError(f'{path}: env must be a table of NAME = "value" strings')
    return Grid(
        name=name,
        path=path,
        seeds=tuple(seeds),
        configs=configs,
        base_config=base,
        runs=runs or Path(raw.get("runs", "runs/grids")),
        summaries=here / raw.get("summaries", "docs/results") / name,
        doc=doc,
        env=env,
    )


def _overrides(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and "=" in v for v in value):
        raise ConfigError(f"{path}: {key} must be a list of 'section.field=value' strings")
    return tuple(value)


def run_one(grid: Grid, config: str, seed: int) -> dict[str, Any]:
    """Train (or resume) one run of the grid in its own process, then write its summary."""
    run = grid.run_dir(config, seed)
    cfg = build_config(grid.base_config, grid.overrides(config, seed))
    shared_before = grid.runs / grid.name / "base-eval" / evaluation_key(cfg)
    cmd = [sys.executable, "-m", "strata_trainer"]
    if (run / "config.toml").is_file():  # a stopped run: continue it with its saved config
        cmd += ["--resume", str(run)]
    else:
        if cfg.eval.before and (shared_before / "eval_before.json").is_file():
            run.mkdir(parents=True, exist_ok=True)
            for name in ("eval_before.json", "eval_before.md"):
                shutil.copy2(shared_before / name, run / name)
            print(
                f"strata-experiment: {config} seed {seed}: base model's evaluation reused "
                f"from {shared_before}"
            )
        cmd += ["--run-dir", str(run)]
        if grid.base_config is not None:
            cmd += ["--config", str(grid.base_config)]
        cmd += [a for s in grid.overrides(config, seed) for a in ("--set", s)]
    ledger = InvocationLog(run)
    ledger.recover()  # a process that was killed outright left its last heartbeat
    try:
        exit_code, wall, peak_gb = run_child(cmd, heartbeat=ledger.beat)
    except BaseException:
        ledger.recover("stopped")
        raise
    ledger.close(wall, peak_gb, exit_code)
    if exit_code != 0:
        raise RuntimeError(f"{config} seed {seed}: strata-train failed (run folder {run})")
    if (run / "eval_before.json").is_file() and not shared_before.is_dir():
        tmp = shared_before.with_name(f".{shared_before.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in ("eval_before.json", "eval_before.md"):
            shutil.copy2(run / name, tmp / name)
        tmp.rename(shared_before)  # whole or absent: a crash here leaves no half a cache
    summary = summarise_run(run, grid.name, config, seed, grid.overrides(config, seed))
    grid.summaries.mkdir(parents=True, exist_ok=True)
    # Whole or absent: a summary cut short by a crash would count its run as done.
    atomic_write_text(grid.summary_path(config, seed), json.dumps(summary, indent=1) + "\n")
    return summary


HEARTBEAT_S = 30.0


def run_child(
    cmd: Sequence[str], heartbeat: Callable[[float, float], None] | None = None
) -> tuple[int, float, float]:
    """Run ``cmd`` to its end: (exit code, wall seconds, peak RSS in GB). ``heartbeat(wall
    seconds, peak RSS in GB so far)`` is called at the start, every ``HEARTBEAT_S`` and once
    more when the run is stopped.

    Stopping the grid stops the run with it: on any exception here (Ctrl-C, or the SIGTERM that
    ``main`` turns into ``SystemExit``) the child is terminated and waited for before the
    exception goes on. Without this a ``kill`` of the grid left its run training on alone, and the
    restarted grid started a second trainer on the same run folder.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(cmd)
    next_beat = started
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now = time.perf_counter()
            if heartbeat is not None and now >= next_beat:
                heartbeat(now - started, peak_rss_gb(proc.pid))
                next_beat = now + HEARTBEAT_S
            time.sleep(0.2)
    except BaseException:
        peak = peak_rss_gb(proc.pid)  # while /proc still has it
        proc.terminate()
        try:
            proc.wait(timeout=60)  # time to finish writing what it was writing
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if heartbeat is not None:  # the stop's own time, not the last beat's (up to 30 s old)
            heartbeat(time.perf_counter() - started, peak)
        raise
    wall = time.perf_counter() - started
    return os.waitstatus_to_exitcode(status), wall, kib_to_gb(usage.ru_maxrss)


@contextmanager
def exit_on_sigterm() -> Iterator[None]:
    """Inside: SIGTERM unwinds the stack as Ctrl-C does, so ``run_child`` can stop its run."""

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class InvocationLog:
    """Each process a run took (a resumed run takes several): its wall time, peak RSS and exit,
    one JSON line each in ``invocations.jsonl``. A running process keeps a heartbeat in
    ``invocation.json``; if the grid is killed outright (the machine taken back, ``kill -9``) the
    next start finds it and logs it, so a run's cost loses at most one heartbeat's time."""

    def __init__(self, run: Path) -> None:
        self.log, self.heartbeat_file = run / "invocations.jsonl", run / "invocation.json"

    def beat(self, wall_s: float, peak_rss_gb: float) -> None:
        self.heartbeat_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.heartbeat_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"wall_s": wall_s, "peak_rss_gb": peak_rss_gb}), "utf-8")
        tmp.replace(self.heartbeat_file)  # whole or absent

    def recover(self, how: str = "killed") -> None:
        """Log the heartbeat a process left behind, with ``how`` it ended, and clear it."""
        if self.heartbeat_file.is_file():
            last = json.loads(self.heartbeat_file.read_text("utf-8"))
            self._append(last["wall_s"], last["peak_rss_gb"], how)

    def close(self, wall_s: float, peak_rss_gb: float, code: int) -> None:
        self._append(wall_s, peak_rss_gb, code)

    def _append(self, wall_s: float, peak_rss_gb: float, code: int | str) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"wall_s": wall_s, "peak_rss_gb": peak_rss_gb, "exit": code}) + "\n")
        self.heartbeat_file.unlink(missing_ok=True)
