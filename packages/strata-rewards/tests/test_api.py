"""Templates as data, the domain registry, TRL reward functions, gold answers, hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest

from strata_rewards import (
    MATH,
    Domain,
    GoldError,
    Template,
    Weights,
    as_trl_reward_funcs,
    available_domains,
    extract_answer,
    get_domain,
    register_domain,
    score,
    structure_score,
    verify,
)
from strata_rewards.extract import pick_yes_no
from strata_rewards.testing.adversarial import ADVERSARIAL_100KB


def test_template_round_trips_through_toml(tmp_path: Path) -> None:
    path = tmp_path / "proof.toml"
    path.write_text(
        'name = "proof"\nsections = ["claim", "argue"]\nwrapper = "think"\nmin_words = 2\n'
        '[hints]\nclaim = "what you will show"\n',
        encoding="utf-8",
    )
    t = Template.from_toml(path)
    assert t == Template(
        "proof", ("claim", "argue"), min_words=2, hints={"claim": "what you will show"}
    )
    assert "<claim>" in t.instruction()
    assert "what you will show" in t.instruction()
    good = (
        "<think><claim>x is even here</claim><argue>two divides it</argue></think>"
        "<answer>1</answer>"
    )
    assert structure_score(good, t) == 1.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sections": ["a"]}, "missing field 'name'"),
        ({"name": "x", "sections": ["a"], "colour": 1}, "unknown field"),
        ({"name": "x", "sections": ["a", "a"]}, "sections repeat"),
        ({"name": "x", "sections": ["a b"]}, "not a valid tag name"),
        ({"name": "x", "sections": ["a"], "min_words": -1}, "min_words"),
        # sections = "claim" in TOML was five one-letter sections, c, l, a, i and m.
        ({"name": "x", "sections": "claim"}, "t.toml: sections must be a list of tag names"),
        ({"name": "x", "sections": ["a"], "min_words": "3"}, "min_words must be a whole number"),
        ({"name": "x", "sections": ["a"], "hints": "say it"}, "hints must be a table"),
    ],
)
def test_bad_templates_are_refused_with_the_reason(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Template.from_dict(data, source="t.toml")


def test_a_template_built_by_hand_refuses_sections_given_as_one_string() -> None:
    with pytest.raises(TypeError, match="got the string 'claim' \\(one section: \\('claim',\\)\\)"):
        Template("proof", "claim")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a template needs a name"):
        Template("", ("claim",))


def test_sections_out_of_order_score_less() -> None:
    in_order = (
        "<think><decompose>we need the total count</decompose><compute>three plus four is seven"
        "</compute><verify>seven minus four gives three</verify></think><answer>7</answer>"
    )
    swapped = in_order.replace("<decompose>", "<x>").replace("</decompose>", "</x>")
    swapped = swapped.replace(
        "</verify></think>", "</verify><decompose>we need the total count</decompose></think>"
    )
    assert structure_score(in_order, MATH) == 1.0
    assert structure_score(swapped, MATH) < 1.0


def test_two_answer_tags_are_not_well_formed() -> None:
    once = (
        "<think><decompose>a b c</decompose><compute>a b c</compute>"
        "<verify>a b c</verify></think><answer>7</answer>"
    )
    assert structure_score(once, MATH) == 1.0
    assert structure_score(once + "<answer>8</answer>", MATH) < 1.0


def test_registry_adds_domains_and_refuses_duplicates() -> None:
    colour = Domain(
        name="colour-test",
        pick=lambda span: span.text.strip().lower() or None,
        parse_gold=lambda g: str(g).lower(),
        equal=lambda a, b: a == b,
        template=MATH,
        task="Name the colour.",
    )
    register_domain(colour)
    assert "colour-test" in available_domains()
    assert verify("colour-test", "<answer>Red</answer>", "red")
    with pytest.raises(ValueError, match="registered already"):
        register_domain(colour)
    register_domain(colour, replace=True)
    with pytest.raises(ValueError, match=r"unknown reward domain 'nope'.*gsm8k"):
        get_domain("nope")


@pytest.mark.parametrize(
    ("domain", "gold"),
    [
        ("gsm8k", "no number here"),
        ("gsm8k", True),
        ("mmlu", "E"),
        ("mmlu", 4),
        ("strategyqa", "maybe"),
    ],
)
def test_an_unreadable_gold_answer_raises_gold_error(domain: str, gold: object) -> None:
    with pytest.raises(GoldError):
        verify(domain, "anything", gold)


def test_extract_answer_returns_text() -> None:
    assert extract_answer("gsm8k", "so 3/4") == "0.75"
    assert extract_answer("gsm8k", "#### 1,080") == "1080"
    assert extract_answer("mmlu", "answer is (c)") == "C"
    assert extract_answer("strategyqa", "False.") == "no"
    assert extract_answer("gsm8k", "nothing") is None


def test_degenerate_text_scores_zero() -> None:
    for text in ("", "   ", "!!!???", "aaaaaaaaaaaaaaaa", "\n\n\n"):
        b = score("gsm8k", text, 5)
        assert (b.outcome, b.structure, b.total, b.answer) == (0.0, 0.0, 0.0, None)


def test_composite_total_is_the_weighted_sum() -> None:
    b = score("gsm8k", "<think><decompose>a b c</decompose></think><answer>7</answer>", 7)
    assert b.outcome == 1.0
    assert b.total == pytest.approx(1.0 * b.outcome + 0.2 * b.structure - 0.5 * b.repetition)


def test_trl_reward_functions_follow_trl_signature() -> None:
    funcs = as_trl_reward_funcs()
    assert [f.__name__ for f in funcs] == [
        "strata_outcome",
        "strata_structure",
        "strata_repetition",
    ]
    prompts = ["q1", "q2", "q3", "q4"]
    completions = [
        "<answer>7</answer>",
        [{"role": "assistant", "content": "<answer>B</answer>"}],  # conversational
        "<answer>yes</answer>",
        "<answer>7</answer>",
    ]
    columns = {
        "domain": ["gsm8k", "mmlu", "strategyqa", "gsm8k"],
        "answer": ["#### 7", "B", True, "not a number"],
    }
    with pytest.warns(UserWarning, match="gold answers it cannot read get None; the first"):
        outcome = funcs[0](prompts, completions, **columns)
    assert outcome == [1.0, 1.0, 1.0, None]  # an unreadable gold answer is None, not a crash
    (total,) = as_trl_reward_funcs(split=False)
    with pytest.warns(UserWarning, match="gold answers it cannot read"):
        totals = total(prompts, completions, **columns)
    parts = [f(prompts, completions, **columns) for f in funcs]
    for i, t in enumerate(totals):
        if t is None:
            continue
        assert t == pytest.approx(sum(p[i] for p in parts))  # type: ignore[misc]


def test_a_misspelt_domain_is_said_once_not_left_unlearned_in_silence() -> None:
    import warnings

    (f,) = as_trl_reward_funcs(split=False)
    with pytest.warns(UserWarning, match="domain 'gsm8K' is not registered: its rows get None"):
        assert f(["q", "q"], ["#### 1", "#### 1"], domain=["gsm8K"] * 2, answer=[1, 1]) == [
            None,
            None,
        ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once per function and domain, not every step
        assert f(["q"], ["#### 1"], domain=["gsm8K"], answer=[1]) == [None]
        assert f(["q"], ["#### 1"], domain=["gsm8k"], answer=[1]) == [pytest.approx(1.0)]


def test_trl_reward_functions_name_a_missing_column() -> None:
    (f,) = as_trl_reward_funcs(split=False)
    with pytest.raises(KeyError, match="gold column 'answer'"):
        f(["q"], ["a"], domain=["gsm8k"])


@pytest.mark.parametrize("name", sorted(ADVERSARIAL_100KB))
@pytest.mark.parametrize("domain", ["gsm8k", "mmlu", "strategyqa"])
def test_adversarial_100kb_completions_neither_raise_nor_blow_up(domain: str, name: str) -> None:
    text = ADVERSARIAL_100KB[name]
    assert len(text) >= 90_000
    gold = {"gsm8k": 7, "mmlu": "B", "strategyqa": True}[domain]
    scored = score(domain, text, gold)
    # Speed: tests/test_fast_paths.py holds the cost linear, benchmarks/scoring_worst_case.py
    # measures it.
    assert 0.0 <= scored.repetition <= 1.0


def test_yes_no_hedges_give_no_verdict() -> None:
    from strata_rewards.extract import AnswerSpan

    assert pick_yes_no(AnswerSpan("Yes and no.", "text")) is None
    assert pick_yes_no(AnswerSpan("yes or no", "answer_tag")) is None


def test_weights_name_an_unknown_word_cut() -> None:
    with pytest.raises(
        ValueError, match="words must be one of wordpunct, whitespace, got 'spaces'"
    ):
        Weights(words="spaces")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "0.2", True])
def test_weights_are_finite_numbers_and_not_negative(bad: float) -> None:
    with pytest.raises(
        ValueError, match=r"reward weights must be finite numbers >= 0, got \{'structure'"
    ):
        Weights(structure=bad)


def test_weights_that_are_all_zero_are_refused() -> None:
    with pytest.raises(ValueError, match="all 0: every completion would score 0"):
        Weights(outcome=0.0, structure=0.0, repetition=0.0)
    with pytest.raises(ValueError, match=r"ngram must be an int >= 1, got 2\.5"):
        Weights(ngram=2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("completion", "message"),
    [
        (None, "completion must be a str, got NoneType$"),
        (b"#### 7", "got bytes"),
        ([{"role": "assistant", "content": "#### 7"}], "got list \\(a chat completion\\? pass"),
    ],
)
def test_a_completion_that_is_not_text_names_its_type(completion: object, message: str) -> None:
    # Model text never raises; a caller's non-string did, as an AttributeError deep in the parser.
    for call in (
        lambda: score("gsm8k", completion, 7),  # type: ignore[arg-type]
        lambda: verify("gsm8k", completion, 7),  # type: ignore[arg-type]
        lambda: extract_answer("gsm8k", completion),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError, match=message):
            call()


def test_weights_of_another_type_are_refused() -> None:
    with pytest.raises(TypeError, match="weights must be a Weights, got dict \\(from a dict"):
        score("gsm8k", "#### 7", 7, weights={"outcome": 1.0})  # type: ignore[arg-type]


def test_word_cuts_are_the_ones_wordsplit_names() -> None:
    # WordSplit (the type users and the trainer's config see) and the table of patterns behind it
    # are written separately: a cut added to one and not the other would type-check and then fail.
    from typing import get_args

    from strata_rewards.repetition import _SPLITTERS, WordSplit

    assert set(_SPLITTERS) == set(get_args(WordSplit))
