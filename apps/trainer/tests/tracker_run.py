"""Log test metrics to one tracker in a fresh process, then print what it holds as JSON.

    python tracker_run.py RUN_DIR trackio|wandb METRICS_JSON

trackio and wandb fix their storage folder at import, from the environment the test sets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from strata_grpo.trackers import open_trackers

run, name, steps = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
logged = open_trackers([name], run, "strata-test", {"train": {"steps": len(steps)}})
for metrics in steps:
    logged.log(metrics, metrics["step"])
tracker = logged.trackers[0]
if name == "wandb":
    summary = {k: tracker.run.summary[k] for k in ("arithmetic/reward", "kl")}
logged.close()

if name == "trackio":
    import trackio

    rows = trackio.SQLiteStorage.get_logs("strata-test", run.name)
    keep = ("step", "arithmetic/reward", "kl")
    print(json.dumps([{k: v for k, v in row.items() if k in keep} for row in rows]))
else:
    print(json.dumps({"id": tracker.run.id, "summary": summary}))
