"""The trainer end to end on a tiny real model: metrics, exact accumulation, skipped steps,
the adapter-off reference, bitwise resume, and resume after SIGKILL."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from strata_grpo import make_policy, rank_seed
from strata_grpo.timing import STAGES, StageClock
from strata_rollout import HFEngine
from strata_rollout.testing import tiny_causal_lm

from .tiny_setup import adapter, config, grpo_trainer, trainer, vowel_reward

HERE = Path(__file__).parent


def _changed(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return any(not torch.equal(a[k], b[k]) for k in a)


def test_a_step_updates_the_adapter_and_logs_every_domain(tokenizer: Any) -> None:
    t = trainer(tokenizer)
    before = adapter(t)
    metrics = t.step()
    assert _changed(before, adapter(t)), "the tiny run must move the weights to test anything"
    row = metrics.row()
    for domain in ("gsm8k", "strategyqa"):
        for key in (
            "reward",
            "accuracy",
            "completion_length",
            "truncated",
            "adv_regime",
            "completions",
            "parse_rate",
            "equal_reward_groups",
            "equal_outcome_groups",
            "structure_share",
        ):
            assert f"{domain}/{key}" in row
    for key in (
        "train/loss",
        "train/kl",
        "train/clip_fraction",
        "train/grad_norm",
        "time/generation",
        "time/training",
        "lr",
        "temperature",
    ):
        assert key in row
    assert metrics.update.skipped == 0.0
    # vowel_reward differs between most completions: few groups are all equal.
    assert metrics.domains["gsm8k"].equal_reward_groups < 1.0
    assert metrics.domains["gsm8k"].equal_outcome_groups in (0.0, 0.5, 1.0)  # one or two groups
    # Groups a domain had this step (the answer-collapse alarm skips steps with one).
    groups = {d: metrics.completions[d] // t.config.group_size for d in metrics.domains}
    assert {d: m.prompts for d, m in metrics.domains.items()} == groups
    assert json.loads(json.dumps(row)) == row  # the metrics.jsonl line, serialisable as it is
    # Where the step's time went: every stage timed, and together no more than the step.
    stages = {k: v for k, v in row.items() if k.startswith("time/")}
    assert set(stages) == {"time/generation", "time/training", "time/step"} | {
        f"time/{s}" for s in STAGES
    }
    assert all(isinstance(v, float) and v >= 0 for v in stages.values())
    assert stages["time/forward_backward"] > 0
    assert stages["time/optimizer"] > 0
    learning = sum(metrics.stages_s[s] for s in STAGES if s != "weight_sync")
    assert learning <= metrics.training_s
    assert metrics.generation_s + learning + metrics.stages_s["weight_sync"] <= metrics.step_s


def test_the_default_reward_is_strata_rewards_composite(tokenizer: Any) -> None:
    from strata_grpo import make_policy
    from strata_rollout.testing import tiny_causal_lm

    from .tiny_setup import config, grpo_trainer

    cfg = config()
    t = grpo_trainer(make_policy(tiny_causal_lm(tokenizer), cfg), tokenizer, cfg)
    metrics = t.step()
    for domain in ("gsm8k", "strategyqa"):
        for part in ("accuracy", "structure", "repetition", "parse_rate"):
            assert 0.0 <= getattr(metrics.domains[domain], part) <= 1.0
        # total = outcome + 0.2 structure - 0.5 repetition (degenerate text: 0), averaged
        m = metrics.domains[domain]
        assert -0.5 <= m.reward <= m.accuracy + 0.2 * m.structure + 1e-9


@pytest.mark.parametrize("aggregation", ["token_mean", "sequence_mean", "dr_grpo"])
def test_micro_batches_accumulate_to_the_full_batch_update(
    tokenizer: Any, aggregation: str
) -> None:
    """The gradient the optimizer steps with is the same whether the batch is one micro-batch
    or eight (up to float summation order). Compared before AdamW, not after: its first update
    is lr·sign(g), which turns 1e-9 differences of near-zero coordinates into ±lr."""
    whole = trainer(tokenizer, micro_batch_size=8, aggregation=aggregation)
    pieces = trainer(tokenizer, micro_batch_size=1, aggregation=aggregation)
    grads = [_gradient_at_optimizer_step(t) for t in (whole, pieces)]
    assert any(float(g.abs().max()) > 0 for g in grads[0].values())
    for k in grads[0]:
        assert torch.allclose(grads[0][k], grads[1][k], atol=1e-7, rtol=1e-5), k


def _gradient_at_optimizer_step(t: Any) -> dict[str, torch.Tensor]:
    """One step of ``t``; the trainable parameters' gradients as the optimizer received them."""
    seen: dict[str, torch.Tensor] = {}
    step = t.optimizer.step

    def spy(*args: Any, **kwargs: Any) -> Any:
        for name, p in t.policy.named_parameters():
            if p.requires_grad:
                seen[name] = p.grad.detach().clone()
        return step(*args, **kwargs)

    t.optimizer.step = spy
    t.step()
    assert seen, "the step must reach the optimizer"
    return seen


def test_the_no_grad_batch_size_changes_no_update(tokenizer: Any) -> None:
    """The reference and old log-probs taken a row at a time or all at once: the same KL, loss,
    ratios and gradient norm, up to float summation order (μ = 2 and β > 0, so both no-grad
    passes run; compared on the first step: Adam turns 1e-7 gradient differences into sign flips
    of near-zero coordinates' updates, so weights after it are not comparable)."""
    kw: dict[str, Any] = {"beta": 0.1, "inner_updates": 2}
    m1 = trainer(tokenizer, no_grad_batch_size=1, **kw).step()
    m2 = trainer(tokenizer, **kw).step()
    for key in ("kl", "loss", "ratio_min", "ratio_max", "grad_norm"):
        assert getattr(m1.update, key) == pytest.approx(
            getattr(m2.update, key), rel=1e-5, abs=1e-9
        ), key
    with pytest.raises(ValueError, match="no_grad_batch_size"):
        trainer(tokenizer, no_grad_batch_size=0)


def test_a_non_finite_gradient_skips_the_step_and_keeps_the_weights(tokenizer: Any) -> None:
    t = trainer(tokenizer)
    before = adapter(t)
    hook = t.params[0].register_hook(lambda g: g * float("nan"))
    metrics = t.step()
    hook.remove()
    assert metrics.update.skipped == 1.0
    after = adapter(t)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not t.optimizer.state  # AdamW never stepped
    assert t.step().update.skipped == 0.0  # and training goes on


def test_the_reference_is_the_policy_with_its_adapter_off(tokenizer: Any) -> None:
    t = trainer(tokenizer, beta=0.1)
    first = t.step()
    assert first.update.kl == 0.0  # LoRA starts at B = 0: policy == reference exactly
    assert t.step().update.kl > 0.0  # after an update they differ


def test_several_inner_updates_use_old_logprobs(tokenizer: Any) -> None:
    """With μ = 1 the ratio to log πold is exactly 1; with μ = 3 the later updates see the
    policy move away from the one that sampled, both ways, and clipping acts."""
    one = trainer(tokenizer).step()
    assert (one.update.ratio_min, one.update.ratio_max) == (1.0, 1.0)
    metrics = trainer(tokenizer, inner_updates=3, eps_low=0.01, eps_high=0.01).step()
    assert metrics.update.ratio_max > 1.0
    assert metrics.update.ratio_min < 1.0
    assert metrics.update.clip_fraction > 0.0


def test_sampler_weights_at_one_update_are_one_when_the_sampler_is_the_policy(
    tokenizer: Any,
) -> None:
    """μ = 1 with use_sampler_logprobs: HFEngine samples with the policy itself, so the importance
    weights are 1 up to float noise (its LoRA layers run merged: the same function to rounding)
    and the gradient equals the unweighted one."""
    plain, weighted = trainer(tokenizer), trainer(tokenizer, use_sampler_logprobs=True)
    a, b = (_gradient_at_optimizer_step(t) for t in (plain, weighted))
    assert any(float(g.abs().max()) > 0 for g in b.values())
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-7)


def test_checkpoint_round_trip_continues_bitwise(tokenizer: Any, tmp_path: Path) -> None:
    straight = trainer(tokenizer)
    for _ in range(4):
        straight.step()
    first = trainer(tokenizer)
    for _ in range(2):
        first.step()
    first.save_checkpoint(tmp_path)
    resumed = trainer(tokenizer)
    resumed.load_checkpoint(tmp_path)
    assert resumed.step_count == 2
    for _ in range(2):
        resumed.step()
    a, b = adapter(straight), adapter(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)


def _run(run_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(HERE / "sigkill_run.py"), str(run_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_sigkill_mid_step_then_resume_ends_where_an_uninterrupted_run_ends(tmp_path: Path) -> None:
    straight = tmp_path / "straight"
    assert _run(straight).wait(timeout=600) == 0
    killed = tmp_path / "killed"
    proc = _run(killed)
    deadline = time.monotonic() + 600
    while not (killed / "started-2").exists():  # step 2 began; checkpoint-000002 is on disk
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "final_adapter.pt").exists()
    assert (killed / "latest").read_text().strip() == "checkpoint-000002"
    resumed = _run(killed)
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read().decode() if resumed.stderr else ""
    a = torch.load(straight / "final_adapter.pt")
    b = torch.load(killed / "final_adapter.pt")
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed run differs from the straight one"
    steps = [json.loads(x)["step"] for x in (killed / "metrics.jsonl").read_text().splitlines()]
    assert steps == [0, 1, 2, 3]


def test_a_run_stopped_before_its_first_checkpoint_restarts_with_a_clean_log(
    tokenizer: Any, tmp_path: Path
) -> None:
    """An attempt killed before its first checkpoint left step 0 in metrics.jsonl; the restart
    redoes step 0 and must not log it twice (a B run's curve once did)."""
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 0, "stale": True}) + "\n")
    trainer(tokenizer, steps=1).train(tmp_path)
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0]
    assert "stale" not in rows[0]


@pytest.mark.parametrize("temperature", [0.5, 1.0])
def test_the_update_scores_the_policy_that_sampled(tokenizer: Any, temperature: float) -> None:
    """At any sampling temperature the trainer's log πold equals the sampler's log-probs (both
    of softmax(logits / T), SPEC.md); at temperature 1 alone before this was fixed."""
    t = trainer(
        tokenizer,
        temperature_start=temperature,
        temperature_end=temperature,
        use_sampler_logprobs=True,
    )
    metrics = t.step()
    assert metrics.temperature == temperature
    assert metrics.update.sampler_logp_gap < 1e-4


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_bf16_training_skips_peft_input_casts_without_changing_a_bit(
    tokenizer: Any, dtype: torch.dtype
) -> None:
    """Under autocast the trainer turns off peft's cast of each LoRA input to the adapter's
    fp32: log-probs and LoRA gradients equal those with peft casting, bit for bit, on bf16 base
    weights (the benchmark's bf16w) and on fp32 ones (the default run's)."""
    from strata_grpo import make_policy
    from strata_grpo.logprobs import completion_logprobs
    from strata_grpo.trainer import pad_batch
    from strata_rollout.testing import tiny_causal_lm

    from .tiny_setup import config, grpo_trainer, vowel_reward

    cfg = config(bf16="on")
    policy = make_policy(tiny_causal_lm(tokenizer).to(dtype), cfg)
    t = grpo_trainer(policy, tokenizer, cfg, reward_fn=vowel_reward)
    t.step()  # LoRA's B leaves zero, so the adapter's path counts
    batch = t.rollout()
    ids, att, cmask = pad_batch(batch.prompt_ids, batch.completion_ids, t.pad_id)

    def logp_and_grads(context: Any) -> tuple[torch.Tensor, list[torch.Tensor]]:
        with context:
            logp = completion_logprobs(policy, ids, att, cmask.shape[1]).float()
        return logp.detach(), list(torch.autograd.grad((logp * cmask).sum(), t.params))

    with t._autocast():
        lora = [m for m in policy.modules() if hasattr(m, "cast_input_dtype_enabled")]
        assert lora
        assert not any(m.cast_input_dtype_enabled for m in lora)
    skipped = logp_and_grads(t._autocast())
    casting = logp_and_grads(torch.autocast("cpu", dtype=torch.bfloat16))
    assert torch.equal(skipped[0], casting[0])
    assert all(torch.equal(a, b) for a, b in zip(skipped[1], casting[1], strict=True))
    assert any(bool(g.abs().sum() > 0) for g in skipped[1])


def test_the_logged_learning_rate_is_the_one_the_step_used(tokenizer: Any) -> None:
    """With warm-up the rate changes every step: step k is logged with the rate its optimizer
    step used (it was logged with step k + 1's)."""
    t = trainer(tokenizer, warmup_steps=4, learning_rate=1e-2)
    used: list[float] = []
    original = t.optimizer.step

    def spy(*args: Any, **kwargs: Any) -> Any:
        used.append(t.optimizer.param_groups[0]["lr"])
        return original(*args, **kwargs)

    t.optimizer.step = spy  # type: ignore[method-assign]
    logged = [t.step().lr for _ in range(3)]
    assert logged == pytest.approx(used)
    assert logged == pytest.approx([1e-2 * k / 4 for k in (1, 2, 3)])


def test_a_partly_skipped_step_advances_the_schedule_and_logs_finite_loss(
    tokenizer: Any,
) -> None:
    """μ = 2 with the second update's gradient non-finite: the first update is taken, so the
    learning-rate schedule advances and the loss logged is that update's (it froze the schedule
    and logged NaN)."""
    t = trainer(tokenizer, inner_updates=2, micro_batch_size=8, warmup_steps=4, learning_rate=1e-2)
    calls = {"n": 0}

    def poison_second(g: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        return g * float("nan") if calls["n"] == 2 else g

    hook = t.params[0].register_hook(poison_second)
    metrics = t.step()
    hook.remove()
    assert calls["n"] == 2  # one micro-batch an update: the hook saw each update once
    assert metrics.update.skipped == 1.0
    assert math.isfinite(metrics.update.loss)
    assert t.lr_schedule.last_epoch == 1  # advanced once
    assert t.step().lr == pytest.approx(1e-2 * 2 / 4)


def test_more_processes_than_prompts_is_refused_at_start(
    tokenizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rank without a prompt would wait in the step's collectives for ever: refused when the
    trainer is built, with the numbers to change."""
    import strata_grpo.trainer as module

    monkeypatch.setattr(module, "rank_and_world", lambda: (0, 3))
    with pytest.raises(ValueError, match=r"3 processes but train.prompts_per_step = 2"):
        trainer(tokenizer, prompts_per_step=2)


def test_the_sampler_learner_mismatch_is_logged_every_step(tokenizer: Any) -> None:
    """Every step logs how far the policy that sampled is from the one that learns (issue 37).
    HFEngine sharing the fp32 policy samples from it (its LoRA layers merged for the call: the
    same function up to rounding), so the gap is float noise; the sign of the KL estimate is
    free at that size, its magnitude is not."""
    t = trainer(tokenizer)
    for _ in range(2):
        m = t.step()
        assert 0.0 <= m.update.sampler_logp_gap <= m.update.sampler_logp_gap_max < 1e-3
        assert abs(m.update.sampler_kl) <= m.update.sampler_logp_gap + 1e-12


def test_an_engine_sampling_the_policy_itself_is_pushed_no_weights(tokenizer: Any) -> None:
    """The seam is strata-rollout's SharedPolicyEngine protocol, not a class test: an HFEngine
    over the policy shares it; one over another model (a copy) is pushed merged weights."""
    import copy

    from strata_curriculum import UCBScheduler
    from strata_grpo import GRPOTrainer, make_policy
    from strata_rollout import HFEngine
    from strata_rollout.testing import tiny_causal_lm

    from .tiny_setup import config, grpo_trainer, tasks

    cfg = config()
    policy = make_policy(tiny_causal_lm(tokenizer), cfg)
    assert grpo_trainer(policy, tokenizer, cfg).shares_policy
    other = GRPOTrainer(
        policy,
        tokenizer,
        tasks(),
        cfg,
        engine=HFEngine(copy.deepcopy(policy), tokenizer, seed=0),
        scheduler=UCBScheduler(list(tasks()), seed=0),
    )
    assert not other.shares_policy


def test_a_scheduler_over_other_domains_is_refused(tokenizer: Any) -> None:
    from strata_curriculum import UCBScheduler
    from strata_grpo import GRPOTrainer, make_policy
    from strata_rollout import HFEngine
    from strata_rollout.testing import tiny_causal_lm

    from .tiny_setup import config, tasks

    cfg = config()
    policy = make_policy(tiny_causal_lm(tokenizer), cfg)
    with pytest.raises(ValueError, match="the scheduler mixes \\['gsm8k'\\] but the tasks"):
        GRPOTrainer(
            policy,
            tokenizer,
            tasks(),
            cfg,
            engine=HFEngine(policy, tokenizer, seed=0),
            scheduler=UCBScheduler(["gsm8k"], seed=0),
        )


def _policy_entropy(t: Any) -> float:
    """Mean entropy of the policy's next-token distribution over a fixed text."""
    from strata_grpo import completion_logprobs

    ids = torch.tensor([t.tokenizer.encode("Tom has 3 apples and buys 4 more. How many now?")])
    with torch.no_grad():
        both = completion_logprobs(
            t.policy, ids, torch.ones_like(ids), ids.shape[1] - 1, with_entropy=True
        )
    return float(both[..., 1].mean())


def test_the_entropy_bonus_alone_raises_the_policys_entropy(tokenizer: Any) -> None:
    """With outcome-free rewards all equal, advantages are zero: only the bonus moves the
    adapter, and it moves it towards a flatter distribution."""
    from .tiny_setup import Breakdown, config, grpo_trainer

    def flat(domain: str, text: str, gold: Any) -> Breakdown:
        return Breakdown(total=0.5, outcome=0.0)

    from strata_grpo import make_policy
    from strata_rollout.testing import tiny_causal_lm

    def build(coef: float) -> Any:
        cfg = config(entropy_coef=coef, learning_rate=1e-3)
        policy = make_policy(tiny_causal_lm(tokenizer), cfg)
        return grpo_trainer(policy, tokenizer, cfg, reward_fn=flat)

    still = build(0.0)
    before = adapter(still)
    still.step()
    still.step()  # LoRA's B starts at 0: the first step moves B only, the second A too
    assert not _changed(before, adapter(still))
    bonus = build(1.0)
    start = _policy_entropy(bonus)
    bonus.step()
    bonus.step()
    assert _changed(before, adapter(bonus))
    assert _policy_entropy(bonus) > start


def test_groups_with_equal_outcomes_can_be_left_out_of_the_loss(tokenizer: Any) -> None:
    """The vowel reward varies within a group, but with every outcome equal the groups teach
    only style: dropped, they move nothing; kept, they move the adapter."""
    from .tiny_setup import Breakdown, config, grpo_trainer, vowel_reward

    def style_only(domain: str, text: str, gold: Any) -> Breakdown:
        return Breakdown(total=vowel_reward(domain, text, gold).total, outcome=0.0)

    from strata_grpo import make_policy
    from strata_rollout.testing import tiny_causal_lm

    for drop in (True, False):
        cfg = config(drop_equal_outcome_groups=drop)
        policy = make_policy(tiny_causal_lm(tokenizer), cfg)
        t = grpo_trainer(policy, tokenizer, cfg, reward_fn=style_only)
        before = adapter(t)
        metrics = t.step()
        assert metrics.update.tokens == (0 if drop else metrics.update.tokens)
        assert _changed(before, adapter(t)) is not drop


def _flat_in_strategyqa(domain: str, text: str, gold: Any) -> Any:
    """The vowel reward in gsm8k; a flat 0.4 in strategyqa, whose groups so get advantage 0."""
    from .tiny_setup import Breakdown

    if domain == "strategyqa":
        return Breakdown(total=0.4, outcome=0.0)
    return vowel_reward(domain, text, gold)


@pytest.mark.parametrize("aggregation", ["token_mean", "sequence_mean"])
def test_a_micro_batch_with_zero_advantages_is_skipped_and_changes_no_bit(
    tokenizer: Any, monkeypatch: pytest.MonkeyPatch, aggregation: str
) -> None:
    """At μ = 1, β = 0, a group whose rewards are all equal has advantage 0 and its gradient is
    exactly 0: its micro-batch is not computed, and the gradient the optimizer receives, the
    loss and the ratios equal, to the bit, what computing every micro-batch gives."""
    from strata_grpo import trainer as module

    def one_step(skip: bool) -> tuple[dict[str, torch.Tensor], Any, int]:
        if not skip:  # the reference: every row with tokens computed
            monkeypatch.setattr(
                module,
                "rows_that_learn",
                lambda mask, adv, zero_advantage_is_idle: mask.bool().any(1),
            )
        cfg = config(aggregation=aggregation, prompts_per_step=4)
        t = grpo_trainer(
            make_policy(tiny_causal_lm(tokenizer), cfg),
            tokenizer,
            cfg,
            reward_fn=_flat_in_strategyqa,
        )
        calls = 0
        forward = t._logprobs_and_entropy

        def counted(*args: Any) -> Any:
            nonlocal calls
            calls += 1
            return forward(*args)

        t._logprobs_and_entropy = counted
        metrics: list[Any] = []
        step = t.step
        t.step = lambda: metrics.append(step()) or metrics[-1]
        grads = _gradient_at_optimizer_step(t)
        monkeypatch.undo()
        return grads, metrics[0], calls

    skipped, kept = one_step(skip=True), one_step(skip=False)
    assert 0 < skipped[2] < kept[2], "some micro-batches, not all, must be idle"
    assert any(float(g.abs().max()) > 0 for g in kept[0].values())
    for k in kept[0]:
        assert torch.equal(skipped[0][k], kept[0][k]), k
    for key in ("loss", "policy_loss", "kl", "clip_fraction", "ratio_mean", "ratio_min"):
        assert getattr(skipped[1].update, key) == getattr(kept[1].update, key), key
    assert skipped[1].update.grad_norm == kept[1].update.grad_norm
    assert skipped[1].update.tokens == kept[1].update.tokens


@given(
    st.lists(st.tuples(st.integers(0, 3), st.sampled_from([0.0, -1.5, 0.25])), max_size=12),
    st.booleans(),
)
def test_rows_that_learn_are_those_with_tokens_and_if_asked_an_advantage(
    rows: list[tuple[int, float]], idle: bool
) -> None:
    from strata_grpo.trainer import rows_that_learn

    mask = torch.tensor([[1.0] * n + [0.0] * (3 - n) for n, _ in rows]).reshape(len(rows), 3)
    adv = torch.tensor([a for _, a in rows])
    got = rows_that_learn(mask, adv, zero_advantage_is_idle=idle).tolist()
    assert got == [n > 0 and (a != 0 or not idle) for n, a in rows]


@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 1.0]), st.integers(0, 10).map(lambda i: i / 10)),
        min_size=1,
        max_size=16,
    ),
    st.floats(0.1, 10),
)
def test_structure_share_is_the_format_part_of_the_reward_earned(
    parts: list[tuple[float, float]], factor: float
) -> None:
    """In [0, 1]; 0 where nothing was earned, 1 where every completion is wrong but shaped; a
    domain's reward scale (every term times a factor) leaves it alone."""
    from strata_grpo.trainer import structure_share

    from .tiny_setup import Breakdown

    def share(k: float) -> float:
        return structure_share([Breakdown(0.0, k * o, k * s) for o, s in parts])

    plain = share(1.0)
    assert 0.0 <= plain <= 1.0
    assert share(factor) == pytest.approx(plain)
    if all(o == 0.0 for o, _ in parts):
        assert plain == (1.0 if any(s > 0 for _, s in parts) else 0.0)
    if all(s == 0.0 for _, s in parts):
        assert plain == 0.0


def test_mixed_outcome_rows_marks_each_completion_by_its_group() -> None:
    from strata_grpo.trainer import mixed_outcome_rows

    from .tiny_setup import Breakdown

    outcomes = [1, 0, 1, 1, 0, 0]
    rows = mixed_outcome_rows([0, 0, 1, 1, 2, 2], [Breakdown(o, o) for o in outcomes])
    assert rows.tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]


def test_the_stage_clock_adds_up_a_stage_entered_twice_and_refuses_unknown_names() -> None:
    clock = StageClock(torch.device("cpu"))
    for _ in range(2):
        with clock.stage("optimizer"):
            time.sleep(0.01)
    assert 0.02 <= clock.seconds["optimizer"] < 1.0
    assert clock.seconds["forward_backward"] == 0.0
    with pytest.raises(KeyError, match="unknown stage 'backward'"), clock.stage("backward"):
        pass


def test_an_engine_in_the_learners_precision_samples_closer_to_the_learner(
    tokenizer: Any,
) -> None:
    """With bf16 training, an fp32 sampler differs from the learner by bf16's rounding of every
    weight; one in the learner's precision (HFEngine ``autocast``, rollout.hf_precision =
    learner) computes the same products, and differs only by their shapes (a KV cache, fewer
    rows). Two steps, so that the second samples a trained, non-zero adapter; at step 0 (no
    update) the shapes' own bf16 noise can come near fp32's on a real model (docs/rollout.md),
    so the test is the trained step and the two together."""
    gaps = {}
    for name, autocast in {"fp32": None, "learner": torch.bfloat16}.items():
        cfg = config(bf16="on")
        policy = make_policy(tiny_causal_lm(tokenizer), cfg)
        engine = HFEngine(policy, tokenizer, seed=rank_seed(cfg.seed), autocast=autocast)
        t = grpo_trainer(policy, tokenizer, cfg, reward_fn=vowel_reward, engine=engine)
        gaps[name] = [t.step().update.sampler_logp_gap for _ in range(2)]
    assert gaps["learner"][1] < gaps["fp32"][1], gaps
    assert sum(gaps["learner"]) < sum(gaps["fp32"]), gaps


def test_a_domain_whose_examples_name_a_stratum_logs_its_accuracy_by_stratum(
    tokenizer: Any,
) -> None:
    """gsm8k's examples name a skill, balanced: a step of two gsm8k prompts takes one of each,
    and the row splits gsm8k's accuracy by skill; strategyqa, whose examples name none, gets no
    such column."""
    from strata_curriculum import UniformScheduler
    from strata_grpo import Example, GRPOTrainer

    from .tiny_setup import tasks

    named = tasks()
    named["gsm8k"] = [
        Example(ex.prompt, ex.gold, ex.id, stratum="easy" if i % 2 else "hard")
        for i, ex in enumerate(named["gsm8k"])
    ]
    cfg = config(prompts_per_step=4, balanced=("gsm8k",))
    policy = make_policy(tiny_causal_lm(tokenizer), cfg)
    t = GRPOTrainer(
        policy,
        tokenizer,
        named,
        cfg,
        engine=HFEngine(policy, tokenizer, seed=rank_seed(cfg.seed)),
        scheduler=UniformScheduler(list(named), seed=cfg.seed),
        reward_fn=vowel_reward,
    )
    metrics = t.step()
    row = metrics.row()
    by_stratum = metrics.domains["gsm8k"].accuracy_by_stratum
    assert by_stratum is not None
    assert set(by_stratum) == {"easy", "hard"}  # two prompts, balanced: one of each
    assert row["gsm8k/accuracy/easy"] == by_stratum["easy"]
    # Equal groups of each: the domain's accuracy is the mean of its strata's.
    assert math.isclose(row["gsm8k/accuracy"], sum(by_stratum.values()) / 2, abs_tol=1e-9)
    assert not any(k.startswith("strategyqa/accuracy/") for k in row)
    assert "gsm8k/accuracy_by_stratum" not in row
    assert json.loads(json.dumps(row)) == row


@pytest.mark.parametrize("name", ["temperature_start", "temperature_end"])
def test_a_greedy_rollout_is_refused_for_training(name: str) -> None:
    """At temperature 0 a group is one completion G times: every group all-equal, no gradient.
    It was accepted and trained on nothing."""
    from strata_grpo import GRPOConfig

    with pytest.raises(ValueError, match=rf"{name} must be > 0: at temperature 0 every sample"):
        GRPOConfig(**{name: 0.0})
    assert getattr(GRPOConfig(**{name: 0.01}), name) == 0.01


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("learning_rate", math.nan, "learning_rate must be a finite number"),
        ("top_p", 0.0, r"top_p must be in \(0, 1\]"),
        ("lora_dropout", 1.0, r"lora_dropout must be in \[0, 1\)"),
        ("lora_alpha", 0, "lora_alpha must be > 0"),
        ("importance_cap", 0.0, "importance_cap must be > 0"),
        ("keep_checkpoints", 0, "keep_checkpoints >= 1"),  # [:-0] kept every checkpoint
    ],
)
def test_values_outside_their_range_are_refused_when_the_config_is_made(
    field: str, value: float, message: str
) -> None:
    from strata_grpo import GRPOConfig

    with pytest.raises(ValueError, match=message):
        GRPOConfig(**{field: value})


@pytest.mark.parametrize("field", ["stop", "balanced"])
def test_a_bare_string_for_a_tuple_field_is_refused_when_the_config_is_made(field: str) -> None:
    # stop="</answer>" reached SamplingConfig at the first step, after the model had loaded.
    from strata_grpo import GRPOConfig

    with pytest.raises(TypeError, match=f"{field} must be a tuple of strings, got the string"):
        GRPOConfig(**{field: "sum"})  # type: ignore[arg-type]
