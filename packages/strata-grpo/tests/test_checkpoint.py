"""Checkpoint files: the config survives JSON whole, and a resumed run's logs lose the steps it
redoes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strata_grpo import GRPOConfig, truncate_jsonl
from strata_grpo.checkpoint import atomic_write_text, config_from_json, config_to_json

names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=8)


@given(
    stop=st.lists(names, max_size=3).map(tuple),
    targets=st.one_of(st.just("all-linear"), st.lists(names, min_size=1, max_size=3).map(tuple)),
    extra=st.dictionaries(st.sampled_from(["clip", "zero_var", "low_var"]), st.floats(0, 10)),
)
def test_config_round_trips_through_json_with_its_tuples(
    stop: tuple[str, ...], targets: str | tuple[str, ...], extra: dict[str, float]
) -> None:
    config = GRPOConfig(stop=stop, lora_target_modules=targets, extra=extra)
    back = config_from_json(json.loads(json.dumps(config_to_json(config))))
    assert back == config
    assert type(back.stop) is tuple


def test_truncate_jsonl_keeps_only_the_steps_before_the_resume_point(tmp_path: Path) -> None:
    log = tmp_path / "samples.jsonl"
    log.write_text(
        "".join(json.dumps({"step": s, "x": i}) + "\n" for i, s in enumerate([0, 0, 4, 8]))
    )
    truncate_jsonl(log, 4)
    assert [json.loads(x)["step"] for x in log.read_text().splitlines()] == [0, 0]
    truncate_jsonl(tmp_path / "absent.jsonl", 4)  # a run that never wrote one: nothing to do
    assert not (tmp_path / "absent.jsonl").exists()


@given(cut=st.integers(1, 40))
def test_a_torn_last_line_is_dropped_with_a_warning_and_nothing_else_is_lost(cut: int) -> None:
    """A kill mid-write leaves the last line cut anywhere: the complete lines before it stay
    (it used to stop --resume with a JSONDecodeError)."""
    import tempfile
    import warnings

    lines = [json.dumps({"step": s, "loss": 0.5 + s}) for s in range(3)]
    torn = json.dumps({"step": 3, "loss": 1.25, "domain": "gsm8k"})[:cut]
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "metrics.jsonl"
        log.write_text("\n".join(lines) + "\n" + torn)
        try:
            json.loads(torn)
            complete = True
        except json.JSONDecodeError:
            complete = False
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            truncate_jsonl(log, 10)
        kept = log.read_text().splitlines()
        assert kept[:3] == lines
        assert len(kept) == 3 + complete
        assert bool(caught) != complete
        if caught:
            assert "torn last line 4" in str(caught[0].message)


def test_a_broken_line_before_the_last_is_an_error_naming_it(tmp_path: Path) -> None:
    import pytest

    log = tmp_path / "metrics.jsonl"
    log.write_text('{"step": 0}\n{"step": 1\n{"step": 2}\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl:2: not a JSON line"):
        truncate_jsonl(log, 5)


def test_a_write_that_dies_before_its_rename_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the run folder's eval_*.json, ``latest`` and the grids' summaries rely on: a reader
    sees the old text or the new, never part of one."""
    path = tmp_path / "eval_before.json"
    atomic_write_text(path, '{"old": 1}')

    def crash(*_: object) -> None:
        raise OSError("killed between the write and the rename")

    monkeypatch.setattr("strata_grpo.checkpoint.os.replace", crash)
    with pytest.raises(OSError, match="killed"):
        atomic_write_text(path, '{"new": 2, "and much more": "' + "x" * 10_000 + '"}')
    assert path.read_text(encoding="utf-8") == '{"old": 1}'
    monkeypatch.undo()
    atomic_write_text(path, '{"new": 2}')
    assert path.read_text(encoding="utf-8") == '{"new": 2}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval_before.json"]
