"""The run configuration: one typed section per component, read from TOML and ``--set`` overrides,
checked before any model loads. Field docstrings are the reference (``strata-train --help-config``
prints them; ``docs/trainer.md`` is generated from them).

    [model]  what to train          [data]  which domains, where from, how many
    [curriculum] how each batch mixes the domains (strata-curriculum)
    [rollout] how completions are sampled      [train] strata-grpo's GRPOConfig
    [eval]   the before/after evaluation       [log]   where the run goes, trackers
    [probe]  the learnability probe (strata-eval --probe, probe.first)
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import json
import math
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from strata_curriculum import CurriculumConfig
from strata_grpo import GRPOConfig
from strata_grpo.trackers import TRACKERS
from strata_rewards import Prompting, Weights, WordSplit
from strata_rewards.data import EXEMPLARS, FILES
from strata_rewards.synthetic import GENERATORS, SECOND_EXAMPLES


class ConfigError(ValueError):
    """A configuration value that cannot work; names the field and what is allowed."""


@dataclass(frozen=True)
class ModelConfig:
    source: str = "smollm2"
    """Packaged model name (smollm2), a .gguf file, a local folder, or a hub id."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weights' dtype, the trainer's and (``rollout.backend = vllm``) vLLM's: auto = bf16 on CUDA,
    fp32 on CPU."""
    device: str = "auto"
    """cpu, cuda, cuda:1 ... or auto (CUDA when present)."""
    attention: Literal["auto", "sdpa", "eager", "strata_sdpa_gqa", "strata_gqa_matmul"] = "auto"
    """transformers' attention: auto = strata_sdpa_gqa on a CPU for a model with grouped key/value
    heads (no copies of them), else the model's own. strata_gqa_matmul: the same, with a CPU's
    training attention over short sequences as matmuls, 12-21 % off the default's learning step;
    not the default, as its five-seed rerun of the default missed the bar in one domain
    (docs/results.md, "Training attention as matmuls")."""


@dataclass(frozen=True)
class DataConfig:
    domains: tuple[str, ...] = ("arithmetic", "sum", "add_digit")
    """Domains to train on: gsm8k, mmlu, strategyqa (benchmark files) and the synthetic
    arithmetic, sum, add_digit, multiply, subtract, double, choice, compare (no download). The
    default's three are ones SmolLM2-135M's sampled answers carry signal on (strata-eval
    --probe; docs/default-run.md §14, §17); double, choice and compare never passed the probe."""
    data_dir: str = "../shared/data"
    """Folder with the benchmarks' original files (gsm8k/, mmlu/, strategyqa/)."""
    hub: bool = False
    """Load benchmarks by hub id through `datasets` instead (needs a network)."""
    train_size: int = 500
    """Training examples per domain (a seeded sample of the train split; 0 = all of a
    benchmark's split; synthetic domains need a number)."""
    eval_size: int = 200
    """Held-out examples per domain evaluated before and after (0 = the whole split of a
    benchmark; synthetic domains need a number)."""
    eval_sizes: dict[str, int] = field(default_factory=dict)
    """Per-domain held-out sizes overriding eval_size, e.g. {gsm8k = 500, mmlu = 1000,
    strategyqa = 0} (experiment B). Items with a subject (MMLU) are sampled evenly across
    subjects."""
    balance_by: dict[str, Literal["skill", "answer"]] = field(default_factory=dict)
    """What each domain of ``train.balanced`` is balanced by: ``"skill"`` (for a domain not named
    here: the items' skill, or MMLU's subject) or ``"answer"`` (the gold answer: each letter, or
    yes and no, in turn), e.g. {mmlu = "answer", strategyqa = "answer"}: no run of as many
    prompts as the domain has answers favours one. It did not keep MMLU's and StrategyQA's greedy
    answers from going to one answer on SmolLM2-135M (docs/results.md, "Experiment B″")."""
    difficulty: int = 1
    """Synthetic domains' difficulty, 1 (small numbers, one step) to 5."""
    skip_malformed: bool = False
    """Skip (and count) malformed rows instead of stopping at the first."""
    seed: int = 0
    """Seeds the train/eval samples and the synthetic generators."""


@dataclass(frozen=True)
class PromptConfig:
    templates: Literal["light", "full"] = "light"
    """Template set the prompt asks for and the structure reward checks. light:
    <think>…</think><answer>…</answer>, which SmolLM2-135M writes; full: the seed's sectioned
    templates (decompose/compute/verify, recall/evaluate, decompose/resolve/synthesize)."""
    exemplars: tuple[str, ...] = ("arithmetic", "sum", "add_digit")
    """Domains whose prompt shows one worked example as a previous chat turn (light templates
    only). Measured on SmolLM2 (docs/default-run.md §14-15): sum and add_digit are prior-only
    without one and learnable with it; arithmetic is learnable either way, and without one its
    bare single-turn prompt, the shape StrategyQA and MMLU are asked in, taught the adapter to
    answer in a bare sentence, which cost StrategyQA its yes/no."""
    second_example: tuple[str, ...] = ()
    """Domains of exemplars whose prompt shows a second worked example after the first, of the
    other kind (strata_rewards.synthetic.SECOND_EXAMPLES: sum and add_digit, one with a carry
    and one without). docs/default-run.md §22: with both, sum's sampled answers were right
    more often, on the items with a carry and without."""


@dataclass(frozen=True)
class RewardConfig:
    # Defaults: strata-rewards' own (Weights), so the trainer and a user of the package agree.
    outcome: float = Weights.outcome
    """Weight of the right answer (1 or 0)."""
    structure: float = Weights.structure
    """Weight of the structure score (share of the template's checks passed)."""
    repetition: float = Weights.repetition
    """Weight of the repetition penalty (share of repeated word 3-grams), subtracted."""
    repetition_words: WordSplit = Weights.words
    """How the penalty cuts a completion into words. wordpunct: runs of letters and digits and
    runs of other marks, so `<think>1</think</think…` repeats. whitespace: on spaces only, the
    rule of every run before 2026-11-28 (and of configs saved then, on --resume), under which
    that text was one word, penalised 0 (docs/results.md, experiment B)."""
    structure_gate: Literal["none", "parsed", "correct"] = Weights.structure_gate
    """When the structure score counts: always (none), only with a parsed answer (parsed), only
    with a right one (correct): gated, tags alone earn nothing (docs/grpo.md)."""
    scale: dict[str, float] = field(default_factory=dict)
    """Multiplies a domain's total reward, e.g. {arithmetic = 10.0}: domains whose rewards
    differ in scale, the setting in which batch-level normalisation lets one domain drown the
    others (docs/results.md, experiment A). Accuracy is unaffected."""


@dataclass(frozen=True)
class RolloutConfig:
    backend: Literal["hf", "vllm"] = "hf"
    """hf: strata-rollout's HFEngine, sharing the policy. vllm: vLLM (GPU, or its CPU build)."""
    max_batch_size: int = 64
    """hf: sequences decoded together."""
    max_batch_tokens: int = 16384
    """hf: bound on sequences x (prompt + completion budget) per batch: the KV cache's size."""
    hf_precision: Literal["model", "learner"] = "model"
    """hf: the numerics the engine samples and evaluates in. model: the model's own weights'
    (fp32 by default), each LoRA layer merged into one product. learner: the trainer's, where it
    trains under bf16 autocast (train.bf16; a CPU with AVX512-BF16 or AMX, a GPU): every linear
    weight cast to bf16 once a call and LoRA unmerged, so the sampler computes what the learner
    does and W + ΔW is never rounded as a whole; elsewhere the same as model (docs/rollout.md,
    "HFEngine in the learner's precision")."""
    stop_at_answer: bool = True
    """End a completion once it closes its answer tag (training and evaluation): what follows
    is not scored, and costs time."""
    vllm_memory: float = 0.3
    """vllm: share of device memory for weights and KV cache. On vLLM's CPU build it is a share
    of host memory that this process's own memory (the policy, the optimiser) counts against:
    0.15 left SmolLM2 no KV cache beside the trainer on a 24 GB machine."""
    vllm_kv_cache_gb: float = 0.0
    """vllm: a fixed KV cache of this many GB instead of one sized from vllm_memory (0). Fixed,
    it does not depend on what the machine reports or on this process's memory; a step of 64
    sequences of 1,024 tokens fills 3 GB of SmolLM2 cache in fp32 (45 kB a token)."""
    vllm_lora: bool = False
    """vllm: push the LoRA adapter, applied unmerged by vLLM's LoRA layers, instead of the merged
    weights W + ΔW, which a bf16 engine rounds (15 % of a 16-step update's direction lost; the
    adapter path keeps 100 %). Off by default: on vLLM's CPU build a model with LoRA layers runs
    eager, and generation takes 2-3x the merged engine's time even with Strata's LoRA ops (6x
    with vLLM's own; docs/rollout.md, "vLLM's CPU LoRA ops, replaced")."""
    vllm_max_model_len: int = 2048
    """vllm: context length (prompt + completion) vLLM reserves KV cache for; the model's own
    (8,192 for SmolLM2) needs four times the memory."""


@dataclass(frozen=True)
class EvalConfig:
    before: bool = True
    """Evaluate the base model before training."""
    after: bool = True
    """Evaluate the trained policy after training."""
    max_new_tokens: int = 48
    """Greedy completion length at evaluation (with rollout.stop_at_answer, most stop sooner)."""


@dataclass(frozen=True)
class ProbeConfig:
    first: bool = False
    """Run the learnability probe (strata-eval --probe) on dev items before training: each
    domain's maj@k against its best constant answer and its share of mixed groups, at the
    training temperature and group size; a warning names every domain that cannot learn."""
    items: int = 64
    """Dev items a domain the probe samples (content-disjoint from the train and eval items)."""
    margin: float = 0.10
    """Learnable: maj@k beats the best constant answer by at least this (and its paired 95 %
    interval lies above 0)."""
    min_mixed: float = 0.3
    """Learnable: at least this share of groups mix right and wrong answers."""


@dataclass(frozen=True)
class LogConfig:
    run_dir: str = ""
    """Where the run folder goes (default: runs/<date>-<time>)."""
    to: tuple[str, ...] = ()
    """Experiment trackers that mirror each step's metrics: tensorboard (<run_dir>/tensorboard),
    trackio (local, TRACKIO_DIR), wandb (WANDB_MODE=offline works without a network). Each needs
    strata-trainer's extra of the same name."""
    samples_every: int = 4
    """Write a few sampled completions per domain, with their reward parts, to
    <run_dir>/samples.jsonl every this many steps (0: never)."""
    project: str = "strata"
    """Project name for trackio and wandb (their run name is the run folder's)."""
    greedy_every: int = 0
    """Every this many steps (and before the first), the policy's greedy answers to
    log.greedy_items held-aside questions a domain (the probe's dev items: never trained on,
    never reported): accuracy, parse rate and the most common answer's share, in
    <run_dir>/greedy.jsonl, the trackers and plots/greedy_*.png; the collapse alarm reads the
    share. Sampled answers can vary while the greedy ones have settled on one answer for every
    question (experiment B′), which the sampled alarm cannot see. A benchmark trained on its
    whole training split has no questions to set aside and is not watched. 0: never."""
    greedy_items: int = 32
    """Held-aside questions a domain for log.greedy_every's checks."""

    def __post_init__(self) -> None:
        if self.greedy_every < 0 or self.greedy_items < 1:
            raise ValueError(
                f"greedy_every must be >= 0 (0: never) and greedy_items >= 1, got "
                f"{self.greedy_every} and {self.greedy_items}"
            )


def _default_train() -> GRPOConfig:
    # The embedded default: sized for 15 minutes on a 2-core CPU without AMX (16 steps plus two
    # evaluations of 600 items; the measured runs, every seed: docs/results.md); each choice
    # is measured in docs/default-run.md. Six prompts a step for three domains: each gets its
    # floor of one and UCB places the other three. Temperature 0.7: at 1.0 SmolLM2-135M leaves the
    # task (arithmetic sampled accuracy 0.06 vs 0.12, half the samples cut at the budget).
    # Eight samples a prompt: more groups with mixed outcomes, the only ones that teach a skill.
    # Learning rate 2e-4 (v6): at 5e-4 the short numeric domains sharpened within two updates and
    # one domain failed to rise in most seeds; at 2e-4 every domain rose in 4 or 5 of 5 seeds.
    return GRPOConfig(
        prompts_per_step=6,
        group_size=8,
        max_new_tokens=64,
        micro_batch_size=8,
        temperature_start=0.7,
        temperature_end=0.7,
        steps=16,
        learning_rate=2e-4,
        checkpoint_every=4,
        lora_r=16,
        lora_alpha=32,
    )


@dataclass(frozen=True)
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    train: GRPOConfig = field(default_factory=_default_train)
    eval: EvalConfig = field(default_factory=EvalConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    log: LogConfig = field(default_factory=LogConfig)

    def __post_init__(self) -> None:
        known = set(GENERATORS) | set(FILES)
        for domain in self.data.domains:
            if domain not in known:
                raise ConfigError(
                    f"data.domains: unknown domain {domain!r}; allowed: {', '.join(sorted(known))}"
                )
        if not self.data.domains:
            raise ConfigError("data.domains: give at least one domain")
        if len(set(self.data.domains)) != len(self.data.domains):
            raise ConfigError(f"data.domains: repeated domain in {self.data.domains}")
        if not 1 <= self.data.difficulty <= 5:
            raise ConfigError(f"data.difficulty: must be 1..5, got {self.data.difficulty}")
        if self.data.train_size < 0 or self.data.eval_size < 0:
            raise ConfigError("data.train_size and data.eval_size must be >= 0")
        synthetic = [d for d in self.data.domains if d in GENERATORS]
        for name in ("train_size", "eval_size"):
            if synthetic and getattr(self.data, name) == 0:
                raise ConfigError(
                    f"data.{name} = 0 means the whole split, but the synthetic domain(s) "
                    f"{', '.join(synthetic)} have no end: give a number of examples"
                )
        for domain, size in self.data.eval_sizes.items():
            if domain not in self.data.domains or size < 0 or (size == 0 and domain in synthetic):
                raise ConfigError(
                    f"data.eval_sizes: {domain} = {size}: needs one of data.domains "
                    f"({', '.join(self.data.domains)}) and a size >= 0 (0 = the whole split, "
                    "which a synthetic domain does not have)"
                )
        try:
            self.curriculum.make(self.data.domains, seed=0)
        except ValueError as err:  # the scheduler's own message names the value
            raise ConfigError(f"[curriculum]: {err}") from None
        for domain in self.train.balanced:
            if domain not in known:  # one that is not trained is left alone, as exemplars are
                raise ConfigError(
                    f"train.balanced: unknown domain {domain!r}; allowed: "
                    f"{', '.join(sorted(known))}"
                )
        for domain in self.data.balance_by:
            if domain not in self.train.balanced:
                raise ConfigError(
                    f"data.balance_by: {domain} is not in train.balanced "
                    f"({', '.join(self.train.balanced) or 'empty'}), so nothing balances it"
                )
        for tracker in self.log.to:
            if tracker not in TRACKERS:
                raise ConfigError(
                    f"log.to: unknown tracker {tracker!r}; allowed: {', '.join(TRACKERS)}"
                )
        for domain in self.prompt.exemplars:
            if domain not in EXEMPLARS:
                raise ConfigError(
                    f"prompt.exemplars: no example for {domain!r}; have: {', '.join(EXEMPLARS)}"
                )
        for domain in self.prompt.second_example:
            if domain not in self.prompt.exemplars or domain not in SECOND_EXAMPLES:
                raise ConfigError(
                    f"prompt.second_example: {domain} needs to be one of prompt.exemplars "
                    f"({', '.join(self.prompt.exemplars)}) with a second example (have: "
                    f"{', '.join(SECOND_EXAMPLES)})"
                )
        if self.prompt.exemplars and self.prompt.templates != "light":
            raise ConfigError(
                "prompt.exemplars: the examples are written in the light template; set "
                "prompt.templates = light or prompt.exemplars = []"
            )
        r = self.reward
        for name, weight in (
            ("outcome", r.outcome),
            ("structure", r.structure),
            ("repetition", r.repetition),
        ):
            if not (weight >= 0 and math.isfinite(weight)):  # nan passed a "< 0" test
                raise ConfigError(f"reward.{name}: must be a finite weight >= 0, got {weight}")
        if not (r.outcome or r.structure or r.repetition):
            raise ConfigError(
                "reward: outcome, structure and repetition are all 0: every completion would "
                "score 0 and GRPO would learn nothing"
            )
        for domain, factor in self.reward.scale.items():
            if domain not in self.data.domains or not factor > 0:
                raise ConfigError(
                    f"reward.scale: {domain} = {factor}: needs one of data.domains "
                    f"({', '.join(self.data.domains)}) and a factor > 0"
                )
        p = self.probe
        if p.items < 1 or not 0 <= p.min_mixed <= 1 or not 0 <= p.margin <= 1:
            raise ConfigError(
                f"[probe]: items must be >= 1, and margin and min_mixed shares in [0, 1], got "
                f"items={p.items}, margin={p.margin}, min_mixed={p.min_mixed}"
            )
        # Each of these once passed, to fail at its first use: a whole run in for eval's.
        for key, value, least in (
            ("eval.max_new_tokens", self.eval.max_new_tokens, 1),
            ("rollout.max_batch_size", self.rollout.max_batch_size, 1),
            ("rollout.max_batch_tokens", self.rollout.max_batch_tokens, 1),
            ("log.samples_every", self.log.samples_every, 0),
        ):
            if value < least:
                raise ConfigError(f"{key}: must be >= {least}, got {value}")
        if self.rollout.vllm_max_model_len < 1:
            raise ConfigError(
                f"rollout.vllm_max_model_len: must be >= 1, got {self.rollout.vllm_max_model_len}"
            )
        if not self.rollout.vllm_kv_cache_gb >= 0:
            raise ConfigError(
                f"rollout.vllm_kv_cache_gb: must be >= 0 (0: size it from rollout.vllm_memory), "
                f"got {self.rollout.vllm_kv_cache_gb}"
            )
        if not 0 < self.rollout.vllm_memory <= 1:
            raise ConfigError(
                f"rollout.vllm_memory: must be in (0, 1], got {self.rollout.vllm_memory}"
            )

    def prompting(self) -> Prompting:
        """Prompts and rewards as [prompt] and [reward] say, shared by training and eval."""
        r = self.reward
        return Prompting(
            template_set=self.prompt.templates,
            exemplars=self.prompt.exemplars,
            examples=EXEMPLARS,
            more_examples={d: (SECOND_EXAMPLES[d],) for d in self.prompt.second_example},
            weights=Weights(
                outcome=r.outcome,
                structure=r.structure,
                repetition=r.repetition,
                words=r.repetition_words,
                structure_gate=r.structure_gate,
            ),
            scale=dict(r.scale),
        )

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {
            f.name: _plain(dataclasses.asdict(getattr(self, f.name)))
            for f in dataclasses.fields(self)
        }


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "data": DataConfig,
    "curriculum": CurriculumConfig,
    "prompt": PromptConfig,
    "reward": RewardConfig,
    "rollout": RolloutConfig,
    "train": GRPOConfig,
    "eval": EvalConfig,
    "probe": ProbeConfig,
    "log": LogConfig,
}


def _is_tuple(hint: Any) -> bool:
    return hint is tuple or typing.get_origin(hint) is tuple


def _coerce(section: str, name: str, hint: Any, value: Any) -> Any:
    """``value`` (from TOML, or a string from --set) as the field's type, or ConfigError."""
    where = f"{section}.{name}"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        if value not in args:
            allowed = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{where}: {value!r} is not allowed; allowed: {allowed}")
        return value
    if origin in (types.UnionType, typing.Union):
        if value in (None, "none", "None") and type(None) in args:
            return None
        errors = []
        # "q_proj,v_proj" for str | tuple[str, ...] is a list: try the tuple before the text.
        if isinstance(value, str) and "," in value:
            args = tuple(sorted(args, key=lambda a: not _is_tuple(a)))
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(section, name, arg, value)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"{where}: cannot read {value!r}")
    if origin is tuple or hint is tuple:
        items = (
            [x.strip() for x in value.split(",") if x.strip()] if isinstance(value, str) else value
        )
        if not isinstance(items, Sequence):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(str(x) for x in items)
    if origin is dict or hint is dict:
        number = args[1] if len(args) == 2 else float
        try:
            table = parse_table(value) if isinstance(value, str) else value
            if not isinstance(table, Mapping):
                raise ValueError
        except (ValueError, TypeError, SyntaxError):
            named = typing.get_args(number)
            example = named[0] if typing.get_origin(number) is Literal else number(1)
            shown = json.dumps(example) if isinstance(example, str) else example
            raise ConfigError(
                f"{where}: expected a table such as {{name = {shown}}}, got {value!r}"
            ) from None
        return {str(k): _coerce(section, f"{name}.{k}", number, v) for k, v in table.items()}
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if hint in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            number = hint(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}") from None
        if hint is int and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return number
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    return value


def _section(name: str, cls: type, values: Mapping[str, Any], base: Any) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    changes = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(
                f"{name}.{key}: unknown field; fields of [{name}]: {', '.join(sorted(fields))}"
            )
        changes[key] = _coerce(name, key, hints[key], value)
    try:
        return dataclasses.replace(base, **changes)
    except ConfigError:
        raise
    except (ValueError, TypeError) as err:
        raise ConfigError(f"[{name}]: {err}") from None


def make_folder(path: Path, what: str) -> None:
    """Make ``path`` (and its parents) before any model loads, or a ConfigError naming it
    (``what``: the option or folder it is) and why not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"{what} {path}: a file is there, not a folder") from None
    except OSError as err:
        raise ConfigError(f"{what} {path}: cannot be made ({err.strerror})") from None


def parse_table(text: str) -> Any:
    """A --set table as a TOML inline table, the form the config files and docs use
    (``{mmlu = 1000}``), or as a Python literal (``{'mmlu': 1000}``, the grids' records)."""
    try:
        return tomllib.loads(f"table = {text}")["table"]
    except tomllib.TOMLDecodeError:
        return ast.literal_eval(text)


def read_toml(path: Path, what: str = "config file") -> dict[str, Any]:
    """A TOML file's tables, or a ConfigError naming ``path`` (a ``what``: strata-train's config
    file, strata-experiment's grid file) and what is wrong with it."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {err.start}: {err.reason}); TOML files are UTF-8"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a {what}") from None


def to_toml(cfg: RunConfig) -> str:
    """``cfg`` as the TOML a run folder's config.toml holds (read back by :func:`saved_config`)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        return json.dumps(str(v))  # a TOML basic string is a JSON string

    out = []
    for section, fields in cfg.to_dict().items():
        out.append(f"[{section}]")
        out += [f"{k} = {value(v)}" for k, v in fields.items() if v is not None]
        out.append("")
    return "\n".join(out)


# Fields added after run folders were written, with the value those runs ran with: a run
# resumed from a config.toml that lacks one goes on as it started, not with today's default.
ADDED_SINCE: dict[str, str] = {"reward.repetition_words": "whitespace"}


def saved_config(path: Path, overrides: Sequence[str] = ()) -> RunConfig:
    """A run folder's config.toml as the run started (``ADDED_SINCE``), then ``overrides``."""
    loaded = read_toml(path)
    missing = []
    for key, value in ADDED_SINCE.items():
        section, _, name = key.partition(".")
        table = loaded.get(section, {})
        if isinstance(table, dict) and name not in table:
            missing.append(f"{key}={value}")
    return build_config(path, [*missing, *overrides])


RESUMABLE = frozenset(
    {
        "log.to",
        "log.samples_every",
        "log.project",
        "log.greedy_every",
        "log.greedy_items",
        "eval.after",
        "train.steps",
        "probe.first",
    }
)
"""Fields ``--resume`` may change: what is logged, whether the end is evaluated, and how long the
run goes on (the learning rate, the data, the model... live in the checkpoint and its optimizer:
changing them on resume would make a run no single configuration describes)."""


def resume_config(path: Path, overrides: Sequence[str] = ()) -> RunConfig:
    """A run folder's saved configuration with the ``overrides`` that are safe to change on
    resume (:data:`RESUMABLE`); any other field that an override changes is refused by name, so
    config.toml never records what the run did not use."""
    saved = saved_config(path)
    wanted = saved_config(path, overrides)
    changed = [
        f"{section}.{name}"
        for section, fields in wanted.to_dict().items()
        for name, value in fields.items()
        if saved.to_dict()[section][name] != value
    ]
    refused = [key for key in changed if key not in RESUMABLE]
    if refused:
        raise ConfigError(
            f"--resume: {', '.join(refused)} cannot change on resume (the checkpoint holds the "
            f"run as it started); fields --resume may change: {', '.join(sorted(RESUMABLE))}. "
            "Start a new run for the rest"
        )
    t = saved.train
    if "train.steps" in changed and t.temperature_start != t.temperature_end:
        raise ConfigError(
            "--resume: train.steps cannot change on a run whose temperature anneals "
            f"({t.temperature_start} -> {t.temperature_end} over its {t.steps} steps): the "
            "schedule would jump"
        )
    if wanted.train.steps < saved.train.steps and "train.steps" in changed:
        raise ConfigError(
            f"--resume: train.steps = {wanted.train.steps} is below the run's {saved.train.steps}"
        )
    return wanted


def build_config(toml_path: str | Path | None = None, overrides: Sequence[str] = ()) -> RunConfig:
    """The embedded default, updated by a TOML file, then by ``section.field=value`` overrides."""
    tables: dict[str, dict[str, Any]] = {}
    if toml_path is not None:
        path = Path(toml_path)
        for section, values in read_toml(path).items():
            if section not in SECTIONS or not isinstance(values, dict):
                raise ConfigError(
                    f"{path}: unknown section [{section}]; sections: {', '.join(SECTIONS)}"
                )
            tables[section] = dict(values)
    for item in overrides:
        key, sep, value = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or section not in SECTIONS:
            raise ConfigError(
                f"--set {item!r}: expected section.field=value with a section among "
                f"{', '.join(SECTIONS)}"
            )
        tables.setdefault(section, {})[name] = value.strip()
    default = RunConfig()
    parts = {s: _section(s, SECTIONS[s], tables.get(s, {}), getattr(default, s)) for s in SECTIONS}
    return RunConfig(**parts)


def reference() -> Iterator[tuple[str, list[tuple[str, Any, str]]]]:
    """Each section with its fields: (name, default, documentation). The one source of
    ``--help-config`` and docs/trainer.md's reference."""
    import inspect

    default = RunConfig()
    for section, cls in SECTIONS.items():
        docs = _field_docs(inspect.getsource(cls))
        yield (
            section,
            [
                (f.name, getattr(getattr(default, section), f.name), docs.get(f.name, ""))
                for f in dataclasses.fields(cls)
            ],
        )


def describe() -> str:
    """Every section and field with its default and its documentation (--help-config)."""
    lines = []
    for section, fields in reference():
        lines.append(f"[{section}]")
        for name, value, doc in fields:
            lines.append(f"  {name} = {value!r}")
            if doc:
                lines.append(f"      {doc}")
        lines.append("")
    return "\n".join(lines)


def _field_docs(source: str) -> dict[str, str]:
    """Field docstrings (the string literal right under a field) from a class's source."""
    tree = ast.parse(source.strip() if source.startswith(" ") else source)
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for prev, node in itertools.pairwise(body):
        if (
            isinstance(prev, ast.AnnAssign)
            and isinstance(prev.target, ast.Name)
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            docs[prev.target.id] = " ".join(node.value.value.split())
    return docs


def describe_markdown() -> str:
    """The configuration reference as Markdown tables (the block in docs/trainer.md)."""
    lines = []
    for section, fields in reference():
        lines += [f"#### [{section}]", "", "| field | default | meaning |", "|---|---|---|"]
        for name, value, doc in fields:
            shown = list(value) if isinstance(value, tuple) else value
            lines.append(f"| `{name}` | `{shown!r}` | {doc.replace('|', chr(92) + '|')} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(describe_markdown())
