"""The package installs and imports alone (it is filled by its own issue)."""

import importlib


def test_imports_alone() -> None:
    module = importlib.import_module("strata_grpo")
    assert module.__all__ == []
