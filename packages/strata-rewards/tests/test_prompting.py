"""Prompting (prompts and scores together) and aliases, as a user of strata-rewards alone
sees them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_rewards import (
    EXAMPLES,
    LIGHT,
    MATH,
    Prompting,
    get_domain,
    register_alias,
    score,
    template_for,
)
from strata_rewards.testing.strategies import adversarial_text


def test_an_alias_scores_as_its_domain_and_takes_its_templates() -> None:
    register_alias("tally", "gsm8k")
    register_alias("tally", "gsm8k")  # again: a no-op
    with pytest.raises(ValueError, match="registered already"):
        register_alias("tally", "mmlu")
    assert get_domain("tally").kind == "gsm8k"
    assert template_for("tally", "light") is LIGHT
    assert template_for("tally", "full") is MATH


@given(adversarial_text())
def test_an_alias_scores_every_text_as_its_domain_does(text: str) -> None:
    register_alias("tally", "gsm8k")
    assert score("tally", text, 7) == score("gsm8k", text, 7)


def test_an_exemplar_is_a_previous_turn_in_the_light_template() -> None:
    prompting = Prompting(exemplars=("gsm8k",))
    messages = prompting.messages("gsm8k", "How many?")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    question, _, answer = EXAMPLES["gsm8k"]
    assert messages[1]["content"] == f"Question: {question}"
    assert prompting.score("gsm8k", messages[2]["content"], answer).outcome == 1.0
    assert prompting.score("gsm8k", messages[2]["content"], answer).structure == 1.0
    plain = Prompting().messages("mmlu", "Which?")
    assert plain[0]["content"].endswith("Question: Which?")
    assert Prompting().stop(["gsm8k", "mmlu"]) == ("</answer>",)


def test_a_missing_example_or_a_sectioned_template_is_refused() -> None:
    with pytest.raises(ValueError, match="no worked example for nowhere"):
        Prompting(exemplars=("nowhere",))
    # A bare string said "no worked example for g, s, m, 8, k".
    with pytest.raises(TypeError, match="exemplars must be a tuple of domains, got the string"):
        Prompting(exemplars="gsm8k")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="stop takes a list of domains, got the string 'gsm8k'"):
        Prompting().stop("gsm8k")
    with pytest.raises(ValueError, match="light template"):
        Prompting(template_set="full", exemplars=("gsm8k",)).messages("gsm8k", "q")


def test_scale_multiplies_the_total_and_its_terms_only() -> None:
    text = "<think>3 and 4 make 7</think><answer>7</answer>"
    plain = Prompting().score("gsm8k", text, 7)
    scaled = Prompting(scale={"gsm8k": 10.0}).score("gsm8k", text, 7)
    assert scaled.total == pytest.approx(10 * plain.total)
    assert scaled.outcome_reward == pytest.approx(10 * plain.outcome_reward)
    assert scaled.structure_reward == pytest.approx(10 * plain.structure_reward)
    assert (scaled.outcome, scaled.structure) == (plain.outcome, plain.structure)
    assert Prompting().parse_gold("gsm8k", "#### 1,234") == 1234.0


@given(st.sampled_from(["gsm8k", "mmlu", "strategyqa"]), st.text(max_size=200))
def test_the_question_is_the_last_thing_the_prompt_says(domain: str, question: str) -> None:
    for prompting in (Prompting(), Prompting(exemplars=(domain,))):
        assert prompting.messages(domain, question)[-1]["content"].endswith(question)
