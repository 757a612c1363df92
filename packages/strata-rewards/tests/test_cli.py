"""``strata-rewards score``: per-row breakdowns, a summary, and errors naming file, line, field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strata_rewards.cli import SKIPS_SHOWN, main


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_scores_a_file_and_summarises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(
        tmp_path / "in.jsonl",
        [
            {"completion": "<answer>18</answer>", "answer": "#### 18"},
            {"completion": "I think 17", "answer": "#### 18"},
            {"completion": "<answer>B</answer>", "answer": "B", "domain": "mmlu"},
        ],
    )
    out, summary = tmp_path / "out.jsonl", tmp_path / "summary.json"
    assert (
        main(["score", "--domain", "gsm8k", str(src), "--out", str(out), "--summary", str(summary)])
        == 0
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["outcome"] for r in rows] == [1.0, 0.0, 1.0]
    assert [r["line"] for r in rows] == [1, 2, 3]
    assert rows[2]["domain"] == "mmlu"
    s = json.loads(summary.read_text())
    assert s["rows"] == 3
    assert s["accuracy"] == pytest.approx(2 / 3)
    assert "accuracy" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "in.jsonl:2: not valid JSON"),
        ('{"answer": "#### 1"}', "in.jsonl:2: missing field 'completion'"),
        (
            '{"completion": 5, "answer": "#### 1"}',
            "in.jsonl:2: field 'completion' must be a string",
        ),
        ('{"completion": "5", "answer": "five"}', "in.jsonl:2: field 'answer'"),
        ("[1, 2]", "in.jsonl:2: expected a JSON object"),
        # An unknown domain was reported as the gold answer's fault ("field 'answer'").
        ('{"completion": "5", "answer": 5, "domain": "nope"}', "in.jsonl:2: field 'domain': unk"),
        ('{"completion": "5", "answer": 5, "domain": 5}', "in.jsonl:2: field 'domain'"),
    ],
)
def test_a_bad_row_is_named_by_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"completion": "#### 1", "answer": 1}\n' + line + "\n", encoding="utf-8")
    assert main(["score", str(src), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert message in capsys.readouterr().err
    assert (
        main(
            [
                "score",
                str(src),
                "--out",
                str(tmp_path / "o.jsonl"),
                "--skip-bad",
                "--summary",
                str(tmp_path / "s.json"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "s.json").read_text())["skipped"] == 1
    skipped = capsys.readouterr().err  # counted, and named with why
    assert f"strata-rewards: skipped {tmp_path}" in skipped
    assert message in skipped


def test_skipped_rows_are_named_up_to_a_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("not json\n" * (SKIPS_SHOWN + 3), encoding="utf-8")
    assert main(["score", str(src), "--skip-bad", "--out", str(tmp_path / "o.jsonl")]) == 0
    err = capsys.readouterr().err
    assert err.count("strata-rewards: skipped ") == SKIPS_SHOWN
    assert f"in.jsonl:{SKIPS_SHOWN}: not valid JSON" in err
    assert f"in.jsonl:{SKIPS_SHOWN + 1}:" not in err
    assert "3 more rows skipped" in err


def test_a_missing_file_or_a_folder_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", str(tmp_path / "nope.jsonl")]) == 2
    assert "nope.jsonl: no such file" in capsys.readouterr().err
    assert main(["score", str(tmp_path)]) == 2
    assert f"{tmp_path}: is a folder, not a JSONL file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--out", "{tmp}"], "--out {tmp}: is a folder"),
        (["--out", "{tmp}/no/o.jsonl"], "--out {tmp}/no/o.jsonl: its folder {tmp}/no does not"),
        # --summary is written last: unchecked, the whole file was scored before a traceback.
        (["--summary", "{tmp}/no/s.json"], "--summary {tmp}/no/s.json: its folder"),
    ],
)
def test_outputs_that_cannot_be_written_are_named_before_scoring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    src = _write(tmp_path / "in.jsonl", [{"completion": "#### 1", "answer": 1}])
    assert main(["score", str(src), *(f.format(tmp=tmp_path) for f in flags)]) == 2
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path) in err
    assert "rows" not in err  # no summary: nothing was scored


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--domain", "gsm8"], "--domain 'gsm8': one of add_digit,"),
        (["--w-outcome", "nan"], "finite numbers >= 0, got {'outcome': nan}"),
        (["--w-outcome", "0", "--w-structure", "0", "--w-repetition", "0"], "are all 0"),
    ],
)
def test_bad_weights_are_a_usage_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    src = _write(tmp_path / "in.jsonl", [{"completion": "#### 1", "answer": 1}])
    with pytest.raises(SystemExit) as exit_:
        main(["score", str(src), *flags])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_line_that_is_not_utf8_is_named_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin1.jsonl"
    good = json.dumps({"completion": "#### 7", "answer": "7"}).encode()
    path.write_bytes(good + b"\n" + b'{"completion": "caf\xe9", "answer": "1"}\n' + good + b"\n")
    assert main(["score", str(path)]) == 2
    assert f"{path}:2: not UTF-8" in capsys.readouterr().err
    # --skip-bad counts it and scores the rows after it.
    summary = tmp_path / "summary.json"
    assert main(["score", str(path), "--skip-bad", "--summary", str(summary)]) == 0
    counts = json.loads(summary.read_text())
    assert (counts["rows"], counts["skipped"]) == (2, 1)


def test_a_dash_reads_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import sys

    lines = [{"completion": "#### 7", "answer": "7"}, {"completion": "#### 8", "answer": "7"}]
    data = "".join(json.dumps(r) + "\n" for r in lines).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["score", "-"]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["outcome"] for r in out] == [1.0, 0.0]
