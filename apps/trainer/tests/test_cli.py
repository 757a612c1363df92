"""strata-train and strata-eval for real on the packaged SmolLM2: a short run writes its run
folder; a SIGKILLed run resumes to the uninterrupted result; strata-eval reads the real files."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from strata_trainer.cli import eval_main, train_main

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"  # ../shared beside the clone
SMALL = [
    "train.steps=2",
    "train.prompts_per_step=3",
    "train.group_size=2",
    "train.max_new_tokens=12",
    "train.checkpoint_every=1",
    "data.train_size=6",
    "data.eval_size=2",
    "eval.max_new_tokens=12",
    "log.samples_every=1",
]


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts model loads instead of timing them: a check that runs "before any model loads"
    must leave this empty (a wall-clock bound was flaky on slow machines)."""
    import strata_rollout

    loads: list[str] = []

    def refuse(source: str, *args: object, **kwargs: object) -> None:
        loads.append(source)
        raise AssertionError(f"a model was loaded: {source}")

    monkeypatch.setattr(strata_rollout, "load_model", refuse)
    return loads


def test_invalid_config_fails_before_any_model_loads(
    capsys: pytest.CaptureFixture[str], no_model: list[str]
) -> None:
    assert train_main(["--set", "rollout.backend=tgi"]) == 2
    assert "rollout.backend: 'tgi' is not allowed; allowed: 'hf', 'vllm'" in capsys.readouterr().err
    assert no_model == []


def test_help_config_lists_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    import dataclasses

    from strata_trainer.config import SECTIONS

    assert train_main(["--help-config"]) == 0
    out = capsys.readouterr().out
    for section, cls in SECTIONS.items():
        assert f"[{section}]" in out
        for f in dataclasses.fields(cls):
            assert f"  {f.name} = " in out, f"{section}.{f.name}"


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_the_vllm_backend_without_vllm_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main(["--dry-run", "--set", "rollout.backend=vllm"]) == 2
    err = capsys.readouterr().err
    assert "rollout.backend = vllm: vLLM is not installed" in err
    assert "Traceback" not in err


def test_dry_run_counts_the_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main(["--dry-run", "--set", "data.train_size=7", "--set", "data.eval_size=3"]) == 0
    err = capsys.readouterr().err
    for domain in ("arithmetic", "sum", "add_digit"):
        assert f"{domain} 7 train / 3 held out" in err


def test_inputs_are_checked_before_any_model_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_model: list[str]
) -> None:
    """A --compare file that is not JSON or not results, a --config that is not UTF-8, a model or
    an adapter that is not there: one clear line at once, before any model loads (they used to be
    tracebacks, or lines after the model had loaded)."""
    notjson = tmp_path / "before.json"
    notjson.write_text("accuracy: 0.3\n")
    assert eval_main(["--domains", "arithmetic", "--limit", "2", "--compare", str(notjson)]) == 2
    assert f"--compare {notjson}: not JSON" in capsys.readouterr().err
    latin1 = tmp_path / "run.toml"
    latin1.write_bytes(b"[model]\nsource = 'caf\xe9'\n")
    assert train_main(["--config", str(latin1), "--dry-run"]) == 2
    assert "run.toml: not UTF-8" in capsys.readouterr().err
    # JSON of another shape; a model that is not there; an adapter that is not a checkpoint:
    # each once a traceback (the model's from both commands) or a line after the model loaded.
    other = tmp_path / "other.json"
    other.write_text('{"arithmetic": 0.3}')
    assert eval_main(["--domains", "arithmetic", "--limit", "2", "--compare", str(other)]) == 2
    assert f"--compare {other}: not a strata-eval results file (one object a domain" in (
        capsys.readouterr().err
    )
    nowhere = tmp_path / "no-model"
    assert eval_main(["--domains", "arithmetic", "--limit", "2", "--model", str(nowhere)]) == 2
    assert f"strata-eval: model.source: model '{nowhere}' is not a packaged model" in (
        capsys.readouterr().err
    )
    run = tmp_path / "run"
    assert train_main(["--run-dir", str(run), "--set", f"model.source={nowhere}"]) == 2
    assert "strata-train: model.source: model" in capsys.readouterr().err
    assert not run.exists()  # refused before the run folder is made
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert train_main(["--run-dir", str(a_file)]) == 2
    assert f"the run folder {a_file}: a file is there, not a folder" in capsys.readouterr().err
    assert eval_main(["--domains", "arithmetic", "--limit", "2", "--out", str(a_file / "x")]) == 2
    assert f"--out {a_file / 'x'}: cannot be made" in capsys.readouterr().err
    assert train_main(["--resume", str(tmp_path), "--config", str(latin1)]) == 2
    assert "--resume continues a run with its own config.toml" in capsys.readouterr().err
    assert eval_main(["--domains", "arithmetic", "--limit", "-3"]) == 2
    assert "strata-eval: --limit -3: must be >= 0" in capsys.readouterr().err
    assert eval_main(["--probe", "--domains", "sum", "--limit", "0"]) == 2
    assert "--probe --limit 0: give a number of dev items" in capsys.readouterr().err
    assert eval_main(["--domains", "arithmetic", "--limit", "2", "--adapter", str(tmp_path)]) == 2
    assert f"--adapter: {tmp_path} is not a checkpoint (no trainer_state.json)" in (
        capsys.readouterr().err
    )
    assert no_model == []


def test_the_probe_on_synthetic_domains_needs_no_limit(no_model: list[str]) -> None:
    """--probe sizes itself (probe.items dev items a domain): strata-eval's whole-split default
    for evaluations, which a synthetic domain cannot have, must not stop it before the model."""
    with pytest.raises(AssertionError, match="a model was loaded"):
        eval_main(["--probe", "--domains", "multiply,subtract"])
    assert no_model == ["smollm2"]


@pytest.mark.model
@pytest.mark.slow
def test_a_short_real_run_writes_its_run_folder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    extra = [
        "train.lora_target_modules=q_proj,v_proj",
        "train.extra={'clip': 3.0}",
        "model.dtype=bfloat16",
        "train.balanced=sum",
    ]
    assert (
        train_main(["--run-dir", str(run), *[a for s in SMALL + extra for a in ("--set", s)]]) == 0
    )
    for name in (
        "config.toml",
        "config.json",
        "metrics.jsonl",
        "eval_before.json",
        "eval_after.json",
        "report.md",
        "summary.json",
        "latest",
    ):
        assert (run / name).is_file(), name
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [0, 1]
    for domain in ("arithmetic", "sum", "add_digit"):
        assert f"{domain}/reward" in metrics[0] or metrics[0][f"{domain}/completions"] == 0
    skills = {k for m in metrics for k in m if k.startswith("sum/accuracy/")}
    assert skills == {"sum/accuracy/carry", "sum/accuracy/no carry"}  # balanced: one of each
    plots = sorted(p.name for p in (run / "plots").glob("*.png"))
    assert plots == [
        "accuracy.png",
        "accuracy_by_skill.png",  # the synthetic items name their skill (a sum's carry)
        "before_after.png",
        "curriculum.png",
        "curriculum_scores.png",
        "entropy.png",
        "equal_outcome_groups.png",
        "kl_clip.png",
        "modal_answer_share.png",
        "parse_truncation.png",
        "reward.png",
        "sampler.png",
        "structure.png",
        "structure_share.png",
    ]
    report = (run / "report.md").read_text()
    assert "Before / after" in report
    assert "![reward](plots/reward.png)" in report
    assert "![before/after](plots/before_after.png)" in report
    # SMALL logs samples every step: each step's first completions, with their reward parts.
    samples = [json.loads(x) for x in (run / "samples.jsonl").read_text().splitlines()]
    assert {s["step"] for s in samples} == {0, 1}
    assert {"completion", "gold", "outcome", "structure", "advantage"} <= set(samples[0])
    assert "## Samples written at step 1" in report
    assert "| forward_backward |" in report  # where the step's time went
    assert "- machine: " in report
    assert "- training precision: " in report
    assert train_main(["--run-dir", str(run)]) == 2  # refuses to overwrite a run
    # The checkpoint keeps the whole config: a tuple of target modules and estimator options.
    state = json.loads((run / "checkpoint-000002" / "trainer_state.json").read_text())
    assert state["config"]["lora_target_modules"] == ["q_proj", "v_proj"]
    assert state["config"]["extra"] == {"clip": 3.0}
    # strata-eval --adapter rebuilds that adapter (q_proj, v_proj) on the base model in the run's
    # dtype (bf16), so its answers are the run's own.
    out = tmp_path / "eval"
    assert eval_main(["--adapter", str(run), "--limit", "2", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results) == {"arithmetic", "sum", "add_digit"}
    after = json.loads((run / "eval_after.json").read_text())
    assert [r["samples"] for r in results.values()] == [r["samples"] for r in after.values()]


@pytest.mark.model
@pytest.mark.slow
def test_a_real_run_mirrors_its_metrics_to_tensorboard(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="needs strata-trainer[tensorboard]")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    overrides = [*SMALL, "eval.before=false", "eval.after=false", "log.to=tensorboard"]
    assert train_main(["--run-dir", str(run), *[a for s in overrides for a in ("--set", s)]]) == 0
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    for key in ("train/loss", "train/kl", "arithmetic/reward"):
        got = [(e.step, e.value) for e in events.Scalars(key)]
        assert got == [(m["step"], pytest.approx(m[key])) for m in metrics], key


@pytest.mark.model
@pytest.mark.slow
def test_a_sigkilled_run_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    args = [
        a
        for s in [*SMALL, "train.steps=3", "eval.before=false", "eval.after=false"]
        for a in ("--set", s)
    ]
    cmd = [sys.executable, "-m", "strata_trainer"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    # The uninterrupted run and the resume run in this process (a process start is ~10 s of
    # imports here); only the run that is killed needs one of its own. The killed run also
    # checks its greedy answers every step: it must train as the unwatched run does.
    assert train_main(["--run-dir", str(straight), *args]) == 0
    watched = ["--set", "log.greedy_every=1", "--set", "log.greedy_items=4"]
    proc = subprocess.Popen(
        [*cmd, "--run-dir", str(killed), *args, *watched],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 900
    while not (killed / "checkpoint-000001").is_dir():
        assert proc.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.5)  # into step 1
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "report.md").exists()
    assert train_main(["--resume", str(killed)]) == 0
    a = load_file(straight / "checkpoint-000003" / "adapter.safetensors")
    b = load_file(killed / "checkpoint-000003" / "adapter.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    steps = [json.loads(x)["step"] for x in (killed / "metrics.jsonl").read_text().splitlines()]
    assert steps == [0, 1, 2]
    # Samples the killed process wrote after its last checkpoint are redone, not duplicated.
    assert (killed / "samples.jsonl").read_text() == (straight / "samples.jsonl").read_text()
    checks = [json.loads(x) for x in (killed / "greedy.jsonl").read_text().splitlines()]
    assert [c["step"] for c in checks] == [0, 1, 2, 3]  # before training, then after each step
    assert {"arithmetic/greedy/accuracy", "sum/greedy/modal_answer_share"} <= set(checks[0])
    assert not (straight / "greedy.jsonl").exists()
    assert "## Greedy watch" in (killed / "report.md").read_text()


@pytest.mark.model
@pytest.mark.skipif(not DATA.is_dir(), reason=f"benchmark files not at {DATA}")
def test_strata_eval_on_the_real_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        eval_main(
            [
                "--domains",
                "gsm8k,mmlu,strategyqa",
                "--data-dir",
                str(DATA),
                "--limit",
                "2",
                "--max-new-tokens",
                "16",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results) == {"gsm8k", "mmlu", "strategyqa"}
    for r in results.values():
        assert r["n"] == 2
        assert 0 <= r["ci_low"] <= r["accuracy"] <= r["ci_high"] <= 1
    assert results["mmlu"]["per_subject"]
    assert "95 % CI" in capsys.readouterr().out


def test_strata_eval_dry_run_says_what_it_would_do_and_makes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval" / "base"
    argv = ["--domains", "sum,add_digit", "--limit", "20", "--out", str(out), "--dry-run"]
    assert eval_main(argv) == 0
    err = capsys.readouterr().err
    # Its own name on its lines (they said "strata-train:", the shared console's only prefix).
    assert "strata-eval: would evaluate smollm2 (hf) on: sum 20, add_digit 20 items" in err
    assert "strata-train:" not in err
    assert not out.exists()
    assert eval_main(["--probe", "--domains", "sum", "--dry-run"]) == 0
    assert "would probe smollm2 (hf) on: sum 64 items" in capsys.readouterr().err
    assert eval_main(["--domains", "sum", "--limit", "-1", "--dry-run"]) == 2  # checks still run
    capsys.readouterr()
    assert eval_main(["--domains", "gsm8k,sum", "--dry-run"]) == 2  # was named data.eval_size
    assert "--limit: the synthetic domain(s) sum have no whole split" in capsys.readouterr().err


def test_strata_eval_limit_overrides_a_runs_per_domain_sizes(tmp_path: Path) -> None:
    import argparse

    from strata_trainer.cli import _eval_config
    from strata_trainer.config import DataConfig, build_config
    from strata_trainer.config import to_toml as _toml

    run = tmp_path / "run"
    run.mkdir()
    sized = ["data.domains=gsm8k,mmlu,strategyqa", "data.eval_sizes={'gsm8k': 500, 'mmlu': 1000}"]
    (run / "config.toml").write_text(_toml(build_config(None, sized)), encoding="utf-8")
    options = dict.fromkeys(
        ["domains", "data_dir", "limit", "seed", "model", "max_new_tokens", "backend"]
    )

    def config(**given: object) -> DataConfig:
        args = argparse.Namespace(adapter=run, hub=False, skip_malformed=False, set=[], **options)
        vars(args).update(given)
        return _eval_config(args).data

    assert config().eval_sizes == {"gsm8k": 500, "mmlu": 1000}
    limited = config(limit=30)
    assert (limited.eval_sizes, limited.eval_size) == ({}, 30)
    assert config(domains="mmlu").eval_sizes == {"mmlu": 1000}


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ([], []),
        (["model.dtype=float32", "train.bf16=auto"], []),
        (["model.dtype=bfloat16"], ["model.dtype=bfloat16"]),
        (["train.bf16=on"], ["train.bf16=on"]),
        (["model.dtype=bfloat16", "train.bf16=on"], ["model.dtype=bfloat16", "train.bf16=on"]),
    ],
)
def test_bf16_asked_on_a_cpu_without_native_bf16_is_warned_and_named(
    overrides: list[str], named: list[str]
) -> None:
    from strata_trainer.config import build_config
    from strata_trainer.engines import slow_bf16_warning

    cfg = build_config(None, overrides)
    assert slow_bf16_warning(cfg, cpu_without_bf16=False) is None  # native bf16: nothing to say
    said = slow_bf16_warning(cfg, cpu_without_bf16=True)
    if not named:
        assert said is None  # the defaults pick fp32 there themselves
    else:
        assert said is not None
        assert all(n in said for n in named)
        assert "'auto' chooses fp32" in said


@pytest.mark.parametrize("main", [train_main, eval_main])
def test_help_prints_plain_percent_signs(main: object, capsys: pytest.CaptureFixture[str]) -> None:
    # argparse un-escapes %% in arguments' help, not in a description without %(prog)s.
    with pytest.raises(SystemExit):
        main(["--help"])  # type: ignore[operator]
    out = capsys.readouterr().out
    assert "usage:" in out
    assert "%%" not in out


def test_eval_help_names_every_domain_it_can_evaluate(capsys: pytest.CaptureFixture[str]) -> None:
    # The list was written by hand and still named the seed's domains after sum and add_digit came.
    from strata_rewards.data import FILES
    from strata_rewards.synthetic import GENERATORS

    with pytest.raises(SystemExit):
        eval_main(["--help"])
    said = " ".join(capsys.readouterr().out.split())
    listed = said.split("any of: ", 1)[1].split(" (default", 1)[0].split(", ")
    assert listed == [*FILES, *GENERATORS]


def test_resume_refuses_an_override_it_could_not_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--resume --set train.learning_rate=… used to be ignored (the checkpoint's optimizer holds
    the rate) while config.toml was rewritten with it. Now it is refused by name, before any model
    loads, and config.toml stays as the run started; a field safe to change is applied."""
    from strata_trainer.config import build_config, resume_config
    from strata_trainer.config import to_toml as _toml

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text(_toml(build_config(None, SMALL)))
    saved = (run / "config.toml").read_text()
    argv = ["--resume", str(run), "--set", "train.learning_rate=0.1", "--set", "data.seed=3"]
    assert train_main(argv) == 2
    err = capsys.readouterr().err
    assert "--resume: data.seed, train.learning_rate cannot change on resume" in err
    assert (run / "config.toml").read_text() == saved
    longer = resume_config(run / "config.toml", ["train.steps=5", "log.samples_every=2"])
    assert (longer.train.steps, longer.log.samples_every) == (5, 2)
    same = resume_config(run / "config.toml", ["train.learning_rate=0.0002"])  # its own value
    assert same == build_config(None, SMALL)


def test_a_base_evaluation_that_is_not_one_stops_the_resume_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It is read back on resume; edited by hand into something else, it was a traceback."""
    from strata_trainer.config import build_config
    from strata_trainer.config import to_toml as _toml

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text(_toml(build_config(None, SMALL)))
    (run / "eval_before.json").write_text('{"sum": {"n": ')
    assert train_main(["--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"{run / 'eval_before.json'}: not an evaluation (JSONDecodeError" in err
    assert "delete it and the run evaluates the base model again" in err


@pytest.mark.model
@pytest.mark.slow
def test_qlora_through_the_app_completes_a_short_run(tmp_path: Path) -> None:
    """train.quantization = nf4 crashed after the before-evaluation (``del`` on the frozen
    LoadedModel). One step on the packaged SmolLM2 in NF4, its adapter saved and evaluated."""
    pytest.importorskip("bitsandbytes", reason="QLoRA needs strata-trainer[qlora]")
    run = tmp_path / "run"
    tiny = [
        "train.quantization=nf4",
        "train.steps=1",
        "train.prompts_per_step=1",
        "train.group_size=2",
        "train.max_new_tokens=4",
        "data.domains=arithmetic",
        "data.train_size=2",
        "data.eval_size=1",
        "eval.max_new_tokens=4",
    ]
    assert train_main(["--run-dir", str(run), *[a for s in tiny for a in ("--set", s)]]) == 0
    assert (run / "eval_after.json").is_file()
    assert (run / "report.md").is_file()
    weights = load_file(run / "checkpoint-000001" / "adapter.safetensors")
    assert weights
    assert all(torch.isfinite(w).all() for w in weights.values())


@pytest.mark.model
@pytest.mark.slow
def test_a_forced_collapse_raises_the_alarm_in_the_log_and_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The packaged SmolLM2 at a learning rate far too high (0.05 on LoRA) stops exploring
    within a few steps: the alarm must say so while it trains and in report.md."""
    run = tmp_path / "run"
    settings = [
        "data.domains=sum",
        "train.steps=5",
        "train.prompts_per_step=2",
        "train.group_size=4",
        "train.max_new_tokens=16",
        "train.learning_rate=0.05",
        "data.train_size=10",
        "eval.before=false",
        "eval.after=false",
        "log.greedy_every=1",
        "log.greedy_items=16",
    ]
    assert train_main(["--run-dir", str(run), *[a for s in settings for a in ("--set", s)]]) == 0
    # The answer alarm, not only the entropy one: the default's short formulaic answers already
    # fall under the entropy floor at lr 5e-4 and 2e-4, but no default run has answered every prompt
    # alike (docs/grpo.md, "When training collapses").
    err = capsys.readouterr().err
    assert "(answer collapse)" in err, err[-2000:]
    report = (run / "report.md").read_text()
    section = report.split("## Collapse alarm", 1)[1].split("\n## ", 1)[0]
    assert "(answer collapse)" in section
    # Its greedy answers to held-aside questions go to one answer too.
    assert "(greedy collapse)" in err
    assert "(greedy collapse)" in section
    assert (run / "plots" / "greedy_modal_answer_share.png").is_file()
    # Resumed for one more step, the console says the collapse again at once: the alarm reads
    # the steps before the checkpoint too (it needs three; a resume once started it from none).
    assert train_main(["--resume", str(run), "--set", "train.steps=6"]) == 0
    resumed = capsys.readouterr().err
    assert "collapse alarm at step 5:" in resumed, resumed[-2000:]
    assert "(answer collapse)" in resumed.split("collapse alarm at step 5:", 1)[1]


@pytest.mark.skipif(not DATA.is_dir(), reason=f"benchmark files not at {DATA}")
def test_the_greedy_watch_says_which_domains_it_cannot_watch(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A benchmark trained on its whole training split has no question to set aside: the watch
    says so and leaves it out, instead of checking it on nothing."""
    from strata_trainer.config import build_config
    from strata_trainer.items import load_items
    from strata_trainer.job import greedy_watch_items

    sets = ["data.domains=mmlu,strategyqa", f"data.data_dir={DATA}", "log.greedy_every=5"]
    assert greedy_watch_items(build_config(None, [*sets, "data.train_size=0"])) == {}
    assert "greedy watch: mmlu, strategyqa left out" in capsys.readouterr().err
    cfg = build_config(None, [*sets, "data.train_size=100", "data.eval_size=4"])
    items = greedy_watch_items(cfg)
    assert [len(v) for v in items.values()] == [32, 32]
    for domain, trained in load_items(cfg)[0].items():
        assert not {it.id for it in trained} & {it.id for it in items[domain]}


@pytest.mark.skipif(not DATA.is_dir(), reason=f"benchmark files not at {DATA}")
def test_the_probe_names_a_benchmark_with_nothing_set_aside(
    capsys: pytest.CaptureFixture[str], no_model: list[str]
) -> None:
    """--probe on benchmarks trained on their whole split (data.train_size = 0) has no question
    left: one clear line before the model, not the probe's traceback on an empty domain."""
    sets = ["--set", f"data.data_dir={DATA}", "--set", "data.train_size=0"]
    assert eval_main(["--probe", "--domains", "mmlu,strategyqa", *sets]) == 2
    err = capsys.readouterr().err
    assert "probe: mmlu, strategyqa left out" in err
    assert "--probe: no domain has a held-aside question" in err
    assert no_model == []
