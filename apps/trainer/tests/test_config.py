"""The run configuration: defaults, TOML, overrides, and errors that name the field."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_rewards.data import DataError
from strata_rewards.synthetic import GENERATORS
from strata_trainer import ConfigError, RunConfig, build_config
from strata_trainer.config import describe, parse_table

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"  # ../shared beside the clone


def test_the_embedded_default_is_valid_and_synthetic() -> None:
    cfg = build_config()
    assert cfg == RunConfig()
    assert cfg.model.source == "smollm2"
    assert cfg.data.domains == ("arithmetic", "sum", "add_digit")
    assert cfg.train.estimator == "san"
    assert cfg.rollout.backend == "hf"


def test_toml_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text('[data]\ndomains = ["gsm8k", "mmlu"]\n[train]\nsteps = 7\nbeta = 0.04\n')
    cfg = build_config(
        path, ["train.steps=9", "data.hub=true", "train.extra={'clip': 3}", "rollout.backend=vllm"]
    )
    assert cfg.data.domains == ("gsm8k", "mmlu")
    assert cfg.train.steps == 9
    assert cfg.train.beta == 0.04
    assert cfg.data.hub is True
    assert cfg.train.extra == {"clip": 3.0}
    assert cfg.rollout.backend == "vllm"
    assert build_config(None, ["data.domains=gsm8k, compare"]).data.domains == ("gsm8k", "compare")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["rollout.backend=tgi"], r"rollout.backend: 'tgi' is not allowed; allowed: 'hf', 'vllm'"),
        (["train.stepz=3"], r"train.stepz: unknown field; fields of \[train\]"),
        (["train.steps=many"], r"train.steps: expected int"),
        (["train.steps=0"], r"\[train\]: steps must be >= 1"),
        (["train.group_size=1"], r"group_size must be >= 2"),
        (["data.domains=gsm8k,chess"], r"data.domains: unknown domain 'chess'; allowed:"),
        (["data.difficulty=9"], r"data.difficulty: must be 1..5"),
        (["steps=3"], r"expected section.field=value"),
        (["train.aggregation=sum"], r"train.aggregation: 'sum' is not allowed"),
        (["data.hub=maybe"], r"data.hub: expected true or false"),
        (["curriculum.scheduler=thompson"], r"curriculum.scheduler: 'thompson' is not allowed"),
        (["curriculum.sharpness=0"], r"\[curriculum\]: sharpness must lie in \(0, 64\]"),
        (["curriculum.floor=0.5"], r"\[curriculum\]: floor must lie in \[0, 1/K\] = \[0, 0.3333\]"),
        (["rollout.vllm_kv_cache_gb=-1"], r"rollout.vllm_kv_cache_gb: must be >= 0 \(0: size"),
        (["rollout.vllm_kv_cache_gb=nan"], r"rollout.vllm_kv_cache_gb: must be >= 0"),
        (["train.balanced=sum,chess"], r"train.balanced: unknown domain 'chess'; allowed:"),
        (["prompt.second_example=arithmetic"], r"prompt.second_example: arithmetic needs"),
        (["data.balance_by={'sum': 'answer'}"], r"data.balance_by: sum is not in train.balanced"),
        (
            ["train.balanced=sum", "data.balance_by={'sum': 'gold'}"],
            r"data.balance_by.sum: 'gold' is not allowed; allowed: 'skill', 'answer'",
        ),
        (["log.greedy_every=-1"], r"\[log\]: greedy_every must be >= 0 \(0: never\)"),
        (["train.temperature_start=0"], r"\[train\]: temperature_start must be > 0: at temp"),
        (["eval.max_new_tokens=0"], r"eval.max_new_tokens: must be >= 1, got 0"),
        (["probe.items=0"], r"\[probe\]: items must be >= 1, .* got items=0"),
        (["probe.margin=2"], r"\[probe\]: .* margin=2.0"),
        (["rollout.max_batch_tokens=0"], r"rollout.max_batch_tokens: must be >= 1, got 0"),
        (["log.samples_every=-1"], r"log.samples_every: must be >= 0, got -1"),
        (["reward.structure=nan"], r"reward.structure: must be a finite weight >= 0, got nan"),
        (
            ["reward.outcome=0", "reward.structure=0", "reward.repetition=0"],
            r"reward: outcome, structure and repetition are all 0",
        ),
        (["train.learning_rate=nan"], r"\[train\]: learning_rate must be a finite number"),
        (["train.top_p=1.5"], r"\[train\]: top_p must be in \(0, 1\], got 1.5"),
        (["train.lora_dropout=1"], r"\[train\]: lora_dropout must be in \[0, 1\)"),
        (["train.log_ratio_clip=0"], r"\[train\]: log_ratio_clip must be > 0"),
        (["train.keep_checkpoints=0"], r"\[train\]: .* keep_checkpoints >= 1"),
        (
            ["data.balance_by=answer"],
            r'data.balance_by: expected a table such as \{name = "skill"\}',
        ),
    ],
)
def test_bad_values_name_the_field_and_the_allowed_values(
    overrides: list[str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config(None, overrides)


def test_bad_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        build_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nsteps=")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        build_config(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[optimizer]\nlr = 1\n")
    with pytest.raises(ConfigError, match=r"unknown section \[optimizer\]"):
        build_config(unknown)


def test_describe_documents_every_field() -> None:
    text = describe()
    for section in ("[model]", "[data]", "[rollout]", "[train]", "[eval]", "[log]"):
        assert section in text
    assert "prompts_per_step = 6" in text
    assert "Prompts per step, mixed across domains" in text
    assert "Folder with the benchmarks' original files" in text


def test_the_curriculum_section_builds_the_scheduler() -> None:
    from strata_curriculum import UCBScheduler, UniformScheduler

    cfg = build_config(None, ["curriculum.c=0.2", "curriculum.floor=0.05"])
    made = cfg.curriculum.make(cfg.data.domains, seed=3)
    assert isinstance(made, UCBScheduler)
    assert (made.c, made.floor, made.sharpness, made.seed) == (0.2, 0.05, 4.0, 3)
    default = build_config().curriculum  # floor: none = min(0.1, 1/K)
    assert default.make(["a", "b", "c"], seed=0).floor == 0.1
    assert default.make([f"d{i}" for i in range(20)], seed=0).floor == 0.05
    uniform = build_config(None, ["curriculum.scheduler=uniform"]).curriculum
    assert isinstance(uniform.make(["a", "b"], seed=0), UniformScheduler)


@pytest.mark.parametrize(
    "recipe",
    sorted((Path(__file__).resolve().parents[3] / "configs").glob("*.toml")),
    ids=lambda p: p.name,
)
def test_every_recipe_in_configs_is_valid(recipe: Path) -> None:
    cfg = build_config(recipe)
    assert set(cfg.data.domains) <= {"gsm8k", "mmlu", "strategyqa", *GENERATORS}
    if cfg.rollout.backend == "vllm":  # the sampler's numbers differ from the trainer's
        assert cfg.train.use_sampler_logprobs


def test_the_extended_recipe_is_the_configuration_its_grids_measured() -> None:
    """configs/smollm2-cpu-extended.toml ships on the strength of two grids (docs/results.md,
    "An extended configuration"): it must stay the configuration they ran."""
    root = Path(__file__).resolve().parents[3]
    shipped = build_config(root / "configs" / "smollm2-cpu-extended.toml")
    for grid in ("extended-seeds", "extended-avx2-kernels-seeds"):
        with (root / "experiments" / f"{grid}.toml").open("rb") as f:
            measured = tomllib.load(f)["configs"]["x24"]["set"]
        assert shipped == build_config(None, measured)
    assert shipped != build_config()


def test_a_comma_list_reaches_a_tuple_field_as_a_tuple() -> None:
    """--set train.lora_target_modules=q_proj,v_proj used to become the string "q_proj,v_proj"
    (the coercer tried str before tuple) and peft then found no such module."""
    cfg = build_config(None, ["train.lora_target_modules=q_proj,v_proj"])
    assert cfg.train.lora_target_modules == ("q_proj", "v_proj")
    assert (
        build_config(None, ["train.lora_target_modules=all-linear"]).train.lora_target_modules
        == "all-linear"
    )


def test_a_config_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[model]\nsource = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"latin1\.toml: not UTF-8"):
        build_config(path)


@pytest.mark.parametrize("field", ["train_size", "eval_size"])
def test_size_zero_means_all_and_synthetic_domains_have_no_all(field: str) -> None:
    """0 is documented as "the whole split"; the app used to read it as 500 / 200 for the
    synthetic domains, which have no end: it is now refused for them, naming them."""
    with pytest.raises(ConfigError, match=rf"data\.{field} = 0 .*arithmetic"):
        build_config(None, [f"data.{field}=0"])
    assert getattr(build_config(None, ["data.domains=gsm8k", f"data.{field}=0"]).data, field) == 0


def test_per_domain_eval_sizes_are_whole_numbers_for_named_domains() -> None:
    cfg = build_config(
        None, ["data.domains=gsm8k,mmlu,strategyqa", "data.eval_sizes={'mmlu': 1000, 'gsm8k': 500}"]
    )
    assert cfg.data.eval_sizes == {"mmlu": 1000, "gsm8k": 500}
    assert all(type(n) is int for n in cfg.data.eval_sizes.values())
    # The docs' and config files' TOML form works on the command line too.
    toml_form = ["data.domains=gsm8k,mmlu,strategyqa", "data.eval_sizes={mmlu = 1000, gsm8k = 500}"]
    assert build_config(None, toml_form).data.eval_sizes == {"mmlu": 1000, "gsm8k": 500}
    with pytest.raises(ConfigError, match=r"data\.eval_sizes\.mmlu: expected a whole number"):
        build_config(None, ["data.domains=mmlu", "data.eval_sizes={'mmlu': 2.5}"])
    with pytest.raises(ConfigError, match=r"data\.eval_sizes: gsm8k = 5: needs one of"):
        build_config(None, ["data.eval_sizes={'gsm8k': 5}"])  # not among the default's domains
    with pytest.raises(ConfigError, match=r"data\.eval_sizes: compare = 0: .*synthetic"):
        build_config(None, ["data.eval_sizes={'compare': 0}"])


def test_a_saved_config_resumes_with_the_values_its_run_started_with(tmp_path: Path) -> None:
    """A config.toml written before reward.repetition_words existed ran with whitespace words;
    --resume must not switch it to today's default halfway through its run."""
    from strata_trainer.config import ADDED_SINCE, saved_config
    from strata_trainer.config import to_toml as _toml

    assert RunConfig().reward.repetition_words == "wordpunct"
    today = tmp_path / "today.toml"
    today.write_text(_toml(RunConfig()), "utf-8")
    assert saved_config(today) == RunConfig(), "a complete saved config reads back as written"

    old = tmp_path / "old.toml"
    old.write_text(
        "\n".join(
            line for line in _toml(RunConfig()).splitlines() if "repetition_words" not in line
        ),
        "utf-8",
    )
    assert set(ADDED_SINCE) == {"reward.repetition_words"}
    assert saved_config(old).reward.repetition_words == "whitespace"
    assert build_config(old).reward.repetition_words == "wordpunct", "only resuming is special"
    overridden = saved_config(old, ["reward.repetition_words=wordpunct"])
    assert overridden.reward.repetition_words == "wordpunct", "--set still wins"
    assert overridden.prompting().weights.words == "wordpunct", "and reaches the reward"


def test_balancing_a_domain_without_skills_is_refused_before_the_model_loads() -> None:
    """``multiply`` names no skill: balancing it has nothing to balance, said at the data stage
    (no model loaded), with the item."""
    from strata_trainer.items import load_items

    cfg = build_config(None, ["data.domains=sum,multiply", "train.balanced=sum,multiply"])
    with pytest.raises(DataError, match=r"multiply's items name no skill .*synthetic:multiply"):
        load_items(cfg)
    balanced = build_config(None, ["train.balanced=sum,add_digit"])
    train, _ = load_items(balanced)
    assert {it.subject for it in train["sum"]} == {"carry", "no carry"}
    # A balanced domain the run does not train is left alone, as an exemplar's is.
    other = build_config(None, ["data.domains=arithmetic", "train.balanced=sum,multiply"])
    assert list(load_items(other)[0]) == ["arithmetic"]


@pytest.mark.skipif(not DATA.is_dir(), reason=f"benchmark files not at {DATA}")
def test_a_domain_balanced_by_answer_takes_each_answer_in_turn() -> None:
    """MMLU's letters and StrategyQA's yes/no, from the benchmarks' own files: every run of four
    (two) consecutive prompts holds each answer once, so no step's pair of prompts rewards one
    answer as a skill. Balanced by skill instead, MMLU walks its subjects."""
    from strata_grpo import TaskSampler
    from strata_trainer.items import load_items
    from strata_trainer.job import training_examples

    sets = ["data.domains=mmlu,strategyqa", f"data.data_dir={DATA}", "data.train_size=120"]
    sets += ["data.eval_size=4", "train.balanced=mmlu,strategyqa"]
    cfg = build_config(None, [*sets, "data.balance_by={'mmlu': 'answer', 'strategyqa': 'answer'}"])
    train, _ = load_items(cfg)
    sampler = TaskSampler(training_examples(cfg, train), seed=3, balanced=cfg.train.balanced)
    for domain, answers in (("mmlu", 4), ("strategyqa", 2)):
        golds = [str(ex.gold) for ex in sampler.take(domain, 10 * answers)]
        runs = [golds[i : i + answers] for i in range(0, len(golds), answers)]
        assert all(len(set(run)) == answers for run in runs), (domain, runs)
    by_subject = build_config(None, sets)  # mmlu by subject; strategyqa names none
    with pytest.raises(DataError, match=r"strategyqa's items name no skill .*balance_by"):
        load_items(by_subject)
    by_subject = build_config(None, [*sets, "data.balance_by={'strategyqa': 'answer'}"])
    train, _ = load_items(by_subject)
    strata = {ex.stratum for ex in training_examples(by_subject, train)["mmlu"]}
    assert len(strata) > 4
    assert strata == {it.subject for it in train["mmlu"]}


def test_a_second_example_comes_after_the_first_and_before_the_question() -> None:
    prompting = build_config(None, ["prompt.second_example=sum"]).prompting()
    messages = prompting.messages("sum", "What is 11 + 12?")
    asked = [m["content"] for m in messages if m["role"] == "user"]
    assert asked == [
        "Question: What is 23 + 15?",
        "Question: What is 35 + 47?",
        "Question: What is 11 + 12?",
    ]
    assert messages[4]["content"] == "<think>35 + 47 = 82.</think><answer>82</answer>"
    assert len(prompting.messages("add_digit", "What is 3 + 14?")) == 4  # one example only


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,11}", fullmatch=True),
        st.integers(0, 10**6) | st.sampled_from(["skill", "answer"]),
        max_size=5,
    )
)
def test_a_set_table_reads_alike_in_toml_and_python_form(table: dict[str, int | str]) -> None:
    """--set takes a table as a TOML inline table (the docs' and config files' form) or as a
    Python literal (the grids' records): the two spellings of one table give the same table."""
    toml_form = "{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in table.items()) + "}"
    assert parse_table(toml_form) == table
    assert parse_table(repr(table)) == table
