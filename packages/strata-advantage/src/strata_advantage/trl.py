"""SAN (or any registered estimator) inside TRL's ``GRPOTrainer``.

    pip install "strata-advantage[trl]"

    from strata_advantage.trl import StratifiedGRPOTrainer

    trainer = StratifiedGRPOTrainer(
        model=..., reward_funcs=..., args=GRPOConfig(...),
        train_dataset=dataset,  # with a "domain" column next to "prompt"
        domain_column="domain", estimator="san",
    )

TRL computes the group advantage inline in ``_generate_and_score_completions``. This subclass
keeps everything TRL does (generation, reward functions, importance sampling, logging) and
replaces only the advantages it hands to the loss: it records the rewards TRL gathered from every
process and the domain column of every row, computes ``compute_advantages`` over the whole
global batch (completions of one prompt are consecutive, ``num_generations`` of them), and keeps
this process's slice, as TRL does. Completions every reward function declined (``None``) are
masked: advantage 0, left out of every statistic, as in TRL. Per-domain SAN diagnostics go to
TRL's metrics as ``san/<domain>/{spread,zero_var_groups,regime}`` (regime 0 centre only,
1 damped, 2 z-normalised).

Rewards are the weighted sum of the reward functions (TRL's ``sum_then_normalize``); the
``normalize_then_sum`` aggregation normalises per function before SAN could see the domains, so it
is refused. Written against TRL 1.16's private method names, which are checked at import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import datasets
import torch
from accelerate.utils import gather_object
from trl import GRPOTrainer

from strata_advantage.api import compute_advantages
from strata_advantage.estimators import check_estimator_options

_HOOKS = ("_calculate_rewards", "_generate_and_score_completions")
_missing = [name for name in _HOOKS if not hasattr(GRPOTrainer, name)]
if _missing:  # pragma: no cover - depends on the installed TRL
    raise ImportError(
        f"this TRL's GRPOTrainer has no {', '.join(_missing)}; strata_advantage.trl is written "
        "against TRL 1.16 (pip install 'strata-advantage[trl]')"
    )

_REGIME_CODE = {"centre_only": 0.0, "damped": 1.0, "z_norm": 2.0}


def _check_domain_column(ds: object, name: str, column: str) -> None:
    """Name a missing domain column before training, where the dataset says its columns (a
    streamed one may not: its rows are checked as they come)."""
    if not isinstance(ds, datasets.Dataset | datasets.IterableDataset):
        return
    columns = ds.column_names
    if columns is not None and column not in columns:
        raise ValueError(
            f"{name} has no {column!r} column (columns: {', '.join(columns)}); "
            "StratifiedGRPOTrainer reads each prompt's domain there (domain_column=...)"
        )


class StratifiedGRPOTrainer(GRPOTrainer):  # type: ignore[misc]
    """TRL's ``GRPOTrainer`` with strata-advantage's advantages (SAN by default).

    Args (on top of ``GRPOTrainer``'s):
        domain_column: dataset column holding each prompt's domain (any hashable label).
        estimator: a registered strata-advantage estimator.
        estimator_options: its options, e.g. ``{"zero_var": 1e-2, "low_var": 5e-2, "clip": 5.0}``.
    """

    def __init__(
        self,
        *args: Any,
        domain_column: str = "domain",
        estimator: str = "san",
        estimator_options: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        options = dict(estimator_options or {})
        check_estimator_options(estimator, options)  # names the registered ones, or the options
        super().__init__(*args, **kwargs)
        aggregation = getattr(self.args, "multi_objective_aggregation", "sum_then_normalize")
        if aggregation != "sum_then_normalize":
            raise ValueError(
                "args.multi_objective_aggregation: StratifiedGRPOTrainer needs "
                f"'sum_then_normalize' (the raw reward per completion), not {aggregation!r}"
            )
        _check_domain_column(self.train_dataset, "train_dataset", domain_column)
        evals = (
            self.eval_dataset if isinstance(self.eval_dataset, dict) else {"": self.eval_dataset}
        )
        for name, ds in evals.items():
            _check_domain_column(
                ds, f"eval_dataset[{name!r}]" if name else "eval_dataset", domain_column
            )
        self.domain_column = domain_column
        self.estimator = estimator
        self.estimator_options = options
        self._pending: tuple[torch.Tensor, list[Any]] | None = None

    def _calculate_rewards(
        self,
        inputs: Sequence[dict[str, Any]],
        prompts: Any,
        completions: Any,
        completion_ids_list: Any,
    ) -> torch.Tensor:
        rewards_per_func: torch.Tensor = super()._calculate_rewards(
            inputs, prompts, completions, completion_ids_list
        )
        local_domains = []
        for row, example in enumerate(inputs):
            if self.domain_column not in example:
                raise KeyError(
                    f"row {row} of the batch has no {self.domain_column!r} column (columns: "
                    f"{sorted(example)}); StratifiedGRPOTrainer reads each prompt's domain there"
                )
            local_domains.append(example[self.domain_column])
        # TRL gathers the rewards of every process; the domains must line up with them.
        self._pending = (rewards_per_func, list(gather_object(local_domains)))
        return rewards_per_func

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        self._pending = None
        output: dict[str, Any] = super()._generate_and_score_completions(inputs)
        if self._pending is None:  # pragma: no cover - TRL always scores
            raise RuntimeError("TRL did not call _calculate_rewards: incompatible TRL version")
        rewards_per_func, domains = self._pending
        self._pending = None
        mode = "train" if self.model.training else "eval"
        group_size = self.num_generations if mode == "train" else self.num_generations_eval

        weights = self.reward_weights.to(rewards_per_func.device)
        rewards = (rewards_per_func * weights.unsqueeze(0)).nansum(dim=1)
        rewards[torch.isnan(rewards_per_func).all(dim=1)] = torch.nan  # every function declined
        groups = torch.arange(len(rewards), device=rewards.device) // group_size
        result = compute_advantages(
            rewards,
            groups,
            domains,
            self.estimator,
            nan_policy="mask",
            return_diagnostics=True,
            **self.estimator_options,
        )
        local = len(output["advantages"])
        start = self.accelerator.process_index * local
        output["advantages"] = result.advantages[start : start + local].to(
            output["advantages"].dtype
        )

        # TRL logged its own advantages for the completions table; show ours instead.
        logged = self._logs["advantages"]
        for _ in range(min(len(rewards), len(logged))):
            logged.pop()
        logged.extend(result.advantages.tolist())
        for domain, diag in result.diagnostics.items():
            metrics = self._metrics[mode]
            metrics[f"san/{domain}/spread"].append(diag.spread)
            metrics[f"san/{domain}/zero_var_groups"].append(diag.zero_variance_group_share)
            if diag.regime is not None:
                metrics[f"san/{domain}/regime"].append(_REGIME_CODE[diag.regime])
        return output
