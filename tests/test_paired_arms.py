"""The pre-registered two-arm analysis (experiments/analysis/paired_arms.py) reads committed
summaries and run folders alike, and its intervals are Student's t (strata_experiment.aggregate)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import paired_arms  # pytest puts benchmarks/ and experiments/analysis/ on the path
from hypothesis import given, settings
from hypothesis import strategies as st
from strata_experiment.aggregate import T_975, t_quantile

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "analysis" / "paired_arms.py"


@settings(deadline=None)
@given(st.sampled_from(sorted(T_975)))
def test_the_95_quantile_matches_the_table_the_aggregate_uses(df: int) -> None:
    assert abs(t_quantile(0.95, df) - T_975[df]) < 2e-3


@settings(max_examples=25, deadline=None)  # each quantile integrates the density
@given(st.integers(1, 30), st.floats(0.5, 0.995), st.floats(0.001, 0.004))
def test_a_wider_level_gives_a_larger_quantile(df: int, level: float, step: float) -> None:
    assert t_quantile(level + step, df) > t_quantile(level, df)


def evaluation(accuracies: dict[str, float], parse: float = 1.0) -> dict[str, dict[str, float]]:
    return {d: {"accuracy": a, "parse_rate": parse} for d, a in accuracies.items()}


BEFORE = {"x": 0.2, "y": 0.4, "z": 0.1}
AFTER = {  # (arm, seed) -> after accuracy; gains a − b per seed: y +0.1, +0.2, +0.3
    ("a", 0): {"x": 0.5, "y": 0.6, "z": 0.3},
    ("a", 1): {"x": 0.6, "y": 0.7, "z": 0.2},
    ("a", 2): {"x": 0.4, "y": 0.8, "z": 0.3},
    ("b", 0): {"x": 0.5, "y": 0.5, "z": 0.2},
    ("b", 1): {"x": 0.7, "y": 0.5, "z": 0.2},
    ("b", 2): {"x": 0.4, "y": 0.5, "z": 0.1},
}


def write_summaries(folder: Path) -> None:
    for (arm, seed), after in AFTER.items():
        record = {"seed": seed, "before": evaluation(BEFORE), "after": evaluation(after, 0.9)}
        (folder / f"{arm}-seed{seed}.json").write_text(json.dumps(record))


def write_run_folders(folder: Path) -> None:
    for (arm, seed), after in AFTER.items():
        run = folder / f"{arm}-seed{seed}"
        run.mkdir()
        (run / "eval_before.json").write_text(json.dumps(evaluation(BEFORE)))
        (run / "eval_after.json").write_text(json.dumps(evaluation(after, 0.9)))


def run(folder: Path, *extra: str) -> str:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(folder), "a", "b", *extra],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_summaries_and_run_folders_give_the_same_table(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "r").mkdir()
    write_summaries(tmp_path / "s")
    write_run_folders(tmp_path / "r")
    assert run(tmp_path / "s") == run(tmp_path / "r")


def test_the_named_domains_alone_make_the_summary_rows(tmp_path: Path) -> None:
    write_summaries(tmp_path)
    table = run(tmp_path, "--domains", "y,z")
    row = next(r for r in table.splitlines() if r.startswith("| mean over domains (y, z)"))
    # per seed, mean of y's and z's differences: (0.1+0.1)/2, (0.2+0)/2, (0.3+0.2)/2
    assert "+0.100, +0.100, +0.250" in row
    # mean 0.15, sd 0.0866, t(2) = 4.303: half-width 0.215; the interval spans 0
    assert row.endswith("| +0.150 [-0.065, +0.365] | spans 0 |")
    y = next(r for r in table.splitlines() if r.startswith("| y |"))
    assert y.endswith("| +0.200 [-0.048, +0.448] | spans 0 |")
    assert "| a | y | 1.000 → 0.900 |" in table


def test_an_unknown_domain_is_named(tmp_path: Path) -> None:
    write_summaries(tmp_path)
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path), "a", "b", "--domains", "y,w"],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "--domains: w not trained by both arms" in out.stderr


def write_dev_probes(folder: Path, committed: bool) -> None:
    """The probe's JSON (one row a domain), as committed and as left in a run folder."""
    for (arm, seed), after in AFTER.items():
        rows = [
            {"domain": d, "greedy": {"value": a}, "parse_rate": {"value": 0.95}}
            for d, a in after.items()
        ]
        if committed:
            path = folder / "probe-dev" / f"{arm}-seed{seed}.json"
        else:
            path = folder / f"{arm}-seed{seed}" / "probe-dev" / "probe.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows))


def test_dev_probes_compare_greedy_accuracies_seed_by_seed(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "r").mkdir()
    write_dev_probes(tmp_path / "s", committed=True)
    write_dev_probes(tmp_path / "r", committed=False)
    table = run(tmp_path / "s", "--dev")
    assert table == run(tmp_path / "r", "--dev")
    assert "| domain | seeds | dev greedy accuracy a | dev greedy accuracy b |" in table
    # The same differences as the gains' above (the base is shared): y +0.1, +0.2, +0.3.
    y = next(r for r in table.splitlines() if r.startswith("| y |"))
    assert y.endswith("| +0.200 [-0.048, +0.448] | spans 0 |")
    worst = next(r for r in table.splitlines() if r.startswith("| worst domain |"))
    # per seed min(a) − min(b): 0.3 − 0.2, 0.2 − 0.2, 0.3 − 0.1
    assert "+0.100, +0.000, +0.200" in worst
    assert "| a | y | 0.950 |" in table
    assert "→" not in table  # no before/after parse rates: the probe has one evaluation


def test_one_arm_of_two_grids_is_named_by_its_grid(tmp_path: Path) -> None:
    """One configuration run twice (another machine's kernels): the table says which is which."""
    for grid, arm in (("amx", "a"), ("capped", "b")):
        (tmp_path / grid).mkdir()
        for (name, seed), after in AFTER.items():
            if name == arm:
                record = {"seed": seed, "before": evaluation(BEFORE), "after": evaluation(after)}
                (tmp_path / grid / f"v8-seed{seed}.json").write_text(json.dumps(record))
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "amx"), "v8", "v8", "--b-runs",
         str(tmp_path / "capped")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "| v8 (amx) − v8 (capped) per seed |" in out
    y = next(r for r in out.splitlines() if r.startswith("| y |"))
    assert "+0.100, +0.200, +0.300" in y  # a − b, as the same rows of two arms of one grid give
    assert "| v8 (capped) | y | 1.000 → 1.000 |" in out
    assert paired_arms.labels("a", "b", tmp_path, tmp_path) == ("a", "b")
