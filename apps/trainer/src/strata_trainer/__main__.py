"""``python -m strata_trainer``: the same as ``strata-train``."""

from strata_trainer.cli import train_main

raise SystemExit(train_main())
