"""strata-experiment: grid files are checked before any run; the aggregate is the arithmetic of
its summaries; a real two-configuration grid runs, writes summaries and is not redone; stopping
the grid stops its run."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strata_experiment.aggregate import T_975, aggregate, aggregate_markdown, paired_differences
from strata_experiment.cli import chosen_seeds, main
from strata_experiment.grid import load_grid

from strata_rewards.stats import wilson
from strata_trainer.config import ConfigError, build_config
from strata_trainer.evaluate import evaluation_key


def _result(correct: int, n: int) -> dict[str, Any]:
    low, high = wilson(correct, n)
    return {
        "n": n,
        "correct": correct,
        "accuracy": correct / n,
        "ci_low": low,
        "ci_high": high,
        "parse_rate": 1.0,
        "parsed_accuracy": correct / n,
        "baseline": 0.5,
    }


def _summary(config: str, seed: int, before: dict[str, int], after: dict[str, int]) -> dict:
    return {
        "config": config,
        "seed": seed,
        "machine": "test",
        "wall_s": 60.0,
        "peak_rss_gb": 1.0,
        "before": {d: _result(k, 200) for d, k in before.items()},
        "after": {d: _result(k, 200) for d, k in after.items()},
    }


counts = st.integers(0, 200)


@given(before=counts, afters=st.lists(counts, min_size=1, max_size=5))
def test_aggregate_is_the_mean_and_spread_of_the_seeds(before: int, afters: list[int]) -> None:
    runs = [_summary("san", i, {"x": before}, {"x": a}) for i, a in enumerate(afters)]
    (row,) = aggregate(runs)
    gains = [(a - before) / 200 for a in afters]
    assert row.seeds == len(afters)
    assert row.gain_mean == pytest.approx(statistics.fmean(gains))
    assert row.gain_sd == pytest.approx(statistics.stdev(gains) if len(gains) > 1 else 0.0)
    if len(gains) > 1:  # the seed is the unit: a t-interval over seeds
        assert row.gain_ci is not None
        half = T_975[len(gains) - 1] * statistics.stdev(gains) / len(gains) ** 0.5
        assert row.gain_ci == pytest.approx((row.gain_mean - half, row.gain_mean + half))
    else:
        assert row.gain_ci is None
    assert row.above == sum(wilson(a, 200)[0] > wilson(before, 200)[1] for a in afters)
    assert row.below == sum(wilson(a, 200)[1] < wilson(before, 200)[0] for a in afters)
    # The order seeds finish in changes nothing.
    assert aggregate(runs[::-1])[0].gain_mean == pytest.approx(row.gain_mean)


def test_markdown_names_the_worst_domain_per_configuration() -> None:
    runs = [
        _summary("san", 0, {"a": 80, "b": 80}, {"a": 120, "b": 70}),
        _summary("batch", 0, {"a": 80, "b": 80}, {"a": 140, "b": 40}),
    ]
    text = aggregate_markdown("g", runs)
    assert "| san | -0.050 (1 seed) |" in text  # one seed: no spread to show
    assert "| batch | -0.200 (1 seed) |" in text
    assert "| batch | a | 1 | 0.400" in text
    seeded = aggregate_markdown(
        "g", [*runs, _summary("san", 1, {"a": 80, "b": 80}, {"a": 120, "b": 100})]
    )
    assert "| san | +0.025 ± 0.106 |" in seeded  # worst gains -0.05 and +0.10


@given(
    reference=st.lists(counts, min_size=1, max_size=4),
    shifts=st.lists(st.integers(-50, 50), min_size=1, max_size=4),
)
def test_paired_differences_are_seed_by_seed(reference: list[int], shifts: list[int]) -> None:
    # Seeds 0..k-1 for the reference; the other configuration runs seeds 1..len(shifts) with its
    # accuracy shifted from the reference's on the same seed, where the reference has that seed.
    ref = [_summary("san", i, {"x": 100}, {"x": a}) for i, a in enumerate(reference)]
    other = [
        _summary("batch", i + 1, {"x": 100}, {"x": min(200, max(0, a + shift))})
        for i, (a, shift) in enumerate(zip([*reference[1:], *[100] * 4], shifts, strict=False))
    ]
    pairs = paired_differences([*ref, *other])
    shared = [i + 1 for i in range(len(other)) if i + 1 < len(reference)]
    if not shared:
        assert pairs == []
        return
    (p,) = pairs
    diffs = [
        other[i - 1]["after"]["x"]["accuracy"] - ref[i]["after"]["x"]["accuracy"] for i in shared
    ]
    assert (p.config, p.reference, p.seeds) == ("batch", "san", tuple(shared))
    assert p.mean == pytest.approx(statistics.fmean(diffs))
    assert p.sd == pytest.approx(statistics.stdev(diffs) if len(diffs) > 1 else 0.0)
    assert (p.lower, p.higher) == (sum(d < 0 for d in diffs), sum(d > 0 for d in diffs))
    # The same runs under the other name as reference: every difference changes sign.
    (q,) = paired_differences([*other, *ref])
    assert q.mean == pytest.approx(-p.mean)
    assert (q.lower, q.higher) == (p.higher, p.lower)


def test_markdown_shows_each_seed_and_the_paired_differences() -> None:
    runs = [
        _summary("san", 0, {"a": 80, "b": 80}, {"a": 120, "b": 70}),
        _summary("batch", 0, {"a": 80, "b": 80}, {"a": 140, "b": 40}),
        _summary("san", 1, {"a": 80, "b": 80}, {"a": 100, "b": 80}),
    ]
    text = aggregate_markdown("g", runs)
    assert "After-training accuracy per seed (a / b):" in text
    assert "| san | 0.600 / 0.350 | 0.500 / 0.400 |" in text
    assert "| batch | 0.700 / 0.200 | — |" in text  # batch has no seed 1
    assert "| batch | a | 1 | +0.100 (1 seed) | 0 / 1 |" in text
    assert "| batch | b | 1 | -0.150 (1 seed) | 1 / 0 |" in text
    assert "Paired against" not in aggregate_markdown("g", runs[:1])  # nothing to pair


def test_markdown_shows_the_most_common_answer_where_runs_counted_them() -> None:
    old = _summary("san", 0, {"a": 80}, {"a": 100})
    assert "Most common answer" not in aggregate_markdown("g", [old])  # nothing counted
    new = _summary("batch", 0, {"a": 80}, {"a": 100})
    new["after"]["a"]["answers"] = {"yes": 150, "no": 50}
    text = aggregate_markdown("g", [old, new])
    assert "| batch | yes (0.750) |" in text
    assert "| san | — |" in text


def _grid(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "grid.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('name = "g"\n', "no [configs.<name>] tables"),
        ('name = "g"\nseed = [1]\n[configs.a]\n', "unknown key(s) ['seed']"),
        ('name = "g"\nseeds = []\n[configs.a]\n', "'seeds' must be a non-empty list"),
        ('name = "g"\n[configs.a]\nset = ["train.estimatr=san"]\n', "[configs.a]"),
        ('name = "g"\n[configs.a]\nset = ["train.steps"]\n', "configs.a.set must be a list"),
        ('name = "a/b"\n[configs.a]\n', "'name' must be"),
        ('name = "g"\nenv = {X = 1}\n[configs.a]\n', "env must be a table of NAME"),
        ('name = "g"\nenv = {"1X" = "a"}\n[configs.a]\n', "env must be a table of NAME"),
        ('name = "g"\nenv = "X=1"\n[configs.a]\n', "env must be a table of NAME"),
    ],
)
def test_a_bad_grid_file_is_one_line_naming_the_file(
    tmp_path: Path, body: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _grid(tmp_path, body)
    with pytest.raises(ConfigError, match=r"grid\.toml") as err:
        load_grid(path)
    assert message in str(err.value)
    assert main([str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_grid_path_that_is_no_toml_text_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder given for the grid file was a traceback; invalid TOML was called "not UTF-8"."""
    broken = _grid(tmp_path, "garbage = [\n")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b"name = 'caf\xe9'\n")
    for path, message in (
        (tmp_path, "is a folder, not a grid file"),
        (broken, "not valid TOML"),
        (latin1, "not UTF-8 text"),
    ):
        assert main([str(path)]) == 2
        err = capsys.readouterr().err
        assert f"strata-experiment: {path}: {message}" in err
        assert err.count("\n") == 1


def test_a_runs_folder_that_cannot_be_made_is_one_line_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    path = _grid(tmp_path, 'name = "g"\n[configs.a]\n')
    assert main([str(path), "--runs", str(a_file)]) == 2
    err = capsys.readouterr().err
    assert f"strata-experiment: --runs {a_file}: a file is there, not a folder" in err
    assert err.count("\n") == 1


def test_the_grids_env_is_set_for_its_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Set in the grid's process, which its runs inherit and whose records (the machine's
    description) read it."""
    monkeypatch.delenv("STRATA_GRID_TEST", raising=False)
    path = _grid(tmp_path, 'name = "g"\nenv = {STRATA_GRID_TEST = "on"}\n[configs.a]\n')
    assert load_grid(path).env == {"STRATA_GRID_TEST": "on"}
    assert main([str(path), "--dry-run", "--runs", str(tmp_path / "runs")]) == 0
    assert os.environ["STRATA_GRID_TEST"] == "on"
    assert "STRATA_GRID_TEST=on for every run of the grid" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (None, "doc: no such file"),
        ("# Results\n", "has no <!-- grid:g:begin --> … <!-- grid:g:end --> block"),
        ("<!-- grid:g:begin -->\n", "block"),
    ],
)
def test_a_doc_without_the_grids_block_fails_before_the_first_run(
    tmp_path: Path, doc: str | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The table goes into ``doc`` after the last run: a missing block is found at load time,
    not as a traceback once every run has finished."""
    if doc is not None:
        (tmp_path / "results.md").write_text(doc, encoding="utf-8")
    path = _grid(tmp_path, 'name = "g"\ndoc = "results.md"\n[configs.a]\n')
    with pytest.raises(ConfigError, match=r"grid\.toml: doc: ") as err:
        load_grid(path)
    assert message in str(err.value)
    assert main([str(path), "--dry-run"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize(
    ("change", "shared"),
    [
        ("train.estimator=batch", True),
        ("train.seed=7", True),
        ("reward.structure=0", True),
        ("curriculum.scheduler=uniform", True),
        ("eval.max_new_tokens=32", False),
        ("prompt.exemplars=choice", False),
        ("data.eval_size=100", False),
        ("rollout.stop_at_answer=false", False),
        ("model.dtype=bfloat16", False),
    ],
)
def test_the_base_evaluation_is_shared_only_where_it_cannot_differ(
    change: str, shared: bool
) -> None:
    changed, default = build_config(None, [change]), build_config()
    assert (evaluation_key(changed) == evaluation_key(default)) is shared


SMALL = [
    "data.domains=compare",
    "train.steps=2",
    "train.prompts_per_step=2",
    "train.group_size=2",
    "train.max_new_tokens=8",
    "data.train_size=4",
    "data.eval_size=2",
    "eval.max_new_tokens=8",
    "log.samples_every=0",
]


@pytest.mark.model
@pytest.mark.slow
def test_a_grid_runs_each_run_once_and_aggregates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = ", ".join(json.dumps(s) for s in SMALL)
    path = _grid(
        tmp_path,
        f'name = "tiny"\nruns = "{tmp_path / "runs"}"\nsummaries = "results"\nseeds = [3]\n'
        f"set = [{shared}]\n"
        '[configs.san]\nset = ["train.estimator=san"]\n'
        '[configs.batch]\nset = ["train.estimator=batch"]\n',
    )
    assert main([str(path)]) == 0
    out = tmp_path / "results" / "tiny"
    summaries = {p.name: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert set(summaries) == {"san-seed3.json", "batch-seed3.json"}
    # batch ran second and was handed san's evaluation of the base model instead of redoing it
    assert "base model's evaluation reused" in capsys.readouterr().out
    assert summaries["batch-seed3.json"]["before"] == summaries["san-seed3.json"]["before"]
    san = summaries["san-seed3.json"]
    assert (san["steps"], san["processes"]) == (2, 1)
    assert "train.seed=3" in san["set"]
    resolved = san["resolved"]  # what ran, the fields the grid left to the default included
    assert (resolved["train"]["estimator"], resolved["train"]["seed"]) == ("san", 3)
    assert (
        resolved["train"]["learning_rate"]
        == summaries["batch-seed3.json"]["resolved"]["train"]["learning_rate"]
    )
    assert set(san["after"]) == {"compare"}
    assert san["after"]["compare"]["n"] == 2
    assert sum(san["after"]["compare"]["answers"].values()) == 2  # both items' answers counted
    assert len(san["curves"]["compare/accuracy"]) == 2
    assert "| san | compare | 1 |" in (out / "table.md").read_text()
    assert (out / "curves.png").stat().st_size > 0
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*.json")}
    capsys.readouterr()
    assert main([str(path)]) == 0  # nothing left to run
    assert "2 run(s) done, 0 to run\n" in capsys.readouterr().out
    assert main([str(path), "--only", "san", "--dry-run"]) == 0
    assert "2 run(s) done, 0 to run\n" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.json")} == stamps
    assert not list(out.glob(".*")), "a summary is written whole: no temporary file is left"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"config": "a", "seed"', "not valid JSON"),  # cut short by a crash
        ('{"config": "a", "seed": 0}', "no before, after, curves"),
        ("[]", "a JSON list, not an object"),
    ],
)
def test_a_summary_that_is_not_one_is_named_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, why: str
) -> None:
    """It counted its run as done, then the aggregate failed with a traceback (KeyError,
    JSONDecodeError) after every other run had been run."""
    path = _grid(tmp_path, 'name = "g"\nsummaries = "results"\n[configs.a]\n')
    broken = tmp_path / "results" / "g" / "a-seed0.json"
    broken.parent.mkdir(parents=True)
    broken.write_text(text, encoding="utf-8")
    for flags in ([], ["--aggregate-only"], ["--dry-run"]):
        assert main([str(path), "--runs", str(tmp_path / "runs"), *flags]) == 2
        err = capsys.readouterr().err
        assert f"{broken}: not a run summary: {why}" in err
        assert "delete it and the grid runs that run again" in err
    assert not (tmp_path / "runs").exists()  # refused before anything ran


@pytest.mark.parametrize(
    "grid", sorted((Path(__file__).resolve().parents[3] / "experiments").glob("*.toml")), ids=str
)
def test_every_committed_grid_file_is_valid(grid: Path) -> None:
    loaded = load_grid(grid)  # builds every configuration: a typo fails here, not hours in
    assert loaded.configs
    assert loaded.seeds
    assert loaded.summaries.parent.resolve() == grid.parents[1] / "docs" / "results"


def test_only_says_what_it_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _grid(tmp_path, 'name = "g"\nseeds = [0, 1]\n[configs.a]\n[configs.b]\n')
    assert main([str(path), "--only", "a", "--dry-run"]) == 0
    assert "0 run(s) done, 2 to run, 2 left out by --only / --seeds" in capsys.readouterr().out


def test_seeds_runs_those_of_the_grids_seeds_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One seed first (to time it on a new machine), the rest later: the same grid, no rerun."""
    path = _grid(tmp_path, 'name = "g"\nseeds = [0, 1, 2]\n[configs.a]\n[configs.b]\n')
    assert main([str(path), "--seeds", "0", "--only", "a", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "0 run(s) done, 1 to run, 5 left out by --only / --seeds" in out
    assert "a seed 0: train.seed=0" in out
    assert main([str(path), "--seeds", "2,0", "--dry-run"]) == 0
    assert "4 to run, 2 left out" in capsys.readouterr().out
    for bad, message in (("3", "[3] not among"), ("0,x", "'0,x' is not comma-separated")):
        assert main([str(path), "--seeds", bad]) == 2
        err = capsys.readouterr().err
        assert message in err
        assert err.count("\n") == 1


SEEDS_TYPED = st.one_of(
    st.text(max_size=30),  # adversarial strings
    st.lists(st.integers(-3, 30), min_size=1, max_size=4).map(lambda xs: ",".join(map(str, xs))),
)


@given(SEEDS_TYPED, st.lists(st.integers(-3, 30), min_size=1, max_size=6, unique=True))
def test_seeds_is_a_subset_of_the_grids_or_one_named_error(text: str, seeds: list[int]) -> None:
    """Whatever is typed after --seeds: those of the grid's seeds, or a ConfigError naming the
    flag (one line for the user), never another exception."""
    chosen: set[int] | None = None
    error = ""
    try:
        chosen = chosen_seeds(text, seeds, Path("g.toml"))
    except ConfigError as err:
        error = str(err)
    if chosen is None:
        assert error.startswith("--seeds: ")
    else:
        assert chosen
        assert chosen <= set(seeds)
        assert chosen == {int(s) for s in text.split(",")}


@pytest.mark.parametrize("inside", ["", "old table\n", "_No run._"])
def test_a_docs_block_is_found_empty_or_not(inside: str) -> None:
    from strata_experiment.aggregate import doc_block

    text = f"intro\n<!-- grid:g:begin -->\n{inside}<!-- grid:g:end -->\nafter\n"
    if inside and not inside.endswith("\n"):
        text = text.replace("<!-- grid:g:end", "\n<!-- grid:g:end")
    head, block, tail = doc_block(text, "g")
    assert block == inside.rstrip("\n")
    assert head + "new" + tail == "intro\n<!-- grid:g:begin -->\nnew\n<!-- grid:g:end -->\nafter\n"


def test_stopping_the_grid_stops_the_run_it_started(tmp_path: Path) -> None:
    """A ``kill`` of strata-experiment ends its training run too: left running, the run went on
    alone and a restarted grid put a second trainer on the same run folder. The stopped run's
    time is logged to the stop, not to its last heartbeat (here, the one at its start)."""
    pid_file, run_dir = tmp_path / "run.pid", tmp_path / "run"
    run = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)"
    grid_process = (
        "import pathlib, sys\n"
        "from strata_experiment import grid as experiment\n"
        "experiment.HEARTBEAT_S = 1000.0\n"
        "ledger = experiment.InvocationLog(pathlib.Path(sys.argv[2]))\n"
        "with experiment.exit_on_sigterm():\n"
        "    try:\n"
        f"        experiment.run_child([sys.executable, '-c', {run!r}, sys.argv[1]], ledger.beat)\n"
        "    except BaseException:\n"
        "        ledger.recover('stopped')\n"
        "        raise\n"
    )
    started = time.monotonic()
    grid = subprocess.Popen([sys.executable, "-c", grid_process, str(pid_file), str(run_dir)])
    deadline = time.monotonic() + 120
    while not (pid_file.is_file() and pid_file.read_text()):
        assert grid.poll() is None, "the grid process ended before its run started"
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.1)
    run_pid = int(pid_file.read_text())
    try:
        time.sleep(1.0)
        grid.send_signal(signal.SIGTERM)
        assert grid.wait(timeout=90) == 128 + signal.SIGTERM
        with pytest.raises(ProcessLookupError):
            os.kill(run_pid, 0)  # gone, and reaped by the grid process
        (line,) = [json.loads(x) for x in (run_dir / "invocations.jsonl").read_text().splitlines()]
        assert line["exit"] == "stopped"
        assert 1.0 <= line["wall_s"] <= time.monotonic() - started
        assert line["peak_rss_gb"] > 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(run_pid, signal.SIGKILL)


def test_a_run_killed_outright_still_has_its_time_logged(tmp_path: Path) -> None:
    """The machine ending a session killed the grid and its run with no chance to log: batch
    seed 1 of B fp32 lost ≈ 42 minutes of its wall time that way. The heartbeat keeps it."""
    from strata_experiment.grid import InvocationLog

    run, ready = tmp_path / "run", tmp_path / "ready"
    grid_process = (
        "import sys, pathlib\n"
        "from strata_experiment import grid as experiment\n"
        "experiment.HEARTBEAT_S = 0.2\n"
        "log = experiment.InvocationLog(pathlib.Path(sys.argv[1]))\n"
        "def beat(wall, rss):\n"
        "    log.beat(wall, rss)\n"
        "    if wall > 1.0:\n"
        "        pathlib.Path(sys.argv[2]).touch()\n"
        "experiment.run_child([sys.executable, '-c', 'import time; time.sleep(120)'], beat)\n"
    )
    grid = subprocess.Popen(
        [sys.executable, "-c", grid_process, str(run), str(ready)], start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while not ready.is_file():
            assert grid.poll() is None, "the grid process ended early"
            assert time.monotonic() < deadline, "no heartbeat past one second"
            time.sleep(0.1)
    finally:
        os.killpg(grid.pid, signal.SIGKILL)  # the grid and its run, with no chance to log
        grid.wait()
    assert not (run / "invocations.jsonl").exists()

    log = InvocationLog(run)
    log.recover()
    log.close(10.0, 1.5, 0)
    lines = [json.loads(x) for x in (run / "invocations.jsonl").read_text().splitlines()]
    assert lines[0]["exit"] == "killed"
    assert lines[0]["wall_s"] > 1.0
    assert lines[0]["peak_rss_gb"] > 0  # the sleeping child's VmHWM, read from /proc
    assert lines[1] == {"wall_s": 10.0, "peak_rss_gb": 1.5, "exit": 0}
    assert not (run / "invocation.json").exists()


def test_a_step_written_twice_counts_once_with_its_last_row() -> None:
    from strata_experiment.aggregate import latest_per_step

    rows = [{"step": 0, "v": 1}, {"step": 1, "v": 2}, {"step": 0, "v": 3}, {"step": 1, "v": 4}]
    rows += [{"step": 2, "v": 5}]
    assert [r["v"] for r in latest_per_step(rows)] == [3, 4, 5]
