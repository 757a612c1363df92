"""Run the tiny setup to ``steps`` in RUN_DIR, resuming if it holds a checkpoint; before each
step write ``started-<step>`` so a test can SIGKILL it mid-step. Usage: sigkill_run.py RUN_DIR"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import torch
from tiny_setup import adapter, trainer

if __name__ == "__main__":
    run = Path(sys.argv[1])
    t = trainer()
    plain_step = t.step

    def marked_step() -> dict:  # type: ignore[type-arg]
        (run / f"started-{t.step_count}").touch()
        return plain_step()

    t.step = marked_step  # type: ignore[method-assign]
    run.mkdir(parents=True, exist_ok=True)
    t.train(run)
    torch.save(adapter(t), run / "final_adapter.pt")
