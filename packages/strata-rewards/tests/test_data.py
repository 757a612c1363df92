"""Loaders on the real files in ../shared/data, malformed rows, and the synthetic domains."""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_rewards import Prompting, get_domain, synthetic, verify
from strata_rewards.data import (
    EXEMPLARS,
    DataError,
    Item,
    load_benchmark,
    load_gsm8k,
    load_mmlu,
    load_strategyqa,
    load_synthetic,
    prompt_for,
    subsample,
)
from strata_rewards.synthetic import GENERATORS

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"  # ../shared beside the clone
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"benchmark files not at {DATA}")


@needs_data
@pytest.mark.parametrize(
    ("domain", "split", "rows"),
    [
        ("gsm8k", "train", 7473),
        ("gsm8k", "eval", 1319),
        ("mmlu", "train", 285 + 1531),
        ("mmlu", "eval", 14042),
        ("strategyqa", "train", 2061),
        ("strategyqa", "eval", 229),
    ],
)
def test_the_original_files_load_whole(domain: str, split: str, rows: int) -> None:
    items, stats = load_benchmark(domain, split, DATA)  # type: ignore[arg-type]
    assert len(items) == rows
    assert stats.skipped == 0
    first = items[0]
    assert first.id.startswith(str(DATA))
    # every gold answer is one its verifier can read
    assert verify(domain, "#### 1", first.gold) in (True, False)


@needs_data
def test_mmlu_items_carry_their_subject_and_options() -> None:
    items, _ = load_benchmark("mmlu", "eval", DATA)
    subjects = {it.subject for it in items}
    assert len(subjects) == 57
    assert "abstract_algebra" in subjects
    assert "\nA. " in items[0].question
    assert "\nD. " in items[0].question


def test_malformed_rows_name_file_row_and_field(tmp_path: Path) -> None:
    gsm = tmp_path / "g.jsonl"
    gsm.write_text('{"question": "q", "answer": "#### 1"}\n{"question": "q", "answer": "one"}\n')
    with pytest.raises(DataError, match=r"g.jsonl:2: field 'answer' has no '#### <number>' line"):
        load_gsm8k(gsm)
    gsm.write_text('{"question": "q", "answr": "#### 1"}\n')
    with pytest.raises(
        DataError,
        match=r"g.jsonl:1: field 'answer' missing or not text \(fields: question, answr\)",
    ):
        load_gsm8k(gsm)
    mmlu = tmp_path / "mmlu"
    mmlu.mkdir()
    (mmlu / "x_test.csv").write_text('"q",1,2,3,4,B\n"q",1,2,3,4,E\n"q",1,2\n')
    with pytest.raises(DataError, match=r"x_test.csv:2: field 'answer' \(6th\) must be A-D"):
        load_mmlu(mmlu)
    sqa = tmp_path / "s.json"
    sqa.write_text(
        json.dumps([{"question": "q", "answer": True}, {"question": "q", "answer": "yes"}])
    )
    with pytest.raises(DataError, match=r"s.json:\[1\]: field 'answer' must be true or false"):
        load_strategyqa(sqa)


def test_skip_malformed_counts_what_it_skipped(tmp_path: Path) -> None:
    root = tmp_path / "data" / "gsm8k"
    root.mkdir(parents=True)
    (root / "train.jsonl").write_text(
        '{"question": "q", "answer": "#### 1"}\nnot json\n{"answer": "#### 2"}\n'
    )
    items, stats = load_benchmark("gsm8k", "train", tmp_path / "data", skip_malformed=True)
    assert len(items) == 1
    assert stats.skipped == 2
    assert "train.jsonl:2: not valid JSON" in stats.reasons[0]
    with pytest.raises(DataError, match="not found"):
        load_benchmark("gsm8k", "eval", tmp_path / "data")


@pytest.mark.parametrize("kind", sorted(GENERATORS))
@pytest.mark.parametrize("difficulty", [1, 3, 5])
def test_synthetic_domains_are_seeded_and_their_gold_verifies(kind: str, difficulty: int) -> None:
    a = load_synthetic(kind, "train", 40, seed=3, difficulty=difficulty)
    assert a == load_synthetic(kind, "train", 40, seed=3, difficulty=difficulty)
    held = load_synthetic(kind, "eval", 40, seed=3, difficulty=difficulty)
    assert {x.key for x in a}.isdisjoint({x.key for x in held})
    rdomain = get_domain(kind).kind
    for it in a:
        gold_text = {
            "gsm8k": str(it.gold),
            "mmlu": str(it.gold),
            "strategyqa": "yes" if it.gold is True else "no",
        }[rdomain]
        assert verify(rdomain, f"<answer>{gold_text}</answer>", it.gold)


def test_prompts_carry_the_domain_template() -> None:
    messages = prompt_for("arithmetic", "How many?")
    assert messages[0]["role"] == "user"
    text = messages[0]["content"]
    assert "<think>" in text
    assert "<decompose>" not in text
    assert "<answer>" in text
    assert text.endswith("Question: How many?")
    full = Prompting(template_set="full")
    assert "<decompose>" in full.messages("arithmetic", "q")[0]["content"]
    assert "<recall>" in full.messages("mmlu", "q")[0]["content"]


def test_an_exemplar_is_a_previous_chat_turn_in_the_template_it_asks_for() -> None:
    prompting = Prompting(exemplars=("choice",), examples=EXEMPLARS)
    messages = prompting.messages("choice", "Which number is the smallest?\nA. 1\nB. 2")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    example = messages[2]["content"]
    assert prompting.score("choice", example, EXEMPLARS["choice"][2]).outcome == 1.0
    assert prompting.score("choice", example, EXEMPLARS["choice"][2]).structure == 1.0
    assert prompting.messages("compare", "q") == prompt_for("compare", "q")


def test_a_prompting_can_show_its_own_example_turn_without_touching_the_defaults() -> None:
    own = ("Is 2 more than 1?", "2 is more than 1.", "yes")
    prompting = Prompting(exemplars=("compare",), examples={**EXEMPLARS, "compare": own})
    messages = prompting.messages("compare", "q")
    assert messages[1]["content"] == f"Question: {own[0]}"
    assert messages[2]["content"] == "<think>2 is more than 1.</think><answer>yes</answer>"
    default = Prompting(exemplars=("compare",), examples=EXEMPLARS).messages("compare", "q")
    assert default[1]["content"] == f"Question: {EXEMPLARS['compare'][0]}"


@given(seed=st.integers(0, 2**32), difficulty=st.integers(1, 5))
def test_an_arithmetic_item_is_its_story_asked_about(seed: int, difficulty: int) -> None:
    told = synthetic.story(random.Random(seed), difficulty)
    row = synthetic.arithmetic(random.Random(seed), difficulty)
    assert row.answer == told.total >= 0
    assert row.question == f"{told.text} How many {told.item} does {told.name} have now?"
    assert told.text.startswith(f"{told.name} has ")


@pytest.mark.parametrize(
    "kind", ["arithmetic", "sum", "add_digit", "multiply", "subtract", "double", "choice"]
)
def test_held_out_items_never_repeat_a_training_items_content(kind: str) -> None:
    """Split by content (operation and numbers), not by text: "Ada has 3 apples. Then Ada buys
    4 more." and "Ben has 3 cards. Then Ben buys 4 more." are one item. The sizes are the
    default run's; held-out items hold each content once, and dev and eval are disjoint too."""
    train = load_synthetic(kind, "train", 500, seed=0, difficulty=1)
    dev = load_synthetic(kind, "dev", 64, seed=0, difficulty=1)
    held = load_synthetic(kind, "eval", 200, seed=0, difficulty=1)
    splits = {"train": train, "dev": dev, "eval": held}
    keys = {split: [it.key for it in items] for split, items in splits.items()}
    assert (len(train), len(dev), len(held)) == (500, 64, 200)
    assert set(keys["train"]).isdisjoint(keys["eval"])
    assert set(keys["train"]).isdisjoint(keys["dev"])
    assert set(keys["dev"]).isdisjoint(keys["eval"])
    assert len(set(keys["eval"])) == 200
    texts = {" ".join(it.question.lower().split()) for it in train}
    assert texts.isdisjoint(" ".join(it.question.lower().split()) for it in held)


KEY_PREFIX = {"arithmetic": "story"}
"""A synthetic domain's content-key prefix where it is not the domain's name."""


WORKED = [(kind, q) for kind, (q, _, _) in synthetic.EXAMPLES.items()] + [
    (kind, q) for kind, (q, _, _) in synthetic.SECOND_EXAMPLES.items()
]


@pytest.mark.parametrize(("kind", "question"), WORKED)
def test_every_worked_example_is_kept_out_of_the_held_out_splits(kind: str, question: str) -> None:
    """The prompt shows a domain's worked examples; an item with one's content in dev or eval
    would be answered from the prompt (the default's add_digit example, 7 + 46, was one of its
    200 eval items until 2026-12-06). SHOWN names each example's content, with its numbers."""
    prefix = KEY_PREFIX.get(kind, kind) + ":"
    numbers = sorted(re.findall(r"\d+", question))
    (_key,) = [
        k
        for k in synthetic.SHOWN
        if k.startswith(prefix) and sorted(re.findall(r"\d+", k)) == numbers
    ]
    shown = " ".join(question.lower().split())
    for split in ("dev", "eval"):
        contents = {r.key for r in synthetic.generate(kind, 20_000, seed=0)}
        held = {k for k in contents if synthetic.split_of(k) == split} - synthetic.SHOWN
        rows = synthetic.split_rows(kind, split, len(held), seed=0, distinct=True)
        assert {r.key for r in rows} == held  # every other content of the split, not this one
        assert shown not in {" ".join(r.question.lower().split()) for r in rows}


def test_every_shown_content_is_a_worked_example() -> None:
    assert len(synthetic.SHOWN) == len(WORKED)


@given(seed=st.integers(0, 2**16), kind=st.sampled_from(sorted(GENERATORS)))
def test_a_content_key_is_the_same_whatever_names_dress_it(seed: int, kind: str) -> None:
    """Two rows with one key have one answer: the key holds everything the answer depends on."""
    rows = synthetic.generate(kind, 300, seed=seed)
    answer_of: dict[str, object] = {}
    for row in rows:
        assert answer_of.setdefault(row.key, row.answer) == row.answer


def test_the_defaults_items_have_not_moved() -> None:
    """Every committed run of the default (docs/results.md) trained and was evaluated on these
    items: a change to a generator that moves one (a draw added, a range widened) must be a
    decision, with the runs redone, not an accident."""
    digest = hashlib.sha256()
    for kind in ("arithmetic", "sum", "add_digit"):
        for split, n in (("train", 500), ("dev", 64), ("eval", 200)):
            for it in load_synthetic(kind, split, n, seed=0, difficulty=1):
                digest.update(json.dumps([it.question, str(it.gold), it.key]).encode())
    assert digest.hexdigest() == DEFAULT_ITEMS_SHA256


DEFAULT_ITEMS_SHA256 = "a8827c968fa1935e2aef99eb57271a5d72970dd3ad469015dca969249a7adea1"
"""Moved once, by decision (2026-12-06): add_digit's eval item 90 was the worked example's own
question (7 + 46); it is now skipped and 6 + 92 ends the list. Train and dev did not move. The
item was answered wrong before and after training in all 20 runs read (the two fp32 grids),
so a committed gain's numerator stands; its accuracies may differ by 0.005 (docs/results.md)."""


def _numbers(question: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", question)]


@given(seed=st.integers(0, 2**16), difficulty=st.integers(1, 5))
def test_a_sums_skill_says_whether_its_units_carry(seed: int, difficulty: int) -> None:
    for kind in ("sum", "add_digit"):
        row = GENERATORS[kind][1](random.Random(seed), difficulty)
        a, b = _numbers(row.question)
        assert row.skill == ("carry" if a % 10 + b % 10 >= 10 else "no carry")
        assert row.answer == a + b
    row = synthetic.subtract(random.Random(seed), difficulty)
    a, b = _numbers(row.question)
    assert row.skill == ("borrow" if a % 10 < b % 10 else "no borrow")
    row = synthetic.double(random.Random(seed), difficulty)
    (n,) = _numbers(row.question)
    assert row.skill == ("carry" if any(c in "56789" for c in str(n)) else "no carry")


@given(seed=st.integers(0, 2**16), difficulty=st.integers(1, 5))
def test_a_word_problems_skill_is_its_operations_in_order(seed: int, difficulty: int) -> None:
    told = synthetic.story(random.Random(seed), difficulty)
    row = synthetic.arithmetic(random.Random(seed), difficulty)
    named = [
        ("add" if " buys " in e else "subtract" if " gives away " in e else "double")
        for e in told.text.split(" Then ")[1:]
    ]
    assert row.skill == ", ".join(named)


def test_synthetic_items_carry_their_skill_as_their_subject() -> None:
    """The evaluation's per-subject accuracy then splits a sum by carry (docs/results.md)."""
    held = load_synthetic("sum", "eval", 200, seed=0, difficulty=1)
    assert {it.subject for it in held} == {"carry", "no carry"}
    assert sum(it.subject == "carry" for it in held) == 89
    assert {it.subject for it in load_synthetic("multiply", "eval", 20, seed=0, difficulty=1)} == {
        None
    }


def test_too_few_distinct_items_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="fewer than 500 distinct eval items"):
        load_synthetic("compare", "eval", 500, seed=0, difficulty=1)


@given(
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=8),
    n=st.integers(0, 100),
    seed=st.integers(0, 2**16),
)
def test_subjects_share_a_sample_evenly(sizes: list[int], n: int, seed: int) -> None:
    """Each subject gives as many items as the others, one more at most, unless it has run out;
    the sample is a seeded subset of the items."""
    items = [
        Item(f"q{s}-{i}", "A", f"id{s}-{i}", f"s{s}") for s, k in enumerate(sizes) for i in range(k)
    ]
    picked = subsample(items, n, seed)
    assert len(picked) == min(n, len(items))
    assert len({it.id for it in picked}) == len(picked)
    assert picked == subsample(items, n, seed)
    counts = {f"s{s}": sum(it.subject == f"s{s}" for it in picked) for s in range(len(sizes))}
    for a, k in enumerate(sizes):
        for b in range(len(sizes)):
            if counts[f"s{a}"] < counts[f"s{b}"] - 1:
                assert counts[f"s{a}"] == k  # a is short only because it has no more


@needs_data
def test_a_thousand_mmlu_test_items_cover_every_subject_evenly() -> None:
    items, _ = load_benchmark("mmlu", "eval", DATA)
    picked = subsample(items, 1000, seed=1)
    per_subject = {s: sum(it.subject == s for it in picked) for s in {it.subject for it in items}}
    assert len(per_subject) == 57
    assert set(per_subject.values()) <= {17, 18}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # An unknown split said "fewer than 3 distinct dev2 items (found 0)", a negative n
        # "fewer than -2 distinct eval items (found 372)": both true, neither the reason.
        (lambda: load_synthetic("sum", "dev2", 3, seed=0, difficulty=1), "unknown split 'dev2'"),  # type: ignore[arg-type]
        (lambda: load_synthetic("sum", "eval", -2, seed=0, difficulty=1), "n must be >= 0, got -2"),
        (lambda: synthetic.generate("sum", -1, seed=0), "n must be >= 0, got -1"),
    ],
)
def test_synthetic_sizes_and_splits_that_make_no_sense_are_named(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()


def test_subsample_refuses_a_negative_size() -> None:
    items = [Item(f"q{i}", i, f"row {i}") for i in range(5)]
    assert len(subsample(items, 0, seed=0)) == 0
    with pytest.raises(ValueError, match="n must be >= 0 or None, got -1"):
        subsample(items, -1, seed=0)  # picked[:-1]: four of five items, in silence


def test_the_hub_out_of_reach_is_one_line_naming_the_way_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # It was a ConnectionError traceback from inside datasets (strata-eval --hub, offline).
    datasets = pytest.importorskip("datasets", reason="data.hub needs the datasets package")
    import huggingface_hub.constants

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # never download in a test
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DataError, match=r"openai/gsm8k \(test\): could not load it from the hub"):
        load_benchmark("gsm8k", "eval", None, hub=True)
