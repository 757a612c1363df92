"""docs/trainer.md's configuration reference is the one the config classes generate."""

from pathlib import Path

from strata_trainer.config import describe_markdown

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "trainer.md"


def test_the_config_reference_in_the_docs_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- config:begin -->\n", 1)[1].split("\n<!-- config:end -->", 1)[0]
    assert block == describe_markdown().rstrip("\n"), "regenerate: python -m strata_trainer.config"
