"""What strata-train says on stderr, one prefixed line at a time."""

from __future__ import annotations

import sys


def say(message: str) -> None:
    print(f"strata-train: {message}", file=sys.stderr, flush=True)
