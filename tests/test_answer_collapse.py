"""experiments/analysis/answer_collapse.py reads G1 from committed summaries as the
pre-registration words it: the most common greedy answer's share of the items, against a
ceiling, with no answer read counted as one answer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "analysis" / "answer_collapse.py"


def _result(answers: dict[str, int], n: int = 100) -> dict[str, object]:
    return {
        "n": n,
        "accuracy": 0.25,
        "parse_rate": 0.9,
        "parsed_accuracy": 0.27,
        "answers": answers,
    }


def test_g1_is_the_modal_share_of_the_items_against_the_ceiling(tmp_path: Path) -> None:
    summaries, runs = tmp_path / "summaries", tmp_path / "runs"
    summaries.mkdir()
    base = {"mmlu": _result({"D": 46, "C": 30}), "strategyqa": _result({"False": 83})}
    after = {
        # No answer read is the most common "answer": 61 of 100, over MMLU's 0.6.
        "mmlu": _result({"(none)": 61, "C": 20}),
        "strategyqa": _result({"True": 80, "False": 20}),
    }
    (summaries / "arm-seed0.json").write_text(
        json.dumps({"seed": 0, "before": base, "after": after})
    )
    # B's seed 0 was summarised before the answers were counted: no verdict, not a pass.
    uncounted = {d: {k: v for k, v in r.items() if k != "answers"} for d, r in after.items()}
    (summaries / "arm-seed1.json").write_text(
        json.dumps({"seed": 1, "before": base, "after": uncounted})
    )
    (runs / "arm-seed0").mkdir(parents=True)
    rows = [{"step": i, "mmlu/modal_answer_share": 0.5, "mmlu/prompts": 2} for i in range(12)]
    rows[-1] |= {"mmlu/modal_answer_share": 1.0, "mmlu/prompts": 1}  # one prompt: not counted
    (runs / "arm-seed0" / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(summaries), "--runs", str(runs)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "| arm-seed0 | mmlu | D (0.460) | (none) (0.610) | 0.6 |" in out
    assert out.splitlines()[2].endswith("| 0.50 | **missed** |")
    assert "| arm-seed0 | strategyqa | False (0.830) | True (0.800) | 0.8 |" in out
    assert out.splitlines()[3].endswith("| — | met |")  # at the ceiling is within it
    assert "| arm-seed1 | mmlu | D (0.460) | not counted | 0.6 |" in out
    assert out.splitlines()[4].endswith("| — | — |")
    # Experiment C reads StrategyQA against the base's share plus 0.05 (G1′).
    c = subprocess.run(
        [sys.executable, str(SCRIPT), str(summaries), "--ceiling", "strategyqa=0.88"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "| arm-seed0 | strategyqa | False (0.830) | True (0.800) | 0.88 |" in c
    # No domain, no share, or a share that is no share: one line naming what was given.
    for given in ("strategyqa", "=0.5", "strategyqa=1.5", "strategyqa=nan"):
        bad = subprocess.run(
            [sys.executable, str(SCRIPT), str(summaries), "--ceiling", given],
            capture_output=True,
            text=True,
            check=False,
        )
        assert bad.returncode == 2, given
        assert f"--ceiling {given}: expected DOMAIN=SHARE" in bad.stderr


def test_a_folder_without_summaries_is_an_error_not_an_empty_table(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 2
    assert f"{tmp_path}: no <config>-seed<N>.json summaries there" in out.stderr
