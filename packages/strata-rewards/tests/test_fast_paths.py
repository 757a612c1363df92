"""Fast equals reference for the scanning shortcuts that keep a 100 kB completion cheap
(benchmarks/scoring_worst_case.py): each against the obvious loop it replaced, on text built from
the pieces that make scanners disagree (tags, digits, commas, signs, parentheses, "answer is")."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_rewards import extract, is_degenerate, score
from strata_rewards.extract import _CUT_AFTER, _NUMBER, _last_number, _strip_parentheticals, _value
from strata_rewards.testing.adversarial import ADVERSARIAL_100KB

PIECES = [
    "1", "12", "1,234", ",", ".", "/", "-", "$", "−", "e5", " ", "\n", "(", ")", "=", "is",
    " is ", "answer is ", "Total: ", "x", "<answer>", "</answer>", "١", "_", "!", "İ", "IS", ":",
]  # fmt: skip
hostile = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


def reference_last_number(text: str, pos: int = 0) -> float | None:
    values = [v for v in map(_value, _NUMBER.finditer(text, pos)) if v is not None]
    return values[-1] if values else None


def reference_strip(text: str) -> str:
    out, depth = [], 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out) if out else text


def reference_degenerate(text: str) -> bool:
    visible = "".join(text.split())
    return not visible or not any(ch.isalnum() for ch in visible) or len(set(visible)) == 1


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Suffix windows of a few characters, so that the tests cross their edges everywhere."""
    monkeypatch.setattr(extract, "SUFFIX_WINDOWS", (2, 5, 11, 23))


@pytest.mark.usefixtures("small_windows")
@given(hostile, st.integers(0, 40))
def test_the_last_number_read_from_a_suffix_is_the_whole_scans(text: str, pos: int) -> None:
    pos = min(pos, len(text))
    assert _last_number(text, pos) == reference_last_number(text, pos)


@pytest.mark.usefixtures("small_windows")
@given(hostile)
def test_the_last_cut_read_from_a_suffix_is_the_whole_scans(text: str) -> None:
    whole = [m.end() for m in _CUT_AFTER.finditer(text)]
    found = extract._last_cut(text)
    assert (found.end() if found else None) == (whole[-1] if whole else None)


@given(st.text(alphabet="()a1 ", max_size=60))
def test_asides_are_stripped_as_the_character_loop_strips_them(text: str) -> None:
    assert _strip_parentheticals(text) == reference_strip(text)


@given(st.text(max_size=40) | hostile)
def test_degenerate_text_is_found_as_the_character_loop_finds_it(text: str) -> None:
    assert is_degenerate(text) == reference_degenerate(text)


SEARCHED = {  # slowest units benchmarks/scoring_worst_case.py found before this file's shortcuts
    "newline digits commas": "\n1,)\n1," * 15_000,
    "digits commas parens": "\n1,) 1," * 15_000,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL_100KB.keys() | SEARCHED.keys()))
def test_scoring_grows_linearly_with_the_text(name: str) -> None:
    """A super-linear path (a backtracking regex, a quadratic loop) makes 100 kB cost 100x what
    10 kB does; linear costs 10x. The bound is a ratio of two timings on the same machine, not a
    wall-clock budget (benchmarks/scoring_worst_case.py measures the speed)."""
    text = {**ADVERSARIAL_100KB, **SEARCHED}[name]

    def best(part: str) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            score("gsm8k", part, 7)
            times.append(time.perf_counter() - start)
        return min(times)

    ratio = best(text) / max(best(text[: len(text) // 10]), 1e-4)
    assert ratio < 40, f"{name}: the whole text took {ratio:.0f}x the time of its tenth"


def test_lookbehinds_see_before_the_suffix() -> None:
    """A digit run cut by a suffix window is not read from the middle."""
    assert re.compile(r"(?<![0-9])[0-9]+").search("12345", 2) is None
