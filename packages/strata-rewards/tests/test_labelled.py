"""The hand-labelled completions of ``labelled_cases.py`` get the verdicts a human grader gave."""

from typing import Any

import pytest

from strata_rewards import verify

from .labelled_cases import ALL, GSM8K, MMLU, STRATEGYQA


def test_the_labelled_set_is_large_and_balanced() -> None:
    assert len(ALL) >= 150
    for cases in (GSM8K, MMLU, STRATEGYQA):
        verdicts = {expected for *_, expected in cases}
        assert verdicts == {True, False}, "each domain needs both verdicts"


@pytest.mark.parametrize(("domain", "completion", "gold", "expected"), ALL)
def test_verdict(domain: str, completion: str, gold: Any, expected: bool) -> None:
    assert verify(domain, completion, gold) is expected
