"""StratifiedGRPOTrainer inside real TRL: a tiny random Llama with a byte-level tokenizer, both
built here, trained for real steps; the advantages TRL's loss receives are checked against
compute_advantages over the rewards TRL's reward functions returned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from strata_advantage import compute_advantages

pytest.importorskip("trl", reason="TRL is an optional extra: strata-advantage[trl]")
torch = pytest.importorskip("torch")

from datasets import Dataset  # noqa: E402  (TRL's own dependency)
from tokenizers import Tokenizer, decoders, models, pre_tokenizers  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast  # noqa: E402
from trl import GRPOConfig  # noqa: E402

from strata_advantage.trl import StratifiedGRPOTrainer  # noqa: E402

GROUP = 4
# Domain "loud" pays 1000x what "quiet" pays: TRL's batch scaling would let it drown "quiet".
SCALE = {"quiet": 1.0, "loud": 1000.0}


def byte_tokenizer() -> Any:
    """Byte-level BPE with no merges: one token per byte, plus pad and eos."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    vocab.update({"<pad>": len(vocab), "</s>": len(vocab) + 1})
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="</s>")


def tiny_llama(tokenizer: Any) -> Any:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    return LlamaForCausalLM(config)


def dataset() -> Any:
    rows = [{"prompt": f"quiet prompt {i}:", "domain": "quiet"} for i in range(4)]
    rows += [{"prompt": f"loud prompt {i}:", "domain": "loud"} for i in range(4)]
    return Dataset.from_list(rows)


class Recorder:
    """A TRL reward function that remembers what it was asked and what it answered."""

    __name__ = "recorder"

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, prompts: list[str], completions: list[str], **kw: Any) -> list[float | None]:
        pairs = zip(completions, kw["domain"], strict=True)
        rewards: list[float | None] = [float(sum(map(ord, c)) % 5) * SCALE[d] for c, d in pairs]
        rewards[-1] = None  # one completion the function declines: TRL's unscorable row
        self.calls.append({"prompts": prompts, "domains": list(kw["domain"]), "rewards": rewards})
        return rewards


class Capturing(StratifiedGRPOTrainer):
    """Keeps the advantages handed to the loss."""

    captured: list[Any]

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        output = super()._generate_and_score_completions(inputs)
        self.captured.append(output["advantages"].detach().clone())
        return output


def make_trainer(tmp_path: Path, reward: Recorder, **kwargs: Any) -> Capturing:
    tokenizer = byte_tokenizer()
    args = GRPOConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        bf16=False,
        per_device_train_batch_size=2 * GROUP,
        num_generations=GROUP,
        max_completion_length=8,
        beta=0.0,
        learning_rate=1e-2,
        max_steps=3,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        seed=0,
        **kwargs.pop("args", {}),
    )
    trainer = Capturing(
        model=tiny_llama(tokenizer),
        reward_funcs=[reward],
        args=args,
        train_dataset=dataset(),
        processing_class=tokenizer,
        **kwargs,
    )
    trainer.captured = []
    return trainer


@pytest.mark.slow
def test_the_loss_receives_san_of_the_rewards_trl_gathered(tmp_path: Path) -> None:
    reward = Recorder()
    trainer = make_trainer(tmp_path, reward)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train()

    assert len(reward.calls) == len(trainer.captured) == 3
    for call, advantages in zip(reward.calls, trainer.captured, strict=True):
        prompts = call["prompts"]
        # The adapter's grouping assumption, checked on what TRL really did.
        for start in range(0, len(prompts), GROUP):
            assert len(set(prompts[start : start + GROUP])) == 1
        rewards = np.array([np.nan if r is None else r for r in call["rewards"]])
        groups = np.arange(len(rewards)) // GROUP
        expected = compute_advantages(rewards, groups, call["domains"], nan_policy="mask")
        np.testing.assert_allclose(advantages.numpy(), expected, rtol=1e-5, atol=1e-6)
        assert advantages[-1] == 0  # the declined completion is masked
        # Stratified: each domain's advantages are what it would get alone, whatever "loud" pays.
        for domain in set(call["domains"]):
            mine = np.array([d == domain for d in call["domains"]])
            alone = compute_advantages(rewards[mine], groups[mine], nan_policy="mask")
            np.testing.assert_allclose(advantages.numpy()[mine], alone, rtol=1e-5, atol=1e-6)

    # Real steps happened: non-zero advantages, so the loss moved the weights.
    assert any(bool(a.abs().sum() > 0) for a in trainer.captured)
    after = list(trainer.model.parameters())
    assert any(not torch.equal(b, a) for b, a in zip(before, after, strict=True))
    logged = [k for k in trainer.state.log_history[0] if k.startswith("san/")]
    assert logged, trainer.state.log_history[0]


def test_a_missing_domain_column_is_named_before_training(tmp_path: Path) -> None:
    # Until 2026-12-07 it surfaced in the first step, after a whole generation.
    with pytest.raises(
        ValueError, match="train_dataset has no 'subject' column \\(columns: prompt"
    ):
        make_trainer(tmp_path, Recorder(), domain_column="subject")
    with pytest.raises(ValueError, match="eval_dataset has no 'domain' column"):
        make_trainer(tmp_path, Recorder(), eval_dataset=Dataset.from_list([{"prompt": "p"}]))


@pytest.mark.slow
def test_a_row_without_the_domain_column_names_it(tmp_path: Path) -> None:
    # A streamed dataset may not say its columns: its rows are checked as they come.
    trainer = make_trainer(tmp_path, Recorder())
    trainer.domain_column = "subject"
    with pytest.raises(KeyError, match="row 0 of the batch has no 'subject' column"):
        trainer.train()


def test_unknown_estimator_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="zero_varr"):
        make_trainer(tmp_path, Recorder(), estimator_options={"zero_varr": 0.1})
    with pytest.raises(ValueError, match="not registered"):
        make_trainer(tmp_path, Recorder(), estimator="sann")


def test_normalize_then_sum_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sum_then_normalize"):
        make_trainer(
            tmp_path, Recorder(), args={"multi_objective_aggregation": "normalize_then_sum"}
        )
