"""Wilson intervals and the before/after comparison."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_rewards.evaluation import most_common_answer, results_markdown
from strata_trainer import DomainResult, compare, wilson


def test_wilson_matches_published_values() -> None:
    low, high = wilson(8, 10)  # 95 %: [0.490, 0.943]
    assert low == pytest.approx(0.4902, abs=1e-3)
    assert high == pytest.approx(0.9433, abs=1e-3)
    assert wilson(0, 10)[0] == 0.0
    assert wilson(0, 0) == (0.0, 1.0)


@given(st.integers(0, 500), st.integers(1, 500))
def test_the_interval_holds_the_estimate(k: int, n: int) -> None:
    k = min(k, n)
    low, high = wilson(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0


def _result(domain: str, correct: int, n: int) -> DomainResult:
    low, high = wilson(correct, n)
    return DomainResult(domain, n, correct, correct / n, low, high, 1.0, 0.0, 0.0)


def test_a_drop_beyond_the_interval_is_flagged() -> None:
    before = {"a": _result("a", 50, 100), "b": _result("b", 50, 100)}
    after = {"a": _result("a", 45, 100), "b": _result("b", 30, 100)}
    rows = {c.domain: c for c in compare(before, after)}
    assert not rows["a"].flagged
    assert rows["b"].flagged
    assert rows["b"].delta == pytest.approx(-0.2)


@given(st.dictionaries(st.text(min_size=1), st.integers(1, 50), min_size=1, max_size=5))
def test_the_most_common_answer_is_one_table_cell(answers: dict[str, int]) -> None:
    n = sum(answers.values())
    cell = most_common_answer(answers, n)
    top = max(answers.values())
    assert cell.endswith(f"({top / n:.3f})")
    assert "|" not in cell
    assert len(cell.splitlines()) == 1
    result = _result("a", 1, n)
    result.answers = answers
    row = results_markdown({"a": result}).splitlines()[4]
    assert row.count("|") == 12  # eleven columns, whatever the answer's text


def test_a_result_written_before_answers_were_counted_shows_a_dash() -> None:
    assert most_common_answer({}, 10) == "—"
    assert "| — |" in results_markdown({"a": _result("a", 5, 10)})


def test_evaluation_leaves_the_engines_seed_stream_where_it_was() -> None:
    """The grids' first run evaluated the base model through its vLLM training engine, which
    advanced the seed stream: its training samples differed from every later run's at the same
    seed. Greedy calls now leave the stream alone (the contract tests check both engines);
    checked here end to end on HFEngine."""
    from strata_rewards.data import Item
    from strata_rollout import HFEngine, SamplingConfig, load_tokenizer
    from strata_rollout.testing import tiny_causal_lm
    from strata_trainer.evaluate import evaluate

    tokenizer = load_tokenizer("smollm2")
    model = tiny_causal_lm(tokenizer)
    sampled = SamplingConfig(max_new_tokens=6, temperature=1.0)
    held = {"strategyqa": [Item("Is the sky green?", False, "test:1")]}

    fresh = HFEngine(model, tokenizer, seed=5)
    expected = fresh.generate(["Hello"], 3, sampled)
    evaluated = HFEngine(model, tokenizer, seed=5)
    evaluate(evaluated, held, max_new_tokens=4)
    assert evaluated.state_dict() == {"seed": 5, "calls": 0}
    got = evaluated.generate(["Hello"], 3, sampled)
    assert [c.completion_ids for c in got[0]] == [c.completion_ids for c in expected[0]]


def _binomial_two_sided_by_enumeration(gained: int, lost: int) -> float:
    """Oracle: the two-sided exact binomial p of ``gained`` of n = gained + lost at p = 1/2,
    summing the probability of every outcome no more likely than the one seen."""
    import math

    n = gained + lost
    if n == 0:
        return 1.0
    probs = [math.comb(n, i) / 2**n for i in range(n + 1)]
    seen = probs[gained]
    return min(1.0, sum(p for p in probs if p <= seen * (1 + 1e-12)))


@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=60))
def test_mcnemar_is_the_exact_binomial_test_of_the_discordant_pairs(
    pairs: list[tuple[bool, bool]],
) -> None:
    from strata_rewards.stats import mcnemar_p

    before, after = [int(b) for b, _ in pairs], [int(a) for _, a in pairs]
    gained = sum(a and not b for b, a in pairs)
    lost = sum(b and not a for b, a in pairs)
    assert mcnemar_p(before, after) == pytest.approx(
        _binomial_two_sided_by_enumeration(gained, lost)
    )
    assert mcnemar_p(before, after) == pytest.approx(mcnemar_p(after, before))  # symmetric


def test_a_paired_comparison_counts_items_gained_and_lost() -> None:
    before = _result("a", 3, 10)
    after = _result("a", 9, 10)
    before.outcomes = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    after.outcomes = [1, 1, 0, 1, 1, 1, 1, 1, 1, 1]
    (row,) = compare({"a": before}, {"a": after})
    assert (row.gained, row.lost) == (7, 1)
    assert row.p_value == pytest.approx(2 * (1 + 8) / 2**8)  # 1 of 8 discordant
    assert not row.improved  # [0.596, 0.982] overlaps [0.108, 0.603] by 0.007
    wide = compare({"a": _result("a", 30, 100)}, {"a": _result("a", 60, 100)})[0]
    assert wide.improved
    unpaired = compare({"a": _result("a", 3, 10)}, {"a": _result("a", 9, 10)})[0]
    assert unpaired.p_value is None


def test_only_evaluations_of_the_same_items_are_paired() -> None:
    """Two samples of one size (strata-eval --seed 1 --compare a run's eval_before.json) were
    paired item by item: a McNemar p of items that are not the same."""
    from strata_rewards import Prompting
    from strata_rewards.data import load_synthetic
    from strata_rewards.evaluation import score_domain

    def evaluated(seed: int) -> DomainResult:
        items = load_synthetic("sum", "eval", 10, seed=seed, difficulty=1)
        return score_domain("sum", items, ["<answer>1</answer>"] * 10, Prompting())

    first, again, other = evaluated(0), evaluated(0), evaluated(1)
    assert first.items_key == again.items_key != other.items_key
    assert compare({"sum": first}, {"sum": again})[0].p_value == 1.0  # paired: none differ
    assert compare({"sum": first}, {"sum": other})[0].p_value is None  # not the same items
    old = DomainResult(**{**first.__dict__, "items_key": ""})  # written before the key was kept
    assert compare({"sum": old}, {"sum": other})[0].p_value == 1.0  # as before: by length


def test_lenient_accuracy_reads_an_answer_outside_the_tag() -> None:
    from strata_rewards.evaluation import _lenient_correct

    assert _lenient_correct("gsm8k", "3 + 4 = 7, so 7", 7)
    assert not _lenient_correct("gsm8k", "3 + 4 = 8", 7)
    assert _lenient_correct("strategyqa", "<think>it is</think> Yes.", True)


def test_before_and_after_by_skill_show_a_domain_that_learned_its_easy_half() -> None:
    """A sum that rose on the items without a carry and fell on the rest (docs/results.md, the
    fp32 grid's seed 4): its accuracy hides it, the skill table shows it; MMLU's 57 subjects
    (more than 8) are left to the per-subject tables."""
    from strata_rewards.evaluation import subjects_comparison_markdown

    before, after = _result("sum", 72, 200), _result("sum", 55, 200)
    before.per_subject = {
        "carry": {"n": 89, "accuracy": 0.326},
        "no carry": {"n": 111, "accuracy": 0.387},
    }
    after.per_subject = {
        "carry": {"n": 89, "accuracy": 0.056},
        "no carry": {"n": 111, "accuracy": 0.450},
    }
    many = {f"s{i}": {"n": 3, "accuracy": 0.5} for i in range(57)}
    mmlu_b, mmlu_a = _result("mmlu", 50, 200), _result("mmlu", 50, 200)
    mmlu_b.per_subject = mmlu_a.per_subject = many
    table = subjects_comparison_markdown(
        {"sum": before, "mmlu": mmlu_b}, {"sum": after, "mmlu": mmlu_a}
    )
    assert "| sum | carry | 89 | 0.326 | 0.056 | -0.270 |" in table
    assert "| sum | no carry | 111 | 0.387 | 0.450 | +0.063 |" in table
    assert "mmlu" not in table
    assert subjects_comparison_markdown({"sum": _result("sum", 1, 2)}, {"sum": after}) == ""
    assert "sum per subject (MMLU) or skill" in results_markdown({"sum": after})
