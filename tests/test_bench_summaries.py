"""experiments/analysis/bench_summaries.py: every run folder with a benchmark check gets one
summary holding both evaluations, the command and the machine; a grid without any is named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "analysis" / "bench_summaries.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def test_each_checked_run_gets_a_summary_with_both_evaluations(tmp_path: Path) -> None:
    grid = tmp_path / "grid"
    for seed, acc in ((20, 0.6), (21, 0.4)):
        folder = grid / f"x24-seed{seed}"
        folder.mkdir(parents=True)
        (folder / "bench.json").write_text(json.dumps({"strategyqa": {"accuracy": acc}}))
        (folder / "bench_base.json").write_text(json.dumps({"strategyqa": {"accuracy": 0.5}}))
    (grid / "x24-seed22").mkdir()  # not checked yet: no summary
    done = run(str(grid), str(tmp_path / "out"), "--machine", "Xeon", "--env", "A=1")
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["x24-seed20.json", "x24-seed21.json"]
    summary = json.loads((tmp_path / "out" / "x24-seed21.json").read_text())
    assert summary["bench"]["strategyqa"]["accuracy"] == 0.4
    assert summary["bench_base"]["strategyqa"]["accuracy"] == 0.5
    assert summary["machine"] == "Xeon"
    assert summary["command"].startswith(f"A=1 uv run strata-eval --adapter {grid / 'x24-seed21'} ")
    assert "strategyqa 0.400 (base 0.500)" in done.stdout


def test_a_grid_without_any_check_is_named(tmp_path: Path) -> None:
    (tmp_path / "x24-seed20").mkdir()
    done = run(str(tmp_path), str(tmp_path / "out"), "--machine", "Xeon")
    assert done.returncode == 1
    assert f"no run folder under {tmp_path} holds bench.json" in done.stderr
