"""``strata-rewards score``: score other systems' completions from a JSONL file.

    strata-rewards score --domain gsm8k completions.jsonl --out scored.jsonl

Each input line is an object with the completion and its gold answer (field names settable); a
``domain`` field, if present, overrides ``--domain`` for that row. Writes one breakdown per row
(JSONL) and prints a summary: rows, accuracy, parse rate, mean structure, repetition, total.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO, get_args

from strata_rewards.domains import GoldError, available_domains, get_domain
from strata_rewards.repetition import WordSplit
from strata_rewards.scoring import Weights, score

SKIPS_SHOWN = 10
"""With --skip-bad, how many skipped rows are named on stderr before the rest are counted."""


class InputError(ValueError):
    """A row of the input file that cannot be scored; the message names file, line and field."""


def _lines(path: Path) -> Iterator[tuple[int, str | InputError]]:
    """Numbered lines of ``path`` (``-``: standard input); a line that is not UTF-8 comes as
    the InputError naming it, and reading goes on."""
    stream = sys.stdin.buffer if str(path) == "-" else path.open("rb")
    with stream as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                yield line_no, raw.decode("utf-8")
            except UnicodeDecodeError as err:
                yield (
                    line_no,
                    InputError(
                        f"{path}:{line_no}: not UTF-8 text (byte {err.start}: {err.reason})"
                    ),
                )


def _row(path: Path, line_no: int, line: str, args: argparse.Namespace) -> dict[str, Any]:
    """One line's object, checked; raises InputError naming file, line and field."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}:{line_no}: not valid JSON ({err.msg})") from None
    if not isinstance(row, dict):
        raise InputError(f"{path}:{line_no}: expected a JSON object, got {type(row).__name__}")
    for field in (args.completion_field, args.gold_field):
        if field not in row:
            raise InputError(
                f"{path}:{line_no}: missing field {field!r} (fields: {', '.join(row) or 'none'})"
            )
    if not isinstance(row[args.completion_field], str):
        raise InputError(f"{path}:{line_no}: field {args.completion_field!r} must be a string")
    return row


def _score_file(args: argparse.Namespace, weights: Weights, out: TextIO) -> dict[str, Any]:
    n = skipped = correct = parsed = 0
    sums = {"structure": 0.0, "repetition": 0.0, "total": 0.0}
    for line_no, line in _lines(args.path):
        try:
            if isinstance(line, InputError):
                raise line
            if not line.strip():
                continue
            row = _row(args.path, line_no, line, args)
            domain = row.get("domain", args.domain)
            try:
                resolved = get_domain(domain)
            except ValueError as err:  # named as the row's field, not as its gold answer
                raise InputError(f"{args.path}:{line_no}: field 'domain': {err}") from None
            try:
                b = score(
                    resolved, row[args.completion_field], row[args.gold_field], weights=weights
                )
            except (GoldError, ValueError) as err:
                raise InputError(
                    f"{args.path}:{line_no}: field {args.gold_field!r}: {err}"
                ) from None
        except InputError as err:
            if not args.skip_bad:
                raise
            skipped += 1
            if skipped <= SKIPS_SHOWN:  # why, for the first few: a count alone hides a typo
                print(f"strata-rewards: skipped {err}", file=sys.stderr)
            continue
        n += 1
        correct += b.outcome == 1.0
        parsed += b.answer is not None
        for key in sums:
            sums[key] += getattr(b, key)
        record = {"line": line_no, "domain": domain, **asdict(b)}
        out.write(json.dumps(record, default=str) + "\n")
    if skipped > SKIPS_SHOWN:
        print(f"strata-rewards: {skipped - SKIPS_SHOWN} more rows skipped", file=sys.stderr)
    return {
        "rows": n,
        "skipped": skipped,
        "accuracy": correct / n if n else 0.0,
        "parse_rate": parsed / n if n else 0.0,
        **{f"mean_{k}": v / n if n else 0.0 for k, v in sums.items()},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="strata-rewards",
        description="Score completions with Strata's verifiers and composite reward.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "score",
        help="score a JSONL file of completions",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", type=Path, help="JSONL file, one object per line; - for stdin")
    p.add_argument(
        "--domain",
        default="gsm8k",
        help=f"reward domain for rows without a 'domain' field; one of: "
        f"{', '.join(available_domains())} (default: gsm8k)",
    )
    p.add_argument("--completion-field", default="completion", help="default: completion")
    p.add_argument("--gold-field", default="answer", help="default: answer")
    p.add_argument("--out", type=Path, help="write breakdowns here (default: stdout)")
    p.add_argument("--summary", type=Path, help="also write the summary as JSON here")
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip rows that cannot be scored instead of stopping at the first: the first "
        f"{SKIPS_SHOWN} are named on stderr, all are counted in the summary",
    )
    p.add_argument("--w-outcome", type=float, default=1.0)
    p.add_argument("--w-structure", type=float, default=0.2)
    p.add_argument("--w-repetition", type=float, default=0.5)
    p.add_argument(
        "--words",
        choices=get_args(WordSplit),
        default="wordpunct",
        help="how the repetition penalty cuts a completion into words: wordpunct (runs of "
        "letters/digits and of other marks, the default) or whitespace (the rule before "
        "2026-11-28, blind to repetition without spaces)",
    )
    args = parser.parse_args(argv)
    if args.domain not in available_domains():
        parser.error(f"--domain {args.domain!r}: one of {', '.join(available_domains())}")
    try:
        weights = Weights(
            outcome=args.w_outcome,
            structure=args.w_structure,
            repetition=args.w_repetition,
            words=args.words,
        )
    except ValueError as err:
        parser.error(f"--w-outcome/--w-structure/--w-repetition: {err}")

    if str(args.path) != "-" and not args.path.is_file():
        what = "is a folder, not a JSONL file" if args.path.is_dir() else "no such file"
        print(f"strata-rewards: {args.path}: {what}", file=sys.stderr)
        return 2
    # Checked before scoring, so a long file is not scored for nothing.
    for flag, target in (("--out", args.out), ("--summary", args.summary)):
        if target is not None and (target.is_dir() or not target.parent.is_dir()):
            why = "is a folder" if target.is_dir() else f"its folder {target.parent} does not exist"
            print(f"strata-rewards: {flag} {target}: {why}", file=sys.stderr)
            return 2
    try:
        if args.out:
            with args.out.open("w", encoding="utf-8") as out:
                summary = _score_file(args, weights, out)
        else:
            summary = _score_file(args, weights, sys.stdout)
    except InputError as err:
        print(f"strata-rewards: {err}", file=sys.stderr)
        return 2
    if args.summary:
        args.summary.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    width = max(len(k) for k in summary)
    for key, value in summary.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
