"""strata_rewards — answer verifiers, reasoning templates, repetition penalty, composite reward.

No dependencies beyond the standard library. Also here: the benchmarks' loaders
(``strata_rewards.data``: the original GSM8K, MMLU and StrategyQA files, errors that name the
file, row and field) and the built-in synthetic domains (``strata_rewards.synthetic``), so a
user of this package alone gets the trainer's items, prompts and scores.

    >>> from strata_rewards import score, verify
    >>> verify("gsm8k", "She makes 9 * 2 = $18 a day. #### 18", "#### 18")
    True
    >>> verify("mmlu", "The answer is (b).", "B")
    True
    >>> score("strategyqa", "<answer>No.</answer>", False).outcome
    1.0

See ``docs/rewards.md``.
"""

# The built-in synthetic domains (arithmetic, sum, add_digit, ...) register as aliases of the
# benchmark domain they are scored as, so ``score("sum", ...)`` works on import.
from strata_rewards import synthetic
from strata_rewards.domains import (
    ENTRY_POINT_GROUP,
    Answer,
    Domain,
    Gold,
    GoldError,
    available_domains,
    get_domain,
    register_alias,
    register_domain,
)
from strata_rewards.extract import AnswerSpan, answer_span
from strata_rewards.prompting import EXAMPLES, Prompting
from strata_rewards.repetition import WordSplit, is_degenerate, repetition_rate
from strata_rewards.scoring import (
    DEFAULT_WEIGHTS,
    RewardBreakdown,
    Weights,
    extract_answer,
    score,
    verify,
)
from strata_rewards.templates import (
    KNOWLEDGE,
    LIGHT,
    MATH,
    STRATEGY,
    TEMPLATE_SETS,
    Template,
    structure_score,
    template_for,
)
from strata_rewards.trl import as_trl_reward_funcs

__all__ = [
    "DEFAULT_WEIGHTS",
    "ENTRY_POINT_GROUP",
    "EXAMPLES",
    "KNOWLEDGE",
    "LIGHT",
    "MATH",
    "STRATEGY",
    "TEMPLATE_SETS",
    "Answer",
    "AnswerSpan",
    "Domain",
    "Gold",
    "GoldError",
    "Prompting",
    "RewardBreakdown",
    "Template",
    "Weights",
    "WordSplit",
    "answer_span",
    "as_trl_reward_funcs",
    "available_domains",
    "extract_answer",
    "get_domain",
    "is_degenerate",
    "register_alias",
    "register_domain",
    "repetition_rate",
    "score",
    "structure_score",
    "synthetic",
    "template_for",
    "verify",
]
