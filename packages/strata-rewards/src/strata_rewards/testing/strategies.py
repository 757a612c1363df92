"""Hypothesis strategies for completions, for this package's tests and for yours.

    from strata_rewards.testing.strategies import adversarial_text, templated_completions

    @given(adversarial_text())
    def test_my_reward_never_raises(text):
        my_reward(text)

``adversarial_text`` mixes arbitrary unicode with the fragments verifiers trip on: tags (open,
closed, nested, unbalanced), ``####``, ``\\boxed{``, digit runs, signs, commas, letters A–D and
yes/no words. ``templated_completions`` writes a completion in a template's format around a
known answer, with filler text that holds no answer of its own.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from hypothesis import strategies as st

from strata_rewards.templates import Template

_FRAGMENTS = (
    "<think>", "</think>", "<answer>", "</answer>", "<decompose>", "</decompose>",
    "<compute>", "</compute>", "<verify>", "</verify>", "####", "\\boxed{", "{", "}",
    "\\frac{", "(", ")", "$", "-", "−", ",", ".", "/", "%", "=", " ", "\n", "\x00",
    "answer is", "The answer is ", "yes", "No", "true", "A", "B", "(C)", "D.", "١٢", "１",
    "0", "7", "1,000", "3.5", "1e5", "1e999",
)  # fmt: skip


def adversarial_text(max_size: int = 60) -> st.SearchStrategy[str]:
    """Arbitrary unicode interleaved with verifier-tripping fragments."""
    piece = st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=8))
    return st.lists(piece, max_size=max_size).map("".join)


# Filler words: no digits, no A–D standing alone, no yes/no/true/false, no tags.
_FILLER_WORDS = (
    "first", "then", "we", "count", "the", "apples", "carefully", "so", "each", "basket",
    "holds", "some", "fruit", "check", "again", "because", "order", "matters", "here",
)  # fmt: skip


def filler(
    min_words: int = 0,
    max_words: int = 12,
    *,
    unique: bool = False,
    exclude: Collection[str] = (),
) -> st.SearchStrategy[str]:
    """Lower-case prose that contains no answer of any built-in domain (nor a word of
    ``exclude``)."""
    vocabulary = [w for w in _FILLER_WORDS if w not in exclude]
    words = st.lists(
        st.sampled_from(vocabulary), min_size=min_words, max_size=max_words, unique=unique
    )
    return words.map(" ".join)


@dataclass(frozen=True)
class TemplatedCompletion:
    text: str
    answer_text: str


def templated_completions(
    template: Template, answer_text: str, *, min_section_words: int = 0
) -> st.SearchStrategy[TemplatedCompletion]:
    """``answer_text`` inside ``template``'s answer tag, each section holding at least
    ``min_section_words`` distinct filler words, none of them a word of the section's hint
    (which the structure score does not count)."""

    @st.composite
    def build(draw: st.DrawFn) -> TemplatedCompletion:
        texts = {
            s: draw(filler(min_section_words, unique=True, exclude=template.hint_words(s)))
            for s in template.sections
        }
        sections = "".join(f"<{s}>{text}</{s}>" for s, text in texts.items())
        if template.wrapper:
            sections = f"<{template.wrapper}>{sections}</{template.wrapper}>"
        before, after = draw(filler(max_words=4)), draw(filler(max_words=4))
        tag = template.answer_tag
        text = f"{before}{sections}\n<{tag}>{answer_text}</{tag}>{after}"
        return TemplatedCompletion(text, answer_text)

    return build()
