"""A pytest plugin for .ci/run: appends the node id of every skipped test to the file named by
STRATA_SKIPPED_IDS, so that a member's run with its extras repeats only the tests that the
extras' absence skipped (the rest already passed in the run without them)."""

from __future__ import annotations

import os

import pytest


def _note(report: pytest.TestReport | pytest.CollectReport) -> None:
    path = os.environ.get("STRATA_SKIPPED_IDS")
    if path and report.skipped:
        with open(path, "a", encoding="utf-8") as out:
            out.write(report.nodeid + "\n")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _note(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A whole module skipped at import (``pytest.importorskip``) is noted by its path."""
    _note(report)
