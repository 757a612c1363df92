"""The whole strata-train job, top-down: data → model → before-eval → (probe) → GRPO → after-eval
→ report, each stage a function; resumable from the run folder (its files: :data:`RUN_FOLDER`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strata_grpo.checkpoint import atomic_write_text
from strata_grpo.trackers import open_trackers
from strata_rewards.data import DataError, Item
from strata_rewards.evaluation import (
    NO_ANSWER,
    DomainResult,
    from_json,
    modal_answer,
    results_markdown,
    to_json,
)
from strata_trainer.config import RunConfig
from strata_trainer.console import say
from strata_trainer.engines import hf_engine, load_base_model, quantised, stop_strings, vllm_engine
from strata_trainer.evaluate import evaluate
from strata_trainer.items import load_items, load_probe_items, say_counts, with_questions
from strata_trainer.memory import peak_rss_gb
from strata_trainer.report import read_metrics

if TYPE_CHECKING:
    from transformers import PreTrainedModel

    from strata_grpo import Example, GRPOTrainer, RolloutBatch
    from strata_rewards.probe import DomainProbe
    from strata_rollout import LoadedModel, RolloutEngine


RUN_FOLDER = """\
    config.toml / config.json   the resolved configuration
    eval_before.json / .md      held-out evaluation of the base model
    probe.json / .md            the learnability probe (probe.first)
    metrics.jsonl               one line of metrics per step (signal health included)
    samples.jsonl               sampled completions with their reward parts, every few steps
    checkpoint-NNNNNN/, latest  resumable checkpoints (strata-train --resume RUN_DIR)
    eval_after.json / .md       the trained policy on the same held-out items
    report.md, plots/*.png      curves and the before/after table
"""
"""What a run folder holds (strata-train --help shows it)."""


def run_training(cfg: RunConfig, run: Path) -> Path:
    """The whole job, top-down: data → model → before-eval → GRPO → after-eval → report.
    Resumable: a run folder with checkpoints continues where it stopped."""
    started = time.perf_counter()
    train_items, held = load_items(cfg)
    say_counts(train_items, held)
    loaded = load_base_model(cfg)
    where = where_it_trains(cfg, loaded.model)
    say(f"model: {cfg.model.source} ({loaded.model.dtype}, {loaded.model.device})")
    say(f"training in {where['training precision']} on {where['machine']}")
    vllm = vllm_engine(cfg, loaded.path) if cfg.rollout.backend == "vllm" else None
    before = evaluate_before(cfg, run, loaded, held, vllm)
    if cfg.probe.first and not (run / "probe.json").is_file():
        probe_first(cfg, run, vllm or hf_engine(loaded.model, loaded.tokenizer, cfg))
    if cfg.train.quantization == "nf4":
        loaded = quantised(loaded)  # the full-precision copy goes once nothing holds it
    trainer = make_trainer(cfg, loaded, train_items, vllm)
    train_steps(cfg, run, trainer)
    after = evaluate_after(cfg, run, trainer, held)
    return finish(cfg, run, before, after, time.perf_counter() - started, where)


def probe_first(cfg: RunConfig, run: Path, engine: RolloutEngine) -> None:
    """The learnability probe before training (probe.first): its table, and a warning for each
    domain it does not find learnable; the run trains either way."""
    items = with_questions(load_probe_items(cfg, cfg.probe.items), "probe")
    if not items:
        return
    probes = probe_domains(cfg, engine, items)
    print(save_probe(run, probes), file=sys.stderr)
    for p in probes:
        if p.verdict != "learnable":
            say(f"warning: {p.domain} is '{p.verdict}' by the probe ({p.reason})")


def evaluate_before(
    cfg: RunConfig,
    run: Path,
    loaded: LoadedModel,
    held: dict[str, list[Item]],
    vllm: RolloutEngine | None = None,
) -> dict[str, DomainResult] | None:
    """The base model on the held-out items (read back when the run resumes), through vLLM when
    the run rolls out with it."""
    if not cfg.eval.before:
        return None
    saved = run / "eval_before.json"
    if saved.is_file():
        try:
            return from_json(json.loads(saved.read_text(encoding="utf-8")))
        except (ValueError, TypeError, AttributeError, KeyError) as err:  # edited by hand?
            raise DataError(
                f"{saved}: not an evaluation ({type(err).__name__}: {err}); delete it and the "
                "run evaluates the base model again"
            ) from None
    engine = vllm or hf_engine(loaded.model, loaded.tokenizer, cfg)
    before = evaluate_held_out(engine, held, cfg, "before")
    save_eval(run, "eval_before", before, "Before training")
    return before


def training_examples(
    cfg: RunConfig, train_items: dict[str, list[Item]]
) -> dict[str, list[Example]]:
    """Each domain's items as the trainer's examples: the prompt as the model sees it, and the
    stratum a balanced domain is walked by (``data.balance_by``: the item's skill, or its gold
    answer)."""
    from strata_grpo import Example

    prompting = cfg.prompting()
    by_answer = {d for d, by in cfg.data.balance_by.items() if by == "answer"}
    return {
        d: [
            Example(
                prompting.messages(d, it.question),
                it.gold,
                it.id,
                stratum=str(it.gold) if d in by_answer else it.subject,
            )
            for it in items
        ]
        for d, items in train_items.items()
    }


def make_trainer(
    cfg: RunConfig,
    loaded: LoadedModel,
    train_items: dict[str, list[Item]],
    vllm: RolloutEngine | None = None,
) -> GRPOTrainer:
    """The LoRA (or QLoRA) policy, its rollout engine (``vllm``, else an HFEngine sharing the
    policy), prompts and rewards, the curriculum."""
    from strata_grpo import GRPOTrainer, make_policy

    policy = make_policy(loaded.model, cfg.train)
    engine = vllm or hf_engine(policy, loaded.tokenizer, cfg)
    prompting = cfg.prompting()
    tasks = training_examples(cfg, train_items)
    trainer = GRPOTrainer(
        policy,
        loaded.tokenizer,
        tasks,
        dataclasses.replace(
            cfg.train,
            stop=stop_strings(cfg),
            balanced=tuple(d for d in cfg.train.balanced if d in tasks),  # trained ones only
        ),
        engine=engine,
        reward_fn=prompting.score,
        scheduler=cfg.curriculum.make(list(tasks), seed=cfg.train.seed),
    )
    if not trainer.shares_policy:
        trainer.push_weights()
    return trainer


def train_steps(cfg: RunConfig, run: Path, trainer: GRPOTrainer) -> None:
    """GRPO steps until train.steps, with progress, samples and trackers."""
    from tqdm import tqdm

    from strata_grpo import StepMetrics, read_trainer_state, truncate_jsonl
    from strata_grpo.collapse import collapse_alarms, greedy_alarms

    latest = trainer.latest_checkpoint(run)
    initial = 0
    if latest is not None:
        initial = read_trainer_state(latest)["step"]
        say(f"resuming from {latest.name} (step {initial})")
    truncate_jsonl(run / "samples.jsonl", initial)  # samples written after it are redone
    truncate_jsonl(run / "greedy.jsonl", initial)
    trackers = open_trackers(cfg.log.to, run, cfg.log.project, cfg.to_dict())
    every_greedy = cfg.log.greedy_every
    held_aside = greedy_watch_items(cfg) if every_greedy else {}
    checks = read_metrics(run / "greedy.jsonl")  # a resumed run's, up to its checkpoint

    def watch(updates: int) -> None:
        """The greedy check of the policy ``updates`` updates in, where one is due."""
        if every_greedy and updates % every_greedy == 0:
            checks.append(greedy_check(cfg, run, trainer.engine, held_aside, updates))
            trackers.log(checks[-1], updates)

    watch(initial)
    bar = tqdm(total=cfg.train.steps, initial=initial, desc="train", unit="step", file=sys.stderr)

    # A resumed run's steps up to its checkpoint, so an alarm that needs several steps sees them;
    # one already going is said again on the first resumed step (a new console).
    seen = [r for r in read_metrics(run / "metrics.jsonl") if r["step"] < initial]
    raised: set[tuple[str, str]] = set()
    domains = list(cfg.data.domains)

    def on_step(metrics: StepMetrics) -> None:
        m = metrics.row()
        seen.append(m)
        watch(metrics.step + 1)  # the policy that samples the next step
        found = collapse_alarms(seen, domains) + greedy_alarms(checks, domains)
        alarms = {(a.domain, a.kind): a for a in found}
        for key, alarm in alarms.items():
            if key not in raised:  # once, when it starts (its figures change every step)
                tqdm.write(
                    f"strata-train: collapse alarm at step {metrics.step}: {alarm.message}",
                    sys.stderr,
                )
        raised.clear()
        raised.update(alarms)
        every = cfg.log.samples_every
        if every and metrics.step % every == 0 and trainer.last_batch is not None:
            write_samples(run / "samples.jsonl", metrics.step, trainer.last_batch)
        bar.update(1)
        bar.set_postfix(
            {
                d[:8]: f"{metrics.domains[d].reward if d in metrics.domains else math.nan:.2f}"
                for d in cfg.data.domains
            }
        )
        trackers.log(m, metrics.step)

    try:
        trainer.train(run, on_step=on_step)
    finally:
        bar.close()
        trackers.close()


def greedy_watch_items(cfg: RunConfig) -> dict[str, list[Item]]:
    """log.greedy_items held-aside questions a domain for the greedy watch, said on the console
    (a benchmark with none left to set aside is named and not watched)."""
    say(
        f"greedy watch: {cfg.log.greedy_items} held-aside questions a domain, answered greedily "
        f"every {cfg.log.greedy_every} steps (greedy.jsonl)"
    )
    return with_questions(load_probe_items(cfg, cfg.log.greedy_items), "greedy watch")


def greedy_check(
    cfg: RunConfig, run: Path, engine: RolloutEngine, items: dict[str, list[Item]], step: int
) -> dict[str, Any]:
    """The greedy answers of the policy that samples step ``step`` (``step`` updates in) to the
    held-aside ``items``, appended to ``run``/greedy.jsonl as one row: per domain its accuracy,
    parse rate and most common answer with its share of the questions. A greedy call leaves a
    seeded engine's sampling stream where it was, so the run trains as it would without it."""
    import torch

    from strata_grpo.checkpoint import append_metrics

    with torch.no_grad():
        results = evaluate_held_out(engine, items, cfg, None)
    row: dict[str, Any] = {"step": step}
    for domain, r in results.items():
        answer, count = modal_answer(r.answers) or (NO_ANSWER, 0)
        row |= {
            f"{domain}/greedy/accuracy": r.accuracy,
            f"{domain}/greedy/parse_rate": r.parse_rate,
            f"{domain}/greedy/modal_answer": answer,
            f"{domain}/greedy/modal_answer_share": count / r.n if r.n else 0.0,
        }
    append_metrics(run / "greedy.jsonl", row)
    return row


def evaluate_after(
    cfg: RunConfig, run: Path, trainer: GRPOTrainer, held: dict[str, list[Item]]
) -> dict[str, DomainResult] | None:
    """The trained policy on the same held-out items, through the engine that sampled for
    training (it holds the policy's latest weights: shared, or pushed after every step)."""
    import torch

    if not cfg.eval.after:
        return None
    engine = trainer.engine
    with torch.no_grad():
        after = evaluate_held_out(engine, held, cfg, "after")
    save_eval(run, "eval_after", after, "After training")
    return after


def where_it_trains(cfg: RunConfig, model: PreTrainedModel) -> dict[str, str]:
    """The machine and the training pass's precision, as report.md names them: one config trains
    under bf16 autocast on a CPU with bf16 units and in fp32 on one without (train.bf16 = auto),
    and the two learn differently (docs/results.md)."""
    import torch

    from strata_grpo import autocast_dtype, describe_cpu

    device = model.device
    machine = describe_cpu() if device.type == "cpu" else torch.cuda.get_device_name(device)
    weights = f"{str(model.dtype).removeprefix('torch.')} weights"
    autocast = autocast_dtype(cfg.train.bf16, device)
    precision = f"bf16 autocast over {weights}" if autocast is not None else weights
    return {"machine": machine, "training precision": precision}


def finish(
    cfg: RunConfig,
    run: Path,
    before: Mapping[str, DomainResult] | None,
    after: Mapping[str, DomainResult] | None,
    wall: float,
    where: Mapping[str, str],
) -> Path:
    """summary.json and report.md."""
    from strata_trainer.report import write_report

    facts = {
        "model": cfg.model.source,
        **where,
        "domains": ", ".join(cfg.data.domains),
        "steps": cfg.train.steps,
        "wall time of this invocation": f"{wall / 60:.1f} min",
        "peak RSS": f"{peak_rss_gb():.2f} GB",
        "rollout": cfg.rollout.backend,
        "estimator": cfg.train.estimator,
    }
    (run / "summary.json").write_text(json.dumps(facts, indent=1), encoding="utf-8")
    return write_report(run, list(cfg.data.domains), before, after, facts)


def evaluate_held_out(
    engine: RolloutEngine, held: dict[str, list[Item]], cfg: RunConfig, label: str | None
) -> dict[str, DomainResult]:
    """Greedy answers to the held-out items, scored as training scores them, with progress
    (none with no ``label``: a greedy check while the training bar runs)."""
    from tqdm import tqdm

    from strata_grpo import release_freed_memory

    total = sum(len(v) for v in held.values())
    bar_off = label is None
    with tqdm(total=total, desc=f"eval {label}", unit="q", file=sys.stderr, disable=bar_off) as bar:
        results = evaluate(
            engine,
            held,
            cfg.prompting(),
            max_new_tokens=cfg.eval.max_new_tokens,
            stop=stop_strings(cfg),
            progress=bar.update,
        )
    release_freed_memory()  # the generation's caches, before training starts
    return results


def save_eval(run: Path, name: str, results: Mapping[str, DomainResult], title: str) -> None:
    """``name``.json (read back on resume and by --compare; whole or absent, so a crash while
    writing it cannot stop the resume) and ``name``.md in ``run``."""
    atomic_write_text(run / f"{name}.json", json.dumps(to_json(results), indent=1))
    (run / f"{name}.md").write_text(results_markdown(results, title), encoding="utf-8")


def write_samples(path: Path, step: int, batch: RolloutBatch, per_domain: int = 2) -> None:
    """The first completions of each domain in ``batch``, with their reward parts."""
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


def probe_domains(
    cfg: RunConfig, engine: RolloutEngine, items: dict[str, list[Item]]
) -> list[DomainProbe]:
    """The learnability probe at the training group size, temperature and budget."""
    from tqdm import tqdm

    from strata_rewards.probe import Thresholds
    from strata_trainer.probe import run_probe

    t = cfg.train
    with tqdm(total=len(items), desc="probe", unit="domain", file=sys.stderr) as bar:
        return run_probe(
            engine,
            items,
            cfg.prompting(),
            k=t.group_size,
            temperature=t.temperature_start,
            max_new_tokens=t.max_new_tokens,
            stop=stop_strings(cfg),
            thresholds=Thresholds(margin=cfg.probe.margin, min_mixed=cfg.probe.min_mixed),
            progress=lambda _domain, _result: bar.update(1),
        )


def save_probe(folder: Path, probes: Sequence[DomainProbe]) -> str:
    """probe.json and probe.md in ``folder``; the table's text."""
    from strata_rewards.probe import table

    text = table(probes)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [dataclasses.asdict(p) for p in probes]
    (folder / "probe.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    (folder / "probe.md").write_text(text, encoding="utf-8")
    return text
