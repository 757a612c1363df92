"""The examples in the package docstring run and print what they say."""

import doctest

import strata_curriculum


def test_package_docstring_examples() -> None:
    result = doctest.testmod(strata_curriculum, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
