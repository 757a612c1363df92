"""strata_trainer — ``strata-train`` and ``strata-eval``: domains as data (benchmark files, hub
ids, synthetic generators), the full multi-domain GRPO run, evaluation with Wilson intervals,
reports with plots. See ``docs/trainer.md``."""

from strata_rewards.data import DataError, Item, load_benchmark, load_synthetic, prompt_for
from strata_rewards.evaluation import DomainResult, compare
from strata_rewards.stats import wilson
from strata_trainer.config import (
    ConfigError,
    DataConfig,
    EvalConfig,
    LogConfig,
    ModelConfig,
    RolloutConfig,
    RunConfig,
    build_config,
)
from strata_trainer.evaluate import evaluate

__all__ = [
    "ConfigError",
    "DataConfig",
    "DataError",
    "DomainResult",
    "EvalConfig",
    "Item",
    "LogConfig",
    "ModelConfig",
    "RolloutConfig",
    "RunConfig",
    "build_config",
    "compare",
    "evaluate",
    "load_benchmark",
    "load_synthetic",
    "prompt_for",
    "wilson",
]
