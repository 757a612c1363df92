"""What strata-train and strata-eval say on stderr, one line at a time, prefixed with the
command's name (the code that speaks is shared, so each command names itself at its start)."""

from __future__ import annotations

import sys

_program = "strata-train"


def speak_as(program: str) -> None:
    """Prefix every later line with ``program`` (``strata-eval`` calls it first)."""
    global _program
    _program = program


def say(message: str) -> None:
    print(f"{_program}: {message}", file=sys.stderr, flush=True)
