"""Hypothesis properties of the verifiers, the structure score, repetition and the total."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_rewards import (
    KNOWLEDGE,
    LIGHT,
    MATH,
    STRATEGY,
    Template,
    Weights,
    extract_answer,
    get_domain,
    is_degenerate,
    repetition_rate,
    score,
    structure_score,
    verify,
)
from strata_rewards.evaluation import answer_cell, modal_answer
from strata_rewards.testing.strategies import adversarial_text, filler, templated_completions

integers = st.integers(-(10**9), 10**9)
letters = st.sampled_from("ABCD")


def _fmt_int(n: int, commas: bool, dollar: bool) -> str:
    body = f"{abs(n):,}" if commas else str(abs(n))
    sign = "-" if n < 0 else ""
    return f"{sign}${body}" if dollar else f"{sign}{body}"


@given(integers, st.booleans(), st.booleans(), st.data())
def test_a_correct_number_in_the_math_template_verifies(
    n: int, commas: bool, dollar: bool, data: st.DataObject
) -> None:
    c = data.draw(templated_completions(MATH, _fmt_int(n, commas, dollar)))
    assert verify("gsm8k", c.text, n)
    assert verify("gsm8k", c.text, f"#### {n}")
    assert not verify("gsm8k", c.text, n + 1)


@given(letters, st.sampled_from(["{}", "({})", "{}.", "{})", "[{}]"]), st.data())
def test_a_correct_letter_in_the_knowledge_template_verifies(
    letter: str, shape: str, data: st.DataObject
) -> None:
    c = data.draw(templated_completions(KNOWLEDGE, shape.format(letter)))
    assert verify("mmlu", c.text, letter)
    assert verify("mmlu", c.text, "ABCD".index(letter))
    assert not verify("mmlu", c.text, "ABCD"[("ABCD".index(letter) + 1) % 4])


@given(
    st.booleans(),
    st.sampled_from(["{}", "{}.", "{},", "{}!", "The answer is {}."]),
    st.sampled_from([str.lower, str.capitalize, str.upper]),
    st.booleans(),
    st.data(),
)
def test_a_correct_yes_no_in_the_strategy_template_verifies(
    truth: bool, shape: str, case: object, true_false: bool, data: st.DataObject
) -> None:
    word = ("true" if truth else "false") if true_false else ("yes" if truth else "no")
    c = data.draw(templated_completions(STRATEGY, shape.format(case(word))))  # type: ignore[operator]
    assert verify("strategyqa", c.text, truth)
    assert not verify("strategyqa", c.text, not truth)


@given(adversarial_text(), st.sampled_from(["gsm8k", "mmlu", "strategyqa"]))
def test_nothing_a_model_writes_raises_and_scores_stay_in_range(text: str, domain: str) -> None:
    gold = {"gsm8k": 7, "mmlu": "B", "strategyqa": True}[domain]
    b = score(domain, text, gold)
    assert b.outcome in (0.0, 1.0)
    assert 0.0 <= b.structure <= 1.0
    assert 0.0 <= b.repetition <= 1.0
    assert b == score(domain, text, gold), "scoring is deterministic"
    extract_answer(domain, text)


@given(adversarial_text(), st.sampled_from([MATH, KNOWLEDGE, STRATEGY]))
def test_structure_score_is_a_share(text: str, template: Template) -> None:
    s = structure_score(text, template)
    assert 0.0 <= s <= 1.0


@given(st.data(), st.sampled_from([MATH, KNOWLEDGE, STRATEGY]))
def test_a_fully_written_template_scores_one(data: st.DataObject, template: Template) -> None:
    c = data.draw(templated_completions(template, "7", min_section_words=template.min_words))
    assert structure_score(c.text, template) == 1.0


@given(
    st.data(), st.sampled_from([MATH, KNOWLEDGE, STRATEGY, LIGHT]), st.sampled_from(["", "upper"])
)
def test_restating_a_sections_hint_earns_no_credit_for_it(
    data: st.DataObject, template: Template, case: str
) -> None:
    """A section written from its hint's own words (any order, repeated, any case, with marks)
    counts as missing; the same section with ``min_words`` words of its own counts."""
    c = data.draw(templated_completions(template, "7", min_section_words=template.min_words))
    section = data.draw(st.sampled_from(template.sections))
    hint = sorted(template.hint_words(section))
    restated = " ".join(data.draw(st.lists(st.sampled_from(hint), max_size=3 * len(hint))))
    restated = (restated.upper() if case else restated) + data.draw(st.sampled_from(["", ".", ","]))
    start = c.text.index(f"<{section}>") + len(section) + 2
    end = c.text.index(f"</{section}>")
    copied = c.text[:start] + restated + c.text[end:]
    assert structure_score(copied, template) == 1.0 - 1 / template.n_checks
    assert structure_score(c.text, template) == 1.0


def test_the_hint_copied_in_experiment_b_is_paid_only_for_its_answer_tag() -> None:
    """San seed 1 of experiment B ended writing this to every problem (docs/results.md)."""
    copied = "<think>Your reasoning, in a sentence or two</think><answer>3</answer>"
    assert structure_score(copied, LIGHT) == 0.5
    assert structure_score(copied.replace("two", "two: 3 apples left"), LIGHT) == 1.0


@given(st.data(), st.sampled_from([MATH, KNOWLEDGE, STRATEGY]))
def test_dropping_a_section_lowers_the_structure_score(
    data: st.DataObject, template: Template
) -> None:
    c = data.draw(templated_completions(template, "7", min_section_words=template.min_words))
    section = data.draw(st.sampled_from(template.sections))
    start, end = c.text.index(f"<{section}>"), c.text.index(f"</{section}>")
    dropped = c.text[:start] + c.text[end + len(section) + 3 :]
    assert structure_score(dropped, template) < 1.0


@given(st.data(), st.integers(2, 6), st.sampled_from(["gsm8k", "mmlu", "strategyqa"]))
def test_repeating_the_reasoning_never_raises_the_reward(
    data: st.DataObject, k: int, domain: str
) -> None:
    d = get_domain(domain)
    gold = {"gsm8k": 7, "mmlu": "B", "strategyqa": True}[domain]
    answer = {"gsm8k": "7", "mmlu": "B", "strategyqa": "yes"}[domain]
    reasoning = data.draw(filler(min_words=1, max_words=30))
    section = d.template.sections[0]
    base = f"<{section}>{{}}</{section}><answer>{answer}</answer>"
    once = score(domain, base.format(reasoning), gold)
    many = score(domain, base.format(" ".join([reasoning] * k)), gold)
    assert many.repetition >= once.repetition
    assert many.total <= once.total + 1e-12


@given(st.lists(st.integers(0, 5), max_size=50), st.integers(1, 4))
def test_token_repetition_rate_is_a_share(tokens: list[int], n: int) -> None:
    r = repetition_rate(tokens, n=n, level="token")
    assert 0.0 <= r <= 1.0
    assert repetition_rate(tokens * 3, n=n, level="token") >= r or len(tokens) < n


# A chunk the way a collapsing model repeats one without spaces: letters or digits and marks.
_marks = st.text(st.sampled_from("<>/=*()[]#:."), min_size=1, max_size=3)
_alnum = st.text(st.sampled_from("abcthink0123"), min_size=1, max_size=6)
_chunk = st.tuples(_marks, _alnum).map("".join)


@given(_chunk, st.integers(12, 60), st.text(st.sampled_from("<>/think1"), max_size=8))
def test_repetition_without_spaces_is_penalised(chunk: str, k: int, prefix: str) -> None:
    """The B fp32 grid's `<think>1</think</think…`: one chunk repeated with no space between.
    Cut on whitespace it is one word and cannot repeat; cut into words and marks it repeats
    almost wholly, and the penalty takes its weight off the total."""
    text = prefix + chunk * k
    assert repetition_rate(text, words="whitespace") == 0.0
    bound = 1 - 12 / k  # a period of 2 words; the prefix and its seams add at most 12 3-grams
    assert repetition_rate(text, words="wordpunct") >= bound
    cut = score("gsm8k", text, 7)
    blind = score("gsm8k", text, 7, weights=Weights(words="whitespace"))
    assert blind.repetition == 0.0
    assert cut.repetition >= bound
    assert cut.total == blind.total - 0.5 * cut.repetition


@given(filler(min_words=0, max_words=40), st.integers(1, 4))
def test_the_two_word_cuts_agree_on_plain_words(text: str, n: int) -> None:
    """Where every word is letters or digits between spaces, the cuts are the same words."""
    assert repetition_rate(text, n=n, words="wordpunct") == repetition_rate(
        text, n=n, words="whitespace"
    )


@given(adversarial_text(), st.sampled_from(["wordpunct", "whitespace"]), st.integers(1, 4))
def test_word_repetition_rate_is_a_share(text: str, words: str, n: int) -> None:
    r = repetition_rate(text, n=n, words=words)  # type: ignore[arg-type]
    assert 0.0 <= r <= 1.0


@given(st.lists(st.integers(0, 3), max_size=40), st.integers(1, 5))
def test_repetition_rate_equals_its_reference(tokens: list[int], n: int) -> None:
    """The zip of shifted copies counts the same n-grams as slicing one at a time."""
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    expected = 0.0 if len(grams) < 2 else 1 - len(set(grams)) / len(grams)
    assert repetition_rate(tokens, n=n, level="token") == expected


TAG_SOUP = st.lists(
    st.sampled_from(
        [
            *("<answer>", "</answer>", "<think>", "</think>", "<answer", "answer>", "</", "<"),
            *(">", "Reason step by step.", "Put the answer here.", "the", "so", "\n", " "),
        ]
    ),
    max_size=40,
).map("".join)


@given(st.one_of(adversarial_text(), TAG_SOUP), st.sampled_from(["gsm8k", "mmlu", "strategyqa"]))
def test_gated_structure_pays_nothing_without_a_read_answer(text: str, domain: str) -> None:
    """Tag fragments, repeated tags and hint text earn no reward once structure is gated on a
    parsed answer; on correctness, a wrong answer earns none either."""
    gold = {"gsm8k": 7, "mmlu": "B", "strategyqa": True}[domain]
    parsed = score(domain, text, gold, weights=Weights(structure_gate="parsed"))
    if parsed.answer is None:
        assert parsed.structure == 0.0
        assert parsed.total <= 0.0
    correct = score(domain, text, gold, weights=Weights(structure_gate="correct"))
    if correct.outcome == 0.0:
        assert correct.total <= 0.0
    ungated = score(domain, text, gold)
    if parsed.answer is not None:
        assert parsed.structure == ungated.structure  # the gate only ever removes credit


WEIGHTS = st.builds(
    Weights,
    outcome=st.floats(0, 5),
    structure=st.floats(0, 5),
    repetition=st.floats(0, 5).filter(bool),  # all three 0 is refused
    structure_gate=st.sampled_from(["none", "parsed", "correct"]),
)


@given(
    st.one_of(adversarial_text(), TAG_SOUP),
    st.sampled_from(["gsm8k", "mmlu", "strategyqa"]),
    WEIGHTS,
)
def test_the_total_is_its_terms(text: str, domain: str, weights: Weights) -> None:
    """``outcome_reward`` and ``structure_reward`` are the total's terms (what the trainer's
    format watch divides), whatever the weights and the gate."""
    gold = {"gsm8k": 7, "mmlu": "B", "strategyqa": True}[domain]
    b = score(domain, text, gold, weights=weights)
    assert b.outcome_reward == weights.outcome * b.outcome
    assert b.structure_reward == weights.structure * b.structure
    if is_degenerate(text):  # nothing said: no reward and no penalty either
        assert (b.total, b.outcome_reward, b.structure_reward) == (0.0, 0.0, 0.0)
        return
    assert b.total == pytest.approx(
        b.outcome_reward + b.structure_reward - weights.repetition * b.repetition
    )


def test_tags_alone_earn_structure_only_without_the_gate() -> None:
    hollow = "<think>I will reason step by step here now</think>\n<answer>the answer</answer>"
    assert score("gsm8k", hollow, 7).structure > 0.0
    assert score("gsm8k", hollow, 7, weights=Weights(structure_gate="parsed")).total == 0.0


@given(st.dictionaries(adversarial_text(), st.integers(1, 50), max_size=6))
def test_the_modal_answer_is_the_most_common_and_its_cell_is_one_cell(
    answers: dict[str, int],
) -> None:
    found = modal_answer(answers)
    if not answers:
        assert found is None
        return
    assert found is not None
    answer, count = found
    assert answers[answer] == count == max(answers.values())
    cell = answer_cell(answer)
    assert "|" not in cell
    assert len(cell.splitlines()) == 1
    assert 0 < len(cell) <= 24
