"""Has a change made the test suite slower? Times the tests two checkouts both hold, like for like.

    git worktree add ../old-tree <commit-before>      # the tree to compare against
    uv run python benchmarks/suite_time.py ../old-tree .            # the shared tests only
    uv run python benchmarks/suite_time.py ../old-tree . --whole    # and both whole suites

Collects each tree's test ids (`pytest --collect-only -q`), keeps those both hold, and runs each
tree's own `uv run pytest` on exactly those (a small pytest plugin deselects the rest), one tree
after the other, with CI=true as .ci/run has it. Prints the wall times and the ratio new / old.
Run it with nothing else on the machine: the suite is CPU-bound and two cores are easily
shared. Run-to-run noise on a 2-core machine is about ±15 s on a ~5-minute suite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEEP_PLUGIN = """
import os

KEEP = set(open(os.environ["STRATA_KEEP_IDS"], encoding="utf-8").read().splitlines())


def pytest_collection_modifyitems(config, items):
    dropped = [item for item in items if item.nodeid not in KEEP]
    items[:] = [item for item in items if item.nodeid in KEEP]
    config.hook.pytest_deselected(items=dropped)
"""


def collected_ids(tree: Path, env: dict[str, str]) -> set[str]:
    out = subprocess.run(
        ["uv", "run", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line for line in out.splitlines() if "::" in line}


def timed_pytest(tree: Path, env: dict[str, str], extra: list[str]) -> tuple[float, str]:
    """Wall seconds of `uv run pytest` in ``tree``, and pytest's last line."""
    started = time.perf_counter()
    done = subprocess.run(
        ["uv", "run", "pytest", "-q", "-p", "no:cacheprovider", *extra],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"suite_time: the suite failed in {tree}:\n{done.stdout[-2000:]}")
    return wall, done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="checkout to compare against")
    parser.add_argument("new", type=Path, help="checkout with the change")
    parser.add_argument("--whole", action="store_true", help="also time both whole suites")
    args = parser.parse_args()
    env = {**os.environ, "CI": "true"}
    with tempfile.TemporaryDirectory() as tmp:
        plugin_dir = Path(tmp)
        (plugin_dir / "strata_keep_ids.py").write_text(KEEP_PLUGIN, encoding="utf-8")
        old_ids, new_ids = collected_ids(args.old, env), collected_ids(args.new, env)
        shared = sorted(old_ids & new_ids)
        ids_file = plugin_dir / "ids.txt"
        ids_file.write_text("\n".join(shared), encoding="utf-8")
        print(
            f"tests: old {len(old_ids)}, new {len(new_ids)}, both {len(shared)} "
            f"(only old {len(old_ids - new_ids)}, only new {len(new_ids - old_ids)})"
        )
        keep_env = {
            **env,
            "STRATA_KEEP_IDS": str(ids_file),
            "PYTHONPATH": os.pathsep.join(filter(None, [tmp, env.get("PYTHONPATH")])),
        }
        rows = [("shared tests", keep_env, ["-p", "strata_keep_ids"])]
        if args.whole:
            rows.append(("whole suite", env, []))
        for label, run_env, extra in rows:
            old_wall, old_last = timed_pytest(args.old, run_env, extra)
            new_wall, new_last = timed_pytest(args.new, run_env, extra)
            print(f"{label}: old {old_wall:.1f} s ({old_last})")
            print(f"{label}: new {new_wall:.1f} s ({new_last})")
            print(f"{label}: new / old = {new_wall / old_wall:.2f}")


if __name__ == "__main__":
    main()
