"""One real learnability probe on the packaged SmolLM2 (its arithmetic is strata-rewards',
tested in packages/strata-rewards/tests/test_probe.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.model
@pytest.mark.slow
def test_the_probe_runs_on_the_packaged_model(tmp_path: Path) -> None:
    """strata-eval --probe on SmolLM2: a table, probe.json, a verdict for each domain."""
    import json

    from strata_trainer.cli import eval_main

    out = tmp_path / "probe"
    argv = ["--probe", "--domains", "sum", "--limit", "3", "--out", str(out)]
    assert eval_main([*argv, "--set", "train.max_new_tokens=16"]) == 0
    rows = json.loads((out / "probe.json").read_text())
    assert [r["domain"] for r in rows] == ["sum"]
    assert rows[0]["n"] == 3
    assert rows[0]["verdict"] in ("learnable", "prior only", "no signal")
    assert "| sum | 3 × 8 |" in (out / "probe.md").read_text()
