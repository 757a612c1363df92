"""``uv run apps/trainer``: the same as ``uv run strata-train`` (the embedded default run)."""

from strata_trainer.cli import train_main

if __name__ == "__main__":
    raise SystemExit(train_main())
