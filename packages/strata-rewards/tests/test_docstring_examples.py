"""The examples in the package docstring run and print what they say."""

import doctest

import strata_rewards


def test_package_docstring_examples() -> None:
    result = doctest.testmod(strata_rewards, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
