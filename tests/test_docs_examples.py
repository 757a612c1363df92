"""Every Python example in docs/*.md runs as written, so a user who copies one into their own
code gets working code, and prints what its comments say it prints.

A page's examples run in order in one namespace, as a reader reads them (a later example uses an
earlier one's names). What an example takes as given (``logp``, ``completion_text``: "your
tensors", "your text") is defined in ``GIVENS`` below, the smallest real value of each. An
example that needs what this environment lacks is skipped with the reason, by the text that
marks it (``NEEDS``); an example no entry covers runs.

A top-level line whose comment shows a value (``verify(...)  # True``, ``compute_advantages(...)
# SAN: [1.41, -1.41, 0, 0, -1, 1]``, ``stop = ...  # ("</answer>",): why``) is checked against
the value it computes: a Python literal at the comment's start, after an optional ``Label: ``
and before an optional ``: why``; numbers to the decimals shown.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import re
import shlex
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@dataclass(frozen=True)
class Example:
    page: str
    line: int
    """Line of the opening fence, 1-based."""
    code: str


def examples(page: Path) -> list[Example]:
    text = page.read_text(encoding="utf-8")
    return [
        Example(page.name, text[: m.start()].count("\n") + 1, m.group(1))
        for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)
    ]


GIVENS: dict[str, str] = {
    "advantage.md": """
def log(metrics):
    assert metrics
""",
    "curriculum.md": """
steps = 3
per_domain_correctness = {"gsm8k": [1.0, 0.0], "mmlu": [0.0, 0.0, 1.0], "strategyqa": [1.0]}
checkpoint = {}

def log(*values):
    assert values
""",
    "grpo.md": """
import torch

logp = torch.randn(2, 5, requires_grad=True)
old_logp, ref_logp = logp.detach() - 0.1, logp.detach() + 0.1
advantages, mask = torch.tensor([1.0, -1.0]), torch.ones(2, 5)
""",
    "rewards.md": """
from strata_rewards.probe import ItemSamples

completion_text = "<think>3 + 4 = 7</think><answer>7</answer>"
scored = [
    ItemSamples("38", False, ("38", "28", None), (True, False, False), (False, False, True)),
    ItemSamples("61", True, ("61", "61", "61"), (True, True, True), (False, False, False)),
]
""",
    "rollout.md": """
step = 10
""",
}

NEEDS: dict[str, str] = {
    # text that marks the example -> why it cannot run here
    'model="HuggingFaceTB/': "TRL's GRPOTrainer on a hub model: no model hub here (the adapter "
    "is tested on a tiny model in packages/strata-advantage/tests/test_trl_adapter.py)",
    'data.batch["token_level_rewards"]': "a verl DataProto: verl runs in its own environment "
    "(test_verl_convention.py in .ci/venvs/verl runs this call)",
    "vllm_engine.update_weights": "a VLLMEngine: vLLM runs in .ci/venvs/vllm (test_vllm_lora.py)",
    'VLLMEngine("smollm2"': "a VLLMEngine: vLLM runs in .ci/venvs/vllm (test_vllm_lora.py)",
    'trainer.train("runs/demo"': "100 training steps of SmolLM2 (the default run takes 16); "
    "packages/strata-grpo/tests/test_trainer.py trains through the same calls on a tiny model",
}


_LABEL = re.compile(r"[A-Za-z][\w .-]*: ")


def shown_literal(comment: str) -> tuple[ast.expr, str] | None:
    """The value a comment shows, as the literal's AST and its text (which keeps the decimals
    shown), or None: ``True``, ``'0.75'``, ``SAN: [1.41, -1.41]``, ``("</answer>",): why``."""
    text = comment.lstrip("#").strip()
    label = _LABEL.match(text)
    for body in [text] + ([text[label.end() :]] if label else []):
        cuts = [m.start() for m in re.finditer(r": ", body)][::-1]
        for candidate in [body] + [body[:c] for c in cuts]:
            literal = candidate.strip()
            try:
                node = ast.parse(literal, mode="eval").body
                ast.literal_eval(node)
            except (SyntaxError, ValueError):
                continue
            return node, literal
    return None


def matches(shown: ast.expr, actual: Any, source: str) -> bool:
    """``actual`` equals the literal ``shown`` (``source``: the literal's text), numbers to the
    decimals the literal shows; arrays and tensors by their ``tolist()``."""
    if hasattr(actual, "tolist"):
        actual = actual.tolist()
    if isinstance(shown, ast.List | ast.Tuple):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(shown.elts)
            and all(matches(e, a, source) for e, a in zip(shown.elts, actual, strict=True))
        )
    if isinstance(shown, ast.Dict):
        keys = [ast.literal_eval(k) for k in shown.keys if k is not None]
        return (
            isinstance(actual, dict)
            and set(keys) == set(actual)
            and all(matches(v, actual[k], source) for k, v in zip(keys, shown.values, strict=True))
        )
    value = ast.literal_eval(shown)
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = ast.get_source_segment(source, shown) or ""
        decimals = len(text.split(".")[1]) if "." in text else None
        tolerance = 1e-6 if decimals is None else 0.5 * 10.0**-decimals
        return isinstance(actual, int | float) and abs(actual - value) <= tolerance
    return bool(actual == value) and type(actual) is type(value)


@dataclass(frozen=True)
class Shown:
    line: int
    """The statement's last line in its example, 1-based."""
    statement: str
    literal: ast.expr
    literal_source: str


def with_checks(code: str) -> tuple[ast.Module, list[Shown]]:
    """``code`` with each top-level statement whose comment shows a value storing that value in
    ``__shown__[line]``; and what each shows."""
    comments = {
        tok.start[0]: tok.string
        for tok in tokenize.generate_tokens(io.StringIO(code).readline)
        if tok.type == tokenize.COMMENT
    }
    tree = ast.parse(code)
    shown: list[Shown] = []
    body: list[ast.stmt] = []
    for stmt in tree.body:
        end = stmt.end_lineno or stmt.lineno
        found = shown_literal(comments[end]) if end in comments else None
        assigned = (
            stmt.targets[0].id
            if isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            else None
        )
        if found is None or not (isinstance(stmt, ast.Expr) or assigned):
            body.append(stmt)
            continue
        shown.append(Shown(end, ast.get_source_segment(code, stmt) or "", *found))
        slot = ast.Subscript(ast.Name("__shown__", ast.Load()), ast.Constant(end), ast.Store())
        if isinstance(stmt, ast.Expr):
            body.append(ast.Assign([slot], stmt.value))
        else:
            body += [stmt, ast.Assign([slot], ast.Name(assigned, ast.Load()))]
    tree.body = body
    return ast.fix_missing_locations(tree), shown


def run_checked(code: str, filename: str, namespace: dict[str, Any]) -> list[tuple[Shown, Any]]:
    """Run ``code`` in ``namespace``; each line whose comment shows a value, with the value it
    gave, where they differ."""
    tree, shown = with_checks(code)
    namespace["__shown__"] = {}
    exec(compile(tree, filename, "exec"), namespace)
    values: dict[int, Any] = namespace["__shown__"]
    return [
        (s, values[s.line])
        for s in shown
        if not matches(s.literal, values[s.line], s.literal_source)
    ]


def _skip_reason(example: Example) -> str | None:
    if '"../shared/data"' in example.code and not (ROOT.parent / "shared" / "data").is_dir():
        return "the benchmarks' files: ../shared/data is not beside this checkout"
    return next((why for mark, why in NEEDS.items() if mark in example.code), None)


def _pages() -> Iterator[Path]:
    yield from sorted(p for p in DOCS.glob("*.md") if examples(p))


@pytest.fixture
def registries() -> Iterator[None]:
    """Examples register an estimator and a reward domain: leave the registries as found."""
    from strata_advantage import estimators
    from strata_rewards import domains

    saved = dict(estimators._REGISTRY), dict(domains._REGISTRY)
    yield
    for registry, before in zip((estimators._REGISTRY, domains._REGISTRY), saved, strict=True):
        registry.clear()
        registry.update(before)


@pytest.mark.slow
@pytest.mark.parametrize("page", list(_pages()), ids=lambda p: p.name)
def test_each_pages_examples_run_in_order(
    page: Path, registries: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # ../shared/data resolves as the docs say
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    exec(compile(GIVENS.get(page.name, ""), f"GIVENS[{page.name!r}]", "exec"), namespace)
    runnable = [e for e in examples(page) if _skip_reason(e) is None]
    if not runnable:
        pytest.skip(f"no example of {page.name} can run here (each is listed as skipped)")
    wrong = []
    for example in runnable:
        # A SyntaxError or a failure names the page and the example's line in the traceback.
        where = f"docs/{page.name}, example at line {example.line}"
        for s, value in run_checked(example.code, where, namespace):
            at = example.line + s.line
            wrong.append(f"docs/{page.name}:{at}: {s.statement!r} gives {value!r}")
    assert wrong == [], "a comment shows a value the code does not give:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    ("code", "verdicts"),
    [
        ("1 + 1  # 2", [True]),
        ("1 + 1  # 3", [False]),
        ("x = 2 ** 0.5  # 1.41", [True]),
        ("x = 1.42  # 1.41", [False]),  # beyond the shown decimals
        ("[2 ** 0.5, -1.0, 0.0]  # SAN: [1.41, -1, 0]", [True]),
        ("[1.0, 1.0]  # [1, 1, 1]", [False]),
        ("str(0.75)  # '0.75'", [True]),
        ("1  # True", [False]),  # a 1 is not the True it claims
        ("('a',)  # ('a',): end once it answered", [True]),
        ("{'a': 2}  # {'a': 2}: sums to 2", [True]),
        ("{'a': 2}  # {'a': 2, 'b': 0}", [False]),
        ("y = 3  # the count", []),  # prose, no value shown
        ("y = 3  # 3: the count", [True]),
        ("2 == 3  # True: they differ", [False]),
        ("for i in range(2):\n    i  # 5", []),  # only top-level lines are checked
    ],
)
def test_a_comment_that_shows_a_value_is_checked(code: str, verdicts: list[bool]) -> None:
    shown = with_checks(code)[1]
    wrong = {s.line for s, _ in run_checked(code, "<example>", {})}
    assert [s.line not in wrong for s in shown] == verdicts


def test_the_docs_show_values_that_are_checked() -> None:
    # The lines this file exists to hold: verify's True/False, the SAN vector, a stop tuple.
    checked = [s.statement for p in _pages() for e in examples(p) for s in with_checks(e.code)[1]]
    assert len(checked) >= 7, checked


@pytest.mark.parametrize(
    "example",
    [e for p in _pages() for e in examples(p) if _skip_reason(e) is not None],
    ids=lambda e: f"{e.page}:{e.line}",
)
def test_examples_that_cannot_run_here(example: Example) -> None:
    """Listed one by one in the report, with why, so none passes unseen."""
    pytest.skip(f"docs/{example.page}:{example.line}: {_skip_reason(example)}")


def test_every_skip_still_marks_an_example() -> None:
    # A mark whose example was rewritten would skip nothing and hide nothing: it goes.
    codes = [e.code for p in _pages() for e in examples(p)]
    assert [mark for mark in NEEDS if not any(mark in c for c in codes)] == []


def test_every_page_with_examples_is_found() -> None:
    # The fence pattern must find the pages a reader would copy from.
    assert {p.name for p in _pages()} >= {"advantage.md", "curriculum.md", "rewards.md"}


# ---- Command lines: every strata-train / strata-eval / strata-experiment line in a shell block
# of the docs or the README passes the command's own checks (--dry-run: options, config, data,
# model source; no model loads), so a documented flag or field that was renamed fails here.

PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
COMMANDS = ("strata-train", "strata-eval", "strata-experiment")


@dataclass(frozen=True)
class CommandLine:
    page: str
    line: int
    command: str
    args: tuple[str, ...]


def _logical_lines(block: str) -> Iterator[tuple[int, str]]:
    """(offset of its first line, the line) with backslash continuations joined."""
    start, parts = 0, []
    for offset, raw in enumerate(block.splitlines()):
        if not parts:
            start = offset
        if raw.endswith("\\"):
            parts.append(raw[:-1])
            continue
        yield start, " ".join([*parts, raw])
        parts = []


def command_lines() -> list[CommandLine]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for block in re.finditer(r"^```(?:bash|sh|console)\n(.*?)^```", text, re.S | re.M):
            first = text[: block.start()].count("\n") + 2
            for offset, raw in _logical_lines(block.group(1)):
                words = shlex.split(raw, comments=True)
                at = next((i for i, w in enumerate(words) if Path(w).name in COMMANDS), None)
                if at is not None:
                    name = Path(words[at]).name
                    found.append(
                        CommandLine(page.name, first + offset, name, tuple(words[at + 1 :]))
                    )
    return found


def _command_skip(cmd: CommandLine) -> str | None:
    text = " ".join(cmd.args)
    if "<" in text or "--resume" in text or "--adapter" in text:
        return "names a run folder the reader made (or a placeholder)"
    if "backend=vllm" in text or "--backend vllm" in text:
        return "the vLLM backend: vLLM runs in .ci/venvs/vllm"
    tracker = re.search(r"log\.to=(\w+)", text)
    if tracker and importlib.util.find_spec(tracker.group(1)) is None:
        return f"log.to={tracker.group(1)} needs its extra, not installed here"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("cmd", command_lines(), ids=lambda c: f"{c.page}:{c.line}")
def test_documented_command_lines_pass_their_checks(
    cmd: CommandLine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if (why := _command_skip(cmd)) is not None:
        pytest.skip(f"{cmd.page}:{cmd.line}: {why}")
    monkeypatch.chdir(ROOT)
    args = list(cmd.args)
    if cmd.command == "strata-experiment":
        from strata_experiment.cli import main

        args = [a for a in args if a != "--runs" and not a.startswith("/work")]  # this machine's
    else:
        from strata_trainer.cli import eval_main, train_main

        main = train_main if cmd.command == "strata-train" else eval_main
    if "--help-config" not in args:
        args.append("--dry-run")
    assert main(args) == 0, capsys.readouterr().err


def test_the_command_lines_are_found() -> None:
    found = {c.command for c in command_lines()}
    assert found == set(COMMANDS)
    assert any(c.page == "README.md" and c.args == () for c in command_lines())
